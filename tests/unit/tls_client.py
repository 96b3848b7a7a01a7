#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# tls_client.py - a strict Python TLS client for test_tls; it connects to
# 127.0.0.1 only. Prints one result line; exit status 0 means the mode's
# expectation held.
#
#   --mode ok         trust --ca, check the hostname, VERIFY_X509_STRICT,
#                     offer ALPN h2,http/1.1, expect http/1.1, send "ping",
#                     expect "pong", close.
#   --mode untrusted  trust nothing; expect a certificate verify failure.
#   --mode idle       like ok, but after the handshake sleep, then close.
#   --mode trickle    like ok, but send the "ping" record one byte every
#                     50 ms, until the server gives up (closes).
#   --tls12           cap the client at TLS 1.2.
import argparse
import socket
import ssl
import sys
import time


def strict_context(cafile):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    if cafile:
        ctx.load_verify_locations(cafile=cafile)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    return ctx


def handshake_bio(ctx, raw, name):
    """A handshake through memory BIOs, so the records can be sent by
    hand afterwards. Returns the SSLObject and its outgoing BIO."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=name)
    while True:
        try:
            obj.do_handshake()
            break
        except ssl.SSLWantReadError:
            raw.sendall(out.read())
            data = raw.recv(16384)
            if not data:
                raise OSError("closed during the handshake")
            inc.write(data)
    raw.sendall(out.read())
    return obj, out


def trickle(ctx, raw, name):
    obj, out = handshake_bio(ctx, raw, name)
    print("alpn=%s version=%s" % (obj.selected_alpn_protocol(),
                                  obj.version()))
    obj.write(b"ping\n")
    record = out.read()
    sent = 0
    try:
        for b in record:
            raw.send(bytes([b]))
            sent += 1
            time.sleep(0.05)
    except OSError:
        pass
    print("trickled %d of %d bytes" % (sent, len(record)))
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ca")
    ap.add_argument("--name", required=True)
    ap.add_argument("--mode", default="ok")
    ap.add_argument("--tls12", action="store_true", help="cap at TLS 1.2")
    args = ap.parse_args()

    ctx = strict_context(args.ca if args.mode != "untrusted" else None)
    if args.tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    raw = socket.create_connection(("127.0.0.1", args.port), timeout=10)
    if args.mode == "trickle":
        return trickle(ctx, raw, args.name)
    try:
        tls = ctx.wrap_socket(raw, server_hostname=args.name)
    except ssl.SSLCertVerificationError as e:
        print("verify-failed", e.verify_message)
        return 0 if args.mode == "untrusted" else 1
    except (ssl.SSLError, OSError) as e:
        print("handshake-error", e)
        return 1
    if args.mode == "untrusted":
        print("unexpectedly-trusted")
        return 1
    alpn = tls.selected_alpn_protocol()
    print("alpn=%s version=%s" % (alpn, tls.version()))
    if alpn != "http/1.1":
        return 1
    if args.mode == "idle":
        time.sleep(3)
        tls.close()
        return 0
    tls.sendall(b"ping\n")
    got = b""
    while not got.endswith(b"\n"):
        chunk = tls.recv(64)
        if not chunk:
            break
        got += chunk
    print("got=%r" % got)
    tls.close()
    return 0 if got == b"pong\n" else 1


if __name__ == "__main__":
    sys.exit(main())
