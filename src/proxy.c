/* SPDX-License-Identifier: GPL-2.0-or-later
 * proxy.c - the /metrics text for the shared counters.
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>

#include "ledger.h"
#include "proxy.h"
#include "usage.h"

size_t
proxy_metrics(void *arg, char *buf, size_t len)
{
	static const struct {
		const char *name, *type, *help;
		size_t offset;
	} m[] = {
#define MN(name, f, type, help) { "antigravity_proxy_" name, type, help, \
	offsetof(struct proxy_stats, f) }
#define M(f, type, help) MN(#f, f, type, help)
		M(connections, "counter", "Redirected connections accepted."),
		M(rejected, "counter", "Connections over --max-connections."),
		M(loops_refused, "counter", "Connections to the proxy itself."),
		/* antigravity_proxy_requests_total is usage.c's, per
		 * endpoint and status of the metered responses. */
		MN("forwarded_requests", requests, "counter",
		   "HTTP requests forwarded upstream, metered or not."),
		M(tunnelled, "counter", "Connections relayed raw."),
		M(intercepted, "counter", "Connections decrypted."),
		M(handshake_failures, "counter", "Failed client handshakes."),
		M(fail_open, "counter", "Clients that rejected our CA."),
		M(fail_open_closed, "counter",
		  "Clients that closed after our certificate, failed open."),
		M(fail_open_no_request, "counter",
		  "Clients that closed before a request again, failed open."),
		M(upstream_errors, "counter", "Upstream failures."),
		M(websockets, "counter", "WebSocket sessions relayed."),
		M(websocket_errors, "counter",
		  "WebSocket relays ended by a failure or the idle limit."),
#undef M
#undef MN
	};
	struct proxy *px = arg;
	unsigned long lerrors, lsyncs;
	size_t off = 0;
	int n;

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]) && off < len; i++) {
		const atomic_ulong *v = (const atomic_ulong *)
			((const char *)&px->stats + m[i].offset);

		n = snprintf(buf + off, len - off, "# HELP %s_total %s\n"
			     "# TYPE %s_total %s\n%s_total %lu\n", m[i].name,
			     m[i].help, m[i].name, m[i].type, m[i].name,
			     atomic_load(v));
		if (n > 0)
			off += (size_t)n;
	}
	ledger_stats(px->ledger, &lerrors, &lsyncs);
	if (off < len) {
		n = snprintf(buf + off, len - off,
			     "# HELP antigravity_proxy_in_flight Connections "
			     "being served.\n# TYPE antigravity_proxy_in_flight "
			     "gauge\nantigravity_proxy_in_flight %ld\n"
			     "# HELP antigravity_proxy_ledger_errors_total "
			     "Records not made durable.\n"
			     "# TYPE antigravity_proxy_ledger_errors_total "
			     "counter\nantigravity_proxy_ledger_errors_total "
			     "%lu\n"
			     "# HELP antigravity_proxy_ledger_syncs_total "
			     "Batches of records written and synced.\n"
			     "# TYPE antigravity_proxy_ledger_syncs_total "
			     "counter\nantigravity_proxy_ledger_syncs_total "
			     "%lu\n", atomic_load(&px->stats.in_flight),
			     lerrors, lsyncs);
		if (n > 0)
			off += (size_t)n;
	}
	if (off < len)
		off += usage_table_metrics(px->usage, buf + off, len - off);
	return off < len ? off : len - 1;
}
