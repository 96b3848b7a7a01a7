#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Replays the http1 fuzz target over its seed corpus (prints TAP).
exec "$top_builddir/fuzz/replay-http1" "$top_srcdir"/fuzz/corpus/http1/*
