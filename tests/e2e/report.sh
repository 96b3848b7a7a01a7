#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# report.sh - `antigravity-proxy usage` end to end, as root, in a network
# namespace of its own: a daemon whose usage.db holds known records with
# fixed times (tests/e2e/report/records.jsonl, imported at start); the
# report for several --by, --since, --until, time zones and widths equal
# to golden output (tests/e2e/report/*.txt); --json byte for byte the
# API's document; --watch; colour on a terminal only; and each error:
# no daemon, something else answering, no answer, an older daemon, bad
# option values. The API's until=, tz=, by=week and by=month are checked
# with curl too.
#
# REPORT_REGEN=1 rewrites the golden files instead of comparing (review
# the diff before committing it).
# shellcheck source=tests/e2e/lib.sh
. "$top_srcdir/tests/e2e/lib.sh"
# shellcheck source=tests/e2e/netns.sh
. "$top_srcdir/tests/e2e/netns.sh"

R="$top_srcdir/tests/e2e/report"
RANGE="--since 2026-10-01T00:00:00Z --until 2026-12-31T00:00:00Z"

ns_up --log-level debug
ok $? "namespace, redirect, DNS, upstream and proxy are up"
proxy_stop
cp "$R/records.jsonl" "$work/state/usage.jsonl"
proxy_start
ok $? "the daemon starts over the known records"
wait_line "$work/proxy.log" "imported 7 records"
ok $? "seven records imported"

usage() {	# usage TZ ARG...: the report as a user in TZ would run it
	zone=$1
	shift
	in_ns env -u COLUMNS -u NO_COLOR TZ="$zone" "$PROXY" usage \
		--config /dev/null "$@"
}
# golden NAME TZ ARG...: the report equals tests/e2e/report/NAME.txt
golden() {
	name=$1
	shift
	usage "$@" >"$work/$name.txt" 2>"$work/$name.err"
	rc=$?
	if [ -n "${REPORT_REGEN:-}" ]; then
		cp "$work/$name.txt" "$R/$name.txt"
	fi
	[ "$rc" -eq 0 ] && [ ! -s "$work/$name.err" ] &&
		cmp -s "$work/$name.txt" "$R/$name.txt"
	ok $? "usage $* (TZ=$1): $name.txt"
	cmp -s "$work/$name.txt" "$R/$name.txt" ||
		diff "$R/$name.txt" "$work/$name.txt" | sed 's/^/# /' | head -30
}

# --- The tables. Default --by is day; UTC first.
# shellcheck disable=SC2086 # $RANGE, split on purpose
{
golden day UTC $RANGE
golden day-tokyo Asia/Tokyo $RANGE
# A fixed offset: a zone with daylight saving would change the golden
# output with the season the test runs in (the offset sent is today's).
golden day-minus5 EST5 $RANGE --by day
golden week UTC $RANGE --by week
golden month UTC $RANGE --by month
golden month-tokyo Asia/Tokyo $RANGE --by month
golden model UTC $RANGE --by model
golden agent-key UTC $RANGE --by agent,key
golden day-model UTC $RANGE --by day,model
golden month-host UTC $RANGE --by month,host
# Hours are UTC wherever the user is.
golden hour-model-tokyo Asia/Tokyo $RANGE --by hour,model
}
golden one-day UTC --since 2026-11-30T00:00:00Z \
	--until 2026-12-01T00:00:00Z --by model
golden until UTC --until 2026-11-29T00:00:00Z --by day
golden nothing UTC --since 2027-01-01T00:00:00Z --by day
# Narrow terminals (COLUMNS, read by the client): columns leave, text
# is cut, no line is wider.
for w in 72 50; do
	case $w in 72) n=day-model by=day,model ;; 50) n=agent-key by=agent,key ;; esac
	# shellcheck disable=SC2086
	in_ns env -u NO_COLOR COLUMNS=$w TZ=UTC "$PROXY" usage \
		--config /dev/null $RANGE --by "$by" >"$work/$n-$w.txt"
	[ -n "${REPORT_REGEN:-}" ] && cp "$work/$n-$w.txt" "$R/$n-$w.txt"
	cmp -s "$work/$n-$w.txt" "$R/$n-$w.txt"
	ok $? "COLUMNS=$w --by $by: $n-$w.txt"
	is "$(awk -v w="$w" 'length($0) > w' "$work/$n-$w.txt" | wc -l)" 0 \
		"no line of it is wider than $w"
done

# --- --json: the API's document, byte for byte.
q="by=day,model&tz=%2B09:00&since=2026-10-01T00:00:00Z&until=2026-12-31T00:00:00Z"
in_ns curl -s --max-time 5 "$API/v1/usage?$q" >"$work/api.json"
# shellcheck disable=SC2086
usage Asia/Tokyo $RANGE --by day,model --json >"$work/cli.json"
cmp -s "$work/api.json" "$work/cli.json"
ok $? "--json is the API's document byte for byte ($(wc -c <"$work/api.json") bytes)"
is "$(json_get api_version <"$work/cli.json")" 2 "it says api_version 2"
is "$(json_get tz <"$work/cli.json")" "+09:00" "and the client's offset"

# --- The API's extensions, directly.
u() { in_ns curl -s --max-time 5 "$API/v1/usage?$1"; }
code() { in_ns curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$API/v1/usage?$1"; }
is "$(u 'by=week' | json_get groups.0.week)" 2026-10-26 \
	"by=week: a Saturday's week is named by its Monday"
is "$(u 'by=week' | json_get groups.2.week)" 2026-11-30 \
	"a Monday starts a week; the Sunday before ends one"
is "$(u 'by=week&tz=-05:00' | json_get groups.2.week)" 2026-11-30 \
	"by=week at -05:00: Monday 14:00 UTC is still that Monday"
is "$(u 'by=month&tz=%2B09:00' | json_get groups.0.month)" 2026-11 \
	"by=month at +09:00: Oct 31 23:00 UTC is November"
is "$(u 'by=month&tz=Z' | json_get groups.0.month)" 2026-10 \
	"by=month in UTC: October"
is "$(u 'by=day&tz=+09:00' | json_get tz)" "+09:00" \
	"an unencoded '+' (a space once decoded) reads as '+'"
is "$(u 'by=day&until=2026-11-29T03:01:02Z' | json_get totals.requests)" 3 \
	"until= excludes a record at exactly that time"
is "$(u 'by=day&since=2026-11-29T03:01:02Z&until=2026-11-29T03:01:03Z' |
	json_get totals.requests)" 1 "since= includes it"
is "$(u '' | json_get api_version)" 2 "the plain document has api_version"
is "$(code 'by=day&tz=%2B15:00')" 400 "tz=+15:00: 400"
is "$(u 'by=day&tz=bogus' | json_get error)" \
	"tz: expected an offset like +01:00, -0500 or Z" "with a reason"
is "$(code 'until=1h')" 400 "until= without by=: 400"
is "$(code 'by=day&until=nope')" 400 "a bad until=: 400"
is "$(code 'by=fortnight')" 400 "by=fortnight: 400"

# --- --watch: plain repeated reports off a terminal; SIGINT and SIGTERM
# end it cleanly. The shell starts a background job with SIGINT ignored,
# as POSIX has it, and the command keeps an inherited "ignore" as
# programs do: Python puts the default back before it execs the command
# (same pid: `ip netns exec` and env exec too).
for sig in INT TERM; do
	rm -f "$work/watch.txt"
	# shellcheck disable=SC2086
	ip netns exec "$NS" "$PYTHON" -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' env TZ=UTC "$PROXY" usage \
		--config /dev/null $RANGE --by month --watch=1 \
		>"$work/watch.txt" 2>"$work/watch.err" &
	wpid=$!
	wait_line "$work/watch.txt" "^Total" && sleep 1.6
	kill -"$sig" "$wpid"
	wait "$wpid"
	is "$?" 0 "--watch=1 ends with status 0 on SIG$sig"
	n=$(grep -c '^Token usage by month' "$work/watch.txt")
	[ "$n" -ge 2 ] && [ "$n" -le 4 ] && [ ! -s "$work/watch.err" ]
	ok $? "it drew the report $n times in about 2 s"
done
lines=$(wc -l <"$R/month.txt")
head -n "$lines" "$work/watch.txt" | cmp -s "$R/month.txt" - &&
	sed -n "$((lines + 1))p" "$work/watch.txt" | grep -qx '' &&
	sed -n "$((lines + 2)),$((2 * lines + 1))p" "$work/watch.txt" |
	cmp -s "$R/month.txt" -
ok $? "each draw is the plain report, a blank line between"

# --- Colour: on a terminal (script(1) gives one), not with NO_COLOR, never
# off a terminal.
if command -v script >/dev/null; then
	in_ns env TZ=UTC COLUMNS=200 script -qec \
		"$PROXY usage --config /dev/null --by month $RANGE" /dev/null \
		>"$work/tty.txt"
	grep -q "$(printf '\033')\[1;36mToken usage" "$work/tty.txt"
	ok $? "a terminal gets colour"
	in_ns env TZ=UTC NO_COLOR=1 COLUMNS=200 script -qec \
		"$PROXY usage --config /dev/null --by month $RANGE" /dev/null \
		>"$work/tty-nc.txt"
	! grep -q "$(printf '\033')" "$work/tty-nc.txt" &&
		grep -q "^Total" "$work/tty-nc.txt"
	ok $? "NO_COLOR=1: none"
	in_ns env -u COLUMNS TZ=UTC NO_COLOR=1 script -qec "stty cols 60; \
$PROXY usage --config /dev/null --by month $RANGE" /dev/null |
		tr -d '\r' >"$work/tty-60.txt"
	is "$(awk 'length($0) > 60' "$work/tty-60.txt" | wc -l)" 0 \
		"a 60-column terminal (TIOCGWINSZ): no line wider"
	grep -q "^Left out to fit 60 columns" "$work/tty-60.txt"
	ok $? "and it says what it left out"
else
	for _ in 1 2 3 4; do ok 0 "# SKIP needs script(1)"; done
fi
! grep -q "$(printf '\033')" "$work/day.txt"
ok $? "off a terminal: no colour"

# --- Errors: one line on stderr, exit 1 (2 for bad values).
fails() {	# fails WANT-STATUS PATTERN DESCRIPTION ARG...
	want=$1 pat=$2 what=$3
	shift 3
	usage UTC "$@" >"$work/f.out" 2>"$work/f.err"
	rc=$?
	[ "$rc" -eq "$want" ] && [ "$(wc -l <"$work/f.err")" -ge 1 ] &&
		grep -qF -- "$pat" "$work/f.err" && [ ! -s "$work/f.out" ]
	ok $? "$what: exit $rc, $(head -1 "$work/f.err" | cut -c1-120)"
}
dead=18999
fails 1 "no daemon is running at 127.0.0.1:$dead (connection refused); start it" \
	"no daemon" --api-listen 127.0.0.1:$dead
is "$(wc -l <"$work/f.err")" 1 "one line"
printf 'api-listen = 127.0.0.1:%s\n' $dead >"$work/u.conf"
in_ns env TZ=UTC "$PROXY" usage --config "$work/u.conf" 2>"$work/f.err"
grep -q "127.0.0.1:$dead" "$work/f.err"
ok $? "the config file's api-listen is the address asked"
in_ns env TZ=UTC "$PROXY" usage --config "$work/u.conf" \
	--api-listen 127.0.0.1:18998 2>"$work/f.err"
grep -q "127.0.0.1:18998" "$work/f.err"
ok $? "and --api-listen after the word wins over it"
fails 1 "no daemon is running at 127.0.0.1:$dead" "0.0.0.0 means loopback" \
	--api-listen 0.0.0.0:$dead
for mode in html json old silent; do
	port=$(in_ns "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	ns_bg "$PYTHON" "$R/fakeapi.py" $mode "$port" >"$work/fake-$mode.out"
	wait_line "$work/fake-$mode.out" ready
	eval "port_$mode=$port"
done
# shellcheck disable=SC2154 # set by the eval above
{
fails 1 "what answers at 127.0.0.1:$port_html is not the antigravity-proxy API (HTTP 200, text/html); check --api-listen" \
	"a web server that is not ours" --api-listen "127.0.0.1:$port_html"
fails 1 "what answers at 127.0.0.1:$port_json is not the antigravity-proxy API (HTTP 200, application/json)" \
	"a JSON API that is not ours" --api-listen "127.0.0.1:$port_json"
fails 1 "the daemon at 127.0.0.1:$port_old is older than this client (its /v1/usage has no api_version 2); restart it" \
	"an older daemon, by=day" --api-listen "127.0.0.1:$port_old"
fails 1 "the daemon at 127.0.0.1:$port_old is older than this client (it says \"by: expected" \
	"an older daemon refusing by=week" --api-listen "127.0.0.1:$port_old" \
	--by week
start=$(date +%s)
fails 1 "nothing answered at 127.0.0.1:$port_silent within 10 s; is that the daemon's --api-listen?" \
	"a port that never answers" --api-listen "127.0.0.1:$port_silent"
took=$(($(date +%s) - start))
[ "$took" -ge 9 ] && [ "$took" -le 15 ]
ok $? "it gave up after the 10 s timeout (${took} s)"
fails 1 "older than this client" "--json checks the version too" \
	--api-listen "127.0.0.1:$port_old" --json
}
fails 2 "usage: --by: expected a comma-separated list of model, agent, key, host, day, week, month" \
	"--by fortnight" --by fortnight
fails 2 "usage: --by: day given twice" "--by day,day" --by day,day
fails 2 "usage: --since/--until: expected RFC 3339" "--since yesterday" \
	--since yesterday
fails 2 "usage: --since/--until" "--until 2026-13-01" --until 2026-13-01
fails 2 "--watch: invalid value 'soon'" "--watch=soon" --watch=soon
fails 2 "usage: unexpected 'now'" "a stray word" now

tap_done
