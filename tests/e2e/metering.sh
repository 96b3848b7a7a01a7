#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# metering.sh - usage metering end to end, as root, in a network namespace
# of its own: 100 mixed LLM responses (every fixture format, streaming and
# not, some gzip) from 8 concurrent clients through the redirect must give
# /v1/usage totals equal, per model and field, to what the upstream sent;
# a restart keeps them (no replay: from usage.db's summary); kill -9
# during a burst loses nothing counted, and after the restart the totals
# are exactly what usage.db holds and no more than the upstream sent.
# shellcheck source=tests/e2e/lib.sh
. "$top_srcdir/tests/e2e/lib.sh"
# shellcheck source=tests/e2e/netns.sh
. "$top_srcdir/tests/e2e/netns.sh"

ns_up --log-bodies
ok $? "namespace, redirect, DNS, upstream and proxy are up"

load() {	# load SEED N: the mix, as the intercepted user
	as_client "$CLIENT_PYTHON" "$work/helpers/mixed_load.py" \
		--host api.example.test --fixtures "$work/helpers/fixtures" \
		--seed "$1" -n "$2" --threads 8
}

# compare FILE-WITH-EXPECTED USAGE-JSON: exact per model and field.
compare() {
	"$PYTHON" - "$1" "$2" <<'PY'
import json, sys
exp = json.load(open(sys.argv[1]))
exp = exp.get("expected", exp)
got = json.load(open(sys.argv[2]))["models"]
bad = []
for model, e in exp.items():
    g = got.get(model)
    if g is None:
        bad.append("missing " + model)
        continue
    for f, v in e.items():
        if g[f] != v:
            bad.append("%s.%s: got %s want %s" % (model, f, g[f], v))
for model in got:
    if model not in exp:
        bad.append("unexpected model " + model)
if bad:
    print("\n".join("# " + b for b in bad))
sys.exit(1 if bad else 0)
PY
}

load 1 100 >"$work/load1.json"
ok $? "100 mixed requests from 8 clients all succeed"
grep -q 'body -> {"stream": ' "$work/proxy.log"
ok $? "--log-bodies logs decrypted request bodies at debug level"
# A record counts once it is on disk, a few ms after its response.
for _ in $(seq 100); do
	in_ns curl -s --max-time 5 "$API/v1/usage" >"$work/usage1.json"
	[ "$(json_get totals.requests <"$work/usage1.json")" = 100 ] && break
	sleep 0.05
done
compare "$work/load1.json" "$work/usage1.json"
ok $? "/v1/usage equals what the upstream sent, per model and field"
is "$(json_get totals.requests <"$work/usage1.json")" 100 "100 requests counted"
want_sgc=$(cd "$top_srcdir/tests/helpers" && "$PYTHON" -c '
import mixed_load as m
print(sum("streamGenerateContent" in m.PATHS[n] for n, _ in m.plan(100, 1)))')
is "$(json_get endpoints.streamGenerateContent <"$work/usage1.json")" \
	"$want_sgc" "endpoints counted by method name"
in_ns curl -s --max-time 5 "$API/v1/requests?limit=3" >"$work/recent.json"
is "$(json_get 0.host <"$work/recent.json")" api.example.test \
	"/v1/requests lists the newest records"
in_ns curl -s --max-time 5 "$API/metrics" >"$work/metrics"
if command -v promtool >/dev/null; then
	promtool check metrics <"$work/metrics" >"$work/promtool.out" 2>&1
	ok $? "promtool check metrics accepts /metrics with data"
	sed 's/^/# /' "$work/promtool.out"
fi
grep -q 'gen_ai_client_token_usage_total{gen_ai_provider_name="_OTHER",gen_ai_response_model="claude-sonnet-4-5-20250929",gen_ai_token_type="input"}' "$work/metrics"
ok $? "/metrics has token counters per provider, model and type"

# A restart reads usage.db's summary: identical totals.
proxy_stop
ok $? "proxy stopped"
proxy_start
ok $? "proxy restarted"
in_ns curl -s --max-time 5 "$API/v1/usage" >"$work/usage2.json"
compare "$work/load1.json" "$work/usage2.json"
ok $? "totals identical after a restart"

# kill -9 in the middle of a burst: every record counted before the kill
# is still there after the restart.
load 2 300 >"$work/load2.json" &
loadpid=$!
last=0
for _ in $(seq 100); do
	in_ns curl -s --max-time 2 "$API/v1/usage" >"$work/snap.json"
	n=$(json_get totals.requests <"$work/snap.json" 2>/dev/null)
	[ -n "$n" ] && last=$n && cp "$work/snap.json" "$work/before_kill.json"
	[ "$last" -ge 200 ] && break
	sleep 0.05
done
kill -9 "$proxy_pid"
wait "$proxy_pid" 2>/dev/null
wait "$loadpid"
diag "counted before kill -9: $last"
[ "$last" -gt 100 ]
ok $? "the burst was under way when the proxy was killed"
proxy_start
after=$(in_ns curl -s --max-time 5 "$API/v1/usage" | json_get totals.requests)
diag "counted after kill -9 and a restart: $after"
[ "$after" -ge "$last" ]
ok $? "kill -9 lost no record that /v1/usage had counted"
is "$after" "$(sqlite3 "$work/state/usage.db" 'SELECT count(*) FROM records')" \
	"every committed record is counted, none more"
# Per model and field: nothing shown before the kill is missing after
# it, and what is shown after is exactly what usage.db's rows hold.
in_ns curl -s --max-time 5 "$API/v1/usage" >"$work/usage3.json"
sqlite3 -json "$work/state/usage.db" "SELECT model, count(*) AS requests,
	sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
	sum(total_tokens) AS total_tokens FROM records WHERE model <> ''
	GROUP BY model" >"$work/rows.json"
"$PYTHON" - "$work/before_kill.json" "$work/usage3.json" "$work/rows.json" \
	"$work/upstream.log" "$top_srcdir/tests/fixtures/expected.json" <<'PY'
import json, sys, urllib.parse
before = json.load(open(sys.argv[1]))["models"]
after = json.load(open(sys.argv[2]))["models"]
rows = {r["model"]: r for r in json.load(open(sys.argv[3]))}
# The upstream's truth: what it was asked for, per model.
exp = json.load(open(sys.argv[5]))
truth = {}
for line in open(sys.argv[4]):
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(
        json.loads(line).get("path", "")).query))
    if q.get("fixture") in exp:
        e = exp[q["fixture"]]
        t = truth.setdefault(e["model"], {"requests": 0})
        t["requests"] += 1
        for f in ("input_tokens", "output_tokens", "total_tokens"):
            t[f] = t.get(f, 0) + e[f]
bad = []
for m, b in before.items():
    for f, v in b.items():
        if isinstance(v, int) and after.get(m, {}).get(f, -1) < v:
            bad.append("%s.%s: %s before the kill, %s after" %
                       (m, f, v, after.get(m, {}).get(f)))
for m, r in rows.items():
    for f in ("requests", "input_tokens", "output_tokens", "total_tokens"):
        if after.get(m, {}).get(f) != r[f]:
            bad.append("%s.%s: shown %s, rows %s" %
                       (m, f, after.get(m, {}).get(f), r[f]))
        if r[f] > truth.get(m, {}).get(f, 0):
            bad.append("%s.%s: %s stored, the upstream served %s" %
                       (m, f, r[f], truth.get(m, {}).get(f, 0)))
print("# upstream served %d, usage.db holds %d" % (
    sum(t["requests"] for t in truth.values()),
    sum(r["requests"] for r in rows.values())))
for x in bad:
    print("# " + x)
sys.exit(1 if bad else 0)
PY
ok $? "after kill -9: per model, nothing counted before is missing, totals equal the rows, none beyond what the upstream served"

proxy_stop
grep -q 'AddressSanitizer\|runtime error' "$work/proxy.log"
ok $(( $? == 0 )) "no sanitizer report in the proxy log"
tap_done
