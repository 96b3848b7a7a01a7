/* SPDX-License-Identifier: GPL-2.0-or-later
 * proxy.c - the /metrics text for the shared counters.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "ledger.h"
#include "metrics.h"
#include "proxy.h"
#include "upstream.h"
#include "usage.h"

/* The store's counters (ledger.h). */
static void
ledger_metrics(struct ledger *l, struct metrics *m)
{
	struct ledger_stats ls;

	ledger_stats(l, &ls);
	metrics_value(m, "antigravity_proxy_ledger_errors_total", "counter",
		      "Commits of usage.db that failed (their records stay "
		      "queued).",
		      (int64_t)ls.failures);
	metrics_value(m, "antigravity_proxy_ledger_syncs_total", "counter",
		      "Transactions committed to usage.db.",
		      (int64_t)ls.commits);
	metrics_value(m, "antigravity_proxy_ledger_queued", "gauge",
		      "Records waiting for a commit.", (int64_t)ls.queued);
	metrics_value(m, "antigravity_proxy_ledger_lost_total", "counter",
		      "Records lost: the queue was full, or they could not "
		      "commit at exit.",
		      (int64_t)ls.lost);
	metrics_value(m, "antigravity_proxy_ledger_degraded", "gauge",
		      "1 while commits to usage.db fail.", ls.degraded ? 1 : 0);
	metrics_value(m, "antigravity_proxy_ledger_pruned_total", "counter",
		      "Records removed by --retain.", (int64_t)ls.pruned);
	metrics_value(m, "antigravity_proxy_ledger_hurried_total", "counter",
		      "Batches committed at the normal CPU class because "
		      "their records waited (the writer idles otherwise).",
		      (int64_t)ls.hurried);
}

void
proxy_metrics(struct proxy *px, struct metrics *m)
{
	static const struct {
		const char *name, *type, *help;
		size_t offset;
	} c[] = {
#define MN(name, f, type, help)                           \
	{ "antigravity_proxy_" name "_total", type, help, \
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
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		const atomic_ulong *v =
			(const atomic_ulong *)((const char *)&px->stats +
					       c[i].offset);

		metrics_value(m, c[i].name, c[i].type, c[i].help,
			      (int64_t)atomic_load(v));
	}
	metrics_value(m, "antigravity_proxy_in_flight", "gauge",
		      "Connections being served.",
		      atomic_load(&px->stats.in_flight));
	ledger_metrics(px->ledger, m);
	usage_table_metrics(px->usage, m);
	if (px->upstream)
		upstream_metrics(px->upstream, m);
}
