#!/usr/bin/env python3
"""Regenerates the seed corpus of vigil_spool_scan_fuzz (spool_corpus/).

Each seed is a spool segment in the format of agent/export/spool_frame.h:
intact frames, a torn payload, a torn header, garbage between frames, a
damaged segment header, an absurd length, and payload bit rot.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def seg_header():
    h = b"VIGILSP1" + struct.pack("<I", 1)
    return h + struct.pack("<I", crc32c(h))


def frame(seq, records, payload, first=1, last=2):
    body = struct.pack("<QIIqqII", seq, records, len(payload), first, last, crc32c(payload), 0)
    return struct.pack("<I", 0x31464256) + struct.pack("<I", crc32c(body)) + body + payload


def main():
    assert crc32c(b"123456789") == 0xE3069283
    out = os.path.join(HERE, "spool_corpus")
    os.makedirs(out, exist_ok=True)

    def w(name, data):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)

    two = seg_header() + frame(1, 3, b"\x08\x01\x12\x03abc") + frame(2, 1, b"xyz" * 10)
    w("two_frames", two)
    w("torn_payload", two[:-7])
    w("torn_header", two + frame(3, 1, b"q")[:20])
    w("garbage_between", seg_header() + frame(1, 1, b"a") + b"\xab" * 61 + frame(2, 1, b"b"))
    w("bad_segment_header", b"VIGILSPX" + two[8:])
    w("empty", b"")
    w("header_only", seg_header())
    w("huge_length", seg_header() + frame(5, 1, b"")[:20] + struct.pack("<I", 0xFFFFFFFF) + b"\0" * 24)
    bad = bytearray(two)
    bad[16 + 48 + 2] ^= 0x40
    w("payload_bitrot", bytes(bad))


if __name__ == "__main__":
    main()
