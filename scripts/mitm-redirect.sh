#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# mitm-redirect.sh - creates the intercepted and the proxy's system users,
# the agents cgroup, and the iptables/ip6tables REDIRECT of tcp/443 to the
# MITM port for the intercepted uid and for the agents cgroup.
#
# Everything it adds lives in one nat chain of its own, reached from OUTPUT
# by two jumps, one for the intercepted uid (`--standalone`, `run
# --as-ls-user`) and one for the agents cgroup (`run`), so `uninstall` can
# remove exactly that and nothing else, and `install` run twice leaves one
# rule and two jumps. A cgroup rule holds the cgroup it was given: install
# adds its jump anew each time, so it never points at a removed one.
# Users it creates carry a marker in their GECOS field; --remove-users
# deletes only users that carry it, never one an administrator made.
set -u

PROG=mitm-redirect.sh
VERSION=0.1.0
CHAIN=ANTIGRAVITY_PROXY
MARK="antigravity-proxy (created by mitm-redirect.sh)"
: "${IPTABLES:=iptables}"
: "${IP6TABLES:=ip6tables}"
# iptables and useradd live in sbin, which a sudo or su path may lack.
PATH=$PATH:/usr/sbin:/sbin
export PATH

# Exit codes, LSB-like: 3 = not installed (status), 4 = not root,
# 5 = iptables is not installed.
die() {			# die STATUS MESSAGE
	echo "$PROG: $2" >&2
	exit "$1"
}

usage() {
	cat <<EOF
Usage: $PROG install|uninstall|status [OPTION]...
Redirects the intercepted user's tcp/443 connections to antigravity-proxy.

  --user USER        intercepted user (default antigravity-ls)
  --home DIR         its private home (default /var/lib/antigravity-ls)
  --cgroup NAME      the agents cgroup, under the cgroup v2 mount
                     (default antigravity-agents)
  --port PORT        MITM port of the proxy (default 8742)
  --proxy-user USER  the proxy's own unprivileged user (default
                     antigravity-proxy)
  --no-users         do not create users (install) or look for them
  --remove-users     uninstall: also delete the users install created
  --help, --version
Environment: IPTABLES, IP6TABLES name the commands to use.
EOF
}

valid_name() {
	case $1 in
	'' | -* | *[!a-z0-9_.-]*) return 1 ;;
	esac
	return 0
}

parse_args() {
	[ $# -gt 0 ] || { usage >&2; exit 2; }
	case $1 in
	install | uninstall | status) cmd=$1 ;;
	--help | -h) usage; exit 0 ;;
	--version) echo "$PROG $VERSION"; exit 0 ;;
	*) die 2 "unknown command '$1' (install, uninstall or status)" ;;
	esac
	shift
	user=antigravity-ls port=8742 proxy_user=antigravity-proxy
	home=/var/lib/antigravity-ls cgroup=antigravity-agents
	make_users=yes remove_users=no
	while [ $# -gt 0 ]; do
		case $1 in
		--user | --port | --proxy-user | --home | --cgroup)
			[ $# -ge 2 ] || die 2 "$1 needs a value"
			case $1 in
			--user) user=$2 ;;
			--port) port=$2 ;;
			--home) home=$2 ;;
			--cgroup) cgroup=$2 ;;
			*) proxy_user=$2 ;;
			esac
			shift 2
			;;
		--no-users) make_users=no; shift ;;
		--remove-users) remove_users=yes; shift ;;
		*) die 2 "unknown option '$1'" ;;
		esac
	done
	valid_name "$user" || die 2 "--user: invalid user name '$user'"
	valid_name "$proxy_user" ||
		die 2 "--proxy-user: invalid user name '$proxy_user'"
	case $port in
	'' | *[!0-9]* | 0*) die 2 "--port: invalid port '$port'" ;;
	esac
	[ "$port" -le 65535 ] || die 2 "--port: invalid port '$port'"
	case $cgroup in
	'' | */* | .* | *[!A-Za-z0-9_.-]*)
		die 2 "--cgroup: invalid cgroup name '$cgroup'" ;;
	esac
	case $home in
	/?*) ;;
	*) die 2 "--home: not an absolute path: '$home'" ;;
	esac
}

# The cgroup v2 mount point, from mountinfo (a hybrid host mounts it at
# /sys/fs/cgroup/unified, a pure v2 host at /sys/fs/cgroup); empty when
# there is none. Its fields: ID PARENT MAJ:MIN ROOT MOUNTPOINT ... - TYPE
cgroup2_mount() {
	awk '{ for (i = 7; i < NF; i++) if ($i == "-") break;
	       if ($(i + 1) == "cgroup2") { print $5; exit } }' \
		/proc/self/mountinfo 2>/dev/null
}

# The tools that are present: iptables is required, ip6tables is not
# (a host without IPv6 NAT still gets the IPv4 redirect).
find_tools() {
	command -v "$IPTABLES" >/dev/null 2>&1 ||
		die 5 "$IPTABLES not found: install iptables"
	tools=$IPTABLES
	if command -v "$IP6TABLES" >/dev/null 2>&1 &&
	   "$IP6TABLES" -w -t nat -S OUTPUT >/dev/null 2>&1; then
		tools="$tools $IP6TABLES"
	elif [ "$cmd" = install ]; then
		echo "$PROG: warning: no IPv6 NAT ($IP6TABLES), IPv4 only" >&2
	fi
}

nologin_shell() {
	for s in /usr/sbin/nologin /sbin/nologin /bin/false; do
		[ -x "$s" ] && { echo "$s"; return; }
	done
	echo /bin/false
}

# Creates system user $1 unless it exists: no login shell; home $2
# (made later by home_make), or none.
user_add() {
	id -u "$1" >/dev/null 2>&1 && return 0
	shell=$(nologin_shell) dir=${2:-/nonexistent}
	if command -v useradd >/dev/null 2>&1; then
		useradd --system --no-create-home --home-dir "$dir" \
			--shell "$shell" --comment "$MARK" "$1" ||
			die 1 "useradd $1 failed"
	elif command -v adduser >/dev/null 2>&1; then	# busybox
		adduser -S -D -H -h "$dir" -s "$shell" -g "$MARK" "$1" ||
			die 1 "adduser $1 failed"
	else
		die 1 "neither useradd nor adduser found: cannot create $1"
	fi
	echo "created user $1 (uid $(id -u "$1"))"
}

# The intercepted user's private, writable home: agents keep settings
# and caches there. An install that made the user with no home
# (/nonexistent) moves it here; a home an administrator set is kept.
home_make() {
	cur=$(getent passwd "$user" | cut -d: -f6)
	gecos=$(getent passwd "$user" | cut -d: -f5)
	if [ "$cur" = /nonexistent ] && [ "$gecos" = "$MARK" ]; then
		usermod -d "$home" "$user" 2>/dev/null ||
			die 1 "usermod -d $home $user failed"
		echo "moved the home of $user to $home"
		cur=$home
	fi
	[ "$cur" = "$home" ] || return 0
	if [ ! -d "$home" ]; then
		mkdir -p "$home" || die 1 "cannot create $home"
	fi
	{ chown "$user:$(id -g "$user")" "$home" && chmod 0700 "$home"; } ||
		die 1 "cannot give $home to $user"
}

# Deletes user $1 only if install created it (the GECOS marker).
user_del() {
	id -u "$1" >/dev/null 2>&1 || return 0
	gecos=$(getent passwd "$1" | cut -d: -f5)
	if [ "$gecos" != "$MARK" ]; then
		echo "$PROG: not removing user $1: not created by $PROG" >&2
		return 0
	fi
	if command -v userdel >/dev/null 2>&1; then
		userdel "$1" || die 1 "userdel $1 failed"
	else
		deluser "$1" || die 1 "deluser $1 failed"
	fi
	echo "removed user $1"
}

# Prints the OUTPUT rules of tool $1 that jump to our chain, as -D specs.
jumps() {
	"$1" -w -t nat -S OUTPUT 2>/dev/null |
		sed -n "s/^-A OUTPUT \\(.* -j $CHAIN\\)\$/-D OUTPUT \\1/p"
}

has_chain() {
	"$1" -w -t nat -S "$CHAIN" >/dev/null 2>&1
}

# Deletes every jump to our chain from OUTPUT, then the chain.
remove_family() {
	t=$1
	jumps "$t" | while read -r spec; do
		# shellcheck disable=SC2086 # spec is iptables words, no globs
		(set -f; "$t" -w -t nat $spec) ||
			echo "$PROG: $t: could not delete '$spec'" >&2
	done
	if has_chain "$t"; then
		"$t" -w -t nat -F "$CHAIN" ||
			die 1 "$t: could not flush chain $CHAIN"
		"$t" -w -t nat -X "$CHAIN" ||
			die 1 "$t: could not remove chain $CHAIN"
	fi
}

install_family() {
	t=$1
	# Every jump but the uid's goes: one for another uid (an earlier
	# install with another --user), and the cgroup's, added anew below.
	jumps "$t" | grep -v -- "--uid-owner $uid " | while read -r spec; do
		# shellcheck disable=SC2086 # spec is iptables words, no globs
		(set -f; "$t" -w -t nat $spec)
	done
	if has_chain "$t"; then
		"$t" -w -t nat -F "$CHAIN"
	else
		"$t" -w -t nat -N "$CHAIN"
	fi || die 1 "$t: could not create chain $CHAIN"
	"$t" -w -t nat -A "$CHAIN" -p tcp --dport 443 \
		-j REDIRECT --to-ports "$port" ||
		die 1 "$t: could not add the REDIRECT rule"
	if ! "$t" -w -t nat -C OUTPUT -m owner --uid-owner "$uid" \
		-j "$CHAIN" 2>/dev/null; then
		"$t" -w -t nat -I OUTPUT 1 -m owner --uid-owner "$uid" \
			-j "$CHAIN" || die 1 "$t: could not add the jump"
	fi
	echo "$t: tcp/443 of uid $uid ($user) -> port $port"
	[ -n "$cgdir" ] || return 0
	if "$t" -w -t nat -I OUTPUT 1 -m cgroup --path "$cgroup" \
		-j "$CHAIN" 2>/dev/null; then
		echo "$t: tcp/443 of cgroup $cgroup -> port $port"
	else
		echo "$PROG: warning: $t: no cgroup match (xt_cgroup) in this" \
			"kernel: 'antigravity-proxy run' cannot be redirected;" \
			"use 'run --as-ls-user'" >&2
	fi
}

# The agents cgroup, made when the host has cgroup v2 ($cgdir, else "").
cgroup_make() {
	mnt=$(cgroup2_mount)
	cgdir=
	if [ -z "$mnt" ]; then
		echo "$PROG: warning: no cgroup v2 hierarchy is mounted:" \
			"'antigravity-proxy run' cannot be redirected; use" \
			"'run --as-ls-user'" >&2
		return 0
	fi
	cgdir=$mnt/$cgroup
	mkdir -p "$cgdir" || die 1 "cannot create the cgroup $cgdir"
	echo "agents cgroup: $cgdir"
}

# Prints one line about tool $1; returns 0 when the redirect is complete.
status_family() {
	t=$1
	if ! has_chain "$t"; then
		echo "$t: not installed"
		return 1
	fi
	to=$("$t" -w -t nat -S "$CHAIN" |
		sed -n 's/^-A .*-p tcp .*--dport 443 .*--to-ports \([0-9]*\).*/\1/p')
	uids=$(jumps "$t" | sed -n 's/.*--uid-owner \([0-9]*\).*/\1/p' |
		tr '\n' ' ' | sed 's/ $//')
	cgs=$(jumps "$t" | sed -n 's/.*--path "*\/*\([^" ]*\)"* .*/\1/p' |
		tr '\n' ' ' | sed 's/ $//')
	echo "$t: chain $CHAIN redirects tcp/443 to port ${to:-none};" \
		"jumped to for uid ${uids:-none} and cgroup ${cgs:-none}"
	[ "$to" = "$port" ] && [ -n "$uid" ] && [ "$uids" = "$uid" ] ||
		return 1
	# Without cgroup v2 the uid's redirect is all there can be.
	[ -z "$(cgroup2_mount)" ] || [ "$cgs" = "$cgroup" ]
}

cmd_install() {
	if [ "$make_users" = yes ]; then
		user_add "$user" "$home"
		user_add "$proxy_user"
		home_make
	fi
	uid=$(id -u "$user" 2>/dev/null) ||
		die 1 "user $user does not exist (and --no-users was given)"
	cgroup_make
	for t in $tools; do
		install_family "$t"
	done
}

cmd_uninstall() {
	for t in $tools; do
		remove_family "$t"
		echo "$t: removed chain $CHAIN and its jumps"
	done
	mnt=$(cgroup2_mount)
	if [ -n "$mnt" ] && [ -d "$mnt/$cgroup" ]; then
		# Run cgroups that no process is in any more go first; one with
		# a process in it keeps the agents cgroup too, said so.
		for d in "$mnt/$cgroup"/run-*; do
			[ -d "$d" ] && rmdir "$d" 2>/dev/null
		done
		if rmdir "$mnt/$cgroup" 2>/dev/null; then
			echo "removed the agents cgroup $mnt/$cgroup"
		else
			echo "$PROG: agents cgroup $mnt/$cgroup kept: runs are" \
				"still in it" >&2
		fi
	fi
	if [ "$remove_users" = yes ]; then
		user_del "$user"
		user_del "$proxy_user"
	fi
}

cmd_status() {
	rc=0
	uid=$(id -u "$user" 2>/dev/null) || uid=
	for t in $tools; do
		status_family "$t" || rc=3
	done
	mnt=$(cgroup2_mount)
	if [ -z "$mnt" ]; then
		echo "agents cgroup: no cgroup v2 on this host"
	elif [ -d "$mnt/$cgroup" ]; then
		echo "agents cgroup: $mnt/$cgroup"
	else
		echo "agents cgroup: $mnt/$cgroup missing"
		rc=3
	fi
	for u in "$user" "$proxy_user"; do
		if id -u "$u" >/dev/null 2>&1; then
			echo "user $u: uid $(id -u "$u")"
		else
			echo "user $u: missing"
			[ "$u" = "$user" ] && rc=3
		fi
	done
	if [ $rc -eq 0 ]; then
		echo "installed"
	else
		echo "not installed"
	fi
	return $rc
}

parse_args "$@"
[ "$(id -u)" -eq 0 ] || die 4 "$cmd: must be run as root"
find_tools
case $cmd in
install) cmd_install ;;
uninstall) cmd_uninstall ;;
status) cmd_status ;;
esac
