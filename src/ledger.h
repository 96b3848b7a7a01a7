/* SPDX-License-Identifier: GPL-2.0-or-later
 * ledger.h - usage.jsonl: every record, appended and made durable.
 *
 * Threading: ledger_append() is thread-safe (one mutex serialises the
 *   write and the fdatasync; it is the only lock held across I/O, and
 *   nothing else is taken under it).
 */
#ifndef AGP_LEDGER_H
#define AGP_LEDGER_H

#include "usage.h"

struct ledger;

/* Opens (creating, 0600) path for appending, after replaying every line
 * into t. A torn or malformed line is skipped with a warning; a torn last
 * line is cut off so the next record starts on a line of its own.
 * *replayed gets the number of records replayed. NULL on error (logged). */
struct ledger *ledger_open(const char *path, struct usage_table *t,
			   unsigned long *replayed);
void ledger_free(struct ledger *l);

/* Appends r as one line and waits until it is on disk; 0 or -1. */
int ledger_append(struct ledger *l, const struct usage_record *r);

/* Reopens the file (after a rotation, on SIGHUP); 0 or -1. */
int ledger_reopen(struct ledger *l);

#endif
