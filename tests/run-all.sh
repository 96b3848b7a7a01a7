#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# run-all.sh - installs what the build and the tests need (Debian, as
# root), then builds and runs the whole suite twice: a normal build and
# an AddressSanitizer/UndefinedBehaviorSanitizer build, then `make
# distcheck`. Ends with "N passed, N failed" over every test case; exits
# non-zero when any failed, when none ran, or (as root) when any skipped.
set -u
cd "$(dirname "$0")/.." || exit 1
top=$(pwd)

deps="build-essential autoconf automake pkg-config libgnutls28-dev
 libjson-c-dev libcurl4-gnutls-dev libc-ares-dev libmicrohttpd-dev
 zlib1g-dev libbrotli-dev libzstd-dev libsqlite3-dev sqlite3 python3 curl
 gnutls-bin openssl clang-format
 iproute2 iptables golang-go clang libclang-rt-14-dev procps
 prometheus util-linux nghttp2-server shellcheck groff-base systemd
 passwd sudo python3-websockets nodejs chromium"
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
	echo "== installing packages"
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086 # $deps is a list of words
	if ! apt-get update -qq >/dev/null ||
	   ! apt-get install -y -qq $deps >/dev/null; then
		echo "apt-get install failed"; echo "0 passed, 1 failed"; exit 1
	fi
	# npm installs the agent CLIs the tests drive; a nodejs that bundles
	# its own npm conflicts with Debian's package, so only when missing.
	if ! command -v npm >/dev/null &&
	   ! apt-get install -y -qq npm >/dev/null; then
		echo "apt-get install npm failed"; echo "0 passed, 1 failed"; exit 1
	fi
fi

echo "== autoreconf"
autoreconf -fi >/dev/null 2>&1 || { echo "autoreconf failed"; echo "0 passed, 1 failed"; exit 1; }

passed=0 failed=0 skipped=0 status=0
failures=$top/failures.txt
: >"$failures"
jobs=$(nproc 2>/dev/null || echo 2)

# report_failures DIR NAME: each failed case under DIR with the
# diagnostics that follow it, then the end of its log (the proxy log for
# e2e tests); the case's name goes to $failures, printed again last, so
# that the tail of the output says what failed.
report_failures() {
	find "$1" -name '*.log' ! -name test-suite.log \
		-exec grep -l '^not ok\|^Bail out' {} + 2>/dev/null |
	while read -r log; do
		echo "--- $log"
		grep -A12 '^not ok\|^Bail out' "$log" | grep -v '^\(ok\|PASS\|FAIL\):'
		echo "--- end of $log"
		tail -20 "$log"
		grep '^not ok\|^Bail out' "$log" |
			sed "s|^|$2 ${log#"$1"/}: |" >>"$failures"
	done
}

# run_suite NAME CONFIGURE-ARGS...: builds in build-NAME, runs make
# $target (check), adds its counts from the TAP results.
target=check
run_suite() {
	name=$1
	shift
	dir="$top/build-$name"
	echo "== $name build"
	rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" || return 1
	if ! "$top/configure" -q "$@" >configure.out 2>&1 ||
	   ! make -s -j"$jobs" >make.out 2>&1; then
		cat configure.out make.out 2>/dev/null | tail -40
		failed=$((failed + 1))
		status=1
		cd "$top" || exit 1
		return 1
	fi
	before=$failed
	make -s "$target" -j"$jobs" >check.out 2>&1 || check_failed=1
	grep -E '^(FAIL|ERROR|XPASS|SKIP)' check.out
	# Every test case's result, from the TAP driver's .trs files.
	find . -name '*.trs' -exec cat {} + >results.txt
	passed=$((passed + $(grep -c '^:test-result: PASS' results.txt)))
	failed=$((failed + $(grep -c '^:test-result: \(FAIL\|ERROR\|XPASS\)' results.txt)))
	skipped=$((skipped + $(grep -c '^:test-result: SKIP' results.txt)))
	grep -E '^# (TOTAL|PASS|FAIL|ERROR|SKIP)' check.out | sed "s/^/   $name /"
	if [ "${check_failed:-0}" -eq 1 ]; then
		status=1
		# make check failed without a failed test case: count it.
		[ "$failed" -gt "$before" ] || { failed=$((failed + 1)); tail -20 check.out; }
	fi
	check_failed=0
	grep -q '^\(FAIL\|ERROR\)' check.out && report_failures "$dir" "$name"
	cd "$top" || exit 1
}

run_suite normal
run_suite asan --enable-sanitizers
# Each fuzz target over its corpus, FUZZ_RUNS executions (replay.c).
target=check-fuzz
run_suite fuzz --enable-fuzzing CC=clang
target=check

echo "== distcheck"
if (cd "$top/build-normal" && make -s distcheck -j"$jobs" >distcheck.out 2>&1); then
	passed=$((passed + 1))
	echo "   distcheck passed"
else
	tail -40 "$top/build-normal/distcheck.out"
	for sub in "$top"/build-normal/antigravity-proxy-*/_build; do
		[ -d "$sub" ] && report_failures "$sub" distcheck
	done
	failed=$((failed + 1))
	status=1
fi

if [ "$(id -u)" -eq 0 ] && [ "$skipped" -gt 0 ]; then
	echo "$skipped test(s) skipped as root: every test must run here"
	status=1
fi
[ $((passed + failed)) -gt 0 ] || status=1
if [ -s "$failures" ]; then
	echo "== failed cases"
	cat "$failures"
fi
echo "$passed passed, $failed failed"
exit $status
