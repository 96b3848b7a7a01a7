#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# hardening.sh - the proxy against clients and peers that misbehave
# slowly (issue 12): a ClientHello cut by a FIN, a request head or body
# trickled in, a reader that stalls, a late upstream, a stop with streams
# in flight. Each check bounds a time or a CPU cost.
# shellcheck source=tests/e2e/lib.sh
. "$top_srcdir/tests/e2e/lib.sh"
# shellcheck source=tests/e2e/netns.sh
. "$top_srcdir/tests/e2e/netns.sh"

ns_up --handshake-timeout 10s
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

tap_done
