# SPDX-License-Identifier: GPL-2.0-or-later
# DNS resolution of upstream hosts (c-ares + TTL cache) and its tests.
src_libagp_a_SOURCES += src/resolve.c src/resolve.h

check_PROGRAMS += tests/unit/test_resolve
tests_unit_test_resolve_SOURCES = tests/unit/test_resolve.c tests/unit/tap.h
tests_unit_test_resolve_LDADD = $(AGP_LIBS)
TESTS += tests/unit/test_resolve

# The fake DNS server, also used by the end-to-end tests.
EXTRA_DIST += tests/helpers/fakedns.py

# Fuzz target for the resolver's string parsers, replayed over its seeds.
check_PROGRAMS += fuzz/replay-resolve
fuzz_replay_resolve_SOURCES = fuzz/replay.c fuzz/fuzz_resolve.c
fuzz_replay_resolve_LDADD = $(AGP_LIBS)
TESTS += fuzz/replay-resolve
EXTRA_DIST += fuzz/corpus/resolve
