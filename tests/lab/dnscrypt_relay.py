#!/usr/bin/env python3
"""dnscrypt_relay - an on-path attacker on DNSCrypt over UDP, for the lab.

Relays every datagram a client sends to --bind:PORT on to the DNSCrypt
server --to (from a socket per client) and the server's answers back.
Certificate answers (plain DNS) pass untouched. Encrypted answers (they
start with the resolver magic "r6fnvWj8") are attacked, by --mode:
    forge    first send the client a forgery: the real answer with one
             ciphertext byte flipped (right magic and nonce: only the MAC
             tells), then the real answer;
    tamper   send only the forgery (the real answer never arrives).
Prints "ready", then "forged N" after each forgery. Bounded: exits after
--lifetime seconds.
"""
import argparse, select, socket, sys, time

MAGIC = b"r6fnvWj8"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", action="append", required=True, help="ADDR (repeatable)")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--to4", required=True, help="IPv4 server ADDR:PORT")
    ap.add_argument("--to6", required=True, help="IPv6 server [ADDR]:PORT")
    ap.add_argument("--mode", choices=("forge", "tamper"), required=True)
    ap.add_argument("--lifetime", type=float, default=300)
    a = ap.parse_args()
    h4, p4 = a.to4.rsplit(":", 1)
    h6, p6 = a.to6.rsplit(":", 1)
    to = {socket.AF_INET: (h4, int(p4)), socket.AF_INET6: (h6.strip("[]"), int(p6))}
    listeners = []
    for b in a.bind:
        fam = socket.AF_INET6 if ":" in b else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.bind((b, a.port))
        listeners.append(s)
    ups = {}  # upstream socket -> (listener, client address)
    by_client = {}
    forged = 0
    print("ready", flush=True)
    end = time.time() + a.lifetime
    while time.time() < end:
        r, _, _ = select.select(listeners + list(ups), [], [], 0.5)
        for s in r:
            if s in listeners:
                data, peer = s.recvfrom(65536)
                key = (s.fileno(), peer)
                if key not in by_client:
                    if len(ups) >= 512:  # bounded: forget the oldest
                        old = next(iter(ups))
                        del by_client[(ups[old][0].fileno(), ups[old][1])]
                        del ups[old]
                        old.close()
                    u = socket.socket(s.family, socket.SOCK_DGRAM)
                    u.connect(to[s.family])
                    ups[u] = (s, peer)
                    by_client[key] = u
                by_client[key].send(data)
            else:
                lst, peer = ups[s]
                try:
                    data = s.recv(65536)
                except OSError:
                    continue
                if not data.startswith(MAGIC) or len(data) < 64:
                    lst.sendto(data, peer)
                    continue
                bad = bytearray(data)
                bad[-1] ^= 0x01
                lst.sendto(bytes(bad), peer)
                forged += 1
                print("forged %d" % forged, flush=True)
                if a.mode == "forge":
                    lst.sendto(data, peer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
