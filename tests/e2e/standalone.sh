#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# standalone.sh - standalone mode end to end, as root, in a network
# namespace of its own: `run` as the intercepted user (metered, exit
# status passed through), then --standalone with a stand-in language
# server (Go, else Python) that trusts only SSL_CERT_FILE: its calls are
# intercepted and metered, its output is logged, kill -9 restarts it,
# stopping the proxy leaves no process and no zombie; the daemon runs as
# a test proxy user while its supervisor stays root, and the LS user can
# read the bundle but not the CA key or the ledger.
# AGP_FAKE_LS_PYTHON=1 tries the Python stand-in even where Go is installed.
# shellcheck source=tests/e2e/lib.sh
. "$top_srcdir/tests/e2e/lib.sh"
# shellcheck source=tests/e2e/netns.sh
. "$top_srcdir/tests/e2e/netns.sh"

PROXY_USER=agp-proxy-test
SGC="https://api.example.test/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&fixture=gemini_public_stream.sse"
GC="https://api.example.test/v1beta/models/gemini-2.5-pro:generateContent?fixture=gemini_public.json"

ns_up
ok $? "namespace, redirect, DNS, upstream and proxy are up"

cleanup() {
	ns_down
	rm -f "${SUDOERS:-/nonexistent}"
	userdel "$PROXY_USER" 2>/dev/null
}
trap cleanup EXIT

prun() {	# prun ARGS...: antigravity-proxy run in the namespace
	in_ns "$PROXY" --config /dev/null --state-dir "$work/state" \
		--control-socket "$work/control.sock" \
		--log-level warn run "$@"
}
# usage_of MODEL FIELD...: the fields, from one snapshot of /v1/usage
# (model names hold dots, so not json_get).
usage_of() {
	in_ns curl -s --max-time 5 "$API/v1/usage" | "$PYTHON" -c '
import json, sys
m = json.load(sys.stdin)["models"].get(sys.argv[1], {})
print(" ".join(str(m.get(f, "")) for f in sys.argv[2:]))' "$@"
}
uid_of() {	# uid_of PID: the four Uid fields of /proc/PID/status
	awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$1/status"
}
client_uid=$(id -u "$TEST_USER")

# --- run -------------------------------------------------------------------
code=$(prun --as-ls-user --ls-user "$TEST_USER" -- curl -sS --max-time 10 -o /dev/null \
	-w '%{http_code}' -X POST -d '{}' "$GC")
ok $? "run -- curl as $TEST_USER: exit status 0"
is "$code" 200 "curl trusted the proxy through CURL_CA_BUNDLE"
wait_counted 1
is "$(usage_of gemini-2.5-pro input_tokens)" 2342 \
	"the command's traffic was intercepted and metered"
prun --as-ls-user --ls-user "$TEST_USER" -- curl -sSf --max-time 10 -o /dev/null \
	"https://api.example.test/status/404" 2>/dev/null
is $? 22 "curl's own exit status (22, HTTP 404) comes back"
prun --as-ls-user --ls-user "$TEST_USER" -- false
is $? 1 "run -- false: 1"
prun --as-ls-user --ls-user "$TEST_USER" -- sh -c 'kill -TERM $$'
is $? 143 "a command killed by SIGTERM: 143"
is "$(prun --as-ls-user --ls-user "$TEST_USER" -- id -u)" "$client_uid" \
	"the command runs as the given user"
is "$(prun --as-ls-user --ls-user "$TEST_USER" -- sh -c 'echo $SSL_CERT_FILE $SSL_CERT_DIR')" \
	"$work/state/combined-ca.pem /dev/null" "with the trust variables"
prun --as-ls-user --ls-user agp-no-such-user -- true 2>"$work/missing.err"
ok $? "a missing user: the command still runs"
grep -q 'does NOT apply' "$work/missing.err"
ok $? "with a loud warning that the redirect does not apply"
prun --as-ls-user --ls-user "$TEST_USER" -- /nonexistent/cmd 2>/dev/null
is $? 127 "a command that does not exist: 127"
# The command does not outlive `run` (PR_SET_PDEATHSIG).
prun --as-ls-user --ls-user "$TEST_USER" -- sleep 31 &
bg=$!
for _ in $(seq 50); do
	cp=$(pgrep -u "$TEST_USER" -f '^sleep 31$') && break
	sleep 0.1
done
rp=$(awk '$1 == "PPid:" { print $2 }' "/proc/$cp/status" 2>/dev/null)
kill -9 "$rp"
wait "$bg" 2>/dev/null
left=1
for _ in $(seq 30); do	# gone, or a zombie until init reaps it
	state=$(awk '{ print $3 }' "/proc/$cp/stat" 2>/dev/null)
	[ -z "$state" ] || [ "$state" = Z ] && { left=0; break; }
	sleep 0.1
done
ok "$left" "run killed: its command ($cp) gets SIGTERM and ends with it"

# --- run as a user that is not root: through sudo -n ------------------------
# The daemon's own user may start the LS user's commands, by a sudoers
# rule of this test's; the copy of the binary is for a user who may not
# read the build tree.
SUDOERS=/etc/sudoers.d/agp-standalone-test
id -u "$PROXY_USER" >/dev/null 2>&1 ||
	useradd --system --no-create-home --shell /usr/sbin/nologin \
		"$PROXY_USER"
cp "$PROXY" "$work/agp-copy" && chmod 755 "$work/agp-copy"
# The running proxy's CA, so that the command trusts that proxy.
mkdir -p "$work/state-sudo" &&
	cp "$work/state/ca-cert.pem" "$work/state/ca-key.pem" "$work/state-sudo/" &&
	chown -R "$PROXY_USER" "$work/state-sudo"
srun() {	# srun ARGS...: `run` as $PROXY_USER, in the namespace
	in_ns runuser -u "$PROXY_USER" -- "$work/agp-copy" --config /dev/null \
		--state-dir "$work/state-sudo" --log-level warn run "$@"
}
echo "$PROXY_USER ALL=($TEST_USER) NOPASSWD: ALL" >"$SUDOERS"
chmod 440 "$SUDOERS"
is "$(srun --as-ls-user --ls-user "$TEST_USER" -- sh -c 'echo $(id -u) $SSL_CERT_FILE $SSL_CERT_DIR')" \
	"$client_uid $work/state-sudo/combined-ca.pem /dev/null" \
	"not root: run goes through sudo -n, as $TEST_USER, with the trust variables"
code=$(srun --as-ls-user --ls-user "$TEST_USER" -- curl -sS --max-time 10 -o /dev/null \
	-w '%{http_code}' -X POST -d '{}' "$GC" 2>/dev/null)
is "$code" 200 "and its traffic is redirected to the proxy, which it trusts"
srun --as-ls-user --ls-user "$TEST_USER" -- sh -c 'exit 3'
is $? 3 "the command's exit status comes back through sudo"
rm -f "$SUDOERS"
srun --as-ls-user --ls-user "$TEST_USER" -- true 2>"$work/sudo.err"
ok $(( $? == 0 )) "without a sudoers rule: a non-zero exit"
grep -q 'sudo: a password is required' "$work/sudo.err"
ok $? "and sudo's reason on stderr ($(head -c 60 "$work/sudo.err"))"

proxy_stop
ok $? "the plain proxy stopped"

# --- the stand-in language server ------------------------------------------
if [ -z "${AGP_FAKE_LS_PYTHON:-}" ] && command -v go >/dev/null; then
	(cd "$top_srcdir/tests/helpers" &&
	 GOCACHE="$work/gocache" GOPATH="$work/gopath" GO111MODULE=off \
		go build -o "$work/fake_ls" fake_ls.go) >"$work/go.out" 2>&1
	ok $? "the Go stand-in LS builds"
	set -- --ls-binary "$work/fake_ls"
else
	diag "no Go: the Python stand-in LS"
	set -- --ls-binary "$CLIENT_PYTHON" --ls-arg "$work/helpers/fake_ls.py"
fi
chmod 755 "$work/fake_ls" 2>/dev/null
id -u "$PROXY_USER" >/dev/null 2>&1 ||
	useradd --system --no-create-home --shell /usr/sbin/nologin \
		"$PROXY_USER"
proxy_uid=$(id -u "$PROXY_USER")
# A system CA file of our own, to change it under the running daemon.
cp /etc/ssl/certs/ca-certificates.crt "$work/system-ca.pem"
# A tunable of the user's own: the daemon adds its own to it, and the
# LS must get the user's back.
GLIBC_TUNABLES=glibc.malloc.perturb=0 \
proxy_start --standalone "$@" --ls-arg "$SGC" --ls-arg 300 \
	--ls-user "$TEST_USER" --user "$PROXY_USER" \
	--system-ca "$work/system-ca.pem"
ok $? "proxy up with --standalone --user $PROXY_USER"

wait_line "$work/proxy.log" 'ls: fake-ls: call 3 status 200'
ok $? "the LS's output reaches the proxy log, prefixed 'ls: '"
ls1=$(sed -n 's/.*ls: fake-ls: pid \([0-9]*\) .*/\1/p' "$work/proxy.log" | tail -1)
is "$(uid_of "$ls1")" "$client_uid $client_uid $client_uid $client_uid" \
	"the LS runs as $TEST_USER"
grep -q "ls: fake-ls: pid $ls1 uid $client_uid started, SSL_CERT_FILE=$work/state/combined-ca.pem" \
	"$work/proxy.log"
ok $? "the LS was given the combined bundle"
# ld.so cuts GLIBC_TUNABLES at its colons in place: match the pieces.
tr '\0' '\n' <"/proc/$proxy_pid/environ" >"$work/daemon.env"
grep -qx 'ANTIGRAVITY_PROXY_TUNABLES_WAS=glibc.malloc.perturb=0' \
	"$work/daemon.env" && grep -q 'glibc.malloc.tcache_count=0' "$work/daemon.env"
ok $? "the daemon ran itself again with glibc's per-thread cache off"
is "$(tr '\0' '\n' <"/proc/$ls1/environ" | grep 'TUNABLES')" \
	"GLIBC_TUNABLES=glibc.malloc.perturb=0" \
	"the LS gets the user's GLIBC_TUNABLES, not the daemon's"
# One snapshot: the LS goes on calling while we read.
read -r n in_tok <<EOF
$(usage_of gemini-2.5-flash requests input_tokens)
EOF
ok "$([ "${n:-0}" -ge 2 ] && [ "$in_tok" -eq $((n * 5234)) ]; echo $?)" \
	"its calls are intercepted and metered ($n requests, $in_tok input tokens)"

# --- privilege separation ----------------------------------------------------
bad=0
for t in /proc/"$proxy_pid"/task/*/status; do
	awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "$t" |
		grep -qx "$proxy_uid $proxy_uid $proxy_uid $proxy_uid" ||
		bad=$((bad + 1))
done
is "$bad" 0 "every daemon thread runs as $PROXY_USER ($(ls /proc/"$proxy_pid"/task | wc -l) threads)"
is "$(awk '$1 == "CapEff:" { print $2 }' "/proc/$proxy_pid/status")" \
	0000000000000000 "the daemon keeps no capability"
sup=$(awk '$1 == "PPid:" { print $2 }' "/proc/$ls1/status")
is "$(awk '$1 == "PPid:" { print $2 }' "/proc/$sup/status")" "$proxy_pid" \
	"the LS's parent is the daemon's child: the supervisor"
is "$(uid_of "$sup")" "0 0 0 0" "the supervisor stays root"
# CAP_DAC_OVERRIDE (1), CAP_KILL (5), CAP_SETGID (6), CAP_SETUID (7).
is "$(awk '$1 == "CapEff:" || $1 == "CapBnd:" { printf "%s ", $2 }' \
	"/proc/$sup/status")" "00000000000000e2 00000000000000e2 " \
	"with only the capabilities it needs, bounding set included"
is "$(stat -c '%U %a' "$work/state/ca-key.pem")" "$PROXY_USER 600" \
	"the CA key is the proxy user's, 0600"
for f in usage.db usage.db-wal usage.db-shm; do
	is "$(stat -c '%U %a' "$work/state/$f")" "$PROXY_USER 600" \
		"the store's $f is the proxy user's, 0600"
done
is "$(stat -c '%U %a' "$work/state/combined-ca.pem")" "root 644" \
	"the bundle is root's, 0644"
is "$(stat -c '%U %a' "$work/state")" "$PROXY_USER 711" \
	"the state dir is the proxy user's, 0711 (search only for others)"
as_ls() {
	runuser -u "$TEST_USER" -- "$@"
}
as_ls cat "$work/state/ca-key.pem" >/dev/null 2>&1
ok $((! $?)) "the LS user cannot read the CA key"
as_ls cat "$work/state/usage.db" >/dev/null 2>&1
ok $((! $?)) "the LS user cannot read the store"
as_ls sh -c "echo x >>'$work/state/combined-ca.pem'" 2>/dev/null
ok $((! $?)) "the LS user cannot write the bundle"
as_ls sh -c "echo x >'$work/state/x'" 2>/dev/null
ok $((! $?)) "nor create files in the state dir"
as_ls cat "$work/state/combined-ca.pem" >"$work/read.pem" &&
	cmp -s "$work/read.pem" "$work/state/combined-ca.pem"
ok $? "the LS user can read the bundle"

# --- restart and stop ---------------------------------------------------------
# A system CA update while the LS runs: the restarted LS gets it.
cat "$work/up/ca.pem" >>"$work/system-ca.pem"
kill -9 "$ls1"
for _ in $(seq 100); do
	ls2=$(sed -n 's/.*ls: fake-ls: pid \([0-9]*\) .*/\1/p' "$work/proxy.log" | tail -1)
	[ "$ls2" != "$ls1" ] && break
	sleep 0.1
done
ok "$([ -n "$ls2" ] && [ "$ls2" != "$ls1" ]; echo $?)" \
	"kill -9: the LS is restarted (pid $ls1 -> $ls2)"
is "$(metric antigravity_proxy_ls_restarts_total)" 1 \
	"the restart is counted in /metrics"
is "$(metric antigravity_proxy_ls_starts_total)" 2 "two starts counted"
grep -q "language server pid $ls1 killed by signal 9; restarting in 1000 ms" \
	"$work/proxy.log"
ok $? "the death is logged with the backoff delay"
grep -q "standalone: the system CAs changed: $work/state/combined-ca.pem rewritten" \
	"$work/proxy.log"
ok $? "the bundle was brought up to date before the restart"
[ "$(tail -c "$(wc -c <"$work/state/ca-cert.pem")" \
	"$work/state/combined-ca.pem")" = "$(cat "$work/state/ca-cert.pem")" ] &&
	grep -qFx "$(sed -n 2p "$work/up/ca.pem")" "$work/state/combined-ca.pem"
ok $? "it holds the new system CA, and still ends with ours"
is "$(stat -c '%U %a' "$work/state/combined-ca.pem")" "root 644" \
	"the rewritten bundle is root's, 0644"

proxy_stop
ok $? "SIGTERM stops the daemon"
gone=0
for p in "$ls2" "$sup" "$ls1"; do
	[ -d "/proc/$p" ] && gone=1
done
is "$gone" 0 "the LS and the supervisor are gone"
# Only this test's processes: other tests may run beside it (make -j).
zombies=$(for s in /proc/[0-9]*/stat; do
	cat "$s" 2>/dev/null
done | awk -v a="$$" -v b="$proxy_pid" -v c="$sup" \
	'$3 == "Z" && ($4 == a || $4 == b || $4 == c) { print $1 }')
is "$zombies" "" "no zombie left"
grep -q 'standalone: supervisor done' "$work/proxy.log"
ok $? "the supervisor logged a clean end"

# --- the supervisor killed ------------------------------------------------
# Its LS goes with it (PR_SET_PDEATHSIG); the daemon reaps it, says so,
# and goes on serving.
n0=$(grep -c 'ls: fake-ls: pid' "$work/proxy.log")
proxy_start --standalone "$@" --ls-arg "$SGC" --ls-arg 300 \
	--ls-user "$TEST_USER" --user "$PROXY_USER"
for _ in $(seq 100); do	# this instance's LS, not the last one's
	[ "$(grep -c 'ls: fake-ls: pid' "$work/proxy.log")" -gt "$n0" ] && break
	sleep 0.1
done
ls3=$(sed -n 's/.*ls: fake-ls: pid \([0-9]*\) .*/\1/p' "$work/proxy.log" | tail -1)
sup3=$(awk '$1 == "PPid:" { print $2 }' "/proc/$ls3/status")
kill -9 "$sup3"
gone=1
for _ in $(seq 100); do	# dead: gone, or a zombie until init reaps it
	state=$(awk '{ print $3 }' "/proc/$ls3/stat" 2>/dev/null)
	[ -z "$state" ] || [ "$state" = Z ] && { gone=0; break; }
	sleep 0.1
done
ok "$gone" "kill -9 of the supervisor: the LS goes with it"
wait_line "$work/proxy.log" "the supervisor (pid $sup3) was killed by signal 9"
ok $? "the daemon logs it as an error"
is "$(metric antigravity_proxy_ls_pid)" 0 "/metrics shows no LS"
in_ns curl -s -o /dev/null --max-time 5 "$API/health"
ok $? "the daemon still serves"
proxy_stop
ok $? "and stops on SIGTERM"

# --- restart backoff: 1 s, doubling -----------------------------------------
proxy_start --standalone --ls-binary /bin/sh --ls-arg -c --ls-arg 'exit 3' \
	--ls-user "$TEST_USER" --user "$PROXY_USER"
wait_line "$work/proxy.log" 'exited with 3; restarting in 4000 ms'
ok $? "an LS that exits at once is restarted after 1, 2, then 4 s"
is "$(sed -n 's/.*exited with 3; restarting in \([0-9]*\) ms.*/\1/p' \
	"$work/proxy.log" | head -3 | tr '\n' ' ')" "1000 2000 4000 " \
	"the delay doubles from 1 s"
proxy_stop
ok $? "the proxy stops while its LS is down"

# --- an LS that ignores SIGTERM is killed -----------------------------------
proxy_start --standalone --ls-binary /bin/sh --ls-arg -c \
	--ls-arg 'trap "" TERM; echo trapped; while :; do sleep 1; done' \
	--ls-user "$TEST_USER" --user "$PROXY_USER"
wait_line "$work/proxy.log" 'ls: trapped'
ok $? "an LS that ignores SIGTERM runs"
lsp=$(metric antigravity_proxy_ls_pid)
in_ns curl -s --max-time 5 "$API/metrics" >"$work/metrics.sa"
if command -v promtool >/dev/null; then
	promtool check metrics <"$work/metrics.sa" >"$work/promtool.sa" 2>&1
	ok $? "promtool check metrics accepts /metrics with --standalone"
	sed 's/^/# /' "$work/promtool.sa"
fi
proxy_stop
ok $? "the proxy stops"
grep -q "language server pid $lsp ignored SIGTERM; killing it" "$work/proxy.log"
ok $? "after the grace period the supervisor sends SIGKILL"
kill -0 "$lsp" 2>/dev/null
ok $(( $? == 0 )) "the LS ($lsp) is gone"

tap_done
