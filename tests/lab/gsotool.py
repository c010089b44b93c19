#!/usr/bin/env python3
"""gsotool - bursts of one flow's datagrams sent as UDP GSO packets, for the
relay's GSO/GRO path (t_relay_gso.sh).

Datagram I of a burst of N is the 4-byte big-endian I, then bytes
(I + J) & 0xff; all are SIZE bytes but the last, which is SIZE // 2.
Both ends read with UDP_GRO on, so a run that arrives as one GSO packet is
one read (split here by the segment size the kernel reports): "coalesced"
counts such reads, which shows the sender before them (sluice) sent runs as
GSO packets.

server:  takes one burst from the first peer (until N datagrams or 3 s), prints
         "server got G/N in-order O coalesced C", and sends the same N
         datagrams back to the peer as GSO packets.
client:  sends a burst (the first 4 datagrams alone, so the gateway has the
         flow's socket before the GSO packets come), then reads the echo and
         prints "client got G/N in-order O coalesced C".
All loops are bounded by count and time.
"""
import argparse, select, socket, struct, sys, time

UDP_SEGMENT, UDP_GRO = 103, 104
SOL_UDP = getattr(socket, "SOL_UDP", 17)


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def datagram(i, n, size):
    ln = size // 2 if i == n - 1 else size
    return struct.pack("!I", i) + bytes((i + j) & 0xFF for j in range(ln - 4))


def gro_socket(addr):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.setsockopt(SOL_UDP, UDP_GRO, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    return s


def send_burst(s, n, size, first=0, peer=None):
    """Datagrams first..n-1 as GSO packets of at most 32 segments."""
    i = first
    while i < n:
        k = min(32, n - i)
        data = b"".join(datagram(j, n, size) for j in range(i, i + k))
        cmsg = [(SOL_UDP, UDP_SEGMENT, struct.pack("=H", size))] if k > 1 else []
        if peer:
            s.sendmsg([data], cmsg, 0, peer)
        else:
            s.sendmsg([data], cmsg)
        i += k


def take(s, n, size, secs):
    """Read until n datagrams or secs: (datagrams in order, coalesced reads, peer)."""
    got, coalesced, peer = [], 0, None
    end = time.time() + secs
    while len(got) < n and time.time() < end:
        if not select.select([s], [], [], 0.2)[0]:
            continue
        data, anc, _, frm = s.recvmsg(65535, 64)
        peer = peer or frm
        seg = len(data)
        for level, typ, val in anc:
            if level == SOL_UDP and typ == UDP_GRO:
                seg = struct.unpack("=i", val[:4])[0]
        if seg < len(data):
            coalesced += 1
        for off in range(0, len(data), seg):
            got.append(data[off:off + seg])
    in_order = sum(1 for i, d in enumerate(got) if d == datagram(i, n, size))
    return got, in_order, coalesced, peer


def server(a):
    s = gro_socket(a.bind)
    s.bind((a.bind, a.port))
    print("ready", flush=True)
    end = time.time() + a.lifetime
    while time.time() < end:
        if not select.select([s], [], [], 0.5)[0]:
            continue
        got, ok, co, peer = take(s, a.n, a.size, 3)
        print("server got %d/%d in-order %d coalesced %d" % (len(got), a.n, ok, co), flush=True)
        send_burst(s, a.n, a.size, peer=peer)


def client(a):
    s = gro_socket(a.to)
    s.connect((a.to, a.port))
    for i in range(4):  # alone: the gateway opens the flow's socket on these
        s.send(datagram(i, a.n, a.size))
    time.sleep(0.3)
    send_burst(s, a.n, a.size, first=4)
    got, ok, co, _ = take(s, a.n, a.size, 5)
    print("client got %d/%d in-order %d coalesced %d" % (len(got), a.n, ok, co), flush=True)
    return 0 if ok == a.n and len(got) == a.n else 1


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("server")
    s.add_argument("--bind", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--lifetime", type=float, default=120)
    c = sub.add_parser("client")
    c.add_argument("--to", required=True)
    c.add_argument("--port", type=int, required=True)
    for x in (s, c):
        x.add_argument("--n", type=int, default=200)
        x.add_argument("--size", type=int, default=1000)
    a = p.parse_args()
    return {"server": server, "client": client}[a.cmd](a) or 0


if __name__ == "__main__":
    sys.exit(main())
