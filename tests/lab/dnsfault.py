#!/usr/bin/env python3
"""dnsfault - a misbehaving DNS upstream for the lab (UDP, TCP, TLS).

Every A/AAAA query gets --a / --aaaa (TTL 300), unless the first label of
the name, up to its first "-", names a fault (names are read lowercased):

  over UDP
    ok         a normal answer
    slow       a normal answer, --slow seconds late
    wrongid    the answer with another ID, only
    wrongname  an answer for another name (the first byte of the name changed), only
    wrongtype  an answer for another type (TXT), only
    wrongclass an answer for class CH, only
    wrongport  the right answer, but sent from port --wrong-port of the same address
    cut        the right answer cut inside its answer record (TC not set)
    short      the first 11 bytes of the right answer
    garbage    random bytes (1 to 300 of them)
    mixed      wrongid, wrongname, cut, garbage and wrongport answers, then the
               right one 100 ms later
    tc         an empty answer with TC=1: the asker must come back over TCP,
               where the second label decides (tc-close-1.example: "close")
  over TCP and TLS (the first label, or the second one after "tc")
    ok         a normal answer
    slow       a normal answer, --slow seconds late
    close      read the query, close without a word
    lenonly    the 2-byte length of an answer, then close
    half       the length and half the answer, then close
    garbage    a length and that many random bytes
    reset      close with a reset (SO_LINGER 0)
    wrongid    the answer with another ID, then keep the connection open
    stall      keep the connection open, never answer

--tls-port serves TLS with --cert/--key; --tls-cut-port accepts TCP and
closes it as soon as the ClientHello arrives (a handshake cut midway).
Logs "query PROTO SRCIP NAME TYPE" for each query, "ready" once bound.
Bounded: --lifetime seconds, connections time out after 10 s.
"""
import argparse, os, select, socket, ssl, struct, sys, threading, time

LOCK = threading.Lock()


def log(*a):
    with LOCK:
        print(*a, flush=True)


def parse(q):
    """(id, flags, name bytes as sent, lowercase text, qtype, end) or None."""
    if len(q) < 12 or q[2] & 0x80:
        return None
    qid, flags, qd = struct.unpack("!HHH", q[:6])
    if qd != 1:
        return None
    o, labels = 12, []
    while o < len(q) and q[o] != 0 and len(labels) < 128:
        n = q[o]
        if n > 63:
            return None
        labels.append(q[o + 1:o + 1 + n].decode(errors="replace").lower())
        o += 1 + n
    if o + 5 > len(q):
        return None
    qtype = struct.unpack("!H", q[o + 1:o + 3])[0]
    return qid, flags, q[12:o + 1], labels, qtype, o + 5


def build(qid, flags, qname, qtype, a, aaaa, qclass=1, tc=False, rtype=None):
    rdata = b""
    if not tc and qtype == 1:
        rdata = socket.inet_pton(socket.AF_INET, a)
    elif not tc and qtype == 28:
        rdata = socket.inet_pton(socket.AF_INET6, aaaa)
    fl = 0x8480 | (flags & 0x0100) | (0x0200 if tc else 0)
    r = struct.pack("!HHHHHH", qid, fl, 1, 1 if rdata else 0, 0, 0)
    r += qname + struct.pack("!HH", rtype or qtype, qclass)
    if rdata:
        r += b"\xc0\x0c" + struct.pack("!HHIH", qtype, qclass, 300, len(rdata)) + rdata
    return r


def fault_of(labels, tcp):
    first = labels[0].split("-")[0] if labels else ""
    if tcp and first == "tc" and len(labels[0].split("-")) > 1:
        return labels[0].split("-")[1]
    return first


class Server:
    def __init__(self, a):
        self.a = a
        self.held = []  # (due, sock, data, peer)

    def good(self, p):
        qid, flags, qname, labels, qtype, _ = p
        return build(qid, flags, qname, qtype, self.a.a, self.a.aaaa)

    def udp(self, s, alt, q, peer):
        p = parse(q)
        if not p:
            return
        qid, flags, qname, labels, qtype, _ = p
        log("query udp %s %s %d" % (peer[0], ".".join(labels), qtype))
        f = fault_of(labels, False)
        good = self.good(p)
        now = time.monotonic()
        out = []  # (delay, sock, data)
        wrong = {
            "wrongid": build(qid ^ 0x5a5a, flags, qname, qtype, self.a.a, self.a.aaaa),
            "wrongname": build(qid, flags, qname[:1] + bytes([qname[1] ^ 0x01]) + qname[2:],
                               qtype, self.a.a, self.a.aaaa),
            "wrongtype": build(qid, flags, qname, qtype, self.a.a, self.a.aaaa, rtype=16),
            "wrongclass": build(qid, flags, qname, qtype, self.a.a, self.a.aaaa, qclass=3),
            "cut": good[:-3],
            "short": good[:11],
            "garbage": os.urandom(1 + os.urandom(1)[0] % 300),
        }
        if f in wrong:
            out.append((0, s, wrong[f]))
        elif f == "wrongport":
            out.append((0, alt, good))
        elif f == "slow":
            out.append((self.a.slow, s, good))
        elif f == "mixed":
            for k in ("wrongid", "wrongname", "cut", "garbage"):
                out.append((0, s, wrong[k]))
            out.append((0, alt, good))
            out.append((0.1, s, good))
        elif f == "tc":
            out.append((0, s, build(qid, flags, qname, qtype, self.a.a, self.a.aaaa, tc=True)))
        else:
            out.append((0, s, good))
        for d, sock, data in out:
            self.held.append((now + d, sock, data, peer))

    def flush(self):
        now = time.monotonic()
        keep = []
        for h in self.held:
            if h[0] <= now:
                try:
                    h[1].sendto(h[2], h[3])
                except OSError:
                    pass
            else:
                keep.append(h)
        self.held = keep

    def stream(self, c, proto, peer):
        """One TCP or TLS connection: queries one by one, each answered per its fault."""
        c.settimeout(10)
        buf = b""
        try:
            while True:
                while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
                    d = c.recv(65535)
                    if not d:
                        return
                    buf += d
                n = struct.unpack("!H", buf[:2])[0]
                q, buf = buf[2:2 + n], buf[2 + n:]
                p = parse(q)
                if not p:
                    return
                labels = p[3]
                log("query %s %s %s %d" % (proto, peer[0], ".".join(labels), p[4]))
                f = fault_of(labels, True)
                good = self.good(p)
                if f == "close":
                    return
                if f == "lenonly":
                    c.sendall(struct.pack("!H", len(good)))
                    return
                if f == "half":
                    c.sendall(struct.pack("!H", len(good)) + good[:len(good) // 2])
                    return
                if f == "garbage":
                    g = os.urandom(1 + os.urandom(1)[0] % 300)
                    c.sendall(struct.pack("!H", len(g)) + g)
                    return
                if f == "reset":
                    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                if f == "wrongid":
                    w = struct.pack("!H", p[0] ^ 0x5a5a) + good[2:]
                    c.sendall(struct.pack("!H", len(w)) + w)
                    continue
                if f == "stall":
                    c.settimeout(self.a.stall)
                    while c.recv(65535):
                        pass
                    return
                if f == "slow":
                    time.sleep(self.a.slow)
                c.sendall(struct.pack("!H", len(good)) + good)
        except (OSError, ssl.SSLError, struct.error):
            return
        finally:
            try:
                c.close()
            except OSError:
                pass

    def accept(self, lsock, kind):
        try:
            c, peer = lsock.accept()
        except OSError:
            return
        threading.Thread(target=self.conn, args=(c, kind, peer), daemon=True).start()

    def conn(self, c, kind, peer):
        if kind == "tlscut":
            c.settimeout(5)
            try:
                c.recv(65535)  # the ClientHello, then nothing more
            except OSError:
                pass
            log("cut tls handshake %s" % peer[0])
            c.close()
            return
        if kind == "tls":
            try:
                c.settimeout(5)
                c = self.ctx.wrap_socket(c, server_side=True)
            except (OSError, ssl.SSLError) as e:
                log("tls handshake failed %s: %s" % (peer[0], e))
                c.close()
                return
        self.stream(c, kind, peer)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bind", action="append", required=True)
    p.add_argument("--port", type=int, default=53)
    p.add_argument("--wrong-port", type=int, default=5353)
    p.add_argument("--tls-port", type=int, default=0)
    p.add_argument("--tls-cut-port", type=int, default=0)
    p.add_argument("--cert", default="")
    p.add_argument("--key", default="")
    p.add_argument("--slow", type=float, default=2.0)
    p.add_argument("--stall", type=float, default=8.0)
    p.add_argument("--a", default="192.0.2.77")
    p.add_argument("--aaaa", default="2001:db8:77::77")
    p.add_argument("--lifetime", type=float, default=300)
    a = p.parse_args()
    srv = Server(a)
    if a.tls_port:
        srv.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        srv.ctx.load_cert_chain(a.cert, a.key)
    udp, alt, lis = [], {}, {}
    for b in a.bind:
        fam = socket.AF_INET6 if ":" in b else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.bind((b, a.port))
        w = socket.socket(fam, socket.SOCK_DGRAM)
        w.bind((b, a.wrong_port))
        udp.append(s)
        alt[s] = w
        for port, kind in ((a.port, "tcp"), (a.tls_port, "tls"), (a.tls_cut_port, "tlscut")):
            if not port:
                continue
            t = socket.socket(fam, socket.SOCK_STREAM)
            t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            t.bind((b, port))
            t.listen(64)
            lis[t] = kind
    log("ready")
    end = time.monotonic() + a.lifetime
    while time.monotonic() < end:
        wait = 0.5
        if srv.held:
            wait = max(0.0, min(wait, min(h[0] for h in srv.held) - time.monotonic()))
        r, _, _ = select.select(udp + list(lis), [], [], wait)
        for s in r:
            if s in lis:
                srv.accept(s, lis[s])
                continue
            try:
                q, peer = s.recvfrom(65535)
            except OSError:
                continue
            srv.udp(s, alt[s], q, peer)
        srv.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
