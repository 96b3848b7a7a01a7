#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# fleet.sh - a fleet seen through a real Prometheus, as root, in a network
# namespace of this test's: two daemons (own ports, state dirs, agents
# cgroups and redirects) meter mixed traffic of three agents to the
# Anthropic, Gemini and OpenAI hosts (fakeagents.py). Debian's prometheus,
# in the namespace on a port of its own, scrapes both every second with
# the shipped alert rules loaded; its PromQL sums per model, token type,
# agent and provider equal the sums of the two daemons' /v1/usage
# exactly, and the cost within print precision. promtool passes the
# shipped configuration and rules, their unit test (fleet/alerts_test.yml)
# and each daemon's /metrics; every query of the Grafana dashboard runs
# on the real server. Last, 33 new models on one daemon: the first ones
# up to the cap of 32 pairs keep series of their own, the rest are one
# "other", counted as folded, and the sums still match.
# shellcheck source=tests/e2e/lib.sh
. "$top_srcdir/tests/e2e/lib.sh"
# shellcheck source=tests/e2e/netns.sh
. "$top_srcdir/tests/e2e/netns.sh"

command -v prometheus >/dev/null || skip_all "needs prometheus (Debian's)"
command -v promtool >/dev/null || skip_all "needs promtool"
PERSON=agp-fleet	# an ordinary user running the agents
AGENTS_B="$AGENTS-b"	# daemon B's agents cgroup
API_B="http://127.0.0.1:8751"
PROM="http://127.0.0.1:19090"	# the namespace's own: not the host's :9090
top=$(cd "$top_srcdir" && pwd)

ns_up --prices "$top/data/prices.json"
ok $? "namespace, redirects, DNS, upstreams and daemon A are up"

cleanup() {
	ns_down
	if [ -d "$AGENTS_DIR-b" ]; then
		for d in "$AGENTS_DIR-b"/run-*; do
			[ -d "$d" ] || continue
			xargs -r kill -KILL <"$d/cgroup.procs" 2>/dev/null
			for _ in 1 2 3 4 5; do rmdir "$d" 2>/dev/null && break; sleep 0.2; done
		done
		rmdir "$AGENTS_DIR-b"
	fi
	userdel "$PERSON" 2>/dev/null
}
trap cleanup EXIT

# Daemon B: the same upstreams, its own everything else. Its agents
# cgroup is redirected to its own MITM port.
mkdir "$AGENTS_DIR-b" || exit 1
for ipt in iptables ip6tables; do
	in_ns $ipt -t nat -A OUTPUT -p tcp --dport 443 -m cgroup \
		--path "$AGENTS_B" -j REDIRECT --to-ports 8743 || exit 1
done
ns_bg_sys "$PROXY" --config /dev/null --state-dir "$work/state-b" \
	--control-socket "$work/control-b.sock" --agents-cgroup "$AGENTS_B" \
	--api-listen 127.0.0.1:8751 --mitm-listen 0.0.0.0:8743 \
	--mitm-listen '[::]:8743' --dns-server "$DNS_IP" \
	--upstream-ca "$work/up/ca.pem" --intercept '*.example.test' \
	--prices "$top/data/prices.json" --log-level debug --user root \
	2>>"$work/proxy-b.log"
for _ in $(seq 100); do
	in_ns curl -s -o /dev/null --max-time 1 "$API_B/health" && break
	sleep 0.1
done
in_ns curl -s -o /dev/null --max-time 1 "$API_B/health"
ok $? "daemon B is up on its own ports"

id -u "$PERSON" >/dev/null 2>&1 ||
	useradd --no-create-home --home-dir "$work/person" --shell /bin/sh \
		"$PERSON" || exit 1
usermod -d "$work/person" "$PERSON"
mkdir -p "$work/person" "$work/bin"
chown -R "$PERSON" "$work/person"

# An agent: `run` names a run after its command, so each name is a link
# to one script. Its arguments are "KIND MODEL COUNT" triples.
cat >"$work/bin/agent" <<'EOF'
#!/bin/sh
while [ $# -ge 3 ]; do
	kind=$1 model=$2 n=$3
	shift 3
	case $kind in
	anthropic) url=https://api.anthropic.com/v1/messages
		hdr="x-api-key: sk-ant-fleet"
		body='{"model":"'$model'","max_tokens":16,"stream":true,"messages":[{"role":"user","content":"hi"}]}' ;;
	gemini) url="https://generativelanguage.googleapis.com/v1beta/models/$model:streamGenerateContent?alt=sse"
		hdr="x-goog-api-key: AIzaFleet"
		body='{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}' ;;
	openai) url=https://api.openai.com/v1/responses
		hdr="Authorization: Bearer sk-fleet"
		body='{"model":"'$model'","input":"hi","stream":true}' ;;
	esac
	for _ in $(seq "$n"); do
		curl -sS --max-time 20 -o /dev/null -w '%{http_code}\n' \
			-X POST -H "$hdr" -H 'anthropic-version: 2023-06-01' \
			-H 'content-type: application/json' -d "$body" "$url"
	done
done
EOF
chmod 755 "$work/bin/agent"
for a in agent-alpha agent-beta agent-gamma agent-cap; do
	ln -s agent "$work/bin/$a"
done

prun() {	# prun SOCKET AGENT ARGS...: the agent through `run`
	sock=$1 name=$2
	shift 2
	ip netns exec "$NS" runuser -u "$PERSON" -- "$PROXY" --config \
		/dev/null --log-level warn --control-socket "$sock" run -- \
		"$work/bin/$name" "$@"
}
requests() {	# requests API: the counted total
	in_ns curl -s --max-time 5 "$1/v1/usage" | json_get totals.requests
}
wait_requests() {	# wait_requests API N
	for _ in $(seq 100); do
		[ "$(requests "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
query() {	# query PROMQL: the JSON answer of Prometheus' API
	in_ns curl -s --max-time 5 -G --data-urlencode "query=$1" \
		"$PROM/api/v1/query"
}

# Prometheus first, so that it scrapes the counters while they grow.
cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $top/contrib/prometheus/alerts.yml
scrape_configs:
  - job_name: antigravity-proxy
    static_configs:
      - targets: ["127.0.0.1:8741"]
        labels: {instance: host-a}
      - targets: ["127.0.0.1:8751"]
        labels: {instance: host-b}
EOF
ns_bg prometheus --config.file="$work/prometheus.yml" \
	--storage.tsdb.path="$work/tsdb" --web.listen-address="${PROM#http://}" \
	--log.level=warn 2>"$work/prometheus.log"
up=""
for _ in $(seq 200); do
	up=$(in_ns curl -s --max-time 2 "$PROM/api/v1/targets" | "$PYTHON" -c '
import json, sys
t = json.load(sys.stdin)["data"]["activeTargets"]
print(" ".join(sorted(x["labels"]["instance"] + "=" + x["health"] for x in t)))
' 2>/dev/null)
	[ "$up" = "host-a=up host-b=up" ] && break
	sleep 0.1
done
is "$up" "host-a=up host-b=up" "prometheus scrapes both daemons"
[ "$up" = "host-a=up host-b=up" ] || sed 's/^/# /' "$work/prometheus.log"

# Mixed traffic: three agents, one of them on both hosts; 8 requests to
# A, 6 to B.
A="$work/control.sock" B="$work/control-b.sock"
prun "$A" agent-alpha anthropic claude-sonnet-4-5-20250929 3 \
	gemini gemini-2.5-flash 2 >"$work/t1.out" 2>&1 &
p1=$!
prun "$A" agent-beta openai gpt-5-mini 2 \
	anthropic claude-opus-4-1-20250805 1 >"$work/t2.out" 2>&1 &
p2=$!
prun "$B" agent-alpha anthropic claude-sonnet-4-5-20250929 2 \
	openai gpt-5-mini 1 >"$work/t3.out" 2>&1 &
p3=$!
prun "$B" agent-gamma gemini gemini-2.5-pro 2 \
	gemini gemini-2.5-flash 1 >"$work/t4.out" 2>&1 &
p4=$!
wait $p1 && wait $p2 && wait $p3 && wait $p4
ok $? "four runs of three agents, exit status 0"
is "$(cat "$work"/t[1-4].out | grep -c '^200$')" 14 "14 responses 200"
wait_requests "$API" 8 && wait_requests "$API_B" 6
ok $? "A counted 8 records, B 6"

# Until Prometheus has scraped the last of them.
n=""
for _ in $(seq 100); do
	n=$(query 'sum(antigravity_proxy_model_requests_total)' |
		json_get data.result.0.value.1 2>/dev/null)
	[ "$n" = 14 ] && break
	sleep 0.2
done
is "$n" 14 "PromQL: 14 responses over the fleet"

check_sums() {	# check_sums: PromQL against the daemons' /v1/usage
	in_ns "$PYTHON" - "$API" "$API_B" "$PROM" <<'PY'
import json, sys, urllib.parse, urllib.request
a, b, prom = sys.argv[1:4]
def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)
def q(expr, by):
    d = get(prom + "/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    assert d["status"] == "success", d
    return {x["metric"].get(by, ""): float(x["value"][1])
            for x in d["data"]["result"]}
docs = [get(a + "/v1/usage"), get(b + "/v1/usage")]
want = {}
for doc in docs:
    for m, row in doc["models"].items():
        w = want.setdefault(m, {})
        for k, v in row.items():
            if k.endswith("_tokens") or k in ("requests", "cost_usd"):
                w[k] = w.get(k, 0) + (v or 0)
fails = 0
def same(what, got, exp, tol=0):
    global fails
    bad = set(got) != set(exp) or any(abs(got[k] - exp[k]) > tol for k in exp)
    print("#", what, "got", sorted(got.items()), "want", sorted(exp.items()))
    if bad:
        print("# MISMATCH:", what)
        fails += 1
for t in ("input", "output", "thinking", "cached", "cache_creation"):
    same(t, q('sum by (gen_ai_response_model) (gen_ai_client_token_usage_total'
              '{gen_ai_token_type="%s"})' % t, "gen_ai_response_model"),
         {m: w[t + "_tokens"] for m, w in want.items()})
same("requests", q("sum by (gen_ai_response_model) "
                   "(antigravity_proxy_model_requests_total)",
                   "gen_ai_response_model"),
     {m: w["requests"] for m, w in want.items()})
# Each daemon prints a cost to the nano-dollar (%.9f), /v1/usage rounds
# to it: at most half a nano-dollar apart per series and document.
same("cost", q("sum by (gen_ai_response_model) "
               "(antigravity_proxy_cost_usd_total)", "gen_ai_response_model"),
     {m: w["cost_usd"] for m, w in want.items()}, 2e-9)
same("total cost", q("sum(antigravity_proxy_cost_usd_total)", ""),
     {"": sum(d["totals"]["cost_usd"] for d in docs)}, 2e-8)
# Per agent, against ?by=agent of each daemon.
agents = {}
for url in (a, b):
    for g in get(url + "/v1/usage?by=agent")["groups"]:
        w = agents.setdefault(g["agent"], {"cost_usd": 0, "input_tokens": 0})
        w["cost_usd"] += g["cost_usd"] or 0
        w["input_tokens"] += g["input_tokens"]
same("agent cost", q("sum by (gen_ai_agent_name) "
                     "(antigravity_proxy_agent_cost_usd_total)",
                     "gen_ai_agent_name"),
     {k: v["cost_usd"] for k, v in agents.items()}, 2e-8)
same("agent input", q('sum by (gen_ai_agent_name) (antigravity_proxy_agent_'
                      'token_usage_total{gen_ai_token_type="input"})',
                      "gen_ai_agent_name"),
     {k: v["input_tokens"] for k, v in agents.items()})
prov = {"claude": "anthropic", "gemini": "gcp.gemini", "gpt": "openai"}
byp = {}
for m, w in want.items():
    p = prov.get(m.split("-")[0], "anthropic")	# fleet-cap-*: anthropic
    byp[p] = byp.get(p, 0) + w["input_tokens"]
same("provider input", q('sum by (gen_ai_provider_name) (gen_ai_client_token_'
                         'usage_total{gen_ai_token_type="input"})',
                         "gen_ai_provider_name"), byp)
sys.exit(1 if fails else 0)
PY
}
check_sums
ok $? "PromQL sums per model (5 token types, requests, cost), agent and provider equal the two /v1/usage"

# promtool: the shipped files, their unit test, and each /metrics.
promtool check config "$top/contrib/prometheus/prometheus.yml" \
	>"$work/pt.out" 2>&1
ok $? "promtool check config contrib/prometheus/prometheus.yml"
promtool check rules "$top/contrib/prometheus/alerts.yml" >>"$work/pt.out" 2>&1
ok $? "promtool check rules contrib/prometheus/alerts.yml"
(cd "$top/tests/e2e/fleet" && promtool test rules alerts_test.yml) \
	>>"$work/pt.out" 2>&1
ok $? "promtool test rules: the spend, degraded, lost and down alerts fire as meant"
for api in "$API" "$API_B"; do
	in_ns curl -s --max-time 5 "$api/metrics" >"$work/metrics"
	promtool check metrics <"$work/metrics" >>"$work/pt.out" 2>&1
	ok $? "promtool check metrics: $api/metrics"
done
sed 's/^/# /' "$work/pt.out"
grep -q '^gen_ai_client_token_usage_total{gen_ai_provider_name="gcp.gemini",gen_ai_response_model="gemini-2.5-pro",gen_ai_token_type="thinking"} [1-9]' \
	"$work/metrics"
ok $? "B's /metrics: Gemini's thinking tokens under gcp.gemini"
grep -q 'key\|sk-\|AIza' "$work/metrics"
ok $(($? != 1)) "no key fingerprint or credential in /metrics"

# The rules loaded in the running server evaluate without error.
in_ns curl -s --max-time 5 "$PROM/api/v1/rules" | "$PYTHON" -c '
import json, sys
g = json.load(sys.stdin)["data"]["groups"]
r = [x for grp in g for x in grp["rules"]]
bad = [x["name"] for x in r if x.get("health") != "ok"]
print("# %d rules, not ok: %s" % (len(r), bad))
sys.exit(1 if len(r) != 8 or bad else 0)'
ok $? "prometheus loaded the 8 shipped rules, all healthy"

# Every query of the Grafana dashboard, its variables substituted, runs
# on the real server and returns data.
in_ns "$PYTHON" - "$top/contrib/grafana/antigravity-proxy.json" "$PROM" <<'PY'
import json, sys, time, urllib.parse, urllib.request
d = json.load(open(sys.argv[1]))
prom = sys.argv[2]
var = {v["name"]: v for v in d["templating"]["list"]}
assert var["DS_PROMETHEUS"]["type"] == "datasource", var
assert var["DS_PROMETHEUS"]["query"] == "prometheus", var
assert d["uid"] and d["title"] and d["panels"], d.keys()
subst = {"$instance": ".*", "$__rate_interval": "1m", "$__interval": "15s"}
def get(path, **q):
    return json.load(urllib.request.urlopen(prom + path + "?" +
                                            urllib.parse.urlencode(q),
                                            timeout=10))
def check(say):
    n = fails = 0
    ids = set()
    for p in d["panels"]:
        assert p["id"] not in ids, p["id"]
        ids.add(p["id"])
        assert p["datasource"]["uid"] == "${DS_PROMETHEUS}", p["title"]
        assert set(p["gridPos"]) == {"x", "y", "w", "h"}, p["title"]
        assert p["gridPos"]["x"] + p["gridPos"]["w"] <= 24, p["title"]
        assert p["targets"], p["title"]
        for t in p["targets"]:
            e = t["expr"]
            for k, v in subst.items():
                e = e.replace(k, v)
            assert "$" not in e, e
            r = get("/api/v1/query", query=e)
            n += 1
            if r["status"] != "success" or not r["data"]["result"]:
                if say:
                    print("# no data:", p["title"], e, r)
                fails += 1
    return n, fails
# rate() and increase() need two samples of a series in their window:
# give the 1 s scrapes up to 15 s to take them.
deadline = time.monotonic() + 15
while True:
    n, fails = check(False)
    if not fails or time.monotonic() > deadline:
        break
    time.sleep(0.5)
if fails:
    check(True)
    for t in get("/api/v1/targets")["data"]["activeTargets"]:
        print("# target", t["labels"].get("instance"), t["health"],
              t["lastScrape"], t["lastError"])
    print("# samples of the cost counter in the last hour:",
          get("/api/v1/query", query="count_over_time("
              "antigravity_proxy_cost_usd_total[1h])")["data"]["result"])
print("# %d panels, %d queries, %d without data" % (len(d["panels"]), n,
                                                    fails))
sys.exit(1 if fails else 0)
PY
ok $? "the Grafana dashboard: every panel's query runs on Prometheus and has data"

# The cap: 33 more models on B, after its 4. The first 28 get series of
# their own (32 pairs in all), the last 5 are one "other".
set --
for i in $(seq 33); do set -- "$@" anthropic "fleet-cap-$i" 1; done
prun "$B" agent-cap "$@" >"$work/t5.out" 2>&1
is "$(grep -c '^200$' "$work/t5.out")" 33 "33 requests with new models"
wait_requests "$API_B" 39
ok $? "B counted them"
in_ns curl -s --max-time 5 "$API_B/metrics" >"$work/metrics"
awk -F'[{}]' '/^gen_ai_client_token_usage_total\{/ &&
	/gen_ai_token_type="input"/ { n++ } END { print n }' \
	"$work/metrics" >"$work/nseries"
is "$(cat "$work/nseries")" 33 "B: 32 model series and one other"
grep -q '^antigravity_proxy_model_requests_total{gen_ai_provider_name="anthropic",gen_ai_response_model="other"} 5$' \
	"$work/metrics"
ok $? "the last 5 models are counted as other"
grep -q '^antigravity_proxy_metrics_folded_total{label="gen_ai_response_model"} 5$' \
	"$work/metrics"
ok $? "and as 5 folded records"
# Which 28 get series depends on the order the workers record them in,
# which a request answered before its record is written may change.
is "$(grep -o 'fleet-cap-[0-9]*' "$work/metrics" | sort -u | wc -l)" 28 \
	"28 of the 33 new models have series"
n=""
for _ in $(seq 100); do
	n=$(query 'sum(antigravity_proxy_model_requests_total)' |
		json_get data.result.0.value.1 2>/dev/null)
	[ "$n" = 47 ] && break
	sleep 0.2
done
is "$n" 47 "PromQL: 47 responses over the fleet"
in_ns "$PYTHON" - "$API" "$API_B" "$PROM" <<'PY'
import json, sys, urllib.parse, urllib.request
a, b, prom = sys.argv[1:4]
get = lambda u: json.load(urllib.request.urlopen(u, timeout=10))
tot = {k: sum(get(u + "/v1/usage")["totals"][k + "_tokens"] for u in (a, b))
       for k in ("input", "output", "thinking", "cached", "cache_creation")}
for k, v in tot.items():
    r = get(prom + "/api/v1/query?" + urllib.parse.urlencode({"query":
            'sum(gen_ai_client_token_usage_total{gen_ai_token_type="%s"})'
            % k}))
    got = float(r["data"]["result"][0]["value"][1])
    print("#", k, got, v)
    assert got == v, (k, got, v)
PY
ok $? "with other, the token sums per type still equal /v1/usage's totals"

tap_done
