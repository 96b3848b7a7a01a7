#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# wsclient.py - a plain WebSocket client (Debian's python3-websockets) for
# the end-to-end tests: a session of several Responses turns over one
# WebSocket, each a response.create message answered by events up to
# response.completed / .incomplete / .failed.
#
# Prints one JSON object: the sha256 and length of every byte after the
# handshake each way (to compare with what the fake upstream saw), and the
# model, end and usage of each response as received.
import argparse
import asyncio
import hashlib
import json
import ssl
import sys

import websockets
import websockets.legacy.client as wslc


class Tapped(wslc.WebSocketClientProtocol):
    """Hashes the raw bytes after the handshake, both ways."""

    def connection_made(self, transport):
        self.tx, self.rx = hashlib.sha256(), hashlib.sha256()
        self.tx_len = self.rx_len = 0
        self.head = b""
        self.in_head = True
        self.first_write = True
        write = transport.write

        def tapped_write(data):
            if self.first_write:	# the request head
                self.first_write = False
            else:
                self.tx.update(data)
                self.tx_len += len(data)
            write(data)
        transport.write = tapped_write
        super().connection_made(transport)

    def data_received(self, data):
        if self.in_head:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end >= 0:
                self.in_head = False
                rest = self.head[end + 4:]
                self.rx.update(rest)
                self.rx_len += len(rest)
        else:
            self.rx.update(data)
            self.rx_len += len(data)
        super().data_received(data)


async def fragments(ws, text, size, ping):
    for i in range(0, len(text), size):
        if ping and i > 0:
            await ws.ping(b"mid%d" % i)
        yield text[i:i + size]


async def session(args):
    ctx = ssl.create_default_context()
    ws = await websockets.connect(
        args.url, ssl=ctx, create_protocol=Tapped, max_size=None,
        compression="deflate" if args.deflate else None,
        extra_headers={"OpenAI-Beta": "responses_websockets=2026-02-06"})
    out = {"responses": [],
           "extensions": ws.response_headers.get("Sec-WebSocket-Extensions")}
    ends = args.ends.split(",")
    for t in range(args.turns):
        req = {"type": "response.create", "model": args.models[t % len(args.models)],
               "input": [{"role": "user", "content": "turn %d " % t +
                          "padding " * args.pad}],
               "metadata": {"agp_end": ends[t % len(ends)]}}
        text = json.dumps(req)
        if args.frag:
            await ws.send(fragments(ws, text, args.frag, args.ping))
        else:
            await ws.send(text)
        while True:
            ev = json.loads(await ws.recv())
            if ev["type"] in ("response.completed", "response.incomplete",
                              "response.failed"):
                r = ev["response"]
                out["responses"].append({"model": r["model"],
                                         "end": ev["type"][9:],
                                         "usage": r["usage"]})
                break
        if args.pause:
            await asyncio.sleep(args.pause)
    await ws.close()
    p = ws
    out.update(tx_sha256=p.tx.hexdigest(), tx_len=p.tx_len,
               rx_sha256=p.rx.hexdigest(), rx_len=p.rx_len)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--url", required=True)
    ap.add_argument("--turns", type=int, default=3)
    ap.add_argument("--models", nargs="+", default=["gpt-5.1-codex"])
    ap.add_argument("--ends", default="completed")
    ap.add_argument("--deflate", type=int, default=1)
    ap.add_argument("--frag", type=int, default=0,
                    help="send each message in fragments of this size")
    ap.add_argument("--ping", type=int, default=0,
                    help="a ping between the fragments")
    ap.add_argument("--pad", type=int, default=0)
    ap.add_argument("--pause", type=float, default=0)
    args = ap.parse_args()
    print(json.dumps(asyncio.run(session(args))))


if __name__ == "__main__":
    sys.exit(main())
