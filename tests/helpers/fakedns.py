#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""fakedns.py - a tiny authoritative DNS server for tests (stdlib only).

Answers A and AAAA queries over UDP and TCP from --record HOST=ADDR pairs
(an address with a ':' is an AAAA record; a host may have several records),
NOERROR with no answer for a known name without records of the asked type,
NXDOMAIN for unknown names. Each query is appended to --log as one line
"NAME TYPE PROTO" (lower-case name, no trailing dot; TYPE is A, AAAA or the
number) and flushed before the answer is sent, so a test that got its answer
can count the queries that led to it.

  fakedns.py --listen 127.0.0.1:0 --record api.test=10.0.0.1 \
      --record v6.test=::1 --ttl 30 --log queries.log

Prints "ready PORT" on stdout once both sockets are bound (with port 0 an
ephemeral port is picked, the same for UDP and TCP), then serves until
killed. --drop reads queries but never answers; --servfail answers every
query with SERVFAIL; --delay-ms N waits before each answer (per query, in its
own thread, so concurrent queries are not serialised).
"""

import argparse
import ipaddress
import socket
import socketserver
import struct
import sys
import threading
import time

QTYPE_A = 1
QTYPE_AAAA = 28
TYPE_NAMES = {QTYPE_A: "A", QTYPE_AAAA: "AAAA"}
RCODE_SERVFAIL = 2
RCODE_NXDOMAIN = 3


class Zone:
    def __init__(self, args):
        self.records = {}
        for spec in args.record:
            host, sep, addr = spec.partition("=")
            if not sep or not host:
                raise SystemExit("fakedns: bad --record %r" % spec)
            ip = ipaddress.ip_address(addr)
            qtype = QTYPE_AAAA if ip.version == 6 else QTYPE_A
            name = host.lower().rstrip(".")
            self.records.setdefault(name, []).append((qtype, ip.packed))
        self.ttl = args.ttl
        self.delay = args.delay_ms / 1000.0
        self.drop = args.drop
        self.servfail = args.servfail
        self.log_lock = threading.Lock()
        self.log = open(args.log, "a") if args.log else None

    def note(self, name, qtype, proto):
        if self.log is None:
            return
        with self.log_lock:
            self.log.write("%s %s %s\n" % (
                name, TYPE_NAMES.get(qtype, str(qtype)), proto))
            self.log.flush()


def parse_question(msg):
    """Returns (id, flags, name, qtype, end of question) or None."""
    if len(msg) < 12:
        return None
    qid, flags, qdcount = struct.unpack("!HHH", msg[:6])
    if qdcount != 1 or flags & 0x8000:
        return None
    labels, pos = [], 12
    while True:
        if pos >= len(msg):
            return None
        n = msg[pos]
        pos += 1
        if n == 0:
            break
        if n > 63 or pos + n > len(msg):
            return None
        labels.append(msg[pos:pos + n].decode("ascii", "replace"))
        pos += n
    if pos + 4 > len(msg):
        return None
    qtype, _qclass = struct.unpack("!HH", msg[pos:pos + 4])
    return qid, flags, ".".join(labels).lower(), qtype, pos + 4


def answer(zone, msg, proto):
    q = parse_question(msg)
    if q is None:
        return None
    qid, qflags, name, qtype, qend = q
    zone.note(name, qtype, proto)
    if zone.drop:
        return None
    if zone.delay:
        time.sleep(zone.delay)
    answers = []
    if zone.servfail:
        rcode = RCODE_SERVFAIL
    elif name not in zone.records:
        rcode = RCODE_NXDOMAIN
    else:
        rcode = 0
        answers = [rd for t, rd in zone.records[name] if t == qtype]
    # QR, opcode copied, AA, RD copied, RA.
    flags = 0x8000 | (qflags & 0x7800) | 0x0400 | (qflags & 0x0100) | 0x0080
    out = struct.pack("!HHHHHH", qid, flags | rcode, 1, len(answers), 0, 0)
    out += msg[12:qend]
    for rdata in answers:
        # Name is a pointer to the question name at offset 12.
        out += struct.pack("!HHHIH", 0xC00C, qtype, 1, zone.ttl, len(rdata))
        out += rdata
    return out


class UDPHandler(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        reply = answer(self.server.zone, data, "udp")
        if reply is not None:
            sock.sendto(reply, self.client_address)


class TCPHandler(socketserver.BaseRequestHandler):
    def handle(self):
        conn = self.request
        zone = self.server.zone
        try:
            while True:
                head = recv_exact(conn, 2)
                if head is None:
                    return
                (n,) = struct.unpack("!H", head)
                msg = recv_exact(conn, n)
                if msg is None:
                    return
                reply = answer(zone, msg, "tcp")
                if reply is not None:
                    conn.sendall(struct.pack("!H", len(reply)) + reply)
        except OSError:
            return


def recv_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def split_listen(spec):
    if spec.startswith("["):
        host, _, port = spec[1:].partition("]:")
    else:
        host, _, port = spec.rpartition(":")
    if not host or not port.isdigit():
        raise SystemExit("fakedns: bad --listen %r" % spec)
    return host, int(port)


def make_servers(host, port, zone):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET

    class UDP(socketserver.ThreadingMixIn, socketserver.UDPServer):
        address_family = family
        daemon_threads = True
        allow_reuse_address = True

    class TCP(socketserver.ThreadingMixIn, socketserver.TCPServer):
        address_family = family
        daemon_threads = True
        allow_reuse_address = True

    # With port 0 the TCP bind may collide with another socket on the port
    # the UDP one got; retry with a fresh pick.
    for _ in range(50):
        udp = UDP((host, port), UDPHandler)
        bound = udp.server_address[1]
        try:
            tcp = TCP((host, bound), TCPHandler)
        except OSError:
            udp.server_close()
            if port:
                raise
            continue
        udp.zone = tcp.zone = zone
        return udp, tcp, bound
    raise SystemExit("fakedns: no free port")


def main():
    p = argparse.ArgumentParser(description="fake DNS server for tests")
    p.add_argument("--listen", default="127.0.0.1:5353")
    p.add_argument("--record", action="append", default=[])
    p.add_argument("--ttl", type=int, default=60)
    p.add_argument("--delay-ms", type=int, default=0)
    p.add_argument("--drop", action="store_true")
    p.add_argument("--servfail", action="store_true")
    p.add_argument("--log")
    args = p.parse_args()
    zone = Zone(args)
    host, port = split_listen(args.listen)
    udp, tcp, bound = make_servers(host, port, zone)
    for srv in (udp, tcp):
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    print("ready %d" % bound, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
