#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# hardening.sh - issue 12's hardening, end to end in a network namespace:
# no credential in a log line, a record or /v1/requests at any log level
# short of --log-bodies; a --user the redirect covers is refused; API
# errors for huge heads are JSON; idle sockets do not lock the API; the
# process is named antigravity-proxy; refusals over --max-connections
# are logged rate-limited; requests are on /metrics; the daemon's DNS
# queries are its own; IPv6 original destinations; a hard link planted
# in the state dir keeps its owner.
# shellcheck source=tests/e2e/lib.sh
. "$top_srcdir/tests/e2e/lib.sh"
# shellcheck source=tests/e2e/netns.sh
. "$top_srcdir/tests/e2e/netns.sh"

HL_USER=agp-hl-test
GC="https://api.example.test/v1beta/models/gemini-2.5-pro:generateContent"

ns_up --log-level debug
ok $? "namespace, redirect, DNS, upstream and proxy are up"
cleanup() {
	ns_down
	userdel "$HL_USER" 2>/dev/null
}
trap cleanup EXIT

ccurl() {	# ccurl ARGS...: curl as the intercepted user, our CA trusted
	as_client curl -sS --max-time 20 --cacert "$work/bundle.pem" "$@"
}

# --- the process name, after the malloc re-exec -----------------------
# The kernel keeps 15 characters of a name (TASK_COMM_LEN), so pgrep -x
# matches antigravity-pro; ps -C and pidof match the whole name.
is "$(ps -o comm= -p "$proxy_pid")" antigravity-pro \
	"the daemon's comm is antigravity-pro(xy), not exe"
pgrep -x antigravity-pro | grep -qx "$proxy_pid"
ok $? "pgrep -x antigravity-pro finds it"
pidof antigravity-proxy | tr ' ' '\n' | grep -qx "$proxy_pid"
ok $? "pidof antigravity-proxy finds it"
ps -C antigravity-proxy -o pid= | tr -d ' ' | grep -qx "$proxy_pid"
ok $? "ps -C antigravity-proxy finds it"
tr '\0' ' ' <"/proc/$proxy_pid/cmdline" | grep -q "^$PROXY "
ok $? "argv[0] is kept across the re-exec"

# --- no credential reaches a log, a record or /v1/requests ------------
for level in debug info warn; do
	proxy_stop
	proxy_start --log-level "$level"
	s="agpsecret${level}$$"
	code=$(ccurl -o /dev/null -w '%{http_code}' -X POST -d '{}' \
		-H "Authorization: Bearer $s-auth" -H "x-api-key: $s-xak" \
		-H "x-goog-api-key: $s-goog" -H "Cookie: sid=$s-cookie" \
		"$GC?key=$s-key&fixture=gemini_public.json")
	is "$code" 200 "$level: a metered request with secrets in it"
	ccurl -o /dev/null -X POST -d '{}' \
		"$GC?api_key=$s-ak&access_token=$s-at&token=$s-tok&fixture=gemini_public.json"
	ccurl -o /dev/null "https://api.example.test/status/404?key=$s-404"
	ccurl -o /dev/null "https://down.example.test/v1/x?key=$s-down" 2>/dev/null
	sleep 1		# the ledger's writer commits
	in_ns curl -s --max-time 5 "$API/v1/requests" >"$work/requests.$level"
	hits=$(grep -rl "$s" "$work/proxy.log" "$work/state" \
		"$work/requests.$level" 2>/dev/null)
	is "$hits" "" "$level: no secret in the log, the state dir or /v1/requests"
	grep -q "generateContent -> 200" "$work/proxy.log" ||
		[ "$level" = warn ]
	ok $? "$level: the exchange is still logged, by its path"
done

# --- /metrics: requests, with HELP --------------------------------------
in_ns curl -s --max-time 5 "$API/metrics" >"$work/metrics"
grep -q '^# HELP antigravity_proxy_forwarded_requests_total ' "$work/metrics"
ok $? "/metrics: antigravity_proxy_forwarded_requests_total has a HELP line"
[ "$(metric antigravity_proxy_forwarded_requests_total)" -ge 3 ]
ok $? "/metrics: the forwarded requests are counted"
if command -v promtool >/dev/null; then
	promtool check metrics <"$work/metrics" >"$work/promtool.out" 2>&1
	ok $? "promtool check metrics accepts /metrics"
	sed 's/^/# /' "$work/promtool.out"
fi

proxy_stop
proxy_start

# --- API errors are JSON, huge heads included -------------------------
long=$("$PYTHON" -c 'print("a" * 100000)')
api_error() {	# api_error WANT DESCRIPTION CURL-ARGS...
	want=$1 what=$2
	shift 2
	got=$(in_ns curl -s --max-time 10 -o "$work/err.json" \
		-w '%{http_code} %{content_type}' "$@")
	is "$got" "$want application/json" "$what: $want in JSON"
	is "$(json_get status <"$work/err.json" 2>/dev/null)" "${want%% *}" \
		"$what: the body names the status"
}
api_error 414 "a 100 KB URL" "$API/v1/usage?x=$long"
api_error 431 "100 KB of headers" -H "X-Big: $long" "$API/v1/usage"
api_error 404 "an unknown path" "$API/nowhere"
code=$(in_ns curl -s --max-time 5 -o /dev/null -w '%{http_code}' \
	"$API/v1/usage?since=1h")
is "$code" 200 "an ordinary request still answers"

# --- 100 idle sockets from one user do not lock another out -----------
as_client "$CLIENT_PYTHON" -c '
import socket, sys, time
s = [socket.create_connection(("127.0.0.1", 8741)) for _ in range(100)]
print("open", len(s), flush=True)
time.sleep(8)' >"$work/idle.out" 2>&1 &
idle=$!
wait_line "$work/idle.out" "open 100"
ok $? "one user holds 100 idle API connections"
code=$(in_ns curl -s --max-time 5 -o /dev/null -w '%{http_code}' \
	"$API/v1/usage")
is "$code" 200 "/v1/usage answers another user meanwhile"
kill "$idle" 2>/dev/null
wait "$idle" 2>/dev/null

# --- the daemon's DNS is the DNS server's, not /etc/hosts -------------
code=$(ccurl -o /dev/null -w '%{http_code}' \
	"https://$DNS_ONLY_HOST/status/200")
is "$code" 200 "$DNS_ONLY_HOST (down in /etc/hosts) answers through the proxy"
grep -q "^$DNS_ONLY_HOST A " "$work/dns.log"
ok $? "the fake DNS logged the daemon's query for it"
grep -q "$DNS_ONLY_HOST" "$work/upstream.log"
ok $? "the request reached the address the DNS server gave"

# --- IPv6 original destination ---------------------------------------
ns_bg "$PYTHON" "$top_srcdir/tests/helpers/fakeupstream.py" \
	--listen "[::1]:443" --cert "$work/up/server.pem" \
	--key "$work/up/server.key" \
	--fixtures "$top_srcdir/tests/fixtures" \
	--log "$work/upstream6.log" >"$work/upstream6.out"
wait_line "$work/upstream6.out" ready
ok $? "an upstream on [::1]:443"
code=$(as_client curl -sS --max-time 10 --cacert "$work/up/ca.pem" \
	-o /dev/null -w '%{http_code}' --resolve "$PLAIN_HOST:443:[::1]" \
	"https://$PLAIN_HOST/status/200")
is "$code" 200 "a tunnel over IPv6 reaches its original destination"
grep -q " -> \[*::1\]*:443 tunnel" "$work/proxy.log"
ok $? "the tunnel's original destination is [::1]:443"
grep -q "$PLAIN_HOST" "$work/upstream6.log"
ok $? "the request arrived at the IPv6 upstream"
code=$(ccurl -o /dev/null -w '%{http_code}' \
	--resolve "api.example.test:443:[::1]" \
	"https://api.example.test/status/200")
is "$code" 200 "an intercepted connection over IPv6"
grep -q " -> \[*::1\]*:443 sni=api.example.test intercepted" "$work/proxy.log"
ok $? "its original destination is [::1]:443"

# --- refusals over --max-connections: rate-limited lines ---------------
proxy_stop
proxy_start --max-connections 2
r0=$(metric antigravity_proxy_rejected_total)
before=$(grep -c 'max-connections' "$work/proxy.log")
as_client "$CLIENT_PYTHON" -c '
import socket, time
hold = [socket.create_connection(("api.example.test", 443)) for _ in range(2)]
time.sleep(1)
for _ in range(200):
    s = socket.create_connection(("api.example.test", 443))
    s.settimeout(10)
    s.recv(1)
    s.close()' >"$work/flood.out" 2>&1
ok $? "200 connections over --max-connections 2"
[ $(($(metric antigravity_proxy_rejected_total) - r0)) -ge 200 ]
ok $? "all 200 are counted as refused"
lines=$(($(grep -c 'max-connections' "$work/proxy.log") - before))
[ "$lines" -ge 1 ] && [ "$lines" -le 20 ]
ok $? "they make a few log lines, not 200 (got $lines)"
grep 'max-connections' "$work/proxy.log" | tail -1 | sed 's/^/# /'

# --- a --user the redirect covers is refused ---------------------------
refused() {	# refused DESCRIPTION PROXY-ARGS...
	what=$1
	shift
	in_ns timeout 10 "$PROXY" --config /dev/null \
		--state-dir "$work/loopstate" --api-listen 127.0.0.1:18741 \
		--mitm-listen 127.0.0.1:18742 --control-socket "$work/loop.sock" \
		"$@" \
		>/dev/null 2>"$work/refused.err"
	is $? 2 "$what: exit status 2"
	is "$(wc -l <"$work/refused.err" | tr -d ' ')" 1 "$what: one line"
	sed 's/^/# /' "$work/refused.err"
	[ ! -e "$work/loopstate" ]
	ok $? "$what: the state dir was not touched"
}
refused "--user equal to --ls-user" --user nobody --ls-user nobody
refused "--user the iptables owner rule covers" --user "$TEST_USER" \
	--ls-user nobody

# --- a hard link planted in the state dir keeps its owner -------------
proxy_stop
id -u "$HL_USER" >/dev/null 2>&1 ||
	useradd --system --no-create-home --shell /usr/sbin/nologin "$HL_USER"
echo secret >"$work/outside"
chmod 600 "$work/outside"
ln "$work/outside" "$work/state/planted"
proxy_start --user "$HL_USER"
is "$(stat -c %U "$work/outside")" root \
	"a planted hard link to a root file: the file stays root's"
grep -q 'planted has 2 links' "$work/proxy.log"
ok $? "the hard link is reported"
is "$(stat -c %U "$work/state/usage.db")" "$HL_USER" \
	"the state dir's own files still go to --user"
proxy_stop
ok $? "the proxy stops"
grep -q 'AddressSanitizer\|runtime error' "$work/proxy.log"
ok $(( $? == 0 )) "no sanitizer report in the proxy log"

tap_done
