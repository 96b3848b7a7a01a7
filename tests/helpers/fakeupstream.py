#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# fakeupstream.py - the fake TLS upstream server of the end-to-end tests.
#
# Python 3 stdlib only. HTTP/1.1 with keep-alive over TLS (or plain, when
# the first byte is not a TLS record), one thread per connection. With --listen ADDR:0 it prints "ready PORT" on stdout once it
# accepts. --log FILE gets one JSON line per request (method, path,
# headers in order, body length and sha256, connection id) so tests can
# check what was forwarded and count TCP connections.
#
# Endpoints:
#   /echo                      JSON: method, path, headers, body_len, body_sha256
#   /bytes?n=N&mode=length|chunked|close&gzip=1&seed=S
#                              deterministic bytes; X-Body-Sha256 covers the
#                              exact bytes sent (compressed ones with gzip=1)
#   /sse?n=N&interval_ms=M     text/event-stream, one event per interval,
#                              each carrying its send time
#   /silent?ms=M               nothing for M ms, then a response
#   /silent-mid?ms=M           head + first chunk, M ms of silence, then the end
#   /head-first?ms=M           the head at once, the body M ms later
#   /reset-mid                 head + part of a chunked body, then a TCP RST
#   /fixture/NAME?ct=...&gzip=1&chunk=B&delay_ms=M
#                              a --fixtures file, chunked in pieces of B
#                              bytes (512), M ms apart (2)
#   /status/CODE               that status with a short body
#   any other path with Upgrade: websocket
#                              a Responses WebSocket session (fakews.py)
import argparse
import gzip
import hashlib
import http.server
import itertools
import json
import os
import random
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakews  # noqa: E402

CHUNK = 64 * 1024


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024	# 200 clients connect at once

    def __init__(self, addr, ctx, fixtures, log):
        self.ctx = ctx
        self.fixtures = fixtures
        self.log = log
        self.log_lock = threading.Lock()
        self.conn_ids = itertools.count(1)
        super().__init__(addr, Handler)

    def finish_request(self, request, client_address):
        # In the connection's thread: a first byte that is not a TLS
        # handshake record means plain HTTP (what the proxy tunnels raw);
        # else TLS, whose handshake runs in setup().
        request.settimeout(60)
        try:
            first = request.recv(1, socket.MSG_PEEK)
        except OSError:
            return
        if first and first != b"\x16":
            self.RequestHandlerClass(request, client_address, self)
            return
        tls = self.ctx.wrap_socket(request, server_side=True,
                                   do_handshake_on_connect=False)
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            self.shutdown_request(tls)

    def handle_error(self, request, client_address):
        pass  # clients that reject the cert or vanish are expected

    def write_log(self, rec):
        if not self.log:
            return
        with self.log_lock:
            self.log.write(json.dumps(rec) + "\n")
            self.log.flush()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakeupstream"

    def setup(self):
        self.request.settimeout(60)
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()
        self.conn_id = next(self.server.conn_ids)
        super().setup()

    def log_message(self, fmt, *args):
        pass

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        n = int(self.headers.get("Content-Length", "0") or 0)
        return self.rfile.read(n) if n else b""

    def handle_any(self):
        body = self.read_body()
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        self.req_info = {
            "conn": self.conn_id, "method": self.command, "path": self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body_len": len(body),
            "body_sha256": hashlib.sha256(body).hexdigest(),
        }
        self.server.write_log(self.req_info)
        route = url.path
        upgrade = "websocket" in self.headers.get("Upgrade", "").lower()
        try:
            if upgrade and not route.startswith("/status/"):
                rec = fakews.serve(self, q)
                rec["conn"] = self.conn_id
                rec["path"] = self.path
                self.server.write_log(rec)
            elif "fixture" in q:
                # Any path: serve the named fixture as that API would.
                name = q["fixture"]
                q.setdefault("ct", "text/event-stream" if name.endswith(".sse")
                             else "application/json")
                self.do_fixture(name, q)
            elif route == "/echo":
                self.do_echo()
            elif route == "/bytes":
                self.do_bytes(q)
            elif route == "/sse":
                self.do_sse(q)
            elif route == "/silent":
                time.sleep(int(q.get("ms", "1000")) / 1000)
                self.send_simple(200, b"ok\n")
            elif route == "/silent-mid":
                self.do_silent_mid(q)
            elif route == "/head-first":
                self.do_head_first(q)
            elif route == "/reset-mid":
                self.do_reset_mid()
            elif route.startswith("/fixture/"):
                self.do_fixture(route[len("/fixture/"):], q)
            elif route.startswith("/status/"):
                code = int(route[len("/status/"):])
                self.send_simple(code, b"status %d\n" % code)
            else:
                self.send_simple(404, b"not found\n")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError,
                socket.timeout):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = \
        do_HEAD = handle_any

    # -- helpers -------------------------------------------------------

    def head(self, code, headers):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()

    def send_simple(self, code, body, ctype="text/plain"):
        hdrs = [("Content-Type", ctype)]
        if code not in (204, 304) and not 100 <= code < 200:
            hdrs.append(("Content-Length", str(len(body))))
        else:
            body = b""
        self.head(code, hdrs)
        if self.command != "HEAD":
            self.wfile.write(body)

    def chunk(self, data):
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def end_chunks(self):
        self.wfile.write(b"0\r\n\r\n")

    # -- endpoints -----------------------------------------------------

    def do_echo(self):
        info = dict(self.req_info)
        del info["conn"]
        self.send_simple(200, json.dumps(info).encode(), "application/json")

    def do_bytes(self, q):
        n = int(q.get("n", "1024"))
        mode = q.get("mode", "length")
        data = random.Random(q.get("seed", "0")).randbytes(n)
        hdrs = [("Content-Type", "application/octet-stream")]
        if q.get("gzip") == "1":
            data = gzip.compress(data, mtime=0)
            hdrs.append(("Content-Encoding", "gzip"))
        hdrs.append(("X-Body-Sha256", hashlib.sha256(data).hexdigest()))
        if mode == "chunked":
            hdrs.append(("Transfer-Encoding", "chunked"))
        elif mode == "close":
            hdrs.append(("Connection", "close"))
            self.close_connection = True
        else:
            hdrs.append(("Content-Length", str(len(data))))
        self.head(200, hdrs)
        if self.command == "HEAD":
            return
        for off in range(0, len(data), CHUNK):
            piece = data[off:off + CHUNK]
            if mode == "chunked":
                self.chunk(piece)
            else:
                self.wfile.write(piece)
        if mode == "chunked":
            self.end_chunks()
        elif mode == "close":
            # The end of the body is the end of the TLS stream: say so with
            # close_notify, or the client rightly reports a truncation.
            self.request.settimeout(2)
            try:
                self.request.unwrap()
            except (OSError, ssl.SSLError):
                pass

    def do_sse(self, q):
        n = int(q.get("n", "5"))
        interval = int(q.get("interval_ms", "100")) / 1000
        self.head(200, [("Content-Type", "text/event-stream"),
                        ("Cache-Control", "no-cache"),
                        ("Transfer-Encoding", "chunked")])
        for k in range(n):
            ev = {"k": k, "t": time.time()}
            self.chunk(b"id: %d\ndata: %s\n\n" % (k, json.dumps(ev).encode()))
            if k + 1 < n:
                time.sleep(interval)
        self.end_chunks()

    def do_silent_mid(self, q):
        self.head(200, [("Content-Type", "text/plain"),
                        ("Transfer-Encoding", "chunked")])
        self.chunk(b"first chunk\n")
        time.sleep(int(q.get("ms", "1000")) / 1000)
        self.chunk(b"late chunk\n")
        self.end_chunks()

    def do_head_first(self, q):
        """The head at once, the body ms later."""
        self.head(200, [("Content-Type", "text/plain"),
                        ("Transfer-Encoding", "chunked")])
        time.sleep(int(q.get("ms", "1000")) / 1000)
        self.chunk(b"late body\n")
        self.end_chunks()

    def do_reset_mid(self):
        self.head(200, [("Content-Type", "text/plain"),
                        ("Transfer-Encoding", "chunked")])
        self.chunk(b"x" * 4096)
        time.sleep(0.1)
        # SO_LINGER 0: close() sends RST, no TLS close_notify, no last chunk.
        self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                struct.pack("ii", 1, 0))
        self.close_connection = True
        # rfile/wfile hold references that would defer close(): detach the
        # descriptor and close it ourselves so the RST goes out now.
        os.close(self.request.detach())
        self.wfile = open(os.devnull, "wb")

    def do_fixture(self, name, q):
        base = os.path.realpath(self.server.fixtures or ".")
        path = os.path.realpath(os.path.join(base, name))
        if not path.startswith(base + os.sep) or not os.path.isfile(path):
            self.send_simple(404, b"no such fixture\n")
            return
        with open(path, "rb") as f:
            data = f.read()
        hdrs = [("Content-Type", q.get("ct", "application/octet-stream"))]
        if q.get("gzip") == "1":
            data = gzip.compress(data, mtime=0)
            hdrs.append(("Content-Encoding", "gzip"))
        hdrs.append(("X-Body-Sha256", hashlib.sha256(data).hexdigest()))
        hdrs.append(("Transfer-Encoding", "chunked"))
        self.head(200, hdrs)
        if self.command == "HEAD":
            return
        step = int(q.get("chunk", "512"))
        delay = int(q.get("delay_ms", "2")) / 1000
        for off in range(0, len(data), step):
            self.chunk(data[off:off + step])
            time.sleep(delay)
        self.end_chunks()


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--fixtures")
    ap.add_argument("--log")
    args = ap.parse_args()

    host, _, port = args.listen.rpartition(":")
    host = host.strip("[]")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    ctx.set_alpn_protocols(["http/1.1"])
    log = open(args.log, "a") if args.log else None
    if ":" in host:
        Server.address_family = socket.AF_INET6
    srv = Server((host, int(port)), ctx, args.fixtures, log)
    print("ready %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
