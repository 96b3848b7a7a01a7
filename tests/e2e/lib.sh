# shellcheck shell=sh
# SPDX-License-Identifier: GPL-2.0-or-later
# lib.sh - TAP helpers and process plumbing for the shell tests.
# Source it; it expects $top_builddir and $top_srcdir (set by make check).
# shellcheck disable=SC2034 # PROXY is for the scripts that source this

: "${top_builddir:=.}"
: "${top_srcdir:=.}"
: "${PYTHON:=python3}"
PROXY="$top_builddir/src/antigravity-proxy"
tap_n=0
tap_failed=0

ok() {			# ok COND-EXIT-STATUS DESCRIPTION
	tap_n=$((tap_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $tap_n - $2"
	else
		echo "not ok $tap_n - $2"
		tap_failed=$((tap_failed + 1))
	fi
}

is() {			# is GOT WANT DESCRIPTION
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		echo "#   got '$1', want '$2'"
	fi
}

skip_all() {
	echo "1..0 # SKIP $1"
	exit 0
}

diag() {
	echo "# $*"
}

tap_done() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
}

# Prints a TCP port that was free a moment ago on 127.0.0.1.
free_port() {
	"$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Waits up to 10 s for URL to answer; 0 when it did.
wait_http() {
	for _ in $(seq 100); do
		curl -s -o /dev/null --max-time 1 "$1" && return 0
		sleep 0.1
	done
	return 1
}

# Waits up to 10 s for PID to exit; 0 when it did.
wait_gone() {
	for _ in $(seq 100); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# Waits up to 10 s for a line matching $2 in file $1; 0 when it came.
wait_line() {
	for _ in $(seq 100); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# A JSON field by dotted path from stdin, via Python (stdlib only).
json_get() {
	"$PYTHON" -c '
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(json.dumps(v) if isinstance(v, (dict, list)) else v)' "$1"
}
