#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Replays the upstream_head fuzz target over its seed corpus (prints TAP).
exec "$top_builddir/fuzz/replay-upstream_head" \
	"$top_srcdir"/fuzz/corpus/upstream_head/*
