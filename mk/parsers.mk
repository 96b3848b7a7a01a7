# SPDX-License-Identifier: GPL-2.0-or-later
# The hand-written parsers: ClientHello peek, HTTP/1.1 head and framing.
src_libagp_a_SOURCES += \
	src/clienthello.c src/clienthello.h \
	src/http1.c src/http1.h

check_PROGRAMS += tests/unit/test_clienthello tests/unit/test_http1 \
	fuzz/replay-clienthello fuzz/replay-http1
tests_unit_test_clienthello_SOURCES = tests/unit/test_clienthello.c \
	tests/unit/tap.h
tests_unit_test_clienthello_LDADD = $(AGP_LIBS)
tests_unit_test_http1_SOURCES = tests/unit/test_http1.c tests/unit/tap.h
tests_unit_test_http1_LDADD = $(AGP_LIBS)
fuzz_replay_clienthello_SOURCES = fuzz/replay.c fuzz/fuzz_clienthello.c
fuzz_replay_clienthello_LDADD = $(AGP_LIBS)
fuzz_replay_http1_SOURCES = fuzz/replay.c fuzz/fuzz_http1.c
fuzz_replay_http1_LDADD = $(AGP_LIBS)

TESTS += tests/unit/test_clienthello tests/unit/test_http1 \
	fuzz/replay-clienthello fuzz/replay-http1

EXTRA_DIST += \
	tests/fixtures/capture_clienthello.py \
	tests/fixtures/clienthello/curl.bin \
	tests/fixtures/clienthello/curl-http1.1.bin \
	tests/fixtures/clienthello/gnutls-cli.bin \
	tests/fixtures/clienthello/python.bin \
	tests/fixtures/clienthello/python-h2only.bin \
	tests/fixtures/clienthello/go.bin \
	fuzz/corpus/clienthello fuzz/corpus/http1
