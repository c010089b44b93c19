#!/usr/bin/env python3
"""udptool - the lab's UDP server and clients.

server:  answers every datagram with "seen SRCIP:SRCPORT data PAYLOAD", so a test
         can tell whether a datagram came through sluice (source = the gateway)
         or straight from the client.
client:  sends from a *connected* socket (the kernel drops anything not from the
         address asked) and prints the answer (--interval spaces the datagrams of
         one flow out in time, --until-file stops it early once a file exists,
         then it prints "done N"; --print-local prints the socket's own address).
flows:   N sockets at once, each connected to the server, each sending its own
         payload; checks every answer belongs to its own flow (--bind picks
         the source address, for flows and hold). --window W keeps at most W
         datagrams unanswered (a burst of thousands would overflow socket
         buffers on the way), --rounds K sends K rounds on the same sockets
         (later rounds check the server still saw the flow's first gateway
         address and port: its session was held), --stats prints the
         distinct gateway sources the server saw and each round's time.
hold:    N sockets kept open across rounds (the same source port each round):
         round 1 at once, round K once the file GO.K exists; each round prints
         how many flows were answered on their own socket, and how many of those
         the server still saw from the same gateway address and port as in
         round 1 (the flow kept its session in sluice).
All loops are bounded by count and time.
"""
import argparse, errno, os, resource, select, socket, sys, time


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def server(a):
    s = socket.socket(family(a.bind), socket.SOCK_DGRAM)
    if a.rcvbuf:  # root may go past net.core.rmem_max
        try:
            s.setsockopt(socket.SOL_SOCKET, 33, a.rcvbuf)  # SO_RCVBUFFORCE
        except OSError:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)
    if a.reuse:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if a.v6only:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    try:
        s.bind((a.bind, a.port))
    except OSError as e:
        # A test may expect this (a port sluice holds): say why, exit 1.
        print("bind failed: %s" % errno.errorcode.get(e.errno, e.errno), flush=True)
        return 1
    print("ready", flush=True)
    s.setblocking(False)
    end = time.time() + a.lifetime
    tag = (a.tag + " ") if a.tag else ""
    while time.time() < end:
        r, _, _ = select.select([s], [], [], 0.5)
        # what is queued, up to a bound, before the next select
        for _ in range(r and 256 or 0):
            try:
                data, peer = s.recvfrom(65535)
            except BlockingIOError:
                break
            msg = "%sseen %s:%d data " % (tag, peer[0], peer[1])
            try:
                s.sendto(msg.encode() + data, peer)
            except OSError:
                pass
            if a.log:
                print(msg + data[:60].decode(errors="replace"), flush=True)


def client(a):
    s = socket.socket(family(a.to), socket.SOCK_DGRAM)
    s.connect((a.to, a.port))
    s.settimeout(a.timeout)
    if a.print_local:
        local = s.getsockname()
        print("local %s:%d" % (local[0], local[1]), flush=True)
    sent = 0
    for i in range(a.count):
        if i and a.until_file and os.path.exists(a.until_file):
            break
        if i and a.interval:
            time.sleep(a.interval)
        s.send(a.msg.encode())
        sent += 1
        try:
            data, peer = s.recvfrom(65535)
        except socket.timeout:
            print("timeout", flush=True)
            return 1
        print("from %s:%d %s" % (peer[0], peer[1], data.decode(errors="replace")), flush=True)
    if a.until_file:
        print("done %d" % sent, flush=True)
    return 0


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))


def flows_round(socks, k, a):
    """Round k: "flow-I" (round 1) or "flow-I.K" on every socket, at most
    a.window unanswered; {i: server-seen source} of the answers, wrong, and
    how many sends failed (the datagram never left)."""
    n = len(socks)
    pay = ["flow-%d" % i if k == 1 else "flow-%d.%d" % (i, k) for i in range(n)]
    poller = select.epoll()  # cost by what is ready, not by the thousands of sockets
    fdmap = {s.fileno(): (i, s) for i, s in enumerate(socks)}
    for s in socks:
        poller.register(s, select.EPOLLIN)
    got, wrong, nxt, given_up, unsent = {}, 0, 0, 0, 0
    end = time.time() + a.timeout
    quiet_since = time.time()
    while len(got) < n and time.time() < end:
        # unanswered ones older than a quiet second count as lost for the window
        limit = n if not a.window else min(n, len(got) + given_up + a.window)
        while nxt < limit:
            try:
                socks[nxt].send(pay[nxt].encode())
            except OSError:
                unsent += 1
            nxt += 1
        events = poller.poll(0.05 if nxt < n else 0.2, 1024)
        if events:
            quiet_since = time.time()
        elif nxt < n and time.time() - quiet_since > 1:
            given_up = nxt - len(got)
            quiet_since = time.time()
        for fd, _ in events:
            i, s = fdmap[fd]
            try:
                data = s.recv(65535).decode(errors="replace")
            except OSError:
                continue
            words = data.split()
            if data.endswith(" data " + pay[i]) and "seen" in words:
                got[i] = words[words.index("seen") + 1]
            else:
                wrong += 1
                if wrong <= 3:
                    print("wrong: flow %d round %d got %r" % (i, k, data[:80]), file=sys.stderr)
    poller.close()
    return got, wrong, unsent


def flows(a):
    raise_nofile(a.n + 64)
    socks = []
    for i in range(a.n):
        s = socket.socket(family(a.to), socket.SOCK_DGRAM)
        if a.bind:
            s.bind((a.bind, 0))
        s.connect((a.to, a.port))
        s.setblocking(False)
        socks.append(s)
    ok, first = True, {}
    for k in range(1, a.rounds + 1):
        t0 = time.time()
        got, wrong, unsent = flows_round(socks, k, a)
        secs = time.time() - t0
        ok = ok and len(got) == a.n and wrong == 0
        if k == 1:
            first = got
            sources = sorted({d.rsplit(":", 1)[0] for d in got.values()})
            print("answered %d/%d wrong %d sources %s%s" % (len(got), a.n, wrong, ",".join(sources),
                  " unsent %d" % unsent if unsent else ""), flush=True)
            if a.stats:
                print("gateway sources %d distinct" % len(set(got.values())), flush=True)
        else:
            same = sum(1 for i, src in got.items() if first.get(i) == src)
            ok = ok and same == a.n
            print("round %d answered %d/%d same %d wrong %d" % (k, len(got), a.n, same, wrong),
                  flush=True)
        if a.stats:
            print("round %d took %.2f s" % (k, secs), flush=True)
    return 0 if ok else 1


def hold_round(socks, k, timeout):
    """Send "hold-I-K" on every socket; {i: server-seen source} of the answers."""
    for i, s in enumerate(socks):
        try:
            s.send(("hold-%d-%d" % (i, k)).encode())
        except OSError:
            pass
    got, wrong = {}, 0
    poller = select.poll()
    fdmap = {s.fileno(): (i, s) for i, s in enumerate(socks)}
    for s in socks:
        poller.register(s, select.POLLIN)
    end = time.time() + timeout
    while len(got) < len(socks) and time.time() < end:
        for fd, _ in poller.poll(200):
            i, s = fdmap[fd]
            try:
                data = s.recv(65535).decode(errors="replace")
            except OSError:
                continue
            if data.startswith("seen ") and data.endswith(" data hold-%d-%d" % (i, k)):
                got[i] = data.split()[1]
            else:
                wrong += 1
                if wrong <= 3:
                    print("wrong: flow %d round %d got %r" % (i, k, data[:80]), file=sys.stderr)
    return got, wrong


def hold(a):
    raise_nofile(a.n + 64)
    socks = []
    for i in range(a.n):
        s = socket.socket(family(a.to), socket.SOCK_DGRAM)
        if a.bind:
            s.bind((a.bind, 0))
        s.connect((a.to, a.port))
        s.setblocking(False)
        socks.append(s)
    first = {}
    for k in range(1, a.rounds + 1):
        if k > 1:
            end = time.time() + a.wait
            while not os.path.exists("%s.%d" % (a.go, k)) and time.time() < end:
                time.sleep(0.05)
            if not os.path.exists("%s.%d" % (a.go, k)):
                print("round %d not started: no %s.%d" % (k, a.go, k), flush=True)
                return 1
        got, wrong = hold_round(socks, k, a.timeout)
        if k == 1:
            first = got
        same = sum(1 for i, src in got.items() if first.get(i) == src)
        sources = sorted({src.rsplit(":", 1)[0] for src in got.values()})
        print("round %d answered %d/%d same %d wrong %d sources %s" % (
            k, len(got), a.n, same, wrong, ",".join(sources)), flush=True)
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("server")
    s.add_argument("--bind", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--tag", default="")
    s.add_argument("--reuse", action="store_true")
    s.add_argument("--v6only", action="store_true")
    s.add_argument("--log", action="store_true")
    s.add_argument("--lifetime", type=float, default=300)
    s.add_argument("--rcvbuf", type=int, default=0)
    c = sub.add_parser("client")
    c.add_argument("--to", required=True)
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--msg", default="hello")
    c.add_argument("--count", type=int, default=1)
    c.add_argument("--timeout", type=float, default=3)
    c.add_argument("--interval", type=float, default=0)
    c.add_argument("--print-local", action="store_true")
    c.add_argument("--until-file", default="")
    f = sub.add_parser("flows")
    f.add_argument("--to", required=True)
    f.add_argument("--port", type=int, required=True)
    f.add_argument("--n", type=int, default=200)
    f.add_argument("--timeout", type=float, default=10)
    f.add_argument("--bind", default="")
    f.add_argument("--window", type=int, default=0)
    f.add_argument("--rounds", type=int, default=1)
    f.add_argument("--stats", action="store_true")
    h = sub.add_parser("hold")
    h.add_argument("--to", required=True)
    h.add_argument("--port", type=int, required=True)
    h.add_argument("--n", type=int, default=100)
    h.add_argument("--rounds", type=int, default=2)
    h.add_argument("--go", default="go")
    h.add_argument("--wait", type=float, default=60)
    h.add_argument("--timeout", type=float, default=5)
    h.add_argument("--bind", default="")
    a = p.parse_args()
    return {"server": server, "client": client, "flows": flows, "hold": hold}[a.cmd](a) or 0


if __name__ == "__main__":
    sys.exit(main())
