/* SPDX-License-Identifier: GPL-2.0-or-later
 * standalone.h - the combined bundle and the supervisor of the language
 * server and the control socket.
 *
 * Threading: standalone_new() must be called while the daemon still has
 *   one thread (it forks), and still root (the supervisor stays root);
 *   standalone_free() from main after the other threads stopped.
 */
#ifndef AGP_STANDALONE_H
#define AGP_STANDALONE_H

#include <stddef.h>

struct options;
struct standalone;

/*
 * After setup (CA loaded, ledger open, listeners bound, no thread yet)
 * and before the privilege drop (privsep_drop()): writes the combined
 * bundle, binds the control socket as root, and forks the supervisor
 * that serves it and, when opt->standalone, starts the language server.
 * NULL on failure (logged). Free with standalone_free(), which stops the
 * language server and the supervisor and reaps them.
 */
struct standalone *standalone_new(const struct options *opt);
void standalone_free(struct standalone *sa);

/* On SIGCHLD, from main: reaps the supervisor if it died, and says so
 * loudly (the language server dies with it, and nothing restarts it). */
void standalone_reap(struct standalone *sa);

struct metrics;

/* Writes the supervisor's counters; nothing when sa is NULL or the
 * supervisor is gone. */
void standalone_metrics(const struct standalone *sa, struct metrics *m);

#endif
