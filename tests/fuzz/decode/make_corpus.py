#!/usr/bin/env python3
"""Writes the seed corpora for the decode fuzz targets (tests/fuzz/decode/corpus/<mode>/).

Seeds are well-formed examples of each decoder family, so the fuzzers start
from inputs that reach deep into the code. Deterministic: rerun to regenerate
(`python3 tests/fuzz/decode/make_corpus.py`), the files are committed.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


A4, B4 = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
A6 = bytes.fromhex("20010db8000000000000000000000001")
B6 = bytes.fromhex("20010db8000000000000000000000002")


def ipv4(proto, payload, src=A4, dst=B4, ident=1, flags=0x4000, opts=b""):
    ihl = 5 + len(opts) // 4
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 4 * ihl + len(payload), ident, flags, 64,
                      proto, 0, src, dst) + opts
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def ipv6(nh, payload, src=A6, dst=B6):
    return struct.pack("!IHBB", 0x60000000, len(payload), nh, 64) + src + dst + payload


def pseudo(src, dst, proto, seg):
    if len(src) == 4:
        return src + dst + struct.pack("!BBH", 0, proto, len(seg))
    return src + dst + struct.pack("!IxxxB", len(seg), proto)


def tcp(sport, dport, seq, ack, flags, payload=b"", src=A4, dst=B4, opts=b""):
    off = 5 + len(opts) // 4
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, 65535, 0, 0) + opts + payload
    c = csum(pseudo(src, dst, 6, seg) + seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def udp(sport, dport, payload, src=A4, dst=B4):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    c = csum(pseudo(src, dst, 17, seg) + seg) or 0xFFFF
    return seg[:6] + struct.pack("!H", c) + seg[8:]


def icmp(t, code, rest, payload=b""):
    m = struct.pack("!BBHI", t, code, 0, rest) + payload
    return m[:2] + struct.pack("!H", csum(m)) + m[4:]


def eth(ethertype, payload, vlans=()):
    out = b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01"
    for i, v in enumerate(vlans):
        out += struct.pack("!HH", 0x88A8 if i == 0 and len(vlans) > 1 else 0x8100, v)
    return out + struct.pack("!H", ethertype) + payload


def dns(ident, name, response=False, answer=None):
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack("!HH", 1, 1)
    flags = 0x8180 if response else 0x0100
    body = struct.pack("!HHHHHH", ident, flags, 1, 1 if answer else 0, 0, 0) + q
    if answer:
        body += b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + answer
    return body


def records(*packets):
    return b"".join(struct.pack("!H", len(p)) + p for p in packets)


def write(mode, seeds):
    d = os.path.join(HERE, "corpus", mode)
    os.makedirs(d, exist_ok=True)
    for old in os.listdir(d):
        os.remove(os.path.join(d, old))
    for i, s in enumerate(seeds):
        with open(os.path.join(d, "seed-%02d" % i), "wb") as f:
            f.write(s)


def main():
    syn = ipv4(6, tcp(40000, 80, 1000, 0, 0x02, opts=b"\x02\x04\x05\xb4\x01\x03\x03\x07"))
    dnsq = ipv4(17, udp(53000, 53, dns(0x1234, "example.com")))
    six = ipv6(17, udp(5353, 53, dns(7, "example.org"), A6, B6), A6, B6)
    mpls = struct.pack("!II", 16 << 12, (17 << 12) | 0x100 | 64)
    pppoe = struct.pack("!BBHHH", 0x11, 0, 0x1234, len(six) + 2, 0x57)
    write("link", [
        bytes([0]) + eth(0x0800, syn),
        bytes([0]) + eth(0x0800, dnsq, vlans=(100, 200)),
        bytes([0]) + eth(0x8847, mpls + syn),
        bytes([0]) + eth(0x8864, pppoe + six),
        bytes([0]) + eth(0x0806, bytes(28)),
        bytes([0]) + b"\x02" * 12 + struct.pack("!H", 8 + len(syn)) + b"\xaa\xaa\x03\0\0\0\x08\x00" + syn,
        bytes([1]) + b"\x02\0\0\0" + syn,
        bytes([2]) + b"\0\0\0\x1e" + six,
        bytes([3]) + syn,
        bytes([4]) + bytes(14) + b"\x08\x00" + dnsq,
        bytes([5]) + b"\x86\xdd" + bytes(18) + six,
        bytes([0x80]) + eth(0x0800, syn),
    ])

    data = bytes(range(200))
    u = udp(4000, 53, data)
    frag = [ipv4(17, u[0:64], ident=9, flags=0x2000), ipv4(17, u[64:128], ident=9, flags=0x2000 | 8),
            ipv4(17, u[128:], ident=9, flags=16)]
    write("ipv4", [
        bytes([0]) + records(frag[2], frag[0], frag[1]),
        bytes([0]) + records(frag[0], frag[0], frag[1], frag[2]),
        bytes([1]) + records(syn, dnsq),
        bytes([0]) + records(ipv4(17, udp(1, 2, b"x"), opts=b"\x94\x04\0\0")),
        bytes([0]) + records(ipv4(4, syn), ipv4(41, six)),
    ])

    u6 = udp(7, 53, data, A6, B6)
    f6 = [ipv6(44, struct.pack("!BBHI", 17, 0, 1, 0xABCD) + u6[:104]),
          ipv6(44, struct.pack("!BBHI", 17, 0, 104, 0xABCD) + u6[104:])]
    ext = bytes([60, 0]) + bytes(6) + bytes([17, 1]) + bytes(14)
    write("ipv6", [
        bytes([0]) + records(f6[1], f6[0]),
        bytes([0]) + records(ipv6(0, ext + udp(1, 2, b"hi", A6, B6))),
        bytes([1]) + records(six, ipv6(58, icmp(128, 0, 1, b"ping"))),
        bytes([0]) + records(ipv6(44, struct.pack("!BBHI", 6, 0, 0, 1) + tcp(1, 2, 3, 0, 2, src=A6, dst=B6))),
    ])

    write("transport", [
        bytes([0]) + tcp(40000, 80, 1000, 5000, 0x18, b"GET / HTTP/1.1\r\n\r\n"),
        bytes([8]) + tcp(40000, 80, 1000, 0, 0x02, opts=b"\x02\x04\x05\xb4\x04\x02\x08\x0a" + bytes(8)),
        bytes([1]) + udp(53000, 53, dns(1, "a.example")),
        bytes([2]) + icmp(8, 0, 0x10001, bytes(56)),
        bytes([2 | 4]) + icmp(135, 0, 0, bytes(20)),
        bytes([3]) + struct.pack("!HHII", 5060, 5061, 1, 0) + bytes(16),
    ])

    inner = ipv4(6, tcp(5555, 443, 1, 0, 2, src=bytes([192, 168, 1, 1]), dst=bytes([192, 168, 1, 2])),
                 src=bytes([192, 168, 1, 1]), dst=bytes([192, 168, 1, 2]))
    inner6 = ipv6(6, tcp(1, 443, 3, 0, 2, src=A6, dst=B6))
    gtp = struct.pack("!BBHIHBB", 0x32, 0xFF, 4 + len(inner), 0x1234, 1, 0, 0) + inner
    write("tunnels", [
        bytes([0]) + b"\x20\x00\x08\x00" + bytes([0, 0, 0, 42]) + inner,
        bytes([0]) + b"\x10\x00\x88\xbe" + bytes(4) + bytes(8) + eth(0x0800, inner),
        bytes([0]) + b"\x30\x81\x88\x0b" + struct.pack("!HHI", len(inner) + 4, 7, 1) + b"\xff\x03\x00\x21" + inner,
        bytes([1]) + b"\x08\0\0\0\0\0\x2a\0" + eth(0x0800, inner),
        bytes([2]) + b"\x01\x00\x65\x58\0\0\x01\0" + bytes(4) + eth(0x0800, inner),
        bytes([3]) + b"\0\0\x12\x34\x01\x02\x03\x04" + inner6,
        bytes([4]) + gtp,
        bytes([5]) + inner,
        bytes([6]) + b"\0\0\x86\xdd" + inner6,
    ])

    # Whole conversations for the pipeline (Ethernet, link byte 0).
    def conv(c, s, cp, sp, steps):
        out, cseq, sseq = [], 1000, 5000
        for who, flags, payload in steps:
            if who == "c":
                pkt = ipv4(6, tcp(cp, sp, cseq, sseq, flags, payload, c, s), c, s)
                cseq += len(payload) + (1 if flags & 3 else 0)
            else:
                pkt = ipv4(6, tcp(sp, cp, sseq, cseq, flags, payload, s, c), s, c)
                sseq += len(payload) + (1 if flags & 3 else 0)
            out.append(bytes([1]) + eth(0x0800, pkt)[1:])  # first byte doubles as the time delta
        return out

    http = conv(A4, B4, 40000, 80, [("c", 2, b""), ("s", 0x12, b""), ("c", 0x10, b""),
                                    ("c", 0x18, b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"),
                                    ("s", 0x18, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"),
                                    ("c", 0x11, b""), ("s", 0x11, b""), ("c", 0x10, b"")])
    hello = (b"\x16\x03\x01\x00\x30\x01\x00\x00\x2c\x03\x03" + bytes(32) + b"\x00\x00\x02\x13\x01\x01\x00")
    tls = conv(A4, B4, 40001, 443, [("c", 2, b""), ("s", 0x12, b""), ("c", 0x10, b""), ("c", 0x18, hello)])
    gap = conv(A4, B4, 40002, 8080, [("c", 2, b""), ("s", 0x12, b""), ("c", 0x10, b""),
                                     ("c", 0x18, b"a" * 100), ("s", 0x10, b"")])
    dnsflow = [bytes([1]) + eth(0x0800, dnsq)[1:],
               bytes([1]) + eth(0x0800, ipv4(17, udp(53, 53000, dns(0x1234, "example.com", True, bytes([1, 2, 3, 4])), B4, A4), B4, A4))[1:]]
    flood = [bytes([0]) + eth(0x0800, ipv4(6, tcp(1000 + i, 80, i, 0, 2, src=bytes([203, 0, 113, i]), dst=B4),
                                           src=bytes([203, 0, 113, i]), dst=B4))[1:] for i in range(40)]
    write("pipeline", [
        bytes([0]) + records(*http),
        bytes([0]) + records(*tls),
        bytes([0]) + records(*gap),
        bytes([0]) + records(*dnsflow),
        bytes([0]) + records(*flood),
        bytes([0x10]) + records(*http),
    ])


if __name__ == "__main__":
    main()
