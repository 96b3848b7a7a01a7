#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# fakeapi.py - the fake provider APIs the real agent CLIs talk to in the
# end-to-end tests: Anthropic Messages, the Gemini API, OpenAI Responses
# and Chat Completions, with the side calls the CLIs make.
#
# Python 3 stdlib only. TLS, HTTP/1.1 keep-alive, a thread per
# connection; prints "ready" once it listens. Every answer that carries
# usage is logged to --log as one JSON line: the model and the usage it
# sent, normalised as doc/usage-format.md says the proxy must count it
# (input, output, thinking, cached, cache_creation), so a test compares
# /v1/usage with the sum of these lines. Every other request is logged
# with "usage": null. Token counts differ per provider and grow with each
# answer, so no two answers look alike.
import argparse
import http.server
import itertools
import json
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, ctx, log):
        self.ctx = ctx
        self.log = log
        self.lock = threading.Lock()
        self.seq = itertools.count(1)
        super().__init__(addr, Handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        return self.ctx.wrap_socket(sock, server_side=True,
                                    do_handshake_on_connect=False), addr

    def record(self, entry):
        with self.lock:
            self.log.write(json.dumps(entry) + "\n")
            self.log.flush()


def sse(events):
    """Bytes of an SSE stream from (event-name or None, object) pairs."""
    out = []
    for name, obj in events:
        if name:
            out.append("event: %s\n" % name)
        out.append("data: %s\n\n" % (obj if isinstance(obj, str)
                                     else json.dumps(obj)))
    return "".join(out).encode()


def from_schema(schema):
    """A value that fits a JSON schema (Gemini's or JSON Schema's): the
    CLIs ask for JSON in side calls (Gemini CLI's model router, its
    next-speaker check) and retry until they get some."""
    if not isinstance(schema, dict):
        return "ok"
    if schema.get("enum"):
        return schema["enum"][0]
    t = str(schema.get("type", "object")).lower()
    if t == "object":
        return {k: from_schema(v)
                for k, v in (schema.get("properties") or {}).items()}
    if t == "array":
        return []
    if t in ("integer", "number"):
        return 0
    if t == "boolean":
        return False
    return "ok"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        try:
            self.request.do_handshake()
        except (ssl.SSLError, OSError):
            self.request.close()
            raise
        super().setup()

    def log_message(self, fmt, *args):
        pass

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            return {}

    def send(self, status, ctype, data):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def json(self, status, obj):
        self.send(status, "application/json", json.dumps(obj).encode())

    def note(self, model, usage):
        self.server.record({"time": time.time(), "method": self.command,
                            "host": self.headers.get("Host", ""),
                            "path": self.path, "model": model,
                            "usage": usage})

    def do_GET(self):
        self.route(None)

    def do_POST(self):
        self.route(self.body())

    def route(self, req):
        path = urllib.parse.urlsplit(self.path).path
        n = next(self.server.seq)
        if path == "/v1/messages" and req is not None:
            return self.anthropic(req, n)
        if path.startswith("/api/claude_code/"):
            # Settings and policy limits: none, for an API key.
            self.note(None, None)
            return self.json(200, {})
        if path == "/v1/messages/count_tokens":
            self.note(None, None)
            return self.json(200, {"input_tokens": 100 + n})
        if ":" in path and "/models/" in path and req is not None:
            model, method = path.rsplit("/", 1)[1].split(":", 1)
            return self.gemini(model, method, req, n)
        if path.endswith("/responses") and req is not None:
            return self.openai_responses(req, n)
        if path.endswith("/chat/completions") and req is not None:
            return self.chat(req, n)
        if path.endswith("/models") and "googleapis" not in \
                self.headers.get("Host", ""):
            self.note(None, None)
            return self.json(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": 1757000000,
                 "owned_by": "system"}
                for m in ("gpt-5-codex", "qwen3-coder-plus")]})
        self.note(None, None)
        return self.json(404, {"type": "error", "error": {
            "type": "not_found_error", "message": "Not found: " + path}})

    # --- Anthropic Messages ----------------------------------------------
    def anthropic(self, req, n):
        model = req.get("model", "claude-sonnet-4-5")
        inp, cw, cr, out, think = 30 + n, 1000 + n, 2000 + n, 7 + n, 0
        self.note(model, {"input": inp + cw + cr, "output": out,
                          "thinking": think, "cached": cr,
                          "cache_creation": cw})
        msg_id = "msg_fake%06d" % n
        start_usage = {"input_tokens": inp,
                       "cache_creation_input_tokens": cw,
                       "cache_read_input_tokens": cr, "output_tokens": 1}
        text = "Done."
        if not req.get("stream"):
            return self.json(200, {
                "id": msg_id, "type": "message", "role": "assistant",
                "model": model, "stop_reason": "end_turn",
                "stop_sequence": None,
                "content": [{"type": "text", "text": text}],
                "usage": dict(start_usage, output_tokens=out)})
        self.send(200, "text/event-stream", sse([
            ("message_start", {"type": "message_start", "message": {
                "id": msg_id, "type": "message", "role": "assistant",
                "model": model, "content": [], "stop_reason": None,
                "stop_sequence": None, "usage": start_usage}}),
            ("content_block_start", {"type": "content_block_start",
                                     "index": 0, "content_block": {
                                         "type": "text", "text": ""}}),
            ("ping", {"type": "ping"}),
            ("content_block_delta", {"type": "content_block_delta",
                                     "index": 0, "delta": {
                                         "type": "text_delta",
                                         "text": text}}),
            ("content_block_stop", {"type": "content_block_stop",
                                    "index": 0}),
            ("message_delta", {"type": "message_delta", "delta": {
                "stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": out}}),
            ("message_stop", {"type": "message_stop"})]))

    # --- Gemini API --------------------------------------------------------
    def gemini(self, model, method, req, n):
        if method == "countTokens":
            self.note(None, None)
            return self.json(200, {"totalTokens": 50 + n})
        prompt, cand, thoughts, cached = 500 + n, 11 + n, 20 + n, 0
        usage = {"promptTokenCount": prompt, "candidatesTokenCount": cand,
                 "thoughtsTokenCount": thoughts,
                 "totalTokenCount": prompt + cand + thoughts}
        self.note(model, {"input": prompt, "output": cand,
                          "thinking": thoughts, "cached": cached,
                          "cache_creation": 0})
        gc = req.get("generationConfig") or {}
        schema = gc.get("responseJsonSchema") or gc.get("responseSchema")
        text = json.dumps(from_schema(schema)) if schema or \
            gc.get("responseMimeType") == "application/json" else "Done."
        resp = {"candidates": [{"content": {"role": "model", "parts": [
            {"text": text}]}, "finishReason": "STOP", "index": 0}],
            "usageMetadata": usage, "modelVersion": model,
            "responseId": "fake%06d" % n}
        if method == "streamGenerateContent":
            return self.send(200, "text/event-stream", sse([(None, resp)]))
        return self.json(200, resp)

    # --- OpenAI Responses --------------------------------------------------
    def openai_responses(self, req, n):
        model = req.get("model", "gpt-5-codex")
        inp, cached, out, reasoning = 900 + n, 300 + n, 15 + n, 5 + n
        usage = {"input_tokens": inp,
                 "input_tokens_details": {"cached_tokens": cached},
                 "output_tokens": out + reasoning,
                 "output_tokens_details": {"reasoning_tokens": reasoning},
                 "total_tokens": inp + out + reasoning}
        self.note(model, {"input": inp, "output": out,
                          "thinking": reasoning, "cached": cached,
                          "cache_creation": 0})
        rid, mid = "resp_fake%06d" % n, "msg_fake%06d" % n
        item = {"id": mid, "type": "message", "status": "completed",
                "role": "assistant", "content": [{
                    "type": "output_text", "text": "Done.",
                    "annotations": []}]}
        base = {"id": rid, "object": "response", "created_at": int(time.time()),
                "model": model, "output": [], "usage": None,
                "status": "in_progress"}
        done = dict(base, status="completed", output=[item], usage=usage)
        if not req.get("stream"):
            return self.json(200, done)
        part = {"type": "output_text", "text": "", "annotations": []}
        self.send(200, "text/event-stream", sse([
            ("response.created", {"type": "response.created",
                                  "sequence_number": 0, "response": base}),
            ("response.output_item.added", {
                "type": "response.output_item.added", "sequence_number": 1,
                "output_index": 0, "item": dict(item, status="in_progress",
                                                content=[])}),
            ("response.content_part.added", {
                "type": "response.content_part.added", "sequence_number": 2,
                "item_id": mid, "output_index": 0, "content_index": 0,
                "part": part}),
            ("response.output_text.delta", {
                "type": "response.output_text.delta", "sequence_number": 3,
                "item_id": mid, "output_index": 0, "content_index": 0,
                "delta": "Done."}),
            ("response.output_text.done", {
                "type": "response.output_text.done", "sequence_number": 4,
                "item_id": mid, "output_index": 0, "content_index": 0,
                "text": "Done."}),
            ("response.output_item.done", {
                "type": "response.output_item.done", "sequence_number": 5,
                "output_index": 0, "item": item}),
            ("response.completed", {"type": "response.completed",
                                    "sequence_number": 6,
                                    "response": done})]))

    # --- OpenAI Chat Completions -------------------------------------------
    def chat(self, req, n):
        model = req.get("model", "qwen3-coder-plus")
        prompt, cached, comp, reasoning = 700 + n, 100 + n, 9 + n, 0
        usage = {"prompt_tokens": prompt, "completion_tokens": comp,
                 "total_tokens": prompt + comp,
                 "prompt_tokens_details": {"cached_tokens": cached},
                 "completion_tokens_details": {"reasoning_tokens":
                                               reasoning}}
        self.note(model, {"input": prompt, "output": comp - reasoning,
                          "thinking": reasoning, "cached": cached,
                          "cache_creation": 0})
        cid, now = "chatcmpl-fake%06d" % n, int(time.time())
        msg = {"role": "assistant", "content": "Done."}
        if not req.get("stream"):
            return self.json(200, {
                "id": cid, "object": "chat.completion", "created": now,
                "model": model, "choices": [{"index": 0, "message": msg,
                                             "finish_reason": "stop"}],
                "usage": usage})

        def chunk(delta, finish, u=None, choices=True):
            return {"id": cid, "object": "chat.completion.chunk",
                    "created": now, "model": model,
                    "choices": [{"index": 0, "delta": delta,
                                 "finish_reason": finish}]
                    if choices else [], "usage": u}
        self.send(200, "text/event-stream", sse([
            (None, chunk({"role": "assistant", "content": ""}, None)),
            (None, chunk({"content": "Done."}, None)),
            (None, chunk({}, "stop")),
            (None, chunk(None, None, usage, choices=False)),
            (None, "[DONE]")]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    host, port = a.listen.rsplit(":", 1)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    ctx.set_alpn_protocols(["http/1.1"])
    srv = Server((host, int(port)), ctx, open(a.log, "a"))
    print("ready", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
