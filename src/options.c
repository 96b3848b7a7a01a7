/* SPDX-License-Identifier: GPL-2.0-or-later
 * options.c - the daemon's settings: command line, config file, defaults.
 *
 * One table describes every option: its long name (which is also its key
 * in the config file), its kind and where it lands in struct config. The
 * file is applied first and the command line over it, so the command line
 * wins; a repeatable option given on the command line replaces the file's
 * list instead of adding to it.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "cgroup.h"
#include "log.h"
#include "net.h"
#include "options.h"
#include "resolve.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif

#define OPTIONS_DEFAULT_FILE SYSCONFDIR "/antigravity-proxy.conf"

enum opt_kind {
	OPT_FLAG,     /* bool, no argument on the command line */
	OPT_STRING,   /* char *, replaced */
	OPT_LIST,     /* struct options_list, repeatable */
	OPT_COUNT,    /* long, a positive count */
	OPT_SIZE,     /* uint64_t, bytes with K/M/G */
	OPT_DURATION, /* long milliseconds */
	OPT_LEVEL,    /* int log level */
	OPT_CHOICE,   /* char *, one of opt->choices */
	OPT_OPTCOUNT, /* long, a count; --name alone means the default
			 * in choices, --name=N sets it */
};

struct opt {
	const char *name;
	enum opt_kind kind;
	size_t offset;
	const char *arg; /* for --help */
	const char *help;
	const char *choices; /* OPT_CHOICE: "|a|b|c|" */
};

#define O(f) offsetof(struct options, f)

static const struct opt opts[] = {
	{ "config", OPT_STRING, O(config_file), "FILE",
	  "read settings from FILE (default " OPTIONS_DEFAULT_FILE ")", NULL },
	{ "log-level", OPT_LEVEL, O(log_level), "LEVEL",
	  "error, warn, info (default) or debug", NULL },
	{ "log-bodies", OPT_FLAG, O(log_bodies), NULL,
	  "log decrypted bodies at debug level", NULL },
	{ "daemon", OPT_FLAG, O(daemon), NULL, "detach and log to syslog",
	  NULL },
	{ "pidfile", OPT_STRING, O(pidfile), "FILE",
	  "write the process id to FILE", NULL },
	{ "state-dir", OPT_STRING, O(state_dir), "DIR",
	  "CA, bundle and usage.db (default " LOCALSTATEDIR
	  "/lib/antigravity-proxy)",
	  NULL },
	{ "api-listen", OPT_STRING, O(api_listen), "ADDR:PORT",
	  "usage API address (default 127.0.0.1:8741)", NULL },
	{ "mitm-listen", OPT_LIST, O(mitm_listen), "ADDR:PORT",
	  "interception listener, repeatable (default 0.0.0.0:8742, "
	  "[::]:8742)",
	  NULL },
	{ "dns-server", OPT_LIST, O(dns_servers), "ADDR[:PORT]",
	  "upstream DNS server, repeatable (default 8.8.8.8)", NULL },
	{ "resolve", OPT_CHOICE, O(resolve), "MODE",
	  "dns (default), original or system", "|dns|original|system|" },
	{ "upstream-ca", OPT_STRING, O(upstream_ca), "FILE",
	  "also trust this CA for upstream servers", NULL },
	{ "intercept", OPT_LIST, O(intercept), "PATTERN",
	  "also decrypt hosts matching PATTERN, repeatable; * for all", NULL },
	{ "model-label", OPT_LIST, O(model_labels), "ID=LABEL",
	  "display label for a model id, repeatable", NULL },
	{ "max-connections", OPT_COUNT, O(max_connections), "N",
	  "concurrent intercepted connections (default 1024)", NULL },
	{ "max-request-body", OPT_SIZE, O(max_request_body), "BYTES",
	  "largest request body (default 64M)", NULL },
	{ "handshake-timeout", OPT_DURATION, O(handshake_timeout), "TIME",
	  "client TLS handshake (default 10s)", NULL },
	{ "idle-timeout", OPT_DURATION, O(idle_timeout), "TIME",
	  "client idle between requests (default 120s)", NULL },
	{ "request-timeout", OPT_DURATION, O(request_timeout), "TIME",
	  "whole request head, and a body's grace (default 30s)", NULL },
	{ "connect-timeout", OPT_DURATION, O(connect_timeout), "TIME",
	  "upstream connect (default 10s)", NULL },
	{ "upstream-idle-timeout", OPT_DURATION, O(upstream_idle_timeout),
	  "TIME", "upstream silence mid-response (default 300s)", NULL },
	{ "write-timeout", OPT_DURATION, O(write_timeout), "TIME",
	  "client write (default 30s)", NULL },
	{ "websocket-idle-timeout", OPT_DURATION, O(websocket_idle_timeout),
	  "TIME", "WebSocket silence both ways (default 1h)", NULL },
	{ "shutdown-grace", OPT_DURATION, O(shutdown_grace), "TIME",
	  "on SIGTERM, in-flight exchanges' time to end (default 10s)", NULL },
	{ "retain", OPT_DURATION, O(retain), "TIME",
	  "prune usage records older than TIME, e.g. 90d (default: keep "
	  "forever; totals are kept)",
	  NULL },
	{ "prices", OPT_LIST, O(prices), "FILE",
	  "add or override price table entries from FILE, repeatable "
	  "(over " OPTIONS_PRICE_TABLE ")",
	  NULL },
	{ "fail-open-time", OPT_DURATION, O(fail_open_time), "TIME",
	  "tunnel a host whose client rejected our CA (default 10m)", NULL },
	{ "standalone", OPT_FLAG, O(standalone), NULL,
	  "start and supervise the language server", NULL },
	{ "ls-binary", OPT_STRING, O(ls_binary), "PATH",
	  "language server binary for --standalone", NULL },
	{ "ls-arg", OPT_LIST, O(ls_args), "ARG",
	  "argument for the language server, repeatable", NULL },
	{ "ls-user", OPT_STRING, O(ls_user), "USER",
	  "intercepted user (default antigravity-ls)", NULL },
	{ "user", OPT_STRING, O(user), "USER",
	  "drop network threads to USER (default antigravity-proxy)", NULL },
	{ "control-socket", OPT_STRING, O(control_socket), "PATH",
	  "where run asks to be intercepted (default " RUNSTATEDIR
	  "/antigravity-proxy/control.sock; \"\" for none)",
	  NULL },
	{ "agents-cgroup", OPT_STRING, O(agents_cgroup), "NAME",
	  "the cgroup v2 group redirected for run (default " CGROUP_DEFAULT_AGENTS
	  ")",
	  NULL },
	{ "as-ls-user", OPT_FLAG, O(as_ls_user), NULL,
	  "run: as --ls-user (the UID-scoped redirect), not as yourself",
	  NULL },
	{ "since", OPT_STRING, O(export_since), "TIME",
	  "export, usage: records from TIME (RFC 3339, today, or a duration "
	  "back like 7d)",
	  NULL },
	{ "until", OPT_STRING, O(export_until), "TIME",
	  "export, usage: records before TIME", NULL },
	{ "format", OPT_CHOICE, O(export_format), "FORMAT",
	  "export: jsonl (default) or csv", "|jsonl|csv|" },
	{ "by", OPT_STRING, O(usage_by), "LIST",
	  "usage: rows by day (default), week, month, hour (UTC), model, "
	  "agent, key and/or host, comma-separated",
	  NULL },
	{ "json", OPT_FLAG, O(usage_json), NULL,
	  "usage: print the API's JSON document", NULL },
	{ "watch", OPT_OPTCOUNT, O(usage_watch), "[=SECONDS]",
	  "usage: redraw every SECONDS (default 5) until interrupted", "5" },
	{ "system-ca", OPT_STRING, O(system_ca), "FILE",
	  "system CA bundle for the combined bundle (default: found)", NULL },
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))
#define OPT_HELP 'h'
#define OPT_VERSION 'V'

static void
list_clear(struct options_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int
list_add(struct options_list *l, const char *s)
{
	char **v = realloc(l->v, (l->n + 1) * sizeof(*v));

	if (!v)
		return -1;
	l->v = v;
	if (!(l->v[l->n] = strdup(s)))
		return -1;
	l->n++;
	return 0;
}

static int
replace_string(char **slot, const char *s)
{
	char *copy = strdup(s);

	if (!copy)
		return -1;
	free(*slot);
	*slot = copy;
	return 0;
}

int
options_parse_duration(const char *s, long *ms)
{
	char *end;
	double v;
	long mult;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || v < 0 || !isdigit((unsigned char)*s))
		return -1;
	if (*end == '\0' || strcmp(end, "s") == 0)
		mult = 1000;
	else if (strcmp(end, "ms") == 0)
		mult = 1;
	else if (strcmp(end, "m") == 0)
		mult = 60 * 1000;
	else if (strcmp(end, "h") == 0)
		mult = 3600 * 1000;
	else if (strcmp(end, "d") == 0)
		mult = 86400L * 1000;
	else
		return -1;
	if (v * mult > (double)LONG_MAX / 2)
		return -1;
	*ms = (long)(v * mult + 0.5);
	return 0;
}

int
options_parse_size(const char *s, uint64_t *bytes)
{
	unsigned long long v;
	uint64_t mult = 1;
	char *end;

	errno = 0;
	if (!isdigit((unsigned char)*s))
		return -1;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	if (*end == 'K' || *end == 'k')
		mult = 1024ULL;
	else if (*end == 'M' || *end == 'm')
		mult = 1024ULL * 1024;
	else if (*end == 'G' || *end == 'g')
		mult = 1024ULL * 1024 * 1024;
	else if (*end != '\0')
		return -1;
	if (*end && end[1] != '\0')
		return -1;
	if (v > UINT64_MAX / mult)
		return -1;
	*bytes = v * mult;
	return 0;
}

static int
check_hostport(const char *s)
{
	char host[NET_HOST_MAX];
	unsigned port;

	return net_split_hostport(s, 0, host, sizeof(host), &port);
}

/* Applies one option's value; on error writes a one-line message. */
static int
opt_apply(struct options *cfg, const struct opt *o, const char *val,
	  bool cmdline, char *err, size_t errlen)
{
	char *base = (char *)cfg;
	struct resolve_server dns;
	struct options_list *l;
	char *end;
	long n;

	switch (o->kind) {
	case OPT_FLAG:
		if (!val || strcmp(val, "yes") == 0 ||
		    strcmp(val, "true") == 0 || strcmp(val, "1") == 0)
			*(bool *)(base + o->offset) = true;
		else if (strcmp(val, "no") == 0 || strcmp(val, "false") == 0 ||
			 strcmp(val, "0") == 0)
			*(bool *)(base + o->offset) = false;
		else
			goto bad;
		return 0;
	case OPT_CHOICE: {
		char want[64];

		if (snprintf(want, sizeof(want), "|%s|", val) >=
			    (int)sizeof(want) ||
		    !strstr(o->choices, want))
			goto bad;
	}
		/* fall through */
	case OPT_STRING:
		if (*val == '\0')
			goto bad;
		return replace_string((char **)(base + o->offset), val);
	case OPT_LIST:
		l = (struct options_list *)(base + o->offset);
		if (cmdline && !l->from_cmdline) {
			list_clear(l);
			l->from_cmdline = true;
		}
		if (*val == '\0' || (o->offset == O(model_labels) &&
				     (!strchr(val, '=') || *val == '=')))
			goto bad;
		if (strcmp(o->name, "mitm-listen") == 0 &&
		    check_hostport(val) < 0 && strchr(val, ':'))
			goto bad;
		/* The resolver's own parser: what it takes, we take. */
		if (strcmp(o->name, "dns-server") == 0 &&
		    resolve_server_parse(val, &dns) < 0)
			goto bad;
		return list_add(l, val);
	case OPT_OPTCOUNT:
		if (!val)
			val = o->choices;
		/* fall through */
	case OPT_COUNT:
		errno = 0;
		n = strtol(val, &end, 10);
		if (errno || end == val || *end || n <= 0 || n > 1000000)
			goto bad;
		*(long *)(base + o->offset) = n;
		return 0;
	case OPT_SIZE:
		if (options_parse_size(val, (uint64_t *)(base + o->offset)) < 0)
			goto bad;
		return 0;
	case OPT_DURATION:
		if (options_parse_duration(val, (long *)(base + o->offset)) <
			    0 ||
		    *(long *)(base + o->offset) == 0)
			goto bad;
		return 0;
	case OPT_LEVEL:
		if (log_level_parse(val, (int *)(base + o->offset)) < 0)
			goto bad;
		return 0;
	}
bad:
	snprintf(err, errlen, "--%s: invalid value '%s'", o->name,
		 val ? val : "");
	return -1;
}

static const struct opt *
opt_find(const char *name)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (strcmp(opts[i].name, name) == 0)
			return &opts[i];
	return NULL;
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Reads `key = value` lines; '#' starts a comment line. */
static int
options_read_file(struct options *cfg, const char *path, bool must_exist,
		  char *err, size_t errlen)
{
	char line[4096], why[256];
	const struct opt *o;
	unsigned lineno = 0;
	FILE *f;
	int rc = 0;

	if (!(f = fopen(path, "r"))) {
		if (errno == ENOENT && !must_exist)
			return 0;
		snprintf(err, errlen, "%s: %s", path,
			 strerror_r(errno, why, sizeof(why)));
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		char *key, *val, *eq;

		lineno++;
		key = trim(line);
		if (*key == '\0' || *key == '#')
			continue;
		if (!(eq = strchr(key, '='))) {
			snprintf(err, errlen, "%s:%u: expected 'key = value'",
				 path, lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		key = trim(key);
		val = trim(eq + 1);
		if (!(o = opt_find(key)) || strcmp(key, "config") == 0) {
			snprintf(err, errlen, "%s:%u: unknown setting '%s'",
				 path, lineno, key);
			rc = -1;
		} else if (opt_apply(cfg, o, val, false, why, sizeof(why)) <
			   0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
			rc = -1;
		}
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		rc = -1;
	}
	fclose(f);
	return rc;
}

static void
options_usage(FILE *out)
{
	fprintf(out,
		"Usage: antigravity-proxy [OPTION]...\n"
		"       antigravity-proxy ca-cert [OPTION]...\n"
		"       antigravity-proxy run [OPTION]... -- COMMAND [ARG]...\n"
		"       antigravity-proxy export [OPTION]...\n"
		"       antigravity-proxy usage [OPTION]...\n"
		"       antigravity-proxy prices import FILE [OUTFILE]\n"
		"Meters the token usage of AI coding agents by intercepting "
		"their HTTPS traffic.\n\n");
	for (size_t i = 0; i < NOPTS; i++) {
		char left[64];

		snprintf(left, sizeof(left), "--%s%s%s", opts[i].name,
			 opts[i].arg && opts[i].kind != OPT_OPTCOUNT ? " " : "",
			 opts[i].arg ? opts[i].arg : "");
		fprintf(out, "  %-30s %s\n", left, opts[i].help);
	}
	fprintf(out, "  %-30s %s\n  %-30s %s\n", "--help", "show this help",
		"--version", "show the version");
	fprintf(out, "\nEvery option may also be set in the config file as "
		     "'name = value'.\n");
}

static void
options_defaults(struct options *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->log_level = LOG_INFO;
	cfg->max_connections = 1024;
	cfg->max_request_body = 64ULL * 1024 * 1024;
	cfg->handshake_timeout = 10 * 1000;
	cfg->idle_timeout = 120 * 1000;
	cfg->request_timeout = 30 * 1000;
	cfg->connect_timeout = 10 * 1000;
	cfg->upstream_idle_timeout = 300 * 1000;
	cfg->write_timeout = 30 * 1000;
	cfg->fail_open_time = 600 * 1000;
	cfg->shutdown_grace = 10 * 1000;
	cfg->websocket_idle_timeout = 3600 * 1000;
}

/* Fills what neither the file nor the command line set. */
static int
options_finish(struct options *cfg)
{
	static const char *const mitm[] = { "0.0.0.0:8742", "[::]:8742" };

	if ((!cfg->state_dir && replace_string(&cfg->state_dir, LOCALSTATEDIR
					       "/lib/antigravity-proxy") < 0) ||
	    (!cfg->api_listen &&
	     replace_string(&cfg->api_listen, "127.0.0.1:8741") < 0) ||
	    (!cfg->resolve && replace_string(&cfg->resolve, "dns") < 0) ||
	    (!cfg->ls_user &&
	     replace_string(&cfg->ls_user, "antigravity-ls") < 0) ||
	    (!cfg->user &&
	     replace_string(&cfg->user, "antigravity-proxy") < 0) ||
	    (!cfg->control_socket &&
	     replace_string(&cfg->control_socket, RUNSTATEDIR
			    "/antigravity-proxy/control.sock") < 0) ||
	    (!cfg->agents_cgroup &&
	     replace_string(&cfg->agents_cgroup, CGROUP_DEFAULT_AGENTS) < 0))
		return -1;
	if (cfg->mitm_listen.n == 0 &&
	    (list_add(&cfg->mitm_listen, mitm[0]) < 0 ||
	     list_add(&cfg->mitm_listen, mitm[1]) < 0))
		return -1;
	if (cfg->dns_servers.n == 0 &&
	    list_add(&cfg->dns_servers, "8.8.8.8") < 0)
		return -1;
	return 0;
}

static struct option *
long_options(void)
{
	struct option *lo = calloc(NOPTS + 3, sizeof(*lo));

	if (!lo)
		return NULL;
	for (size_t i = 0; i < NOPTS; i++) {
		lo[i].name = opts[i].name;
		lo[i].has_arg = opts[i].kind == OPT_FLAG ? no_argument
				: opts[i].kind == OPT_OPTCOUNT
					? optional_argument
					: required_argument;
		lo[i].val = 256 + (int)i;
	}
	lo[NOPTS] = (struct option){ "help", no_argument, NULL, OPT_HELP };
	lo[NOPTS + 1] =
		(struct option){ "version", no_argument, NULL, OPT_VERSION };
	return lo;
}

/* One getopt pass; with `apply` false it only finds --config, --help
 * and --version. Returns OPTIONS_OK, OPTIONS_EXIT or OPTIONS_ERROR. */
static int
options_getopt(struct options *cfg, int argc, char **argv,
	       const struct option *lo, bool apply, FILE *out, char *err,
	       size_t errlen)
{
	int c;

	optind = 0; /* full reset, GNU getopt */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+hV", lo, NULL)) != -1) {
		if (c == OPT_HELP) {
			options_usage(out);
			return OPTIONS_EXIT;
		} else if (c == OPT_VERSION) {
			fprintf(out, "%s\n", PACKAGE_STRING);
			return OPTIONS_EXIT;
		} else if (c == '?' || c == ':') {
			if (optopt >= 256)
				snprintf(err, errlen, "--%s needs a value",
					 opts[optopt - 256].name);
			else if (optopt)
				snprintf(err, errlen, "unknown option '-%c'",
					 optopt);
			else
				snprintf(err, errlen, "unknown option '%s'",
					 argv[optind - 1]);
			return OPTIONS_ERROR;
		}
		if (apply && opt_apply(cfg, &opts[c - 256], optarg, true, err,
				       errlen) < 0)
			return OPTIONS_ERROR;
		if (!apply && strcmp(opts[c - 256].name, "config") == 0 &&
		    replace_string(&cfg->config_file, optarg) < 0)
			return OPTIONS_ERROR;
	}
	return OPTIONS_OK;
}

/* The first positional argument names a command. */
static int
options_command(struct options *cfg, int argc, char **argv, char *err,
		size_t errlen)
{
	int i = optind;

	if (i >= argc)
		return OPTIONS_OK;
	if (strcmp(argv[i], "ca-cert") == 0) {
		/* Its options follow the word, as run's do. */
		cfg->command = OPTIONS_CMD_CA_CERT;
		return OPTIONS_OK;
	}
	if (strcmp(argv[i], "export") == 0) {
		cfg->command = OPTIONS_CMD_EXPORT;
		return OPTIONS_OK;
	}
	if (strcmp(argv[i], "usage") == 0) {
		cfg->command = OPTIONS_CMD_USAGE;
		return OPTIONS_OK;
	}
	if (strcmp(argv[i], "prices") == 0) {
		/* "prices import LITELLM.json [OUT.json]": nothing else */
		if (i + 2 >= argc || strcmp(argv[i + 1], "import") != 0 ||
		    i + 4 < argc) {
			snprintf(err, errlen,
				 "prices: expected 'prices import "
				 "FILE [OUTFILE]'");
			return OPTIONS_ERROR;
		}
		cfg->command = OPTIONS_CMD_PRICES_IMPORT;
		cfg->command_argv = argv + i + 2;
		return OPTIONS_OK;
	}
	if (strcmp(argv[i], "run") == 0) {
		/* getopt stopped at "run" ("+" in optstring); the options
		 * after it were parsed by the caller's second pass. */
		cfg->command = OPTIONS_CMD_RUN;
		return OPTIONS_OK;
	}
	snprintf(err, errlen, "unknown command '%s'", argv[i]);
	return OPTIONS_ERROR;
}

/* "ca-cert [OPTION]...", "export [OPTION]..." and "usage [OPTION]...":
 * the options after the word, nothing else. */
static int
options_word_args(struct options *cfg, int argc, char **argv,
		  const struct option *lo, FILE *out, char *err, size_t errlen)
{
	int start = optind, rc;

	/* argv[start] (the word) acts as argv[0] for the sub-parse. */
	rc = options_getopt(cfg, argc - start, argv + start, lo, true, out, err,
			    errlen);
	if (rc == OPTIONS_OK && start + optind < argc) {
		snprintf(err, errlen, "%s: unexpected '%s'", argv[start],
			 argv[start + optind]);
		rc = OPTIONS_ERROR;
	}
	return rc;
}

/* "run [OPTION]... -- CMD ARGS...": options after "run" are parsed too. */
static int
options_run_args(struct options *cfg, int argc, char **argv,
		 const struct option *lo, FILE *out, char *err, size_t errlen)
{
	int start = optind, rc, dash = -1;

	for (int i = start + 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			dash = i;
			break;
		}
	if (dash < 0 || dash + 1 >= argc) {
		snprintf(err, errlen, "run: expected '-- COMMAND [ARG]...'");
		return OPTIONS_ERROR;
	}
	/* argv[start] ("run") acts as argv[0] for the sub-parse. */
	rc = options_getopt(cfg, dash - start, argv + start, lo, true, out, err,
			    errlen);
	if (rc != OPTIONS_OK)
		return rc;
	if (optind != dash - start) {
		snprintf(err, errlen, "run: unexpected '%s'",
			 argv[start + optind]);
		return OPTIONS_ERROR;
	}
	cfg->command_argv = argv + dash + 1;
	return OPTIONS_OK;
}

/* A command's own options may name the file too (`usage --config F`),
 * and must before it is read: a pass over them, up to a "--", that
 * looks only for --config, --help and --version. */
static int
options_word_config(struct options *cfg, int argc, char **argv,
		    const struct option *lo, FILE *out, char *err,
		    size_t errlen)
{
	int start = optind, end = argc;

	for (int i = start + 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			end = i;
			break;
		}
	return options_getopt(cfg, end - start, argv + start, lo, false, out,
			      err, errlen);
}

int
options_parse(struct options *cfg, int argc, char **argv, void *outp, char *err,
	      size_t errlen)
{
	struct option *lo = long_options();
	FILE *out = outp ? outp : stdout;
	int rc;

	options_defaults(cfg);
	err[0] = '\0';
	if (!lo) {
		snprintf(err, errlen, "out of memory");
		return OPTIONS_ERROR;
	}
	rc = options_getopt(cfg, argc, argv, lo, false, out, err, errlen);
	if (rc == OPTIONS_OK && optind < argc)
		rc = options_word_config(cfg, argc, argv, lo, out, err, errlen);
	if (rc != OPTIONS_OK)
		goto out;
	if (options_read_file(cfg,
			      cfg->config_file ? cfg->config_file
					       : OPTIONS_DEFAULT_FILE,
			      cfg->config_file != NULL, err, errlen) < 0) {
		rc = OPTIONS_ERROR;
		goto out;
	}
	rc = options_getopt(cfg, argc, argv, lo, true, out, err, errlen);
	if (rc == OPTIONS_OK)
		rc = options_command(cfg, argc, argv, err, errlen);
	if (rc == OPTIONS_OK && cfg->command == OPTIONS_CMD_RUN)
		rc = options_run_args(cfg, argc, argv, lo, out, err, errlen);
	else if (rc == OPTIONS_OK && (cfg->command == OPTIONS_CMD_CA_CERT ||
				      cfg->command == OPTIONS_CMD_EXPORT ||
				      cfg->command == OPTIONS_CMD_USAGE))
		rc = options_word_args(cfg, argc, argv, lo, out, err, errlen);
	if (rc == OPTIONS_OK && cfg->standalone && !cfg->ls_binary) {
		snprintf(err, errlen, "--standalone needs --ls-binary");
		rc = OPTIONS_ERROR;
	}
	if (rc == OPTIONS_OK &&
	    check_hostport(cfg->api_listen ? cfg->api_listen
					   : "127.0.0.1:8741") < 0) {
		snprintf(err, errlen, "--api-listen: invalid value '%s'",
			 cfg->api_listen);
		rc = OPTIONS_ERROR;
	}
	if (rc == OPTIONS_OK && options_finish(cfg) < 0) {
		snprintf(err, errlen, "out of memory");
		rc = OPTIONS_ERROR;
	}
out:
	free(lo);
	return rc;
}

void
options_free(struct options *cfg)
{
	struct options_list *lists[] = {
		&cfg->mitm_listen,  &cfg->dns_servers, &cfg->intercept,
		&cfg->model_labels, &cfg->ls_args,     &cfg->prices,
	};
	char **strings[] = {
		&cfg->config_file,  &cfg->pidfile,	  &cfg->state_dir,
		&cfg->api_listen,   &cfg->resolve,	  &cfg->upstream_ca,
		&cfg->ls_binary,    &cfg->ls_user,	  &cfg->user,
		&cfg->system_ca,    &cfg->control_socket, &cfg->agents_cgroup,
		&cfg->export_since, &cfg->export_until,	  &cfg->export_format,
		&cfg->usage_by,
	};

	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		list_clear(lists[i]);
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		free(*strings[i]);
		*strings[i] = NULL;
	}
}
