#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# run.sh - `antigravity-proxy run -- CMD` as an ordinary user, end to end,
# in a network namespace of this test's: the daemon's supervisor moves
# the caller into a run cgroup under the agents cgroup, whose
# cgroup-path REDIRECT catches its port 443 and its children's; the
# command keeps the user's uid, cwd, HOME and files; records name the
# run (agent, pid, uid). A process of the same user outside the cgroup
# is not redirected; nobody can move another's process; each refusal is
# one line on stderr and exit 125; garbage on the control socket gets a
# clear error and the daemon keeps serving.
# shellcheck source=tests/e2e/lib.sh
. "$top_srcdir/tests/e2e/lib.sh"
# shellcheck source=tests/e2e/netns.sh
. "$top_srcdir/tests/e2e/netns.sh"

PERSON=agp-person	# an ordinary user: neither root nor the LS user
GC="https://api.example.test/v1beta/models/gemini-2.5-pro:generateContent?fixture=gemini_public.json"

# shellcheck disable=SC2119 # no proxy options
ns_up
ok $? "namespace, both redirects, DNS, upstream and proxy are up"

cleanup() {
	ns_down
	userdel "$PERSON" 2>/dev/null
}
trap cleanup EXIT
id -u "$PERSON" >/dev/null 2>&1 ||
	useradd --no-create-home --home-dir "$work/person" --shell /bin/sh \
		"$PERSON" || exit 1
usermod -d "$work/person" "$PERSON"	# left by an earlier, killed run
mkdir -p "$work/person/project"
chown -R "$PERSON" "$work/person"
chmod 700 "$work/person"
person_uid=$(id -u "$PERSON")

# as_person CMD...: CMD as $PERSON in the namespace, in their project
# directory, with their passwd HOME (runuser sets it).
as_person() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	ip netns exec "$NS" runuser -u "$PERSON" -- sh -c \
		'cd "$HOME/project" && exec "$@"' sh "$@"
}
prun() {	# prun [RUN-OPTION]... -- CMD...: `run`, as $PERSON
	as_person "$PROXY" --config /dev/null --log-level warn \
		--control-socket "$work/control.sock" run "$@"
}
count() {	# the requests metered so far
	in_ns curl -s --max-time 5 "$API/v1/usage" | json_get totals.requests
}
# requests N FIELD...: those fields of the newest record, once N records
# are counted.
requests() {
	wait_counted "$1"; shift
	in_ns curl -s --max-time 5 "$API/v1/requests?limit=1" | "$PYTHON" -c '
import json, sys
r = json.load(sys.stdin)
print(" ".join(str(r[0].get(f, "")) if r else "-" for f in sys.argv[1:]))' "$@"
}
# cgroup_of PID: its cgroup v2 path.
cgroup_of() {
	sed -n 's/^0:://p' "/proc/$1/cgroup"
}

# --- idle ------------------------------------------------------------------
# cpu_ticks PID...: user and system time of those processes, in ticks.
cpu_ticks() {
	for p in "$@"; do
		awk '{print $14 + $15}' "/proc/$p/stat"
	done | awk '{t += $1} END {print t + 0}'
}
# The daemon and its supervisor, which serves `run` here: with nothing
# to do, both sleep (the supervisor once spun in poll() with a zero
# timeout when it had no language server to start).
sup=$(pgrep -P "$proxy_pid" -x antigravity-pro)
[ -n "$sup" ]
ok $? "the daemon has a supervisor (pid ${sup:-none})"
t0=$(cpu_ticks "$proxy_pid" "$sup")
sleep 2
t1=$(cpu_ticks "$proxy_pid" "$sup")
[ $((t1 - t0)) -le 10 ]
ok $? "idle for 2 s, the daemon and its supervisor use $((t1 - t0)) ticks of CPU (at most 10)"

# --- run as oneself ----------------------------------------------------------
code=$(prun -- curl -sS --max-time 10 -o /dev/null -w '%{http_code}' \
	-X POST -d '{}' "$GC")
ok $? "run -- curl as $PERSON: exit status 0"
is "$code" 200 "curl trusted the proxy (CURL_CA_BUNDLE from the daemon)"
is "$(requests 1 model input_tokens agent uid)" \
	"gemini-2.5-pro 2342 curl $person_uid" \
	"intercepted through the cgroup, metered, the record names agent and uid"

# shellcheck disable=SC2016 # expanded by the command
out=$(prun -- sh -c 'echo $$ $(id -u) $(id -G | wc -w) "$HOME" "$(pwd)"; cat /proc/self/cgroup')
# shellcheck disable=SC2086 # split into its words on purpose
set -- $out
is "$2 $4 $5" "$person_uid $work/person $work/person/project" \
	"the command runs as $PERSON, with their HOME and cwd"
is "$3" "$(id -G "$PERSON" | wc -w)" "and their groups"
run_pid=$1
echo "$out" | grep -q "^0::/$AGENTS/run-$run_pid-sh\$"
ok $? "in its own run cgroup, $AGENTS/run-$run_pid-sh"

# shellcheck disable=SC2016 # expanded by the command
prun -- sh -c 'curl -sS --max-time 10 -o /dev/null -X POST -d "{}" "$1";
	echo written >proof.txt; echo $$ >pid.txt' sh "$GC"
ok $? "a child of the command (sh -> curl) is intercepted too"
is "$(requests 2 agent pid)" "sh $(cat "$work/person/project/pid.txt")" \
	"its record names the run: agent sh and the run's pid"
is "$(stat -c %U "$work/person/project/proof.txt")" "$PERSON" \
	"the file it wrote is $PERSON's, in $PERSON's directory"

prun -- sh -c 'exit 3'
is $? 3 "the command's exit status comes back"
prun -- /nonexistent/cmd 2>"$work/noent.err"
is $? 127 "a command that does not exist: 127"
is "$(wc -l <"$work/noent.err")" 1 "with one line: $(cat "$work/noent.err")"

# --- isolation ---------------------------------------------------------------
before=$(count)
as_person curl -sS --max-time 10 -o /dev/null --cacert "$work/up/ca.pem" \
	-X POST -d '{}' "$GC"
ok $? "$PERSON outside the cgroup reaches the upstream directly"
is "$(count)" "$before" "not redirected: nothing metered"

# Another user cannot move $PERSON's process, nor one of their own but
# the connecting one.
as_person sleep 30 &
sleeper=$!
for _ in $(seq 50); do
	sp=$(pgrep -u "$PERSON" -x sleep) && break
	sleep 0.1
done
was=$(cgroup_of "$sp")
ctl() {		# ctl USER TEXT: what the control socket answers USER
	ip netns exec "$NS" runuser -u "$1" -- "$CLIENT_PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode())
print(s.recv(4096).decode().strip())' "$work/control.sock" "$2"
}
ans=$(ctl "$TEST_USER" "move $sp evil
")
case $ans in "error pid $sp is not the connecting process"*) r=0 ;; *) r=1 ;; esac
ok $r "another user cannot move $PERSON's pid: $ans"
is "$(cgroup_of "$sp")" "$was" "and that process stays where it was"
ans=$(ctl "$PERSON" "move $sp mine
")
case $ans in "error pid $sp is not the connecting process"*) r=0 ;; *) r=1 ;; esac
ok $r "nor can $PERSON move another process of their own"
kill "$sleeper" 2>/dev/null
wait "$sleeper" 2>/dev/null

# --- bad input on the control socket ---------------------------------------
ans=$(ctl "$PERSON" "hello there
")
is "$ans" "error malformed request: expected 'move PID AGENT'" \
	"garbage gets a clear error"
ans=$(ctl "$PERSON" "$(head -c 600 /dev/zero | tr '\0' x)")
case $ans in "error malformed request"*) r=0 ;; *) r=1 ;; esac
ok $r "an over-long line too"
# A client that connects and says nothing delays nobody else.
ip netns exec "$NS" "$CLIENT_PYTHON" -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); time.sleep(4)' \
	"$work/control.sock" &
idle=$!
sleep 0.3
t0=$(date +%s%N)
prun -- true
ok $? "the daemon keeps serving: the next run works"
t1=$(date +%s%N)
ok $(( (t1 - t0) / 1000000 >= 1500 )) \
	"without waiting for a silent client ($(( (t1 - t0) / 1000000 )) ms)"
wait "$idle"
moves=$(metric antigravity_proxy_run_moves_total)
refusals=$(metric antigravity_proxy_run_refusals_total)
ok $(( !(moves >= 6 && refusals >= 4) )) \
	"/metrics counts $moves moves and $refusals refusals"

# --- refusals: one line on stderr, exit 125, never a silent run --------------
refusal() {	# refusal WANT DESCRIPTION [RUN-OPTION]...
	want=$1 desc=$2
	shift 2
	prun "$@" -- touch "$work/person/ran" 2>"$work/refusal.err"
	rc=$?
	is "$rc $(wc -l <"$work/refusal.err")" "125 1" "$desc: exit 125, one line"
	grep -q -- "$want" "$work/refusal.err"
	ok $? "  $(cat "$work/refusal.err")"
	[ ! -e "$work/person/ran" ]
	ok $? "  and the command did not run"
	rm -f "$work/person/ran"
}
refusal "the daemon is not running" "no daemon" \
	--control-socket "$work/nothing.sock"
chmod 600 "$work/control.sock"
refusal "permission denied" "a socket $PERSON may not use"
chmod 666 "$work/control.sock"

# A second daemon for each host fault, in a mount namespace of its own.
other_daemon() {	# other_daemon NAME SETUP: SETUP runs before it, as root
	# shellcheck disable=SC2016 # expanded by the inner shell
	nsenter --net="/run/netns/$NS" unshare --mount sh -c "$2"'
		exec "$0" "$@"' "$PROXY" --config /dev/null --user root \
		--state-dir "$work/state-$1" --api-listen "127.0.0.1:9741" \
		--mitm-listen 127.0.0.1:9742 --control-socket "$work/$1.sock" \
		--agents-cgroup "$AGENTS" --dns-server "$DNS_IP" \
		2>>"$work/$1.log" &
	other=$!
	for _ in $(seq 100); do
		[ -S "$work/$1.sock" ] && break
		sleep 0.1
	done
}
other_stop() {
	kill "$other"
	wait "$other" 2>/dev/null
}
cg2=$(dirname "$AGENTS_DIR")
other_daemon nocg "umount -l '$cg2' &&"
refusal "no cgroup v2" "a host without cgroup v2" \
	--control-socket "$work/nocg.sock"
other_stop
# A kernel without xt_cgroup: tests/unit/test_control.c (proc files
# cannot be faked for one process).

# The supervisor killed mid-request: the client says so and stops.
sup=$(pgrep -P "$proxy_pid" | head -1)
kill -STOP "$sup"
prun -- touch "$work/person/ran" >"$work/killed.out" 2>&1 &
runner=$!
sleep 0.5
kill -KILL "$sup"
wait "$runner"
rc=$?
err=$(cat "$work/killed.out")
is "$rc $(echo "$err" | wc -l)" "125 1" \
	"the daemon killed mid-request: exit 125, one line"
case $err in *"without an answer"*) r=0 ;; *) r=1 ;; esac
ok $r "  $err"
[ ! -e "$work/person/ran" ]
ok $? "  and the command did not run"

tap_done
