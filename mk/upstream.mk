# SPDX-License-Identifier: GPL-2.0-or-later
# The upstream side: libcurl client, response-head collector, and the
# fake TLS upstream every end-to-end test talks to.
src_libagp_a_SOURCES += src/upstream.c src/upstream.h \
	src/upstream_head.c src/upstream_head.h

check_PROGRAMS += tests/unit/test_upstream tests/unit/test_upstream_head
tests_unit_test_upstream_LDADD = $(AGP_LIBS)
tests_unit_test_upstream_head_LDADD = $(AGP_LIBS)
TESTS += tests/unit/test_upstream tests/unit/test_upstream_head
EXTRA_DIST += tests/helpers/fakeupstream.py tests/helpers/mkcerts.sh
