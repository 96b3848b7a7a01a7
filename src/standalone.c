/* SPDX-License-Identifier: GPL-2.0-or-later
 * standalone.c - the supervisor: the language server and the control
 * socket, in a process of their own that stays root.
 *
 * Process model (started as root):
 *
 *   daemon (pid from the pidfile)          supervisor (root)
 *     binds, loads the CA, opens the   --fork-->  poll loop: LS output,
 *     ledger, writes the bundle,                  SIGCHLD, control pipe,
 *     binds the control socket                    control socket
 *     drops to --user (main.c)                        |
 *     starts accept + API threads      fork+exec as --ls-user (--standalone)
 *     on TERM: closes the control pipe,               v
 *       waits for the supervisor               language server
 *
 *   Who holds what: the daemon's threads (network, API, ledger) run as
 *   --user with no capability; they never write a cgroup and never start
 *   a process. The supervisor keeps root for exactly two jobs: starting
 *   the LS as another user, and moving a `run` caller into the agents
 *   cgroup (writing cgroup.procs), on a request over the control socket
 *   (control.c) that names the caller itself. It keeps root's uid but
 *   only the capabilities those need (privsep_limit_caps()), and reads
 *   nothing from the network. Without root there is no supervisor, hence
 *   no `run` by cgroup (run --as-ls-user still works) and no --standalone
 *   drop.
 *
 *   The supervisor is forked while the daemon still has one thread, so it
 *   is single-threaded. Its control pipe's end of file (the daemon
 *   stopped, cleanly or not) makes it TERM the LS, KILL it after a grace
 *   period, reap it and exit. The unprivileged daemon could not signal a
 *   root process; a pipe needs no privilege and also fires when the daemon
 *   is killed outright.
 *   The LS runs in a process group of its own, with stdout and stderr on
 *   one pipe whose lines go to the log as "ls: ...". When it dies it is
 *   restarted after 1 s, doubling to 60 s; a run of 60 s resets the delay.
 *   Before each start the supervisor brings the combined bundle up to
 *   date, so an LS started after a system CA update trusts the new set.
 *
 * Threading: the daemon side runs in main; the supervisor is a process.
 * Ownership: struct standalone owns the control pipe and the counters
 *   page shared with the supervisor (MAP_SHARED, written only by it); the
 *   supervisor owns the control socket.
 */
#include "config.h"

#include "standalone.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bundle.h"
#include "control.h"
#include "log.h"
#include "metrics.h"
#include "options.h"
#include "privsep.h"
#include "spawn.h"

#define SA_BACKOFF_MIN 1000L /* ms */
#define SA_BACKOFF_MAX 60000L
#define SA_HEALTHY_RUN 60000L /* resets the backoff */
#define SA_KILL_GRACE 5000L
#define SA_LINE_MAX 4096

/* Shared with the supervisor; it writes, the daemon's /metrics reads. */
struct sa_counters {
	atomic_ulong starts;
	atomic_ulong restarts;
	atomic_ulong exits;
	atomic_long pid;
	atomic_ulong run_moves;	   /* control: runs moved */
	atomic_ulong run_refusals; /* control: requests refused */
};

struct standalone {
	pid_t sup_pid;		 /* -1 without --standalone */
	bool sup_reaped;	 /* it died; main thread only */
	int ctl;		 /* write end of the control pipe */
	struct sa_counters *ctr; /* MAP_SHARED page or NULL */
};

/* The supervisor's state; it lives on the supervisor's stack. */
struct sup {
	const struct options *opt;
	const struct spawn_cmd *cmd; /* the LS; NULL without one */
	struct control *control;     /* NULL without a control socket */
	struct sa_counters *ctr;
	int ctl, sfd, out, devnull;
	pid_t pid; /* the LS, or -1 */
	long backoff;
	long long started, next_start, kill_at;
	bool stopping, killed;
	size_t linelen;
	char line[SA_LINE_MAX];
};

static long long
sa_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sup_spawn(struct sup *s)
{
	struct spawn_io io = { s->devnull, -1, -1, true };
	char bundle[4096];
	int p[2];

	/* Restarts only: the daemon wrote it just before the first. Same
	 * path, so the LS's environment stays as it is; on failure the
	 * bundle it has is still there and still valid. */
	if (s->ctr->starts > 0 &&
	    bundle_update(s->opt->state_dir,
			  bundle_system_path(s->opt->system_ca), bundle,
			  sizeof(bundle)) == 1)
		log_info("standalone: the system CAs changed: %s rewritten",
			 bundle);

	if (pipe2(p, O_CLOEXEC) < 0) {
		log_warn("standalone: pipe");
		s->next_start = sa_now_ms() + s->backoff;
		return;
	}
	io.out = io.err = p[1];
	if (spawn_start(s->cmd, &io, &s->pid) < 0) {
		log_warn("standalone: starting %s", s->cmd->argv[0]);
		close(p[0]);
		close(p[1]);
		s->pid = -1;
		s->next_start = sa_now_ms() + s->backoff;
		s->backoff = s->backoff * 2 > SA_BACKOFF_MAX ? SA_BACKOFF_MAX
							     : s->backoff * 2;
		return;
	}
	close(p[1]);
	if (s->out >= 0) /* an orphan of the last LS may hold it */
		close(s->out);
	s->out = p[0];
	s->linelen = 0;
	s->started = sa_now_ms();
	if (atomic_fetch_add(&s->ctr->starts, 1) > 0)
		atomic_fetch_add(&s->ctr->restarts, 1);
	atomic_store(&s->ctr->pid, (long)s->pid);
	log_info("standalone: language server %s started as %s, pid %ld "
		 "(start #%lu)",
		 s->cmd->argv[0], s->cmd->user, (long)s->pid,
		 atomic_load(&s->ctr->starts));
}

/* Logs whatever complete lines the buffer holds (all of it if flush). */
static void
sup_lines(struct sup *s, bool flush)
{
	char *start = s->line, *nl;
	size_t left = s->linelen;

	while ((nl = memchr(start, '\n', left))) {
		size_t n = (size_t)(nl - start);

		if (n > 0 && start[n - 1] == '\r')
			n--;
		log_msg(LOG_INFO, "ls: %.*s", (int)n, start);
		left -= (size_t)(nl - start) + 1;
		start = nl + 1;
	}
	if (left > 0 && (flush || left == sizeof(s->line))) {
		log_msg(LOG_INFO, "ls: %.*s", (int)left, start);
		left = 0;
	}
	memmove(s->line, start, left);
	s->linelen = left;
}

static void
sup_read(struct sup *s)
{
	ssize_t n = read(s->out, s->line + s->linelen,
			 sizeof(s->line) - s->linelen);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		sup_lines(s, true);
		close(s->out);
		s->out = -1;
		return;
	}
	s->linelen += (size_t)n;
	sup_lines(s, false);
}

/* Reaps every child; schedules the next start when the LS was one. */
static void
sup_reap(struct sup *s)
{
	long long now = sa_now_ms();
	pid_t pid;
	long delay;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (pid != s->pid)
			continue;
		while (s->out >= 0 && !s->stopping) {
			struct pollfd pfd = { s->out, POLLIN, 0 };

			if (poll(&pfd, 1, 0) <= 0) /* its last words */
				break;
			sup_read(s);
		}
		s->pid = -1;
		atomic_store(&s->ctr->pid, 0L);
		atomic_fetch_add(&s->ctr->exits, 1);
		if (s->stopping)
			continue;
		delay = now - s->started >= SA_HEALTHY_RUN ? SA_BACKOFF_MIN
							   : s->backoff;
		s->backoff =
			delay * 2 > SA_BACKOFF_MAX ? SA_BACKOFF_MAX : delay * 2;
		s->next_start = now + delay;
		log_warnx("standalone: language server pid %ld %s %d; "
			  "restarting in %ld ms",
			  (long)pid,
			  WIFSIGNALED(st) ? "killed by signal" : "exited with",
			  WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
			  delay);
	}
}

static void
sup_stop(struct sup *s)
{
	if (s->stopping)
		return;
	s->stopping = true;
	s->kill_at = sa_now_ms() + SA_KILL_GRACE;
	if (s->pid > 0) {
		log_info("standalone: stopping the language server, pid %ld",
			 (long)s->pid);
		kill(-s->pid, SIGTERM);
		kill(s->pid, SIGTERM);
	}
}

/* How long poll() may sleep, in ms; -1 for ever. Without a language
 * server to start (no --standalone: the supervisor serves `run` alone)
 * nothing is due, so it sleeps until an event. */
static int
sup_timeout(const struct sup *s, long long now)
{
	long long t;

	if (!s->stopping && s->pid < 0 && s->cmd)
		t = s->next_start - now;
	else if (s->stopping && s->pid > 0 && !s->killed)
		t = s->kill_at - now;
	else
		return -1;
	return t < 0 ? 0 : t > 60000 ? 60000 : (int)t;
}

static void
sup_events(struct sup *s, struct pollfd *pfd)
{
	struct signalfd_siginfo si;

	if (pfd[0].revents) {
		char c;

		if (read(s->ctl, &c, 1) <= 0)
			sup_stop(s); /* the daemon is gone or stopping */
	}
	if (pfd[1].revents &&
	    read(s->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			sup_reap(s);
		else
			sup_stop(s);
	}
	if (s->out >= 0 && pfd[2].revents)
		sup_read(s);
	sup_reap(s); /* signals merge: never trust one SIGCHLD per child */
}

/* Serves the control socket; its counters go to the shared page. */
static void
sup_control(struct sup *s, const struct pollfd *pfd, int n)
{
	unsigned long moved, refused;

	control_handle(s->control, pfd, n);
	control_counts(s->control, &moved, &refused);
	atomic_store(&s->ctr->run_moves, moved);
	atomic_store(&s->ctr->run_refusals, refused);
}

static void
sup_loop(struct sup *s)
{
	struct pollfd pfd[3 + 1 + CONTROL_CLIENTS];

	for (;;) {
		long long now = sa_now_ms();
		int n = 3, timeout;

		if (s->stopping && s->pid < 0)
			return;
		if (s->cmd && !s->stopping && s->pid < 0 &&
		    now >= s->next_start)
			sup_spawn(s);
		if (s->stopping && s->pid > 0 && !s->killed &&
		    now >= s->kill_at) {
			log_warnx("standalone: language server pid %ld ignored "
				  "SIGTERM; killing it",
				  (long)s->pid);
			kill(-s->pid, SIGKILL);
			kill(s->pid, SIGKILL);
			s->killed = true;
		}
		pfd[0] =
			(struct pollfd){ s->stopping ? -1 : s->ctl, POLLIN, 0 };
		pfd[1] = (struct pollfd){ s->sfd, POLLIN, 0 };
		pfd[2] = (struct pollfd){ s->out, POLLIN, 0 };
		timeout = sup_timeout(s, sa_now_ms());
		if (s->control && !s->stopping)
			n += control_poll(s->control, pfd + 3, &timeout);
		if (poll(pfd, (nfds_t)n, timeout) < 0) {
			if (errno != EINTR)
				log_warn("standalone: poll");
			continue;
		}
		sup_events(s, pfd);
		if (n > 3)
			sup_control(s, pfd + 3, n - 3);
	}
}

/* Closes every descriptor but the standard streams, a and b. */
static void
close_all_but(int a, int b)
{
	int lo = a < b ? a : b, hi = a < b ? b : a;

	if (lo > 3)
		close_range(3, (unsigned)lo - 1, 0);
	if (hi > lo + 1)
		close_range((unsigned)lo + 1, (unsigned)hi - 1, 0);
	close_range((unsigned)hi + 1, ~0U, 0);
}

/* The supervisor process: never returns. Only the control pipe, the
 * control socket and the standard streams survive from the daemon. */
static void
sup_main(const struct options *opt, const struct spawn_cmd *cmd, int ctl,
	 struct control *control, struct sa_counters *ctr)
{
	struct sup s = { .opt = opt,
			 .cmd = cmd,
			 .control = control,
			 .ctr = ctr,
			 .ctl = ctl,
			 .out = -1,
			 .pid = -1,
			 .backoff = SA_BACKOFF_MIN };
	sigset_t set;

	/* Listeners, ledger, API: not ours. */
	close_all_but(ctl, control ? control_fileno(control) : ctl);
	if (opt->daemon) { /* its socket went with the rest */
		log_use_syslog(false);
		log_use_syslog(true);
	}
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if ((geteuid() == 0 && privsep_limit_caps() < 0) ||
	    (s.sfd = signalfd(-1, &set, SFD_CLOEXEC)) < 0 ||
	    (s.devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		log_err("standalone: supervisor setup");
		_exit(1);
	}
	sup_loop(&s);
	control_unlink(control);
	log_info("standalone: supervisor done");
	_exit(0);
}

/* The language server's command, or NULL without --standalone; *rc -1
 * on failure (logged). */
static struct spawn_cmd *
sa_ls_cmd(const struct options *opt, const char *bundle, int *rc)
{
	struct spawn_cmd *cmd;

	*rc = 0;
	if (!opt->standalone)
		return NULL;
	cmd = spawn_cmd_new(opt->ls_binary, opt->ls_args.v, opt->ls_args.n,
			    opt->ls_user, bundle);
	if (!cmd)
		*rc = -1;
	else if (cmd->user_missing)
		log_warnx("standalone: WARNING: user %s does not exist; the "
			  "language server runs as uid %lu and the UID-scoped "
			  "redirect does NOT apply to it: its traffic is not "
			  "metered (create the user with mitm-redirect.sh)",
			  opt->ls_user, (unsigned long)geteuid());
	return cmd;
}

/* Forks the supervisor, which takes control; 0 or -1 (logged). */
static int
sa_fork_supervisor(struct standalone *sa, const struct options *opt,
		   const char *bundle, struct control *control)
{
	struct spawn_cmd *cmd;
	int p[2] = { -1, -1 }, rc;

	cmd = sa_ls_cmd(opt, bundle, &rc);
	if (rc < 0)
		return -1;
	rc = -1;
	if (pipe2(p, O_CLOEXEC) < 0 || (sa->sup_pid = fork()) < 0) {
		log_err("standalone: starting the supervisor");
		goto out;
	}
	if (sa->sup_pid == 0) {
		close(p[1]);
		sup_main(opt, cmd, p[0], control, sa->ctr);
	}
	sa->ctl = p[1];
	p[1] = -1;
	rc = 0;
out:
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	spawn_cmd_free(cmd);
	return rc;
}

struct standalone *
standalone_new(const struct options *opt)
{
	struct standalone *sa = calloc(1, sizeof(*sa));
	struct control *control = NULL;
	char bundle[4096];

	if (!sa)
		return NULL;
	sa->sup_pid = -1;
	sa->ctl = -1;
	sa->ctr = mmap(NULL, sizeof(*sa->ctr), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sa->ctr == MAP_FAILED) {
		sa->ctr = NULL;
		goto fail;
	}
	if (bundle_update(opt->state_dir, bundle_system_path(opt->system_ca),
			  bundle, sizeof(bundle)) < 0)
		goto fail;
	/* `run` callers read the bundle by name too, as the LS does. */
	if (geteuid() == 0 && *opt->control_socket &&
	    !(control = control_new(opt->control_socket, opt->agents_cgroup,
				    bundle)))
		goto fail;
	if ((opt->standalone || control) &&
	    (privsep_state_searchable(opt->state_dir) < 0 ||
	     sa_fork_supervisor(sa, opt, bundle, control) < 0))
		goto fail;
	control_free(control); /* the supervisor's now */
	return sa;
fail:
	control_unlink(control);
	control_free(control);
	standalone_free(sa);
	return NULL;
}

void
standalone_reap(struct standalone *sa)
{
	int st;

	if (!sa || sa->sup_pid <= 0 || sa->sup_reaped ||
	    waitpid(sa->sup_pid, &st, WNOHANG) != sa->sup_pid)
		return;
	sa->sup_reaped = true;
	atomic_store(&sa->ctr->pid, 0L);
	if (WIFSIGNALED(st))
		log_errx("standalone: the supervisor (pid %ld) was killed by "
			 "signal %d; the language server went with it and is "
			 "no longer restarted: restart antigravity-proxy",
			 (long)sa->sup_pid, WTERMSIG(st));
	else
		log_errx("standalone: the supervisor (pid %ld) exited with "
			 "status %d; the language server is no longer "
			 "restarted: restart antigravity-proxy",
			 (long)sa->sup_pid, WEXITSTATUS(st));
}

void
standalone_free(struct standalone *sa)
{
	int st;

	if (!sa)
		return;
	if (sa->ctl >= 0)
		close(sa->ctl); /* end of file: the supervisor stops */
	if (sa->sup_pid > 0 && !sa->sup_reaped)
		while (waitpid(sa->sup_pid, &st, 0) < 0 && errno == EINTR)
			;
	if (sa->ctr)
		munmap(sa->ctr, sizeof(*sa->ctr));
	free(sa);
}

void
standalone_metrics(const struct standalone *sa, struct metrics *m)
{
	if (!sa || !sa->ctr || sa->sup_pid < 0)
		return;
	metrics_value(m, "antigravity_proxy_run_moves_total", "counter",
		      "runs moved into the agents cgroup",
		      (int64_t)atomic_load(&sa->ctr->run_moves));
	metrics_value(m, "antigravity_proxy_run_refusals_total", "counter",
		      "control socket requests refused",
		      (int64_t)atomic_load(&sa->ctr->run_refusals));
	metrics_value(m, "antigravity_proxy_ls_starts_total", "counter",
		      "language server starts",
		      (int64_t)atomic_load(&sa->ctr->starts));
	metrics_value(m, "antigravity_proxy_ls_restarts_total", "counter",
		      "language server restarts",
		      (int64_t)atomic_load(&sa->ctr->restarts));
	metrics_value(m, "antigravity_proxy_ls_pid", "gauge",
		      "the language server's pid, 0 when none runs",
		      (int64_t)atomic_load(&sa->ctr->pid));
}
