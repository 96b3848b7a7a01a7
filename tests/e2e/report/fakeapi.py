#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""fakeapi.py - what `antigravity-proxy usage` may meet at a wrong
address, for tests/e2e/report.sh: a web server that is not our API
(html), a JSON API that is not ours either (json), a daemon from before API version 2 (old: by=day answered
without api_version, by=week refused with the 400 that version sent),
or a socket that accepts and never answers (silent).

Usage: fakeapi.py MODE PORT   (prints "ready" once listening)
"""
import http.server
import json
import socket
import sys
import time
import urllib.parse

OLD_DOC = {"by": ["day"], "groups": [{
    "day": "2026-11-29", "requests": 1, "input_tokens": 10,
    "output_tokens": 5, "thinking_tokens": 0, "cached_tokens": 0,
    "cache_creation_tokens": 0, "total_tokens": 15, "cost_usd": 0.01,
    "unpriced_requests": 0}], "totals": {
    "requests": 1, "input_tokens": 10, "output_tokens": 5,
    "thinking_tokens": 0, "cached_tokens": 0, "cache_creation_tokens": 0,
    "total_tokens": 15, "cost_usd": 0.01, "unpriced_requests": 0},
    "prices": {"version": "2026-12-02"}}


class Handler(http.server.BaseHTTPRequestHandler):
    def send(self, status, ctype, body):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if MODE == "html":
            self.send(200, "text/html",
                      b"<!doctype html><title>Router</title><h1>Hi</h1>\n")
            return
        if MODE == "json":
            self.send(200, "application/json", b'{"status": "ok"}\n')
            return
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        by = q.get("by", [""])[0].split(",")
        if any(b not in ("model", "agent", "key", "host", "day")
               for b in by):
            self.send(400, "application/json", json.dumps({
                "error": "by: expected a comma-separated list of model, "
                         "agent, key, host, day", "status": 400}).encode())
            return
        self.send(200, "application/json", json.dumps(OLD_DOC).encode())

    def log_message(self, *args):
        pass


MODE, PORT = sys.argv[1], int(sys.argv[2])
if MODE == "silent":
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", PORT))
    s.listen(16)
    print("ready", flush=True)
    held = []
    while True:
        held.append(s.accept()[0])   # kept open, never answered
else:
    srv = http.server.HTTPServer(("127.0.0.1", PORT), Handler)
    print("ready", flush=True)
    srv.serve_forever()
