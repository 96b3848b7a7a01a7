/* SPDX-License-Identifier: GPL-2.0-or-later
 * standalone.h - the combined bundle, the language-server supervisor,
 * the privilege drop, and the `run` command.
 *
 * Threading: standalone_new() must be called while the daemon still has
 *   one thread (it forks and may change the process's user);
 *   standalone_free() from main after the other threads stopped.
 */
#ifndef AGP_STANDALONE_H
#define AGP_STANDALONE_H

#include <stddef.h>

struct options;
struct standalone;

/*
 * After setup (CA loaded, ledger open, listeners bound, no thread yet):
 * writes the combined bundle, starts the supervisor (and through it the
 * language server) when opt->standalone, then, as root, gives the state
 * dir to opt->user and becomes that user (staying root with a warning
 * when the user does not exist). NULL on failure (logged). Free with
 * standalone_free(), which stops the language server and the supervisor
 * and reaps them.
 */
struct standalone *standalone_new(const struct options *opt);
void standalone_free(struct standalone *sa);

/* On SIGCHLD, from main: reaps the supervisor if it died, and says so
 * loudly (the language server dies with it, and nothing restarts it). */
void standalone_reap(struct standalone *sa);

/* Appends the supervisor's counters to buf (Prometheus text); returns
 * the length written. sa may be NULL. */
size_t standalone_metrics(const struct standalone *sa, char *buf,
			  size_t len);

/*
 * The `run` command. By default it asks the daemon over the control
 * socket to move this process into the agents cgroup, sets the trust
 * environment and execs opt->command_argv as the invoking user; a
 * refusal is one line on stderr and STANDALONE_RUN_REFUSED. With
 * opt->as_ls_user it runs the command as opt->ls_user and returns its
 * exit status (128+n after signal n; 127 when it could not be started,
 * 1 on a setup error).
 */
#define STANDALONE_RUN_REFUSED 125
int standalone_run(const struct options *opt);

#endif
