/* SPDX-License-Identifier: GPL-2.0-or-later
 * run.c - the `run` command: a command metered by the daemon, as the
 * invoking user in the agents cgroup (the control socket moves it there),
 * or as --ls-user.
 *
 * Threading: a single-threaded client process.
 * Ownership: nothing is kept; the command is exec'd, or waited for.
 */
#include "config.h"

#include "run.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bundle.h"
#include "ca.h"
#include "control.h"
#include "log.h"
#include "options.h"
#include "privsep.h"
#include "spawn.h"

/* The MITM CA must exist before the bundle can hold it. */
static int
run_ensure_ca(const char *state_dir)
{
	char path[4096];
	struct stat st;
	struct ca *ca;

	snprintf(path, sizeof(path), "%s/ca-cert.pem", state_dir);
	if (lstat(path, &st) == 0)
		return 0;
	if (!(ca = ca_open(state_dir)))
		return -1;
	ca_free(ca);
	return 0;
}

/* Waits for pid with INT and QUIT ignored, as system(3) does: the
 * terminal sends them to the command, which decides. */
static int
run_wait_child(pid_t pid)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, oint, oquit;
	int st = 0;

	sigaction(SIGINT, &ign, &oint);
	sigaction(SIGQUIT, &ign, &oquit);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	sigaction(SIGINT, &oint, NULL);
	sigaction(SIGQUIT, &oquit, NULL);
	return spawn_exit_code(st);
}

/* The dedicated-user way: the command as --ls-user, whom the UID-scoped
 * redirect catches. As root it first asks to join the agents cgroup too,
 * which only names the run in its records; that may fail. */
static int
run_as_ls_user(const struct options *opt, const char *agent)
{
	struct spawn_io io = { -1, -1, -1, false };
	struct spawn_cmd *cmd = NULL;
	char bundle[4096], err[512];
	size_t n = 0;
	pid_t pid;
	int rc = 1;

	while (opt->command_argv[n])
		n++;
	if (privsep_state_searchable(opt->state_dir) < 0 ||
	    run_ensure_ca(opt->state_dir) < 0 ||
	    bundle_update(opt->state_dir, bundle_system_path(opt->system_ca),
			  bundle, sizeof(bundle)) < 0 ||
	    !(cmd = spawn_cmd_new(opt->command_argv[0], opt->command_argv + 1,
				  n - 1, opt->ls_user, bundle)))
		goto out;
	if (cmd->user_missing)
		log_warnx("run: WARNING: user %s does not exist; running as "
			  "uid %lu, which the redirect does NOT apply to: this "
			  "command's traffic is not metered",
			  opt->ls_user, (unsigned long)geteuid());
	if (*opt->control_socket &&
	    control_move_self(opt->control_socket, agent, bundle,
			      sizeof(bundle), err, sizeof(err)) < 0)
		log_debug("run: no run cgroup: %s", err);
	if (spawn_start(cmd, &io, &pid) < 0) {
		log_warn("run: %s", opt->command_argv[0]);
		rc = errno == ENOENT ? 127 : 126;
		goto out;
	}
	rc = run_wait_child(pid);
out:
	spawn_cmd_free(cmd);
	return rc;
}

int
run_command(const struct options *opt)
{
	const char *agent = strrchr(opt->command_argv[0], '/');
	char bundle[4096], err[1024];

	agent = agent ? agent + 1 : opt->command_argv[0];
	if (opt->as_ls_user)
		return run_as_ls_user(opt, agent);
	/* As oneself: into the agents cgroup, whose rule redirects us and
	 * whatever we start, then exec, keeping cwd, HOME, groups and the
	 * rest of the environment. Never a silent run unmetered. */
	if (!*opt->control_socket) {
		fprintf(stderr,
			"antigravity-proxy run: --control-socket is "
			"empty, so this run cannot be intercepted: set it, or "
			"use 'run --as-ls-user'\n");
		return RUN_REFUSED;
	}
	if (control_move_self(opt->control_socket, agent, bundle,
			      sizeof(bundle), err, sizeof(err)) < 0) {
		fprintf(stderr, "antigravity-proxy run: %s\n", err);
		return RUN_REFUSED;
	}
	if (access(bundle, R_OK) < 0) {
		fprintf(stderr,
			"antigravity-proxy run: cannot read the CA "
			"bundle %s (%s): its directory must be searchable "
			"(0711)\n",
			bundle, strerror(errno));
		return RUN_REFUSED;
	}
	if (spawn_trust_setenv(bundle) < 0)
		return RUN_REFUSED;
	execvp(opt->command_argv[0], opt->command_argv);
	fprintf(stderr, "antigravity-proxy run: %s: %s\n", opt->command_argv[0],
		strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
