#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# agents.sh - the real agent CLIs from npm (Claude Code, Gemini CLI, Codex,
# Qwen Code), each started with `antigravity-proxy run --` by an ordinary
# user in a directory of theirs, in one-shot mode, against fakeagents.py
# under the real host names, in a network namespace of this test's. Each
# completes; /v1/usage equals, per model and field, what the fake API
# sent; each kept its settings in the user's own HOME, and wrote a file
# by its own tool call (the fake API asks for one) that is the user's, in
# the user's directory. Each also runs
# once direct (trusting the fake's CA itself), and both times are shown.
# Nothing leaves the namespace: it has no route out, and the CLIs'
# telemetry and update hosts do not resolve there.
# shellcheck source=tests/e2e/lib.sh
. "$top_srcdir/tests/e2e/lib.sh"
# shellcheck source=tests/e2e/netns.sh
. "$top_srcdir/tests/e2e/netns.sh"

PERSON=agp-agent-user
PREFIX=${AGP_AGENTS_PREFIX:-/var/cache/antigravity-proxy-tests/agents}

[ "$(id -u)" -eq 0 ] || skip_all "needs root (netns, iptables, a user)"
"$top_srcdir/tests/agents/install.sh" "$PREFIX" >&2
ok $? "the agent CLIs are installed from npm into $PREFIX"
BIN="$PREFIX/bin"

# shellcheck disable=SC2119 # no proxy options
ns_up
ok $? "namespace, redirects, DNS, fake API and proxy are up"
cleanup() {
	ns_down
	userdel "$PERSON" 2>/dev/null
}
trap cleanup EXIT
id -u "$PERSON" >/dev/null 2>&1 ||
	useradd --no-create-home --home-dir "$work/home" --shell /bin/sh \
		"$PERSON" || exit 1
usermod -d "$work/home" "$PERSON"
mkdir -p "$work/home/project"
chown -R "$PERSON" "$work/home"
chmod 700 "$work/home"
cat "$work/up/ca.pem" /etc/ssl/certs/ca-certificates.crt >"$work/direct-ca.pem"
chmod 644 "$work/direct-ca.pem"

# agent_env: what every CLI gets: a fake key per provider, no telemetry,
# no update checks, no colours.
agent_env() {
	echo PATH="$BIN:/usr/bin:/bin" TMPDIR=/tmp ANTHROPIC_API_KEY=sk-ant-fake \
		GEMINI_API_KEY=fake-gemini-key OPENAI_API_KEY=sk-fake \
		OPENAI_BASE_URL=https://api.openai.com/v1 \
		OPENAI_MODEL=qwen3-coder-plus \
		DISABLE_TELEMETRY=1 DISABLE_AUTOUPDATER=1 DISABLE_ERROR_REPORTING=1 \
		CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 NO_UPDATE_NOTIFIER=1 \
		GEMINI_TELEMETRY_ENABLED=false GEMINI_CLI_TRUST_WORKSPACE=true \
		NO_COLOR=1 CI=1
}
# as_person CMD...: CMD as $PERSON in the namespace, in their project.
as_person() {
	# shellcheck disable=SC2046,SC2016 # words of agent_env; inner shell
	ip netns exec "$NS" runuser -u "$PERSON" -- env $(agent_env) sh -c \
		'cd "$HOME/project" && exec "$@"' sh "$@" </dev/null
}
# cli_args NAME: the one-shot command line of each CLI.
cli_args() {
	case $1 in
	claude) echo "claude -p --permission-mode acceptEdits write-the-file" ;;
	gemini) echo "gemini --skip-trust --yolo -p write-the-file" ;;
	codex) echo "codex exec --skip-git-repo-check" \
		"--dangerously-bypass-approvals-and-sandbox" \
		"-c analytics.enabled=false -c check_for_update_on_startup=false" \
		"--disable plugins --disable apps write-the-file" ;;
	qwen) echo "qwen --auth-type openai --yolo -p write-the-file" ;;
	esac
}
# expected: /v1/usage's per-model token fields as the fake API's log sums
# them. (Side calls without usage, count_tokens say, count as requests of
# their model too: requests are not compared, tokens are, exactly.)
expected() {
	"$PYTHON" "$top_srcdir/tests/helpers/fakeagents.py" --totals \
		"$work/api.log" | "$PYTHON" -c '
import json, sys
names = {"input_tokens": "input", "output_tokens": "output",
         "thinking_tokens": "thinking", "cached_tokens": "cached",
         "cache_creation_tokens": "cache_creation"}
out = {m: {names[k]: v for k, v in row.items() if k in names}
       for m, row in json.load(sys.stdin).items()
       if any(row[k] for k in names)}
print(json.dumps(out, sort_keys=True))'
}
metered() {
	in_ns curl -s --max-time 5 "$API/v1/usage" | "$PYTHON" -c '
import json, sys
names = {"input_tokens": "input", "output_tokens": "output",
         "thinking_tokens": "thinking", "cached_tokens": "cached",
         "cache_creation_tokens": "cache_creation"}
out = {m: {names[k]: v for k, v in row.items() if k in names}
       for m, row in json.load(sys.stdin)["models"].items()
       if any(row[k] for k in names)}
print(json.dumps(out, sort_keys=True))'
}
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

CLIS=${AGP_AGENTS:-claude gemini codex qwen}
for cli in $CLIS; do
	rm -rf "$work/home/.$cli" "$work/home/project/agp-proof.txt"
	# shellcheck disable=SC2046 # the command line's words
	set -- $(cli_args "$cli")
	t0=$(date +%s%N)
	as_person timeout 120 "$PROXY" --config /dev/null \
		--control-socket "$work/control.sock" run -- "$@" \
		>"$work/$cli.out" 2>"$work/$cli.err"
	rc=$?
	through=$(ms "$t0")
	is "$rc" 0 "$cli through run: exit 0 (${through} ms)"
	[ "$rc" -eq 0 ] || sed 's/^/#   /' "$work/$cli.err" | tail -15
	is "$(stat -c %U "$work/home/.$cli" 2>/dev/null)" "$PERSON" \
		"  it kept its settings in $PERSON's HOME (~/.$cli)"
	is "$(stat -c %U "$work/home/project/agp-proof.txt" 2>/dev/null)" \
		"$PERSON" "  the file its tool call wrote is $PERSON's, in their project"
	for _ in $(seq 20); do		# the last record commits
		[ "$(metered)" = "$(expected)" ] && break
		sleep 0.1
	done
	is "$(metered)" "$(expected)" "  /v1/usage equals what the API sent"
	eval "through_$cli=$through"
done
diag "$(metered)"

# The same, direct, for the times: each CLI trusts the fake's CA itself.
for cli in $CLIS; do
	# shellcheck disable=SC2046 # the command line's words
	set -- $(cli_args "$cli")
	t0=$(date +%s%N)
	as_person timeout 120 env NODE_EXTRA_CA_CERTS="$work/direct-ca.pem" \
		SSL_CERT_FILE="$work/direct-ca.pem" "$@" \
		>"$work/$cli.direct" 2>&1
	rc=$?
	eval "through=\$through_$cli"
	diag "$cli: $through ms through the proxy, $(ms "$t0") ms direct (exit $rc)"
done

tap_done
