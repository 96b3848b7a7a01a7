#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/format.sh: every C file in src/, tests/unit/ and fuzz/ is as
# .clang-format sets it (clang-format --dry-run -Werror), one case a file,
# so a failure names the file; the diff is printed as diagnostics.
# shellcheck source=tests/e2e/lib.sh
. "$top_srcdir/tests/e2e/lib.sh"

command -v clang-format >/dev/null || skip_all "needs clang-format"
cd "$top_srcdir" || exit 1
if [ ! -f .clang-format ]; then
	echo "Bail out! no .clang-format in $top_srcdir"
	exit 1
fi
for f in src/*.[ch] src/meter/*.[ch] tests/unit/*.[ch] fuzz/*.c; do
	clang-format --dry-run -Werror "$f" >/dev/null 2>&1
	rc=$?
	ok "$rc" "clang-format: $f"
	[ "$rc" -eq 0 ] ||
		clang-format "$f" | diff -u "$f" - | head -40 | sed 's/^/# /'
done
tap_done
