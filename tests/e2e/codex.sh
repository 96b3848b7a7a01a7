#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# codex.sh - the real Codex CLI (@openai/codex from npm, installed by
# tests/agents/install.sh) through the proxy, as root in a network
# namespace of its own: `codex exec` with an API key holds its Responses
# session over a WebSocket with the fake upstream named api.openai.com
# (and, as a model provider, with one named chatgpt.com at
# /backend-api/codex/responses). It must keep the WebSocket (no reconnect,
# no fallback to SSE), usage must be exact per response, and its run time
# through the proxy within 1.5x of direct.
# shellcheck source=tests/e2e/lib.sh
. "$top_srcdir/tests/e2e/lib.sh"
# shellcheck source=tests/e2e/netns.sh
. "$top_srcdir/tests/e2e/netns.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root (netns, iptables, a user)"
AGENTS_PREFIX=${AGP_AGENTS_PREFIX:-/var/cache/antigravity-proxy-tests/agents}
bin=$AGENTS_PREFIX/bin
sh "$top_srcdir/tests/agents/install.sh" "$AGENTS_PREFIX" >&2 || {
	echo "not ok 1 - install the Codex CLI from npm"; echo "1..1"; exit 1; }
HOSTS="$HOSTS api.openai.com chatgpt.com"
ns_up --log-level debug
ok $? "namespace, redirect, DNS, upstream and proxy are up"

# codex_run NAME [VAR=VALUE...]: one `codex exec` with a home of its own,
# as the intercepted user (as root, not redirected, with DIRECT=1); its
# output in $work/NAME.out and .err; prints its time in ms.
codex_run() {
	name=$1
	shift
	home="$work/home-$name"
	mkdir -p "$home/.codex" && chmod -R 777 "$home"
	[ -z "${CONFIG:-}" ] || printf '%s\n' "$CONFIG" >"$home/.codex/config.toml"
	if [ -n "${DIRECT:-}" ]; then
		as="env" ca="$work/up/ca.pem"
	else
		as="runuser -u $TEST_USER -- env" ca="$work/bundle.pem"
	fi
	t0=$(date +%s%N)
	# shellcheck disable=SC2086 # $as is a command and its words
	in_ns $as HOME="$home" SSL_CERT_FILE="$ca" OPENAI_API_KEY=sk-test-agp \
		NO_COLOR=1 "$@" "$bin/codex" exec --skip-git-repo-check \
		-C "$home" "say hello" >"$work/$name.out" 2>"$work/$name.err" \
		</dev/null
	st=$?
	echo $((($(date +%s%N) - t0) / 1000000))
	[ $st -eq 0 ] || sed 's/^/# /' "$work/$name.err" | tail -10 >&2
	return $st
}

# usage_exact SKIP: /v1/usage equals the usage of every WebSocket
# response the upstream logged, but for its first SKIP sessions, once
# the last record has committed (2 s at most).
usage_exact() {
	_rc=1
	for _ in $(seq 20); do
		usage_compare "$1" >"$work/usage.diff" && { _rc=0; break; }
		sleep 0.1
	done
	cat "$work/usage.diff"
	return "$_rc"
}
usage_compare() {
	in_ns curl -s --max-time 5 "$API/v1/usage" >"$work/usage.json"
	"$PYTHON" - "$work/usage.json" "$work/upstream.log" "$1" <<'PY'
import json, sys
got = json.load(open(sys.argv[1]))["models"]
sessions = [json.loads(l) for l in open(sys.argv[2]) if '"ws": true' in l]
want = {}
for s in sessions[int(sys.argv[3]):]:
    for r in s["responses"]:
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
bad = ["%s.%s: got %s want %s" % (m, k, got.get(m, {}).get(k), v)
       for m, w in want.items() for k, v in w.items()
       if got.get(m, {}).get(k) != v]
if set(got) != set(want):
    bad.append("models %s, want %s" % (sorted(got), sorted(want)))
print("# %d responses over %d sessions: %s" % (
    sum(w["requests"] for w in want.values()),
    len(sessions) - int(sys.argv[3]), json.dumps(want)))
for b in bad:
    print("# " + b)
sys.exit(1 if bad else 0)
PY
}

# sessions PATH: "WS POSTS", the WebSocket sessions and the POSTs (SSE
# requests) the upstream saw on PATH.
sessions() {
	printf '%s %s\n' \
		"$(grep '"ws": true' "$work/upstream.log" | grep -c "\"path\": \"$1\"")" \
		"$(grep -c "\"method\": \"POST\", \"path\": \"$1\"" "$work/upstream.log")"
}

ms_direct=$(DIRECT=1 codex_run direct)
ok $? "codex exec straight to the fake upstream (not redirected)"
is "$(sessions /v1/responses)" "1 0" "direct: one WebSocket session, no SSE"
ms=$(codex_run proxied)
ok $? "codex exec through the proxy"
grep -q "answer" "$work/proxied.out"
ok $? "Codex printed the upstream's answer"
is "$(sessions /v1/responses)" "2 0" \
	"through the proxy: one WebSocket session more, no reconnect, no SSE"
grep -qi 'reconnecting' "$work/proxied.err"
ok $(( $? == 0 )) "Codex reports no reconnect"
usage_exact 1
ok $? "/v1/usage is exact per response for Codex's session"
diag "codex exec: direct $ms_direct ms, through the proxy $ms ms"
[ "$ms" -le $((ms_direct * 3 / 2)) ]
ok $? "through the proxy within 1.5x of direct"

# A provider at chatgpt.com's Codex backend, as a ChatGPT login uses it
# (with an API key here: the proxy does not care how the client signs in).
CONFIG='model_provider = "chatgpt_fake"
[model_providers.chatgpt_fake]
name = "ChatGPT (fake)"
base_url = "https://chatgpt.com/backend-api/codex"
env_key = "OPENAI_API_KEY"
wire_api = "responses"
supports_websockets = true'
ms=$(codex_run chatgpt)
CONFIG=
ok $? "codex exec with chatgpt.com/backend-api/codex through the proxy"
is "$(sessions /backend-api/codex/responses)" "1 0" \
	"chatgpt.com: one WebSocket session, no SSE"
usage_exact 1
ok $? "/v1/usage is exact per response with chatgpt.com too"
diag "codex exec with chatgpt.com through the proxy: $ms ms"

proxy_stop
grep -q 'AddressSanitizer\|runtime error' "$work/proxy.log"
ok $(( $? == 0 )) "no sanitizer report in the proxy log"
tap_done
