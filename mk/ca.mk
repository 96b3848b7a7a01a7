# SPDX-License-Identifier: GPL-2.0-or-later
# The MITM CA, the forged-certificate cache and the GnuTLS server side.
src_libagp_a_SOURCES += src/ca.c src/ca.h src/certcache.c src/certcache.h \
	src/tls.c src/tls.h

check_PROGRAMS += tests/unit/test_ca tests/unit/test_tls
tests_unit_test_ca_LDADD = $(AGP_LIBS)
tests_unit_test_tls_LDADD = $(AGP_LIBS)
TESTS += tests/unit/test_ca tests/unit/test_tls
EXTRA_DIST += tests/unit/tls_client.py
