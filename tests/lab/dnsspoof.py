#!/usr/bin/env python3
"""dnsspoof - a DNS server for the lab that also plays an off-path spoofer.

It answers every A/AAAA query with ANSWER (A) / ANSWER6 (AAAA), TTL 300,
echoing the question exactly as it came, and logs one line per query:
    query port=SRCPORT id=ID name=QNAME-AS-SENT
Names starting with one of these labels make it attack first:
    spray-now   before answering, send a forged answer (A/AAAA POISON) for
                every one of the 65,536 IDs (twice) to the port the query came from,
                with the question lowercased (what a spoofer who knows the
                name, not the 0x20 case pattern, would send); answer after.
    spray-old   the same forged answers, every ID, to the port the PREVIOUS
                query came from (a spoofer who learned a port earlier).
Then it prints "sprayed N to PORT". A name is sprayed for once; its retries are just answered. Forged answers come from this server's
own address and port, so only the ID, the question and the port protect
the resolver. Sends are paced (bounded bursts) so the receiver's socket
buffer keeps up. Bounded: one spray per query, --lifetime seconds in all.
"""
import argparse, select, socket, struct, sys, time


def qname_end(m):
    o = 12
    while o < len(m) and m[o] != 0:
        if m[o] > 63:
            return None
        o += 1 + m[o]
    return o + 1 if o < len(m) else None


def answer(q, addr4, addr6, lower=False, ident=None):
    """An answer to query q (the question echoed, lowercased if asked)."""
    end = qname_end(q)
    if end is None or end + 4 > len(q):
        return None
    name = q[12:end]
    if lower:
        name = bytes(b | 0x20 if 65 <= b <= 90 else b for b in name)
    qtype = struct.unpack("!H", q[end:end + 2])[0]
    qid = struct.unpack("!H", q[:2])[0] if ident is None else ident
    hdr = struct.pack("!HHHHHH", qid, 0x8180 | (q[2] << 8 & 0x0100), 1, 0, 0, 0)
    out = hdr + name + q[end:end + 4]
    if qtype == 1:
        rd = socket.inet_pton(socket.AF_INET, addr4)
    elif qtype == 28:
        rd = socket.inet_pton(socket.AF_INET6, addr6)
    else:
        return out
    out = bytearray(out)
    out[6:8] = struct.pack("!H", 1)
    return bytes(out) + struct.pack("!HHHIH", 0xc00c, qtype, 1, 300, len(rd)) + rd


def spray(s, q, peer, a, passes=1):
    template = bytearray(answer(q, a.poison, a.poison6, lower=True, ident=0))
    sent = 0
    for i in range(65536 * passes):
        i &= 0xffff
        template[0:2] = struct.pack("!H", i)
        try:
            s.sendto(template, peer)
            sent += 1
        except OSError:
            pass
        if i % 64 == 63:
            time.sleep(0.001)
    return sent


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bind", required=True)
    p.add_argument("--answer", default="192.0.2.80")
    p.add_argument("--answer6", default="2001:db8:80::80")
    p.add_argument("--poison", default="198.51.100.66")
    p.add_argument("--poison6", default="2001:db8:66::66")
    p.add_argument("--delay", type=float, default=0.3)
    p.add_argument("--lifetime", type=float, default=300)
    a = p.parse_args()
    fam = socket.AF_INET6 if ":" in a.bind else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
    s.bind((a.bind, 53))
    print("ready", flush=True)
    prev = None
    done = set()  # one spray per name: a retry of the same query is just answered
    end = time.time() + a.lifetime
    while time.time() < end:
        r, _, _ = select.select([s], [], [], 0.5)
        if not r:
            continue
        q, peer = s.recvfrom(65535)
        qe = qname_end(q)
        if len(q) < 12 or qe is None:
            continue
        labels, o = [], 12
        while q[o]:
            labels.append(q[o + 1:o + 1 + q[o]].decode(errors="replace"))
            o += 1 + q[o]
        name = ".".join(labels)
        print("query port=%d id=%d name=%s" % (peer[1], struct.unpack("!H", q[:2])[0], name),
              flush=True)
        first = labels[0].lower() if labels else ""
        if name.lower() in done:
            first = ""
        done.add(name.lower())
        if first == "spray-now":
            # two passes: a datagram the receiver dropped (a full socket
            # buffer on a loaded machine) gets a second chance
            print("sprayed %d to %d" % (spray(s, q, peer, a, 2), peer[1]), flush=True)
        elif first == "spray-old" and prev is not None:
            print("sprayed %d to %d" % (spray(s, q, prev, a), prev[1]), flush=True)
        if first.startswith("spray"):
            time.sleep(a.delay)
        reply = answer(q, a.answer, a.answer6)
        if reply:
            s.sendto(reply, peer)
        prev = peer
    return 0


if __name__ == "__main__":
    sys.exit(main())
