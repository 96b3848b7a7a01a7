/* SPDX-License-Identifier: GPL-2.0-or-later
 * test_options.c - command line and config file parsing, every error path.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "options.h"
#include "tap.h"

static char conf_path[] = "/tmp/agp-test-options-XXXXXX";

/* Parses a NULL-terminated argument list; err gets the message. */
static int
parse(struct options *o, char *err, const char *first, ...)
{
	char *argv[64] = { "antigravity-proxy" };
	int argc = 1, rc;
	FILE *out = fopen("/dev/null", "w");
	va_list ap;
	const char *a;

	va_start(ap, first);
	for (a = first; a && argc < 63; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	rc = options_parse(o, argc, argv, out, err, 256);
	fclose(out);
	return rc;
}

static void
write_conf(const char *text)
{
	FILE *f = fopen(conf_path, "w");

	fputs(text, f);
	fclose(f);
}

static void
test_defaults(void)
{
	struct options o;
	char err[256];

	is_int(parse(&o, err, "--config", "/dev/null", NULL), OPTIONS_OK,
	       "no options parses");
	is_str(o.api_listen, "127.0.0.1:8741", "default API address");
	is_int(o.mitm_listen.n, 2, "two default MITM listeners");
	is_str(o.mitm_listen.v[1], "[::]:8742", "IPv6 MITM listener");
	is_str(o.dns_servers.v[0], "8.8.8.8", "default DNS server");
	is_str(o.resolve, "dns", "default resolve mode");
	is_int(o.max_connections, 1024, "default max connections");
	is_int(o.max_request_body, 64 << 20, "default max request body");
	is_int(o.handshake_timeout, 10000, "handshake timeout 10 s");
	is_int(o.idle_timeout, 120000, "idle timeout 120 s");
	is_int(o.connect_timeout, 10000, "connect timeout 10 s");
	is_int(o.upstream_idle_timeout, 300000, "upstream idle 300 s");
	is_int(o.write_timeout, 30000, "write timeout 30 s");
	is_str(o.ls_user, "antigravity-ls", "default LS user");
	is_int(o.log_level, LOG_INFO, "default log level");
	options_free(&o);
}

static void
test_values(void)
{
	struct options o;
	char err[256];

	is_int(parse(&o, err, "--config", "/dev/null", "--api-listen",
		     "[::1]:9000", "--intercept", "a.test", "--intercept",
		     "*.b.test", "--max-request-body", "1M",
		     "--handshake-timeout", "500ms", "--idle-timeout", "2m",
		     "--log-level", "debug", "--resolve", "original",
		     "--daemon", "--dns-server", "127.0.0.1:5353", NULL),
	       OPTIONS_OK, "every kind of value parses");
	is_str(o.api_listen, "[::1]:9000", "IPv6 API address");
	is_int(o.intercept.n, 2, "repeatable --intercept");
	is_int(o.max_request_body, 1 << 20, "size suffix M");
	is_int(o.handshake_timeout, 500, "duration in ms");
	is_int(o.idle_timeout, 120000, "duration in minutes");
	is_int(o.log_level, LOG_DEBUG, "log level debug");
	ok(o.daemon, "--daemon flag");
	is_str(o.resolve, "original", "resolve mode");
	options_free(&o);
}

static void
test_errors(void)
{
	static const char *const bad[][3] = {
		{ "--no-such-option", NULL, "unknown option" },
		{ "--log-level", "loud", "invalid value 'loud'" },
		{ "--max-connections", "abc", "invalid value 'abc'" },
		{ "--max-connections", "0", "invalid value '0'" },
		{ "--max-request-body", "12Q", "invalid value '12Q'" },
		{ "--handshake-timeout", "soon", "invalid value 'soon'" },
		{ "--idle-timeout", "0", "invalid value '0'" },
		{ "--resolve", "magic", "invalid value 'magic'" },
		{ "--api-listen", "nowhere:99999", "invalid value" },
		{ "--mitm-listen", "1.2.3.4:0", "invalid value" },
		{ "--dns-server", "[::1]53", "invalid value" },
		{ "--dns-server", "[::1", "invalid value" },
		{ "--dns-server", "1.2.3.4:0", "invalid value" },
		{ "--dns-server", "dns.example", "invalid value" },
		{ "ca-cert", "extra", "ca-cert: unexpected 'extra'" },
		{ "--model-label", "noequals", "invalid value" },
		{ "--standalone", NULL, "--standalone needs --ls-binary" },
		{ "frobnicate", NULL, "unknown command 'frobnicate'" },
	};
	struct options o;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse(&o, err, "--config", "/dev/null", bad[i][0],
			       bad[i][1], NULL);

		is_int(rc, OPTIONS_ERROR, "%s %s is an error", bad[i][0],
		       bad[i][1] ? bad[i][1] : "");
		ok(strstr(err, bad[i][2]) != NULL && !strchr(err, '\n'),
		   "one line naming the problem: %s", err);
		options_free(&o);
	}
	is_int(parse(&o, err, "--config", "/dev/null", "--intercept", NULL),
	       OPTIONS_ERROR, "missing value is an error");
	ok(strstr(err, "--intercept needs a value") != NULL, "%s", err);
	options_free(&o);
	is_int(parse(&o, err, "--config", "/nonexistent/agp.conf", NULL),
	       OPTIONS_ERROR, "unreadable config file is an error");
	ok(strstr(err, "/nonexistent/agp.conf") && strstr(err, "No such file"),
	   "%s", err);
	options_free(&o);
	is_int(parse(&o, err, "run", "--", NULL), OPTIONS_ERROR,
	       "run without a command is an error");
	options_free(&o);
	is_int(parse(&o, err, "--help", NULL), OPTIONS_EXIT, "--help exits 0");
	options_free(&o);
	is_int(parse(&o, err, "--version", NULL), OPTIONS_EXIT,
	       "--version exits 0");
	options_free(&o);
}

static void
test_config_file(void)
{
	struct options o;
	char err[256];
	int fd = mkstemp(conf_path);

	close(fd);
	write_conf("# comment\n\n  log-level = warn\nintercept = a.test\n"
		   "intercept = b.test\nmax-connections = 7\ndaemon = yes\n"
		   "model-label = MODEL_X=Model X\n");
	is_int(parse(&o, err, "--config", conf_path, NULL), OPTIONS_OK,
	       "config file parses");
	is_int(o.log_level, LOG_WARNING, "file sets log level");
	is_int(o.intercept.n, 2, "file lists accumulate");
	is_int(o.max_connections, 7, "file sets a count");
	ok(o.daemon, "file sets a flag");
	is_str(o.model_labels.v[0], "MODEL_X=Model X", "label with spaces");
	options_free(&o);

	is_int(parse(&o, err, "--max-connections", "9", "--config", conf_path,
		     "--intercept", "c.test", NULL),
	       OPTIONS_OK, "file and command line together");
	is_int(o.max_connections, 9, "command line wins over the file");
	ok(o.intercept.n == 1 && strcmp(o.intercept.v[0], "c.test") == 0,
	   "a command-line list replaces the file's");
	options_free(&o);

	write_conf("log-level = warn\nbogus = 1\n");
	is_int(parse(&o, err, "--config", conf_path, NULL), OPTIONS_ERROR,
	       "unknown key in the file");
	ok(strstr(err, ":2: unknown setting 'bogus'") != NULL, "%s", err);
	options_free(&o);
	write_conf("just words\n");
	is_int(parse(&o, err, "--config", conf_path, NULL), OPTIONS_ERROR,
	       "line without '='");
	ok(strstr(err, ":1: expected 'key = value'") != NULL, "%s", err);
	options_free(&o);
	write_conf("max-connections = many\n");
	is_int(parse(&o, err, "--config", conf_path, NULL), OPTIONS_ERROR,
	       "bad value in the file");
	ok(strstr(err, ":1: --max-connections: invalid value 'many'"), "%s",
	   err);
	options_free(&o);
	/* After a command's word, --config is read all the same. */
	write_conf("api-listen = 127.0.0.1:18999\nby = week\n");
	is_int(parse(&o, err, "usage", "--config", conf_path, "--json", NULL),
	       OPTIONS_OK, "usage --config FILE --json");
	ok(o.command == OPTIONS_CMD_USAGE && o.usage_json &&
		   strcmp(o.api_listen, "127.0.0.1:18999") == 0 &&
		   strcmp(o.usage_by, "week") == 0,
	   "the file after the word is read");
	options_free(&o);
	is_int(parse(&o, err, "usage", "--config", conf_path, "--by", "model",
		     NULL),
	       OPTIONS_OK, "usage --config FILE --by model");
	is_str(o.usage_by, "model", "the command line wins there too");
	options_free(&o);
	is_int(parse(&o, err, "run", "--config", "/nonexistent", "--", "true",
		     NULL),
	       OPTIONS_ERROR, "run --config MISSING: refused");
	options_free(&o);
	is_int(parse(&o, err, "--config", "/dev/null", "run", "--", "x",
		     "--config", "/nonexistent", NULL),
	       OPTIONS_OK, "the command's own --config after -- is its own");
	options_free(&o);
	unlink(conf_path);
}

/* The resolver's parser decides: a bare IPv6 address is one. */
static void
test_dns_servers(void)
{
	static const char *const good[] = {
		"::1",		 "2001:db8::53", "[::1]:5353",
		"[2001:db8::1]", "127.0.0.53",	 "127.0.0.1:5353",
	};
	struct options o;
	char err[256];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		is_int(parse(&o, err, "--config", "/dev/null", "--dns-server",
			     good[i], NULL),
		       OPTIONS_OK, "--dns-server %s is accepted", good[i]);
		ok(o.dns_servers.n == 1 &&
			   strcmp(o.dns_servers.v[0], good[i]) == 0,
		   "--dns-server %s is kept as given", good[i]);
		options_free(&o);
	}
}

static void
test_commands(void)
{
	struct options o;
	char err[256];

	is_int(parse(&o, err, "--config", "/dev/null", "ca-cert", NULL),
	       OPTIONS_OK, "ca-cert command");
	is_int(o.command, OPTIONS_CMD_CA_CERT, "ca-cert recognised");
	options_free(&o);
	/* As the man page writes it: ca-cert [OPTION]... */
	is_int(parse(&o, err, "--config", "/dev/null", "ca-cert", "--state-dir",
		     "/tmp/agp-ca", NULL),
	       OPTIONS_OK, "ca-cert --state-dir DIR parses");
	ok(o.command == OPTIONS_CMD_CA_CERT &&
		   strcmp(o.state_dir, "/tmp/agp-ca") == 0,
	   "ca-cert: the option after the word applies");
	options_free(&o);
	is_int(parse(&o, err, "--config", "/dev/null", "ca-cert", "--bogus",
		     NULL),
	       OPTIONS_ERROR,
	       "ca-cert: an unknown option after it is an error");
	options_free(&o);
	is_int(parse(&o, err, "--config", "/dev/null", "run", "--user", "u1",
		     "--", "curl", "-s", NULL),
	       OPTIONS_OK, "run command");
	ok(o.command == OPTIONS_CMD_RUN && strcmp(o.user, "u1") == 0 &&
		   strcmp(o.command_argv[0], "curl") == 0 &&
		   strcmp(o.command_argv[1], "-s") == 0 && !o.command_argv[2],
	   "run: options before --, command after");
	options_free(&o);
	is_int(parse(&o, err, "--config", "/dev/null", "export", "--since",
		     "7d", "--format", "csv", "--state-dir", "/x", NULL),
	       OPTIONS_OK, "export command");
	ok(o.command == OPTIONS_CMD_EXPORT &&
		   strcmp(o.export_since, "7d") == 0 &&
		   strcmp(o.export_format, "csv") == 0 &&
		   strcmp(o.state_dir, "/x") == 0,
	   "export: its options after it");
	options_free(&o);
	is_int(parse(&o, err, "--config", "/dev/null", "export", "--format",
		     "xml", NULL),
	       OPTIONS_ERROR, "export --format xml refused");
	options_free(&o);
	is_int(parse(&o, err, "--config", "/dev/null", "export", "extra", NULL),
	       OPTIONS_ERROR, "export: a stray argument refused");
	options_free(&o);
	is_int(parse(&o, err, "--config", "/dev/null", "usage", NULL),
	       OPTIONS_OK, "usage");
	ok(o.command == OPTIONS_CMD_USAGE && !o.usage_by && !o.usage_json &&
		   o.usage_watch == 0,
	   "usage: by day, once, a table");
	options_free(&o);
	is_int(parse(&o, err, "--config", "/dev/null", "usage", "--watch",
		     NULL),
	       OPTIONS_OK, "usage --watch");
	is_int(o.usage_watch, OPTIONS_WATCH_DEFAULT, "--watch alone: 5 s");
	options_free(&o);
	is_int(parse(&o, err, "--config", "/dev/null", "usage", "--watch=2",
		     "--by", "day,model", NULL),
	       OPTIONS_OK, "usage --watch=2");
	ok(o.usage_watch == 2 && strcmp(o.usage_by, "day,model") == 0,
	   "--watch=2 --by day,model");
	options_free(&o);
	is_int(parse(&o, err, "--config", "/dev/null", "usage", "--watch", "2",
		     NULL),
	       OPTIONS_ERROR,
	       "--watch 2: the seconds go after '=' (GNU optional argument)");
	options_free(&o);
	is_int(parse(&o, err, "--config", "/dev/null", "--retain", "90d", NULL),
	       OPTIONS_OK, "--retain 90d");
	is_int(o.retain, 90L * 86400 * 1000, "--retain in days");
	options_free(&o);
	is_int(parse(&o, err, "--config", "/dev/null", NULL), OPTIONS_OK,
	       "no --retain");
	is_int(o.retain, 0, "default: keep forever");
	options_free(&o);
}

static void
test_helpers(void)
{
	long ms;

	ok(options_parse_duration("1.5s", &ms) == 0 && ms == 1500,
	   "fractional seconds");
	ok(options_parse_duration("-1", &ms) < 0, "negative duration");
}

int
main(void)
{
	test_defaults();
	test_values();
	test_errors();
	test_config_file();
	test_commands();
	test_dns_servers();
	test_helpers();
	return tap_done();
}
