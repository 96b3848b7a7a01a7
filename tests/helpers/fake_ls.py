#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""fake_ls: the stand-in language server where Go is absent (see
fake_ls.go): trusts only SSL_CERT_FILE, POSTs to URL every INTERVAL_MS
milliseconds, prints one line per call.

  fake_ls.py URL INTERVAL_MS
"""
import http.client
import os
import ssl
import sys
import time
import urllib.parse


def main():
    if len(sys.argv) != 3:
        print("usage: fake_ls.py URL INTERVAL_MS", file=sys.stderr)
        sys.exit(2)
    url = urllib.parse.urlsplit(sys.argv[1])
    interval = int(sys.argv[2]) / 1000
    ctx = ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    path = url.path + ("?" + url.query if url.query else "")
    print("fake-ls: pid %d uid %d started, SSL_CERT_FILE=%s" %
          (os.getpid(), os.getuid(), os.environ["SSL_CERT_FILE"]), flush=True)
    n = 0
    while True:
        n += 1
        try:
            c = http.client.HTTPSConnection(url.hostname, url.port or 443,
                                            context=ctx, timeout=20)
            c.request("POST", path, body=b'{"contents":[]}',
                      headers={"Content-Type": "application/json"})
            r = c.getresponse()
            body = r.read()
            c.close()
            print("fake-ls: call %d status %d bytes %d" % (n, r.status,
                  len(body)), flush=True)
        except Exception as e:  # report and go on, like a real client
            print("fake-ls: call %d error %s" % (n, e), flush=True)
        time.sleep(interval)


if __name__ == "__main__":
    main()
