/* SPDX-License-Identifier: GPL-2.0-or-later
 * spawn.c - start a program as another user with the trust environment.
 *
 * Everything the child needs (path, argv, envp, uid, gid, groups) is
 * computed by spawn_cmd_new() in the parent: the user database, malloc
 * and PATH searches are not async-signal-safe, and spawn_start() may run
 * in a process with threads. Between fork and exec the child only calls
 * setpgid, dup2, sigaction, sigprocmask, setgroups, setgid, setuid,
 * prctl, getppid, execve, write and _exit. An exec failure travels back
 * through a close-on-exec pipe, so the caller learns ENOENT instead of a
 * mystery exit status 127. The child gets SIGTERM when its parent dies
 * (PR_SET_PDEATHSIG, set after the change of user, which clears it; a
 * set-user-ID sudo clears it too), so a language server never outlives
 * its supervisor unwatched.
 *
 * Threading: see spawn.h. Ownership: struct spawn_cmd owns its strings.
 */
#include "config.h"

#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"

extern char **environ;

/* The variables we set; any inherited value of them is dropped. */
static const char *const spawn_trust_vars[] = { "SSL_CERT_FILE",
						"NODE_EXTRA_CA_CERTS",
						"REQUESTS_CA_BUNDLE",
						"CURL_CA_BUNDLE", NULL };
static const char *const spawn_replaced_vars[] = { "SSL_CERT_FILE",
						   "SSL_CERT_DIR",
						   "NODE_EXTRA_CA_CERTS",
						   "REQUESTS_CA_BUNDLE",
						   "CURL_CA_BUNDLE",
						   "HOME",
						   "USER",
						   "LOGNAME",
						   NULL };

/* A growable NULL-terminated vector of malloc'd strings. */
struct spawn_vec {
	char **v;
	size_t n, cap;
};

/* Appends the concatenation of a, b and c (b and c may be NULL). */
static int
vec_add3(struct spawn_vec *vec, const char *a, const char *b, const char *c)
{
	char **v = buf_grow_array(vec->v, &vec->cap, vec->n + 2, sizeof(*v));
	size_t la = strlen(a), lb = b ? strlen(b) : 0, lc = c ? strlen(c) : 0;

	if (!v)
		return -1;
	vec->v = v;
	if (!(v[vec->n] = malloc(la + lb + lc + 1)))
		return -1;
	memcpy(v[vec->n], a, la);
	memcpy(v[vec->n] + la, b ? b : "", lb);
	memcpy(v[vec->n] + la + lb, c ? c : "", lc + 1);
	v[++vec->n] = NULL;
	return 0;
}

static int
vec_add(struct spawn_vec *vec, const char *s)
{
	return vec_add3(vec, s, NULL, NULL);
}

static void
vec_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static bool
spawn_replaced(const char *kv)
{
	size_t klen = strcspn(kv, "=");

	for (size_t i = 0; spawn_replaced_vars[i]; i++)
		if (strlen(spawn_replaced_vars[i]) == klen &&
		    strncmp(kv, spawn_replaced_vars[i], klen) == 0)
			return true;
	return false;
}

/* Our variables as K=V strings; pw is NULL when the user is missing. */
static int
spawn_our_env(struct spawn_vec *e, const struct passwd *pw, const char *bundle)
{
	const char *home = pw ? pw->pw_dir : getenv("HOME");

	for (size_t i = 0; spawn_trust_vars[i]; i++)
		if (vec_add3(e, spawn_trust_vars[i], "=", bundle) < 0)
			return -1;
	if (vec_add(e, "SSL_CERT_DIR=/dev/null") < 0 ||
	    (home && vec_add3(e, "HOME=", home, NULL) < 0))
		return -1;
	if (pw && (vec_add3(e, "USER=", pw->pw_name, NULL) < 0 ||
		   vec_add3(e, "LOGNAME=", pw->pw_name, NULL) < 0))
		return -1;
	return 0;
}

int
spawn_trust_setenv(const char *bundle)
{
	for (size_t i = 0; spawn_trust_vars[i]; i++)
		if (setenv(spawn_trust_vars[i], bundle, 1) < 0)
			return -1;
	return setenv("SSL_CERT_DIR", "/dev/null", 1);
}

/* The full environment for exec: ours, then the inherited rest. */
static int
spawn_full_env(struct spawn_vec *e, const struct passwd *pw, const char *bundle)
{
	if (spawn_our_env(e, pw, bundle) < 0)
		return -1;
	for (char **p = environ; p && *p; p++)
		if (!spawn_replaced(*p) && vec_add(e, *p) < 0)
			return -1;
	return 0;
}

/* Searches PATH for name; a malloc'd path or NULL. */
static char *
spawn_which(const char *name)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL, *found = NULL;

	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	if (!(copy = strdup(path)))
		return NULL;
	for (dir = strtok_r(copy, ":", &save); dir && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		if (asprintf(&found, "%s/%s", *dir ? dir : ".", name) < 0) {
			found = NULL;
			break;
		}
		if (access(found, X_OK) != 0) {
			free(found);
			found = NULL;
		}
	}
	free(copy);
	return found;
}

/* argv and envp for SPAWN_SUDO: sudo clears the environment, so our
 * variables travel as env(1) arguments. */
static int
spawn_sudo_argv(struct spawn_cmd *c, struct spawn_vec *a,
		const struct passwd *pw, const char *bundle)
{
	struct spawn_vec ours = { NULL, 0, 0 };
	int rc = -1;

	if (!(c->path = spawn_which("sudo"))) {
		log_errx("spawn: not root and no sudo in PATH to become %s",
			 c->user);
		return -1;
	}
	if (vec_add(a, c->path) < 0 || vec_add(a, "-n") < 0 ||
	    vec_add(a, "-u") < 0 || vec_add(a, pw->pw_name) < 0 ||
	    vec_add(a, "/usr/bin/env") < 0 ||
	    spawn_our_env(&ours, pw, bundle) < 0)
		goto out;
	for (size_t i = 0; i < ours.n; i++)
		if (vec_add(a, ours.v[i]) < 0)
			goto out;
	rc = 0;
out:
	vec_free(ours.v);
	return rc;
}

/* Fills uid, gid and the supplementary groups for SPAWN_DROP. */
static int
spawn_groups(struct spawn_cmd *c, const struct passwd *pw)
{
	int n = 32;

	for (;;) {
		gid_t *g = realloc(c->groups, (size_t)n * sizeof(*g));

		if (!g)
			return -1;
		c->groups = g;
		if (getgrouplist(pw->pw_name, pw->pw_gid, g, &n) >= 0)
			break;
		if (n > 65536)
			return -1;
		n *= 2;
	}
	c->ngroups = n;
	c->uid = pw->pw_uid;
	c->gid = pw->pw_gid;
	return 0;
}

/* Decides the mode and fills path, argv (up to the command) and envp. */
static int
spawn_prepare(struct spawn_cmd *c, struct spawn_vec *a, struct spawn_vec *e,
	      const struct passwd *pw, const char *bundle)
{
	if (!pw)
		c->mode = SPAWN_SELF;
	else if (geteuid() == 0)
		c->mode = pw->pw_uid == 0 ? SPAWN_SELF : SPAWN_DROP;
	else
		c->mode = pw->pw_uid == geteuid() ? SPAWN_SELF : SPAWN_SUDO;
	if (c->mode == SPAWN_SUDO)
		return spawn_sudo_argv(c, a, pw, bundle) < 0 ||
				       spawn_full_env(e, NULL, bundle) < 0
			       ? -1
			       : 0;
	if (c->mode == SPAWN_DROP && spawn_groups(c, pw) < 0)
		return -1;
	return spawn_full_env(e, pw, bundle);
}

struct spawn_cmd *
spawn_cmd_new(const char *bin, char *const *args, size_t nargs,
	      const char *user, const char *bundle_path)
{
	struct spawn_cmd *c = calloc(1, sizeof(*c));
	struct spawn_vec a = { NULL, 0, 0 }, e = { NULL, 0, 0 };
	struct passwd *pw;
	int rc = -1;

	if (!c || !(c->user = strdup(user)))
		goto out;
	errno = 0;
	if (!(pw = getpwnam(user)) && errno != 0 && errno != ENOENT &&
	    errno != ESRCH) {
		log_err("spawn: looking up user %s", user);
		goto out;
	}
	c->user_missing = pw == NULL;
	if (spawn_prepare(c, &a, &e, pw, bundle_path) < 0)
		goto out;
	/* execve() does not search PATH; env(1) does, for SPAWN_SUDO. */
	if (!c->path && !strchr(bin, '/'))
		c->path = spawn_which(bin);
	if (!c->path && !(c->path = strdup(bin)))
		goto out;
	if (vec_add(&a, bin) < 0)
		goto out;
	for (size_t i = 0; i < nargs; i++)
		if (vec_add(&a, args[i]) < 0)
			goto out;
	c->argv = a.v;
	c->envp = e.v;
	a.v = e.v = NULL;
	rc = 0;
out:
	vec_free(a.v);
	vec_free(e.v);
	if (rc < 0) {
		log_errx("spawn: cannot prepare %s as %s", bin, user);
		spawn_cmd_free(c);
		c = NULL;
	}
	return c;
}

void
spawn_cmd_free(struct spawn_cmd *c)
{
	if (!c)
		return;
	free(c->user);
	free(c->path);
	vec_free(c->argv);
	vec_free(c->envp);
	free(c->groups);
	free(c);
}

/* The child's side, async-signal-safe only; never returns. */
static void
spawn_child(const struct spawn_cmd *c, const struct spawn_io *io, int errfd,
	    pid_t parent)
{
	struct sigaction sa;
	sigset_t none;
	int e;

	memset(&sa, 0, sizeof(sa)); /* async-signal-safe since POSIX 2016 */
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++) /* KILL, STOP: EINVAL */
		sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if ((io->new_pgrp && setpgid(0, 0) < 0) ||
	    (io->in >= 0 && dup2(io->in, STDIN_FILENO) < 0) ||
	    (io->out >= 0 && dup2(io->out, STDOUT_FILENO) < 0) ||
	    (io->err >= 0 && dup2(io->err, STDERR_FILENO) < 0))
		goto fail;
	if (c->mode == SPAWN_DROP &&
	    (setgroups((size_t)c->ngroups, c->groups) < 0 ||
	     setgid(c->gid) < 0 || setuid(c->uid) < 0))
		goto fail;
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
		goto fail;
	if (getppid() != parent) /* it died before the prctl */
		_exit(127);
	execve(c->path, c->argv, c->envp);
fail:
	e = errno;
	if (write(errfd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

int
spawn_start(const struct spawn_cmd *c, const struct spawn_io *io, pid_t *pid)
{
	int p[2], e = 0, st;
	ssize_t n;
	pid_t parent, child;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	parent = getpid();
	if ((child = fork()) < 0) {
		e = errno;
		close(p[0]);
		close(p[1]);
		errno = e;
		return -1;
	}
	if (child == 0)
		spawn_child(c, io, p[1], parent);
	if (io->new_pgrp) /* both sides, so kill(-pid) cannot miss it */
		setpgid(child, child);
	close(p[1]);
	do
		n = read(p[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	if (n == (ssize_t)sizeof(e)) {
		while (waitpid(child, &st, 0) < 0 && errno == EINTR)
			;
		errno = e;
		return -1;
	}
	*pid = child;
	return 0;
}

int
spawn_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}
