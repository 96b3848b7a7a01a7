# SPDX-License-Identifier: GPL-2.0-or-later
# The web dashboard at GET /: its files, built into the binary, and its
# test in a real headless Chromium.
DASHBOARD_FILES = $(srcdir)/data/dashboard/index.html \
	$(srcdir)/data/dashboard/dashboard.css \
	$(srcdir)/data/dashboard/dashboard.js \
	$(srcdir)/data/dashboard/icon.svg
src_libagp_a_SOURCES += src/dashboard.c src/dashboard.h
nodist_src_libagp_a_SOURCES = src/dashboard_files.c
src/dashboard_files.c: $(DASHBOARD_FILES) $(srcdir)/build-aux/embed.sh
	$(AM_V_GEN)$(MKDIR_P) src && \
	$(SHELL) $(srcdir)/build-aux/embed.sh $@ $(DASHBOARD_FILES)
CLEANFILES += src/dashboard_files.c tests/e2e/dashboard*.png \
	tests/e2e/dashboard-chromium.log

TESTS += tests/e2e/dashboard.sh
EXTRA_DIST += $(DASHBOARD_FILES) build-aux/embed.sh tests/e2e/dashboard.sh \
	tests/helpers/cdp.py doc/dashboard.png
