# shellcheck shell=sh disable=SC2154 # here and top: the sourcing script's
# SPDX-License-Identifier: GPL-2.0-or-later
# build.sh - sourced by bench/run and bench/store_run: finds or makes the
# build tree and brings it up to date, so the numbers are the tree's as it
# is now.  In: here, top, BUILD (optional).  Out: BUILD, bin (where the
# bench programs go), agp_libs (what the daemon links).
#
# The README's first command configures in the source tree, which then
# cannot host a second build: that one is used.
if [ -z "${BUILD:-}" ]; then
	BUILD=$here/build
	[ -f "$top/config.status" ] && BUILD=$top
fi
if [ ! -f "$BUILD/config.status" ]; then
	echo "# configuring antigravity-proxy in $BUILD" >&2
	if ! { [ -x "$top/configure" ] ||
	       (cd "$top" && autoreconf -fi >/dev/null 2>&1); } ||
	   ! mkdir -p "$BUILD" ||
	   ! (cd "$BUILD" && "$top/configure" -q >/dev/null 2>&1); then
		echo "bench: configure failed" >&2
		exit 1
	fi
fi
make -s -j2 -C "$BUILD" >/dev/null 2>&1 ||
	{ echo "bench: the build in $BUILD failed" >&2; exit 1; }
bin=$BUILD/bench-bin
mkdir -p "$bin"
# Through a file: make may print more than the variable on its output
# (a Makefile it regenerates, with configure's arguments).
# shellcheck disable=SC2016 # make expands it
printf 'print-libs:\n\t@echo $(AGP_LIBS) >%s\n' "$bin/agp-libs" |
	make -s -C "$BUILD" -f Makefile -f - print-libs >/dev/null ||
	{ echo "bench: cannot read the libraries from $BUILD" >&2; exit 1; }
# shellcheck disable=SC2034 # for the sourcing script
agp_libs=$(cat "$bin/agp-libs")
