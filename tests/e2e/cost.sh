#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# cost.sh - cost and attribution end to end, as root, in a network
# namespace of this test's: two agents, each started by `antigravity-proxy
# run` as an ordinary user with a credential of its own, record at the
# same time through the redirect; ?by=agent,key splits them exactly, with
# the right fingerprints and costs, and neither credential appears in the
# state dir, usage.db or the log. Then every cost fixture through the
# proxy: ?by=model at the table's prices, the unknown model unpriced,
# a bad ?by= is a 400 in JSON, /metrics has the cost counter (promtool),
# and a stream the client cuts is kept, priced on what it had, marked
# incomplete, and not read further.
# shellcheck source=tests/e2e/lib.sh
. "$top_srcdir/tests/e2e/lib.sh"
# shellcheck source=tests/e2e/netns.sh
. "$top_srcdir/tests/e2e/netns.sh"

PERSON=agp-cost	# an ordinary user running both agents
N=10		# requests per agent
K1="sk-ant-api03-e2eONE$$x$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
K2="sk-ant-oat01-e2eTWO$$x$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
K3="AIzaE2eTHREE$$x$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
U1="https://api.example.test/v1/messages?fixture=anthropic.json"
U2="https://api.example.test/v1/responses?fixture=openai_responses_stream.sse"

ns_up --prices "$top_srcdir/data/prices.json"
ok $? "namespace, redirects, DNS, upstream and proxy (with --prices) are up"

cleanup() {
	ns_down
	userdel "$PERSON" 2>/dev/null
}
trap cleanup EXIT
id -u "$PERSON" >/dev/null 2>&1 ||
	useradd --no-create-home --home-dir "$work/person" --shell /bin/sh \
		"$PERSON" || exit 1
usermod -d "$work/person" "$PERSON"
mkdir -p "$work/person" "$work/bin"
chown -R "$PERSON" "$work/person"
# Two agents: `run` names a run after its command.
ln -s "$(command -v curl)" "$work/bin/agent-one"
ln -s "$(command -v curl)" "$work/bin/agent-two"

prun() {	# prun CMD...: `run -- CMD` as $PERSON
	ip netns exec "$NS" runuser -u "$PERSON" -- "$PROXY" --config \
		/dev/null --log-level warn --control-socket \
		"$work/control.sock" run -- "$@"
}
# agent NAME HEADER URL: N requests in parallel through one run.
agent() {
	name=$1 hdr=$2 url=$3
	set --
	for _ in $(seq $N); do set -- "$@" -o /dev/null "$url"; done
	prun "$work/bin/$name" -sS --max-time 30 -Z --parallel-max 4 \
		-w '%{http_code}\n' -X POST -H "$hdr" \
		-H 'content-type: application/json' -d '{"stream": true}' "$@"
}
usage() {	# usage [QUERY]
	in_ns curl -s --max-time 5 "$API/v1/usage$1"
}
wait_requests() {	# wait_requests N: until N are counted
	for _ in $(seq 100); do
		[ "$(usage | json_get totals.requests)" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
fp() {	# the fingerprint of a credential
	printf %s "$1" | sha256sum | cut -c1-8
}

agent agent-one "x-api-key: $K1" "$U1" >"$work/one.out" 2>&1 &
p1=$!
agent agent-two "Authorization: Bearer $K2" "$U2" >"$work/two.out" 2>&1 &
p2=$!
wait $p1
ok $? "agent-one: run -- ... exit status 0"
wait $p2
ok $? "agent-two: run -- ... exit status 0"
is "$(grep -c '^200$' "$work/one.out") $(grep -c '^200$' "$work/two.out")" \
	"$N $N" "each agent's $N requests answered 200"
wait_requests $((2 * N))
ok $? "$((2 * N)) records counted"

usage "?by=agent,key" >"$work/by_agent_key.json"
"$PYTHON" - "$work/by_agent_key.json" "$(fp "$K1")" "$(fp "$K2")" $N <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
k1, k2, n = sys.argv[2], sys.argv[3], int(sys.argv[4])
assert doc["by"] == ["agent", "key"], doc
g = {(x["agent"], x["key"]): x for x in doc["groups"]}
assert set(g) == {("agent-one", k1), ("agent-two", k2)}, sorted(g)
one, two = g[("agent-one", k1)], g[("agent-two", k2)]
assert one["requests"] == n and two["requests"] == n, (one, two)
assert one["key_kind"] == "api_key" and two["key_kind"] == "oauth"
# anthropic.json: claude-opus-4-1 at 15/30 (1h writes)/75 per MTok
c1 = (2210 * 15 + 4200 * 30 + 388 * 75) / 1e6
# openai_responses_stream.sse: gpt-5-mini at 0.25/0.025/2
c2 = ((4102 - 3584) * 0.25 + 3584 * 0.025 + (266 + 1024) * 2) / 1e6
assert abs(one["cost_usd"] - n * c1) < 1e-9, (one["cost_usd"], n * c1)
assert abs(two["cost_usd"] - n * c2) < 1e-9, (two["cost_usd"], n * c2)
assert one["input_tokens"] == n * 6410 and two["input_tokens"] == n * 4102
assert abs(doc["totals"]["cost_usd"] - n * (c1 + c2)) < 1e-9, doc["totals"]
assert doc["prices"]["version"].endswith("2026-12-02"), doc["prices"]
PY
ok $? "?by=agent,key: two groups, exact requests, tokens and cost, keys marked"
sed 's/^/# /' "$work/by_agent_key.json"

# A key in the query, as Gemini clients send it.
as_client curl -sS --cacert "$work/bundle.pem" --max-time 10 -o /dev/null \
	-X POST -d '{}' \
	"https://api.example.test/v1beta/models/gemini-2.0-flash:streamGenerateContent?fixture=gemini_public_stream_array.json&key=$K3"
wait_requests $((2 * N + 1))
ok $? "a request with key= in its query is counted"
in_ns curl -s --max-time 5 "$API/v1/requests?limit=1" | json_get 0.key \
	>"$work/k3"
is "$(cat "$work/k3")" "$(fp "$K3")" "its record carries the key's fingerprint"

# The credentials, nowhere: not in the state dir (usage.db and its WAL
# included, read as bytes), not in a dump of usage.db, not in the log.
found=$(grep -r -a -l -F -e "$K1" -e "$K2" -e "$K3" "$work/state" \
	"$work/proxy.log" "$work/one.out" "$work/two.out" 2>/dev/null)
is "$found" "" "no credential appears in the state dir or the logs"
sqlite3 "$work/state/usage.db" .dump |
	grep -c -F -e "$K1" -e "$K2" -e "$K3" >"$work/dump.count"
is "$(cat "$work/dump.count")" 0 "nor in a dump of usage.db"
[ "$(grep -c -F "$(fp "$K1")" "$work/proxy.log")" -eq 0 ] ||
	diag "(the log has the fingerprint only)"
grep -q -F "$K1" "$work/upstream.log" && grep -q -F "$K3" "$work/upstream.log"
ok $? "(the credentials did reach the upstream: the grep would find them)"

# Every priced and unpriced case through the proxy, as the test user.
for f in anthropic_stream.sse cost_anthropic_cache_split.json \
	cost_gemini_long_context.json cloudcode_stream.sse \
	openai_chat.json cost_unknown_model.json; do
	as_client curl -sS --cacert "$work/bundle.pem" --max-time 10 -o /dev/null -X POST -d '{}' \
		"https://api.example.test/v1/x?fixture=$f"
done
wait_requests $((2 * N + 7))
ok $? "six fixtures more counted"
usage "?by=model" >"$work/by_model.json"
"$PYTHON" - "$work/by_model.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
g = {x["model"]: x for x in doc["groups"]}
want = {
    "claude-sonnet-4-5-20250929":
        (42 * 3 + 18304 * 0.3 + 1536 * 3.75 + (276 + 455) * 15) / 1e6,
    "claude-opus-4-5-20251101":
        (1000 * 5 + 5000 * 0.5 + 1000 * 6.25 + 2000 * 10 + 600 * 25) / 1e6,
    "gemini-2.5-pro": (130000 * 2.5 + 120000 * 0.25 + 3000 * 15
                       + 2588 * 1.25 + 12288 * 0.125 + 1048 * 10) / 1e6,
    "gpt-4.1-2025-04-14": (342 * 2 + 1024 * 0.5 + 97 * 8) / 1e6,
}
for m, usd in want.items():
    assert abs(g[m]["cost_usd"] - usd) < 1e-9, (m, g[m]["cost_usd"], usd)
u = g["acme-coder-7"]
assert u["cost_usd"] is None and u["unpriced_requests"] == 1, u
PY
ok $? "?by=model: each model at the table's prices, the unknown one null"
sed 's/^/# /' "$work/by_model.json"
usage >"$work/usage.json"
"$PYTHON" - "$work/usage.json" <<'PY'
import json, sys
u = json.load(open(sys.argv[1]))
assert u["unpriced"] == ["acme-coder-7"], u["unpriced"]
assert u["models"]["acme-coder-7"]["cost_usd"] is None
assert u["totals"]["unpriced_requests"] == 1
assert u["totals"]["cost_usd"] > 1.9, u["totals"]
assert abs(u["models"]["claude-opus-4-1-20250805"]["cost_usd"] - 1.8825) < 1e-9
PY
ok $? "/v1/usage: cost_usd per model and in the totals, unpriced listed"

code=$(in_ns curl -s --max-time 5 -o "$work/bad.json" -w '%{http_code}' \
	"$API/v1/usage?by=model,cost")
is "$code" 400 "?by=model,cost is 400"
is "$(json_get status <"$work/bad.json")" 400 "in JSON"
usage "?by=day,model" | json_get by >"$work/by2"
is "$(cat "$work/by2")" '["day", "model"]' "?by=day,model combines"

in_ns curl -s --max-time 5 "$API/metrics" >"$work/metrics"
grep -q '^antigravity_proxy_cost_usd_total{gen_ai_provider_name="_OTHER",gen_ai_response_model="claude-opus-4-1-20250805"} 1.882500000$' \
	"$work/metrics"
ok $? "/metrics: the cost counter per provider and model"
grep -q '^antigravity_proxy_agent_cost_usd_total{gen_ai_agent_name="agent-one"} ' \
	"$work/metrics"
ok $? "/metrics: the cost counter per agent"
grep -q '^# HELP antigravity_proxy_cost_usd_total ' "$work/metrics"
ok $? "with a HELP line"
if command -v promtool >/dev/null; then
	promtool check metrics <"$work/metrics" >"$work/promtool.out" 2>&1
	ok $? "promtool check metrics accepts it"
	sed 's/^/# /' "$work/promtool.out"
fi

# A stream the client cuts: 250 bytes a second of a 2237-byte stream
# that would take 9 s; the client leaves after 1.5 s, past message_start.
t0=$(date +%s%N)
as_client curl -sS --cacert "$work/bundle.pem" --max-time 1.5 -o /dev/null -X POST -d '{}' \
	"https://api.example.test/v1/messages?fixture=anthropic_stream.sse&chunk=250&delay_ms=1000" \
	2>/dev/null
is "$?" 28 "the client gave up after 1.5 s"
wait_requests $((2 * N + 8))
ok $? "the cut stream is recorded"
in_ns curl -s --max-time 5 "$API/v1/requests?limit=1" >"$work/cut.json"
"$PYTHON" - "$work/cut.json" "$t0" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))[0]
assert r["model"] == "claude-sonnet-4-5-20250929", r
assert r["complete"] is False, r
assert r["input_tokens"] == 19882 and r["cached_tokens"] == 18304, r
assert r["cache_write_5m_tokens"] == 1536, r
# message_start's provisional output: 6
usd = (42 * 3 + 18304 * 0.3 + 1536 * 3.75 + r["output_tokens"] * 15) / 1e6
assert r["output_tokens"] == 6 and abs(r["cost_usd"] - usd) < 1e-12, r
# Not read past the cut: recorded seconds before the stream's end (9 s).
assert r["duration_ms"] < 5000, r["duration_ms"]
PY
ok $? "kept with message_start's counts, priced on them, incomplete, not read to its end"
sed 's/^/# /' "$work/cut.json"

# `prices import`: LiteLLM's format into ours, to stdout or a file.
"$PROXY" prices import "$top_srcdir/tests/fixtures/litellm_sample.json" \
	>"$work/imported.out" 2>"$work/imported.err"
ok $? "prices import FILE writes to stdout"
"$PROXY" prices import "$top_srcdir/tests/fixtures/litellm_sample.json" \
	"$work/imported.json" 2>>"$work/imported.err"
ok $? "prices import FILE OUTFILE"
cmp -s "$work/imported.out" "$work/imported.json"
ok $? "the same document both ways"
"$PYTHON" - "$work/imported.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == "antigravity-proxy-prices/1", d
m = d["models"]
assert sorted(m) == ["claude-sonnet-4-5-20250929", "gemini/gemini-2.5-pro",
                     "gpt-5-mini"], sorted(m)
s = m["claude-sonnet-4-5-20250929"]
assert (s["input"], s["output"], s["cache_write_1h"]) == (3, 15, 6), s
assert s["long_context"]["threshold"] == 200000, s
PY
ok $? "its models and rates, per million tokens"
"$PROXY" prices import /nonexistent 2>/dev/null
is "$?" 1 "a missing file: exit 1"

tap_done
