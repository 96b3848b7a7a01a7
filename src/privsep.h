/* SPDX-License-Identifier: GPL-2.0-or-later
 * privsep.h - hand the state dir to the proxy user and become that user;
 * limit the supervisor, which stays root, to the capabilities it needs.
 *
 * Threading: main only, while the process has a single thread (before
 *   the accept and API threads start).
 */
#ifndef AGP_PRIVSEP_H
#define AGP_PRIVSEP_H

#include <stdbool.h>
#include <sys/types.h>

struct privsep_user {
	uid_t uid;
	gid_t gid;
};

/* Looks user up. 1 and *out filled when it exists, 0 when it does not,
 * -1 on a lookup error (logged). */
int privsep_lookup(const char *user, struct privsep_user *out);

/*
 * The daemon's drop, as root: gives state_dir to user (the directory,
 * its mode unchanged, and every regular file in it but combined-ca.pem,
 * which stays root's; symlinks and files with other links are left
 * alone) and becomes user for good (setgroups, setgid, setuid),
 * checking that root cannot be regained and that no capability is left.
 * Stays root, saying so, when user does not exist or is root; does
 * nothing when not root. 0 or -1 (logged).
 */
int privsep_drop(const char *user, const char *state_dir);

/* Search permission for all on the state dir (0711): the language
 * server's user and `run` callers must reach combined-ca.pem by name;
 * nobody else may list or write it, and the key and the ledger are 0600
 * files. 0 or -1 (logged). */
int privsep_state_searchable(const char *state_dir);

/* For a process that stays root (the supervisor): keeps only the
 * capabilities PRIVSEP_SUPERVISOR_CAPS lists, in every set and in the
 * bounding set, so neither it nor what it starts can regain the rest.
 * 0 or -1 (logged). */
int privsep_limit_caps(void);

#endif
