#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Sends a deterministic mix of LLM responses through the proxy and prints
the per-model totals the upstream sent, as /v1/usage should count them.

Each request asks the fake upstream to serve one fixture (all formats,
streaming and not, some gzip) on the path its API really uses; the
expected numbers come from tests/fixtures/expected.json.

  mixed_load.py --host H --fixtures DIR [-n 100] [--threads 8] [--seed S]
"""
import argparse
import gzip
import http.client
import json
import os
import random
import ssl
import sys
import threading

PATHS = {
    "gemini_public_stream.sse": "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
    "gemini_public.json": "/v1beta/models/gemini-2.5-pro:generateContent",
    "gemini_public_stream_array.json": "/v1beta/models/gemini-2.0-flash:streamGenerateContent",
    "gemini_stream_growing_usage.sse": "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
    "cloudcode_stream.sse": "/v1internal:streamGenerateContent?alt=sse",
    "cloudcode.json": "/v1internal:generateContent",
    "cloudcode_trailing_usage.sse": "/v1internal:streamGenerateContent?alt=sse",
    "anthropic_stream.sse": "/v1/messages",
    "anthropic.json": "/v1/messages",
    "anthropic_stream_error.sse": "/v1/messages",
    "anthropic_stream_mixed_eol.sse": "/v1/messages",
    "openai_chat_stream.sse": "/v1/chat/completions",
    "openai_chat.json": "/v1/chat/completions",
    "openai_chat_stream_crlf.sse": "/v1/chat/completions",
    "sse_comments_multiline.sse": "/v1/chat/completions",
    "openai_responses_stream.sse": "/v1/responses",
    "openai_responses.json": "/v1/responses",
}
FIELDS = ["input_tokens", "output_tokens", "thinking_tokens", "cached_tokens",
          "cache_creation_tokens", "total_tokens"]


def plan(n, seed):
    rnd = random.Random(seed)
    names = sorted(PATHS)
    reqs = [names[i % len(names)] for i in range(n)]   # every format
    rnd.shuffle(reqs)
    return [(name, rnd.random() < 0.3) for name in reqs]


def expected(reqs, fixtures):
    exp = json.load(open(fixtures + "/expected.json"))
    models = {}
    for name, _ in reqs:
        e = exp[name]
        m = models.setdefault(e["model"], dict.fromkeys(FIELDS + ["requests"], 0))
        m["requests"] += 1
        for f in FIELDS:
            m[f] += e[f]
    return models


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", required=True)
    p.add_argument("--fixtures", required=True)
    p.add_argument("-n", type=int, default=100)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--expect-only", action="store_true")
    args = p.parse_args()
    reqs = plan(args.n, args.seed)
    if args.expect_only:
        print(json.dumps(expected(reqs, args.fixtures)))
        return
    # One context for the threads, from the bundle file alone (as
    # client.py's concurrent: OpenSSL 3.0's lazy CA directory lookups
    # race under a shared store).
    ctx = ssl.create_default_context(cafile=os.environ.get("SSL_CERT_FILE"))
    errors = []
    lock = threading.Lock()
    queue = list(reqs)

    def worker():
        c = http.client.HTTPSConnection(args.host, 443, timeout=30, context=ctx)
        while True:
            with lock:
                if not queue:
                    return
                name, gz = queue.pop()
            sep = "&" if "?" in PATHS[name] else "?"
            path = PATHS[name] + sep + "fixture=" + name + ("&gzip=1" if gz else "")
            try:
                body = json.dumps({"stream": name.endswith(".sse")})
                c.request("POST", path, body=body,
                          headers={"Content-Type": "application/json",
                                   "Accept-Encoding": "gzip" if gz else "identity"})
                r = c.getresponse()
                data = r.read()
                if gz and r.getheader("Content-Encoding") == "gzip":
                    gzip.decompress(data)
                if r.status != 200:
                    raise RuntimeError("%s: status %d" % (name, r.status))
            except Exception as e:  # noqa: BLE001 - reported below
                with lock:
                    errors.append(repr(e))
                c.close()
                c = http.client.HTTPSConnection(args.host, 443, timeout=30,
                                                context=ctx)

    ts = [threading.Thread(target=worker) for _ in range(args.threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(json.dumps({"errors": errors[:5], "nerrors": len(errors),
                      "expected": expected(reqs, args.fixtures)}))
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
