#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""cdp.py - drives a real headless Chromium over the DevTools protocol
(--remote-debugging-pipe: NUL-separated JSON on fds 3 and 4, so no port
to race for and nothing but the standard library) through the dashboard
at --api, and prints one line per check, "0<TAB>what" or "1<TAB>what",
for tests/e2e/dashboard.sh to count; lines starting with "#" are notes.

  cdp.py --api URL --expect USAGE.json --out DIR -- CMD...

USAGE.json is /v1/usage as curl read it after the traffic; CMD makes one
more metered request, which must appear in the page without a reload.
Screenshots go to DIR: dashboard.png (1280x900, light),
dashboard-dark.png and dashboard-narrow.png (400 px wide).
"""
import argparse
import base64
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

TIMEOUT = 30  # seconds for Chromium to start or answer: 2 shared cores


class Browser:
    """A Chromium child and its DevTools pipe; one attached page session."""

    def __init__(self, chromium, profile, log):
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()
        flags = [
            "--headless=new", "--no-sandbox", "--remote-debugging-pipe",
            "--user-data-dir=" + profile, "--disable-gpu",
            # Chromium's own traffic: none wanted (and the namespace has
            # no route out in any case).
            "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--disable-sync", "--metrics-recording-only",
            "--disable-default-apps", "--no-default-browser-check",
            "--disable-extensions", "--disable-domain-reliability",
            "--disable-client-side-phishing-detection",
            "--disable-features=Translate,OptimizationHints,MediaRouter,"
            "DialMediaRouteProvider,AutofillServerCommunication",
            "--no-proxy-server",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--window-size=1280,900", "about:blank",
        ]
        # The shell moves the pipe ends to the fds Chromium reads.
        cmd = ["sh", "-c", 'exec "$@" 3<&%d 4>&%d' % (to_child_r,
                                                      from_child_w),
               "sh", chromium] + flags
        env = dict(os.environ, HOME=profile)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=log, env=env,
                                     pass_fds=(to_child_r, from_child_w))
        os.close(to_child_r)
        os.close(from_child_w)
        self.next_id = 0
        self.replies = {}
        self.cond = threading.Condition()
        self.events = queue.Queue()
        self.all_events = []
        self.session = None
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        buf = b""
        while True:
            chunk = os.read(self.from_child, 65536)
            if not chunk:
                with self.cond:
                    self.replies[None] = "closed"
                    self.cond.notify_all()
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                if "id" in msg:
                    with self.cond:
                        self.replies[msg["id"]] = msg
                        self.cond.notify_all()
                else:
                    self.all_events.append(msg)
                    self.events.put(msg)

    def call(self, method, params=None, session=True, timeout=TIMEOUT):
        self.next_id += 1
        mid = self.next_id
        msg = {"id": mid, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.to_child, json.dumps(msg).encode() + b"\0")
        end = time.monotonic() + timeout
        with self.cond:
            while mid not in self.replies:
                if None in self.replies:
                    raise RuntimeError("chromium closed the pipe")
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError(method)
                self.cond.wait(left)
            reply = self.replies.pop(mid)
        if "error" in reply:
            raise RuntimeError("%s: %s" % (method, reply["error"]))
        return reply.get("result", {})

    def attach(self):
        targets = self.call("Target.getTargets", session=False)
        page = next(t for t in targets["targetInfos"] if t["type"] == "page")
        self.session = self.call("Target.attachToTarget",
                                 {"targetId": page["targetId"],
                                  "flatten": True},
                                 session=False)["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            self.call(domain + ".enable")

    def wait_event(self, method, timeout=TIMEOUT):
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError(method)
            ev = self.events.get(timeout=left)
            if ev.get("method") == method:
                return ev

    def js(self, expr):
        """The value of a JavaScript expression (promises awaited)."""
        r = self.call("Runtime.evaluate", {"expression": expr,
                                           "returnByValue": True,
                                           "awaitPromise": True})
        if "exceptionDetails" in r:
            raise RuntimeError("js: %s" % r["exceptionDetails"])
        return r["result"].get("value")

    def until(self, expr, timeout=10):
        """Polls expr until it is truthy; its last value."""
        end = time.monotonic() + timeout
        while True:
            v = self.js(expr)
            if v or time.monotonic() > end:
                return v
            time.sleep(0.1)

    def viewport(self, width, height):
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height,
                   "deviceScaleFactor": 1, "mobile": False})
        # Two frames: the layout at the new size is done.
        self.js("new Promise(r => requestAnimationFrame(() =>"
                " requestAnimationFrame(r)))")

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            self.call("Browser.close", session=False, timeout=5)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def check(ok, what):
    print("%d\t%s" % (0 if ok else 1, what), flush=True)
    return ok


def note(text):
    for line in str(text).splitlines():
        print("# " + line, flush=True)


def get(api, path):
    with urllib.request.urlopen(api + path, timeout=5) as r:
        return json.load(r)


TOTALS_JS = """Object.fromEntries([...document.querySelectorAll('[data-total]')]
  .map(e => [e.dataset.total, [e.dataset.value, e.textContent]]))"""
ROWS_JS = """[...document.querySelectorAll('#recent tbody tr')].map(tr =>
  [Number(tr.dataset.id), tr.children[2].textContent])"""
LEGEND_JS = """Object.fromEntries([...document.querySelectorAll(
  '#chart-%s .legend tbody tr')].map(tr => [tr.dataset.series,
  [...tr.querySelectorAll('td[data-value]')].map(td => td.dataset.value)]))"""


def fmt_usd(v):
    return "$%.*f" % (2 if abs(v) >= 1 or v == 0 else 4, v)


def check_totals(b, u, what):
    """The page's totals against a /v1/usage document."""
    shown = b.js(TOTALS_JS)
    bad = []
    for k, (value, text) in shown.items():
        want = u["totals"][k]
        if k == "cost_usd":
            if abs(float(value) - want) > 1e-9 or text != fmt_usd(want):
                bad.append((k, value, text, want))
        elif value != str(want) or text != "{:,}".format(want):
            bad.append((k, value, text, want))
    if bad:
        note("page vs /v1/usage: %s" % bad)
    return check(not bad and len(shown) == 8, what)


def check_legend(b, api, by):
    """The legend of a chart against ?by= over the same records."""
    doc = get(api, "/v1/usage?since=24h&by=" + by)
    want = {g[by]: [str(g["requests"]), str(g["total_tokens"])]
            for g in doc["groups"]}
    got = {k: v[:2] for k, v in b.js(LEGEND_JS % by).items()}
    if got != want:
        note("legend per %s: %s, want %s" % (by, got, want))
    return check(got == want and len(want) >= 2,
                 "per-%s chart legend: requests and tokens of each of the "
                 "%d %ss equal /v1/usage?by=%s" % (by, len(want), by, by))


def background(b):
    return b.js("getComputedStyle(document.body).backgroundColor")


def luminance(css):
    nums = [float(x) for x in css[css.index("(") + 1:-1].split(",")[:3]]
    return sum(nums) / 3


def step_load(b, args, api):
    """The page after the traffic: totals, legends, bars, the table."""
    b.attach()
    b.viewport(1280, 900)
    b.call("Emulation.setEmulatedMedia", {"features": [
        {"name": "prefers-color-scheme", "value": "light"}]})
    t0 = time.monotonic()
    b.call("Page.navigate", {"url": api + "/"})
    b.wait_event("Page.loadEventFired")
    with open(args.expect) as f:
        u = json.load(f)
    n = u["totals"]["requests"]
    shown = b.until("document.body.dataset.shown === '%d'" % n)
    check(shown, "the page loads and shows its first poll (%.1f s)" %
          (time.monotonic() - t0))
    check_totals(b, u, "the %d totals shown equal /v1/usage read by curl, "
                 "exact integers with thousands separators" % 8)
    check_legend(b, api, "model")
    check_legend(b, api, "agent")
    bars = b.js("document.querySelectorAll('#chart-model svg rect').length")
    check(bars >= 2, "the per-model chart draws SVG bars (%d)" % bars)
    rows = b.js(ROWS_JS)
    top = get(api, "/v1/requests?limit=25")
    check([r[0] for r in rows] == [r["id"] for r in top],
          "the recent table lists /v1/requests?limit=25's %d ids, in order"
          % len(top))
    b.screenshot(os.path.join(args.out, "dashboard.png"))
    check(True, "screenshot (1280x900, light): %s/dashboard.png" % args.out)
    return n


def step_new_record(b, args, api, n):
    """A new record, and no reload."""
    b.js("window.agpSameDocument = true")
    navs = len([e for e in b.all_events
                if e.get("method") == "Page.frameNavigated"])
    r = subprocess.run(args.cmd, timeout=20, stdout=subprocess.DEVNULL)
    check(r.returncode == 0, "one more metered request (%s)" %
          os.path.basename(args.cmd[0]))
    t1 = time.monotonic()
    seen = b.until("document.body.dataset.shown === '%d'" % (n + 1), 15)
    took = time.monotonic() - t1
    u2 = get(api, "/v1/usage")
    check(seen and u2["totals"]["requests"] == n + 1,
          "the new record reaches the page by polling (%.1f s)" % took)
    check_totals(b, u2, "the totals follow it, equal to /v1/usage again")
    new = get(api, "/v1/requests?limit=1")[0]
    rows = b.js(ROWS_JS)
    check(rows and rows[0][0] == new["id"] and rows[0][1] == new["model"],
          "it heads the recent table (id %d, %s)" % (new["id"], new["model"]))
    navs2 = len([e for e in b.all_events
                 if e.get("method") == "Page.frameNavigated"])
    check(b.js("window.agpSameDocument === true") and navs2 == navs,
          "without a reload or navigation")
    return new["model"]


def set_control(b, sel, value):
    b.js("""(() => { const s = document.querySelector(%s); s.value = %s;
      s.dispatchEvent(new Event('change', {bubbles: true})); })()"""
         % (json.dumps(sel), json.dumps(value)))


def step_filter(b, api, name, value):
    """A filter: the table asks the API with it, and shows its answer."""
    want = [x["id"] for x in get(api, "/v1/requests?limit=25&%s=%s" %
                                 (name, urllib.parse.quote(value)))]
    set_control(b, "#filters [name=%s]" % name, value)
    ok = b.until("JSON.stringify(%s.map(r => r[0])) === %s" %
                 (ROWS_JS.replace("\n", " "),
                  json.dumps(json.dumps(want, separators=(",", ":")))))
    check(ok and want and (name != "model" or
                           all(m == value for _, m in b.js(ROWS_JS))),
          "the %s filter shows /v1/requests?%s=%s's %d records"
          % (name, name, value, len(want)))
    set_control(b, "#filters [name=%s]" % name, "")


def step_cost(b, api):
    """Cost, over 7 days: the days' buckets, the axis in dollars."""
    set_control(b, "#range", "7d")
    set_control(b, "#metric", "cost_usd")
    days = [g["day"] for g in get(api, "/v1/usage?since=7d&by=day")["groups"]]
    # Both controls' redraws done: days' buckets and a dollar axis (the
    # first change's redraw may still show tokens).
    bars = b.until("""(() => { const r = [...document.querySelectorAll(
      '#chart-model svg rect')]; const a = [...document.querySelectorAll(
      '#chart-model svg text[text-anchor=end]')]; return r.length &&
      r.every(e => %s.includes(e.dataset.bucket)) && a.length &&
      a.every(t => t.textContent.startsWith('$')) && r.length; })()"""
                   % json.dumps(days))
    axis = b.js("[...document.querySelectorAll('#chart-model svg "
                "text[text-anchor=end]')].map(t => t.textContent)")
    by_cost = {g["model"]: g["cost_usd"] for g in
               get(api, "/v1/usage?since=7d&by=model")["groups"]}
    drawn = b.js("""[...document.querySelectorAll('#chart-model svg rect')]
      .reduce((m, r) => (m[r.dataset.series] = (m[r.dataset.series] || 0) +
      Number(r.dataset.value), m), {})""")
    good = (bars and axis and all(t.startswith("$") for t in axis) and
            all(abs(drawn.get(m, 0) - (c or 0)) < 1e-9
                for m, c in by_cost.items()))
    if not good:
        note("bars %r, axis %r, drawn %r, ?by=model %r" %
             (bars, axis, drawn, by_cost))
    check(good,
          "7 days of cost: a bar per model and day, at ?by=model's "
          "cost_usd, a dollar axis")


def page_requests(b):
    return len([e for e in b.all_events
                if e.get("method") == "Network.requestWillBeSent"])


def step_hidden(b):
    """A hidden tab does not poll; shown again, it does at once."""
    b.js("""Object.defineProperty(document, 'hidden', {value: true,
      configurable: true});
      document.dispatchEvent(new Event('visibilitychange'))""")
    time.sleep(0.5)  # a poll under way ends
    before = page_requests(b)
    time.sleep(4.5)  # two polling periods and more
    during = page_requests(b) - before
    b.js("""delete document.hidden;
      document.dispatchEvent(new Event('visibilitychange'))""")
    time.sleep(1)
    check(during == 0 and page_requests(b) > before,
          "hidden: no request in 4.5 s; visible again: polling resumes")


def step_looks(b, args):
    """Dark mode changes the background; a narrow window fits."""
    light = background(b)
    b.call("Emulation.setEmulatedMedia", {"features": [
        {"name": "prefers-color-scheme", "value": "dark"}]})
    dark = b.until("(c => c !== %s && c)(getComputedStyle(document.body)"
                   ".backgroundColor)" % json.dumps(light), 5)
    check(dark and luminance(dark) < luminance(light) - 100,
          "prefers-color-scheme: dark darkens the background (%s -> %s)"
          % (light, dark))
    b.screenshot(os.path.join(args.out, "dashboard-dark.png"))

    # A narrow window: nothing wider than it, the table scrolls in place.
    b.viewport(400, 800)
    w = b.js("""({doc: document.documentElement.scrollWidth,
      body: document.body.scrollWidth, inner: innerWidth,
      table: document.querySelector('.scroll').scrollWidth,
      box: document.querySelector('.scroll').clientWidth})""")
    check(w["doc"] <= 400 and w["body"] <= 400 and w["inner"] == 400,
          "400 px wide: the page does not overflow (%s)" % w)
    check(w["table"] > w["box"],
          "the requests table scrolls inside its box (%d > %d)"
          % (w["table"], w["box"]))
    b.screenshot(os.path.join(args.out, "dashboard-narrow.png"))


def run(b, args, api):
    n = step_load(b, args, api)
    model = step_new_record(b, args, api, n)
    step_filter(b, api, "model", model)
    step_filter(b, api, "agent", "codex")
    step_cost(b, api)
    step_hidden(b)
    step_looks(b, args)


def report(b, api):
    host = urllib.parse.urlsplit(api).netloc
    ev = b.all_events
    errors = [e["params"] for e in ev if
              (e.get("method") == "Runtime.consoleAPICalled" and
               e["params"]["type"] in ("error", "assert")) or
              e.get("method") == "Runtime.exceptionThrown" or
              (e.get("method") == "Log.entryAdded" and
               e["params"]["entry"]["level"] == "error")]
    for e in errors:
        note("error: %s" % json.dumps(e)[:400])
    check(not errors, "no console errors, exceptions or CSP reports")
    urls = [e["params"]["request"]["url"] for e in ev
            if e.get("method") == "Network.requestWillBeSent"]
    away = [u for u in urls if not u.startswith("about:") and
            urllib.parse.urlsplit(u)[:2] != ("http", host)]
    for u in sorted(set(away)):
        note("left loopback: %s" % u)
    check(urls and not away, "all %d requests the page made went to %s"
          % (len(urls), host))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--api", required=True)
    ap.add_argument("--expect", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--chromium", default="chromium")
    ap.add_argument("cmd", nargs="+")
    args = ap.parse_args()
    api = args.api.rstrip("/")
    profile = tempfile.mkdtemp(prefix="agp-chromium.")
    log = open(os.path.join(args.out, "dashboard-chromium.log"), "wb")
    b = Browser(args.chromium, profile, log)
    try:
        run(b, args, api)
    except Exception as e:  # a step that cannot go on fails, with why
        check(False, "the browser session ran to its end: %r" % e)
    finally:
        report(b, api)
        b.close()
        shutil.rmtree(profile, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
