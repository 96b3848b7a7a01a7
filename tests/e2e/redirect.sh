#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# redirect.sh - scripts/mitm-redirect.sh against real iptables and ip6tables
# in a network namespace this test creates, with real users: install,
# install again, status, the redirect itself (by uid and by cgroup), the
# LS user's private home and its migration, errors, uninstall leaving the
# rule set and the cgroup hierarchy exactly as they were.
# shellcheck source=tests/e2e/lib.sh
. "$top_srcdir/tests/e2e/lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root (netns, iptables, users)"
command -v iptables >/dev/null || skip_all "needs iptables"

NS="agp-redirect-$$"
TUSER=agp-redirect-test		# the intercepted user
PUSER=agp-redirect-proxy	# the proxy's user
KUSER=agp-redirect-keep		# a user the script did not create
MUSER=agp-redirect-old		# made by an earlier install, home /nonexistent
MARK="antigravity-proxy (created by mitm-redirect.sh)"
CG="agp-redirect-$$"		# the agents cgroup
PORT=9443
CLIENT_PYTHON=python3
[ -x /usr/bin/python3 ] && CLIENT_PYTHON=/usr/bin/python3

# The users have fixed names: one run at a time.
exec 8>/tmp/agp-redirect-test.lock
flock -w 300 8 || { echo "Bail out! lock busy"; exit 1; }

cleanup() {
	[ -n "${lpid:-}" ] && kill "$lpid" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	[ -n "$cgdir" ] && rmdir "$cgdir" 2>/dev/null
	for u in $TUSER $PUSER $KUSER $MUSER; do
		id -u "$u" >/dev/null 2>&1 && userdel "$u"
	done
	rm -rf "$work"
}
work=$(mktemp -d /tmp/agp-redirect.XXXXXX)
trap cleanup EXIT
cgdir=$(awk '{ for (i = 7; i < NF; i++) if ($i == "-") break;
	       if ($(i + 1) == "cgroup2") { print $5; exit } }' /proc/self/mountinfo)
[ -n "$cgdir" ] || { echo "Bail out! no cgroup v2 mount"; exit 1; }
cgdir="$cgdir/$CG"
for u in $TUSER $PUSER $KUSER $MUSER; do	# left over by a killed run
	id -u "$u" >/dev/null 2>&1 && userdel "$u"
done
# The test user runs the script too, and may not read the source tree.
cp "$top_srcdir/scripts/mitm-redirect.sh" "$work/"
chmod 755 "$work" "$work/mitm-redirect.sh"
script="$work/mitm-redirect.sh"

in_ns() {	# not `ip netns exec`: it hides the cgroup hierarchy
	nsenter --net="/run/netns/$NS" "$@"
}

redirect() {		# redirect COMMAND [OPTION]...: the script, in the ns
	cmd=$1
	shift
	in_ns sh "$script" "$cmd" --user "$TUSER" --proxy-user "$PUSER" \
		--home "$work/lshome" --cgroup "$CG" "$@"
}

# The rule set without comments and counters.
rules() {
	in_ns "$1-save" | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'
}

# connect_in_cgroup ADDR: the same, from a root process in the agents
# cgroup (in a run cgroup under it, as `run` puts an agent).
connect_in_cgroup() {
	mkdir -p "$cgdir/run-1-test"
	# shellcheck disable=SC2016 # expanded by the inner shell
	in_ns sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh \
		"$cgdir/run-1-test" runuser -u root -- "$CLIENT_PYTHON" -c '
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], 443), timeout=5)
    print(s.recv(64).decode())
except OSError:
    print("refused")' "$1"
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		rmdir "$cgdir/run-1-test" 2>/dev/null && break
		sleep 0.1
	done
}

# connect_as USER ADDR: what the server at ADDR port 443 says, or "refused".
connect_as() {
	in_ns runuser -u "$1" -- "$CLIENT_PYTHON" -c '
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], 443), timeout=5)
    print(s.recv(64).decode())
except OSError:
    print("refused")' "$2"
}

ip netns add "$NS" || exit 1
in_ns ip link set lo up

# Rules that are not ours, which install and uninstall must leave alone.
for ipt in iptables ip6tables; do
	in_ns $ipt -t nat -N AGP_OTHER &&
	in_ns $ipt -t nat -A AGP_OTHER -p tcp --dport 80 -j RETURN &&
	in_ns $ipt -t nat -A OUTPUT -p tcp --dport 8080 -j AGP_OTHER &&
	in_ns $ipt -A OUTPUT -o lo -j ACCEPT
	ok $? "$ipt: unrelated rules in place"
done
rules iptables >"$work/before4"
rules ip6tables >"$work/before6"

# Two servers in the namespace: one on 443 (not redirected), one on PORT.
# Started directly (not through a function) so that $! is the server;
# it must not hold the lock.
nsenter --net="/run/netns/$NS" "$PYTHON" -c '
import socket, sys, threading
def serve(family, addr, port, name):
    s = socket.socket(family)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port)); s.listen(16)
    while True:
        c, _ = s.accept(); c.sendall(name); c.close()
for fam, addr in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    for port, name in ((443, b"direct"), (int(sys.argv[1]), b"redirected")):
        threading.Thread(target=serve, args=(fam, addr, port, name),
                         daemon=True).start()
print("ready", flush=True)
threading.Event().wait()' "$PORT" >"$work/listen.out" 2>&1 8>&- &
lpid=$!
for _ in $(seq 50); do
	grep -q ready "$work/listen.out" && break
	sleep 0.1
done

redirect status >"$work/st0" 2>&1
is "$?" 3 "status before install exits 3"
grep -q '^not installed$' "$work/st0"
ok $? "status before install says not installed"

redirect install --port "$PORT" >"$work/inst1" 2>&1
ok $? "install exits 0"
id -u "$TUSER" >/dev/null 2>&1
ok $? "install created the intercepted user"
id -u "$PUSER" >/dev/null 2>&1
ok $? "install created the proxy user"
is "$(getent passwd "$TUSER" | cut -d: -f7)" /usr/sbin/nologin \
	"the intercepted user has no login shell"
uid=$(id -u "$TUSER")
for ipt in iptables ip6tables; do
	in_ns $ipt -t nat -S ANTIGRAVITY_PROXY >"$work/chain" 2>&1
	grep -qx -- "-A ANTIGRAVITY_PROXY -p tcp -m tcp --dport 443 -j REDIRECT --to-ports $PORT" \
		"$work/chain"
	ok $? "$ipt: chain ANTIGRAVITY_PROXY redirects tcp/443 to $PORT"
	in_ns $ipt -t nat -S OUTPUT | grep -qx -- \
		"-A OUTPUT -m owner --uid-owner $uid -j ANTIGRAVITY_PROXY"
	ok $? "$ipt: OUTPUT jumps to it for uid $uid"
	in_ns $ipt -t nat -S OUTPUT | grep -Eqx -- \
		"-A OUTPUT -m cgroup --path \"?$CG\"? -j ANTIGRAVITY_PROXY"
	ok $? "$ipt: and for the agents cgroup $CG"
done
[ -d "$cgdir" ]
ok $? "install made the agents cgroup $cgdir"
grep -q "^agents cgroup: $cgdir\$" "$work/inst1"
ok $? "and says where"
is "$(getent passwd "$TUSER" | cut -d: -f6)" "$work/lshome" \
	"the intercepted user's home is $work/lshome"
is "$(stat -c '%U %a' "$work/lshome")" "$TUSER 700" \
	"private and writable: $TUSER's, 0700"

is "$(connect_as "$TUSER" 127.0.0.1)" redirected \
	"the test user's connection to 127.0.0.1:443 reaches port $PORT"
is "$(connect_as "$TUSER" ::1)" redirected \
	"the test user's connection to [::1]:443 reaches port $PORT"
is "$(connect_as root 127.0.0.1)" direct \
	"root's connection to 127.0.0.1:443 is not redirected"
is "$(connect_as "$PUSER" ::1)" direct \
	"the proxy user's connection to [::1]:443 is not redirected"
is "$(connect_in_cgroup 127.0.0.1)" redirected \
	"root's connection from the agents cgroup to 127.0.0.1:443 is redirected"
is "$(connect_in_cgroup ::1)" redirected \
	"and to [::1]:443"

redirect install --port "$PORT" >"$work/inst2" 2>&1
ok $? "install again exits 0"
grep -q 'created user' "$work/inst2"
ok $((!$?)) "install again creates no user"
for ipt in iptables ip6tables; do
	is "$(rules $ipt | grep -c 'REDIRECT')" 1 "$ipt: still one REDIRECT rule"
	is "$(rules $ipt | grep -c -- '-j ANTIGRAVITY_PROXY')" 2 \
		"$ipt: still two jumps, the uid's and the cgroup's"
done
is "$(connect_as "$TUSER" 127.0.0.1)" redirected "still redirected"
is "$(connect_in_cgroup 127.0.0.1)" redirected "by cgroup too"

redirect status --port "$PORT" >"$work/st1" 2>&1
is "$?" 0 "status when installed exits 0"
tail -1 "$work/st1" | grep -qx installed
ok $? "status says installed"
grep -q "^iptables: .* to port $PORT; jumped to for uid $uid and cgroup $CG\$" \
	"$work/st1"
ok $? "status names the port, the uid and the cgroup"
grep -q "^agents cgroup: $cgdir\$" "$work/st1"
ok $? "and the agents cgroup"
redirect status --port 1 >/dev/null 2>&1
is "$?" 3 "status with another port exits 3"

in_ns runuser -u "$TUSER" -- sh "$script" status >"$work/nr" 2>&1
is "$?" 4 "not root exits 4"
is "$(cat "$work/nr")" "mitm-redirect.sh: status: must be run as root" \
	"not root says so in one line"
IPTABLES=agp-no-such-iptables redirect install >"$work/noipt" 2>&1
is "$?" 5 "iptables missing exits 5"
is "$(cat "$work/noipt")" \
	"mitm-redirect.sh: agp-no-such-iptables not found: install iptables" \
	"iptables missing says so in one line"
redirect frobnicate >/dev/null 2>&1
is "$?" 2 "an unknown command exits 2"
redirect install --port 70000 >/dev/null 2>&1
is "$?" 2 "a bad port exits 2"

# Another --user moves the one jump to that user.
useradd --system --no-create-home --home-dir /nonexistent \
	--shell /usr/sbin/nologin "$KUSER"
in_ns sh "$script" install --user "$KUSER" --no-users --port "$PORT" \
	>/dev/null 2>&1
kuid=$(id -u "$KUSER")
is "$(rules iptables | grep -- '--uid-owner.*-j ANTIGRAVITY_PROXY')" \
	"-A OUTPUT -m owner --uid-owner $kuid -j ANTIGRAVITY_PROXY" \
	"install for another user leaves one uid jump, for that user"
is "$(connect_as "$TUSER" 127.0.0.1)" direct \
	"the first user is no longer redirected"
redirect install --port "$PORT" >/dev/null 2>&1

# A user an earlier install made with no home gets its private home.
useradd --system --no-create-home --home-dir /nonexistent \
	--shell /usr/sbin/nologin --comment "$MARK" "$MUSER"
in_ns sh "$script" install --user "$MUSER" --proxy-user "$PUSER" \
	--home "$work/mhome" --cgroup "$CG" --port "$PORT" >"$work/mig" 2>&1
ok $? "install over an old install's user exits 0"
is "$(getent passwd "$MUSER" | cut -d: -f6) $(stat -c '%U %a' "$work/mhome")" \
	"$work/mhome $MUSER 700" "its home moved from /nonexistent to a private one"
in_ns sh "$script" install --user "$KUSER" --proxy-user "$PUSER" \
	--home "$work/khome" --cgroup "$CG" --port "$PORT" >/dev/null 2>&1
is "$(getent passwd "$KUSER" | cut -d: -f6)" /nonexistent \
	"a home an administrator set is left alone"
redirect install --port "$PORT" >/dev/null 2>&1

redirect uninstall >"$work/un1" 2>&1
ok $? "uninstall exits 0"
rules iptables | diff "$work/before4" - >"$work/diff4"
ok $? "iptables rule set is exactly as before"
sed 's/^/# /' "$work/diff4"
rules ip6tables | diff "$work/before6" - >"$work/diff6"
ok $? "ip6tables rule set is exactly as before"
sed 's/^/# /' "$work/diff6"
is "$(connect_as "$TUSER" 127.0.0.1)" direct "no longer redirected"
[ ! -d "$cgdir" ]
ok $? "the agents cgroup is gone"
redirect status >/dev/null 2>&1
is "$?" 3 "status after uninstall exits 3"
id -u "$TUSER" >/dev/null 2>&1
ok $? "uninstall without --remove-users keeps the users"

redirect uninstall >/dev/null 2>&1
ok $? "uninstall again exits 0"
rules iptables | diff -q "$work/before4" - >/dev/null
ok $? "and changes nothing"

in_ns sh "$script" uninstall --user "$KUSER" --proxy-user "$PUSER" \
	--remove-users >"$work/un2" 2>&1
ok $? "uninstall --remove-users exits 0"
id -u "$KUSER" >/dev/null 2>&1
ok $? "a user the script did not create is kept"
grep -q "not removing user $KUSER" "$work/un2"
ok $? "and it says so"
id -u "$PUSER" >/dev/null 2>&1
ok $((!$?)) "the proxy user it created is removed"
redirect uninstall --remove-users >/dev/null 2>&1
id -u "$TUSER" >/dev/null 2>&1
ok $((!$?)) "the intercepted user it created is removed"

tap_done
