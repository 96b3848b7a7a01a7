# SPDX-License-Identifier: GPL-2.0-or-later
# Installation: the redirect script, the init script, the systemd unit, the
# sample config and the man pages, with paths substituted at make time.
dist_sbin_SCRIPTS = scripts/mitm-redirect.sh

if HAVE_INITDIR
agp_initdir = $(initdir)
init_SCRIPTS = scripts/init.d/antigravity-proxy
else
agp_initdir = $(sysconfdir)/init.d
endif
if HAVE_SYSTEMD
systemdsystemunit_DATA = scripts/antigravity-proxy.service
endif
man8_MANS = doc/antigravity-proxy.8 doc/mitm-redirect.sh.8
agp_conf_sample = scripts/antigravity-proxy.conf

# The paths as make knows them, so `make prefix=...` is honoured too.
agp_subst = $(SED) \
	-e 's|@sbindir[@]|$(sbindir)|g' \
	-e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@localstatedir[@]|$(localstatedir)|g' \
	-e 's|@runstatedir[@]|$(runstatedir)|g' \
	-e 's|@initdir[@]|$(agp_initdir)|g' \
	-e 's|@pkgdatadir[@]|$(pkgdatadir)|g' \
	-e 's|@docdir[@]|$(docdir)|g' \
	-e 's|@VERSION[@]|$(VERSION)|g'
agp_subst_v = $(agp_subst_v_@AM_V@)
agp_subst_v_ = $(agp_subst_v_@AM_DEFAULT_V@)
agp_subst_v_0 = @echo "  SUBST   " $@;

scripts/init.d/antigravity-proxy: scripts/antigravity-proxy.init.in Makefile
	$(agp_subst_v)$(MKDIR_P) scripts/init.d && rm -f $@ $@.tmp && \
	$(agp_subst) $(srcdir)/scripts/antigravity-proxy.init.in >$@.tmp && \
	chmod 755 $@.tmp && mv $@.tmp $@
scripts/antigravity-proxy.service: scripts/antigravity-proxy.service.in \
		Makefile
	$(agp_subst_v)$(MKDIR_P) scripts && rm -f $@ $@.tmp && \
	$(agp_subst) $(srcdir)/$@.in >$@.tmp && mv $@.tmp $@
scripts/antigravity-proxy.conf: scripts/antigravity-proxy.conf.in Makefile
	$(agp_subst_v)$(MKDIR_P) scripts && rm -f $@ $@.tmp && \
	$(agp_subst) $(srcdir)/$@.in >$@.tmp && mv $@.tmp $@
doc/antigravity-proxy.8: doc/antigravity-proxy.8.in Makefile
	$(agp_subst_v)$(MKDIR_P) doc && rm -f $@ $@.tmp && \
	$(agp_subst) $(srcdir)/$@.in >$@.tmp && mv $@.tmp $@
doc/mitm-redirect.sh.8: doc/mitm-redirect.sh.8.in Makefile
	$(agp_subst_v)$(MKDIR_P) doc && rm -f $@ $@.tmp && \
	$(agp_subst) $(srcdir)/$@.in >$@.tmp && mv $@.tmp $@

# Built whatever configure disabled, so the tests always find them.
noinst_DATA = scripts/init.d/antigravity-proxy \
	scripts/antigravity-proxy.service $(agp_conf_sample)
CLEANFILES += scripts/init.d/antigravity-proxy \
	scripts/antigravity-proxy.service $(agp_conf_sample) $(man8_MANS)

# The sample config never overwrites one that is there; uninstall removes
# it only while it is still the unedited sample.
install-data-hook: agp-install-conf
uninstall-hook: agp-uninstall-conf
agp-install-conf: $(agp_conf_sample)
	$(MKDIR_P) '$(DESTDIR)$(sysconfdir)'
	@if test -f '$(DESTDIR)$(sysconfdir)/antigravity-proxy.conf'; then \
		echo "keeping $(DESTDIR)$(sysconfdir)/antigravity-proxy.conf"; \
	else \
		echo " $(INSTALL_DATA) $(agp_conf_sample) '$(DESTDIR)$(sysconfdir)/antigravity-proxy.conf'"; \
		$(INSTALL_DATA) $(agp_conf_sample) \
			'$(DESTDIR)$(sysconfdir)/antigravity-proxy.conf'; \
	fi
agp-uninstall-conf:
	@f='$(DESTDIR)$(sysconfdir)/antigravity-proxy.conf'; \
	if test -f "$$f" && cmp -s "$$f" $(agp_conf_sample); then \
		echo " rm -f '$$f'"; rm -f "$$f"; \
	elif test -f "$$f"; then \
		echo "keeping the edited $$f"; \
	fi
.PHONY: agp-install-conf agp-uninstall-conf

# distcheck installs into a scratch prefix: the unit and the init script
# must go there too, never into the system's directories.
AM_DISTCHECK_CONFIGURE_FLAGS = \
	--with-systemdsystemunitdir='$$(prefix)/lib/systemd/system' \
	--with-initdir='$$(prefix)/etc/init.d'

TESTS += tests/e2e/redirect.sh tests/e2e/install.sh tests/shellcheck.sh
EXTRA_DIST += scripts/antigravity-proxy.init.in \
	scripts/antigravity-proxy.service.in scripts/antigravity-proxy.conf.in \
	doc/antigravity-proxy.8.in doc/mitm-redirect.sh.8.in \
	tests/e2e/redirect.sh tests/e2e/install.sh tests/shellcheck.sh

# Where things go, for tests/e2e/install.sh (shell assignments).
agp-print-paths:
	@echo "sbindir='$(sbindir)' sysconfdir='$(sysconfdir)'"; \
	echo "localstatedir='$(localstatedir)' runstatedir='$(runstatedir)'"; \
	echo "man8dir='$(man8dir)' initdir='$(initdir)'"; \
	echo "unitdir='$(systemdsystemunitdir)' pkgdatadir='$(pkgdatadir)'"
.PHONY: agp-print-paths

# The price table (doc/usage-format.md, "Cost"), read from $(pkgdatadir).
dist_pkgdata_DATA = data/prices.json
