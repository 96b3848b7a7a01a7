#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# report.py - turns bench/run's results.jsonl into the one table it prints
# and the JSON summary it keeps: each figure per target, its ratio to
# direct and to the best peer (mitmproxy or sslsplit), and the targets of
# issue 6 with where we stand. Python 3 stdlib only.
import argparse
import json
import sys

TARGETS = ["direct", "antigravity-proxy", "mitmproxy", "sslsplit"]
PEERS = ["mitmproxy", "sslsplit"]
OURS = "antigravity-proxy"

# (label, test, key, unit, lower_is_better)
ROWS = [
    ("TTFB warm p50", "ttfb_warm", "ttfb_p50_us", "us", True),
    ("TTFB warm p99", "ttfb_warm", "ttfb_p99_us", "us", True),
    ("TTFB new conn p50", "ttfb_new", "ttfb_p50_us", "us", True),
    ("TTFB new conn p99", "ttfb_new", "ttfb_p99_us", "us", True),
    ("SSE 5ms delay p50", "sse", "delay_p50_us", "us", True),
    ("SSE 5ms delay p99", "sse", "delay_p99_us", "us", True),
    ("SSE 5ms delay max", "sse", "delay_max_us", "us", True),
    ("SSE 5ms jitter p50", "sse", "jitter_p50_us", "us", True),
    ("SSE 5ms jitter p99", "sse", "jitter_p99_us", "us", True),
    ("down 64 MiB", "down", "mbps", "MB/s", False),
    ("up 1 MiB bodies", "up", "mbps", "MB/s", False),
    ("N streams peak RSS", "streams_rss", "peak_rss_mb", "MB", True),
    ("N streams CPU", "streams_cpu", "cpu_s", "s", True),
    ("N streams CPU stolen", "streams_steal", "steal_s", "s", True),
    ("N streams errors", "streams", "errors", "", True),
    ("N streams delay p50", "streams", "delay_p50_us", "us", True),
    ("N streams delay p99", "streams", "delay_p99_us", "us", True),
    ("N streams delay max", "streams", "delay_max_us", "us", True),
    ("N streams late > 50 ms", "streams", "late_50ms", "", True),
    ("N streams jitter p99", "streams", "jitter_p99_us", "us", True),
    ("N streams steady p99", "streams", "steady_p99_us", "us", True),
    ("N streams steady max", "streams", "steady_max_us", "us", True),
    ("N streams steady > 50 ms", "streams", "steady_late_50ms", "", True),
    ("N streams arrival p99", "streams", "arrival_p99_us", "us", True),
    ("N streams arrival max", "streams", "arrival_max_us", "us", True),
    ("N streams arrived > 50 ms", "streams", "arrival_late_50ms", "", True),
    ("N streams st. arrival max", "streams", "steady_arrival_max_us", "us",
     True),
    ("N streams st. arrived > 50ms", "streams", "steady_arrival_late_50ms",
     "", True),
    ("new TLS conn/s", "hs", "per_s", "/s", False),
]
# Figure 4e's rows: figure 4's, over the streams sent on connect.
ROWS += [(label.replace("N streams", "N on-connect"), "streams_each", key,
          unit, lower) for label, test, key, unit, lower in ROWS
         if test == "streams" and key in (
             "errors", "delay_p99_us", "delay_max_us", "late_50ms",
             "jitter_p99_us", "arrival_p99_us", "arrival_late_50ms")]
# Figures where the added part (target minus direct) is what counts.
ADDED = [
    ("added TTFB warm p50", "ttfb_warm", "ttfb_p50_us"),
    ("added TTFB warm p99", "ttfb_warm", "ttfb_p99_us"),
    ("added TTFB new p50", "ttfb_new", "ttfb_p50_us"),
    ("added SSE delay p50", "sse", "delay_p50_us"),
    ("added SSE delay p99", "sse", "delay_p99_us"),
    ("added N-stream delay p99", "streams", "delay_p99_us"),
]


def load(path):
    data = {}
    for line in open(path):
        line = line.strip()
        if not line:
            continue
        rec = json.loads(line)
        data.setdefault((rec.pop("target"), rec.pop("test")), {}).update(rec)
    return data


def get(data, target, test, key):
    v = data.get((target, test), {}).get(key)
    return None if v is None or v == -1 else v


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def best(vals, lower):
    vals = [v for v in vals if v is not None]
    if not vals:
        return None
    return min(vals) if lower else max(vals)


def fmt(v, width=10):
    if v is None:
        s = "-"
    elif isinstance(v, float) and abs(v) < 10 and v != int(v):
        s = "%.2f" % v
    else:
        s = "%.0f" % v
    return s.rjust(width)


def fmt_ratio(v):
    return ("-" if v is None else "%.2fx" % v).rjust(9)


def build_rows(data, streams):
    rows = []
    for label, test, key, unit, lower in ROWS:
        vals = {t: get(data, t, test, key) for t in TARGETS}
        ours = vals[OURS]
        rows.append({
            "figure": label.replace("N streams", "%d streams" % streams)
            .replace("N on-connect", "%d on-connect" % streams),
            "unit": unit, "lower_is_better": lower, "values": vals,
            "ratio_to_direct": {t: ratio(vals[t], vals["direct"])
                                for t in TARGETS[1:]},
            "ratio_to_best_peer": ratio(ours, best(
                [vals[p] for p in PEERS], lower)),
        })
    for label, test, key in ADDED:
        d = get(data, "direct", test, key)
        vals = {t: (None if get(data, t, test, key) is None or d is None
                    else get(data, t, test, key) - d) for t in TARGETS[1:]}
        vals["direct"] = 0.0 if d is not None else None
        rows.append({
            "figure": label.replace("N-stream", "%d-stream" % streams),
            "unit": "us", "lower_is_better": True, "values": vals,
            "ratio_to_direct": {}, "ratio_to_best_peer": ratio(
                vals[OURS], best([vals[p] for p in PEERS], True)),
        })
    return rows


def rounds(data, test, key):
    """The values of test_1, test_2, ... in order, None where missing."""
    out = []
    i = 1
    while (OURS, "%s_%d" % (test, i)) in data:
        out.append(get(data, OURS, "%s_%d" % (test, i), key))
        i += 1
    return out


def median(vals):
    vals = sorted(v for v in vals if v is not None)
    if not vals:
        return None
    n = len(vals)
    return vals[n // 2] if n % 2 else (vals[n // 2 - 1] + vals[n // 2]) / 2


def paired_cost(on, off, sign):
    """Median over rounds of the cost of on against the off beside it:
    sign 1 for a rate (1 - on/off), -1 for a time (on/off - 1)."""
    r = [None if not a or not b else
         100.0 * ((1 - a / b) if sign > 0 else (a / b - 1))
         for a, b in zip(on, off)]
    return median(r), [x for x in r if x is not None]


def metering(data):
    m = {}
    for ct in ("sse", "opaque"):
        down = rounds(data, "meter_down_" + ct, "mbps")
        cpu = rounds(data, "meter_cpu_" + ct, "cpu_s")
        m[ct] = {
            "delay_p50_us": get(data, OURS, "meter_sse_" + ct,
                                "delay_p50_us"),
            "delay_p99_us": get(data, OURS, "meter_sse_" + ct,
                                "delay_p99_us"),
            "down_mbps": median(down),
            "cpu_s_256mib": median(cpu),
            "down_mbps_rounds": down,
            "cpu_s_rounds": cpu,
        }
    m["throughput_cost_pct"], m["throughput_cost_rounds"] = paired_cost(
        m["sse"]["down_mbps_rounds"], m["opaque"]["down_mbps_rounds"], 1)
    m["cpu_cost_pct"], m["cpu_cost_rounds"] = paired_cost(
        m["sse"]["cpu_s_rounds"], m["opaque"]["cpu_s_rounds"], -1)
    m["metered_requests"] = get(data, OURS, "meter_check",
                                "metered_requests")
    m["aa"] = bool(get(data, OURS, "meter_aa", "both_metered"))
    return m


def targets_check(rows, data, m):
    byfig = {r["figure"]: r for r in rows}
    out = []

    def add(name, value, ok):
        out.append({"target": name, "value": value,
                    "met": None if ok is None else bool(ok)})

    a = byfig["added TTFB warm p50"]["values"]
    ok = None
    if None not in (a[OURS], a["mitmproxy"], a["sslsplit"]):
        ok = a[OURS] < a["mitmproxy"] / 10 and a[OURS] <= a["sslsplit"]
    add("added warm TTFB < 1/10 mitmproxy's and <= sslsplit's",
        "%s / %s / %s us" % tuple(fmt(a[t], 0) for t in
                                  (OURS, "mitmproxy", "sslsplit")), ok)
    a = byfig["added SSE delay p99"]["values"][OURS]
    add("added per-event delay p99 < 1 ms", "%s us" % fmt(a, 0),
        None if a is None else a < 1000)
    for key in ("down 64 MiB", "up 1 MiB bodies"):
        r = byfig[key]["ratio_to_direct"][OURS]
        add("throughput (%s) >= half of direct" % key,
            fmt_ratio(r).strip(), None if r is None else r >= 0.5)
    errs = get(data, OURS, "streams", "errors")
    rss = get(data, OURS, "streams_rss", "peak_rss_mb")
    add("many streams: zero errors, peak RSS < 150 MB",
        "%s errors, %s MB" % (fmt(errs, 0), fmt(rss, 0)),
        None if errs is None or rss is None else errs == 0 and rss < 150)
    hs = byfig["new TLS conn/s"]["values"]
    add("handshakes/s >= sslsplit's", "%s vs %s" % (
        fmt(hs[OURS], 0), fmt(hs["sslsplit"], 0)),
        None if None in (hs[OURS], hs["sslsplit"])
        else hs[OURS] >= hs["sslsplit"])
    for test, what in (("streams", "streams"),
                       ("streams_each", "streams sent on connect")):
        p99 = {t: get(data, t, test, "delay_p99_us") for t in TARGETS}
        mx = get(data, OURS, test, "delay_max_us")
        late = get(data, OURS, test, "late_50ms")
        if test == "streams_each" and p99[OURS] is None:
            continue
        add("%s: delay p99 <= sslsplit's, max < 100 ms, 0 events > 50 ms"
            % what, "%s / %s us, max %s us, %s late" % (
                fmt(p99[OURS], 0), fmt(p99["sslsplit"], 0), fmt(mx, 0),
                fmt(late, 0)),
            None if None in (p99[OURS], p99["sslsplit"], mx, late)
            else p99[OURS] <= p99["sslsplit"] and mx < 100000 and late == 0)
    c = m["throughput_cost_pct"]
    add("metering costs < 5% of throughput", "%s %%" % fmt(c, 0),
        None if c is None or m["aa"] else c < 5)
    return out


def print_table(rows, m, checks, args):
    w = 24
    print("antigravity-proxy benchmark: %d streams x %d s; run took %d s"
          % (args.streams, args.hold, args.elapsed))
    print("%-*s %5s" % (w, "figure", "unit") +
          "".join(t[:10].rjust(11) for t in
                  ["direct", "agp", "mitmproxy", "sslsplit"]) +
          "  agp/direct agp/bestpeer")
    for r in rows:
        v = r["values"]
        print("%-*s %5s" % (w, r["figure"], r["unit"]) +
              "".join(" " + fmt(v.get(t)) for t in TARGETS) + "  " +
              fmt_ratio(r["ratio_to_direct"].get(OURS)) + "   " +
              fmt_ratio(r["ratio_to_best_peer"]))
    print()
    print("metering (antigravity-proxy; SSE metered vs opaque type "
          "skipped):")
    for ct, name in (("sse", "on "), ("opaque", "off")):
        x = m[ct]
        print("  %s  SSE delay p50 %s us p99 %s us | 64 MiB down %s MB/s"
              " | proxy CPU %s s per 256 MiB (medians)" % (
                  name, fmt(x["delay_p50_us"], 0), fmt(x["delay_p99_us"], 0),
                  fmt(x["down_mbps"], 0), fmt(x["cpu_s_256mib"], 0)))
    print("  throughput cost %s %%, CPU cost %s %% (medians of %d paired "
          "rounds), metered requests %s" % (
              fmt(m["throughput_cost_pct"], 0), fmt(m["cpu_cost_pct"], 0),
              len(m["throughput_cost_rounds"]),
              fmt(m["metered_requests"], 0)))
    if m["aa"]:
        print("  A/A (AGP_METER_AA): both halves metered, so the cost above"
              " is the figure's noise")
    print("  rounds, throughput cost %%: %s" % " ".join(
        "%.0f" % v for v in m["throughput_cost_rounds"]))
    print("  rounds, CPU cost %%:        %s" % " ".join(
        "%.0f" % v for v in m["cpu_cost_rounds"]))
    if args.ledger:
        print(args.ledger)
    if args.meter:
        print("meter alone (bench/meter):")
        for line in args.meter.splitlines():
            print("  " + line)
    print()
    print("targets (issues 6 and 17):")
    for c in checks:
        mark = {True: "met ", False: "MISS", None: "n/a "}[c["met"]]
        print("  [%s] %s: %s" % (mark, c["target"], c["value"]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("summary")
    ap.add_argument("--streams", type=int, default=1000)
    ap.add_argument("--hold", type=int, default=30)
    ap.add_argument("--elapsed", type=int, default=0)
    ap.add_argument("--ledger", default="")
    ap.add_argument("--meter", default="")
    args = ap.parse_args()
    data = load(args.results)
    rows = build_rows(data, args.streams)
    m = metering(data)
    checks = targets_check(rows, data, m)
    print_table(rows, m, checks, args)
    raw = [{"target": k[0], "test": k[1], **v} for k, v in data.items()]
    with open(args.summary, "w") as f:
        json.dump({"streams": args.streams, "hold_s": args.hold,
                   "elapsed_s": args.elapsed, "rows": rows, "metering": m,
                   "targets": checks, "ledger": args.ledger,
                   "meter": args.meter, "raw": raw},
                  f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
