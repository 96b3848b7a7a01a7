/* SPDX-License-Identifier: GPL-2.0-or-later
 * test_clienthello.c - ClientHello peek: captured hellos from real
 * clients (tests/fixtures/clienthello, see capture_clienthello.py) and
 * synthesized ones: large, fragmented over records, truncated, broken.
 */
#include "config.h"

#include <stdlib.h>

#include "clienthello.h"
#include "tap.h"

#define BUFSZ (64 * 1024)

/* A little builder for synthetic hellos. */
struct bld {
	uint8_t *p;
	size_t n;
};

static void
put8(struct bld *b, unsigned v)
{
	b->p[b->n++] = (uint8_t)v;
}

static void
put16(struct bld *b, unsigned v)
{
	put8(b, v >> 8);
	put8(b, v);
}

static void
putn(struct bld *b, const void *s, size_t n)
{
	memcpy(b->p + b->n, s, n);
	b->n += n;
}

/* Patches a 16-bit length at b->p[at] to cover everything after it. */
static void
fix16(struct bld *b, size_t at)
{
	size_t n = b->n - at - 2;

	b->p[at] = (uint8_t)(n >> 8);
	b->p[at + 1] = (uint8_t)n;
}

struct spec {
	const char *sni;  /* NULL: no server_name extension */
	size_t snilen;	  /* 0: strlen(sni) */
	const char *alpn; /* comma-separated; NULL: no ALPN */
	size_t pad;	  /* padding extension of this many bytes */
	int bogus;	  /* extra 100-byte private extensions */
	bool dup_sni;	  /* two server_name extensions */
};

static void
put_sni(struct bld *b, const struct spec *s)
{
	size_t len = s->snilen ? s->snilen : strlen(s->sni), at;

	put16(b, 0);
	at = b->n;
	put16(b, 0);
	put16(b, len + 3);
	put8(b, 0);
	put16(b, len);
	putn(b, s->sni, len);
	fix16(b, at);
}

static void
put_alpn(struct bld *b, const char *list)
{
	size_t at, at2;
	char *copy = strdup(list), *save = NULL;

	put16(b, 16);
	at = b->n;
	put16(b, 0);
	at2 = b->n;
	put16(b, 0);
	for (char *t = strtok_r(copy, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		put8(b, strlen(t));
		putn(b, t, strlen(t));
	}
	fix16(b, at2);
	fix16(b, at);
	free(copy);
}

/* Builds a ClientHello handshake message (header included) into m. */
static size_t
build_msg(uint8_t *m, const struct spec *s)
{
	struct bld b = { m, 0 };
	uint8_t zero[32] = { 0 };
	size_t ext;

	put8(&b, 1);
	put8(&b, 0);
	put16(&b, 0); /* length patched below */
	put16(&b, 0x0303);
	putn(&b, zero, 32);
	put8(&b, 32);
	putn(&b, zero, 32);
	put16(&b, 4);
	put16(&b, 0x1301);
	put16(&b, 0xc02b);
	put8(&b, 1);
	put8(&b, 0);
	ext = b.n;
	put16(&b, 0);
	put16(&b, 0x002b); /* supported_versions: TLS 1.3 */
	put16(&b, 3);
	put8(&b, 2);
	put16(&b, 0x0304);
	for (int i = 0; i < s->bogus; i++) {
		uint8_t junk[100];

		memset(junk, 0x5a, sizeof(junk));
		put16(&b, 0xfa00 + i);
		put16(&b, sizeof(junk));
		putn(&b, junk, sizeof(junk));
	}
	if (s->sni)
		put_sni(&b, s);
	if (s->sni && s->dup_sni)
		put_sni(&b, s);
	if (s->alpn)
		put_alpn(&b, s->alpn);
	if (s->pad) {
		put16(&b, 21);
		put16(&b, s->pad);
		memset(b.p + b.n, 0, s->pad);
		b.n += s->pad;
	}
	fix16(&b, ext);
	m[1] = (uint8_t)((b.n - 4) >> 16);
	m[2] = (uint8_t)((b.n - 4) >> 8);
	m[3] = (uint8_t)(b.n - 4);
	return b.n;
}

/* Wraps msg into records of the payload sizes in frags (0-terminated;
 * the rest goes into a last record, split at 16384). */
static size_t
wrap(const uint8_t *msg, size_t mlen, const size_t *frags, uint8_t *out)
{
	size_t off = 0, n = 0;

	while (off < mlen) {
		size_t f = frags && *frags ? *frags++ : mlen - off;

		if (f > mlen - off)
			f = mlen - off;
		if (f > 16384)
			f = 16384;
		out[n++] = 0x16;
		out[n++] = 0x03;
		out[n++] = 0x01;
		out[n++] = (uint8_t)(f >> 8);
		out[n++] = (uint8_t)f;
		memcpy(out + n, msg + off, f);
		n += f;
		off += f;
	}
	return n;
}

static uint8_t msgbuf[BUFSZ], recbuf[BUFSZ];

static size_t
build(const struct spec *s, const size_t *frags)
{
	size_t mlen = build_msg(msgbuf, s);

	return wrap(msgbuf, mlen, frags, recbuf);
}

static void
alpn_join(const struct clienthello *ch, char *out, size_t cap)
{
	out[0] = '\0';
	for (int i = 0; i < ch->nalpn; i++) {
		if (i)
			strncat(out, ",", cap - strlen(out) - 1);
		strncat(out, ch->alpn[i], cap - strlen(out) - 1);
	}
}

/* Every proper prefix must ask for more, with a need that is a true lower
 * bound; returns the number of prefixes that misbehaved. */
static int
check_prefixes(const uint8_t *buf, size_t len)
{
	struct clienthello ch;
	int bad = 0;

	for (size_t i = 0; i < len; i++) {
		size_t need = 0;
		int rc = clienthello_parse(buf, i, &ch, &need);

		if (rc != CLIENTHELLO_NEED_MORE || need <= i || need > len) {
			if (bad++ < 3)
				diag("prefix %zu: rc %d need %zu", i, rc, need);
		}
	}
	return bad;
}

/* Peeks the way a worker does: grows the buffer to *need each time. */
static int
peek_loop(const uint8_t *buf, size_t len, struct clienthello *ch, int *rounds)
{
	size_t have = 1, need = 0;
	int rc;

	*rounds = 0;
	while ((rc = clienthello_parse(buf, have, ch, &need)) ==
		       CLIENTHELLO_NEED_MORE &&
	       ++*rounds < 1000)
		have = need < len ? need : len;
	return rc;
}

static const struct {
	const char *file, *sni, *alpn;
	bool h1, h2;
} fixtures[] = {
	{ "curl.bin", "curl.example.test", "h2,http/1.1", true, true },
	{ "curl-http1.1.bin", "curl-h1.example.test", "http/1.1", true, false },
	{ "gnutls-cli.bin", "gnutls.example.test", "h2,http/1.1", true, true },
	{ "python.bin", "python.example.test", "http/1.1", true, false },
	{ "python-h2only.bin", "h2only.example.test", "h2", false, true },
	{ "go.bin", "go.example.test", "h2,http/1.1", true, true },
};

static size_t
read_fixture(const char *name, uint8_t *buf, size_t cap)
{
	const char *dir = getenv("top_srcdir");
	char path[4096];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/tests/fixtures/clienthello/%s",
		 dir ? dir : "..", name);
	if (!(f = fopen(path, "rb")))
		return 0;
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

static void
test_fixtures(void)
{
	static uint8_t buf[BUFSZ];
	struct clienthello ch;
	char alpn[512];

	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		size_t len = read_fixture(fixtures[i].file, buf, sizeof(buf));
		int rounds;

		if (!ok(len > 0, "%s: read", fixtures[i].file))
			continue;
		is_int(clienthello_parse(buf, len, &ch, NULL), CLIENTHELLO_DONE,
		       "%s: DONE", fixtures[i].file);
		ok(ch.has_sni, "%s: has SNI", fixtures[i].file);
		is_str(ch.sni, fixtures[i].sni, "%s: SNI", fixtures[i].file);
		alpn_join(&ch, alpn, sizeof(alpn));
		is_str(alpn, fixtures[i].alpn, "%s: ALPN", fixtures[i].file);
		ok(ch.alpn_h1 == fixtures[i].h1 && ch.alpn_h2 == fixtures[i].h2,
		   "%s: h1/h2 flags", fixtures[i].file);
		is_int(ch.legacy_version, 0x0303, "%s: legacy_version",
		       fixtures[i].file);
		is_int(check_prefixes(buf, len), 0,
		       "%s: every prefix wants "
		       "more",
		       fixtures[i].file);
		is_int(peek_loop(buf, len, &ch, &rounds), CLIENTHELLO_DONE,
		       "%s: growing peeks reach DONE", fixtures[i].file);
		ok(rounds <= 3, "%s: in %d rounds", fixtures[i].file, rounds);
	}
}

static void
test_large(void)
{
	struct spec s = { .sni = "Big.Example.TEST",
			  .alpn = "h2,http/1.1",
			  .pad = 2100 };
	size_t three[] = { 700, 700, 0 }, len, mlen, need;
	struct clienthello ch;
	int rounds;

	len = build(&s, NULL);
	ok(len > 2048, "2 KiB hello built (%zu bytes)", len);
	is_int(clienthello_parse(recbuf, len, &ch, NULL), CLIENTHELLO_DONE,
	       "2 KiB hello, one record: DONE");
	is_str(ch.sni, "big.example.test", "SNI lowercased");
	is_int(check_prefixes(recbuf, len), 0,
	       "2 KiB: every prefix wants "
	       "more");

	len = build(&s, three);
	is_int(clienthello_parse(recbuf, len, &ch, NULL), CLIENTHELLO_DONE,
	       "2 KiB hello in three records: DONE");
	is_str(ch.sni, "big.example.test", "... SNI");
	is_int(check_prefixes(recbuf, len), 0, "... every prefix wants more");

	s.pad = 0;
	s.bogus = 100; /* SNI and ALPN come after 10 KiB of junk */
	mlen = build_msg(msgbuf, &s);
	three[0] = three[1] = mlen / 3;
	len = wrap(msgbuf, mlen, three, recbuf);
	ok(mlen > 10240 && len == mlen + 15, "10 KiB hello in three records");
	is_int(clienthello_parse(recbuf, len, &ch, &need), CLIENTHELLO_DONE,
	       "10 KiB hello: DONE");
	is_str(ch.sni, "big.example.test", "... SNI");
	ok(ch.nalpn == 2 && ch.alpn_h1 && ch.alpn_h2, "... ALPN");
	is_int(check_prefixes(recbuf, len), 0, "... every prefix wants more");
	is_int(peek_loop(recbuf, len, &ch, &rounds), CLIENTHELLO_DONE,
	       "... growing peeks reach DONE");
	ok(rounds <= 4, "... in %d rounds", rounds);

	/* The handshake header itself split over records. */
	three[0] = 1;
	three[1] = 2;
	len = wrap(msgbuf, mlen, three, recbuf);
	is_int(clienthello_parse(recbuf, len, &ch, NULL), CLIENTHELLO_DONE,
	       "header split 1+2+rest: DONE");
	is_int(check_prefixes(recbuf, len), 0, "... every prefix wants more");

	/* Up to the limit, and one byte past it. */
	s.bogus = 0;
	s.pad = CLIENTHELLO_MAX_MSG - build_msg(msgbuf, &s) - 4;
	len = build(&s, NULL);
	is_int(clienthello_parse(recbuf, len, &ch, NULL), CLIENTHELLO_DONE,
	       "hello of exactly CLIENTHELLO_MAX_MSG: DONE");
	s.pad++;
	len = build(&s, NULL);
	is_int(clienthello_parse(recbuf, 10, &ch, NULL), CLIENTHELLO_TOO_BIG,
	       "one byte more: TOO_BIG from its header");
}

static void
test_variants(void)
{
	struct spec s = { .sni = "h2.example.test", .alpn = "h2" };
	struct clienthello ch;
	size_t len, need;

	len = build(&s, NULL);
	is_int(clienthello_parse(recbuf, len, &ch, NULL), CLIENTHELLO_DONE,
	       "h2-only: DONE");
	ok(ch.alpn_h2 && !ch.alpn_h1 && ch.nalpn == 1 && ch.has_alpn,
	   "h2-only: flags");

	s.alpn = NULL;
	s.sni = NULL;
	len = build(&s, NULL);
	is_int(clienthello_parse(recbuf, len, &ch, NULL), CLIENTHELLO_DONE,
	       "no SNI, no ALPN: DONE");
	ok(!ch.has_sni && !ch.has_alpn && ch.nalpn == 0, "... nothing set");

	s.sni = "trailing.example.test.";
	len = build(&s, NULL);
	recbuf[len] = 0x17; /* bytes after the hello are ignored */
	is_int(clienthello_parse(recbuf, len + 1, &ch, &need), CLIENTHELLO_DONE,
	       "trailing dot, extra bytes: DONE");
	is_str(ch.sni, "trailing.example.test", "... dot dropped");

	/* The record announces more than the hello: DONE at its end. */
	len = build(&s, NULL);
	recbuf[3] = 0x20;
	is_int(clienthello_parse(recbuf, len, &ch, NULL), CLIENTHELLO_DONE,
	       "record longer than the hello: DONE");
	is_int(check_prefixes(recbuf, len), 0, "... every prefix wants more");

	s.alpn = "\x0a\x0a,toolongtoolongtoolongtoolongtoolong,x,h2";
	len = build(&s, NULL);
	is_int(clienthello_parse(recbuf, len, &ch, NULL), CLIENTHELLO_DONE,
	       "odd ALPN ids: DONE");
	ok(ch.nalpn == 2 && strcmp(ch.alpn[0], "x") == 0 && ch.alpn_h2,
	   "... only printable short ones kept");
}

static void
test_bad_sni(void)
{
	static const char *const bad[] = {
		"foo bar.test",	    "a..b", ".a",	"a\x01.test",
		"caf\xc3\xa9.test", "a/b",  "host:443", "..",
	};
	char name[300];
	struct spec s = { .alpn = "http/1.1" };
	struct clienthello ch;
	size_t len;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s.sni = bad[i];
		len = build(&s, NULL);
		is_int(clienthello_parse(recbuf, len, &ch, NULL),
		       CLIENTHELLO_MALFORMED, "bad SNI #%zu: MALFORMED", i);
	}
	s.sni = "a\0b";
	s.snilen = 3;
	len = build(&s, NULL);
	is_int(clienthello_parse(recbuf, len, &ch, NULL), CLIENTHELLO_MALFORMED,
	       "NUL in SNI: MALFORMED");
	s.snilen = 0;
	memset(name, 'a', sizeof(name));
	name[253] = '\0';
	s.sni = name;
	len = build(&s, NULL);
	is_int(clienthello_parse(recbuf, len, &ch, NULL), CLIENTHELLO_DONE,
	       "253-character SNI: DONE");
	is_int(strlen(ch.sni), 253, "... kept whole");
	name[253] = 'a';
	name[254] = '\0';
	len = build(&s, NULL);
	is_int(clienthello_parse(recbuf, len, &ch, NULL), CLIENTHELLO_MALFORMED,
	       "254-character SNI: MALFORMED");
	s.sni = "dup.example.test";
	s.dup_sni = true;
	len = build(&s, NULL);
	is_int(clienthello_parse(recbuf, len, &ch, NULL), CLIENTHELLO_MALFORMED,
	       "two server_name extensions: MALFORMED");
}

static void
test_not_tls(void)
{
	static const char get[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	static const uint8_t sslv2[] = { 0x80, 0x2e, 0x01, 0x00, 0x02 };
	static const uint8_t badver[] = { 0x16, 0x03, 0x09, 0x00, 0x10 };
	static const uint8_t zero_rec[] = { 0x16, 0x03, 0x01, 0x00, 0x00 };
	static const uint8_t big_rec[] = { 0x16, 0x03, 0x01, 0x40, 0x01 };
	static const uint8_t not_hello[] = { 0x16, 0x03, 0x01, 0x00, 0x04,
					     0x02, 0x00, 0x00, 0x00 };
	struct spec s = { .sni = "x.test" };
	size_t len, need, two[] = { 50, 0 };
	struct clienthello ch;

	is_int(clienthello_parse((const uint8_t *)get, strlen(get), &ch, NULL),
	       CLIENTHELLO_NOT_TLS, "GET: NOT_TLS");
	is_int(clienthello_parse((const uint8_t *)get, 1, &ch, NULL),
	       CLIENTHELLO_NOT_TLS, "G alone: NOT_TLS");
	is_int(clienthello_parse(sslv2, sizeof(sslv2), &ch, NULL),
	       CLIENTHELLO_NOT_TLS, "SSLv2 hello: NOT_TLS");
	is_int(clienthello_parse(badver, 3, &ch, NULL), CLIENTHELLO_NOT_TLS,
	       "record version 3.9: NOT_TLS");
	is_int(clienthello_parse(zero_rec, 5, &ch, NULL), CLIENTHELLO_MALFORMED,
	       "empty record: MALFORMED");
	is_int(clienthello_parse(big_rec, 5, &ch, NULL), CLIENTHELLO_MALFORMED,
	       "record over 16 KiB: MALFORMED");
	is_int(clienthello_parse(not_hello, 6, &ch, NULL),
	       CLIENTHELLO_MALFORMED, "ServerHello: MALFORMED");
	is_int(clienthello_parse(recbuf, 0, &ch, &need), CLIENTHELLO_NEED_MORE,
	       "nothing yet: NEED_MORE");
	ok(need >= 5, "... need %zu", need);

	len = build(&s, two);
	recbuf[55] = 0x17; /* second record is application data */
	is_int(clienthello_parse(recbuf, len, &ch, NULL), CLIENTHELLO_MALFORMED,
	       "non-handshake record inside: MALFORMED");
}

/* Every single-byte corruption of a real hello must come back cleanly. */
static void
test_corrupt(void)
{
	static uint8_t buf[BUFSZ];
	size_t len = read_fixture("curl.bin", buf, sizeof(buf));
	struct clienthello ch;
	int done = 0, sane = 1;

	for (size_t i = 0; i < len; i++) {
		for (unsigned v = 0; v < 256; v += 51) {
			uint8_t save = buf[i];
			int rc;

			buf[i] = (uint8_t)(save ^ (v | 1));
			rc = clienthello_parse(buf, len, &ch, NULL);
			buf[i] = save;
			if (rc == CLIENTHELLO_DONE) {
				done++;
				sane &= !ch.has_sni || strlen(ch.sni) <= 253;
			}
		}
	}
	ok(len > 0 && sane, "corrupted hellos: no crash (%d still DONE)", done);
}

int
main(void)
{
	test_fixtures();
	test_large();
	test_variants();
	test_bad_sni();
	test_not_tls();
	test_corrupt();
	return tap_done();
}
