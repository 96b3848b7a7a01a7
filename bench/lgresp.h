/* SPDX-License-Identifier: GPL-2.0-or-later
 * lgresp.h - the load generator's incremental HTTP/1.1 response reader:
 * head, Content-Length or chunked body, and in an SSE body every "t":
 * send stamp, across read boundaries. Takes buffers, not sockets.
 */
#ifndef BENCH_LGRESP_H
#define BENCH_LGRESP_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { R_HEAD, R_CL, R_CSIZE, R_CDATA, R_CCRLF, R_TRAIL, R_EOF, R_DONE };

/* An incremental HTTP/1.1 response reader; the SSE scan finds each
 * "t": value in the de-chunked body, across read boundaries. */
struct lg_resp {
	int state;
	char head[8192];
	size_t hlen;
	long long left;
	long long body;
	int status;
	int mpos; /* bytes of "\"t\":" matched so far */
	int in_num;
	long long tval;
	int line_len;
};

static void
lg_head_done(struct lg_resp *r)
{
	char *cl, *te;

	r->head[r->hlen] = '\0';
	r->status = atoi(r->head + 9);
	cl = strcasestr(r->head, "\r\ncontent-length:");
	te = strcasestr(r->head, "\r\ntransfer-encoding:");
	if (te && strstr(te, "chunked")) {
		r->state = R_CSIZE;
		r->left = 0;
	} else if (cl) {
		r->left = atoll(cl + 17);
		r->state = r->left ? R_CL : R_DONE;
	} else {
		r->state = R_EOF;
	}
}

/* Scans body bytes for "t":NNN; calls back with each value. */
static void
lg_scan(struct lg_resp *r, const char *p, size_t n, int64_t at,
	void (*ev)(void *, int64_t, int64_t), void *arg)
{
	static const char pat[] = "\"t\":";

	r->body += (long long)n;
	if (!ev)
		return;
	for (size_t i = 0; i < n; i++) {
		char ch = p[i];

		if (r->in_num) {
			if (ch >= '0' && ch <= '9') {
				r->tval = r->tval * 10 + (ch - '0');
				continue;
			}
			r->in_num = 0;
			ev(arg, r->tval, at);
		}
		if (ch == pat[r->mpos]) {
			if (++r->mpos == 4) {
				r->mpos = 0;
				r->in_num = 1;
				r->tval = 0;
			}
		} else {
			r->mpos = ch == pat[0];
		}
	}
}

/* Feeds received bytes; returns 1 once the response is complete. */
static int
lg_feed(struct lg_resp *r, const char *p, size_t n, int64_t at,
	void (*ev)(void *, int64_t, int64_t), void *arg)
{
	size_t k;

	while (n > 0 && r->state != R_DONE) {
		switch (r->state) {
		case R_HEAD:
			if (r->hlen < sizeof(r->head) - 1)
				r->head[r->hlen++] = *p;
			p++, n--;
			if (r->hlen >= 4 &&
			    memcmp(r->head + r->hlen - 4, "\r\n\r\n", 4) == 0)
				lg_head_done(r);
			break;
		case R_CL:
		case R_CDATA:
			k = n < (size_t)r->left ? n : (size_t)r->left;
			lg_scan(r, p, k, at, ev, arg);
			p += k, n -= k;
			r->left -= (long long)k;
			if (r->left == 0)
				r->state = r->state == R_CL ? R_DONE : R_CCRLF;
			break;
		case R_CCRLF:
			if (*p == '\n')
				r->state = R_CSIZE;
			p++, n--;
			break;
		case R_CSIZE:
			/* line_len flags a chunk extension, ignored. */
			if (*p == '\n') {
				r->state = r->left ? R_CDATA : R_TRAIL;
				r->line_len = 0;
			} else if (*p == ';') {
				r->line_len = 1;
			} else if (!r->line_len && *p &&
				   strchr("0123456789abcdefABCDEF", *p)) {
				r->left = r->left * 16 +
					  (*p <= '9' ? *p - '0'
						     : (*p | 32) - 'a' + 10);
			}
			p++, n--;
			break;
		case R_TRAIL:
			if (*p == '\n') {
				if (r->line_len == 0)
					r->state = R_DONE;
				r->line_len = 0;
			} else if (*p != '\r') {
				r->line_len++;
			}
			p++, n--;
			break;
		case R_EOF:
			lg_scan(r, p, n, at, ev, arg);
			n = 0;
			break;
		}
	}
	return r->state == R_DONE;
}

#endif
