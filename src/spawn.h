/* SPDX-License-Identifier: GPL-2.0-or-later
 * spawn.h - start a program as another user with the trust environment
 * (SSL_CERT_FILE and friends) set before exec.
 *
 * Threading: spawn_cmd_new() may read the user database (not
 *   async-signal-safe), so it runs before any fork; spawn_start() may be
 *   called from a threaded process: between its fork and exec the child
 *   makes only async-signal-safe calls on data prepared beforehand.
 * Ownership: struct spawn_cmd owns every string and array in it.
 */
#ifndef AGP_SPAWN_H
#define AGP_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* How the command reaches its user. */
enum spawn_mode {
	SPAWN_DROP, /* we are root: setgroups/setgid/setuid, then exec */
	SPAWN_SUDO, /* sudo -n -u USER /usr/bin/env K=V... PATH ARGS */
	SPAWN_SELF, /* already that user, or the user does not exist */
};

struct spawn_cmd {
	enum spawn_mode mode;
	char *user;	   /* the name asked for */
	bool user_missing; /* SPAWN_SELF because it does not exist */
	char *path;	   /* what execve() runs */
	char **argv;	   /* NULL-terminated */
	char **envp;	   /* NULL-terminated */
	uid_t uid;	   /* SPAWN_DROP only */
	gid_t gid;
	gid_t *groups;
	int ngroups;
};

/* Where the child's standard streams go; -1 keeps the parent's. */
struct spawn_io {
	int in, out, err;
	bool new_pgrp; /* its own process group, for kill(-pid) */
};

/*
 * Prepares running bin with args (nargs of them) as user, trusting the
 * bundle at bundle_path: SSL_CERT_FILE, SSL_CERT_DIR=/dev/null,
 * NODE_EXTRA_CA_CERTS, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE and the user's
 * HOME, over the current environment. A user that does not exist gives
 * SPAWN_SELF with user_missing set (the caller warns). NULL on error
 * (logged). Free with spawn_cmd_free().
 */
struct spawn_cmd *spawn_cmd_new(const char *bin, char *const *args,
				size_t nargs, const char *user,
				const char *bundle_path);
void spawn_cmd_free(struct spawn_cmd *c);

/* Sets the trust variables spawn_cmd_new() gives a command (the bundle
 * at bundle_path, SSL_CERT_DIR=/dev/null) in this process's own
 * environment, for a caller that execs itself; 0 or -1. */
int spawn_trust_setenv(const char *bundle_path);

/* Forks and execs c with io; *pid gets the child. Returns 0, or -1 with
 * errno set when the fork or the exec failed (the child is then reaped). */
int spawn_start(const struct spawn_cmd *c, const struct spawn_io *io,
		pid_t *pid);

/* A wait status as a shell would report it: the exit code, or 128+n
 * for a child killed by signal n. */
int spawn_exit_code(int status);

#endif
