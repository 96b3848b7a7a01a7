#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Replays the clienthello fuzz target over its seed corpus (prints TAP).
exec "$top_builddir/fuzz/replay-clienthello" "$top_srcdir"/fuzz/corpus/clienthello/*
