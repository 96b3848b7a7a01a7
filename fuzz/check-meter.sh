#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Replays the meter fuzz target over its seed corpus (prints TAP).
exec "$top_builddir/fuzz/replay-meter" "$top_srcdir"/fuzz/corpus/meter/*
