# SPDX-License-Identifier: GPL-2.0-or-later
# The foundation: options, the usage table, the API thread.
src_libagp_a_SOURCES += src/options.c src/options.h \
	src/usage.c src/usage.h src/api.c src/api.h
check_PROGRAMS += tests/unit/test_usage tests/unit/test_options
tests_unit_test_usage_LDADD = $(AGP_LIBS)
tests_unit_test_options_LDADD = $(AGP_LIBS)
TESTS += tests/unit/test_usage tests/unit/test_options tests/e2e/api.sh
EXTRA_DIST += tests/unit/tap.h tests/e2e/api.sh tests/e2e/lib.sh
EXTRA_DIST += tests/run-all.sh
