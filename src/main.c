/* SPDX-License-Identifier: GPL-2.0-or-later
 * main.c - options, state dir, listeners, daemon, signals.
 *
 * Threading: main sets everything up, starts the other threads, then
 *   waits in sigwait(): TERM/INT stop the daemon gracefully, HUP reopens
 *   the log. No signal handler does any work. `export` reads usage.db
 *   and writes its records to stdout; `usage` reads the daemon's API
 *   (report_client.c).
 * Exit status: 0 after a clean stop, 1 when it cannot start (a port in
 *   use, an unusable state dir), 2 for a usage error.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <gnutls/gnutls.h>

#include "api.h"
#include "ca.h"
#include "certcache.h"
#include "cgroup.h"
#include "clock.h"
#include "fsutil.h"
#include "intercept.h"
#include "ledger.h"
#include "listener.h"
#include "log.h"
#include "net.h"
#include "options.h"
#include "price.h"
#include "price_import.h"
#include "privsep.h"
#include "proxy.h"
#include "redirect.h"
#include "report.h"
#include "resolve.h"
#include "run.h"
#include "standalone.h"
#include "store.h"
#include "upstream.h"
#include "usage.h"
#include "when.h"

#define EXIT_START 1
#define EXIT_USAGE 2

/* GLIBC_TUNABLES as it was before the daemon ran itself again with the
 * per-thread cache off; set only across that exec. */
#define MAIN_TUNABLES_WAS "ANTIGRAVITY_PROXY_TUNABLES_WAS"
#define MAIN_TCACHE "glibc.malloc.tcache_count"

/* Puts GLIBC_TUNABLES back as the daemon found it, so that the commands
 * it starts get the user's environment, not ours. */
static void
tunables_restore(const char *was)
{
	if (*was)
		setenv("GLIBC_TUNABLES", was, 1);
	else
		unsetenv("GLIBC_TUNABLES");
	unsetenv(MAIN_TUNABLES_WAS);
}

/* Runs this program again with argv unchanged. By the path that
 * /proc/self/exe links to, not by /proc/self/exe itself: the kernel names
 * a process (comm, what ps -C and pgrep -x match) after the basename of
 * the file execve() was given, and that would be "exe". The link is the
 * fallback when the binary was replaced or removed since it started. */
static void
main_reexec(char **argv)
{
	char path[4096];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);

	if (n > 0 && path[0] == '/') {
		path[n] = '\0';
		if (access(path, X_OK) == 0 && !strstr(path, " (deleted)"))
			execv(path, argv);
	}
	execv("/proc/self/exe", argv);
}

/* glibc gives every thread a cache of freed blocks (tcache). With a
 * thread per connection those caches held about 20 MB at 1,000 streams
 * (bench/RESULTS.md), and the only switch, the GLIBC_TUNABLES variable,
 * is read once when a program starts. So the daemon runs itself again,
 * once, with glibc.malloc.tcache_count=0 added, before it does anything
 * else. A tcache_count already in the environment is the user's choice
 * and is left alone; without /proc the daemon goes on as it was. */
static void
malloc_tune(char **argv)
{
	const char *t = getenv("GLIBC_TUNABLES");
	const char *was = getenv(MAIN_TUNABLES_WAS);
	char buf[1024];
	int n;

	if (was) {
		tunables_restore(was); /* this is the second run */
		return;
	}
	if (t && strstr(t, MAIN_TCACHE))
		return;
	n = snprintf(buf, sizeof(buf), "%s%s" MAIN_TCACHE "=0", t ? t : "",
		     t && *t ? ":" : "");
	if (n < 0 || (size_t)n >= sizeof(buf) ||
	    setenv(MAIN_TUNABLES_WAS, t ? t : "", 1) < 0)
		return;
	if (setenv("GLIBC_TUNABLES", buf, 1) == 0)
		main_reexec(argv);
	tunables_restore(getenv(MAIN_TUNABLES_WAS));
}

/* Creates the state dir (0700) if missing and tightens an existing one;
 * search permission alone (0711) is kept: standalone mode sets it so the
 * language server's user reaches combined-ca.pem by name. */
static int
state_dir_prepare(const char *dir)
{
	char parent[4096];
	struct stat st;
	char *slash;

	/* Missing parents (a fresh --localstatedir) are made 0755. */
	snprintf(parent, sizeof(parent), "%s", dir);
	for (slash = strchr(parent + 1, '/'); slash;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(parent, 0755) < 0 && errno != EEXIST) {
			log_err("state dir %s: creating %s", dir, parent);
			return -1;
		}
		*slash = '/';
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		log_err("state dir %s", dir);
		return -1;
	}
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		log_errx("state dir %s is not a directory", dir);
		return -1;
	}
	if ((st.st_mode & 07066) && chmod(dir, st.st_mode & 0711) < 0) {
		log_err("state dir %s: chmod 0700", dir);
		return -1;
	}
	return 0;
}

static int
pidfile_write(const char *path)
{
	char buf[32];
	int fd, n;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) <
	    0) {
		log_err("pidfile %s", path);
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n) {
		log_err("pidfile %s", path);
		close(fd);
		return -1;
	}
	return close(fd);
}

/* Detaches from the terminal. The first process waits until the daemon
 * says it is ready (or dies), so an init script that sees it return 0
 * finds a running daemon with its pidfile and its ports. Returns the
 * descriptor to announce readiness on (daemon_ready()), or -1. */
static int
daemonize(void)
{
	int ready[2], fd;
	char c;
	pid_t pid;

	if (pipe2(ready, O_CLOEXEC) < 0 || (pid = fork()) < 0)
		return -1;
	if (pid > 0) {
		close(ready[1]);
		/* One byte: ready. End of file: it died first. */
		_exit(read(ready[0], &c, 1) == 1 ? 0 : EXIT_START);
	}
	close(ready[0]);
	if (setsid() < 0 || (pid = fork()) < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (chdir("/") < 0 || (fd = open("/dev/null", O_RDWR)) < 0)
		return -1;
	umask(077);
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	return ready[1];
}

static void
daemon_ready(int *fd)
{
	if (*fd >= 0 && write(*fd, "1", 1) != 1)
		log_warn("daemon: telling the parent we are ready");
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Waits for TERM or INT; HUP reopens the log and the ledger; CHLD is
 * the supervisor's death, if that is what it was. */
static void
wait_for_stop(const sigset_t *set, bool use_syslog, struct ledger *ledger,
	      struct standalone *sa)
{
	int sig;

	for (;;) {
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig == SIGCHLD) {
			standalone_reap(sa);
			continue;
		}
		if (sig == SIGHUP) {
			log_info("SIGHUP: reopening the log and the ledger");
			if (use_syslog) {
				log_use_syslog(false);
				log_use_syslog(true);
			}
			ledger_reopen(ledger);
			continue;
		}
		log_info("%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		return;
	}
}

/* The MITM side: CA, certificate cache, upstream, resolver, intercept
 * list and listeners, bound but not accepting (no thread yet: the
 * privileges are dropped first). Returns 0 or -1 (logged). */
static int
mitm_start(struct proxy *px, struct ca **ca, struct listener **l)
{
	const struct options *opt = px->opt;
	struct upstream_config uc = {
		.upstream_ca = opt->upstream_ca,
		.connect_timeout_ms = (int)opt->connect_timeout,
		.idle_timeout_ms = (int)opt->upstream_idle_timeout,
	};
	enum resolve_mode mode = RESOLVE_DNS;

	/* options_parse() let only the three names through. */
	resolve_mode_parse(opt->resolve, &mode);
	if (!(*ca = ca_open(opt->state_dir)) ||
	    !(px->certs = certcache_new(*ca, 0)) ||
	    !(px->resolver = resolver_new(
		      mode, (const char *const *)opt->dns_servers.v,
		      opt->dns_servers.n, 2000)))
		return -1;
	uc.resolver = px->resolver; /* the upstream asks it */
	if (!(px->upstream = upstream_new(&uc)) ||
	    !(px->intercept = intercept_new(opt->intercept.v, opt->intercept.n,
					    opt->fail_open_time)) ||
	    !(*l = listener_new(px)))
		return -1;
	return 0;
}

/* Returns -1 when workers outlived the grace period: then nothing they
 * share may be freed, and the caller must leave by _exit(). */
static int
mitm_stop(struct proxy *px, struct ca *ca, struct listener *l)
{
	/* In-flight exchanges first get --shutdown-grace to end; then
	 * upstream transfers are aborted and client sockets shut down. */
	listener_drain(l, px->opt->shutdown_grace);
	if (px->upstream)
		upstream_stop(px->upstream);
	if (listener_free(l, 5000) < 0)
		return -1;
	intercept_free(px->intercept);
	upstream_free(px->upstream);
	resolver_free(px->resolver); /* after the upstream that asks it */
	certcache_free(px->certs);
	ca_free(ca);
	return 0;
}

/* Opens usage.db and counts its summary into the table (no replay),
 * saying how long it took. */
static struct ledger *
ledger_load(const struct options *opt, struct usage_table *usage)
{
	double t0 = clock_mono_msf();
	char err[512];
	struct ledger *l;

	if (!(l = ledger_open(opt->state_dir, usage, err, sizeof(err)))) {
		log_errx("%s", err);
		return NULL;
	}
	ledger_set_retain(l, (double)opt->retain / 1000);
	log_info("store: %s/usage.db opened in %.1f ms", opt->state_dir,
		 clock_mono_msf() - t0);
	return l;
}

/* The shipped price table, then each --prices file over it. Without the
 * shipped file every model is unpriced (warned); a bad --prices file
 * stops the start. NULL only when out of memory or on a bad file. */
static struct price_table *
prices_load(const struct options *opt)
{
	struct price_table *t = price_table_new();
	char err[512];

	if (!t)
		return NULL;
	if (price_table_load(t, OPTIONS_PRICE_TABLE, err, sizeof(err)) < 0)
		log_warnx("prices: %s; %s", err,
			  opt->prices.n ? "only --prices is used"
					: "every model is unpriced");
	for (size_t i = 0; i < opt->prices.n; i++)
		if (price_table_load(t, opt->prices.v[i], err, sizeof(err)) <
		    0) {
			log_errx("--prices: %s", err);
			price_table_free(t);
			return NULL;
		}
	log_info("prices: version %s, %zu models",
		 price_table_version(t)[0] ? price_table_version(t) : "-",
		 price_table_count(t));
	return t;
}

/* /metrics: the proxy's counters, then the LS supervisor's. */
struct main_metrics {
	struct proxy *px;
	struct standalone *sa;
};

static void
main_metrics(void *arg, struct metrics *m)
{
	struct main_metrics *mm = arg;

	proxy_metrics(mm->px, m);
	standalone_metrics(mm->sa, m);
}

/* What attribution needs (peer.h): the agents cgroup's directory, which
 * names each run, and the language server's uid and name. */
static void
attribution_setup(struct proxy *px, char *agents, size_t len)
{
	const struct options *opt = px->opt;
	struct privsep_user u;
	const char *slash;
	char err[512];

	if (cgroup_agents_dir(opt->agents_cgroup, agents, len, err,
			      sizeof(err)) == 0)
		px->agents_dir = agents;
	else
		log_info("run: %s", err);
	px->ls_uid = privsep_lookup(opt->ls_user, &u) == 1 ? (long)u.uid : -1;
	slash = opt->ls_binary ? strrchr(opt->ls_binary, '/') : NULL;
	px->ls_agent = slash		? slash + 1
		       : opt->ls_binary ? opt->ls_binary
					: opt->ls_user;
}

/* The uid the daemon's network threads will have must not be one the
 * redirect covers, or its own upstream connections come back to it in a
 * loop (and the state dir, CA key included, goes to the intercepted
 * user). --ls-user is what the UID-scoped redirect covers by design; the
 * nat OUTPUT rules say what it covers in fact (redirect.h). A refusal is
 * one line on stderr: 0 or -1. */
static int
user_check(const struct options *opt)
{
	struct privsep_user u, ls;
	unsigned long uid = (unsigned long)geteuid();
	const char *why = NULL;

	if (geteuid() == 0 && privsep_lookup(opt->user, &u) == 1)
		uid = (unsigned long)u.uid;
	if (strcmp(opt->user, opt->ls_user) == 0 ||
	    (privsep_lookup(opt->ls_user, &ls) == 1 &&
	     (unsigned long)ls.uid == uid))
		why = "is --ls-user, the intercepted user";
	else if (redirect_covers_uid(uid) == 1)
		why = "is redirected to the proxy by an iptables owner rule";
	if (!why)
		return 0;
	fprintf(stderr,
		"antigravity-proxy: --user %s (uid %lu) %s: its own "
		"upstream connections would loop back to it\n",
		opt->user, uid, why);
	return -1;
}

/* Blocks the signals wait_for_stop() takes, before any thread starts,
 * so that every thread inherits the mask. */
static void
signals_block(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* The usage table, with the --model-label names. */
static struct usage_table *
usage_new(struct options *opt)
{
	struct usage_table *t = usage_table_new();

	for (size_t i = 0; t && i < opt->model_labels.n; i++) {
		char *id = opt->model_labels.v[i], *eq = strchr(id, '=');

		*eq = '\0'; /* options_parse() checked the '=' */
		usage_label_add(t, id, eq + 1);
		*eq = '=';
	}
	return t;
}

static int
run_daemon(struct options *opt)
{
	char agents[4096];
	struct proxy px = { .opt = opt };
	struct main_metrics metrics = { &px, NULL };
	struct listener *listener = NULL;
	struct ca *ca = NULL;
	struct api *api = NULL;
	struct price_table *prices = NULL;
	sigset_t set;
	int api_fd = -1, ready_fd = -1, rc = EXIT_START;

	signals_block(&set);
	if (state_dir_prepare(opt->state_dir) < 0)
		goto out;
	if ((api_fd = net_listen(opt->api_listen)) < 0) {
		log_err("cannot listen on %s", opt->api_listen);
		goto out;
	}
	if (opt->daemon) {
		log_use_syslog(true);
		if ((ready_fd = daemonize()) < 0) {
			log_err("daemon");
			goto out;
		}
	}
	if (opt->pidfile && pidfile_write(opt->pidfile) < 0)
		goto out;
	if (!(px.usage = usage_new(opt)))
		goto out;
	/* The store first: a refused usage.db is the one line to read. */
	if (!(px.ledger = ledger_load(opt, px.usage)) ||
	    !(prices = prices_load(opt)))
		goto out;
	px.prices = prices;
	usage_set_price_version(px.usage, price_table_version(prices));
	attribution_setup(&px, agents, sizeof(agents));
	/* Bundle, control socket and the supervisor, which stays root:
	 * forked while this process has one thread. */
	if (mitm_start(&px, &ca, &listener) < 0 ||
	    !(metrics.sa = standalone_new(opt)))
		goto out;
	/* The drop to --user, for good. Here: after all that needs root
	 * (the state dir, store and CA key opened, the listeners and the
	 * control socket bound, the supervisor forked) and before any
	 * thread starts, so that no thread of the daemon ever runs as
	 * root and the state dir is the proxy user's before it writes. */
	if (privsep_drop(opt->user, opt->state_dir) < 0)
		goto out;
	if (ledger_start(px.ledger) < 0 || listener_start(listener) < 0)
		goto out;
	/* api_new() owns the socket from here, closed on failure too. */
	api = api_new(api_fd, px.usage, px.ledger, main_metrics, &metrics);
	api_fd = -1;
	if (!api)
		goto out;
	log_info("%s started; usage API on http://%s/v1/usage", PACKAGE_STRING,
		 opt->api_listen);
	daemon_ready(&ready_fd);
	wait_for_stop(&set, opt->daemon, px.ledger, metrics.sa);
	rc = 0;
out:
	api_free(api);
	standalone_free(metrics.sa);
	if (mitm_stop(&px, ca, listener) < 0) {
		/* Counted records are committed already (the ledger counts
		 * only what committed), so leaving now loses none of them. */
		if (opt->pidfile)
			unlink(opt->pidfile);
		_exit(rc);
	}
	ledger_free(px.ledger);
	usage_table_free(px.usage);
	price_table_free(prices);
	if (api_fd >= 0)
		close(api_fd);
	if (opt->pidfile && rc == 0)
		unlink(opt->pidfile);
	return rc;
}

/* Prints the MITM CA certificate (creating the CA on first use). */
static int
run_ca_cert(const struct options *opt)
{
	struct ca *ca;

	if (state_dir_prepare(opt->state_dir) < 0 ||
	    !(ca = ca_open(opt->state_dir)))
		return EXIT_START;
	fputs(ca_cert_pem(ca), stdout);
	ca_free(ca);
	return 0;
}

/* Writes the state dir's records to stdout (the `export` command). */
static int
run_export(const struct options *opt)
{
	double now = clock_wall(), since = 0, until = 0;
	bool csv = opt->export_format && strcmp(opt->export_format, "csv") == 0;
	struct store *s;
	char err[512];
	int rc;

	if ((opt->export_since &&
	     when_parse(opt->export_since, now, &since) < 0) ||
	    (opt->export_until &&
	     when_parse(opt->export_until, now, &until) < 0)) {
		fprintf(stderr,
			"antigravity-proxy: export: --since/--until: "
			"expected RFC 3339 time, 'today' or a duration like "
			"7d\n");
		return EXIT_USAGE;
	}
	if (!(s = store_open(opt->state_dir, false, err, sizeof(err)))) {
		log_errx("export: %s", err);
		return EXIT_START;
	}
	rc = store_export(s, since, until, csv, stdout, err, sizeof(err));
	if (rc < 0)
		log_errx("export: %s", err);
	store_free(s);
	return rc < 0 ? EXIT_START : 0;
}

/* `prices import FILE [OUTFILE]`: LiteLLM's file in our format, to
 * OUTFILE (replaced whole, fsutil_write) or stdout. */
static int
run_prices_import(const struct options *opt)
{
	const char *in = opt->command_argv[0], *outp = opt->command_argv[1];
	struct price_table *check = price_table_new();
	struct json_object *doc = NULL;
	char err[512], date[16], *text = NULL;
	time_t now = time(NULL);
	struct tm tm;
	const char *s;
	FILE *f = NULL;
	char *buf = NULL;
	size_t len = 0, n;
	int rc = EXIT_START;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	if (!check || !(f = fopen(in, "rb")) ||
	    !(buf = malloc(PRICE_FILE_MAX + 1))) {
		log_err("prices import: %s", in);
		goto out;
	}
	while ((n = fread(buf + len, 1, PRICE_FILE_MAX + 1 - len, f)) > 0)
		len += n;
	fclose(f);
	f = NULL;
	if (price_import_litellm(buf, len, in, date, &doc, err, sizeof(err)) <
	    0) {
		log_errx("prices import: %s: %s", in, err);
		goto out;
	}
	s = json_object_to_json_string_ext(
		doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
			     JSON_C_TO_STRING_NOSLASHESCAPE);
	/* What we write must load. */
	if (price_table_parse(check, s, strlen(s), "output", err, sizeof(err)) <
	    0) {
		log_errx("prices import: %s", err);
		goto out;
	}
	if (outp && strcmp(outp, "-") != 0) {
		if (!(text = malloc(strlen(s) + 2)))
			goto out;
		n = (size_t)sprintf(text, "%s\n", s);
		if (fsutil_write(outp, text, n, 0644) < 0) {
			log_err("prices import: %s", outp);
			goto out;
		}
	} else if (printf("%s\n", s) < 0 || fflush(stdout) != 0) {
		log_err("prices import: writing");
		goto out;
	}
	fprintf(stderr, "antigravity-proxy: prices import: %zu models\n",
		price_table_count(check));
	rc = 0;
out:
	if (f)
		fclose(f);
	free(text);
	free(buf);
	json_object_put(doc);
	price_table_free(check);
	return rc;
}

int
main(int argc, char **argv)
{
	struct options opt;
	char err[512];
	int rc;

	rc = options_parse(&opt, argc, argv, stdout, err, sizeof(err));
	if (rc != OPTIONS_OK) {
		if (rc == OPTIONS_ERROR)
			fprintf(stderr,
				"antigravity-proxy: %s\n"
				"Try 'antigravity-proxy --help'.\n",
				err);
		options_free(&opt);
		return rc == OPTIONS_EXIT ? 0 : EXIT_USAGE;
	}
	if (opt.command == OPTIONS_CMD_DAEMON)
		malloc_tune(argv);
	if (opt.command == OPTIONS_CMD_DAEMON && user_check(&opt) < 0) {
		options_free(&opt);
		return EXIT_USAGE;
	}
	log_set_level(opt.log_level);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	gnutls_global_init();

	switch (opt.command) {
	case OPTIONS_CMD_DAEMON: rc = run_daemon(&opt); break;
	case OPTIONS_CMD_CA_CERT: rc = run_ca_cert(&opt); break;
	case OPTIONS_CMD_EXPORT: rc = run_export(&opt); break;
	case OPTIONS_CMD_PRICES_IMPORT: rc = run_prices_import(&opt); break;
	case OPTIONS_CMD_USAGE: rc = report_run(&opt); break;
	case OPTIONS_CMD_RUN:
		/* As oneself, the daemon's state dir is not ours to touch. */
		rc = opt.as_ls_user && state_dir_prepare(opt.state_dir) < 0
			     ? EXIT_START
			     : run_command(&opt);
		break;
	}

	gnutls_global_deinit();
	curl_global_cleanup();
	options_free(&opt);
	return rc;
}
