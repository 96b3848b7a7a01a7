#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# api.sh - the real daemon on free loopback ports: /health, /v1/usage,
# errors, exit codes, SIGTERM and SIGHUP.
# shellcheck source=tests/e2e/lib.sh
. "$top_srcdir/tests/e2e/lib.sh"

work=$(mktemp -d)
trap 'kill $pid 2>/dev/null; rm -rf "$work"' EXIT
port=$(free_port)
api="http://127.0.0.1:$port"
# --user root: the daemon stays root whether or not this machine has the
# antigravity-proxy user (dropping is tested in standalone.sh).
mport=$(free_port)
# The daemon with this test's options. It execs, so call it in a subshell:
# `(run_proxy ...) &` makes $! the daemon's own pid.
run_proxy() {
	exec "$PROXY" --config /dev/null --user root --state-dir "$work/state" \
		--control-socket "$work/control.sock" \
		--api-listen "127.0.0.1:$port" --mitm-listen "127.0.0.1:$mport" "$@"
}

(run_proxy --log-level debug 2>"$work/log") &
pid=$!
wait_http "$api/health"
ok $? "daemon answers on its API port"

body=$(curl -s --max-time 10 -w '\n%{http_code} %{content_type}' "$api/health")
is "$(echo "$body" | tail -1)" "200 application/json" "/health is 200 JSON"
is "$(echo "$body" | head -1 | json_get status)" "ok" "/health status ok"
is "$(echo "$body" | head -1 | json_get version)" "$("$PROXY" --version | sed 's/.* //')" \
	"/health carries the version"
echo "$body" | head -1 | json_get uptime_seconds | grep -qE '^[0-9]+$'
ok $? "/health carries the uptime"

usage=$(curl -s --max-time 10 "$api/v1/usage")
"$PYTHON" - "$usage" <<'PY'
import json, re, sys
u = json.loads(sys.argv[1])
assert set(u) >= {"since", "totals", "models", "endpoints"}, u
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", u["since"]), u
assert u["totals"] == {"requests": 0, "input_tokens": 0, "output_tokens": 0,
    "thinking_tokens": 0, "cached_tokens": 0, "cache_creation_tokens": 0,
    "total_tokens": 0, "cost_usd": 0, "unpriced_requests": 0}, u
assert u["models"] == {} and u["endpoints"] == {}, u
assert u["unpriced"] == [] and set(u["prices"]) == {"version"}, u
PY
ok $? "/v1/usage has the contract shape with zero totals"

is "$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "$api/v1/usage?since=1h")" 200 \
	"/v1/usage?since=1h accepted"
is "$(curl -s --max-time 10 -w '%{http_code}' "$api/v1/usage?since=yesterdayish" | tr '\n' ' ')" \
	'{"error":"since: expected RFC 3339 time, '"'"'today'"'"' or a duration like 1h","status":400} 400' \
	"a bad since= is 400 with a JSON body"
is "$(curl -s --max-time 10 -w '%{http_code}' "$api/nope" | tr '\n' ' ')" \
	'{"error":"not found","status":404} 404' "unknown path is 404 JSON"
is "$(curl -s --max-time 10 -X POST -d x -w '%{http_code}' "$api/v1/usage" | tr '\n' ' ')" \
	'{"error":"method not allowed","status":405} 405' \
	"POST is 405 JSON"
is "$(curl -s --max-time 10 -X DELETE -o /dev/null -w '%{http_code}' "$api/health")" 405 \
	"DELETE is 405"
is "$(curl -s --max-time 10 "$api/v1/requests?limit=5")" "[]" "/v1/requests empty list"
is "$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "$api/v1/requests?limit=0")" 400 \
	"/v1/requests?limit=0 is 400"
curl -s --max-time 10 "$api/metrics" >"$work/metrics"
grep -q '^antigravity_proxy_uptime_seconds ' "$work/metrics"
ok $? "/metrics serves Prometheus text"
if command -v promtool >/dev/null; then
	promtool check metrics <"$work/metrics" >"$work/promtool.out" 2>&1
	ok $? "promtool check metrics accepts /metrics"
	sed 's/^/# /' "$work/promtool.out"
else
	ok 1 "promtool is installed (Debian package prometheus)"
fi

# Searchable (0711), not listable: `run` callers read combined-ca.pem by
# name; the key and the ledger are 0600.
is "$(stat -c %a "$work/state")" 711 "state dir created 0711 (it serves run)"
"$PROXY" --config /dev/null --state-dir "$work/state" ca-cert >"$work/ca.pem"
cmp -s "$work/ca.pem" "$work/state/ca-cert.pem"
ok $? "ca-cert prints the CA certificate of the state dir"
is "$(stat -c %a "$work/state/ca-key.pem")" 600 "the CA key is 0600"

# A second daemon on the same API port fails with status 1 and one line.
(run_proxy 2>"$work/err2")
is "$?" 1 "port in use exits 1"
grep -q "cannot listen on 127.0.0.1:$port: Address already in use" "$work/err2"
ok $? "port in use says so"

"$PROXY" --config /dev/null --no-such-thing 2>"$work/err3"
is "$?" 2 "unknown option exits 2"
"$PROXY" --config "$work/missing.conf" 2>"$work/err4"
is "$?" 2 "unreadable config exits 2"
grep -q "missing.conf: No such file or directory" "$work/err4"
ok $? "unreadable config names the file"

kill -HUP $pid
sleep 0.2
kill -0 $pid
ok $? "SIGHUP keeps the daemon running"
grep -q "SIGHUP: reopening the log and the ledger" "$work/log"
ok $? "SIGHUP reopens the log"

kill -TERM $pid
wait_gone $pid
ok $? "SIGTERM stops the daemon"
wait $pid
is "$?" 0 "clean stop exits 0"
curl -s -o /dev/null --max-time 1 "$api/health"
ok $(( $? == 0 )) "API port closed after stop"

# --daemon with --pidfile detaches and can be stopped by the pid.
(run_proxy --daemon --pidfile "$work/pid")
is "$?" 0 "--daemon returns 0"
wait_http "$api/health"
ok $? "daemonized proxy answers"
dpid=$(cat "$work/pid")
kill -TERM "$dpid"
wait_gone "$dpid"
ok $? "daemonized proxy stops on SIGTERM"
[ ! -e "$work/pid" ]
ok $? "pidfile removed on stop"

tap_done
