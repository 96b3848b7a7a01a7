/* SPDX-License-Identifier: GPL-2.0-or-later
 * clienthello.c - peeks a TLS ClientHello for its SNI and ALPN.
 *
 * The hello is read straight out of the peeked bytes in two passes: the
 * first walks the TLS records and checks that the whole handshake message
 * is there (it may be fragmented over several records, as large
 * post-quantum hellos are), the second reads the message through a cursor
 * that steps over record headers, so nothing is copied or allocated.
 *
 * Threading: pure functions, no shared state.
 * Ownership: nothing is retained; results are copied into the caller's
 *   struct clienthello.
 */
#include "config.h"

#include <string.h>

#include "clienthello.h"

#define TLS_RECORD_HEADER 5
#define TLS_RECORD_MAX 16384 /* TLSPlaintext.length limit */
#define TLS_CT_HANDSHAKE 0x16
#define TLS_HS_CLIENT_HELLO 1
#define TLS_EXT_SERVER_NAME 0
#define TLS_EXT_ALPN 16
#define SNI_HOST_NAME 0
#define SNI_MAX 253

static size_t
load16(const uint8_t *p)
{
	return (size_t)p[0] << 8 | p[1];
}

/* Checks the available part (n < 5 bytes allowed) of a record header.
 * A bad first header means the peer does not speak TLS at all; a bad
 * later one means a broken hello. */
static int
record_check(const uint8_t *p, size_t n, bool first)
{
	int bad = first ? CLIENTHELLO_NOT_TLS : CLIENTHELLO_MALFORMED;
	size_t reclen;

	if (n >= 1 && p[0] != TLS_CT_HANDSHAKE)
		return bad;
	if (n >= 2 && p[1] != 3)
		return bad;
	if (n >= 3 && p[2] > 4)
		return bad;
	if (n < TLS_RECORD_HEADER)
		return 0;
	/* Empty handshake fragments are forbidden (RFC 8446 5.1). */
	reclen = load16(p + 3);
	if (reclen == 0 || reclen > TLS_RECORD_MAX)
		return CLIENTHELLO_MALFORMED;
	return 0;
}

static int
need_more(size_t want, size_t *need)
{
	if (want > CLIENTHELLO_MAX)
		return CLIENTHELLO_TOO_BIG;
	*need = want;
	return CLIENTHELLO_NEED_MORE;
}

/* The least total a peek needs when the record at pos, holding reclen
 * payload bytes after `have` bytes of the message, is incomplete: up to
 * the message's end if that falls inside this record, else the whole
 * record, the next header and the rest. While the message length is not
 * known yet, its 4-byte header stands in for the message. */
static size_t
want_bytes(size_t pos, size_t reclen, size_t have, size_t mlen)
{
	size_t left = (mlen ? mlen : 4) - have;

	if (left <= reclen)
		return pos + TLS_RECORD_HEADER + left;
	return pos + 2 * TLS_RECORD_HEADER + left;
}

/* First pass: walks the records until they hold the whole handshake
 * message, whose length (header included) goes to *msglen. */
static int
frame_hello(const uint8_t *buf, size_t len, size_t *msglen, size_t *need)
{
	size_t pos = 0, have = 0, mlen = 0; /* mlen 0: not known yet */
	uint8_t hs[4] = { 0 };		    /* handshake header */
	int rc;

	for (;;) {
		size_t reclen, avail;

		if ((rc = record_check(buf + pos, len - pos, pos == 0)) < 0)
			return rc;
		if (len - pos < TLS_RECORD_HEADER)
			return need_more(
				want_bytes(pos, TLS_RECORD_MAX, have, mlen),
				need);
		reclen = load16(buf + pos + 3);
		avail = len - pos - TLS_RECORD_HEADER;
		if (avail > reclen)
			avail = reclen;
		for (size_t i = 0; have + i < 4 && i < avail; i++)
			hs[have + i] = buf[pos + TLS_RECORD_HEADER + i];
		if (have == 0 && avail > 0 && hs[0] != TLS_HS_CLIENT_HELLO)
			return CLIENTHELLO_MALFORMED;
		if (have < 4 && have + avail >= 4) {
			mlen = 4 + ((size_t)hs[1] << 16 | load16(hs + 2));
			if (mlen > CLIENTHELLO_MAX_MSG)
				return CLIENTHELLO_TOO_BIG;
		}
		if (mlen && have + avail >= mlen) {
			/* A peek of CLIENTHELLO_MAX bytes must always do, so
			 * tiny records cannot stretch a hello past it. */
			if (pos + TLS_RECORD_HEADER + mlen - have >
			    CLIENTHELLO_MAX)
				return CLIENTHELLO_TOO_BIG;
			*msglen = mlen;
			return CLIENTHELLO_DONE;
		}
		if (avail < reclen)
			return need_more(want_bytes(pos, reclen, have, mlen),
					 need);
		have += avail;
		pos += TLS_RECORD_HEADER + reclen;
	}
}

/* Second pass: a cursor over the handshake message that steps over the
 * record headers. frame_hello() has checked that every byte up to the
 * message's end is present, and reads never pass r->end <= that. */
struct reader {
	const uint8_t *buf;
	size_t pos;	 /* next byte of buf */
	size_t rec_left; /* payload bytes left in the current record */
	size_t off;	 /* message bytes read so far */
	size_t end;	 /* limit of the current (sub)range */
};

static bool
rd_has(const struct reader *r, size_t n)
{
	return r->end - r->off >= n;
}

static unsigned
rd_u8(struct reader *r)
{
	if (r->rec_left == 0) {
		r->rec_left = load16(r->buf + r->pos + 3);
		r->pos += TLS_RECORD_HEADER;
	}
	r->rec_left--;
	r->off++;
	return r->buf[r->pos++];
}

static unsigned
rd_u16(struct reader *r)
{
	unsigned hi = rd_u8(r);

	return hi << 8 | rd_u8(r);
}

static void
rd_skip(struct reader *r, size_t n)
{
	while (n--)
		rd_u8(r);
}

/* Reads a 16-bit length that must cover exactly the rest of the current
 * range, as the SNI and ALPN lists must. */
static int
rd_list16(struct reader *r, size_t min)
{
	size_t n;

	if (!rd_has(r, 2))
		return CLIENTHELLO_MALFORMED;
	n = rd_u16(r);
	if (n < min || n != r->end - r->off)
		return CLIENTHELLO_MALFORMED;
	return 0;
}

static bool
host_char(unsigned c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '.' || c == '_';
}

/* Copies and checks one host_name of n bytes. */
static int
read_host(struct reader *r, size_t n, struct clienthello *out)
{
	unsigned prev = '.';

	if (out->has_sni || n == 0 || n > SNI_MAX + 1)
		return CLIENTHELLO_MALFORMED;
	for (size_t i = 0; i < n; i++) {
		unsigned c = rd_u8(r);

		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		/* Empty labels (leading dot, "..") never name a host. */
		if (!host_char(c) || (c == '.' && prev == '.'))
			return CLIENTHELLO_MALFORMED;
		out->sni[i] = (char)c;
		prev = c;
	}
	/* RFC 6066 forbids the trailing dot, but some clients send it;
	 * dropping it gives the name the certificate must carry. */
	if (prev == '.')
		n--;
	if (n > SNI_MAX)
		return CLIENTHELLO_MALFORMED;
	out->sni[n] = '\0';
	out->has_sni = true;
	return 0;
}

static int
parse_sni(struct reader *r, struct clienthello *out)
{
	int rc;

	if ((rc = rd_list16(r, 3)) < 0)
		return rc;
	while (r->off < r->end) {
		unsigned type;
		size_t n;

		if (!rd_has(r, 3))
			return CLIENTHELLO_MALFORMED;
		type = rd_u8(r);
		n = rd_u16(r);
		if (!rd_has(r, n))
			return CLIENTHELLO_MALFORMED;
		if (type != SNI_HOST_NAME)
			rd_skip(r, n);
		else if ((rc = read_host(r, n, out)) < 0)
			return rc;
	}
	return 0;
}

static void
alpn_add(struct clienthello *out, const char *p, size_t n)
{
	if (n == 8 && memcmp(p, "http/1.1", 8) == 0)
		out->alpn_h1 = true;
	if (n == 2 && memcmp(p, "h2", 2) == 0)
		out->alpn_h2 = true;
	if (n >= sizeof(out->alpn[0]) || out->nalpn >= CLIENTHELLO_MAX_ALPN)
		return;
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x21 || p[i] > 0x7e)
			return; /* GREASE and binary ids: not kept */
	memcpy(out->alpn[out->nalpn], p, n);
	out->alpn[out->nalpn++][n] = '\0';
}

static int
parse_alpn(struct reader *r, struct clienthello *out)
{
	char proto[256];
	int rc;

	if ((rc = rd_list16(r, 2)) < 0)
		return rc;
	out->has_alpn = true;
	while (r->off < r->end) {
		size_t n = rd_u8(r);

		if (n == 0 || !rd_has(r, n))
			return CLIENTHELLO_MALFORMED;
		for (size_t i = 0; i < n; i++)
			proto[i] = (char)rd_u8(r);
		alpn_add(out, proto, n);
	}
	return 0;
}

static int
parse_extensions(struct reader *r, struct clienthello *out)
{
	bool seen_sni = false, seen_alpn = false;
	int rc = 0;

	while (r->off < r->end) {
		size_t type, n, outer = r->end;

		if (!rd_has(r, 4))
			return CLIENTHELLO_MALFORMED;
		type = rd_u16(r);
		n = rd_u16(r);
		if (!rd_has(r, n))
			return CLIENTHELLO_MALFORMED;
		r->end = r->off + n;
		/* Each extension may appear once (RFC 8446 4.2). */
		if (type == TLS_EXT_SERVER_NAME)
			rc = seen_sni ? CLIENTHELLO_MALFORMED
				      : parse_sni(r, out);
		else if (type == TLS_EXT_ALPN)
			rc = seen_alpn ? CLIENTHELLO_MALFORMED
				       : parse_alpn(r, out);
		else
			rd_skip(r, n);
		if (rc < 0)
			return rc;
		seen_sni |= type == TLS_EXT_SERVER_NAME;
		seen_alpn |= type == TLS_EXT_ALPN;
		r->end = outer;
	}
	return 0;
}

/* ClientHello body: version, random, session id, cipher suites,
 * compression methods, then optional extensions (RFC 8446 4.1.2). */
static int
parse_body(struct reader *r, struct clienthello *out)
{
	size_t n;

	if (!rd_has(r, 2 + 32 + 1))
		return CLIENTHELLO_MALFORMED;
	out->legacy_version = (uint16_t)rd_u16(r);
	if (out->legacy_version >> 8 != 3)
		return CLIENTHELLO_MALFORMED;
	rd_skip(r, 32);
	n = rd_u8(r);
	if (n > 32 || !rd_has(r, n + 2))
		return CLIENTHELLO_MALFORMED;
	rd_skip(r, n);
	n = rd_u16(r);
	if (n < 2 || n % 2 || !rd_has(r, n + 1))
		return CLIENTHELLO_MALFORMED;
	rd_skip(r, n);
	n = rd_u8(r);
	if (n < 1 || !rd_has(r, n))
		return CLIENTHELLO_MALFORMED;
	rd_skip(r, n);
	if (r->off == r->end)
		return 0; /* no extensions at all: old but valid */
	if (!rd_has(r, 2))
		return CLIENTHELLO_MALFORMED;
	n = rd_u16(r);
	if (n != r->end - r->off)
		return CLIENTHELLO_MALFORMED;
	return parse_extensions(r, out);
}

int
clienthello_parse(const uint8_t *buf, size_t len, struct clienthello *out,
		  size_t *need)
{
	struct reader r = { .buf = buf };
	size_t msglen = 0, dummy;
	int rc;

	if (!need)
		need = &dummy;
	*need = 0;
	memset(out, 0, sizeof(*out));
	if ((rc = frame_hello(buf, len, &msglen, need)) != CLIENTHELLO_DONE)
		goto out;
	r.end = msglen;
	rd_skip(&r, 4); /* handshake type and length, checked */
	rc = parse_body(&r, out);
out:
	if (rc < 0) {
		*need = 0;
		memset(out, 0, sizeof(*out));
	}
	return rc;
}
