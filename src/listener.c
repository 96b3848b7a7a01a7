/* SPDX-License-Identifier: GPL-2.0-or-later
 * listener.c - the MITM listeners, the accept thread and the workers.
 *
 * Threading: one accept thread polls every listening socket and a wake
 *   pipe; each accepted connection gets a detached worker thread with a
 *   small stack. l->lock guards the registry of open client sockets,
 *   which lets a stop shut them down so no worker outlives the daemon.
 * Ownership: the accept thread hands each socket to its worker, which
 *   closes it (conn_serve()); the registry only borrows the number.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "conn.h"
#include "listener.h"
#include "log.h"
#include "net.h"
#include "options.h"
#include "proxy.h"

#define LISTENER_MAX 8
/* Descriptors one connection holds: the client's socket, the upstream
 * socket, and the wake-up socket pair of the multi handle that
 * curl_easy_perform() keeps in each easy handle. */
#define LISTENER_FDS_PER_CONN 4
#define LISTENER_FDS_SPARE 256 /* the store, logs, the API, the CA... */
#ifdef __SANITIZE_ADDRESS__
#define LISTENER_STACK (4 * 1024 * 1024) /* sanitizers need room */
#else
#define LISTENER_STACK (512 * 1024)
#endif

struct listener {
	struct proxy *px;
	int fds[LISTENER_MAX];
	size_t nfds;
	int wake[2]; /* a byte here stops the accept loop */
	pthread_t thread;
	bool started;
	pthread_mutex_t lock; /* guards what follows */
	pthread_cond_t idle;  /* signalled when nconns drops to 0 */
	int *conns;	      /* open client sockets, -1 = free */
	size_t nconns, capconns;
	unsigned long next_id;
};

struct worker_arg {
	struct listener *l;
	int fd;
	unsigned long id;
};

/* Raises the soft limit on open files to the hard one, as systemd.exec(5)
 * asks of a program that needs more than the 1024 it starts services
 * with, and says so when even that is short of --max-connections. */
static void
fit_fd_limit(long max_connections)
{
	rlim_t want = (rlim_t)max_connections * LISTENER_FDS_PER_CONN +
		      LISTENER_FDS_SPARE;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			return;
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want)
		log_warnx("mitm: --max-connections %ld needs about %llu open "
			  "files, the limit is %llu: past about %llu "
			  "connections, new ones may fail (raise LimitNOFILE, "
			  "or ulimit -Hn)",
			  max_connections, (unsigned long long)want,
			  (unsigned long long)rl.rlim_cur,
			  rl.rlim_cur > LISTENER_FDS_SPARE
				  ? (unsigned long long)(rl.rlim_cur -
							 LISTENER_FDS_SPARE) /
					    LISTENER_FDS_PER_CONN
				  : 0ULL);
}

struct listener *
listener_new(struct proxy *px)
{
	struct listener *l = calloc(1, sizeof(*l));
	const struct options *opt = px->opt;

	if (!l)
		return NULL;
	l->px = px;
	l->wake[0] = l->wake[1] = -1;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->idle, NULL);
	l->capconns = (size_t)opt->max_connections;
	fit_fd_limit(opt->max_connections);
	if (!(l->conns = malloc(l->capconns * sizeof(*l->conns))))
		goto fail;
	for (size_t i = 0; i < l->capconns; i++)
		l->conns[i] = -1;
	for (size_t i = 0; i < opt->mitm_listen.n && i < LISTENER_MAX; i++) {
		int fd = net_listen(opt->mitm_listen.v[i]);

		if (fd < 0) {
			log_err("cannot listen on %s", opt->mitm_listen.v[i]);
			goto fail;
		}
		l->fds[l->nfds++] = fd;
		log_info("mitm: listening on %s", opt->mitm_listen.v[i]);
	}
	if (pipe2(l->wake, O_CLOEXEC) < 0)
		goto fail;
	return l;
fail:
	listener_free(l, 0);
	return NULL;
}

/* Registers fd; false when --max-connections are open already. */
static bool
conn_register(struct listener *l, int fd, unsigned long *id)
{
	bool ok = false;

	pthread_mutex_lock(&l->lock);
	for (size_t i = 0; i < l->capconns; i++)
		if (l->conns[i] < 0) {
			l->conns[i] = fd;
			l->nconns++;
			*id = ++l->next_id;
			ok = true;
			break;
		}
	pthread_mutex_unlock(&l->lock);
	return ok;
}

static void
conn_unregister(struct listener *l, int fd)
{
	pthread_mutex_lock(&l->lock);
	for (size_t i = 0; i < l->capconns; i++)
		if (l->conns[i] == fd) {
			l->conns[i] = -1;
			if (--l->nconns == 0)
				pthread_cond_broadcast(&l->idle);
			break;
		}
	pthread_mutex_unlock(&l->lock);
}

static void *
worker_main(void *p)
{
	struct worker_arg a = *(struct worker_arg *)p;

	free(p);
	atomic_fetch_add(&a.l->px->stats.in_flight, 1);
	conn_serve(a.l->px, a.fd, a.id);
	/* The registry entry goes before the close, so a stop never shuts
	 * down a number that was reused by another socket. */
	conn_unregister(a.l, a.fd);
	close(a.fd);
	atomic_fetch_sub(&a.l->px->stats.in_flight, 1);
	return NULL;
}

/* A flood over --max-connections makes one line a second, not one per
 * refusal: the first at once, then the count held back since. */
static void
listener_log_refused(struct listener *l)
{
	static struct log_rate rate = LOG_RATE_INIT;
	unsigned long n;
	double secs;

	if ((n = log_rate_check(&rate, 1000, &secs)) == 0)
		return;
	if (secs == 0)
		log_warnx("mitm: --max-connections (%ld) reached; connection "
			  "closed (further refusals: one line a second)",
			  l->px->opt->max_connections);
	else
		log_warnx("mitm: --max-connections (%ld) reached: %lu "
			  "connection(s) refused in the last %.1fs",
			  l->px->opt->max_connections, n, secs);
}

static void
start_worker(struct listener *l, int fd)
{
	struct worker_arg *a = malloc(sizeof(*a));
	pthread_attr_t attr;
	pthread_t t;
	int rc = -1;

	atomic_fetch_add(&l->px->stats.connections, 1);
	if (!a || !conn_register(l, fd, &a->id)) {
		atomic_fetch_add(&l->px->stats.rejected, 1);
		listener_log_refused(l);
		free(a);
		close(fd);
		return;
	}
	a->l = l;
	a->fd = fd;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, LISTENER_STACK);
	rc = pthread_create(&t, &attr, worker_main, a);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		errno = rc;
		log_warn("mitm: cannot start a worker");
		conn_unregister(l, fd);
		close(fd);
		free(a);
	}
}

static void *
accept_main(void *p)
{
	struct listener *l = p;
	struct pollfd pf[LISTENER_MAX + 1];

	for (size_t i = 0; i < l->nfds; i++)
		pf[i] = (struct pollfd){ .fd = l->fds[i], .events = POLLIN };
	pf[l->nfds] = (struct pollfd){ .fd = l->wake[0], .events = POLLIN };
	for (;;) {
		if (poll(pf, l->nfds + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_err("mitm: poll");
			return NULL;
		}
		if (pf[l->nfds].revents)
			return NULL;
		for (size_t i = 0; i < l->nfds; i++) {
			int fd;

			if (!pf[i].revents)
				continue;
			fd = accept4(l->fds[i], NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				start_worker(l, fd);
			else if (errno == EMFILE || errno == ENFILE)
				usleep(10000); /* let workers close some */
		}
	}
}

int
listener_start(struct listener *l)
{
	int rc = pthread_create(&l->thread, NULL, accept_main, l);

	if (rc != 0) {
		errno = rc;
		log_err("mitm: cannot start the accept thread");
		return -1;
	}
	l->started = true;
	return 0;
}

/* Joins the accept thread and closes the listening sockets. */
static void
stop_accepting(struct listener *l)
{
	if (l->started) {
		if (write(l->wake[1], "x", 1) < 0)
			log_warn("mitm: waking the accept thread");
		pthread_join(l->thread, NULL);
		l->started = false;
	}
	for (size_t i = 0; i < l->nfds; i++)
		close(l->fds[i]);
	l->nfds = 0;
}

/* Shuts down how (SHUT_RD, SHUT_RDWR) every open client socket, then
 * waits until none is open or wait_ms have passed; l->lock is taken.
 * Returns how many are still open. */
static size_t
shut_and_wait(struct listener *l, int how, long wait_ms)
{
	struct timespec deadline;
	size_t left;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += wait_ms / 1000;
	deadline.tv_nsec += (wait_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&l->lock);
	for (size_t i = 0; i < l->capconns && l->conns; i++)
		if (l->conns[i] >= 0)
			shutdown(l->conns[i], how);
	while (l->nconns > 0 &&
	       pthread_cond_timedwait(&l->idle, &l->lock, &deadline) == 0)
		;
	left = l->nconns;
	pthread_mutex_unlock(&l->lock);
	return left;
}

size_t
listener_drain(struct listener *l, long grace_ms)
{
	int64_t t0 = clock_mono_ms();
	size_t open;

	if (!l)
		return 0;
	stop_accepting(l);
	pthread_mutex_lock(&l->lock);
	open = l->nconns;
	pthread_mutex_unlock(&l->lock);
	if (open == 0)
		return 0;
	log_info("mitm: %zu connection(s) open; in-flight exchanges have "
		 "--shutdown-grace (%ld ms) to finish",
		 open, grace_ms);
	/* Reading ends: a worker between requests sees EOF and closes, one
	 * in an exchange writes its answer to the end, then closes. */
	open = shut_and_wait(l, SHUT_RD, grace_ms);
	if (open == 0)
		log_info("mitm: every exchange finished, in %" PRId64 " ms",
			 clock_mono_ms() - t0);
	else
		log_warnx("mitm: %zu connection(s) still busy after "
			  "--shutdown-grace: cutting them",
			  open);
	return open;
}

int
listener_free(struct listener *l, long grace_ms)
{
	size_t left;

	if (!l)
		return 0;
	stop_accepting(l);
	left = shut_and_wait(l, SHUT_RDWR, grace_ms + 1000);
	if (left > 0) {
		/* Workers still running would use what we free. */
		log_warnx("mitm: %zu connections still open at exit", left);
		return -1;
	}
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->idle);
	free(l->conns);
	if (l->wake[0] >= 0)
		close(l->wake[0]);
	if (l->wake[1] >= 0)
		close(l->wake[1]);
	free(l);
	return 0;
}
