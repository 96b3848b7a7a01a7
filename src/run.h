/* SPDX-License-Identifier: GPL-2.0-or-later
 * run.h - the `run` command.
 *
 * Threading: a single-threaded client process.
 */
#ifndef AGP_RUN_H
#define AGP_RUN_H

struct options;

/*
 * By default it asks the daemon over the control socket to move this
 * process into the agents cgroup, sets the trust environment and execs
 * opt->command_argv as the invoking user; a refusal is one line on
 * stderr and RUN_REFUSED. With opt->as_ls_user it runs the command as
 * opt->ls_user and returns its exit status (128+n after signal n; 127
 * when it could not be started, 1 on a setup error).
 */
#define RUN_REFUSED 125
int run_command(const struct options *opt);

#endif
