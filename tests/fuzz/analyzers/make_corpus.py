#!/usr/bin/env python3
"""Generates the seed corpora of the analyzer fuzzers (tests/fuzz/analyzers).

Input format (see analyzer_fuzz_driver.h): one variant byte, then operations
`op | u16 length | payload`; op bit 0 = direction (1 = responder), bits 1-2 =
0 data, 1 gap, 2 end of data, 3 data fed byte by byte.

Regenerate with:  python3 tests/fuzz/analyzers/make_corpus.py
The seeds are built here from the protocol specifications; no capture or
third-party data is copied.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def op(direction, payload, kind=0):
    return bytes([(kind << 1) | direction]) + struct.pack(">H", len(payload)) + payload


def gap(direction, n):
    return bytes([(1 << 1) | direction]) + struct.pack(">H", n)


def eod(direction):
    return bytes([(2 << 1) | direction]) + b"\x00\x00"


# ---------------------------------------------------------------- DNS
def name(dotted):
    out = b""
    for label in [p for p in dotted.split(".") if p]:
        out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def dns(ident, flags, questions, answers=(), ns=0, ar=0):
    out = struct.pack(">HHHHHH", ident, flags, len(questions), len(answers), ns, ar)
    for qname, qtype in questions:
        out += name(qname) + struct.pack(">HH", qtype, 1)
    for rtype, ttl, rdata in answers:
        out += b"\xc0\x0c" + struct.pack(">HHIH", rtype, 1, ttl, len(rdata)) + rdata
    return out


def framed(msg):
    return struct.pack(">H", len(msg)) + msg


def dns_seeds():
    q = dns(0x1234, 0x0100, [("www.example.com", 1)])
    r = dns(0x1234, 0x8180, [("www.example.com", 1)],
            [(5, 300, b"\x03cdn\xc0\x0c"), (1, 60, bytes([192, 0, 2, 1])),
             (28, 60, bytes(15) + b"\x01"), (16, 60, b"\x05hello\x03abc"),
             (46, 60, b"\x00\x01\x08\x02" + bytes(12) + b"\xc0\x0c\xff"),
             (44, 60, b"\x01\x01\xde\xad"), (4242, 1, b"x")])
    nx = dns(7, 0x8183, [("nope.test", 1)], ns=1) + name("test") + struct.pack(">HHIH", 6, 1, 5, 2) + b"\x00\x00"
    loop = struct.pack(">HHHHHH", 9, 0, 1, 0, 0, 0) + b"\x01a\xc0\x0c" + struct.pack(">HH", 1, 1)
    netbios = dns(3, 0x0110, [("FHEPFCELEHFCEPFFFACACACACACACAAA", 32)])
    return {
        "udp_pair": b"\x00" + op(0, q) + op(1, r),
        "udp_nxdomain": b"\x00" + op(0, dns(7, 0x0100, [("nope.test", 1)])) + op(1, nx),
        "udp_unmatched": b"\x00" + op(1, r) + op(1, r) + op(0, q),
        "tcp_two_messages": b"\x01" + op(0, framed(q) + framed(netbios)) +
                            op(1, framed(r)[:20], 3) + op(1, framed(r)[20:]) + eod(0),
        "tcp_zero_length": b"\x01" + op(0, framed(q)) + op(0, b"\x00") + op(0, b"\x00" + framed(q)),
        "tcp_gap": b"\x01" + op(0, framed(q)[:9]) + gap(0, 30) + op(1, framed(r)),
        "mdns": b"\x02" + op(0, dns(0, 0, [("printer.local", 12)])) + op(0, r),
        "netbios": b"\x04" + op(0, netbios),
        "parse_loop": b"\x03" + loop,
        "parse_response": b"\x03" + r,
        "parse_notify": b"\x03" + dns(5, 0x2000, [("zone.test", 6)]),
    }


# ---------------------------------------------------------------- TLS
def ext(t, data):
    return struct.pack(">HH", t, len(data)) + data


def u16list(values, one_byte=False):
    body = b"".join(struct.pack(">H", v) for v in values)
    return (bytes([len(body)]) if one_byte else struct.pack(">H", len(body))) + body


def client_hello(version=0x0303, sid=b"", ciphers=(0x1a1a, 0x1301, 0xc02f, 0x00ff),
                 sni="example.com", alpn=("h2", "http/1.1"), tls13=True, ticket=b""):
    exts = b""
    exts += ext(0x0a0a, b"")
    if sni:
        host = sni.encode()
        exts += ext(0x0000, struct.pack(">HBH", len(host) + 3, 0, len(host)) + host)
    exts += ext(0x000a, u16list([0x2a2a, 29, 23, 24]))
    exts += ext(0x000b, b"\x01\x00")
    exts += ext(0x000d, u16list([0x0403, 0x0804, 0x0401]))
    if alpn:
        names = b"".join(bytes([len(a)]) + a.encode() for a in alpn)
        exts += ext(0x0010, struct.pack(">H", len(names)) + names)
    exts += ext(0x0023, ticket)
    if tls13:
        exts += ext(0x002b, u16list([0x3a3a, 0x0304, 0x0303], True))
        share = struct.pack(">HH", 29, 32) + b"\x42" * 32
        exts += ext(0x0033, struct.pack(">H", len(share)) + share)
    body = struct.pack(">H", version) + b"\x11" * 32 + bytes([len(sid)]) + sid
    body += u16list(ciphers) + b"\x01\x00" + struct.pack(">H", len(exts)) + exts
    return body


def server_hello(version=0x0303, sid=b"", cipher=0xc02f, exts=b""):
    body = struct.pack(">H", version) + b"\x22" * 32 + bytes([len(sid)]) + sid
    body += struct.pack(">HB", cipher, 0)
    if exts:
        body += struct.pack(">H", len(exts)) + exts
    return body


def hs(t, body):
    return bytes([t]) + struct.pack(">I", len(body))[1:] + body


def record(t, payload):
    return struct.pack(">BHH", t, 0x0303, len(payload)) + payload


def tls_seeds():
    ch = record(22, hs(1, client_hello(tls13=False)))
    sh12 = record(22, hs(2, server_hello(exts=ext(0x0010, b"\x00\x03\x02h2"))) +
                  hs(11, b"\x30" * 100) + hs(12, b"\x03\x00\x17\x41" + b"\x04" * 65) + hs(14, b""))
    ccs = record(20, b"\x01")
    enc = record(23, b"\xee" * 40)
    ch13 = record(22, hs(1, client_hello()))
    sh13 = record(22, hs(2, server_hello(cipher=0x1301, exts=ext(0x002b, b"\x03\x04") +
                                         ext(0x0033, struct.pack(">HH", 29, 32) + b"\x24" * 32))))
    return {
        "tls12_full": b"\x00" + op(0, ch) + op(1, sh12) +
                      op(0, record(22, hs(16, b"\x07" * 66)) + ccs + record(22, b"\xee" * 40)) +
                      op(1, record(22, hs(4, b"\x01" * 50)) + ccs + record(22, b"\xee" * 40)),
        "tls13_compat": b"\x00" + op(0, ch13) + op(1, sh13 + ccs + enc + enc) + op(0, ccs + enc),
        "tls13_bytewise": b"\x00" + op(0, ch13, 3) + op(1, sh13, 3) + op(1, enc) + op(0, enc),
        "detect": b"\x01" + op(0, ch13) + op(1, sh13 + ccs + enc),
        "starttls": b"\x02" + op(1, b"220 mail ESMTP\r\n") + op(0, b"STARTTLS\r\n") +
                    op(1, b"220 go ahead\r\n") + op(0, ch) + op(1, sh12),
        "alert": b"\x00" + op(0, ch) + op(1, record(21, b"\x02\x28")),
        "gap": b"\x00" + op(0, ch[:30]) + gap(0, 100) + op(1, sh12),
        "hello_split_records": b"\x00" + op(0, record(22, hs(1, client_hello())[:60]) +
                                             record(22, hs(1, client_hello())[60:])),
        "parse_client_hello": b"\x03" + client_hello(),
        "parse_server_hello": b"\x03" + server_hello(),
    }


# ---------------------------------------------------------------- HTTP
def http_seeds():
    get = (b"GET /a%20b?x=%41 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: fuzz\r\n"
           b"Referer: http://r/\r\nAuthorization: Basic YWxpY2U6czNjcmV0\r\n\r\n")
    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5\r\nhello\r\n3;x=y\r\nabc\r\n0\r\nTrailer: 1\r\n\r\n")
    tls_hello = record(22, hs(1, client_hello()))
    tls_server = record(22, hs(2, server_hello()))
    return {
        "get_chunked": b"\x00" + op(0, get) + op(1, chunked),
        "pipelined": b"\x00" + op(0, get + b"HEAD / HTTP/1.1\r\n\r\nPOST /p HTTP/1.1\r\n"
                                  b"Content-Length: 4\r\n\r\nbody") +
                     op(1, b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
                           b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"
                           b"HTTP/1.1 204 No Content\r\n\r\n"),
        "continue": b"\x00" + op(0, b"POST / HTTP/1.1\r\nExpect: 100-continue\r\n"
                                     b"Content-Length: 3\r\n\r\n") +
                    op(1, b"HTTP/1.1 100 Continue\r\n\r\n") + op(0, b"abc") +
                    op(1, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        "until_close": b"\x00" + op(0, b"GET / HTTP/1.0\r\n\r\n") +
                       op(1, b"HTTP/1.0 200 OK\r\n\r\n<html>body</html>") + eod(1),
        "http09": b"\x00" + op(0, b"GET /\r\n") + op(1, b"<html>raw</html>") + eod(1),
        "connect_tls": b"\x00" + op(0, b"CONNECT host:443 HTTP/1.1\r\nHost: host:443\r\n\r\n") +
                       op(0, tls_hello) + op(1, b"HTTP/1.1 200 Connection established\r\n\r\n") +
                       op(1, tls_server),
        "upgrade": b"\x00" + op(0, b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n") +
                   op(1, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x00"),
        "detect": b"\x01" + op(0, b"GET / HTTP/1.1\r\n\r\n") + op(1, b"HTTP/1.1 200 OK\r\n\r\n", 3),
        "body_gap": b"\x00" + op(0, get) + op(1, b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n01") +
                    gap(1, 40) + op(1, b"0123456789"),
        "tunnel_nested": b"\x02" + op(0, b"GET / HTTP/1.1\r\n\r\n") + op(1, b"HTTP/1.1 200 OK\r\n\r\n"),
        "text_helpers": b"\x03" + b"basic  YWxpY2U6czNjcmV0 /a%%41%u0042%zz%4 <!doctype html>",
    }


def main():
    for proto, seeds in (("dns", dns_seeds()), ("tls", tls_seeds()), ("http", http_seeds())):
        folder = os.path.join(HERE, "corpus", proto)
        os.makedirs(folder, exist_ok=True)
        for old in os.listdir(folder):
            os.remove(os.path.join(folder, old))
        for seed_name, data in seeds.items():
            with open(os.path.join(folder, seed_name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
