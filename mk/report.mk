# SPDX-License-Identifier: GPL-2.0-or-later
# `antigravity-proxy usage`: the terminal report over the API.
src_libagp_a_SOURCES += src/report.c src/report.h src/report_client.c

check_PROGRAMS += tests/unit/test_report fuzz/replay-tz
tests_unit_test_report_SOURCES = tests/unit/test_report.c tests/unit/tap.h
tests_unit_test_report_LDADD = $(AGP_LIBS)
fuzz_replay_tz_SOURCES = fuzz/replay.c fuzz/fuzz_tz.c
fuzz_replay_tz_LDADD = $(AGP_LIBS)

TESTS += tests/unit/test_report fuzz/replay-tz tests/e2e/report.sh
EXTRA_DIST += tests/e2e/report.sh tests/e2e/report \
	fuzz/corpus/tz/offsets fuzz/corpus/tz/bad \
	tests/fixtures/report
