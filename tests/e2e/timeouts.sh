#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# timeouts.sh - the proxy against clients and peers that misbehave
# slowly (issue 12): a ClientHello cut by a FIN, a request head or body
# trickled in, a reader that stalls, a late upstream, a stop with streams
# in flight. Each check bounds a time or a CPU cost.
# shellcheck source=tests/e2e/lib.sh
. "$top_srcdir/tests/e2e/lib.sh"
# shellcheck source=tests/e2e/netns.sh
. "$top_srcdir/tests/e2e/netns.sh"

ns_up --handshake-timeout 10s --write-timeout 5s --idle-timeout 2s \
	--request-timeout 3s
ok $? "namespace, redirect, DNS, upstream and proxy are up"
cp "$top_srcdir/tests/helpers/hardclient.py" "$work/helpers/"
chmod a+r "$work/helpers/hardclient.py"

hclient() {
	as_client "$CLIENT_PYTHON" "$work/helpers/hardclient.py" "$@"
}

# The proxy's CPU time so far, in clock ticks (utime + stime).
proxy_cpu() {
	sed 's/.*) //' "/proc/$proxy_pid/stat" | awk '{ print $12 + $13 }'
}

# --- a ClientHello cut short by a FIN costs no CPU --------------------------
c0=$(proxy_cpu)
hclient halfhello 4 3 >"$work/halfhello.json"
c1=$(proxy_cpu)
hz=$(getconf CLK_TCK)
diag "4 half hellos then FIN, over 3 s: $((c1 - c0)) ticks of CPU" \
	"(CLK_TCK $hz)"
ok $(( c1 - c0 > hz / 5 )) "a FIN during the ClientHello peek ends it (no busy loop)"
is "$(grep -c 'closed before its ClientHello was complete' "$work/proxy.log")" 4 \
	"each such connection is logged once"

# --- a reader that takes a few bytes now and then is cut at --write-timeout -
# 1 KB/s through a 4 KiB receive buffer: a 16 KiB write cannot finish in
# 5 s, though bytes move all the time.
# The ms into the exchange (or tunnel) at which the proxy gave up, from
# its log line; empty when it did not.
cut_ms() {
	grep "$1" "$work/proxy.log" | tail -n 1 |
		sed -n 's/.*), \([0-9]*\) ms into the.*/\1/p'
}
hclient --timeout 60 --max 25 slowread "/bytes?n=30000000&mode=length" \
	4096 256 0.25 >"$work/slowread.json"
ms=$(cut_ms 'client did not take')
diag "slow reader, --write-timeout 5s: cut ${ms:-never (25 s read)} ms into the exchange"
ok $(( ${ms:-99999} < 4900 || ${ms:-99999} > 7500 )) \
	"a slow reader is cut about --write-timeout into the write, once"

# The same through a tunnel (a host not intercepted), where the write
# used to block for ever.
hclient --timeout 60 --max 25 --cafile "$work/up/ca.pem" \
	--host "$PLAIN_HOST" slowread "/bytes?n=30000000&mode=length" \
	4096 256 0.25 >"$work/slowtunnel.json"
ms=$(cut_ms 'tunnel: a side did not take')
diag "slow reader through a tunnel: cut ${ms:-never (25 s read)} ms into the tunnel"
ok $(( ${ms:-99999} < 4900 || ${ms:-99999} > 7500 )) \
	"a tunnel whose reader stalls is cut about --write-timeout into the write"

# --- a request trickled in is cut at --request-timeout ----------------------
# One byte every 1.5 s: under --idle-timeout 2s each time, so only the
# request's own deadline (3 s) can end it.
hclient --max 12 trickle-head 1.5 >"$work/trhead.json"
diag "trickled head: $(cat "$work/trhead.json")"
is "$(json_get status <"$work/trhead.json")" 408 \
	"a head trickled in under the idle timeout gets a 408"
t=$(json_get cut_after_s <"$work/trhead.json")
ok "$(awk -v t="$t" 'BEGIN { print !(t >= 2.5 && t <= 5) }')" \
	"... at --request-timeout (3 s), not at the end of the head"
json_get body <"$work/trhead.json" | json_get error | grep -q 'not received in time'
ok $? "the 408 carries a JSON body"
grep -q 'request head not received within --request-timeout' "$work/proxy.log"
ok $? "the cut head is logged"

hclient --max 12 trickle-body 1.5 100 >"$work/trbody.json"
diag "trickled body: $(cat "$work/trbody.json")"
is "$(json_get status <"$work/trbody.json")" 408 \
	"a body trickled in under the idle timeout gets a 408"
t=$(json_get cut_after_s <"$work/trbody.json")
ok "$(awk -v t="$t" 'BEGIN { print !(t >= 2.5 && t <= 5) }')" \
	"... at --request-timeout plus what its bytes earned (about 3 s)"
grep -q 'request body not received within --request-timeout' "$work/proxy.log"
ok $? "the cut body is logged"

# --- SIGTERM: in-flight exchanges get --shutdown-grace ----------------------
now_ms() {
	date +%s%3N
}
requests() {
	in_ns curl -s --max-time 5 "$API/v1/usage" | json_get totals.requests
}
slow_sse() {	# slow_sse DELAY-MS OUTPUT: 8 chunks, DELAY-MS apart
	hclient stream "/fixture/anthropic_stream.sse?chunk=300&delay_ms=$1" \
		>"$2" &
	sleep 0.7
}
proxy_stop
proxy_start --shutdown-grace 3s
r0=$(requests)
slow_sse 300 "$work/grace.json"
sse_pid=$!
t0=$(now_ms)
proxy_stop
t1=$(now_ms)
wait "$sse_pid"
diag "stream ending within the grace: $(cat "$work/grace.json"); the proxy took $((t1 - t0)) ms to stop"
is "$(json_get complete <"$work/grace.json")" True \
	"SIGTERM: a stream that ends within --shutdown-grace reaches the client whole"
proxy_start --shutdown-grace 3s
is "$(requests)" $((r0 + 1)) "... and its record is counted after the restart"

slow_sse 1000 "$work/cut.json"
sse_pid=$!
t0=$(now_ms)
proxy_stop
t1=$(now_ms)
wait "$sse_pid"
diag "stream longer than the grace: $(cat "$work/cut.json"); cut $((t1 - t0)) ms after SIGTERM"
is "$(json_get complete <"$work/cut.json")" False \
	"SIGTERM: a stream longer than --shutdown-grace is cut"
ok $(( t1 - t0 < 2500 || t1 - t0 > 5000 )) "... at about the grace (3 s)"
grep -q 'still busy after --shutdown-grace: cutting them' "$work/proxy.log"
ok $? "the cut is logged"

tap_done
