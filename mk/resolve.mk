# SPDX-License-Identifier: GPL-2.0-or-later
# Upstream DNS: c-ares against chosen servers, cached by TTL.
src_libagp_a_SOURCES += src/resolve.c src/resolve.h
check_PROGRAMS += tests/unit/test_resolve
tests_unit_test_resolve_LDADD = $(AGP_LIBS)
TESTS += tests/unit/test_resolve
EXTRA_DIST += tests/helpers/fakedns.py
