#!/usr/bin/env python3
"""mkdoh.py - writes the seed corpus of fuzz/fuzz_doh.c into fuzz/corpus/doh/:
HTTP/2 frames a DoH server might send (RFC 9113 framing, HPACK with the
static table and literals only). Each seed is a control byte, chunk sizes,
then the server's bytes (see fuzz_doh.c). Run from the source tree:
    python3 fuzz/corpus/mkdoh.py
"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "doh")

DATA, HEADERS, RST, SETTINGS, PUSH, PING, GOAWAY, WINUP, CONT = 0, 1, 3, 4, 5, 6, 7, 8, 9
END_STREAM, ACK, END_HEADERS, PADDED = 1, 1, 4, 8


def frame(ftype, flags, sid, payload=b""):
    return struct.pack("!I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack("!I", sid) + payload


def lit(name, value):
    """Literal without indexing, new name (RFC 7541 6.2.2); short strings only."""
    assert len(name) < 127 and len(value) < 127
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


def ctype(v=b"application/dns-message"):
    return b"\x0f\x10" + bytes([len(v)]) + v  # name: static index 31


def status(code):
    idx = {200: 8, 204: 9, 206: 10, 304: 11, 400: 12, 404: 13, 500: 14}
    if code in idx:
        return bytes([0x80 | idx[code]])
    return b"\x08\x03" + str(code).encode()  # literal, name :status (index 8)


def answer(qid=0, addr=(192, 0, 2, 1)):
    q = b"\x03www\x07example\x00\x00\x01\x00\x01"
    return (struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + q +
            b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04" + bytes(addr))


PREFACE = frame(SETTINGS, 0, 0, struct.pack("!HI", 3, 100)) + frame(SETTINGS, ACK, 0)


def response(sid, code=200, ct=True, body=None, extra=b""):
    block = status(code) + (ctype() if ct else b"") + extra
    body = answer() if body is None else body
    if not body:
        return frame(HEADERS, END_HEADERS | END_STREAM, sid, block)
    return frame(HEADERS, END_HEADERS, sid, block) + frame(DATA, END_STREAM, sid, body)


def seed(name, stream, nreq=3, chunks=(0,), flags=0):
    ctl = (len(chunks) - 1) | ((nreq - 1) << 3) | flags
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(bytes([ctl] + list(chunks)) + stream)


def main():
    os.makedirs(OUT, exist_ok=True)
    three = PREFACE + response(5) + response(1) + response(3)
    seed("three_out_of_order", three)
    seed("three_split_7", three, chunks=(7,))
    seed("three_split_mixed", three, chunks=(1, 9, 30, 2))
    seed("cancel_second", three, chunks=(20, 0), flags=0x20)
    seed("cancel_oldest", three, flags=0x40)
    seed("status_404", PREFACE + response(1, 404, False, b"not found"), nreq=1)
    seed("status_500_dns_type", PREFACE + response(1, 500), nreq=1)
    seed("wrong_ctype", PREFACE + frame(HEADERS, END_HEADERS, 1, status(200) + ctype(b"text/html")) +
         frame(DATA, END_STREAM, 1, b"<html>"), nreq=1)
    seed("ctype_params", PREFACE + frame(HEADERS, END_HEADERS, 1, status(200) +
         ctype(b"Application/DNS-Message; charset=binary")) + frame(DATA, END_STREAM, 1, answer()), nreq=1)
    seed("no_body", PREFACE + response(1, 200, True, b""), nreq=1)
    seed("content_length", PREFACE + response(1, extra=b"\x0f\x0d\x02" + str(len(answer())).encode()[:2]), nreq=1)
    seed("content_length_wrong", PREFACE + response(1, extra=b"\x0f\x0d\x01" + b"9"), nreq=1)
    seed("informational_103", PREFACE + frame(HEADERS, END_HEADERS, 1, status(103)) + response(1), nreq=1)
    seed("trailers", PREFACE + frame(HEADERS, END_HEADERS, 1, status(200) + ctype()) +
         frame(DATA, 0, 1, answer()) + frame(HEADERS, END_HEADERS | END_STREAM, 1, lit(b"x-t", b"1")), nreq=1)
    seed("continuation", PREFACE + frame(HEADERS, 0, 1, status(200)) +
         frame(CONT, 0, 1, ctype()) + frame(CONT, END_HEADERS, 1, lit(b"server", b"fuzz")) +
         frame(DATA, END_STREAM, 1, answer()), nreq=1)
    seed("padded", PREFACE + frame(HEADERS, END_HEADERS | PADDED, 1, b"\x04" + status(200) + ctype() + b"\0" * 4) +
         frame(DATA, END_STREAM | PADDED, 1, b"\x10" + answer() + b"\0" * 16), nreq=1)
    seed("body_in_pieces", PREFACE + frame(HEADERS, END_HEADERS, 1, status(200) + ctype()) +
         b"".join(frame(DATA, 0, 1, answer()[i:i + 5]) for i in range(0, len(answer()), 5)) +
         frame(DATA, END_STREAM, 1, b""), nreq=1)
    big = b"".join(frame(DATA, 0, 1, b"\xab" * 16384) for _ in range(4)) + frame(DATA, END_STREAM, 1, b"\xab" * 4000)
    seed("body_too_big", PREFACE + frame(HEADERS, END_HEADERS, 1, status(200) + ctype()) + big,
         nreq=1, chunks=(0x40,))
    many = b"".join(lit(b"x-filler-%02d" % i, b"v" * 120) for i in range(120))
    seed("headers_too_big", PREFACE + frame(HEADERS, END_HEADERS, 1, status(200) + ctype() + many) +
         frame(DATA, END_STREAM, 1, answer()), nreq=1)
    seed("goaway_after_1", PREFACE + response(1) + frame(GOAWAY, 0, 0, struct.pack("!II", 1, 0)))
    seed("goaway_error", PREFACE + frame(GOAWAY, 0, 0, struct.pack("!II", 3, 2) + b"debug") + response(3) + response(1))
    seed("rst_refused", PREFACE + frame(RST, 0, 1, struct.pack("!I", 7)) + frame(RST, 0, 3, struct.pack("!I", 2)) + response(5))
    seed("ping_winup_unknown", PREFACE + frame(PING, 0, 0, b"12345678") + frame(WINUP, 0, 0, struct.pack("!I", 1000)) +
         frame(WINUP, 0, 1, struct.pack("!I", 10)) + frame(0xfa, 0, 0, b"ext") + response(1), nreq=1)
    seed("max_streams_1", frame(SETTINGS, 0, 0, struct.pack("!HI", 3, 1)) + frame(SETTINGS, ACK, 0) +
         response(1) + response(3) + response(5))
    seed("push_promise", PREFACE + frame(PUSH, END_HEADERS, 1, struct.pack("!I", 2) + status(200)) + response(1), nreq=1)
    seed("data_before_headers", PREFACE + frame(DATA, END_STREAM, 1, answer()), nreq=1)
    seed("unknown_stream", PREFACE + response(7) + response(1), nreq=1)
    seed("no_settings", response(1), nreq=1)
    seed("http1", b"HTTP/1.1 200 OK\r\ncontent-type: application/dns-message\r\n\r\n", nreq=1)
    seed("four_requests", PREFACE + response(7) + response(3) + response(1, 404) + response(5), nreq=4)


if __name__ == "__main__":
    main()
