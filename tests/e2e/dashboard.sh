#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# dashboard.sh - the web dashboard in a real headless Chromium, as root, in
# a network namespace of this test's. Mixed metered traffic first: two
# agents started by `antigravity-proxy run` (curl under the names claude
# and codex, replaying those providers' fixtures) and the intercepted user
# (Gemini fixtures). Then curl checks the files' headers, and Chromium,
# driven over the DevTools protocol by tests/helpers/cdp.py, loads the
# page: no console error, no request leaving the API's address, totals
# equal to /v1/usage, chart legends equal to ?by=, a new record shown
# without a reload, a filter, the cost chart over 7 days, no polling while
# hidden, dark mode, a 400 px window. Screenshots are kept next to this
# test's log: tests/e2e/dashboard*.png in the build tree.
# shellcheck source=tests/e2e/lib.sh
. "$top_srcdir/tests/e2e/lib.sh"
# shellcheck source=tests/e2e/netns.sh
. "$top_srcdir/tests/e2e/netns.sh"

PERSON=agp-dash		# an ordinary user running both agents
OUT="$top_builddir/tests/e2e"	# beside dashboard.log
UP="https://api.example.test"

ns_up --prices "$top_srcdir/data/prices.json"
ok $? "namespace, redirects, DNS, upstream and proxy (with --prices) are up"
if ! command -v chromium >/dev/null; then
	ok 1 "chromium is installed (tests/run-all.sh installs it)"
	tap_done
	exit 1
fi

cleanup() {
	ns_down
	userdel "$PERSON" 2>/dev/null
}
trap cleanup EXIT
id -u "$PERSON" >/dev/null 2>&1 ||
	useradd --no-create-home --home-dir "$work/person" --shell /bin/sh \
		"$PERSON" || exit 1
usermod -d "$work/person" "$PERSON"
mkdir -p "$work/person" "$work/bin"
chown -R "$PERSON" "$work/person"
# `run` names a run after its command.
ln -s "$(command -v curl)" "$work/bin/claude"
ln -s "$(command -v curl)" "$work/bin/codex"

# agent NAME FIXTURE...: one run of NAME, one request per fixture.
agent() {
	name=$1
	shift
	for f in "$@"; do
		set -- "$@" -o /dev/null "$UP/v1/x?fixture=$f"
		shift
	done
	ip netns exec "$NS" runuser -u "$PERSON" -- "$PROXY" --config \
		/dev/null --log-level warn --control-socket \
		"$work/control.sock" run -- "$work/bin/$name" -sS --max-time 30 \
		-Z --parallel-max 3 -w '%{http_code}\n' -X POST \
		-H "x-api-key: sk-ant-api03-e2e-$name-$$" \
		-H 'content-type: application/json' -d '{"stream": true}' "$@"
}
client() {	# client FIXTURE: one request as the intercepted user
	as_client curl -sS --cacert "$work/bundle.pem" --max-time 10 \
		-o /dev/null -w '%{http_code}\n' -X POST -d '{}' \
		"$UP/v1beta/models/x:streamGenerateContent?fixture=$1"
}
usage() {	# /v1/usage
	in_ns curl -s --max-time 5 "$API/v1/usage"
}
wait_requests() {	# wait_requests N: until N are counted
	for _ in $(seq 100); do
		[ "$(usage | json_get totals.requests)" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

agent claude anthropic.json anthropic_stream.sse anthropic.json \
	cost_anthropic_cache_split.json >"$work/claude.out" 2>&1
ok $? "claude: run -- ... exit status 0"
agent codex openai_responses_stream.sse openai_chat.json \
	openai_responses_stream.sse >"$work/codex.out" 2>&1
ok $? "codex: run -- ... exit status 0"
for f in cloudcode_stream.sse gemini_public_stream_array.json \
	cloudcode_stream.sse; do
	client "$f"
done >"$work/client.out" 2>&1
is "$(grep -c '^200$' "$work/claude.out" "$work/codex.out" \
	"$work/client.out" | cut -d: -f2 | tr '\n' ' ')" "4 3 3 " \
	"every request answered 200"
wait_requests 10
ok $? "10 records counted"

# The files, as curl sees them.
in_ns curl -s -D "$work/index.h" -o "$work/index.html" "$API/"
grep -qi '^content-type: text/html; charset=utf-8' "$work/index.h"
ok $? "GET / is text/html"
grep -i '^content-security-policy:' "$work/index.h" | tr -d '\r' \
	>"$work/csp"
grep -q "default-src 'none'; script-src 'self'; style-src 'self'" \
	"$work/csp" && ! grep -q "unsafe-inline\|unsafe-eval" "$work/csp"
ok $? "a strict Content-Security-Policy: no inline script or style"
grep -qi '^x-content-type-options: nosniff' "$work/index.h"
ok $? "X-Content-Type-Options: nosniff"
grep -qi '^cache-control: no-cache' "$work/index.h"
ok $? "Cache-Control: no-cache (revalidated by ETag)"
! grep -q -E '<script>|<style| style=| on[a-z]+=' "$work/index.html" &&
	! grep -q -E 'https?://' "$work/index.html"
ok $? "the page has no inline script, style or handler, no remote URL"
in_ns curl -s -o /dev/null -w '%{http_code} %{content_type}' \
	"$API/dashboard/dashboard.js" >"$work/js.h"
is "$(cat "$work/js.h")" "200 text/javascript; charset=utf-8" \
	"the script is text/javascript"
etag=$(grep -i '^etag:' "$work/index.h" | cut -d' ' -f2 | tr -d '\r')
code=$(in_ns curl -s -o /dev/null -w '%{http_code}' \
	-H "If-None-Match: $etag" "$API/")
is "$code" 304 "If-None-Match with its ETag: 304"
code=$(in_ns curl -s -o "$work/nope.json" -w '%{http_code}' \
	"$API/dashboard/nope.js")
is "$code $(cat "$work/nope.json")" \
	'404 {"error":"not found","status":404}' "an unknown file is 404 JSON"
code=$(in_ns curl -s -o /dev/null -w '%{http_code}' -X POST "$API/")
is "$code" 405 "POST / is 405"

# The browser. It runs in the namespace, where nothing has a route out.
usage >"$work/usage.json"
t0=$(date +%s)
in_ns "$PYTHON" "$top_srcdir/tests/helpers/cdp.py" --api "$API" \
	--expect "$work/usage.json" --out "$OUT" -- \
	runuser -u "$TEST_USER" -- env SSL_CERT_FILE="$work/bundle.pem" \
	HOME=/ curl -sS --cacert "$work/bundle.pem" --max-time 10 -o /dev/null \
	-X POST -d '{}' \
	"$UP/v1beta/models/x:generateContent?fixture=cost_gemini_long_context.json" \
	>"$work/cdp.out" 2>"$work/cdp.err"
ok $? "the DevTools driver ran ($(($(date +%s) - t0)) s)"
while IFS="$(printf '\t')" read -r st what; do
	case $st in
	\#*) echo "$st $what" ;;
	*) ok "$st" "$what" ;;
	esac
done <"$work/cdp.out"
sed 's/^/# /' "$work/cdp.err"
[ -s "$OUT/dashboard.png" ]
ok $? "a screenshot is kept: $OUT/dashboard.png"
tap_done
