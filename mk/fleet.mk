# SPDX-License-Identifier: GPL-2.0-or-later
# The fleet: /metrics' labelled series (src/series.c is in core.mk), the
# Prometheus and Grafana files in contrib/, and the test that runs them
# against a real Prometheus.
fleetdir = $(docdir)
nobase_dist_fleet_DATA = contrib/prometheus/prometheus.yml \
	contrib/prometheus/alerts.yml contrib/grafana/antigravity-proxy.json
TESTS += tests/e2e/fleet.sh
EXTRA_DIST += tests/e2e/fleet.sh tests/e2e/fleet/alerts_test.yml

# The series' fuzz target, its seeds replayed by make check.
check_PROGRAMS += fuzz/replay-series
fuzz_replay_series_SOURCES = fuzz/replay.c fuzz/fuzz_series.c
fuzz_replay_series_LDADD = $(AGP_LIBS)
TESTS += fuzz/replay-series
EXTRA_DIST += fuzz/corpus/series/mixed fuzz/corpus/series/escapes \
	fuzz/corpus/series/caps
