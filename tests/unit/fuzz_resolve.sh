#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Replays the resolver fuzz target over its seed corpus (TAP).
exec "$top_builddir/fuzz/replay-resolve" "$top_srcdir"/fuzz/corpus/resolve/*
