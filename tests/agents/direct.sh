#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# direct.sh [CLI...] - the real agent CLIs from npm (claude, gemini, codex,
# qwen; default all four), each run DIRECTLY (no proxy) in one-shot mode
# by an ordinary user in a directory of theirs, against
# tests/helpers/fakeagents.py under the real host names, in a network
# namespace of its own that has only lo. Prints, per CLI: exit status,
# wall time, whether it wrote agp-proof.txt (and its owner), the requests
# the fake saw and the names it looked up; then the usage totals per model
# the fake sent (what /v1/usage must show when the proxy is in between).
# Run as root. Knobs (environment):
#   AGP_AGENTS_PREFIX  install prefix of tests/agents/install.sh
#                      (default /var/cache/agp-agents; installed if needed)
#   AGP_AGENTS_USER    the test user (default agp-agents-user; made, and
#                      removed at the end, when it does not exist)
#   AGP_AGENTS_TIMEOUT seconds per CLI (default 120)
#   CODEX_TRANSPORT    default: Codex's built-in provider (WebSocket try,
#                      426, HTTP); http: a provider with
#                      supports_websockets=false (no WebSocket at all)
#   WEBSOCKET          426 (default) | 404 | accept: how the fake answers
#                      Codex's WebSocket upgrade (accept: a real session)
#   TELEMETRY=1        leave the CLIs' telemetry/update switches alone, to
#                      see what they try (they all fail: NXDOMAIN)
#   KEEP=1             keep the work directory; DUMP=1 also keeps every
#                      request the fake got, raw, in it
#
# What was found (versions pinned in install.sh; times on this 2-core
# machine, loaded by other builds, are "direct" wall times, whole run):
#
# Common to all: PATH=$PREFIX/bin:... (its node is Node 22), HOME, a fake
# key, NODE_EXTRA_CA_CERTS=<test CA> (Node and Claude Code's Bun-built
# binary append it to their bundled roots), NO_UPDATE_NOTIFIER=1,
# NO_COLOR=1, TERM=dumb, stdin </dev/null. The file write is in the
# project directory, the CLI's cwd.
#
# claude 2.1.332 (native binary, Bun): 1.2-1.5 s
#   ANTHROPIC_API_KEY=sk-ant-... DISABLE_TELEMETRY=1
#   DISABLE_ERROR_REPORTING=1 DISABLE_AUTOUPDATER=1
#   CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1
#   claude -p --permission-mode acceptEdits "PROMPT"
#   (acceptEdits lets Write create files in the cwd; a non-root user may
#   also use --dangerously-skip-permissions.) Trust: NODE_EXTRA_CA_CERTS.
#   Calls: GET /api/claude_code/settings and /api/claude_code/policy_limits
#   (the fake: 404 JSON; Claude goes on at once), then
#   POST /v1/messages?beta=true (stream, model claude-opus-5-5, thinking
#   adaptive) -> Write tool_use -> POST /v1/messages with the tool_result
#   -> text. Without the switches (TELEMETRY=1) it also calls, all on
#   api.anthropic.com: HEAD /api/hello, POST /api/eval/sdk-*, GET
#   /api/claude_cli/bootstrap, /api/claude_code_penguin_mode,
#   /api/directory/server-urls, /api/claude_code/organizations/
#   metrics_enabled, POST /api/event_logging/v2/batch (404s: 3.7 s).
#
# gemini 0.61.0: 3-5 s (mostly Node start-up of its big bundle)
#   GEMINI_API_KEY=... GEMINI_TELEMETRY_ENABLED=false, and
#   ~/.gemini/settings.json: privacy.usageStatisticsEnabled=false (else
#   it posts to play.googleapis.com, Clearcut), general.enableAutoUpdate
#   and enableAutoUpdateNotification false
#   gemini --skip-trust --yolo -p "PROMPT"
#   (--skip-trust, or GEMINI_CLI_TRUST_WORKSPACE=true: in an untrusted
#   folder headless mode exits 55 and --yolo is overridden to default.)
#   Trust: NODE_EXTRA_CA_CERTS. Calls: POST models/gemini-3.5-flash-lite:
#   generateContent (the model router's complexity classifier, a
#   responseJsonSchema: the fake fills it), then
#   models/gemini-3.1-pro-preview:streamGenerateContent?alt=sse ->
#   functionCall write_file -> the same with the functionResponse -> text.
#   (The router picks pro or flash from the classifier's score: the model
#   names vary between runs.)
#
# codex 0.171.0 (Rust, musl): 0.5-0.9 s
#   OPENAI_API_KEY=sk-... SSL_CERT_FILE=<system CAs + test CA>
#   codex exec --skip-git-repo-check
#     --dangerously-bypass-approvals-and-sandbox
#     -c analytics.enabled=false -c check_for_update_on_startup=false
#     --disable plugins --disable apps "PROMPT"
#   (0.171 has no --full-auto; the bypass skips its landlock/bwrap sandbox
#   and approvals, -s workspace-write would need them.) Trust:
#   SSL_CERT_FILE (the bundle must hold the system CAs too: it replaces).
#   Side calls without the switches: OTLP metrics to ab.chatgpt.com,
#   api.github.com (releases/latest), github.com and
#   chatgpt.com/backend-api/plugins/export/curated (curated plugins).
#   Tools: 0.171 sends them in an input item {"type":"additional_tools"},
#   code mode: the one top-level tool is the freeform "exec" (JavaScript);
#   the fake answers a custom_tool_call exec running
#   tools.apply_patch("*** Add File: agp-proof.txt ...").
#   WebSocket: the built-in openai provider first opens GET /v1/responses
#   with Upgrade: websocket and OpenAI-Beta: responses_websockets=2026-02-06
#   (a "prewarm" at start-up). The fake's 426 Upgrade Required makes Codex
#   fall back to POST /v1/responses (SSE) at once (it logs one ERROR line
#   "failed to connect to Responses WebSocket"); the fallback costs one
#   round trip (0.8 s either way, within the noise) and is not retried in
#   the session. Any other answer is worse: a 404 is retried 7 times with
#   back-off before the fallback (WEBSOCKET=404: 6.9 s instead of 0.8). The
#   switch: the built-in provider cannot be changed (only base_url, auth,
#   headers), but a provider of our own can, at the same default host:
#     -c 'model_providers.openai-http={name="OpenAI",
#         base_url="https://api.openai.com/v1",env_key="OPENAI_API_KEY",
#         wire_api="responses",supports_websockets=false}'
#     -c model_provider=openai-http
#   (CODEX_TRANSPORT=http): then plain HTTP SSE only, no upgrade. The old
#   features responses_websockets(_v2) are "removed" in 0.171.
#   With WEBSOCKET=accept the fake speaks the WebSocket protocol: Codex
#   sends response.create frames (the first a generate:false prewarm) and
#   gets the SSE events as text frames; it declines permessage-deflate.
#
# qwen 0.24.4: 3.5-4 s (9.6 s with TELEMETRY=1: it waits on its RUM host)
#   OPENAI_API_KEY=... OPENAI_BASE_URL=https://api.openai.com/v1
#   OPENAI_MODEL=qwen3-coder-plus QWEN_USAGE_STATISTICS_ENABLED=false
#   QWEN_TELEMETRY_ENABLED=false, ~/.qwen/settings.json
#   general.enableAutoUpdate=false
#   qwen --auth-type openai --yolo -p "PROMPT"   (-p is deprecated in
#   favour of the positional prompt, which is one-shot too)
#   Trust: NODE_EXTRA_CA_CERTS. Calls: POST /v1/chat/completions (stream,
#   stream_options.include_usage) -> tool_calls write_file -> the same with
#   the tool message -> text. Without the switches it also looks up
#   gb4w8c3ygj-default-sea.rum.aliyuncs.com (usage statistics).
#
# Nothing leaves the namespace: it has only lo, so no route out; every
# name but the four the fake answers is NXDOMAIN; the script prints the
# namespace's IP OutNoRoutes counters (connections tried to an address
# outside it), per CLI and at the end.
# Exit status: 0 when every CLI exited 0 and wrote its proof file as the
# user.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
helpers=$top/tests/helpers
PREFIX=${AGP_AGENTS_PREFIX:-/var/cache/agp-agents}
PERSON=${AGP_AGENTS_USER:-agp-agents-user}
TIMEOUT=${AGP_AGENTS_TIMEOUT:-120}
PYTHON=${PYTHON:-python3}
PROMPT="Create the file agp-proof.txt in the current directory."
NS=agp-agents-$$

[ "$(id -u)" -eq 0 ] || { echo "direct.sh: run me as root" >&2; exit 2; }
[ $# -gt 0 ] || set -- claude gemini codex qwen
for cli in "$@"; do
	case $cli in
	claude|gemini|codex|qwen) ;;
	*) echo "direct.sh: no such CLI: $cli (claude gemini codex qwen)" >&2
	   exit 2 ;;
	esac
done
"$here/install.sh" "$PREFIX" >/dev/null || exit 1
BIN=$PREFIX/bin

work=$(mktemp -d /var/tmp/agp-agents.XXXXXX) || exit 1
chmod 755 "$work"
pids=
made_user=
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
	[ -z "$made_user" ] || userdel "$PERSON" 2>/dev/null
	if [ -n "${KEEP:-}${DUMP:-}" ]; then
		echo "direct.sh: kept $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# The names the fake answers; every other name (the CLIs' telemetry,
# update and feature-flag hosts) is NXDOMAIN in the namespace.
NAMES="api.anthropic.com generativelanguage.googleapis.com api.openai.com
chatgpt.com"
# shellcheck disable=SC2086 # the names, split on purpose
"$helpers/mkcerts.sh" "$work/certs" $NAMES >/dev/null || exit 1
cat "$work/certs/ca.pem" /etc/ssl/certs/ca-certificates.crt \
	>"$work/ca-bundle.pem"
chmod 644 "$work/ca-bundle.pem"

ip netns add "$NS" || exit 1
ip -n "$NS" link set lo up || exit 1
in_ns() { nsenter --net="/run/netns/$NS" "$@"; }

# start NAME CMD...: CMD in the namespace, in the background, until it
# prints "ready".
start() {
	name=$1
	shift
	# Not through in_ns: $! must be the server itself (nsenter execs it),
	# not a subshell, for the kill at the end to reach it.
	nsenter --net="/run/netns/$NS" "$@" >"$work/$name.out" \
		2>"$work/$name.err" &
	pids="$pids $!"
	for _ in $(seq 100); do
		grep -q ready "$work/$name.out" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "direct.sh: $name did not start:" >&2
	cat "$work/$name.err" >&2
	exit 1
}
records=
for n in $NAMES; do records="$records --record $n=127.0.0.2"; done
# shellcheck disable=SC2086 # the --record options
start dns "$PYTHON" "$helpers/fakedns.py" --listen 127.0.0.53:53 $records \
	--ttl 5 --log "$work/dns.log"
start api "$PYTHON" "$helpers/fakeagents.py" --listen 127.0.0.2:443 \
	--cert "$work/certs/server.pem" --key "$work/certs/server.key" \
	--log "$work/api.jsonl" ${DUMP:+--dump "$work/dump"} \
	--websocket "${WEBSOCKET:-426}"
touch "$work/dns.log" "$work/api.jsonl"

printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' \
	>"$work/hosts"
printf 'nameserver 127.0.0.53\noptions timeout:1 attempts:1\n' \
	>"$work/resolv.conf"
chmod 644 "$work/hosts" "$work/resolv.conf"

if ! id -u "$PERSON" >/dev/null 2>&1; then
	useradd --no-create-home --home-dir /nonexistent --shell /bin/sh \
		"$PERSON" || exit 1
	made_user=1
fi

# as_person DIR ENV... -- CMD...: CMD as $PERSON in DIR, in the
# namespace (nsenter --net: not `ip netns exec`, which remounts /sys; the
# cgroup tree must stay visible for `antigravity-proxy run`), with the
# test's /etc/hosts and /etc/resolv.conf bound over the real ones in a
# mount namespace of its own (unshare --mount: private propagation, so
# nothing leaks out), and with only the ENV given.
as_person() {
	dir=$1
	shift
	# shellcheck disable=SC2016 # the inner shell's script
	in_ns unshare --mount sh -c '
		mount --bind "$1" /etc/hosts &&
		mount --bind "$2" /etc/resolv.conf || exit 125
		dir=$3 user=$4
		shift 4
		cd "$dir" || exit 125
		exec runuser -u "$user" -- env -i "$@"' sh \
		"$work/hosts" "$work/resolv.conf" "$dir" "$PERSON" "$@" \
		</dev/null
}

# The switches that keep the CLIs from calling home (unless TELEMETRY).
off=${TELEMETRY:+no}
CLAUDE_OFF="DISABLE_TELEMETRY=1 DISABLE_ERROR_REPORTING=1
	DISABLE_AUTOUPDATER=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1"
GEMINI_OFF="GEMINI_TELEMETRY_ENABLED=false"
CODEX_OFF="-c analytics.enabled=false -c check_for_update_on_startup=false
	--disable plugins --disable apps"
QWEN_OFF="QWEN_USAGE_STATISTICS_ENABLED=false QWEN_TELEMETRY_ENABLED=false"
if [ -n "$off" ]; then
	CLAUDE_OFF='' GEMINI_OFF='' CODEX_OFF='' QWEN_OFF=''
fi
CODEX_HTTP=
[ "${CODEX_TRANSPORT:-default}" != http ] ||
	CODEX_HTTP='-c model_providers.openai-http={name="OpenAI",base_url="https://api.openai.com/v1",env_key="OPENAI_API_KEY",wire_api="responses",supports_websockets=false} -c model_provider=openai-http'

# settings CLI HOME: the settings file of a CLI that keeps its switches
# in one.
settings() {
	[ -z "$off" ] || return 0
	case $1 in
	gemini)
		mkdir -p "$2/.gemini"
		cat >"$2/.gemini/settings.json" <<-'EOF'
		{"privacy": {"usageStatisticsEnabled": false},
		 "telemetry": {"enabled": false},
		 "general": {"enableAutoUpdate": false,
		             "enableAutoUpdateNotification": false}}
		EOF
		;;
	qwen)
		mkdir -p "$2/.qwen"
		cat >"$2/.qwen/settings.json" <<-'EOF'
		{"privacy": {"usageStatisticsEnabled": false},
		 "telemetry": {"enabled": false},
		 "general": {"enableAutoUpdate": false}}
		EOF
		;;
	esac
}

# noroutes [BEFORE]: the namespace's IPv4 and IPv6 OutNoRoutes counters
# (connections tried to an address outside it), minus BEFORE's.
noroutes() {
	# shellcheck disable=SC2046,SC2016,SC2086 # numbers, awk's, split
	set -- $(in_ns awk '/^Ip: [0-9]/ {print $13}' /proc/net/snmp) \
		$(in_ns awk '/^Ip6OutNoRoutes/ {print $2}' /proc/net/snmp6) \
		${1:-0 0}
	echo "$(($1 - $3)) $(($2 - $4))"
}
fail=0
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
summary=

for cli in "$@"; do
	home=$work/$cli/home
	proj=$work/$cli/project
	mkdir -p "$home" "$proj"
	settings "$cli" "$home"
	chown -R "$PERSON" "$work/$cli"
	chmod 700 "$home"
	common="HOME=$home USER=$PERSON LOGNAME=$PERSON SHELL=/bin/sh
		PATH=$BIN:/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 TERM=dumb
		NO_COLOR=1 NO_UPDATE_NOTIFIER=1
		NODE_EXTRA_CA_CERTS=$work/certs/ca.pem"
	case $cli in
	claude)
		envs="ANTHROPIC_API_KEY=sk-ant-api03-fake-agp-test-key $CLAUDE_OFF"
		cmd="claude -p --permission-mode acceptEdits" ;;
	gemini)
		envs="GEMINI_API_KEY=fake-agp-gemini-key $GEMINI_OFF"
		cmd="gemini --skip-trust --yolo -p" ;;
	codex)
		envs="OPENAI_API_KEY=sk-fake-agp-openai-key
			SSL_CERT_FILE=$work/ca-bundle.pem"
		cmd="codex exec --skip-git-repo-check
			--dangerously-bypass-approvals-and-sandbox $CODEX_OFF
			$CODEX_HTTP" ;;
	qwen)
		envs="OPENAI_API_KEY=sk-fake-agp-qwen-key
			OPENAI_BASE_URL=https://api.openai.com/v1
			OPENAI_MODEL=qwen3-coder-plus $QWEN_OFF"
		cmd="qwen --auth-type openai --yolo -p" ;;
	esac
	api0=$(wc -l <"$work/api.jsonl")
	dns0=$(wc -l <"$work/dns.log")
	nr0=$(noroutes)
	t0=$(date +%s%N)
	# shellcheck disable=SC2086 # the words of the env and command line
	as_person "$proj" $common $envs timeout "$TIMEOUT" $cmd "$PROMPT" \
		>"$work/$cli.stdout" 2>"$work/$cli.stderr"
	rc=$?
	took=$(ms "$t0")
	proof=no
	if [ -f "$proj/agp-proof.txt" ]; then
		owner=$(stat -c %U "$proj/agp-proof.txt")
		proof="yes, owned by $owner"
		[ "$owner" = "$PERSON" ] || proof="yes, but owned by $owner"
	fi
	case $rc:$proof in 0:"yes, owned by $PERSON") ;; *) fail=1 ;; esac
	echo "== $cli: exit $rc, ${took} ms, agp-proof.txt: $proof"
	summary="$summary$(printf '%-7s exit %-3s %6s ms  proof: %s' \
		"$cli" "$rc" "$took" "$proof")
"
	echo "   stdout: $(head -c 300 "$work/$cli.stdout" | tr '\n' ' ')"
	[ "$rc" -eq 0 ] || sed 's/^/   stderr: /' "$work/$cli.stderr" |
		tail -20
	echo "   requests the fake saw:"
	tail -n +"$((api0 + 1))" "$work/api.jsonl" | "$PYTHON" -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    print("     %s https://%s%s -> %s %s%s%s" % (
        r["method"], r["host"], r["path"], r["status"], r["endpoint"],
        (" model=" + r["model"]) if r["model"] else "",
        (" reply=" + r["reply"]) if r["reply"] else ""))'
	left=$(pgrep -u "$PERSON" -l | tr '\n' ' ')
	[ -z "$left" ] || echo "   still running as $PERSON: $left"
	echo "   connections tried out of the namespace (IP OutNoRoutes v4 v6):" \
		"$(noroutes "$nr0")"
	echo "   names looked up: $(tail -n +"$((dns0 + 1))" "$work/dns.log" |
		awk '{print $1}' | sort | uniq -c |
		awk '{printf "%s(%d) ", $2, $1}')"
done

echo "== summary"
printf '%s' "$summary"
echo "== usage the fake sent, per model (what /v1/usage must count):"
"$PYTHON" "$helpers/fakeagents.py" --totals "$work/api.jsonl"
echo "== connections tried to addresses outside the namespace since it was" \
	"made (IP OutNoRoutes v4 v6): $(noroutes)"
exit $fail
