/* SPDX-License-Identifier: GPL-2.0-or-later
 * bundle.h - the combined CA bundle (system CAs + the MITM CA) that the
 * language server and `run` commands trust through SSL_CERT_FILE.
 *
 * Threading: called by main (or the `run` command) before any thread
 *   starts; nothing here keeps state.
 */
#ifndef AGP_BUNDLE_H
#define AGP_BUNDLE_H

#include <stddef.h>

#define BUNDLE_FILE "combined-ca.pem"

/* The system CA bundle: `configured` when not NULL, else the first
 * readable one of the known distribution paths (Debian, Fedora, openSUSE,
 * Alpine). NULL when none is found. The string is static or configured. */
const char *bundle_system_path(const char *configured);

/*
 * Makes state_dir/combined-ca.pem the system bundle (system_ca, may be
 * NULL: then the MITM CA alone, with a warning) followed by
 * state_dir/ca-cert.pem. The file is rewritten only when its content
 * would change: through a temporary file in state_dir, mode 0644, then
 * renamed over it. No symlink in the state dir is followed: a symlinked
 * ca-cert.pem or combined-ca.pem is refused. path (len bytes) receives
 * the bundle's path. Returns 1 when written, 0 when already current,
 * -1 on error (logged).
 */
int bundle_update(const char *state_dir, const char *system_ca, char *path,
		  size_t len);

#endif
