#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# websocket.sh - WebSocket relay and metering end to end, as root, in a
# network namespace of its own: a plain WebSocket client (python3-websockets)
# holds Responses sessions of several turns with the fake upstream's
# WebSocket endpoint (fakews.py) through the proxy, with permessage-deflate
# on (with and without context takeover, small windows) and off, with
# fragmented messages and pings between fragments both ways, and 16- and
# 64-bit frame lengths. The bytes must be identical both ways, /v1/usage
# exact per response, each response counted when it ends; a refused
# Upgrade passes through; the idle limit closes a silent session.
# shellcheck source=tests/e2e/lib.sh
. "$top_srcdir/tests/e2e/lib.sh"
# shellcheck source=tests/e2e/netns.sh
. "$top_srcdir/tests/e2e/netns.sh"

HOSTS="$HOSTS api.openai.com chatgpt.com"
ns_up --log-level debug
ok $? "namespace, redirect, DNS, upstream and proxy are up"
"$CLIENT_PYTHON" -c 'import websockets' 2>/dev/null ||
	{ ok 1 "python3-websockets is installed (tests/run-all.sh installs it)"; tap_done; exit 1; }

n=0
# session NAME URL CLIENT-ARGS...: one client session; its output in
# $work/NAME.json, the upstream's record of it in $work/NAME.up.json.
session() {
	name=$1 url=$2
	shift 2
	n=$((n + 1))
	as_client "$CLIENT_PYTHON" "$work/helpers/wsclient.py" --url "$url" \
		"$@" >"$work/$name.json" 2>"$work/$name.err"
	st=$?
	[ $st -eq 0 ] || sed 's/^/# /' "$work/$name.err" | tail -5
	# the upstream writes its record when the connection ends
	for _ in $(seq 50); do
		[ "$(grep -c '"ws": true' "$work/upstream.log")" -ge "$n" ] && break
		sleep 0.1
	done
	grep '"ws": true' "$work/upstream.log" | tail -1 >"$work/$name.up.json"
	return $st
}

# same NAME: the bytes each side sent are the bytes the other received,
# and the responses the client saw are the ones the upstream sent.
same() {
	"$PYTHON" - "$work/$1.json" "$work/$1.up.json" <<'PY'
import json, sys
c, u = (json.load(open(f)) for f in sys.argv[1:])
bad = []
if (c["tx_sha256"], c["tx_len"]) != (u["rx_sha256"], u["rx_len"]):
    bad.append("client->upstream: %s bytes sent, %s received" % (c["tx_len"], u["rx_len"]))
if (c["rx_sha256"], c["rx_len"]) != (u["tx_sha256"], u["tx_len"]):
    bad.append("upstream->client: %s bytes sent, %s received" % (u["tx_len"], c["rx_len"]))
if c["responses"] != u["responses"]:
    bad.append("responses differ")
print("# %d bytes up, %d down, deflate %s, %d responses" % (
    c["tx_len"], c["rx_len"], u["deflate"], len(c["responses"])))
for b in bad:
    print("# " + b)
sys.exit(1 if bad else 0)
PY
}

ends=completed,incomplete,failed,completed
session plain "wss://api.openai.com/v1/responses" --turns 4 \
	--models gpt-5.1-codex gpt-5-mini --ends "$ends"
ok $? "a 4-turn session through the proxy (deflate negotiated)"
grep -q '"ws": true' "$work/plain.up.json" &&
	grep -q '"deflate": true' "$work/plain.up.json"
ok $? "the upstream answered the Upgrade and agreed to permessage-deflate"
same plain
ok $? "bytes identical both ways, deflate with context takeover"
grep '"path": "/v1/responses"' "$work/upstream.log" | grep -v '"ws"' |
	grep -q '\["Upgrade", "websocket"\]'
ok $? "the Upgrade header went upstream"

q='pmd=server_no_context_takeover;client_no_context_takeover;server_max_window_bits=10;client_max_window_bits=9'
t0=$(date +%s)
session frag "wss://api.openai.com/v1/responses?$q&frag=300&ping=1&big=200000" \
	--turns 3 --models gpt-5-mini --frag 40 --ping 1 --pad 200
ok $? "deflate without context takeover, small windows, fragments, pings mid-message both ways"
same frag
ok $? "bytes identical both ways (fragmented, 64-bit lengths)"
# Bytes are passed on as they come: none wait in a TLS buffer for the
# next segment (the client's keepalive ping comes after 20 s).
[ $(($(date +%s) - t0)) -lt 10 ]
ok $? "the fragmented session took $(($(date +%s) - t0)) s, not a keepalive period per turn"

session nodeflate "wss://api.openai.com/v1/responses?frag=1000&ping=1&big=100000" \
	--turns 3 --deflate 0 --models gpt-5.1-codex --frag 100 --ping 1 \
	--ends completed,failed
ok $? "deflate off, fragmented, pings mid-message"
grep -q '"deflate": false' "$work/nodeflate.up.json"
ok $? "no extension when the client offers none"
same nodeflate
ok $? "bytes identical both ways without deflate"

session chatgpt "wss://chatgpt.com/backend-api/codex/responses" --turns 2 \
	--models gpt-5.1-codex
ok $? "a session with chatgpt.com/backend-api/codex/responses"
same chatgpt
ok $? "bytes identical both ways with chatgpt.com"

# A response counts when it ends, not at the close: the first of two
# turns 2 s apart is counted while the session is still open.
before=$(in_ns curl -s --max-time 5 "$API/v1/usage" | json_get totals.requests)
session paused "wss://api.openai.com/v1/responses" --turns 2 --pause 2 \
	--models gpt-5-mini >/dev/null &
spid=$!
counted=no
for _ in $(seq 40); do
	now=$(in_ns curl -s --max-time 5 "$API/v1/usage" | json_get totals.requests)
	if [ "$now" -gt "$before" ]; then
		kill -0 "$spid" 2>/dev/null && counted=yes
		break
	fi
	sleep 0.1
done
is "$counted" yes "a response is counted the moment it completes, the socket still open"
wait "$spid"
ok $? "the paused session ends cleanly"

# /v1/usage: exact per model over every response of every session.
for _ in $(seq 50); do
	in_ns curl -s --max-time 5 "$API/v1/usage" >"$work/usage.json"
	[ "$(json_get totals.requests <"$work/usage.json")" -ge 14 ] && break
	sleep 0.1
done
"$PYTHON" - "$work/usage.json" "$work"/plain.json "$work"/frag.json \
	"$work"/nodeflate.json "$work"/chatgpt.json "$work"/paused.json <<'PY'
import json, sys
got = json.load(open(sys.argv[1]))
want = {}
for f in sys.argv[2:]:
    for r in json.load(open(f))["responses"]:
        u = r["usage"]
        think = u["output_tokens_details"]["reasoning_tokens"]
        m = want.setdefault(r["model"], dict.fromkeys(
            ["requests", "input_tokens", "output_tokens", "thinking_tokens",
             "cached_tokens", "total_tokens"], 0))
        m["requests"] += 1
        m["input_tokens"] += u["input_tokens"]
        m["output_tokens"] += u["output_tokens"] - think
        m["thinking_tokens"] += think
        m["cached_tokens"] += u["input_tokens_details"]["cached_tokens"]
        m["total_tokens"] += u["total_tokens"]
bad = []
for model, w in want.items():
    g = got["models"].get(model, {})
    for k, v in w.items():
        if g.get(k) != v:
            bad.append("%s.%s: got %s want %s" % (model, k, g.get(k), v))
if set(got["models"]) != set(want):
    bad.append("models %s, want %s" % (sorted(got["models"]), sorted(want)))
print("# %d responses over %d models" % (
    sum(w["requests"] for w in want.values()), len(want)))
for b in bad:
    print("# " + b)
sys.exit(1 if bad else 0)
PY
ok $? "/v1/usage is exact per model and field, one record per response"
in_ns curl -s --max-time 5 "$API/v1/requests?limit=100" >"$work/recent.json"
"$PYTHON" - "$work/recent.json" <<'PY'
import json, sys
recs = json.load(open(sys.argv[1]))
ws = [r for r in recs if r.get("transport") == "websocket"]
eps = sorted(set(r["endpoint"] for r in ws))
ends = sorted(set((r["complete"], r.get("error", "")) for r in ws))
print("# %d websocket records, endpoints %s, (complete, error) %s" % (len(ws), eps, ends))
ok = (len(ws) == len(recs) == 14 and
      eps == ["backend-api/codex/responses", "responses"] and
      ends == [(False, ""), (False, "server_error"), (True, "")])
sys.exit(0 if ok else 1)
PY
ok $? "each record is marked transport=websocket, with its endpoint and end"

# A refused Upgrade passes through as any answer.
code=$(as_client curl -s --cacert "$work/bundle.pem" -o "$work/refused.out" -w '%{http_code}' \
	--max-time 10 -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
	-H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
	https://api.example.test/status/400)
is "$code" 400 "an Upgrade answered 400 passes through"
grep -q 'status 400' "$work/refused.out"
ok $? "with its body"

# An Upgrade to an upstream that cannot be reached: a 502, as any request.
code=$(as_client curl -s --cacert "$work/bundle.pem" -o /dev/null -w '%{http_code}' \
	--max-time 20 -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
	-H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
	https://down.example.test/v1/responses)
is "$code" 502 "an Upgrade to an unreachable upstream gets a 502"

ws_total=$(metric antigravity_proxy_websockets_total)
is "$ws_total" 5 "/metrics counts the WebSocket sessions"

# The idle limit: a session silent both ways for longer is closed.
proxy_stop
proxy_start --websocket-idle-timeout 1s
session idle "wss://api.openai.com/v1/responses" --turns 2 --pause 2.5 \
	--models gpt-5-mini
ok $(( $? == 0 )) "a session idle past --websocket-idle-timeout is closed"
grep -q 'websocket .* closed (idle timeout)' "$work/proxy.log"
ok $? "the proxy logs the idle close"
is "$(metric antigravity_proxy_websocket_errors_total)" 1 \
	"/metrics counts it"

# The upstream leg has the trust check of every exchange: with a CA that
# did not sign the upstream's certificate, nothing is sent.
proxy_stop
proxy_start --upstream-ca "$work/state/ca-cert.pem"
before=$(grep -c '"ws": true' "$work/upstream.log")
code=$(as_client curl -s --cacert "$work/bundle.pem" -o /dev/null -w '%{http_code}' \
	--max-time 20 -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
	-H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
	https://api.openai.com/v1/responses)
is "$code" 502 "an Upgrade to an upstream we do not trust gets a 502"
grep -q 'certificate refused for api.openai.com, nothing sent' "$work/proxy.log" &&
	[ "$(grep -c '"ws": true' "$work/upstream.log")" = "$before" ]
ok $? "and nothing was sent upstream"

proxy_stop
grep -q 'AddressSanitizer\|runtime error' "$work/proxy.log"
ok $(( $? == 0 )) "no sanitizer report in the proxy log"
tap_done
