#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Misbehaving clients for tests/e2e/timeouts.sh (Python 3 stdlib only).

Each subcommand connects to HOST:443 (the redirect sends it to the proxy),
misbehaves one way and prints one JSON line with what it saw and when.

  halfhello N HOLD   N connections each send the start of a ClientHello,
                     then a FIN (shutdown SHUT_WR), and stay HOLD s
  trickle-head IVL   a request head, one byte every IVL s, until the
                     proxy answers or closes (or --max s pass)
  trickle-body IVL LEN  a head with Content-Length LEN, then one body byte
                     every IVL s (the same)
  slowread PATH RCVBUF NBYTES IVL  GET PATH with a small receive buffer,
                     reading NBYTES every IVL s; reports when the stream
                     stopped
  stream PATH        GET PATH, reads to the end; reports bytes and status
"""
import argparse
import json
import socket
import ssl
import sys
import time

# The first bytes of a TLS 1.2 ClientHello record that claims 512 bytes.
HELLO_START = (b"\x16\x03\x01\x02\x00" + b"\x01\x00\x01\xfc\x03\x03" +
               bytes(32) + b"\x00")


def out(obj, good):
    print(json.dumps(obj), flush=True)
    sys.exit(0 if good else 1)


def tls_conn(args, rcvbuf=0):
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    raw.settimeout(args.timeout)
    raw.connect((args.host, 443))
    ctx = ssl.create_default_context(cafile=args.cafile)
    return ctx.wrap_socket(raw, server_hostname=args.host)


def read_answer(s, t0):
    """What the proxy answered before it closed, and when it closed."""
    data = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    except (OSError, ssl.SSLError) as e:
        return data, time.monotonic() - t0, type(e).__name__
    return data, time.monotonic() - t0, "eof"


def cmd_halfhello(args):
    socks = []
    for _ in range(args.n):
        s = socket.create_connection((args.host, 443), timeout=args.timeout)
        s.sendall(HELLO_START)
        s.shutdown(socket.SHUT_WR)
        socks.append(s)
    time.sleep(args.hold)
    closed = 0
    for s in socks:
        s.setblocking(False)
        try:
            closed += s.recv(1) == b""
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
        s.close()
    out({"n": args.n, "closed_by_proxy": closed}, True)


def trickle(args, pieces):
    """Sends pieces one every args.ivl s, until an answer or a close, or
    for args.max s."""
    s = tls_conn(args)
    t0 = time.monotonic()
    s.settimeout(args.ivl)
    sent = 0
    data = b""
    how = "gave up"
    for b in pieces:
        if time.monotonic() - t0 > args.max:
            break
        try:
            s.sendall(b)
            sent += 1
        except (OSError, ssl.SSLError) as e:
            how = type(e).__name__
            break
        try:
            d = s.recv(65536)
            if not d:
                how = "eof"
                break
            data += d
            s.settimeout(args.timeout)
            more, _, how = read_answer(s, t0)
            data += more
            break
        except socket.timeout:
            pass
        except (OSError, ssl.SSLError) as e:
            how = type(e).__name__
            break
    status = 0
    if data.startswith(b"HTTP/1.1 "):
        status = int(data[9:12])
    body = data.partition(b"\r\n\r\n")[2].decode("utf-8", "replace").strip()
    out({"status": status, "body": body, "sent": sent, "how": how,
         "cut_after_s": round(time.monotonic() - t0, 2)}, True)


def cmd_trickle_head(args):
    head = (b"POST /echo HTTP/1.1\r\nHost: %s\r\n" % args.host.encode() +
            b"X-Pad: " + b"p" * 400 + b"\r\n\r\n")
    trickle(args, [head[i:i + 1] for i in range(len(head))])


def cmd_trickle_body(args):
    head = (b"POST /echo HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n"
            % (args.host.encode(), args.len))
    trickle(args, [head] + [b"x"] * args.len)


def cmd_slowread(args):
    s = tls_conn(args, rcvbuf=args.rcvbuf)
    s.sendall(b"GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" %
              (args.path.encode(), args.host.encode()))
    t0 = time.monotonic()
    got = 0
    last = t0
    how = "eof"
    s.settimeout(args.timeout)
    while True:
        try:
            d = s.recv(args.nbytes)
        except (OSError, ssl.SSLError) as e:
            how = type(e).__name__
            break
        if not d:
            break
        got += len(d)
        last = time.monotonic()
        if last - t0 > args.max:
            how = "stopped reading"
            break
        time.sleep(args.ivl)
    out({"bytes": got, "how": how,
         "last_byte_s": round(last - t0, 2),
         "ended_s": round(time.monotonic() - t0, 2)}, True)


def cmd_stream(args):
    s = tls_conn(args)
    s.sendall(b"GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" %
              (args.path.encode(), args.host.encode()))
    t0 = time.monotonic()
    data, t, how = read_answer(s, t0)
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head[9:12]) if head.startswith(b"HTTP/1.1 ") else 0
    out({"status": status, "body_bytes": len(body),
         "events": body.count(b"data: "),
         "complete": body.endswith(b"0\r\n\r\n"), "how": how,
         "ended_s": round(t, 2)}, True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="api.example.test")
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--cafile")
    ap.add_argument("--max", type=float, default=60,
                    help="slowread, trickle: stop after this many s")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("halfhello")
    p.add_argument("n", type=int)
    p.add_argument("hold", type=float)
    p = sub.add_parser("trickle-head")
    p.add_argument("ivl", type=float)
    p = sub.add_parser("trickle-body")
    p.add_argument("ivl", type=float)
    p.add_argument("len", type=int)
    p = sub.add_parser("slowread")
    p.add_argument("path")
    p.add_argument("rcvbuf", type=int)
    p.add_argument("nbytes", type=int)
    p.add_argument("ivl", type=float)
    p = sub.add_parser("stream")
    p.add_argument("path")
    args = ap.parse_args()
    {"halfhello": cmd_halfhello, "trickle-head": cmd_trickle_head,
     "trickle-body": cmd_trickle_body, "slowread": cmd_slowread,
     "stream": cmd_stream}[args.cmd](args)


if __name__ == "__main__":
    main()
