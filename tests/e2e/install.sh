#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# install.sh - `make install DESTDIR=...` installs the daemon, the scripts,
# the unit, the sample config and the man pages with their paths
# substituted; the installed init script starts, reports, reloads and stops
# the built daemon, whose syslog lines a private /dev/log collects.
# shellcheck source=tests/e2e/lib.sh
. "$top_srcdir/tests/e2e/lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root (a mount namespace for /dev/log)"

work=$(mktemp -d /tmp/agp-install.XXXXXX)
dest="$work/dest"
NS=agp-install-$$
cleanup() {
	for p in $(cat "$work"/run/*.pid 2>/dev/null) ${lpid:-} ${spid:-}; do
		kill "$p" 2>/dev/null
	done
	ip netns del "$NS" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# Runs make in the build tree, without the calling make's job server.
build_make() {
	MAKEFLAGS='' MFLAGS='' make -s -C "$top_builddir" "$@"
}

sbindir='' sysconfdir='' localstatedir='' runstatedir=''
man8dir='' initdir='' unitdir='' pkgdatadir=''
eval "$(build_make agp-print-paths)"

build_make install DESTDIR="$dest" >"$work/install.out" 2>&1
ok $? "make install DESTDIR= exits 0"
sed 's/^/# /' "$work/install.out" | grep -v '^# *\(/usr/bin/\)\?\(mkdir\|install\)' |
	head -20
sbin="$dest$sbindir"
init="$dest$initdir/antigravity-proxy"
unit="$dest$unitdir/antigravity-proxy.service"
conf="$dest$sysconfdir/antigravity-proxy.conf"
man1="$dest$man8dir/antigravity-proxy.8"
man2="$dest$man8dir/mitm-redirect.sh.8"
for f in "$sbin/antigravity-proxy" "$sbin/mitm-redirect.sh" "$init"; do
	[ -f "$f" ] && [ -x "$f" ]
	ok $? "installed executable ${f#"$dest"}"
done
prices="$dest$pkgdatadir/prices.json"
"$PYTHON" -c 'import json, sys; json.load(open(sys.argv[1]))["models"]' \
	"$prices" 2>/dev/null
ok $? "installed ${prices#"$dest"}, the price table"
grep -q "$pkgdatadir/prices.json" "$man1" && grep -q "$pkgdatadir/prices.json" "$conf"
ok $? "the man page and the sample config name it"
for f in "$unit" "$conf" "$man1" "$man2"; do
	[ -f "$f" ]
	ok $? "installed ${f#"$dest"}"
done

grep -l '@[A-Za-z_]*@' "$sbin/mitm-redirect.sh" "$init" "$unit" "$conf" \
	"$man1" "$man2" >"$work/at" 2>&1
is "$(cat "$work/at")" "" "no @...@ left in the installed text files"
grep -qx "DAEMON=$sbindir/antigravity-proxy" "$init"
ok $? "init script runs $sbindir/antigravity-proxy"
grep -qx "PIDFILE=$runstatedir/antigravity-proxy.pid" "$init"
ok $? "init script's pidfile is under $runstatedir"
grep -q "^DEFAULTS=.*:-$sysconfdir/default/antigravity-proxy}" "$init"
ok $? "init script reads $sysconfdir/default/antigravity-proxy"
grep -qx "ExecStart=$sbindir/antigravity-proxy \$DAEMON_ARGS" "$unit"
ok $? "unit runs $sbindir/antigravity-proxy"
grep -qx "#state-dir = $localstatedir/lib/antigravity-proxy" "$conf"
ok $? "sample config names the state dir under $localstatedir"
grep -q "^\.I $sysconfdir/antigravity-proxy.conf" "$man1"
ok $? "man page names $sysconfdir/antigravity-proxy.conf"

# The unit: systemd's own checker, when there is one.
if command -v systemd-analyze >/dev/null; then
	# A copy that runs the binary installed under DESTDIR, which
	# systemd-analyze checks is executable.
	mkdir -p "$work/unit"
	sed "s|^ExecStart=$sbindir/|ExecStart=$sbin/|" "$unit" \
		>"$work/unit/antigravity-proxy.service"
	systemd-analyze verify --man=no "$work/unit/antigravity-proxy.service" \
		>"$work/verify" 2>&1
	ok $? "systemd-analyze verify accepts the unit"
	is "$(cat "$work/verify")" "" "and says nothing against it"
fi
# shellcheck disable=SC2016 # $MAINPID is systemd's, not ours
grep -qx "Type=simple" "$unit" && grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$unit" &&
	grep -qx "Restart=on-failure" "$unit" && ! grep -q -- '--daemon' "$unit"
ok $? "unit: foreground daemon, HUP on reload, restart on failure"

# The man pages: clean for groff as man shows them, and every option of
# --help documented.  Warnings of line breaking (-Wbreak) are left out: an
# installed path longer than a line cannot be adjusted, and distcheck
# installs under a deep prefix.
for m in "$man1" "$man2"; do
	groff -man -Tutf8 -ww -Wbreak -z "$m" >"$work/groff" 2>&1
	is "$(cat "$work/groff")" "" "groff -ww finds nothing in ${m##*/}"
done
opts=$("$PROXY" --help | sed -n 's/^  --\([a-z-]*\).*/\1/p')
missing=
for o in $opts; do
	sed 's/\\-/-/g' "$man1" | grep -q -- "^\.B[I]* --$o\( \|$\)" ||
		missing="$missing $o"
done
is "$missing" "" "antigravity-proxy.8 has every option of --help"
for w in '^\.B ca-cert$' '^\.BI "run ' '^\.SH SIGNALS' '^\.SH EXIT STATUS' \
	'^\.SH FILES' '^\.B GET /v1/usage' '^\.BI "GET /v1/requests' \
	'^\.B GET /health' '^\.B GET /metrics'; do
	grep -q "$w" "$man1"
	ok $? "antigravity-proxy.8 has $w"
done
missing=
for o in $(sh "$sbin/mitm-redirect.sh" --help | sed -n 's/^  --\([a-z-]*\).*/\1/p'); do
	sed 's/\\-/-/g' "$man2" | grep -q -- "--$o" || missing="$missing $o"
done
is "$missing" "" "mitm-redirect.sh.8 has every option of its --help"

# The sample config: every setting but the init script's is there, and
# with every line uncommented the daemon accepts it.
missing=
for o in $opts; do
	case $o in config | daemon | pidfile | help | version) continue ;; esac
	grep -q "^#$o = " "$conf" || missing="$missing $o"
done
is "$missing" "" "sample config has every setting, commented out"
is "$(grep -c '^[^#]' "$conf")" 0 "sample config sets nothing"
sed 's/^#\([a-z-]* = \)/\1/' "$conf" >"$work/all.conf"
"$PROXY" --config "$work/all.conf" --state-dir "$work/castate" ca-cert \
	>"$work/ca.pem" 2>"$work/ca.err"
ok $? "the daemon accepts the sample config uncommented"
sed 's/^/# /' "$work/ca.err"

# An edited config survives another install and the uninstall.
echo "log-level = debug" >>"$conf"
build_make install DESTDIR="$dest" >"$work/install2.out" 2>&1
ok $? "make install again exits 0"
tail -1 "$conf" | grep -qx "log-level = debug"
ok $? "install keeps an existing config"
build_make uninstall DESTDIR="$dest" >"$work/uninstall.out" 2>&1
ok $? "make uninstall exits 0"
is "$(find "$dest" -type f | sed "s|^$dest||")" \
	"$sysconfdir/antigravity-proxy.conf" \
	"uninstall removes everything but the edited config"

# --- The installed init script against the built daemon.
port=$(free_port)
mport=$(free_port)
daemon=$(cd "$top_builddir/src" && pwd)/antigravity-proxy
mkdir -p "$work/run" "$work/dev"
chmod 755 "$work"
cat >"$work/defaults" <<EOF
DAEMON=$daemon
PIDFILE=$work/run/agp.pid
CONFIG=/dev/null
DAEMON_ARGS="--user root --control-socket $work/run/control.sock --state-dir $work/state --api-listen 127.0.0.1:$port --mitm-listen 127.0.0.1:$mport"
STOP_TIMEOUT=10
REDIRECT=no
EOF
build_make install DESTDIR="$dest" >/dev/null 2>&1

# The daemon logs to syslog: each init script call runs in a mount
# namespace whose /dev is $work/dev (with the real null, zero, random and
# urandom), where a collector listens on /dev/log.
for n in null zero random urandom; do : >"$work/dev/$n"; done
"$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("ready", flush=True)
with open(sys.argv[2], "a") as out:
    while True:
        out.write(s.recv(65536).decode(errors="replace") + "\n")
        out.flush()' "$work/dev/log" "$work/syslog" >"$work/syslog.out" 2>&1 &
lpid=$!
for _ in $(seq 50); do
	grep -q ready "$work/syslog.out" && break
	sleep 0.1
done

initrc() {		# initrc ACTION [DEFAULTS-FILE]; in $initrc_ns if set
	# shellcheck disable=SC2016 # the inner script expands them
	${initrc_ns:+ip netns exec "$initrc_ns"} unshare -m sh -c '
d=$1
shift
for n in null zero random urandom; do mount --bind "/dev/$n" "$d/$n"; done
mount --rbind "$d" /dev && exec "$@"' sh "$work/dev" \
		env ANTIGRAVITY_PROXY_DEFAULTS="${2:-$work/defaults}" \
		sh "$init" "$1"
}

# How many daemons serve our API port; a daemon's supervisor (its child,
# with the same command line) is not another one.
ndaemons() {
	pids=" $(pgrep -f -- "--api-listen 127.0.0.1:$port " | tr '\n' ' ')"
	n=0
	for p in $pids; do
		pp=$(ps -o ppid= -p "$p" | tr -d ' ')
		case $pids in *" $pp "*) ;; *) n=$((n + 1)) ;; esac
	done
	echo "$n"
}

initrc status >"$work/st0" 2>&1
is "$?" 3 "status before start exits 3"
initrc start >"$work/start1" 2>&1
ok $? "start exits 0"
sed 's/^/# /' "$work/start1"
curl -s --max-time 5 "http://127.0.0.1:$port/health" | grep -q '"status":"ok"'
ok $? "the API answers on port $port after start"
pid=$(cat "$work/run/agp.pid" 2>/dev/null)
kill -0 "${pid:-0}" 2>/dev/null
ok $? "the pidfile names the running daemon"
wait_line "$work/syslog" "antigravity-proxy.*started"
ok $? "the daemon logs to syslog"
initrc status >"$work/st1" 2>&1
is "$?" 0 "status when running exits 0"
is "$(cat "$work/st1")" "antigravity-proxy is running (pid $pid)" \
	"status names the pid"

initrc start >"$work/start2" 2>&1
ok $? "start again exits 0"
grep -q "already running (pid $pid)" "$work/start2"
ok $? "start again says it is already running"
is "$(ndaemons)" 1 "start twice leaves one daemon"
is "$(cat "$work/run/agp.pid")" "$pid" "and the same pid"

initrc reload >"$work/reload" 2>&1
ok $? "reload exits 0"
wait_line "$work/syslog" "SIGHUP"
ok $? "the daemon logs SIGHUP after reload"
kill -0 "$pid" 2>/dev/null
ok $? "and keeps running"

initrc stop >"$work/stop1" 2>&1
ok $? "stop exits 0"
kill -0 "$pid" 2>/dev/null
ok $((!$?)) "the daemon has exited when stop returns"
[ ! -e "$work/run/agp.pid" ]
ok $? "stop removes the pidfile"
wait_line "$work/syslog" "SIGTERM: stopping"
ok $? "the daemon logged its stop"
initrc status >/dev/null 2>&1
is "$?" 3 "status after stop exits 3"
curl -s --max-time 2 "http://127.0.0.1:$port/health" >/dev/null
ok $((!$?)) "the API no longer answers"
initrc stop >"$work/stop2" 2>&1
ok $? "stop when stopped exits 0"
initrc reload >/dev/null 2>&1
is "$?" 7 "reload when stopped exits 7"

initrc restart >/dev/null 2>&1
ok $? "restart when stopped exits 0"
pid1=$(cat "$work/run/agp.pid" 2>/dev/null)
initrc restart >/dev/null 2>&1
ok $? "restart when running exits 0"
pid2=$(cat "$work/run/agp.pid" 2>/dev/null)
[ -n "$pid1" ] && [ -n "$pid2" ] && [ "$pid1" != "$pid2" ] &&
	! kill -0 "$pid1" 2>/dev/null && kill -0 "$pid2" 2>/dev/null
ok $? "restart replaced the daemon"
is "$(ndaemons)" 1 "one daemon after restarts"

# A second instance on the same API port cannot start, and says so.
sed "s|$work/run/agp.pid|$work/run/other.pid|" "$work/defaults" \
	>"$work/defaults2"
initrc start "$work/defaults2" >"$work/start3" 2>&1
ok $((!$?)) "start fails when the daemon cannot start"
grep -q "failed" "$work/start3"
ok $? "and says so"
initrc stop >/dev/null 2>&1

# A stale pidfile naming another process: never signalled.
sleep 60 &
spid=$!
echo "$spid" >"$work/run/agp.pid"
initrc status >/dev/null 2>&1
is "$?" 1 "status with a stale pidfile exits 1"
initrc stop >/dev/null 2>&1
ok $? "stop with a stale pidfile exits 0"
kill -0 "$spid" 2>/dev/null
ok $? "and leaves the process the pidfile named alone"
initrc start >/dev/null 2>&1
ok $? "start over a stale pidfile exits 0"
is "$(ndaemons)" 1 "and one daemon runs"
initrc stop >/dev/null 2>&1
is "$(ndaemons)" 0 "no daemon left"

# --- After a reboot the nat rules are gone: start puts the redirect back.
# In a network namespace of this test, never in the host's rules.
ip netns add "$NS" && ip netns exec "$NS" ip link set lo up
ok $? "a network namespace for the redirect"
initrc_ns=$NS
cat >"$work/defaults-ns" <<EOF
DAEMON=$daemon
PIDFILE=$work/run/agp-ns.pid
CONFIG=/dev/null
DAEMON_ARGS="--user root --control-socket $work/run/control-ns.sock --state-dir $work/state-ns --api-listen 127.0.0.1:$port --mitm-listen 127.0.0.1:$mport"
REDIRECT_ARGS="--user nobody --port $mport"
REDIRECT_CMD=$sbin/mitm-redirect.sh
EOF
nat() {			# nat CHAIN: that chain of the namespace's nat table
	ip netns exec "$NS" iptables -w -t nat -S "$1" 2>/dev/null
}
redirected() {		# the REDIRECT rule and one jump for nobody's uid
	nat ANTIGRAVITY_PROXY | grep -q -- "-j REDIRECT --to-ports $mport" &&
		[ "$(nat OUTPUT | grep -c -- "--uid-owner $(id -u nobody) -j ANTIGRAVITY_PROXY")" -eq 1 ]
}
initrc start "$work/defaults-ns" >"$work/start-ns" 2>&1
ok $? "start with REDIRECT (the default) exits 0"
redirected
ok $? "and installed the redirect first"
initrc stop "$work/defaults-ns" >/dev/null 2>&1
redirected
ok $? "stop leaves the redirect in place"
ip netns exec "$NS" iptables -w -t nat -F OUTPUT &&
	ip netns exec "$NS" iptables -w -t nat -F ANTIGRAVITY_PROXY &&
	ip netns exec "$NS" iptables -w -t nat -X ANTIGRAVITY_PROXY
! redirected
ok $? "a reboot's empty nat table (simulated) has no redirect"
initrc start "$work/defaults-ns" >/dev/null 2>&1
ok $? "start exits 0"
redirected
ok $? "and put the redirect back, once"
initrc stop "$work/defaults-ns" >/dev/null 2>&1
initrc start "$work/defaults-ns" >/dev/null 2>&1
redirected
ok $? "a restart over an installed redirect leaves one rule and one jump"
initrc stop "$work/defaults-ns" >/dev/null 2>&1
echo 'REDIRECT_ARGS="--user agp-no-such-user --port 1"' >>"$work/defaults-ns"
initrc start "$work/defaults-ns" >"$work/start-nouser" 2>&1
ok $? "a redirect that cannot be restored does not fail the start"
grep -q "warning: redirect not restored: .*agp-no-such-user does not exist" \
	"$work/start-nouser"
ok $? "it is a one-line warning that names the cause"
kill -0 "$(cat "$work/run/agp-ns.pid" 2>/dev/null)" 2>/dev/null
ok $? "and the daemon runs"
initrc stop "$work/defaults-ns" >/dev/null 2>&1
initrc_ns=

tap_done
