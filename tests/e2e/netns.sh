# shellcheck shell=sh
# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck disable=SC2034,SC2154 # shares variables with lib.sh and the tests
# netns.sh - a private network namespace with the UID-scoped redirect, a
# fake DNS server, a fake TLS upstream and the proxy, for the end-to-end
# tests. Nothing leaves the namespace: every address is on its loopback.
#
# Source after lib.sh, then call ns_up; ns_down runs on exit.

NS="agp-test-$$"
TEST_USER=agp-client
UPSTREAM_IP=127.0.0.2	# the fake upstream's port 443
DNS_IP=127.0.0.53	# the fake DNS server
DOWN_IP=127.0.0.3	# nothing listens here
H2_IP=127.0.0.4		# an HTTP/2-only upstream (nghttpd), when installed
API="http://127.0.0.1:8741"
AGENTS="agp-test-$$"	# the agents cgroup, under the cgroup v2 mount
AGENTS_DIR=""
HOSTS="api.example.test other.example.test pinned.example.test"
PLAIN_HOST=plain.other.test	# not on the intercept list
# In the fake DNS at the upstream, in /etc/hosts at the address where
# nothing listens: reached only when the daemon asks the DNS server.
DNS_ONLY_HOST=dnsonly.example.test
# The real agent CLIs' API hosts, served by fakeagents.py on its own
# address.
API_IP=127.0.0.5
API_HOSTS="api.anthropic.com generativelanguage.googleapis.com api.openai.com
 chatgpt.com"
ns_pids=""

# The clients run as another user, who cannot reach a Python under
# /root (pyenv): they use the system's.
CLIENT_PYTHON=python3
[ -x /usr/bin/python3 ] && CLIENT_PYTHON=/usr/bin/python3

# The API hosts a test did not give the fake upstream (codex.sh does).
api_hosts() {
	# shellcheck disable=SC2086 # the host list, split on purpose
	all=" $(printf '%s ' $HOSTS)"
	for h in $API_HOSTS; do
		case $all in *" $h "*) ;; *) echo "$h" ;; esac
	done
}

in_ns() {
	ip netns exec "$NS" "$@"
}

# Runs a command in the namespace as the intercepted user, trusting the
# combined bundle (system CAs + the proxy's CA).
as_client() {
	ip netns exec "$NS" runuser -u "$TEST_USER" -- \
		env SSL_CERT_FILE="$work/bundle.pem" HOME=/ "$@"
}

# Background processes do not hold the lock (fd 9): one that outlives a
# killed test would keep every later test waiting on it.
ns_bg() {	# ns_bg CMD...: starts a background process in the namespace
	ip netns exec "$NS" "$@" 9>&- &
	ns_pids="$ns_pids $!"
}

# The same, keeping /sys: `ip netns exec` mounts a new one, without the
# cgroup hierarchy the proxy's supervisor works in. The namespace's hosts
# file is mounted as `ip netns exec` would, for the LS it starts.
ns_bg_sys() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	nsenter --net="/run/netns/$NS" unshare --mount sh -c \
		'mount --bind "$0" /etc/hosts && exec "$@"' \
		"/etc/netns/$NS/hosts" "$@" 9>&- &
	ns_pids="$ns_pids $!"
}

ns_down() {
	if [ "$tap_failed" -gt 0 ] && [ -f "$work/proxy.log" ]; then
		echo "# --- the proxy log's last warnings and errors"
		grep -E ' (warn|error): ' "$work/proxy.log" | tail -30 |
			sed 's/^/# /'
		echo "# --- the proxy log's last lines"
		grep -v ' debug: ' "$work/proxy.log" | tail -15 | sed 's/^/# /'
	fi
	for p in $ns_pids; do kill "$p" 2>/dev/null; done
	for p in $ns_pids; do wait "$p" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
	rm -rf "/etc/netns/$NS"
	if [ -d "$AGENTS_DIR" ]; then
		for d in "$AGENTS_DIR"/run-*; do
			[ -d "$d" ] || continue
			# Whatever a test left running in a run cgroup goes too.
			xargs -r kill -KILL <"$d/cgroup.procs" 2>/dev/null
			for _ in 1 2 3 4 5; do rmdir "$d" 2>/dev/null && break; sleep 0.2; done
		done
		rmdir "$AGENTS_DIR"
	fi
	[ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}

# ns_up [PROXY-OPTION]...: the namespace, redirect, DNS, upstream, proxy.
ns_up() {
	[ "$(id -u)" -eq 0 ] || skip_all "needs root (netns, iptables, a user)"
	command -v iptables >/dev/null || skip_all "needs iptables"
	# The namespace tests each load two cores fully, and timing is part
	# of what they check: one at a time, whatever make -j says.
	exec 9>/tmp/antigravity-proxy-e2e.lock
	flock 9
	work=$(mktemp -d "${TMPDIR:-/tmp}/agp-e2e.XXXXXX")
	chmod 1777 "$work"	# the clients write their outputs here
	trap ns_down EXIT
	# A killed run (make check interrupted, the CI's timeout) ends through
	# the EXIT trap too, so it leaves no namespace, rule or cgroup behind.
	trap 'exit 143' TERM
	trap 'exit 130' INT HUP
	# The clients run as another user, who may not be able to read the
	# source tree (CI may check it out under /root): give them copies.
	mkdir -p "$work/helpers/fixtures"
	cp "$top_srcdir"/tests/helpers/*.py "$work/helpers/"
	cp "$top_srcdir"/tests/fixtures/expected.json "$work/helpers/fixtures/"
	chmod -R a+rX "$work/helpers"
	# Two tests may create the user at once: check again after a failure.
	id -u "$TEST_USER" >/dev/null 2>&1 ||
		useradd --system --no-create-home --shell /usr/sbin/nologin \
			"$TEST_USER" 2>/dev/null || id -u "$TEST_USER" >/dev/null ||
		return 1
	ip netns add "$NS" || return 1
	in_ns ip link set lo up
	cg2=$(awk '{ for (i = 7; i < NF; i++) if ($i == "-") break;
		     if ($(i + 1) == "cgroup2") { print $5; exit } }' \
		/proc/self/mountinfo)
	[ -n "$cg2" ] || { echo "Bail out! no cgroup v2 mount"; return 1; }
	AGENTS_DIR="$cg2/$AGENTS"
	mkdir "$AGENTS_DIR" || return 1
	# The two redirects of mitm-redirect.sh: the uid's, the cgroup's.
	for ipt in iptables ip6tables; do
		in_ns $ipt -t nat -A OUTPUT -p tcp --dport 443 \
			-m owner --uid-owner "$TEST_USER" \
			-j REDIRECT --to-ports 8742 || return 1
		in_ns $ipt -t nat -A OUTPUT -p tcp --dport 443 \
			-m cgroup --path "$AGENTS" \
			-j REDIRECT --to-ports 8742 || return 1
	done
	# `ip netns exec` mounts /etc/netns/NAME/hosts over /etc/hosts.
	mkdir -p "/etc/netns/$NS"
	{
		# sudo looks its host's name up, and warns when it cannot.
		echo "127.0.0.1 localhost $(hostname)"
		for h in $HOSTS $PLAIN_HOST; do echo "$UPSTREAM_IP $h"; done
		for h in $(api_hosts); do echo "$API_IP $h"; done
		echo "$DOWN_IP down.example.test $DNS_ONLY_HOST"
		echo "$H2_IP h2.example.test"
	} >"/etc/netns/$NS/hosts"

	# shellcheck disable=SC2086 # host lists, split on purpose
	sh "$top_srcdir/tests/helpers/mkcerts.sh" "$work/up" \
		$HOSTS $PLAIN_HOST $API_HOSTS h2.example.test $DNS_ONLY_HOST \
		"$UPSTREAM_IP" \
		>/dev/null 2>&1 || return 1
	dns_args=""
	for h in $HOSTS $PLAIN_HOST; do
		dns_args="$dns_args --record $h=$UPSTREAM_IP"
	done
	for h in $(api_hosts); do
		dns_args="$dns_args --record $h=$API_IP"
	done
	# shellcheck disable=SC2086 # $dns_args, split on purpose
	ns_bg "$PYTHON" "$top_srcdir/tests/helpers/fakedns.py" \
		--listen "$DNS_IP:53" $dns_args \
		--record "down.example.test=$DOWN_IP" \
		--record "$DNS_ONLY_HOST=$UPSTREAM_IP" \
		--record "h2.example.test=$H2_IP" \
		--log "$work/dns.log" >"$work/dns.out"
	ns_bg "$PYTHON" "$top_srcdir/tests/helpers/fakeupstream.py" \
		--listen "$UPSTREAM_IP:443" --cert "$work/up/server.pem" \
		--key "$work/up/server.key" \
		--fixtures "$top_srcdir/tests/fixtures" \
		--log "$work/upstream.log" >"$work/upstream.out"
	ns_bg "$PYTHON" "$top_srcdir/tests/helpers/fakeagents.py" \
		--listen "$API_IP:443" --cert "$work/up/server.pem" \
		--key "$work/up/server.key" --log "$work/api.log" >"$work/api.out"
	wait_line "$work/dns.out" ready && wait_line "$work/upstream.out" ready &&
		wait_line "$work/api.out" ready || return 1
	proxy_start "$@"
}

proxy_start() {
	ns_bg_sys "$PROXY" --config /dev/null --state-dir "$work/state" \
		--control-socket "$work/control.sock" --agents-cgroup "$AGENTS" \
		--api-listen 127.0.0.1:8741 --mitm-listen 0.0.0.0:8742 \
		--mitm-listen '[::]:8742' --dns-server "$DNS_IP" \
		--upstream-ca "$work/up/ca.pem" --intercept '*.example.test' \
		--log-level debug --user root "$@" 2>>"$work/proxy.log"
	proxy_pid=$(echo "$ns_pids" | awk '{print $NF}')
	for _ in $(seq 100); do
		in_ns curl -s -o /dev/null --max-time 1 "$API/health" && break
		sleep 0.1
	done
	cat /etc/ssl/certs/ca-certificates.crt "$work/state/ca-cert.pem" \
		>"$work/bundle.pem" 2>/dev/null ||
		cp "$work/state/ca-cert.pem" "$work/bundle.pem"
	chmod 644 "$work/bundle.pem" "$work/up/ca.pem"
	in_ns curl -s -o /dev/null --max-time 1 "$API/health"
}

proxy_stop() {
	kill -TERM "$proxy_pid"
	wait_gone "$proxy_pid"
}

# wait_counted N: until /v1/usage counts N requests or more (5 s at
# most). A record counts once committed, a little after its client has
# the response.
wait_counted() {
	for _ in $(seq 100); do
		[ "$(in_ns curl -s --max-time 5 "$API/v1/usage" |
		     json_get totals.requests)" -ge "$1" ] 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# A counter from /metrics.
metric() {
	in_ns curl -s --max-time 5 "$API/metrics" |
		awk -v m="$1" '$1 == m { print $2 }'
}
