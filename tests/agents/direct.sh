#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# direct.sh - (header written below, after the runs)
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
"$here/install.sh" "$PREFIX" >/dev/null || exit 1
BIN=$PREFIX/bin

work=$(mktemp -d /var/tmp/agp-agents.XXXXXX) || exit 1
chmod 755 "$work"
pids=
made_user=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
	[ -z "$made_user" ] || userdel "$PERSON" 2>/dev/null
	[ -n "${KEEP:-}" ] && echo "direct.sh: kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# The names the CLIs call that the fake answers; every other name (their
# telemetry, update and feature-flag hosts) is NXDOMAIN in the namespace.
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
	in_ns "$@" >"$work/$name.out" 2>"$work/$name.err" &
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
# shellcheck disable=SC2086
start dns "$PYTHON" "$helpers/fakedns.py" --listen 127.0.0.53:53 $records \
	--ttl 5 --log "$work/dns.log"
start api "$PYTHON" "$helpers/fakeagents.py" --listen 127.0.0.2:443 \
	--cert "$work/certs/server.pem" --key "$work/certs/server.key" \
	--log "$work/api.jsonl" ${DUMP:+--dump "$work/dump"} \
	${WEBSOCKET:+--websocket "$WEBSOCKET"}
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
# namespace, with the test's /etc/hosts and /etc/resolv.conf bound over the
# real ones in a private mount namespace (/sys stays the host's, so the
# cgroup tree is visible), with only the ENV given.
as_person() {
	dir=$1
	shift
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

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

for cli in "$@"; do
	home=$work/$cli/home
	proj=$work/$cli/project
	mkdir -p "$home" "$proj"
	chown -R "$PERSON" "$work/$cli"
	chmod 700 "$home"
	common="HOME=$home USER=$PERSON LOGNAME=$PERSON SHELL=/bin/sh
		PATH=$BIN:/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 TERM=dumb
		NO_COLOR=1 NO_UPDATE_NOTIFIER=1
		NODE_EXTRA_CA_CERTS=$work/certs/ca.pem"
	case $cli in
	claude)
		envs="ANTHROPIC_API_KEY=sk-ant-api03-fake-agp-test-key
			DISABLE_TELEMETRY=1 DISABLE_ERROR_REPORTING=1
			DISABLE_AUTOUPDATER=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1"
		cmd="claude -p --permission-mode acceptEdits" ;;
	gemini)
		envs="GEMINI_API_KEY=fake-agp-gemini-key GEMINI_TELEMETRY_ENABLED=false"
		cmd="gemini --skip-trust --yolo -p" ;;
	codex)
		envs="OPENAI_API_KEY=sk-fake-agp-openai-key SSL_CERT_FILE=$work/ca-bundle.pem"
		cmd="codex exec --skip-git-repo-check --dangerously-bypass-approvals-and-sandbox" ;;
	qwen)
		envs="OPENAI_API_KEY=sk-fake-agp-qwen-key
			OPENAI_BASE_URL=https://api.openai.com/v1
			OPENAI_MODEL=qwen3-coder-plus"
		cmd="qwen --auth-type openai --yolo -p" ;;
	*) echo "direct.sh: no such CLI: $cli" >&2; exit 2 ;;
	esac
	api0=$(wc -l <"$work/api.jsonl")
	dns0=$(wc -l <"$work/dns.log")
	t0=$(date +%s%N)
	# shellcheck disable=SC2086 # the words of the env and command line
	as_person "$proj" $common $envs timeout "$TIMEOUT" $cmd "$PROMPT" \
		>"$work/$cli.stdout" 2>"$work/$cli.stderr"
	rc=$?
	took=$(ms "$t0")
	proof=no
	if [ -f "$proj/agp-proof.txt" ]; then
		proof="yes, owner $(stat -c %U "$proj/agp-proof.txt")"
	fi
	echo "== $cli: exit $rc, ${took} ms, proof file: $proof"
	echo "   stdout: $(head -c 300 "$work/$cli.stdout" | tr '\n' ' ')"
	[ "$rc" -eq 0 ] || sed 's/^/   stderr: /' "$work/$cli.stderr" | tail -20
	echo "   requests the fake saw:"
	tail -n +"$((api0 + 1))" "$work/api.jsonl" | "$PYTHON" -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    print("     %s %s%s -> %s %s %s%s" % (r["method"], r["host"], r["path"],
          r["status"], r["endpoint"], r["model"] or "",
          (" reply=" + r["reply"]) if r["reply"] else ""))'
	echo "   DNS queries: $(tail -n +"$((dns0 + 1))" "$work/dns.log" |
		awk '{print $1"/"$2}' | sort | uniq -c | awk '{print $2"x"$1}' | tr '\n' ' ')"
done
