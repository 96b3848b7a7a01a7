# SPDX-License-Identifier: GPL-2.0-or-later
# The store of record: usage.db (SQLite), its queries, the old ledger's
# import.
src_libagp_a_SOURCES += src/store.c src/store.h src/store_query.c \
	src/store_filter.c src/store_import.c src/store_group.c

check_PROGRAMS += tests/unit/test_store tests/unit/test_store_cost \
	tests/unit/test_ledger fuzz/replay-filter
tests_unit_test_store_cost_SOURCES = tests/unit/test_store_cost.c \
	tests/unit/tap.h
tests_unit_test_store_cost_LDADD = $(AGP_LIBS)
tests_unit_test_store_SOURCES = tests/unit/test_store.c tests/unit/tap.h
tests_unit_test_store_LDADD = $(AGP_LIBS)
tests_unit_test_ledger_SOURCES = tests/unit/test_ledger.c tests/unit/tap.h
tests_unit_test_ledger_LDADD = $(AGP_LIBS)
fuzz_replay_filter_SOURCES = fuzz/replay.c fuzz/fuzz_filter.c
fuzz_replay_filter_LDADD = $(AGP_LIBS)
TESTS += tests/unit/test_store tests/unit/test_store_cost \
	tests/unit/test_ledger fuzz/replay-filter tests/e2e/store.sh
EXTRA_DIST += tests/e2e/store.sh fuzz/corpus/filter/basic \
	fuzz/corpus/filter/times fuzz/corpus/filter/bad \
	fuzz/corpus/filter/agent_key
