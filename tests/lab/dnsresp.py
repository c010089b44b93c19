#!/usr/bin/env python3
"""dnsresp - the lab's slow DNS responder (UDP).

Answers every A query with --a and every AAAA query with --aaaa (TTL 300),
anything else with NODATA, --delay seconds after it arrived (answers to
several queries are held at once, each on its own clock). Logs
"query SRCIP NAME TYPE t=MS" for each query (MS: since it started), so a
test can tell who asked, and when.
Binds each --bind address on --port; prints "ready" once all are bound.
Exits after --lifetime seconds; every loop is bounded by that.
"""
import argparse, heapq, select, socket, struct, sys, time


def parse_question(m):
    """(name, qtype, end offset) of the first question; ValueError if unreadable."""
    o, labels = 12, []
    for _ in range(128):
        if o >= len(m):
            raise ValueError("short")
        n = m[o]
        if n == 0:
            o += 1
            break
        if n >= 0x40:
            raise ValueError("compressed name in a query")
        labels.append(m[o + 1:o + 1 + n].decode(errors="replace"))
        o += 1 + n
    else:
        raise ValueError("long name")
    if o + 4 > len(m):
        raise ValueError("short")
    qtype = struct.unpack("!H", m[o:o + 2])[0]
    return ".".join(labels) + ".", qtype, o + 4


def answer(q, a4, a6):
    if len(q) < 12 or q[2] & 0x80:
        return None, None, None
    qid, flags, qd = struct.unpack("!HHH", q[:6])
    if qd != 1:
        return None, None, None
    try:
        name, qtype, end = parse_question(q)
    except ValueError:
        return None, None, None
    rdata = b""
    if qtype == 1:
        rdata = socket.inet_pton(socket.AF_INET, a4)
    elif qtype == 28:
        rdata = socket.inet_pton(socket.AF_INET6, a6)
    an = 1 if rdata else 0
    # QR, AA, RD copied, RA; no EDNS in the answer (its size fits 512 bytes).
    r = struct.pack("!HHHHHH", qid, 0x8480 | (flags & 0x0100), 1, an, 0, 0) + q[12:end]
    if rdata:
        r += b"\xc0\x0c" + struct.pack("!HHIH", qtype, 1, 300, len(rdata)) + rdata
    return r, name, qtype


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bind", action="append", required=True)
    p.add_argument("--port", type=int, default=53)
    p.add_argument("--delay", type=float, default=0.7)
    p.add_argument("--a", default="192.0.2.71")
    p.add_argument("--aaaa", default="2001:db8:71::71")
    p.add_argument("--lifetime", type=float, default=300)
    a = p.parse_args()
    socks = []
    for b in a.bind:
        s = socket.socket(socket.AF_INET6 if ":" in b else socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((b, a.port))
        socks.append(s)
    print("ready", flush=True)
    held = []  # (due, seq, sock, answer, peer)
    start = time.monotonic()
    seq, end = 0, start + a.lifetime
    while time.monotonic() < end:
        now = time.monotonic()
        while held and held[0][0] <= now:
            _, _, s, r, peer = heapq.heappop(held)
            s.sendto(r, peer)
        wait = min(0.5, held[0][0] - now) if held else 0.5
        rl, _, _ = select.select(socks, [], [], max(0.0, wait))
        for s in rl:
            q, peer = s.recvfrom(65535)
            r, name, qtype = answer(q, a.a, a.aaaa)
            if r is None:
                continue
            print("query %s %s %d t=%d" % (peer[0], name, qtype, (time.monotonic() - start) * 1000),
                  flush=True)
            seq += 1
            heapq.heappush(held, (time.monotonic() + a.delay, seq, s, r, peer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
