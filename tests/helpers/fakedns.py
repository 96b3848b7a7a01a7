#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A fake DNS server over UDP for the tests (Python 3 stdlib only).

  fakedns.py --listen ADDR:PORT --record NAME=ADDR ... [--ttl N]
             [--drop] [--log FILE]

Answers A and AAAA queries from the --record list (an IPv6 address makes
an AAAA record), NXDOMAIN for unknown names, and nothing at all with
--drop. Prints "ready PORT" once bound; logs one line per query.
"""
import argparse
import ipaddress
import socket
import struct
import sys


def parse_name(msg, off):
    labels = []
    while True:
        n = msg[off]
        off += 1
        if n == 0:
            return ".".join(labels).lower(), off
        labels.append(msg[off:off + n].decode("ascii", "replace"))
        off += n


def answer(msg, records, ttl):
    ident, flags, qd = struct.unpack("!HHH", msg[:6])
    name, off = parse_name(msg, 12)
    qtype, qclass = struct.unpack("!HH", msg[off:off + 4])
    question = msg[12:off + 4]
    addrs = [a for a in records.get(name, [])
             if (qtype == 1 and a.version == 4) or (qtype == 28 and a.version == 6)]
    rcode = 0 if name in records else 3
    head = struct.pack("!HHHHHH", ident, 0x8180 | rcode, 1, len(addrs), 0, 0)
    ans = b"".join(struct.pack("!HHHIH", 0xC00C, qtype, 1, ttl, len(a.packed))
                   + a.packed for a in addrs)
    return head + question + ans, name, qtype


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", default="127.0.0.1:0")
    p.add_argument("--record", action="append", default=[])
    p.add_argument("--ttl", type=int, default=60)
    p.add_argument("--drop", action="store_true")
    p.add_argument("--log")
    a = p.parse_args()
    records = {}
    for r in a.record:
        name, addr = r.split("=", 1)
        records.setdefault(name.lower().rstrip("."), []).append(
            ipaddress.ip_address(addr))
    host, port = a.listen.rsplit(":", 1)
    host = host.strip("[]")
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((host, int(port)))
    log = open(a.log, "a", buffering=1) if a.log else None
    print("ready %d" % s.getsockname()[1], flush=True)
    while True:
        msg, peer = s.recvfrom(4096)
        try:
            reply, name, qtype = answer(msg, records, a.ttl)
        except (IndexError, struct.error):
            continue
        if log:
            log.write("%s %s\n" % (name, {1: "A", 28: "AAAA"}.get(qtype, qtype)))
        if not a.drop:
            s.sendto(reply, peer)


if __name__ == "__main__":
    sys.exit(main())
