/* SPDX-License-Identifier: GPL-2.0-or-later
 * privsep.h - hand the state dir to the proxy user and become that user.
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
 * Gives the state dir to u: the directory itself (its mode unchanged) and
 * every
 * regular file in it (CA key and certificate, ledger, upstream bundle),
 * except combined-ca.pem, which stays root's, 0644. Symlinks are left
 * alone and never followed. 0 or -1 (logged).
 */
int privsep_own_state(const char *state_dir, const struct privsep_user *u);

/* setgroups/setgid/setuid to u, for good: checks that root cannot be
 * regained and that no capability is left. 0 or -1 (logged). */
int privsep_drop(const struct privsep_user *u);

/* For a process that stays root (the supervisor): keeps only the
 * capabilities PRIVSEP_SUPERVISOR_CAPS lists, in every set and in the
 * bounding set, so neither it nor what it starts can regain the rest.
 * 0 or -1 (logged). */
int privsep_limit_caps(void);

#endif
