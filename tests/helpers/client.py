#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Test clients for the end-to-end tests (Python 3 stdlib only).

Each subcommand connects to HOST:443 the way an agent would (so the
UID-scoped redirect sends it to the proxy), checks one behaviour and
prints one JSON line with what it saw; exit status 0 means the check held.
Trust comes from SSL_CERT_FILE (the combined bundle) unless --cafile.
"""
import argparse
import hashlib
import http.client
import json
import os
import socket
import ssl
import sys
import threading
import time


def context(args, alpn=None, strict=False):
    ctx = ssl.create_default_context(cafile=args.cafile)
    if strict:
        ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


def conn(args, ctx=None, **kw):
    return http.client.HTTPSConnection(args.host, 443, timeout=args.timeout,
                                       context=ctx or context(args, **kw))


def out(obj, good):
    print(json.dumps(obj))
    sys.exit(0 if good else 1)


def cmd_get(args):
    c = conn(args, strict=args.strict)
    c.request(args.method, args.path, body=args.body.encode() if args.body else None)
    r = c.getresponse()
    body = r.read()
    cert = c.sock.getpeercert()
    issuer = dict(x[0] for x in cert["issuer"])
    out({"status": r.status, "len": len(body),
         "sha256": hashlib.sha256(body).hexdigest(),
         "x_body_sha256": r.getheader("X-Body-Sha256"),
         "issuer": issuer.get("commonName", ""),
         "body": body[:2000].decode("utf-8", "replace")}, r.status == args.expect)


def cmd_keepalive(args):
    """Several requests on one connection."""
    c = conn(args)
    ports = set()
    statuses = []
    for i in range(args.n):
        c.request("GET", "/echo?i=%d" % i)
        r = c.getresponse()
        r.read()
        statuses.append(r.status)
        ports.add(c.sock.getsockname()[1])
    out({"statuses": statuses, "client_ports": len(ports)},
        statuses == [200] * args.n and len(ports) == 1)


def cmd_sse(args):
    """Each event must arrive before the upstream sends the next one."""
    c = conn(args)
    c.request("GET", "/sse?n=%d&interval_ms=%d" % (args.n, args.interval))
    r = c.getresponse()
    delays = []
    buf = b""
    while True:
        chunk = r.read1(65536)
        if not chunk:
            break
        now = time.time()
        buf += chunk
        while b"\n\n" in buf:
            ev, buf = buf.split(b"\n\n", 1)
            for line in ev.split(b"\n"):
                if line.startswith(b"data:"):
                    sent = json.loads(line[5:])["t"]
                    delays.append((now - sent) * 1000.0)
    worst = max(delays) if delays else None
    out({"events": len(delays), "worst_delay_ms": worst,
         "delays_ms": [round(d, 1) for d in delays]},
        len(delays) == args.n and worst < args.interval * 0.75)


def cmd_concurrent(args):
    """n connections at once, each one request, one TLS context (as an
    agent has): what is measured is the proxy, not the CA file parsing."""
    results = []
    lock = threading.Lock()
    # From the bundle file alone: the default paths add a CA directory
    # that OpenSSL 3.0 searches lazily, and concurrent lookups through one
    # shared store race there (openssl#24480, #28171): now and then a
    # handshake fails with "unable to get local issuer certificate".
    if not args.cafile:
        args.cafile = os.environ.get("SSL_CERT_FILE")
    ctx = context(args)

    def one(i):
        try:
            c = conn(args, ctx)
            c.request("GET", "/echo?c=%d" % i)
            r = c.getresponse()
            r.read()
            st = r.status
        except Exception as e:  # noqa: BLE001 - any failure counts
            st = repr(e)
        with lock:
            results.append(st)

    start = time.monotonic()
    ts = [threading.Thread(target=one, args=(i,)) for i in range(args.n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    bad = [str(r) for r in results if r != 200]
    kinds = {}
    for b in bad:
        kinds[b] = kinds.get(b, 0) + 1
    out({"ok": len(results) - len(bad), "seconds": round(time.monotonic() - start, 2),
         "bad": sorted(kinds.items(), key=lambda kv: -kv[1])[:5]},
        len(results) == args.n and not bad)


def cmd_handshake(args):
    """TLS handshake only; reports the ALPN and the issuer."""
    raw = socket.create_connection((args.host, 443), timeout=args.timeout)
    ctx = context(args, alpn=args.alpn.split(",") if args.alpn else None,
                  strict=args.strict)
    try:
        s = ctx.wrap_socket(raw, server_hostname=args.host)
    except ssl.SSLError as e:
        out({"error": str(e)}, args.expect_fail)
    cert = s.getpeercert()
    issuer = dict(x[0] for x in cert["issuer"])
    out({"alpn": s.selected_alpn_protocol(),
         "issuer": issuer.get("commonName", "")}, not args.expect_fail)


def cmd_bighello(args):
    """A ClientHello past 2 KiB (many long ALPN ids) in small segments."""
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 256)
    raw.settimeout(args.timeout)
    raw.connect((socket.gethostbyname(args.host), 443))
    protos = ["x-padding-%02d-%s" % (i, "p" * 200) for i in range(12)]
    ctx = context(args, alpn=protos + ["http/1.1"])
    s = ctx.wrap_socket(raw, server_hostname=args.host)
    s.sendall(b"GET /echo HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
              % args.host.encode())
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
    cert = s.getpeercert()
    san = [v for k, v in cert.get("subjectAltName", ()) if k == "DNS"]
    out({"hello_alpn_bytes": sum(len(p) + 1 for p in protos),
         "san": san, "status_line": data.split(b"\r\n", 1)[0].decode()},
        args.host in san and data.startswith(b"HTTP/1.1 200"))


def cmd_silent(args):
    """Connects, says nothing, and measures when the proxy hangs up."""
    s = socket.create_connection((args.host, 443), timeout=args.timeout)
    t0 = time.time()
    try:
        d = s.recv(1)
    except (ConnectionResetError, socket.timeout) as e:
        d = repr(e).encode()
    took = time.time() - t0
    out({"closed_after_s": round(took, 2), "got": d.decode()},
        d == b"" and took < args.timeout - 0.5)


def cmd_hangup(args):
    """Reads a few SSE events of a long stream, then disconnects."""
    c = conn(args)
    c.request("GET", "/sse?n=1000&interval_ms=50")
    r = c.getresponse()
    got = r.read1(1024)
    c.sock.close()
    out({"first_bytes": len(got)}, len(got) > 0)


def cmd_raw(args):
    """Sends raw request bytes over TLS; reports the status and body."""
    raw = socket.create_connection((args.host, 443), timeout=args.timeout)
    s = context(args).wrap_socket(raw, server_hostname=args.host)
    req = args.data.encode().decode("unicode_escape").encode("latin-1")
    req += b"X-Pad: " + b"a" * args.pad + b"\r\n\r\n" if args.pad else b""
    s.sendall(req)
    data = b""
    while True:
        try:
            d = s.recv(65536)
        except (ConnectionResetError, ssl.SSLError):
            break
        if not d:
            break
        data += d
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/1.1 ") else 0
    out({"status": status, "body": body.decode("utf-8", "replace")},
        status == args.expect)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", required=True)
    p.add_argument("--cafile")
    p.add_argument("--timeout", type=float, default=20)
    p.add_argument("--strict", action="store_true")
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("get")
    g.add_argument("path")
    g.add_argument("--method", default="GET")
    g.add_argument("--body")
    g.add_argument("--expect", type=int, default=200)
    k = sub.add_parser("keepalive")
    k.add_argument("-n", type=int, default=5)
    e = sub.add_parser("sse")
    e.add_argument("-n", type=int, default=5)
    e.add_argument("--interval", type=int, default=200)
    c = sub.add_parser("concurrent")
    c.add_argument("-n", type=int, default=200)
    h = sub.add_parser("handshake")
    h.add_argument("--alpn")
    h.add_argument("--expect-fail", action="store_true")
    w = sub.add_parser("raw")
    w.add_argument("data")
    w.add_argument("--pad", type=int, default=0)
    w.add_argument("--expect", type=int, required=True)
    sub.add_parser("bighello")
    sub.add_parser("silent")
    sub.add_parser("hangup")
    args = p.parse_args()
    globals()["cmd_" + args.cmd](args)


if __name__ == "__main__":
    main()
