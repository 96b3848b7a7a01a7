#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/shellcheck.sh: the shell scripts pass shellcheck, warnings and style
# notes included. CLEAN lists the files held to it; every other script in
# scripts/ and tests/e2e/ is checked too and its findings are reported as
# diagnostics, so adding it to CLEAN is one line once it is clean.
# shellcheck source=tests/e2e/lib.sh
. "$top_srcdir/tests/e2e/lib.sh"

CLEAN="scripts/mitm-redirect.sh scripts/antigravity-proxy.init.in
	tests/e2e/redirect.sh tests/e2e/install.sh tests/shellcheck.sh
	tests/e2e/api.sh tests/e2e/lib.sh tests/e2e/netns.sh tests/e2e/mitm.sh
	tests/e2e/metering.sh tests/e2e/run.sh tests/e2e/agents.sh
	tests/e2e/websocket.sh tests/e2e/codex.sh tests/agents/install.sh
	tests/e2e/failopen.sh tests/e2e/timeouts.sh tests/e2e/hardening.sh
	tests/e2e/store.sh tests/run-all.sh tests/e2e/cost.sh
	tests/e2e/dashboard.sh build-aux/embed.sh tests/e2e/fleet.sh
	tests/e2e/report.sh tests/format.sh"

command -v shellcheck >/dev/null || skip_all "needs shellcheck"
cd "$top_srcdir" || exit 1
for f in $CLEAN; do
	shellcheck -s sh -x -P SCRIPTDIR -P . "$f" >"${TMPDIR:-/tmp}/sc.$$" 2>&1
	ok $? "shellcheck $f"
	sed 's/^/# /' "${TMPDIR:-/tmp}/sc.$$"
done
# The bench scripts are bash, and not in the distribution.
for f in bench/run bench/store_run bench/build.sh; do
	[ -f "$f" ] || continue
	shellcheck -s bash -x -P SCRIPTDIR -P . "$f" >"${TMPDIR:-/tmp}/sc.$$" 2>&1
	ok $? "shellcheck $f"
	sed 's/^/# /' "${TMPDIR:-/tmp}/sc.$$"
done
rm -f "${TMPDIR:-/tmp}/sc.$$"
for f in scripts/*.sh scripts/*.in tests/e2e/*.sh; do
	case " $CLEAN " in *" $f "*) continue ;; esac
	case $f in
	*.sh) ;;
	*) [ "$(head -n 1 "$f")" = "#!/bin/sh" ] || continue ;;
	esac
	n=$(shellcheck -s sh -f gcc "$f" 2>&1 | grep -c .)
	[ "$n" -eq 0 ] || diag "$f: $n shellcheck finding(s), not yet held to it"
done
tap_done
