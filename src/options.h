/* SPDX-License-Identifier: GPL-2.0-or-later
 * options.h - the daemon's settings: command line, config file, defaults.
 *
 * Threading: main builds one struct options before any thread starts; it is
 *   read-only afterwards, so every thread reads it without a lock.
 * Ownership: options_free() frees every string and list in it.
 */
#ifndef AGP_OPTIONS_H
#define AGP_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OPTIONS_API_PORT 8741
#define OPTIONS_MITM_PORT 8742
#define OPTIONS_WATCH_DEFAULT 5 /* usage --watch: seconds */

/* A repeatable option's values, in the order given. */
struct options_list {
	char **v;
	size_t n;
	bool from_cmdline; /* the command line replaces the file's list */
};

enum options_command {
	OPTIONS_CMD_DAEMON,	   /* no command: run the proxy */
	OPTIONS_CMD_CA_CERT,	   /* print the MITM CA certificate */
	OPTIONS_CMD_RUN,	   /* run one command, intercepted */
	OPTIONS_CMD_EXPORT,	   /* write usage records to stdout */
	OPTIONS_CMD_PRICES_IMPORT, /* LiteLLM prices -> our format */
	OPTIONS_CMD_USAGE,	   /* a report from the daemon's API */
};

struct options {
	enum options_command command;
	char **command_argv; /* after "run --"; NULL-terminated */
	char *config_file;
	int log_level; /* LOG_ERR .. LOG_DEBUG */
	bool log_bodies;
	bool daemon;
	char *pidfile;
	char *state_dir;
	char *api_listen; /* "ADDR:PORT" or "[ADDR]:PORT" */
	struct options_list mitm_listen;
	struct options_list dns_servers;
	char *resolve; /* "dns", "original" or "system" */
	char *upstream_ca;
	struct options_list intercept;
	struct options_list model_labels; /* "ID=LABEL" */
	long max_connections;
	uint64_t max_request_body;
	/* Timeouts, in milliseconds. */
	long handshake_timeout;
	long idle_timeout;
	long request_timeout; /* a whole request head; a body's
					 * grace */
	long connect_timeout;
	long upstream_idle_timeout;
	long write_timeout;
	long fail_open_time;
	long shutdown_grace;	     /* SIGTERM: in-flight exchanges' time */
	long websocket_idle_timeout; /* ms; a relayed WebSocket silent
					 * both ways this long is closed */
	bool standalone;
	char *ls_binary;
	struct options_list ls_args;
	char *ls_user;
	char *user;		    /* the daemon's network threads */
	char *control_socket;	    /* "" for none */
	char *agents_cgroup;	    /* under the cgroup v2 mount */
	bool as_ls_user;	    /* run: as --ls-user, not oneself */
	char *system_ca;	    /* NULL: found at run time */
	long retain;		    /* ms; 0: keep records forever */
	char *export_since;	    /* export: NULL for all */
	char *export_until;	    /* export: NULL for no bound */
	char *export_format;	    /* export: "jsonl" (NULL) or "csv" */
	char *usage_by;		    /* usage: "day" (NULL) or a list */
	bool usage_json;	    /* usage: the API's document as is */
	long usage_watch;	    /* usage: seconds between redraws;
					 * 0: once */
	struct options_list prices; /* --prices files, over the shipped
					 * table */
};

/* The shipped price table. */
#ifndef PKGDATADIR
#define PKGDATADIR "/usr/local/share/antigravity-proxy"
#endif
#define OPTIONS_PRICE_TABLE PKGDATADIR "/prices.json"

/* Outcome of options_parse(). */
#define OPTIONS_OK 0	   /* run */
#define OPTIONS_EXIT 1	   /* --help or --version was printed: exit 0 */
#define OPTIONS_ERROR (-2) /* err holds one line: exit 2 */

/*
 * Fills *cfg from the defaults, the config file (--config, else the
 * default path if it exists) and argv, the command line winning. On
 * OPTIONS_ERROR, err holds a one-line message. The caller frees *cfg with
 * options_free() whatever the outcome. --help/--version output goes to out.
 */
int options_parse(struct options *cfg, int argc, char **argv, void *out,
		  char *err, size_t errlen);
void options_free(struct options *cfg);

/* Parses "10", "10s", "500ms", "2m", "1h", "7d" into milliseconds; 0 or
 * -1. */
int options_parse_duration(const char *s, long *ms);
/* Parses "1048576", "64K", "64M", "1G" into bytes; 0 or -1. */
int options_parse_size(const char *s, uint64_t *bytes);

#endif
