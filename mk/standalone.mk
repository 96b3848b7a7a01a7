# SPDX-License-Identifier: GPL-2.0-or-later
# Standalone mode: the combined CA bundle, spawning as another user, the
# language-server supervisor, the privilege drop and the `run` command.
src_libagp_a_SOURCES += src/bundle.c src/bundle.h src/spawn.c src/spawn.h \
	src/privsep.c src/privsep.h src/standalone.c src/standalone.h \
	src/run.c src/run.h \
	src/cgroup.c src/cgroup.h src/control.c src/control.h \
	src/peer.c src/peer.h src/redirect.c src/redirect.h

check_PROGRAMS += tests/unit/test_bundle tests/unit/test_spawn
tests_unit_test_bundle_LDADD = $(AGP_LIBS)
tests_unit_test_spawn_LDADD = $(AGP_LIBS)
TESTS += tests/unit/test_bundle tests/unit/test_spawn tests/e2e/standalone.sh \
	tests/e2e/run.sh tests/e2e/agents.sh tests/e2e/cost.sh
EXTRA_DIST += tests/e2e/standalone.sh tests/e2e/run.sh tests/e2e/agents.sh \
	tests/e2e/cost.sh \
	tests/agents/install.sh tests/helpers/fakeagents.py tests/helpers/fake_ls.go \
	tests/helpers/fake_ls.py

check_PROGRAMS += tests/unit/test_control fuzz/replay-control
tests_unit_test_control_SOURCES = tests/unit/test_control.c tests/unit/tap.h
tests_unit_test_control_LDADD = $(AGP_LIBS)
fuzz_replay_control_SOURCES = fuzz/replay.c fuzz/fuzz_control.c
fuzz_replay_control_LDADD = $(AGP_LIBS)
TESTS += tests/unit/test_control fuzz/replay-control
EXTRA_DIST += fuzz/corpus/control

check_PROGRAMS += tests/unit/test_redirect
tests_unit_test_redirect_SOURCES = tests/unit/test_redirect.c tests/unit/tap.h
tests_unit_test_redirect_LDADD = $(AGP_LIBS)
TESTS += tests/unit/test_redirect
