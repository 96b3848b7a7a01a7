#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Replays the sse fuzz target over its seed corpus (prints TAP).
exec "$top_builddir/fuzz/replay-sse" "$top_srcdir"/fuzz/corpus/sse/*
