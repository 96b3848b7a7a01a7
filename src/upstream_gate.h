/* SPDX-License-Identifier: GPL-2.0-or-later
 * upstream_gate.h - how many threads may do the CPU work of opening
 * upstream connections at once.
 *
 * A new upstream connection costs about a millisecond of CPU (the TLS
 * handshake's key exchange and signature check). When a thousand of
 * them start together, a thousand runnable threads share the CPUs, and
 * every thread that relays a stream waits its turn among them, as do the
 * threads behind any lock a preempted one holds. The gate has a slot per
 * CPU: a thread holds one while it computes, and gives it back whenever
 * it waits for the network, so set-ups queue here instead of in the
 * scheduler, and relaying threads, which never take a slot, find a CPU.
 *
 * Threading: every call is thread-safe.
 * Ownership: the caller frees the gate, after its last take.
 */
#ifndef AGP_UPSTREAM_GATE_H
#define AGP_UPSTREAM_GATE_H

#include <stdbool.h>

struct upstream_gate;

struct upstream_gate_stats {
	unsigned long waits; /* takes that found no slot free */
	unsigned long late;  /* takes that gave up at their deadline */
	unsigned held_max;   /* the most slots held at once */
};

/* slots 0: one a CPU online. NULL when out of memory. */
struct upstream_gate *upstream_gate_new(unsigned slots);
void upstream_gate_free(struct upstream_gate *g);

unsigned upstream_gate_slots(const struct upstream_gate *g);

/* Takes a slot, waiting for one until deadline_ms (clock_mono_ms()).
 * Returns false, holding none, if the deadline came first or the gate
 * was closed. */
bool upstream_gate_take(struct upstream_gate *g, long long deadline_ms);

/* Gives back a slot taken. */
void upstream_gate_give(struct upstream_gate *g);

/* From now on every take fails at once, and those waiting give up: the
 * daemon is stopping. */
void upstream_gate_close(struct upstream_gate *g);

void upstream_gate_stats(struct upstream_gate *g,
			 struct upstream_gate_stats *st);

#endif
