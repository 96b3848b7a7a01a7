# SPDX-License-Identifier: GPL-2.0-or-later
# The MITM path: listeners, workers, tunnel, original destination, ledger.
src_libagp_a_SOURCES += src/proxy.c src/proxy.h src/clock.h \
	src/intercept.c src/intercept.h src/origdst.c src/origdst.h \
	src/tunnel.c src/tunnel.h src/conn.c src/conn.h src/conn_int.h \
	src/conn_read.c src/conn_exchange.c src/conn_ws.c src/wsrelay.c src/wsrelay.h \
	src/listener.c src/listener.h src/ledger.c src/ledger.h

check_PROGRAMS += tests/unit/test_intercept
tests_unit_test_intercept_LDADD = $(AGP_LIBS)
TESTS += tests/unit/test_intercept tests/e2e/mitm.sh \
	tests/e2e/hardening.sh \
	tests/e2e/metering.sh tests/e2e/websocket.sh tests/e2e/codex.sh \
	tests/e2e/failopen.sh tests/e2e/timeouts.sh
EXTRA_DIST += tests/e2e/mitm.sh tests/e2e/netns.sh tests/helpers/client.py \
	tests/e2e/hardening.sh \
	tests/helpers/goclient.go tests/e2e/metering.sh \
	tests/helpers/mixed_load.py tests/e2e/websocket.sh \
	tests/helpers/fakews.py tests/helpers/wsclient.py tests/e2e/codex.sh \
	tests/e2e/failopen.sh tests/e2e/timeouts.sh tests/helpers/hardclient.py

# The response framing towards the client, pure, with its unit test and
# fuzz target; and whole exchanges through conn.c on 127.0.0.1, as any
# user (the original destination comes from struct proxy's hook).
src_libagp_a_SOURCES += src/h1resp.c src/h1resp.h
check_PROGRAMS += tests/unit/test_h1resp tests/unit/test_conn \
	fuzz/replay-h1resp
tests_unit_test_h1resp_SOURCES = tests/unit/test_h1resp.c tests/unit/tap.h
tests_unit_test_h1resp_LDADD = $(AGP_LIBS)
tests_unit_test_conn_SOURCES = tests/unit/test_conn.c \
	tests/unit/conn_peers.h tests/unit/tap.h tests/unit/testutil.h
tests_unit_test_conn_LDADD = $(AGP_LIBS)
fuzz_replay_h1resp_SOURCES = fuzz/replay.c fuzz/fuzz_h1resp.c
fuzz_replay_h1resp_LDADD = $(AGP_LIBS)
TESTS += tests/unit/test_h1resp tests/unit/test_conn fuzz/replay-h1resp
EXTRA_DIST += fuzz/corpus/h1resp
