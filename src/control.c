/* SPDX-License-Identifier: GPL-2.0-or-later
 * control.c - the control socket: the supervisor's server side and the
 * `run` client.
 *
 * The server runs as root, so it trusts nothing it reads: a request is
 * one short line parsed by control_request_parse() (fuzzed), the pid in
 * it must be the peer's own (SO_PEERCRED), and the process is held by a
 * pidfd taken when it connected, checked alive after the move: had it
 * died and its pid been reused, the check fails and the move is undone.
 * Clients are served without blocking, CONTROL_CLIENTS at once, each
 * with a deadline, so a client that connects and says nothing delays
 * nobody.
 *
 * Threading: see control.h. Ownership: struct control owns the listening
 *   socket and each pending client's socket and pidfd.
 */
#include "config.h"

#include "control.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "net.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77 /* Linux 6.5 */
#endif

#define CONTROL_DEADLINE_MS 2000

struct control_client {
	int fd; /* -1: free slot */
	int pidfd;
	struct ucred cred;
	int64_t deadline; /* monotonic ms */
	size_t len;
	char buf[CONTROL_LINE_MAX];
};

struct control {
	int fd;
	char *path;
	char *agents;
	char *bundle;
	unsigned long moved, refused;
	struct control_client c[CONTROL_CLIENTS];
};

int
control_request_parse(const char *buf, size_t len, struct control_request *r)
{
	size_t i = 5, a = 0;
	long pid = 0;

	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len < 8 || len >= CONTROL_LINE_MAX || memcmp(buf, "move ", 5))
		return -1;
	for (; i < len && isdigit((unsigned char)buf[i]); i++) {
		if (pid > 99999999)
			return -1;
		pid = pid * 10 + (buf[i] - '0');
	}
	if (pid <= 0 || i >= len || buf[i] != ' ')
		return -1;
	for (i++; i < len; i++) {
		unsigned char ch = (unsigned char)buf[i];

		if (a + 1 >= sizeof(r->agent) ||
		    !(isalnum(ch) || (ch && strchr("._+-", ch))))
			return -1;
		r->agent[a++] = (char)ch;
	}
	if (a == 0)
		return -1;
	r->agent[a] = '\0';
	r->pid = pid;
	return 0;
}

/* A stale socket (nobody accepts) is removed; a live one is an error. */
static int
socket_claim(const char *path)
{
	struct stat st;
	int fd;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		log_errx("control: %s exists and is not a socket", path);
		return -1;
	}
	if ((fd = net_connect_unix(path)) >= 0) {
		close(fd);
		log_errx("control: %s: another antigravity-proxy answers there",
			 path);
		return -1;
	}
	return unlink(path);
}

/* The socket's directory, made 0755 when missing, parents too (a fresh
 * --runstatedir). */
static int
socket_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	for (slash = strchr(dir + 1, '/'); slash;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			log_err("control: creating %s", dir);
			return -1;
		}
		*slash = '/';
	}
	return 0;
}

struct control *
control_new(const char *path, const char *agents, const char *bundle)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct control *ctl = calloc(1, sizeof(*ctl));
	mode_t old;

	if (!ctl)
		return NULL;
	ctl->fd = -1;
	for (int i = 0; i < CONTROL_CLIENTS; i++)
		ctl->c[i].fd = ctl->c[i].pidfd = -1;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_errx("control: socket path %s is too long", path);
		goto fail;
	}
	if (!(ctl->path = strdup(path)) || !(ctl->agents = strdup(agents)) ||
	    !(ctl->bundle = strdup(bundle)) || socket_dir(path) < 0 ||
	    socket_claim(path) < 0)
		goto fail;
	old = umask(0); /* 0666: see control_new() in control.h */
	ctl->fd = net_listen_unix(path, SOCK_NONBLOCK);
	umask(old);
	if (ctl->fd < 0) {
		log_err("control: listening on %s", path);
		goto fail;
	}
	return ctl;
fail:
	control_free(ctl);
	return NULL;
}

static void
client_drop(struct control_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	if (c->pidfd >= 0)
		close(c->pidfd);
	c->fd = c->pidfd = -1;
	c->len = 0;
}

void
control_free(struct control *ctl)
{
	if (!ctl)
		return;
	for (int i = 0; i < CONTROL_CLIENTS; i++)
		client_drop(&ctl->c[i]);
	if (ctl->fd >= 0)
		close(ctl->fd);
	free(ctl->path);
	free(ctl->agents);
	free(ctl->bundle);
	free(ctl);
}

int
control_fileno(const struct control *ctl)
{
	return ctl->fd;
}

void
control_counts(const struct control *ctl, unsigned long *moved,
	       unsigned long *refused)
{
	*moved = ctl->moved;
	*refused = ctl->refused;
}

void
control_unlink(struct control *ctl)
{
	if (ctl && ctl->path)
		unlink(ctl->path);
}

int
control_poll(struct control *ctl, struct pollfd *pfd, int *timeout_ms)
{
	int64_t now = clock_mono_ms();
	int n = 0, free_slots = 0;

	for (int i = 0; i < CONTROL_CLIENTS; i++) {
		struct control_client *c = &ctl->c[i];
		int64_t left;

		if (c->fd < 0) {
			free_slots++;
			continue;
		}
		left = c->deadline - now;
		if (left < 0)
			left = 0;
		if (*timeout_ms < 0 || left < *timeout_ms)
			*timeout_ms = (int)left;
		pfd[n++] = (struct pollfd){ c->fd, POLLIN, 0 };
	}
	/* Full: new clients wait in the backlog. */
	pfd[n++] = (struct pollfd){ free_slots ? ctl->fd : -1, POLLIN, 0 };
	return n;
}

/* The uid a process runs as, from /proc; -1 when it is gone. */
static long
proc_uid(pid_t pid)
{
	char path[64], line[256];
	long uid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if (!(f = fopen(path, "re")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Uid: %ld", &uid) == 1)
			break;
	fclose(f);
	return uid;
}

/* The peer's pidfd, taken by the kernel at connect() where it can. */
static int
peer_pidfd(int fd, const struct ucred *cred)
{
	socklen_t len = sizeof(int);
	int pidfd = -1;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == 0 &&
	    pidfd >= 0)
		return pidfd;
	/* Older kernels: the pid may have been reused between connect()
	 * and here; the uid check keeps that to the peer's own processes. */
	pidfd = pidfd_open(cred->pid, 0);
	if (pidfd >= 0 && proc_uid(cred->pid) != (long)cred->uid) {
		close(pidfd);
		return -1;
	}
	return pidfd;
}

static void
client_accept(struct control *ctl)
{
	struct control_client *c = NULL;
	socklen_t len = sizeof(struct ucred);
	int fd;

	for (int i = 0; i < CONTROL_CLIENTS && !c; i++)
		if (ctl->c[i].fd < 0)
			c = &ctl->c[i];
	if (!c || (fd = accept4(ctl->fd, NULL, NULL,
				SOCK_CLOEXEC | SOCK_NONBLOCK)) < 0)
		return;
	c->fd = fd;
	c->len = 0;
	c->deadline = clock_mono_ms() + CONTROL_DEADLINE_MS;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &len) < 0)
		c->cred.pid = 0;
	c->pidfd = c->cred.pid > 0 ? peer_pidfd(fd, &c->cred) : -1;
}

/* Sends "WORD TEXT\n"; a peer that left is only logged. */
static void
reply(struct control_client *c, const char *word, const char *text)
{
	char line[8704];
	int n = snprintf(line, sizeof(line), "%s %s\n", word, text);

	if (n > 0 &&
	    send(c->fd, line,
		 (size_t)n >= sizeof(line) ? sizeof(line) - 1 : (size_t)n,
		 MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("control: pid %ld gone before the reply",
			  (long)c->cred.pid);
}

int
control_check_match(const char *matches, char *err, size_t errlen)
{
	char line[64];
	bool found = false;
	FILE *f = fopen(matches, "re");

	while (f && !found && fgets(line, sizeof(line), f))
		found = strcmp(line, "cgroup\n") == 0;
	if (f)
		fclose(f);
	if (!found)
		snprintf(
			err, errlen,
			"the kernel has no cgroup match "
			"(xt_cgroup), so this run's traffic would not be "
			"redirected: 'modprobe xt_cgroup' and run "
			"'mitm-redirect.sh install', or use 'run --as-ls-user'");
	return found ? 0 : -1;
}

/* Checks and moves; a refusal's reason goes to err. */
static int
client_move(struct control *ctl, struct control_client *c,
	    const struct control_request *r, char *path, size_t plen, char *err,
	    size_t errlen)
{
	char agents[4096];

	if (r->pid != (long)c->cred.pid) {
		snprintf(err, errlen,
			 "pid %ld is not the connecting process "
			 "(%ld): a run moves only itself",
			 r->pid, (long)c->cred.pid);
		return -1;
	}
	if (c->pidfd < 0) {
		snprintf(err, errlen, "cannot hold process %ld (pidfd)",
			 r->pid);
		return -1;
	}
	if (control_check_match(CONTROL_MATCHES, err, errlen) < 0)
		return -1;
	if (cgroup_agents_dir(ctl->agents, agents, sizeof(agents), err,
			      errlen) < 0)
		return -1;
	cgroup_sweep(agents);
	if (cgroup_run_enter(agents, (pid_t)r->pid, r->agent, path, plen, err,
			     errlen) < 0)
		return -1;
	if (pidfd_send_signal(c->pidfd, 0, NULL, 0) < 0) {
		snprintf(err, errlen, "process %ld went away", r->pid);
		rmdir(path); /* fails, harmlessly, if its pid lives on */
		return -1;
	}
	return 0;
}

static void
client_serve(struct control *ctl, struct control_client *c)
{
	struct control_request r;
	char path[4400], err[4400 + 4096 + 2];

	if (control_request_parse(c->buf, c->len, &r) < 0) {
		log_warnx("control: uid %lu pid %ld: malformed request",
			  (unsigned long)c->cred.uid, (long)c->cred.pid);
		reply(c, "error",
		      "malformed request: expected 'move PID "
		      "AGENT'");
		ctl->refused++;
	} else if (client_move(ctl, c, &r, path, sizeof(path), err,
			       sizeof(err)) < 0) {
		log_warnx("control: uid %lu pid %ld (%s): refused: %s",
			  (unsigned long)c->cred.uid, (long)c->cred.pid,
			  r.agent, err);
		reply(c, "error", err);
		ctl->refused++;
	} else {
		log_info("control: uid %lu pid %ld (%s) moved into %s",
			 (unsigned long)c->cred.uid, r.pid, r.agent, path);
		snprintf(err, sizeof(err), "%s %s", path, ctl->bundle);
		reply(c, "ok", err);
		ctl->moved++;
	}
	client_drop(c);
}

/* Reads what the client sent; serves it once its line is complete. */
static void
client_read(struct control *ctl, struct control_client *c)
{
	ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len,
			 MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0)
		c->len += (size_t)n;
	if (n <= 0 || c->len == sizeof(c->buf) || memchr(c->buf, '\n', c->len))
		client_serve(ctl, c);
}

void
control_handle(struct control *ctl, const struct pollfd *pfd, int n)
{
	int64_t now = clock_mono_ms();

	for (int i = 0; i < n; i++) {
		struct control_client *c = NULL;

		if (pfd[i].fd < 0)
			continue;
		if (pfd[i].fd == ctl->fd) {
			if (pfd[i].revents)
				client_accept(ctl);
			continue;
		}
		for (int k = 0; k < CONTROL_CLIENTS && !c; k++)
			if (ctl->c[k].fd == pfd[i].fd)
				c = &ctl->c[k];
		if (!c)
			continue;
		if (pfd[i].revents)
			client_read(ctl, c);
		else if (now >= c->deadline) {
			reply(c, "error", "no request in time");
			client_drop(c);
		}
	}
}

/* Reads the reply line; 0 with it in buf (no '\n'), -1 at EOF first. */
static int
read_line(int fd, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got + 1 < len) {
		n = read(fd, buf + got, len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (memchr(buf, '\n', got))
			break;
	}
	buf[got] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return got > 0 ? 0 : -1;
}

int
control_move_self(const char *path, const char *agent, char *bundle,
		  size_t blen, char *err, size_t errlen)
{
	char clean[CGROUP_AGENT_MAX], line[8704], *sp;
	int fd = -1, rc = -1, n;

	cgroup_agent_clean(agent, clean, sizeof(clean));
	if ((fd = net_connect_unix(path)) < 0) {
		int e = errno;

		if (e == ENOENT || e == ECONNREFUSED)
			snprintf(err, errlen,
				 "the daemon is not running "
				 "(nothing answers at %s): start "
				 "antigravity-proxy as root, or use 'run "
				 "--as-ls-user'",
				 path);
		else if (e == EACCES)
			snprintf(err, errlen,
				 "the control socket %s refused "
				 "us (permission denied): ask the "
				 "administrator, or use 'run --as-ls-user'",
				 path);
		else
			snprintf(err, errlen, "the control socket %s: %s", path,
				 strerror(e));
		goto out;
	}
	n = snprintf(line, sizeof(line), "move %ld %s\n", (long)getpid(),
		     clean);
	if (write(fd, line, (size_t)n) != n ||
	    read_line(fd, line, sizeof(line)) < 0) {
		snprintf(err, errlen,
			 "the daemon closed the control socket "
			 "%s without an answer: is it still running? see its "
			 "log",
			 path);
		goto out;
	}
	if (strncmp(line, "ok ", 3) == 0 && (sp = strrchr(line, ' ')) &&
	    sp > line + 2 && sp[1]) {
		snprintf(bundle, blen, "%s", sp + 1);
		rc = 0;
	} else if (strncmp(line, "error ", 6) == 0) {
		snprintf(err, errlen, "the daemon refused: %s", line + 6);
	} else {
		snprintf(err, errlen,
			 "the daemon's answer makes no sense: "
			 "'%.80s'",
			 line);
	}
out:
	if (fd >= 0)
		close(fd);
	return rc;
}
