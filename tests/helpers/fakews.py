# SPDX-License-Identifier: GPL-2.0-or-later
# fakews.py - the WebSocket side of the fake upstream (fakeupstream.py):
# RFC 6455 server framing written by hand, permessage-deflate (RFC 7692)
# with zlib, and the OpenAI Responses WebSocket transport: each
# {"type":"response.create"} message gets a stream of Responses events
# ending in response.completed (or .incomplete / .failed) with usage.
#
# Python 3 stdlib only. The query string of the Upgrade request shapes
# the session:
#   pmd=PARAMS   permessage-deflate answer parameters, ";"-separated
#                (server_no_context_takeover, client_no_context_takeover,
#                server_max_window_bits=N, client_max_window_bits=N);
#                pmd=off refuses the extension even when offered
#   frag=N       server messages go in frames of at most N bytes
#   ping=1       a ping between the fragments of each fragmented message
#   big=N        one extra delta of N bytes per response (a 64-bit length)
# The log line of a session (one per connection, at its close) has the
# sha256 and length of every byte after the handshake each way, and the
# usage of each response sent.
import base64
import hashlib
import json
import random
import struct
import zlib

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TAIL = b"\x00\x00\xff\xff"


def accept_key(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def negotiate(offer, pmd):
    """The Sec-WebSocket-Extensions answer and the deflate parameters."""
    if pmd == "off" or "permessage-deflate" not in (offer or ""):
        return None, None
    params = {"server_no_context_takeover": False,
              "client_no_context_takeover": False,
              "server_max_window_bits": 15, "client_max_window_bits": 15}
    words = ["permessage-deflate"]
    for p in filter(None, (pmd or "").split(";")):
        name, _, val = p.partition("=")
        params[name] = int(val) if val else True
        words.append(p)
    return "; ".join(words), params


class Session:
    def __init__(self, rfile, wfile, params, q):
        self.rfile, self.wfile = rfile, wfile
        self.params = params
        self.frag = int(q.get("frag", "0"))
        self.ping = q.get("ping") == "1"
        self.big = int(q.get("big", "0"))
        self.rx = hashlib.sha256()
        self.tx = hashlib.sha256()
        self.rx_len = self.tx_len = 0
        self.responses = []
        self.turn = 0
        if params:
            self.comp = self.new_comp()
            self.decomp = self.new_decomp()

    def new_comp(self):
        bits = max(self.params["server_max_window_bits"], 9)
        return zlib.compressobj(6, zlib.DEFLATED, -bits)

    def new_decomp(self):
        return zlib.decompressobj(-self.params["client_max_window_bits"])

    # -- framing -------------------------------------------------------

    def read(self, n):
        b = self.rfile.read(n)
        if len(b) < n:
            raise EOFError
        self.rx.update(b)
        self.rx_len += n
        return b

    def write(self, b):
        self.tx.update(b)
        self.tx_len += len(b)
        self.wfile.write(b)
        self.wfile.flush()

    def read_frame(self):
        b0, b1 = self.read(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self.read(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self.read(8))[0]
        mask = self.read(4) if b1 & 0x80 else b"\0\0\0\0"
        data = bytes(c ^ mask[i & 3] for i, c in enumerate(self.read(n)))
        return b0 & 0x80, b0 & 0x40, b0 & 0x0F, data

    def frame(self, fin, rsv1, op, data):
        b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | op
        n = len(data)
        if n < 126:
            head = struct.pack("!BB", b0, n)
        elif n < 65536:
            head = struct.pack("!BBH", b0, 126, n)
        else:
            head = struct.pack("!BBQ", b0, 127, n)
        return head + data

    def read_message(self):
        """(opcode, payload) of the next data message; None at a close."""
        parts, op, rsv1 = [], None, False
        while True:
            fin, r1, o, data = self.read_frame()
            if o == 0x8:
                self.write(self.frame(True, False, 0x8, data[:2]))
                return None
            if o == 0x9:
                self.write(self.frame(True, False, 0xA, data))
                continue
            if o == 0xA:
                continue
            if o != 0:
                op, rsv1 = o, bool(r1)
            parts.append(data)
            if fin:
                break
        payload = b"".join(parts)
        if rsv1:
            payload = self.decomp.decompress(payload + TAIL)
            if self.params["client_no_context_takeover"]:
                self.decomp = self.new_decomp()
        return op, payload

    def send_message(self, text):
        payload = text.encode()
        rsv1 = False
        if self.params:
            payload = self.comp.compress(payload) + \
                self.comp.flush(zlib.Z_SYNC_FLUSH)
            assert payload.endswith(TAIL)
            payload = payload[:-4]
            rsv1 = True
            if self.params["server_no_context_takeover"]:
                self.comp = self.new_comp()
        step = self.frag if self.frag > 0 else max(len(payload), 1)
        pieces = [payload[i:i + step] for i in range(0, len(payload), step)]
        pieces = pieces or [b""]
        out = b""
        for i, p in enumerate(pieces):
            last = i == len(pieces) - 1
            out += self.frame(last, rsv1 and i == 0, 0x1 if i == 0 else 0x0,
                              p)
            if self.ping and not last:
                out += self.frame(True, False, 0x9, b"mid")
        self.write(out)

    # -- the Responses transport ----------------------------------------

    def respond(self, req):
        self.turn += 1
        t = self.turn
        model = req.get("model") or req.get("response", {}).get("model", "")
        end = (req.get("metadata") or {}).get("agp_end", "completed")
        rid = "resp_%d" % t
        text = "answer %d" % t
        usage = {"input_tokens": 100 + 17 * t, "output_tokens": 20 + 3 * t,
                 "total_tokens": 120 + 20 * t,
                 "input_tokens_details": {"cached_tokens": 10 * t},
                 "output_tokens_details": {"reasoning_tokens": t}}
        base = {"id": rid, "object": "response", "model": model,
                "status": "in_progress", "output": []}
        ev = [{"type": "response.created", "response": base}]
        item = {"type": "message", "id": "msg_%d" % t, "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": text,
                             "annotations": []}]}
        ev.append({"type": "response.output_item.added", "output_index": 0,
                   "item": dict(item, status="in_progress", content=[])})
        for w in text.split(" "):
            ev.append({"type": "response.output_text.delta",
                       "item_id": item["id"], "output_index": 0,
                       "content_index": 0, "delta": w + " "})
        if self.big:
            ev.append({"type": "response.output_text.delta",
                       "item_id": item["id"], "output_index": 0,
                       "content_index": 0,
                       "delta": "".join(random.Random(t).choices(
                           "abcdefghijklmnopqrstuvwxyz ", k=self.big))})
        ev.append({"type": "response.output_item.done", "output_index": 0,
                   "item": item})
        final = dict(base, status=end, output=[item], usage=usage)
        if end == "failed":
            final["error"] = {"code": "server_error", "message": "boom"}
        ev.append({"type": "response." + end, "response": final})
        for e in ev:
            self.send_message(json.dumps(e))
        self.responses.append({"model": model, "end": end, "usage": usage})

    def run(self):
        try:
            while True:
                m = self.read_message()
                if m is None:
                    break
                op, payload = m
                if op != 0x1:
                    continue
                req = json.loads(payload)
                if req.get("type") == "response.create":
                    self.respond(req)
        except (EOFError, OSError, ValueError):
            pass
        return {"ws": True, "rx_sha256": self.rx.hexdigest(),
                "rx_len": self.rx_len, "tx_sha256": self.tx.hexdigest(),
                "tx_len": self.tx_len, "deflate": bool(self.params),
                "responses": self.responses}


def serve(handler, q):
    """Answers the Upgrade request of a BaseHTTPRequestHandler, then runs
    the session; returns its log record."""
    key = handler.headers.get("Sec-WebSocket-Key", "")
    ext, params = negotiate(handler.headers.get("Sec-WebSocket-Extensions"),
                            q.get("pmd"))
    lines = ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket",
             "Connection: Upgrade",
             "Sec-WebSocket-Accept: " + accept_key(key)]
    if ext:
        lines.append("Sec-WebSocket-Extensions: " + ext)
    handler.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    handler.wfile.flush()
    handler.close_connection = True
    return Session(handler.rfile, handler.wfile, params, q).run()
