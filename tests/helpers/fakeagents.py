#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""fakeagents.py - the fake provider APIs that the REAL agent CLIs (Claude
Code, Gemini CLI, Codex, Qwen Code) talk to in one-shot mode in the agent
tests, under the real host names.

Python 3 stdlib only. TLS, HTTP/1.1 with keep-alive, one thread per
connection (modelled on fakeupstream.py). Prints "ready" on stdout once it
listens.

  fakeagents.py --listen 127.0.0.2:443 --cert server.pem --key server.key \
      --log api.jsonl [--dump DIR] [--websocket 426|404|accept]
  fakeagents.py --totals api.jsonl      # expected /v1/usage models table

What it answers (the host header picks the provider where a path is
shared; everything else gets the provider's own 404 JSON):
  api.anthropic.com
    POST /v1/messages               SSE (stream: true) or JSON; usage in
                                    message_start and message_delta
    POST /v1/messages/count_tokens  {"input_tokens": N}
    GET  /v1/models[/ID]            model list / one model
  generativelanguage.googleapis.com (any /v1, /v1beta, /v1alpha prefix)
    POST models/M:streamGenerateContent?alt=sse   SSE, usageMetadata
    POST models/M:streamGenerateContent           JSON array stream
    POST models/M:generateContent                 JSON; a request with a
                                    responseSchema / responseJsonSchema
                                    (the CLI's routing and next-speaker
                                    checks) gets JSON text filling it
    POST models/M:countTokens, GET models[/M], POST models/M:embedContent
  api.openai.com
    POST /v1/responses              SSE (stream: true) or JSON (Codex)
    GET  /v1/responses + Upgrade: websocket   --websocket: 426 (default:
                                    Upgrade Required, the answer that makes
                                    Codex fall back to HTTP at once), 404,
                                    or accept (the Responses WebSocket
                                    protocol: response.create frames in,
                                    the same events as SSE out, as text
                                    frames; a generate:false prewarm gets
                                    an empty completed response, no usage)
    POST /v1/chat/completions       SSE with a final usage chunk
                                    (stream_options.include_usage) or JSON
                                    (Qwen Code with OPENAI_BASE_URL)
    GET  /v1/models[/ID]
  chatgpt.com and any other host: 404 JSON.

The agent turn: when a request offers the CLI's file-writing tool (Claude
`Write`, Gemini/Qwen `write_file`; Codex 0.17x: its code-mode `exec` tool,
sent in an "additional_tools" input item, running
tools.apply_patch(...); older Codex: `apply_patch` or its shell tool)
and carries no tool result yet, the answer is a call of that tool creating
agp-proof.txt in the agent's working directory (read from the request's
system prompt / environment context; a bare relative name otherwise). The
follow-up request, carrying the tool's result, gets a final text answer.
Requests without the tool (titles, summaries, classifiers) get text.

Usage: every answer that carries usage uses numbers of its own: each
provider has its own base values and a per-provider sequence number moves
every field, so no two answers (and no two CLIs or models) send the same
counts; every field the provider has is non-zero (Anthropic cache reads,
cache creation and thinking; Gemini cached and thoughts; OpenAI cached
and reasoning). Each request is one JSON line in --log:
  {"time", "conn", "method", "path", "host", "user_agent", "provider",
   "endpoint", "model", "stream", "status", "reply", "tools",
   "usage":  the provider's usage object exactly as sent (the final,
             cumulative one; Anthropic also "usage_start"), or null,
   "norm":   the same in the /v1/usage field names (input_tokens includes
             cached and cache-creation tokens; output_tokens excludes
             thinking), as tests/fixtures/README.txt maps them, or null}
`--totals LOG` sums "norm" per model into what /v1/usage must show.
"""
import argparse
import base64
import gzip
import hashlib
import http.server
import itertools
import json
import os
import re
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import traceback
import urllib.parse
import zlib

PROOF = "agp-proof.txt"
NORM_FIELDS = ("input_tokens", "output_tokens", "thinking_tokens",
               "cached_tokens", "cache_creation_tokens", "total_tokens")
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, ctx, log, dump, websocket):
        self.ctx = ctx
        self.log = log
        self.dump = dump
        self.websocket = websocket
        self.lock = threading.Lock()
        self.conn_ids = itertools.count(1)
        self.req_ids = itertools.count(1)
        self.seqs = {}
        super().__init__(addr, Handler)

    def server_bind(self):
        # HTTPServer's would look up the address's name (getfqdn), a DNS
        # query to the host's resolver: from inside a network namespace
        # with only lo, an attempt to leave it.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def get_request(self):
        sock, addr = self.socket.accept()
        # The handshake runs in the connection's thread (see setup()).
        return (self.ctx.wrap_socket(sock, server_side=True,
                                     do_handshake_on_connect=False), addr)

    def handle_error(self, request, client_address):
        # Clients that reject the cert or vanish are expected; a bug in
        # here is not.
        exc = sys.exc_info()[1]
        if not isinstance(exc, (OSError, ssl.SSLError)):
            traceback.print_exc(file=sys.stderr)

    def seq(self, provider):
        """The next sequence number of a provider's metered answers."""
        with self.lock:
            n = self.seqs.get(provider, 0) + 1
            self.seqs[provider] = n
            return n

    def write_log(self, rec):
        if not self.log:
            return
        with self.lock:
            self.log.write(json.dumps(rec) + "\n")
            self.log.flush()


# -- usage per provider ----------------------------------------------------

def model_salt(model):
    return zlib.crc32((model or "").encode()) % 47


def anthropic_usage(n, model):
    s = model_salt(model)
    inp, cw, cr = 31 + 2 * n + s, 1210 + 10 * n + s, 4096 + 100 * n + s
    think, out = 40 + 2 * n, 85 + 3 * n + s
    start = {"input_tokens": inp, "cache_creation_input_tokens": cw,
             "cache_read_input_tokens": cr,
             "cache_creation": {"ephemeral_5m_input_tokens": cw,
                                "ephemeral_1h_input_tokens": 0},
             "output_tokens": 1, "service_tier": "standard"}
    final = {"input_tokens": inp, "cache_creation_input_tokens": cw,
             "cache_read_input_tokens": cr, "output_tokens": out + think,
             "output_tokens_details": {"thinking_tokens": think}}
    norm = {"input_tokens": inp + cw + cr, "output_tokens": out,
            "thinking_tokens": think, "cached_tokens": cr,
            "cache_creation_tokens": cw,
            "total_tokens": inp + cw + cr + out + think}
    return start, final, norm


def gemini_usage(n, model):
    s = model_salt(model)
    prompt, cached = 2113 + 13 * n + s, 512 + 8 * n
    cand, thoughts = 61 + 5 * n + s, 150 + 7 * n
    usage = {"promptTokenCount": prompt, "candidatesTokenCount": cand,
             "totalTokenCount": prompt + cand + thoughts,
             "cachedContentTokenCount": cached,
             "promptTokensDetails": [{"modality": "TEXT",
                                      "tokenCount": prompt}],
             "cacheTokensDetails": [{"modality": "TEXT",
                                     "tokenCount": cached}],
             "thoughtsTokenCount": thoughts}
    norm = {"input_tokens": prompt, "output_tokens": cand,
            "thinking_tokens": thoughts, "cached_tokens": cached,
            "cache_creation_tokens": 0,
            "total_tokens": prompt + cand + thoughts}
    return usage, norm


def responses_usage(n, model):
    s = model_salt(model)
    inp, cached = 3307 + 17 * n + s, 2048 + 16 * n
    out, reasoning = 45 + 4 * n + s, 203 + 11 * n
    usage = {"input_tokens": inp,
             "input_tokens_details": {"cached_tokens": cached},
             "output_tokens": out + reasoning,
             "output_tokens_details": {"reasoning_tokens": reasoning},
             "total_tokens": inp + out + reasoning}
    norm = {"input_tokens": inp, "output_tokens": out,
            "thinking_tokens": reasoning, "cached_tokens": cached,
            "cache_creation_tokens": 0, "total_tokens": inp + out + reasoning}
    return usage, norm


def chat_usage(n, model):
    s = model_salt(model)
    prompt, cached = 5101 + 19 * n + s, 640 + 9 * n
    comp, reasoning = 33 + 2 * n + s, 12 + n
    usage = {"prompt_tokens": prompt, "completion_tokens": comp + reasoning,
             "total_tokens": prompt + comp + reasoning,
             "prompt_tokens_details": {"cached_tokens": cached},
             "completion_tokens_details": {"reasoning_tokens": reasoning}}
    norm = {"input_tokens": prompt, "output_tokens": comp,
            "thinking_tokens": reasoning, "cached_tokens": cached,
            "cache_creation_tokens": 0,
            "total_tokens": prompt + comp + reasoning}
    return usage, norm


# -- reading requests ------------------------------------------------------

def strings_of(obj, out):
    if isinstance(obj, str):
        out.append(obj)
    elif isinstance(obj, dict):
        for v in obj.values():
            strings_of(v, out)
    elif isinstance(obj, list):
        for v in obj:
            strings_of(v, out)
    return out


CWD_PATTERNS = [
    re.compile(r"<cwd>\s*(/[^<\n]*?)\s*</cwd>"),                     # Codex
    re.compile(r"Working directory:\s*(/[^\n]*)"),                  # Claude
    re.compile(r"working in the directory:?\s*`?(/[^\n`]*)", re.I),  # Gemini
    re.compile(r"(?:current )?working directory(?: is)?:?\s*`?(/[^\s`'\"]*)",
               re.I),
]


def find_cwd(req):
    text = "\n".join(strings_of(req, []))
    for pat in CWD_PATTERNS:
        m = pat.search(text)
        if m:
            path = m.group(1).strip().rstrip(".")
            if path.startswith("/") and len(path) > 1:
                return path.rstrip("/")
    return None


def proof_path(req):
    cwd = find_cwd(req)
    return os.path.join(cwd, PROOF) if cwd else PROOF


def proof_text(cli):
    return "agp proof: written by %s through the fake API\n" % cli


def fill_schema(schema):
    """A value that satisfies a (Gemini/OpenAPI or JSON) schema."""
    if not isinstance(schema, dict):
        return None
    if schema.get("enum"):
        return schema["enum"][0]
    t = schema.get("type", "object")
    if isinstance(t, list):
        t = t[0]
    t = str(t).lower()
    if t == "object" or "properties" in schema:
        return {k: fill_schema(v) if not k.endswith("next_speaker")
                else "user"
                for k, v in (schema.get("properties") or {}).items()}
    if t == "array":
        return []
    if t in ("integer", "number"):
        return max(1, schema.get("minimum", 1))
    if t == "boolean":
        return False
    return "done"


def sse(events):
    """SSE bytes per event from (event-name or None, object or str)."""
    for name, obj in events:
        data = obj if isinstance(obj, str) else json.dumps(obj)
        yield (("event: %s\n" % name) if name else "").encode() + \
            ("data: %s\n\n" % data).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakeagents"

    def setup(self):
        self.request.settimeout(120)
        try:
            self.request.do_handshake()
        except (ssl.SSLError, OSError):
            self.request.close()
            raise
        self.conn_id = next(self.server.conn_ids)
        super().setup()

    def log_message(self, fmt, *args):
        pass

    def version_string(self):
        return self.server_version

    # -- plumbing ------------------------------------------------------------

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            raw = b"".join(parts)
        else:
            n = int(self.headers.get("Content-Length", "0") or 0)
            raw = self.rfile.read(n) if n else b""
        enc = self.headers.get("Content-Encoding", "").lower()
        try:
            if enc == "gzip":
                raw = gzip.decompress(raw)
            elif enc == "deflate":
                raw = zlib.decompress(raw)
        except (OSError, zlib.error):
            pass
        return raw

    def head(self, code, headers):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()

    def send_json(self, code, obj, extra=()):
        data = json.dumps(obj).encode()
        self.head(code, [("Content-Type", "application/json"),
                         ("Content-Length", str(len(data)))] + list(extra))
        if self.command != "HEAD":
            self.wfile.write(data)
        self.status = code

    def send_stream(self, ctype, pieces):
        """A chunked body, one chunk per piece, flushed as it goes."""
        self.head(200, [("Content-Type", ctype),
                        ("Cache-Control", "no-cache"),
                        ("Transfer-Encoding", "chunked")])
        for p in pieces:
            if p:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(p), p))
                self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.status = 200

    def note(self, **kw):
        rec = {"time": round(time.time(), 3), "id": self.req_id,
               "conn": self.conn_id, "method": self.command,
               "path": self.path, "host": self.host,
               "user_agent": self.headers.get("User-Agent", ""),
               "provider": None, "endpoint": None, "model": None,
               "stream": None, "status": getattr(self, "status", None),
               "reply": None, "tools": None, "usage": None, "norm": None}
        rec.update(kw)
        self.server.write_log(rec)

    def handle_any(self):
        self.req_id = next(self.server.req_ids)
        self.status = None
        self.host = (self.headers.get("Host") or "").split(":")[0].lower()
        raw = self.read_body()
        if self.server.dump:
            name = "%04d-%s-%s" % (self.req_id, self.host, re.sub(
                r"[^A-Za-z0-9.=-]+", "_", self.path)[:80])
            with open(os.path.join(self.server.dump, name), "wb") as f:
                f.write(("%s %s\n" % (self.command, self.path)).encode())
                for k, v in self.headers.items():
                    f.write(("%s: %s\n" % (k, v)).encode())
                f.write(b"\n" + raw)
        try:
            req = json.loads(raw) if raw.strip() else None
        except ValueError:
            req = None
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        try:
            self.route(url.path, q, req)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError,
                socket.timeout):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = \
        do_HEAD = handle_any

    def route(self, path, q, req):
        host = self.host
        if host.endswith("googleapis.com"):
            return self.google(path, q, req)
        if "anthropic" in host:
            return self.anthropic_routes(path, req)
        if host == "api.openai.com" or host.endswith(".openai.com"):
            return self.openai_routes(path, req)
        return self.not_found("other")

    def not_found(self, provider):
        if provider == "anthropic":
            self.send_json(404, {"type": "error", "error": {
                "type": "not_found_error", "message": "Not Found"},
                "request_id": "req_fake%06d" % self.req_id})
        elif provider == "google":
            self.send_json(404, {"error": {
                "code": 404, "message": "Requested entity was not found.",
                "status": "NOT_FOUND"}})
        elif provider == "openai":
            self.send_json(404, {"error": {
                "message": "Invalid URL (%s %s)" % (
                    self.command, urllib.parse.urlsplit(self.path).path),
                "type": "invalid_request_error", "param": None,
                "code": None}})
        else:
            self.send_json(404, {"detail": "Not Found"})
        self.note(provider=provider, endpoint="not_found")

    # -- Anthropic -----------------------------------------------------------

    ANTHROPIC_MODELS = ["claude-opus-4-6", "claude-sonnet-4-5-20250929",
                        "claude-haiku-4-5-20251001"]

    def anthropic_routes(self, path, req):
        if path == "/v1/messages" and self.command == "POST":
            return self.anthropic_messages(req or {})
        if path == "/v1/messages/count_tokens" and self.command == "POST":
            n = 120 + len(json.dumps(req or {})) // 4
            self.send_json(200, {"input_tokens": n})
            return self.note(provider="anthropic", endpoint="count_tokens",
                             model=(req or {}).get("model"))
        if path.rstrip("/") == "/v1/models" and self.command == "GET":
            data = [{"type": "model", "id": m, "display_name": m,
                     "created_at": "2025-09-29T00:00:00Z"}
                    for m in self.ANTHROPIC_MODELS]
            self.send_json(200, {"data": data, "has_more": False,
                                 "first_id": data[0]["id"],
                                 "last_id": data[-1]["id"]})
            return self.note(provider="anthropic", endpoint="models")
        if path.startswith("/v1/models/") and self.command == "GET":
            m = path.rsplit("/", 1)[1]
            self.send_json(200, {"type": "model", "id": m,
                                 "display_name": m,
                                 "created_at": "2025-09-29T00:00:00Z"})
            return self.note(provider="anthropic", endpoint="model", model=m)
        return self.not_found("anthropic")

    def anthropic_messages(self, req):
        model = req.get("model") or "claude-sonnet-4-5-20250929"
        tools = [t.get("name") for t in req.get("tools") or []
                 if isinstance(t, dict)]
        msgs = req.get("messages") or []
        last = msgs[-1] if msgs else {}
        has_result = last.get("role") == "user" and isinstance(
            last.get("content"), list) and any(
            isinstance(b, dict) and b.get("type") == "tool_result"
            for b in last["content"])
        n = self.server.seq("anthropic")
        start_u, final_u, norm = anthropic_usage(n, model)
        mid = "msg_fake%06d" % n
        blocks = []
        thinking = (req.get("thinking") or {}).get("type") in ("enabled",
                                                               "adaptive")
        if thinking:
            omitted = (req.get("thinking") or {}).get("display") == \
                "omitted"
            blocks.append({"type": "thinking",
                           "thinking": "" if omitted else
                           "The user wants a proof file.",
                           "signature": base64.b64encode(
                               b"fake-signature-%d" % n).decode()})
        if "Write" in tools and not has_result:
            reply, stop = "tool_use:Write", "tool_use"
            blocks.append({"type": "text",
                           "text": "I'll write the proof file."})
            blocks.append({"type": "tool_use", "id": "toolu_fake%06d" % n,
                           "name": "Write",
                           "input": {"file_path": proof_path(req),
                                     "content": proof_text("claude")}})
        else:
            reply, stop = "text", "end_turn"
            blocks.append({"type": "text", "text": "Done: agp-proof.txt "
                           "is written." if has_result else "Done."})
        self.note(provider="anthropic", endpoint="messages", model=model,
                  stream=bool(req.get("stream")), reply=reply, tools=tools,
                  usage=final_u, usage_start=start_u, norm=norm, status=200)
        if not req.get("stream"):
            return self.send_json(200, {
                "id": mid, "type": "message", "role": "assistant",
                "model": model, "content": blocks, "stop_reason": stop,
                "stop_sequence": None,
                "usage": dict(start_u, output_tokens=final_u[
                    "output_tokens"], output_tokens_details=final_u[
                    "output_tokens_details"])},
                extra=[("request-id", "req_fake%06d" % self.req_id)])
        events = [("message_start", {"type": "message_start", "message": {
            "id": mid, "type": "message", "role": "assistant",
            "model": model, "content": [], "stop_reason": None,
            "stop_sequence": None, "usage": start_u}})]
        for i, b in enumerate(blocks):
            if b["type"] == "thinking":
                events += [
                    ("content_block_start", {
                        "type": "content_block_start", "index": i,
                        "content_block": {"type": "thinking", "thinking": "",
                                          "signature": ""}}),
                    ("content_block_delta", {
                        "type": "content_block_delta", "index": i,
                        "delta": {"type": "thinking_delta",
                                  "thinking": b["thinking"]}}),
                    ("content_block_delta", {
                        "type": "content_block_delta", "index": i,
                        "delta": {"type": "signature_delta",
                                  "signature": b["signature"]}})]
            elif b["type"] == "text":
                events += [
                    ("content_block_start", {
                        "type": "content_block_start", "index": i,
                        "content_block": {"type": "text", "text": ""}}),
                    ("ping", {"type": "ping"}),
                    ("content_block_delta", {
                        "type": "content_block_delta", "index": i,
                        "delta": {"type": "text_delta", "text": b["text"]}})]
            else:
                js = json.dumps(b["input"])
                cut = len(js) // 2
                events += [
                    ("content_block_start", {
                        "type": "content_block_start", "index": i,
                        "content_block": {"type": "tool_use", "id": b["id"],
                                          "name": b["name"], "input": {}}}),
                    ("content_block_delta", {
                        "type": "content_block_delta", "index": i,
                        "delta": {"type": "input_json_delta",
                                  "partial_json": js[:cut]}}),
                    ("content_block_delta", {
                        "type": "content_block_delta", "index": i,
                        "delta": {"type": "input_json_delta",
                                  "partial_json": js[cut:]}})]
            events.append(("content_block_stop", {
                "type": "content_block_stop", "index": i}))
        events += [
            ("message_delta", {"type": "message_delta", "delta": {
                "stop_reason": stop, "stop_sequence": None},
                "usage": final_u}),
            ("message_stop", {"type": "message_stop"})]
        self.send_stream("text/event-stream; charset=utf-8", sse(events))

    # -- Gemini API ----------------------------------------------------------

    GEMINI_MODELS = ["gemini-2.5-pro", "gemini-2.5-flash",
                     "gemini-2.5-flash-lite", "gemini-3-pro-preview",
                     "gemini-3-flash-preview", "gemini-embedding-001"]

    def gemini_model_obj(self, m):
        return {"name": "models/" + m, "version": "001", "displayName": m,
                "description": "fake " + m, "inputTokenLimit": 1048576,
                "outputTokenLimit": 65536,
                "supportedGenerationMethods": [
                    "generateContent", "countTokens", "createCachedContent",
                    "batchGenerateContent"],
                "temperature": 1, "topP": 0.95, "topK": 64,
                "maxTemperature": 2, "thinking": True}

    def google(self, path, q, req):
        m = re.match(r"^/v1(?:beta|alpha)?\d*/models/([^/:]+):(\w+)$", path)
        if m and self.command == "POST":
            return self.gemini_call(m.group(1), m.group(2), q, req or {})
        if re.match(r"^/v1(?:beta|alpha)?/models/?$", path) and \
                self.command == "GET":
            self.send_json(200, {"models": [self.gemini_model_obj(x)
                                            for x in self.GEMINI_MODELS]})
            return self.note(provider="google", endpoint="models")
        m = re.match(r"^/v1(?:beta|alpha)?/models/([^/:]+)$", path)
        if m and self.command == "GET":
            if m.group(1) in self.GEMINI_MODELS:
                self.send_json(200, self.gemini_model_obj(m.group(1)))
                return self.note(provider="google", endpoint="model",
                                 model=m.group(1))
        return self.not_found("google")

    def gemini_call(self, model, method, q, req):
        if method == "countTokens":
            n = 100 + len(json.dumps(req)) // 4
            self.send_json(200, {"totalTokens": n, "promptTokensDetails": [
                {"modality": "TEXT", "tokenCount": n}]})
            return self.note(provider="google", endpoint="countTokens",
                             model=model)
        if method in ("embedContent", "batchEmbedContents"):
            n = len(req.get("requests") or [req])
            self.send_json(200, {"embeddings": [{"values": [0.0] * 8}] * n}
                           if method == "batchEmbedContents" else
                           {"embedding": {"values": [0.0] * 8}})
            return self.note(provider="google", endpoint=method, model=model)
        if method not in ("generateContent", "streamGenerateContent"):
            return self.not_found("google")
        decls = []
        for t in req.get("tools") or []:
            for d in (t or {}).get("functionDeclarations") or []:
                decls.append(d.get("name"))
        contents = req.get("contents") or []
        last = contents[-1] if contents else {}
        has_result = any("functionResponse" in (p or {})
                         for p in last.get("parts") or [])
        gc = req.get("generationConfig") or {}
        schema = gc.get("responseJsonSchema") or gc.get("responseSchema")
        n = self.server.seq("google")
        usage, norm = gemini_usage(n, model)
        if schema:
            reply = "json"
            parts = [{"text": json.dumps(fill_schema(schema))}]
        elif gc.get("responseMimeType") == "application/json":
            reply = "json"
            parts = [{"text": "{}"}]
        elif "write_file" in decls and not has_result:
            reply = "functionCall:write_file"
            parts = [{"text": "I'll write the proof file."},
                     {"functionCall": {"name": "write_file", "args": {
                         "file_path": proof_path(req),
                         "content": proof_text("gemini")}}}]
        else:
            reply = "text"
            parts = [{"text": "Done: agp-proof.txt is written."
                      if has_result else "Done."}]
        rid = "fakeresp%06d" % n
        alt_sse = q.get("alt") == "sse"
        stream = method == "streamGenerateContent"
        self.note(provider="google", endpoint=method, model=model,
                  stream=stream, reply=reply, tools=decls, usage=usage,
                  norm=norm, status=200)
        final = {"candidates": [{"content": {"role": "model",
                                             "parts": parts},
                                 "finishReason": "STOP", "index": 0}],
                 "usageMetadata": usage, "modelVersion": model,
                 "responseId": rid}
        if not stream:
            return self.send_json(200, final)
        # Two chunks, as the real stream: the first a text part with a
        # partial (cumulative) usage, the last the rest with the full one.
        first = {"candidates": [{"content": {"role": "model", "parts": [
            {"text": ""}]}, "index": 0}],
            "usageMetadata": {"promptTokenCount": usage["promptTokenCount"],
                              "totalTokenCount": usage["promptTokenCount"],
                              "cachedContentTokenCount":
                                  usage["cachedContentTokenCount"]},
            "modelVersion": model, "responseId": rid}
        if alt_sse:
            pieces = [("data: %s\r\n\r\n" % json.dumps(c)).encode()
                      for c in (first, final)]
            return self.send_stream("text/event-stream", pieces)
        pieces = [b"[" + json.dumps(first).encode(),
                  b"\r\n," + json.dumps(final).encode(), b"]"]
        self.send_stream("application/json; charset=UTF-8", pieces)

    # -- OpenAI --------------------------------------------------------------

    OPENAI_MODELS = ["gpt-5.5", "gpt-5.4", "gpt-5.3-codex", "gpt-5-codex",
                     "gpt-5", "gpt-5-mini", "qwen3-coder-plus"]

    def openai_routes(self, path, req):
        if path == "/v1/responses":
            if self.headers.get("Upgrade", "").lower() == "websocket":
                return self.responses_websocket()
            if self.command == "POST":
                return self.responses_post(req or {})
        if path == "/v1/chat/completions" and self.command == "POST":
            return self.chat(req or {})
        if path.rstrip("/") == "/v1/models" and self.command == "GET":
            self.send_json(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": 1757000000,
                 "owned_by": "system"} for m in self.OPENAI_MODELS]})
            return self.note(provider="openai", endpoint="models")
        if path.startswith("/v1/models/") and self.command == "GET":
            m = path.rsplit("/", 1)[1]
            if m in self.OPENAI_MODELS:
                self.send_json(200, {"id": m, "object": "model",
                                     "created": 1757000000,
                                     "owned_by": "system"})
            else:
                self.send_json(404, {"error": {
                    "message": "The model '%s' does not exist" % m,
                    "type": "invalid_request_error", "param": "model",
                    "code": "model_not_found"}})
            return self.note(provider="openai", endpoint="model", model=m)
        return self.not_found("openai")

    def responses_turn(self, req):
        """(events, log fields) of one Responses turn."""
        model = req.get("model") or "gpt-5-codex"
        items = req.get("input") if isinstance(req.get("input"), list) \
            else []
        # Tools come in "tools" or, from Codex 0.17x, in an input item
        # {"type": "additional_tools", "tools": [{"type": "namespace",
        # "tools": [...]}]}: with code mode the only top-level one is the
        # freeform "exec" (JavaScript calling tools.apply_patch etc.).
        tdef = {}

        def collect(ts):
            for t in ts or []:
                if not isinstance(t, dict):
                    continue
                if t.get("type") == "namespace":
                    collect(t.get("tools"))
                    continue
                name = t.get("name") or (t.get("function") or {}).get(
                    "name") or t.get("type")
                tdef.setdefault(name, t)
        collect(req.get("tools"))
        for i in items:
            if isinstance(i, dict) and i.get("type") == "additional_tools":
                collect(i.get("tools"))
        tools = list(tdef)
        has_result = any(isinstance(i, dict) and i.get("type") in (
            "function_call_output", "custom_tool_call_output",
            "local_shell_call_output") for i in items)
        n = self.server.seq("openai-responses")
        usage, norm = responses_usage(n, model)
        rid, now = "resp_fake%06d" % n, int(time.time())
        call = None
        cid = "call_fake%06d" % n
        if not has_result:
            body = proof_text("codex")
            patch = ("*** Begin Patch\n*** Add File: %s\n+%s*** End "
                     "Patch\n" % (PROOF, body))
            sh = "printf %%s '%s' > '%s'" % (body.replace("'", ""),
                                             proof_path(req))
            exec_desc = (tdef.get("exec") or {}).get("description") or ""
            if tdef.get("exec", {}).get("type") == "custom" and \
                    "apply_patch(input" in exec_desc:
                js = "const r = await tools.apply_patch(%s);\n" \
                     "text(JSON.stringify(r));\n" % json.dumps(patch)
                call = {"type": "custom_tool_call", "status": "completed",
                        "call_id": cid, "name": "exec", "input": js}
            elif tdef.get("exec", {}).get("type") == "custom" and \
                    "exec_command(args" in exec_desc:
                js = "const r = await tools.exec_command(%s);\n" \
                     "text(r.output);\n" % json.dumps({"cmd": sh})
                call = {"type": "custom_tool_call", "status": "completed",
                        "call_id": cid, "name": "exec", "input": js}
            elif "apply_patch" in tdef:
                if tdef["apply_patch"].get("type") == "custom":
                    call = {"type": "custom_tool_call", "status": "completed",
                            "call_id": cid, "name": "apply_patch",
                            "input": patch}
                else:
                    call = {"type": "function_call", "status": "completed",
                            "call_id": cid, "name": "apply_patch",
                            "arguments": json.dumps({"input": patch})}
            else:
                for name, args in (("exec_command", {"cmd": sh}),
                                   ("shell_command", {"command": sh}),
                                   ("shell", {"command": ["bash", "-lc",
                                                          sh]})):
                    if name in tdef:
                        call = {"type": "function_call",
                                "status": "completed", "call_id": cid,
                                "name": name, "arguments": json.dumps(args)}
                        break
        if call:
            call["id"] = "fc_fake%06d" % n if call["type"] == \
                "function_call" else "ctc_fake%06d" % n
            reply = "%s:%s" % (call["type"], call["name"])
            text = "I'll write the proof file."
        else:
            reply = "text"
            text = "Done: agp-proof.txt is written." if has_result else \
                "Done."
        mid = "msg_fake%06d" % n
        msg = {"id": mid, "type": "message", "status": "completed",
               "role": "assistant", "content": [{
                   "type": "output_text", "text": text, "annotations": [],
                   "logprobs": []}]}
        reasoning = {"id": "rs_fake%06d" % n, "type": "reasoning",
                     "summary": []}
        output = [reasoning, msg] + ([call] if call else [])
        base = {"id": rid, "object": "response", "created_at": now,
                "status": "in_progress", "background": False, "error": None,
                "incomplete_details": None, "instructions": None,
                "max_output_tokens": None, "model": model, "output": [],
                "parallel_tool_calls": False, "previous_response_id": None,
                "reasoning": {"effort": "medium", "summary": None},
                "store": False, "temperature": 1.0,
                "text": {"format": {"type": "text"}, "verbosity": "medium"},
                "tool_choice": "auto", "tools": [], "top_p": 1.0,
                "truncation": "disabled", "usage": None, "user": None,
                "metadata": {}}
        done = dict(base, status="completed", output=output, usage=usage)
        ev = []

        def add(obj):
            obj["sequence_number"] = len(ev)
            ev.append((obj["type"], obj))
        add({"type": "response.created", "response": base})
        add({"type": "response.in_progress", "response": base})
        add({"type": "response.output_item.added", "output_index": 0,
             "item": reasoning})
        add({"type": "response.output_item.done", "output_index": 0,
             "item": reasoning})
        add({"type": "response.output_item.added", "output_index": 1,
             "item": dict(msg, status="in_progress", content=[])})
        part = {"type": "output_text", "annotations": [], "logprobs": [],
                "text": ""}
        add({"type": "response.content_part.added", "item_id": mid,
             "output_index": 1, "content_index": 0, "part": part})
        add({"type": "response.output_text.delta", "item_id": mid,
             "output_index": 1, "content_index": 0, "delta": text,
             "logprobs": []})
        add({"type": "response.output_text.done", "item_id": mid,
             "output_index": 1, "content_index": 0, "text": text,
             "logprobs": []})
        add({"type": "response.content_part.done", "item_id": mid,
             "output_index": 1, "content_index": 0,
             "part": dict(part, text=text)})
        add({"type": "response.output_item.done", "output_index": 1,
             "item": msg})
        if call:
            if call["type"] == "function_call":
                add({"type": "response.output_item.added", "output_index": 2,
                     "item": dict(call, status="in_progress",
                                  arguments="")})
                add({"type": "response.function_call_arguments.delta",
                     "item_id": call["id"], "output_index": 2,
                     "delta": call["arguments"]})
                add({"type": "response.function_call_arguments.done",
                     "item_id": call["id"], "output_index": 2,
                     "arguments": call["arguments"]})
            else:
                add({"type": "response.output_item.added", "output_index": 2,
                     "item": dict(call, status="in_progress", input="")})
                add({"type": "response.custom_tool_call_input.delta",
                     "item_id": call["id"], "output_index": 2,
                     "delta": call["input"]})
                add({"type": "response.custom_tool_call_input.done",
                     "item_id": call["id"], "output_index": 2,
                     "input": call["input"]})
            add({"type": "response.output_item.done", "output_index": 2,
                 "item": call})
        add({"type": "response.completed", "response": done})
        fields = dict(provider="openai", endpoint="responses", model=model,
                      reply=reply, tools=tools, usage=usage, norm=norm)
        return ev, done, fields

    def responses_post(self, req):
        ev, done, fields = self.responses_turn(req)
        self.note(stream=bool(req.get("stream")), status=200, **fields)
        if not req.get("stream"):
            return self.send_json(200, done)
        self.send_stream("text/event-stream; charset=utf-8", sse(ev))

    def responses_websocket(self):
        mode = self.server.websocket
        key = self.headers.get("Sec-WebSocket-Key", "")
        if mode == "accept" and key:
            return self.ws_session(key)
        code = 404 if mode == "404" else 426
        self.send_json(code, {"error": {
            "message": "WebSocket connections are not supported on this "
                       "endpoint; use HTTP POST /v1/responses."
                       if code == 426 else "Invalid URL (GET /v1/responses)",
            "type": "invalid_request_error", "param": None,
            "code": "websocket_not_supported" if code == 426 else None}},
            extra=[("Connection", "close")])
        self.close_connection = True
        self.note(provider="openai", endpoint="responses_websocket",
                  reply="%d" % code, beta=self.headers.get("OpenAI-Beta"))

    # A minimal RFC 6455 server: no extensions (permessage-deflate is
    # declined by not echoing it), text frames out, masked frames in.
    def ws_session(self, key):
        accept = base64.b64encode(hashlib.sha1(
            (key + WS_GUID).encode()).digest()).decode()
        self.head(101, [("Upgrade", "websocket"), ("Connection", "Upgrade"),
                        ("Sec-WebSocket-Accept", accept)])
        self.wfile.flush()
        self.status = 101
        self.note(provider="openai", endpoint="responses_websocket",
                  reply="101", beta=self.headers.get("OpenAI-Beta"))
        self.close_connection = True
        while True:
            msg = self.ws_read()
            if msg is None:
                return
            opcode, data = msg
            if opcode == 8:
                self.ws_send(8, data[:2])
                return
            if opcode == 9:
                self.ws_send(10, data)
                continue
            if opcode != 1:
                continue
            try:
                req = json.loads(data)
            except ValueError:
                continue
            if req.get("type") != "response.create":
                continue
            if req.get("generate") is False:
                # A prewarm: the response is created and completed empty.
                n = self.server.seq("openai-responses")
                rid = "resp_fakeprewarm%06d" % n
                r = {"id": rid, "object": "response", "status": "completed",
                     "model": req.get("model"), "output": [],
                     "usage": None, "created_at": int(time.time())}
                for i, t in enumerate(("response.created",
                                       "response.completed")):
                    self.ws_send(1, json.dumps({"type": t,
                                                "sequence_number": i,
                                                "response": r}).encode())
                self.note(provider="openai", endpoint="responses_ws_prewarm",
                          model=req.get("model"), status=101)
                continue
            self.req_id = next(self.server.req_ids)
            ev, _done, fields = self.responses_turn(req)
            self.note(stream=True, status=101, transport="websocket",
                      **fields)
            for _name, obj in ev:
                self.ws_send(1, json.dumps(obj).encode())

    def ws_read(self):
        """(opcode, payload) of the next whole message, None at the end."""
        parts, opcode = [], None
        while True:
            hdr = self.rfile.read(2)
            if len(hdr) < 2:
                return None
            fin, op = hdr[0] & 0x80, hdr[0] & 0x0F
            masked, n = hdr[1] & 0x80, hdr[1] & 0x7F
            if n == 126:
                n = struct.unpack("!H", self.rfile.read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self.rfile.read(8))[0]
            mask = self.rfile.read(4) if masked else b"\0\0\0\0"
            data = bytearray(self.rfile.read(n))
            for i in range(len(data)):
                data[i] ^= mask[i % 4]
            if op >= 8:
                return op, bytes(data)
            if op:
                opcode = op
            parts.append(bytes(data))
            if fin:
                return opcode, b"".join(parts)

    def ws_send(self, opcode, data):
        n = len(data)
        if n < 126:
            hdr = struct.pack("!BB", 0x80 | opcode, n)
        elif n < 65536:
            hdr = struct.pack("!BBH", 0x80 | opcode, 126, n)
        else:
            hdr = struct.pack("!BBQ", 0x80 | opcode, 127, n)
        self.wfile.write(hdr + data)
        self.wfile.flush()

    def chat(self, req):
        model = req.get("model") or "qwen3-coder-plus"
        tools = [(t.get("function") or {}).get("name")
                 for t in req.get("tools") or [] if isinstance(t, dict)]
        msgs = req.get("messages") or []
        has_result = bool(msgs) and msgs[-1].get("role") == "tool"
        n = self.server.seq("openai-chat")
        usage, norm = chat_usage(n, model)
        cid, now = "chatcmpl-fake%06d" % n, int(time.time())
        call = None
        if "write_file" in tools and not has_result:
            call = {"index": 0, "id": "call_fake%06d" % n,
                    "type": "function", "function": {
                        "name": "write_file", "arguments": json.dumps({
                            "file_path": proof_path(req),
                            "content": proof_text("qwen")})}}
            reply, text, finish = "tool_calls:write_file", \
                "I'll write the proof file.", "tool_calls"
        else:
            reply, finish = "text", "stop"
            text = "Done: agp-proof.txt is written." if has_result else \
                "Done."
        stream = bool(req.get("stream"))
        self.note(provider="openai", endpoint="chat_completions",
                  model=model, stream=stream, reply=reply, tools=tools,
                  usage=usage, norm=norm, status=200,
                  include_usage=((req.get("stream_options") or {}).get(
                      "include_usage")))
        if not stream:
            msg = {"role": "assistant", "content": text, "refusal": None,
                   "annotations": []}
            if call:
                msg["tool_calls"] = [{k: v for k, v in call.items()
                                      if k != "index"}]
            return self.send_json(200, {
                "id": cid, "object": "chat.completion", "created": now,
                "model": model, "choices": [{
                    "index": 0, "message": msg, "logprobs": None,
                    "finish_reason": finish}],
                "usage": usage, "service_tier": "default",
                "system_fingerprint": "fp_fake"})

        def chunk(delta, fin=None, u=None, choices=True):
            return {"id": cid, "object": "chat.completion.chunk",
                    "created": now, "model": model,
                    "service_tier": "default",
                    "system_fingerprint": "fp_fake",
                    "choices": [{"index": 0, "delta": delta,
                                 "logprobs": None, "finish_reason": fin}]
                    if choices else [], "usage": u}
        ev = [chunk({"role": "assistant", "content": "", "refusal": None}),
              chunk({"content": text})]
        if call:
            args = call["function"]["arguments"]
            cut = len(args) // 2
            ev.append(chunk({"tool_calls": [{
                "index": 0, "id": call["id"], "type": "function",
                "function": {"name": "write_file",
                             "arguments": args[:cut]}}]}))
            ev.append(chunk({"tool_calls": [{
                "index": 0, "function": {"arguments": args[cut:]}}]}))
        ev.append(chunk({}, finish))
        ev.append(chunk(None, u=usage, choices=False))
        self.send_stream("text/event-stream; charset=utf-8",
                         sse([(None, e) for e in ev] + [(None, "[DONE]")]))


def totals(path):
    """What /v1/usage must show per model, from a --log file."""
    models = {}
    for line in open(path):
        rec = json.loads(line)
        if not rec.get("norm"):
            continue
        m = models.setdefault(rec["model"], dict(
            {"requests": 0}, **{f: 0 for f in NORM_FIELDS}))
        m["requests"] += 1
        for f in NORM_FIELDS:
            m[f] += rec["norm"][f]
    return models


def main():
    ap = argparse.ArgumentParser(
        description="fake Anthropic/Gemini/OpenAI APIs for the agent CLIs")
    ap.add_argument("--listen", default="127.0.0.2:443")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--log")
    ap.add_argument("--dump", help="directory for every request, raw")
    ap.add_argument("--websocket", choices=("426", "404", "accept"),
                    default="426")
    ap.add_argument("--totals", metavar="LOG",
                    help="print the expected per-model totals and exit")
    args = ap.parse_args()
    if args.totals:
        print(json.dumps(totals(args.totals), indent=1, sort_keys=True))
        return 0
    if not (args.cert and args.key):
        ap.error("--cert and --key are required")
    host, _, port = args.listen.rpartition(":")
    host = host.strip("[]")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    ctx.set_alpn_protocols(["http/1.1"])
    log = open(args.log, "a") if args.log else None
    if args.dump:
        os.makedirs(args.dump, exist_ok=True)
    if ":" in host:
        Server.address_family = socket.AF_INET6
    srv = Server((host, int(port)), ctx, log, args.dump, args.websocket)
    print("ready", flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
