# SPDX-License-Identifier: GPL-2.0-or-later
# The foundation: options, the usage table, the API thread.
src_libagp_a_SOURCES += src/options.c src/options.h \
	src/usage.c src/usage.h src/usage_record.c src/usage_record.h \
	src/series.c src/series.h \
	src/api.c src/api.h src/when.c src/when.h \
	src/price.c src/price.h src/price_import.c src/price_import.h \
	src/credential.c src/credential.h
check_PROGRAMS += tests/unit/test_usage tests/unit/test_options \
	tests/unit/test_series tests/unit/test_when
tests_unit_test_when_LDADD = $(AGP_LIBS)
tests_unit_test_usage_LDADD = $(AGP_LIBS)
tests_unit_test_series_LDADD = $(AGP_LIBS)
tests_unit_test_options_LDADD = $(AGP_LIBS)
TESTS += tests/unit/test_usage tests/unit/test_options tests/unit/test_series \
	tests/unit/test_when \
	tests/e2e/api.sh
EXTRA_DIST += tests/unit/tap.h tests/e2e/api.sh tests/e2e/lib.sh
EXTRA_DIST += tests/run-all.sh

# The price table, credential fingerprints, ?by=.
check_PROGRAMS += tests/unit/test_price
tests_unit_test_price_SOURCES = tests/unit/test_price.c tests/unit/tap.h
tests_unit_test_price_LDADD = $(AGP_LIBS)
TESTS += tests/unit/test_price
EXTRA_DIST += tests/fixtures/cost_anthropic_cache_split.json \
	tests/fixtures/cost_gemini_long_context.json \
	tests/fixtures/cost_unknown_model.json \
	tests/fixtures/cost_placeholder.json \
	tests/fixtures/litellm_sample.json

check_PROGRAMS += fuzz/replay-prices fuzz/replay-litellm fuzz/replay-by
fuzz_replay_prices_SOURCES = fuzz/replay.c fuzz/fuzz_prices.c
fuzz_replay_prices_LDADD = $(AGP_LIBS)
fuzz_replay_litellm_SOURCES = fuzz/replay.c fuzz/fuzz_litellm.c
fuzz_replay_litellm_LDADD = $(AGP_LIBS)
fuzz_replay_by_SOURCES = fuzz/replay.c fuzz/fuzz_by.c
fuzz_replay_by_LDADD = $(AGP_LIBS)
TESTS += fuzz/replay-prices fuzz/replay-litellm fuzz/replay-by
EXTRA_DIST += fuzz/corpus/prices/shipped_subset \
	fuzz/corpus/prices/override fuzz/corpus/prices/bad_rate \
	fuzz/corpus/litellm/sample fuzz/corpus/litellm/tiers_and_junk \
	fuzz/corpus/by/basic fuzz/corpus/by/all fuzz/corpus/by/bad

# Addresses and listening sockets: the one host:port parser, its test and
# its fuzz target, replayed over its seeds.
src_libagp_a_SOURCES += src/net.c src/net.h
check_PROGRAMS += tests/unit/test_net fuzz/replay-net
tests_unit_test_net_SOURCES = tests/unit/test_net.c tests/unit/tap.h
tests_unit_test_net_LDADD = $(AGP_LIBS)
fuzz_replay_net_SOURCES = fuzz/replay.c fuzz/fuzz_net.c
fuzz_replay_net_LDADD = $(AGP_LIBS)
TESTS += tests/unit/test_net fuzz/replay-net
EXTRA_DIST += fuzz/corpus/net
