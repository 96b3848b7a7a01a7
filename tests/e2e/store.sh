#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# store.sh - usage.db end to end, as root, in a network namespace of its
# own: unsafe files at its paths refused (target untouched), a foreign or
# corrupt file refused; an old usage.jsonl imported once with the same
# totals (torn last line reported); /v1/requests filters, paging and 400s;
# export; --retain; and a full disk (a small tmpfs): requests still
# served, nothing counted that is not committed, /health degraded, and
# once space returns every queued record lands and the totals equal what
# the upstream sent.
# shellcheck source=tests/e2e/lib.sh
. "$top_srcdir/tests/e2e/lib.sh"
# shellcheck source=tests/e2e/netns.sh
. "$top_srcdir/tests/e2e/netns.sh"

command -v sqlite3 >/dev/null || skip_all "needs sqlite3"
ns_up --log-level debug
ok $? "namespace, redirect, DNS, upstream and proxy are up"
grep -q "store: .*/usage.db opened in" "$work/proxy.log"
ok $? "start-up opens usage.db (no replay)"
proxy_stop

# --- Unsafe and foreign files: exit 1, one line, nothing touched.
try_start() {	# try_start DIR: the daemon on DIR; its exit status
	in_ns "$PROXY" --config /dev/null --state-dir "$1" \
		--api-listen 127.0.0.1:18741 --mitm-listen 127.0.0.1:18742 \
		--control-socket "$work/ctl2.sock" --user root 2>"$work/err"
}
plant() {	# plant NAME KIND: a fresh dir with KIND at NAME
	d="$work/plant"
	rm -rf "$d"
	mkdir -m 700 "$d"
	printf 'precious\n' >"$work/target"
	chmod 644 "$work/target"
	case $2 in
	symlink) ln -s "$work/target" "$d/$1" ;;
	hardlink) ln "$work/target" "$d/$1" ;;
	fifo) mkfifo "$d/$1" ;;
	esac
}
for case in usage.db:symlink usage.db:hardlink usage.db:fifo \
	usage.db-wal:symlink usage.db-wal:fifo usage.db-shm:hardlink; do
	name=${case%%:*} kind=${case#*:}
	plant "$name" "$kind"
	try_start "$d"
	is "$?" 1 "a $kind at $name: exit status 1"
	grep -c "$name" "$work/err" | grep -qx 1 &&
		[ "$(grep -vc ' info: ' "$work/err")" -eq 1 ]
	ok $? "one clear line: $(grep -v ' info: ' "$work/err" | head -1 | cut -c1-110)"
	[ "$(cat "$work/target")" = precious ] &&
		[ "$(stat -c %a "$work/target")" = 644 ]
	ok $? "the target is untouched"
done
plant x none
head -c 8192 /dev/urandom >"$d/usage.db"
cp "$d/usage.db" "$work/garbage"
try_start "$d"
is "$?" 1 "a corrupt usage.db: exit status 1"
grep -q "not a usage database" "$work/err"
ok $? "says it is not a usage database"
cmp -s "$d/usage.db" "$work/garbage"
ok $? "and never overwrites it"
rm -f "$d/usage.db"
sqlite3 "$d/usage.db" 'CREATE TABLE t(x); INSERT INTO t VALUES (1);'
try_start "$d"
is "$?" 1 "a foreign SQLite database: exit status 1"
is "$(sqlite3 "$d/usage.db" 'SELECT x FROM t')" 1 "left as it was"

# --- The old ledger: imported once, same totals, torn line skipped.
rm -rf "$work/state"
mkdir -m 700 "$work/state"
"$PYTHON" - "$work/state/usage.jsonl" "$work/jsonl_truth.json" <<'PY'
import json, sys
truth = {}
with open(sys.argv[1], "w") as f:
    for i in range(500):
        m = "model-%d" % (i % 4)
        r = {"ts": 1795000000 + 37 * i, "host": "api.example.test",
             "endpoint": "messages", "model": m, "status": 200,
             "has_usage": True, "complete": i % 9 != 0,
             "input_tokens": 100 + i, "output_tokens": i % 13,
             "thinking_tokens": 0, "cached_tokens": 0,
             "cache_creation_tokens": 0, "total_tokens": 100 + i + i % 13}
        f.write(json.dumps(r) + "\n")
        t = truth.setdefault(m, {"requests": 0, "input_tokens": 0,
                                 "output_tokens": 0})
        t["requests"] += 1
        t["input_tokens"] += r["input_tokens"]
        t["output_tokens"] += r["output_tokens"]
    f.write('{"ts": 1795000000, "model": "model-0", "input_tok')
json.dump(truth, open(sys.argv[2], "w"))
PY
# compare TRUTH USAGE: every model's requests and tokens exactly.
compare() {
	"$PYTHON" - "$1" "$2" <<'PY'
import json, sys
exp = json.load(open(sys.argv[1]))
exp = exp.get("expected", exp)
got = json.load(open(sys.argv[2]))["models"]
bad = ["%s.%s: got %s want %s" % (m, f, got.get(m, {}).get(f), v)
       for m, e in exp.items() for f, v in e.items()
       if got.get(m, {}).get(f) != v]
bad += ["unexpected model " + m for m in got if m not in exp]
for b in bad:
    print("# " + b)
sys.exit(1 if bad else 0)
PY
}
proxy_start
ok $? "the proxy starts over a usage.jsonl"
in_ns curl -s --max-time 5 "$API/v1/usage" >"$work/u_import.json"
compare "$work/jsonl_truth.json" "$work/u_import.json"
ok $? "imported: the same totals per model and field"
grep -q "usage.jsonl: line 501 is torn" "$work/proxy.log"
ok $? "the torn last line is reported"
[ ! -e "$work/state/usage.jsonl" ] && [ -f "$work/state/usage.jsonl.imported" ]
ok $? "usage.jsonl renamed usage.jsonl.imported, not deleted"
proxy_stop
proxy_start
in_ns curl -s --max-time 5 "$API/v1/usage" >"$work/u_import2.json"
compare "$work/jsonl_truth.json" "$work/u_import2.json"
ok $? "a restart: the same totals, imported once"

# --- /v1/requests: filters, the cursor, 400s.
req() { in_ns curl -s --max-time 5 "$API/v1/requests?$1"; }
code() { in_ns curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$API/v1/requests?$1"; }
is "$(req 'model=model-1&limit=1000' | json_get 0.model)" model-1 \
	"model= filters"
n=$(req 'model=model-1&limit=1000' | "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)))')
is "$n" 125 "model= gives all of that model's records"
n=$(req 'complete=false&limit=1000' | "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)))')
is "$n" 56 "complete=false filters"
n=$(req 'since=2026-11-18T13:00:00Z&until=2026-11-18T14:00:00Z&limit=1000' |
	"$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)))')
want=$("$PYTHON" -c 'print(sum(1 for i in range(500) if 1795006800 <= 1795000000 + 37 * i < 1795010400))')
is "$n" "$want" "since= and until= bound the times"
# Paging: every record of the model once, through X-Next-Before.
before="" total=0 pages=0
while :; do
	in_ns curl -s -D "$work/hdr" --max-time 5 \
		"$API/v1/requests?model=model-2&limit=50${before:+&before=$before}" >"$work/page"
	total=$((total + $("$PYTHON" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$work/page")))
	pages=$((pages + 1))
	before=$(awk 'tolower($1) == "x-next-before:" { print $2 }' "$work/hdr" | tr -d '\r')
	if [ -z "$before" ] || [ "$pages" -ge 10 ]; then
		break
	fi
done
is "$total" 125 "paging with X-Next-Before and before= walks all 125 ($pages pages)"
for q in limit=0 limit=1001 limit=x before=-1 complete=maybe since=never \
	until=1y colour=red; do
	is "$(code "$q")" 400 "/v1/requests?$q is 400"
done
req 'limit=abc' | grep -q '"error":"limit: expected a number from 1 to 1000"'
ok $? "with a short JSON body"

# --- export, while the daemon runs.
n=$("$PROXY" --config /dev/null --state-dir "$work/state" export | wc -l)
is "$n" 500 "export: one JSON line per record"
"$PROXY" --config /dev/null --state-dir "$work/state" export --format csv \
	--since 2026-11-18T13:00:00Z --until 2026-11-18T14:00:00Z >"$work/x.csv"
is "$(wc -l <"$work/x.csv")" $((want + 1)) "export --format csv --since --until: a header and the range"
head -1 "$work/x.csv" | grep -q '^id,ts,host,endpoint,model,'
ok $? "the CSV header names the fields"

# --- --retain: old rows pruned, totals kept.
proxy_stop
proxy_start --retain 1d
for _ in $(seq 100); do
	[ "$(sqlite3 "$work/state/usage.db" 'SELECT count(*) FROM records')" = 0 ] && break
	sleep 0.1
done
is "$(sqlite3 "$work/state/usage.db" 'SELECT count(*) FROM records')" 0 \
	"--retain 1d prunes the old records, in batches"
is "$(metric antigravity_proxy_ledger_pruned_total)" 500 "counted in /metrics"
in_ns curl -s --max-time 5 "$API/v1/usage" >"$work/u_ret.json"
compare "$work/jsonl_truth.json" "$work/u_ret.json"
ok $? "all-time totals unchanged"
in_ns curl -s --max-time 5 "$API/v1/usage?since=30d" >"$work/u_ret30.json"
compare "$work/jsonl_truth.json" "$work/u_ret30.json"
ok $? "?since= older than the retention: answered from the hourly summary"
proxy_stop

# --- A full disk.
rm -rf "$work/state"
mkdir -m 700 "$work/state"
mount -t tmpfs -o size=8m,mode=0700 agp-test-state "$work/state"
ok $? "a small tmpfs for the state dir"
trap 'umount "$work/state" 2>/dev/null; ns_down' EXIT
proxy_start
load() {	# load SEED N
	as_client "$CLIENT_PYTHON" "$work/helpers/mixed_load.py" \
		--host api.example.test --fixtures "$work/helpers/fixtures" \
		--seed "$1" -n "$2" --threads 8
}
load 1 40 >"$work/load1.json"
ok $? "40 requests before the disk fills"
for _ in $(seq 100); do
	[ "$(in_ns curl -s "$API/v1/usage" | json_get totals.requests)" = 40 ] && break
	sleep 0.05
done
dd if=/dev/zero of="$work/state/filler" bs=64k 2>/dev/null
[ "$(df --output=avail "$work/state" | tail -1)" -lt 64 ]
ok $? "the state dir is full"
load 2 60 >"$work/load2.json"
ok $? "60 requests while full all succeed"
sleep 1
is "$(in_ns curl -s -o "$work/health" -w '%{http_code}' "$API/health")" 503 \
	"/health is 503"
is "$(json_get status <"$work/health")" degraded "status degraded"
json_get reason <"$work/health" | grep -q "commit failed"
ok $? "with the reason: $(json_get reason <"$work/health")"
is "$(in_ns curl -s "$API/v1/usage" | json_get totals.requests)" 40 \
	"nothing counted that is not committed"
is "$(metric antigravity_proxy_ledger_degraded)" 1 "degraded in /metrics"
[ "$(metric antigravity_proxy_ledger_queued)" -eq 60 ]
ok $? "the 60 records wait, queued"
[ "$(metric antigravity_proxy_ledger_errors_total)" -ge 1 ]
ok $? "failed commits counted"
grep -q "commit of .* records failed: .*full.*kept queued" "$work/proxy.log"
ok $? "and logged"
rm -f "$work/state/filler"
for _ in $(seq 150); do
	[ "$(in_ns curl -s "$API/v1/usage" | json_get totals.requests)" = 100 ] && break
	sleep 0.1
done
in_ns curl -s "$API/v1/usage" >"$work/u_full.json"
"$PYTHON" - "$work/load1.json" "$work/load2.json" >"$work/truth.json" <<'PY'
import json, sys
out = {}
for p in sys.argv[1:]:
    for m, e in json.load(open(p))["expected"].items():
        o = out.setdefault(m, dict.fromkeys(e, 0))
        for f, v in e.items():
            o[f] += v
json.dump(out, sys.stdout)
PY
compare "$work/truth.json" "$work/u_full.json"
ok $? "space back: every queued record landed; totals equal the upstream's"
is "$(in_ns curl -s -o /dev/null -w '%{http_code}' "$API/health")" 200 \
	"/health is 200 again"
is "$(metric antigravity_proxy_ledger_lost_total)" 0 "nothing lost"
proxy_stop
is "$(sqlite3 "$work/state/usage.db" 'SELECT count(*) FROM records')" 100 \
	"all 100 records are rows of usage.db"
umount "$work/state"
ok $? "tmpfs unmounted"
grep -q 'AddressSanitizer\|runtime error' "$work/proxy.log"
ok $(( $? == 0 )) "no sanitizer report in the proxy log"
tap_done
