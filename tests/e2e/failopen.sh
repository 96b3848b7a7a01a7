#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# failopen.sh - fail-open for clients that reject our certificate without
# an alert, keyed by client and host, as root in a network namespace of
# its own. Node (its default store replaced by the upstream's CA alone)
# closes without a word after our certificate. Bun, like any client that
# finishes the handshake and closes before a request, twice, is taken for
# one that does not trust us (as opencode does); each fails open, for
# itself only, and works through the tunnel at its next attempt, while a
# client that trusts our CA (the same user from a run cgroup: another
# client) is still intercepted there. A keep-alive client that closes
# after its requests, and one that idles and then closes, never are.
# shellcheck source=tests/e2e/lib.sh
. "$top_srcdir/tests/e2e/lib.sh"
# shellcheck source=tests/e2e/netns.sh
. "$top_srcdir/tests/e2e/netns.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root (netns, iptables, a user)"
AGENTS_PREFIX=${AGP_AGENTS_PREFIX:-/var/cache/antigravity-proxy-tests/agents}
bin=$AGENTS_PREFIX/bin
sh "$top_srcdir/tests/agents/install.sh" "$AGENTS_PREFIX" >&2 || {
	echo "not ok 1 - install Bun from npm"; echo "1..1"; exit 1; }
HOSTS="$HOSTS node.example.test silent.example.test keep.example.test
 bun.example.test"
ns_up --log-level debug
ok $? "namespace, redirect, DNS, upstream and proxy are up"

# node_get HOST: an https GET from Node trusting the upstream's CA only
# (a store without ours); prints the status or the error code.
node_get() {
	as_client node -e '
const https = require("https"), fs = require("fs");
const req = https.get({host: process.argv[1], path: "/echo",
  ca: fs.readFileSync(process.argv[2]), agent: false, timeout: 5000},
  (res) => { console.log(res.statusCode); res.resume(); });
req.on("error", (e) => console.log(e.code || e.message));' "$1" "$work/up/ca.pem"
}

# --- Node: a silent close after our certificate ------------------------
first=$(node_get node.example.test)
diag "Node, first attempt: $first"
[ "$first" != 200 ]
ok $? "Node without our CA rejects the forged certificate"
second=$(node_get node.example.test)
is "$second" 200 "its next attempt goes through the tunnel and works"
grep -q 'client rejected our certificate for node.example.test' "$work/proxy.log"
ok $? "the silent rejection is logged"
closed=$(metric antigravity_proxy_fail_open_closed_total)
norq=$(metric antigravity_proxy_fail_open_no_request_total)
diag "counted: closed after our certificate $closed, no request $norq"
[ $((closed + norq)) -eq 1 ]
ok $? "and counted once in /metrics"
# as_other CMD...: as_client, but another client: the same user from a
# run cgroup of its own (the table's key is the run's cgroup, else the
# uid). Root joins the cgroup before it enters the namespace, whose
# `ip netns exec` hides /sys.
as_other() {
	mkdir -p "$AGENTS_DIR/run-1-other"
	# shellcheck disable=SC2016 # expanded by the inner shell
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$AGENTS_DIR/run-1-other" \
		ip netns exec "$NS" runuser -u "$TEST_USER" -- \
		env SSL_CERT_FILE="$work/bundle.pem" HOME=/ "$@"
}
intercepted() {	# intercepted HOST: how many connections were, so far
	grep -c "sni=$1 intercepted" "$work/proxy.log"
}
before=$(intercepted node.example.test)
code=$(as_other curl -s --cacert "$work/bundle.pem" -o /dev/null \
	-w '%{http_code}' https://node.example.test/echo)
is "$code" 200 "a client that trusts our CA, elsewhere, still gets through"
is "$(intercepted node.example.test)" $((before + 1)) \
	"and is still intercepted (metered) for the same host"

# --- Bun: the same, from its own TLS stack -----------------------------
# (its store: the bundled roots and NODE_EXTRA_CA_CERTS, the upstream's)
bun_get() {
	as_client env NODE_EXTRA_CA_CERTS="$work/up/ca.pem" "$bin/bun" -e '
try {
  const r = await fetch("https://" + process.argv[1] + "/echo",
                        {keepalive: false});
  console.log(r.status);
} catch (e) { console.log(e.code || e.message); }' "$1"
}
c0=$(metric antigravity_proxy_fail_open_closed_total)
n0=$(metric antigravity_proxy_fail_open_no_request_total)
first=$(bun_get bun.example.test)
diag "Bun, first attempt: $first"
[ "$first" != 200 ]
ok $? "Bun without our CA rejects the forged certificate"
# Bun (BoringSSL) finishes the handshake first, then closes: a close
# before any request, which takes two in a row to fail open.
second=$(bun_get bun.example.test)
diag "Bun, second attempt: $second"
is "$(bun_get bun.example.test)" 200 \
	"Bun: the attempt after two closes goes through the tunnel"
diag "counted: closed after our certificate $(($(metric antigravity_proxy_fail_open_closed_total) - c0)), no request $(($(metric antigravity_proxy_fail_open_no_request_total) - n0))"
norq=$(metric antigravity_proxy_fail_open_no_request_total)

# --- handshake, then a close before any request -----------------------
# hello HOST [SLEEP] [as_other]: finishes the handshake trusting our CA,
# waits SLEEP seconds, closes without a request.
hello() {
	${3:-as_client} "$CLIENT_PYTHON" -c '
import socket, ssl, sys, time
ctx = ssl.create_default_context()
s = socket.create_connection((sys.argv[1], 443), timeout=5)
t = ctx.wrap_socket(s, server_hostname=sys.argv[1])
time.sleep(float(sys.argv[2]))
t.close()' "$1" "${2:-0}"
}
# who HOST: "proxy" when our forged certificate answers, "upstream" when
# the connection is tunnelled. It checks nothing and sends a request, so
# it is itself no rejection.
who() {
	as_client "$CLIENT_PYTHON" -c '
import socket, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
t = ctx.wrap_socket(socket.create_connection((sys.argv[1], 443), timeout=5),
                    server_hostname=sys.argv[1])
der = t.getpeercert(binary_form=True)
t.sendall(b"GET /echo HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
          % sys.argv[1].encode())
while t.recv(65536):
    pass
print("proxy" if b"antigravity-proxy MITM CA" in der else "upstream")' "$1"
}
hello silent.example.test
hello silent.example.test 0 as_other
wait_line "$work/proxy.log" 'before a request (1 in a row for silent'
ok $? "a close before a request is noted"
[ "$(metric antigravity_proxy_fail_open_no_request_total)" = "$norq" ]
ok $? "once is no rejection: nothing failed open"
hello silent.example.test
for _ in $(seq 20); do
	[ "$(metric antigravity_proxy_fail_open_no_request_total)" -gt "$norq" ] && break
	sleep 0.1
done
is "$(metric antigravity_proxy_fail_open_no_request_total)" $((norq + 1)) \
	"two in a row from one client: failed open and counted"
is "$(who silent.example.test)" upstream "its next attempt is tunnelled"
before=$(intercepted silent.example.test)
code=$(as_other curl -s --cacert "$work/bundle.pem" -o /dev/null \
	-w '%{http_code}' https://silent.example.test/echo)
is "$code" 200 "another client is still served for that host"
is "$(intercepted silent.example.test)" $((before + 1)) \
	"and still intercepted: the table is keyed by client and host"

# --- ordinary closes are never taken for a rejection --------------------
for _ in 1 2 3; do
	as_client "$CLIENT_PYTHON" -c '
import http.client, ssl
c = http.client.HTTPSConnection("keep.example.test", timeout=5,
                                context=ssl.create_default_context())
for _ in range(2):
    c.request("GET", "/echo")
    c.getresponse().read()
c.close()' || echo "keep-alive client failed"
done
# Idle well past CONN_SILENT_MS (1 s), so a worker the load delays
# still sees an idle close.
for _ in 1 2 3; do hello keep.example.test 3; done
is "$(who keep.example.test)" proxy \
	"keep-alive clients closing after their requests, and idle closes, are no rejection"
is "$(metric antigravity_proxy_fail_open_no_request_total)" $((norq + 1)) \
	"nothing more counted"

proxy_stop
grep -q 'AddressSanitizer\|runtime error' "$work/proxy.log"
ok $(( $? == 0 )) "no sanitizer report in the proxy log"
tap_done
