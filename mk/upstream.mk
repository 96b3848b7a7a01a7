# SPDX-License-Identifier: GPL-2.0-or-later
# The upstream side: libcurl client, response-head collector, and the
# fake TLS upstream every end-to-end test talks to.
src_libagp_a_SOURCES += src/upstream.c src/upstream.h src/upstream_int.h \
	src/upstream_origin.c src/upstream_setup.c \
	src/upstream_gate.c src/upstream_gate.h \
	src/upstream_head.c src/upstream_head.h \
	src/upstream_trust.c src/upstream_trust.h \
	src/upstream_ws.c src/upstream_ws.h

check_PROGRAMS += tests/unit/test_upstream tests/unit/test_upstream_head \
	tests/unit/test_upstream_trust tests/unit/test_upstream_gate \
	fuzz/replay-upstream_head
tests_unit_test_upstream_SOURCES = tests/unit/test_upstream.c \
	tests/unit/upstream_harness.h tests/unit/testutil.h \
	tests/unit/tap.h tests/unit/certgen.h
tests_unit_test_upstream_LDADD = $(AGP_LIBS) -ldl
tests_unit_test_upstream_trust_SOURCES = tests/unit/test_upstream_trust.c \
	tests/unit/tap.h tests/unit/certgen.h
tests_unit_test_upstream_trust_LDADD = $(AGP_LIBS)
tests_unit_test_upstream_gate_SOURCES = tests/unit/test_upstream_gate.c \
	tests/unit/testutil.h tests/unit/tap.h
tests_unit_test_upstream_gate_LDADD = $(AGP_LIBS)
tests_unit_test_upstream_head_SOURCES = tests/unit/test_upstream_head.c \
	tests/unit/tap.h
tests_unit_test_upstream_head_LDADD = $(AGP_LIBS)
fuzz_replay_upstream_head_SOURCES = fuzz/replay.c fuzz/fuzz_upstream_head.c
fuzz_replay_upstream_head_LDADD = $(AGP_LIBS)

TESTS += tests/unit/test_upstream tests/unit/test_upstream_head \
	tests/unit/test_upstream_trust tests/unit/test_upstream_gate \
	fuzz/replay-upstream_head

EXTRA_DIST += tests/helpers/fakeupstream.py tests/helpers/mkcerts.sh \
	fuzz/corpus/upstream_head/h1.txt \
	fuzz/corpus/upstream_head/continue.txt \
	fuzz/corpus/upstream_head/h2.txt \
	fuzz/corpus/upstream_head/h10.txt \
	fuzz/corpus/upstream_head/bad.txt \
	fuzz/corpus/upstream_head/nul-in-line.txt
