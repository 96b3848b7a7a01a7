/* SPDX-License-Identifier: GPL-2.0-or-later
 * fuzz_clienthello.c - libFuzzer target for clienthello_parse().
 *
 * Besides not crashing, checks what the worker relies on: a DONE result
 * is a valid host name, NEED_MORE asks for more than it was given, and a
 * prefix never disagrees with the whole. Run (from the top, after
 * configure in build/):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -Ibuild \
 *     fuzz/fuzz_clienthello.c src/clienthello.c -o /tmp/fuzz-clienthello
 *   mkdir -p /tmp/ch-corpus && /tmp/fuzz-clienthello -max_total_time=60 \
 *     /tmp/ch-corpus fuzz/corpus/clienthello
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "clienthello.h"

static void
check_done(const struct clienthello *ch)
{
	size_t n = strlen(ch->sni);

	if (ch->has_sni != (n > 0) || n > 253)
		abort();
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789-._",
			    ch->sni[i]))
			abort();
	if (ch->nalpn < 0 || ch->nalpn > CLIENTHELLO_MAX_ALPN)
		abort();
	for (int i = 0; i < ch->nalpn; i++)
		if (strlen(ch->alpn[i]) == 0 || strlen(ch->alpn[i]) > 31)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct clienthello ch, pre;
	size_t need = 0, pneed = 0, half = size / 2;
	int rc, prc;

	rc = clienthello_parse(data, size, &ch, &need);
	if (rc == CLIENTHELLO_NEED_MORE &&
	    (need <= size || need > CLIENTHELLO_MAX))
		abort();
	if (rc == CLIENTHELLO_DONE)
		check_done(&ch);
	prc = clienthello_parse(data, half, &pre, &pneed);
	if (prc == CLIENTHELLO_DONE &&
	    (rc != CLIENTHELLO_DONE || memcmp(&ch, &pre, sizeof(ch)) != 0))
		abort();
	if (rc == CLIENTHELLO_DONE && prc != CLIENTHELLO_DONE &&
	    (prc != CLIENTHELLO_NEED_MORE || pneed > size))
		abort();
	return 0;
}
