#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# mitm-redirect.sh - creates the intercepted and the proxy's system users and
# the UID-scoped iptables/ip6tables REDIRECT of tcp/443 to the MITM port.
#
# Everything it adds lives in one nat chain of its own, reached by one jump
# from OUTPUT for the intercepted uid, so `uninstall` can remove exactly that
# and nothing else, and `install` run twice leaves one rule and one jump.
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
	make_users=yes remove_users=no
	while [ $# -gt 0 ]; do
		case $1 in
		--user | --port | --proxy-user)
			[ $# -ge 2 ] || die 2 "$1 needs a value"
			case $1 in
			--user) user=$2 ;;
			--port) port=$2 ;;
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

# Creates system user $1 unless it exists: no login shell, no home.
user_add() {
	id -u "$1" >/dev/null 2>&1 && return 0
	shell=$(nologin_shell)
	if command -v useradd >/dev/null 2>&1; then
		useradd --system --no-create-home --home-dir /nonexistent \
			--shell "$shell" --comment "$MARK" "$1" ||
			die 1 "useradd $1 failed"
	elif command -v adduser >/dev/null 2>&1; then	# busybox
		adduser -S -D -H -h /nonexistent -s "$shell" -g "$MARK" "$1" ||
			die 1 "adduser $1 failed"
	else
		die 1 "neither useradd nor adduser found: cannot create $1"
	fi
	echo "created user $1 (uid $(id -u "$1"))"
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
	# A jump for another uid (an earlier install with another --user)
	# goes: the chain redirects one user.
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
	echo "$t: chain $CHAIN redirects tcp/443 to port ${to:-none};" \
		"jumped to for uid ${uids:-none}"
	[ "$to" = "$port" ] && [ -n "$uid" ] && [ "$uids" = "$uid" ]
}

cmd_install() {
	if [ "$make_users" = yes ]; then
		user_add "$user"
		user_add "$proxy_user"
	fi
	uid=$(id -u "$user" 2>/dev/null) ||
		die 1 "user $user does not exist (and --no-users was given)"
	for t in $tools; do
		install_family "$t"
	done
}

cmd_uninstall() {
	for t in $tools; do
		remove_family "$t"
		echo "$t: removed chain $CHAIN and its jumps"
	done
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
