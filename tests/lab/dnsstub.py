#!/usr/bin/env python3
"""dnsstub - a tiny authoritative DNS server for the lab, driven by a file.

Answers A and AAAA queries from ZONE, re-read on every query (so a test
changes an answer by rewriting the file), lines "NAME TYPE ADDRESS TTL";
anything else gets NXDOMAIN. Logs "query from SRCIP NAME TYPE ecs=ECS" per
query (ECS: the client subnet option's ADDR/LEN, or none). With
--refuse-ecs, a query carrying ECS is answered REFUSED (a server that will
not take ECS). Bounded by --lifetime seconds.
"""
import argparse, select, socket, struct, sys, time

TYPES = {1: "A", 28: "AAAA"}


def load(path):
    recs = {}
    with open(path) as f:
        for line in f:
            w = line.split()
            if len(w) == 4:
                recs.setdefault((w[0].lower().rstrip("."), w[1].upper()), []).append((w[2], int(w[3])))
    return recs


def ecs_of(q, o):
    """The ECS option (code 8) of the OPT record after the question at o, as ADDR/LEN."""
    try:
        ar = struct.unpack("!H", q[10:12])[0]
        o += 5
        for _ in range(ar):
            if q[o] != 0:
                return "none"
            t, _c, _ttl, rdl = struct.unpack("!HHIH", q[o + 1:o + 11])
            rd, o = q[o + 11:o + 11 + rdl], o + 11 + rdl
            i = 0
            while t == 41 and i + 4 <= len(rd):
                code, ol = struct.unpack("!HH", rd[i:i + 4])
                if code == 8:
                    fam, plen = struct.unpack("!HB", rd[i + 4:i + 7])
                    raw = rd[i + 8:i + 4 + ol]
                    if fam == 1:
                        a = socket.inet_ntop(socket.AF_INET, raw + bytes(4 - len(raw)))
                    else:
                        a = socket.inet_ntop(socket.AF_INET6, raw + bytes(16 - len(raw)))
                    return "%s/%d" % (a, plen)
                i += 4 + ol
    except (IndexError, struct.error, ValueError):
        pass
    return "none"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bind", required=True)
    p.add_argument("--zone", required=True)
    p.add_argument("--lifetime", type=float, default=300)
    p.add_argument("--refuse-ecs", action="store_true")
    a = p.parse_args()
    fam = socket.AF_INET6 if ":" in a.bind else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((a.bind, 53))
    print("ready", flush=True)
    end = time.time() + a.lifetime
    while time.time() < end:
        r, _, _ = select.select([s], [], [], 0.5)
        if not r:
            continue
        q, peer = s.recvfrom(4096)
        if len(q) < 17:
            continue
        o, labels = 12, []
        while o < len(q) and q[o] and q[o] < 64:
            labels.append(q[o + 1:o + 1 + q[o]].decode(errors="replace"))
            o += 1 + q[o]
        if o + 5 > len(q):
            continue
        qtype = struct.unpack("!H", q[o + 1:o + 3])[0]
        name = ".".join(labels).lower()
        ecs = ecs_of(q, o)
        print("query from %s %s %s ecs=%s" % (peer[0], name, TYPES.get(qtype, qtype), ecs),
              flush=True)
        recs = load(a.zone).get((name, TYPES.get(qtype, "")), [])
        known = any(k[0] == name for k in load(a.zone))
        rcode = 0 if known else 3
        if a.refuse_ecs and ecs != "none":
            recs, rcode = [], 5
        out = struct.pack("!HHHHHH", struct.unpack("!H", q[:2])[0], 0x8400 | rcode, 1, len(recs), 0, 0)
        out += q[12:o + 5]
        for addr, ttl in recs:
            rd = socket.inet_pton(socket.AF_INET if qtype == 1 else socket.AF_INET6, addr)
            out += struct.pack("!HHHIH", 0xc00c, qtype, 1, ttl, len(rd)) + rd
        s.sendto(out, peer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
