/* SPDX-License-Identifier: GPL-2.0-or-later
 * jledger.h - (bench baseline) usage.jsonl: every record, appended and made durable, then
 * counted.
 *
 * Threading: jledger_append() is thread-safe and never waits for the disk:
 *   a writer thread of the ledger's own writes what is queued, makes it
 *   durable with one fdatasync per batch (group commit: a batch is what
 *   came in a few milliseconds), and only then adds the records to the
 *   usage table.
 */
#ifndef AGP_JLEDGER_H
#define AGP_JLEDGER_H

#include "usage.h"

struct jledger;

/* Opens (creating, 0600) path for appending, after replaying every line
 * into t. A torn or malformed line is skipped with a warning; a torn
 * last line is cut off so the next record starts on a line of its own.
 * *replayed gets the number of records replayed. NULL on error (logged).
 * Starts no thread: the daemon forks its supervisor after this. */
struct jledger *jledger_open(const char *path, struct usage_table *t,
			   unsigned long *replayed);

/* Starts the writer thread, which writes, syncs and then counts in t
 * what jledger_append() queues (records queued before wait for it). */
int jledger_start(struct jledger *l);

/* Writes and counts everything queued, stops the writer, frees l. */
void jledger_free(struct jledger *l);

/* Queues a copy of r: it is written, made durable and then counted in
 * the table by the writer thread. 0, or -1 when out of memory. */
int jledger_append(struct jledger *l, const struct usage_record *r);

/* Reopens the file (after a rotation, on SIGHUP); 0 or -1. */
int jledger_reopen(struct jledger *l);

/* Records that could not be made durable (they were counted anyway),
 * and batches written and synced (or tried): one per gathering window at
 * most, however many records it held. */
void jledger_stats(struct jledger *l, unsigned long *errors,
                  unsigned long *syncs);

#endif
