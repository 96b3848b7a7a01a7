#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# events.py - reads what bench/events.bt printed over figure 4 and says
# where the events waited: for each event the daemon handed on, the time
# from the upstream's send stamp to the wake-up of the daemon's thread,
# to its getting a CPU, to poll() returning, to the recv() that brought
# the record, to curl's write callback, to the client's socket. Prints
# the percentiles of each step, then the events later than --late ms,
# sorted by the step that held them, with a timeline of the worst.
import argparse
import bisect
import sys
from collections import defaultdict

STEPS = ["wake", "cpu", "poll", "recv", "curl", "write"]
WHAT = {
    "wake": "upstream stamp -> thread woken",
    "cpu": "woken -> on a CPU",
    "poll": "on a CPU -> poll() returns",
    "recv": "poll() -> the recv() that brought the record",
    "curl": "that recv() -> curl's write callback",
    "write": "write callback -> in the client's socket",
}


def pct(v, p):
    if not v:
        return float("nan")
    v = sorted(v)
    return v[min(len(v) - 1, int(p / 100.0 * (len(v) - 1) + 0.5))]


def before(times, t):
    """The last of the sorted times at or before t, or None."""
    i = bisect.bisect_right(times, t)
    return times[i - 1] if i else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trace")
    ap.add_argument("--late", type=float, default=50.0)
    ap.add_argument("--show", type=int, default=3)
    args = ap.parse_args()
    body, writes = [], defaultdict(list)
    recvs, polls = defaultdict(list), defaultdict(list)
    wakes, runs = defaultdict(list), defaultdict(list)
    lines = defaultdict(list)
    for line in open(args.trace, errors="replace"):
        f = line.split()
        if len(f) < 3 or not f[1].isdigit() or not f[2].isdigit():
            continue
        k, tid, ns = f[0], int(f[1]), int(f[2])
        if k == "B" and len(f) > 3:
            digits = "".join(c for c in f[3].split(",")[0] if c.isdigit())
            # Only stamps of the last minute: a chunk of another kind
            # (the warm-up's body) has no stamp.
            if digits and 0 <= ns - int(digits) < 60e9:
                body.append((tid, ns, int(digits)))
        elif k == "W":
            writes[tid].append(ns)
        elif k == "R" and len(f) > 4 and int(f[4]) > 0:
            recvs[tid].append(ns)
        elif k == "P":
            polls[tid].append(ns)
        elif k in "FfM":
            pass
        elif k == "K":
            wakes[tid].append(ns)
        elif k == "S":
            runs[tid].append(ns)
        else:
            continue
        lines[tid].append((ns, line.rstrip()))
    for d in (writes, recvs, polls, wakes, runs):
        for v in d.values():
            v.sort()
    steps = {s: [] for s in STEPS}
    late = []
    for tid, b, ts in body:
        r = before(recvs[tid], b)
        p = before(polls[tid], r) if r else None
        s = before(runs[tid], p) if p else None
        k = before(wakes[tid], s) if s else None
        i = bisect.bisect_left(writes[tid], b)
        w = writes[tid][i] if i < len(writes[tid]) else None
        if None in (r, p, s, k, w) or k < ts:
            # The thread was awake already when the event was sent, or
            # a probe's line was lost: count only what is known.
            k = s = p = max(ts, p or ts)
            r = max(r or p, p)
        t = [k - ts, s - k, p - s, r - p, b - r, (w or b) - b]
        for name, v in zip(STEPS, t):
            steps[name].append(v / 1e3)
        total = (w or b) - ts
        if total > args.late * 1e6:
            late.append((total, tid, ts, t))
    n = len(body)
    print("events traced: %d (threads %d)" % (n, len({b[0] for b in body})))
    print("%-48s %10s %10s %10s" % ("step (us)", "p50", "p99", "max"))
    for s in STEPS:
        print("%-48s %10.0f %10.0f %10.0f" % (
            WHAT[s], pct(steps[s], 50), pct(steps[s], 99),
            max(steps[s]) if steps[s] else float("nan")))
    print("events in the client's socket later than %.0f ms: %d"
          % (args.late, len(late)))
    held = defaultdict(int)
    for total, tid, ts, t in late:
        held[STEPS[max(range(len(t)), key=lambda i: t[i])]] += 1
    for s in STEPS:
        if held[s]:
            print("  held longest in '%s': %d" % (WHAT[s], held[s]))
    shown = defaultdict(int)
    for total, tid, ts, t in sorted(late, reverse=True):
        step = STEPS[max(range(len(t)), key=lambda i: t[i])]
        if shown[step] >= args.show:
            continue
        shown[step] += 1
        print("-- tid %d, event sent at %d, in the socket %.1f ms later,"
              " held in '%s':" % (tid, ts, total / 1e6, step))
        for ns, text in sorted(lines[tid]):
            if ts - 2e6 <= ns <= ts + total + 1e6:
                print("   %+9.3f ms  %s" % ((ns - ts) / 1e6, text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
