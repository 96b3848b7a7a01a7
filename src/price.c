/* SPDX-License-Identifier: GPL-2.0-or-later
 * price.c - the price table: loading our price files, matching model
 * ids, the cost of a record.
 *
 * The shipped table ($(pkgdatadir)/prices.json) and each --prices file
 * are JSON documents of the format in doc/usage-format.md. Rates are USD
 * per million tokens. A rate the file does not give is NAN, and a record
 * that needs it is unpriced: the daemon never guesses a price.
 *
 * Threading: built by main before the threads start, read-only after.
 * Ownership: the table owns its entries and its version string.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "price.h"

struct price_table {
	struct price_entry *e;
	size_t n, cap;
	char version[PRICE_VERSION_MAX];
};

struct price_table *
price_table_new(void)
{
	return calloc(1, sizeof(struct price_table));
}

void
price_table_free(struct price_table *t)
{
	if (!t)
		return;
	free(t->e);
	free(t);
}

const char *
price_table_version(const struct price_table *t)
{
	return t->version;
}

size_t
price_table_count(const struct price_table *t)
{
	return t->n;
}

const struct price_entry *
price_table_at(const struct price_table *t, size_t i)
{
	return i < t->n ? &t->e[i] : NULL;
}

/* One rate member: absent or null leaves NAN; anything but a finite
 * number >= 0 is an error. */
static int
rate_get(struct json_object *o, const char *key, double *v, char *err,
	 size_t errlen)
{
	struct json_object *r;

	*v = NAN;
	if (!json_object_object_get_ex(o, key, &r) || !r)
		return 0;
	if (!json_object_is_type(r, json_type_double) &&
	    !json_object_is_type(r, json_type_int)) {
		snprintf(err, errlen, "%s: not a number", key);
		return -1;
	}
	*v = json_object_get_double(r);
	if (!isfinite(*v) || *v < 0 || *v > 1e9) {
		snprintf(err, errlen, "%s: out of range", key);
		return -1;
	}
	return 0;
}

static int
rates_get(struct json_object *o, struct price_rates *p, char *err,
	  size_t errlen)
{
	if (rate_get(o, "input", &p->input, err, errlen) < 0 ||
	    rate_get(o, "output", &p->output, err, errlen) < 0 ||
	    rate_get(o, "reasoning", &p->reasoning, err, errlen) < 0 ||
	    rate_get(o, "cache_read", &p->cache_read, err, errlen) < 0 ||
	    rate_get(o, "cache_write_5m", &p->cache_write_5m, err, errlen) <
		    0 ||
	    rate_get(o, "cache_write_1h", &p->cache_write_1h, err, errlen) < 0)
		return -1;
	if (isnan(p->input) || isnan(p->output)) {
		snprintf(err, errlen, "needs \"input\" and \"output\"");
		return -1;
	}
	return 0;
}

/* A string member that must be a string when present. */
static int
str_get(struct json_object *o, const char *key, char *dst, size_t len,
	char *err, size_t errlen)
{
	struct json_object *v;

	dst[0] = '\0';
	if (!json_object_object_get_ex(o, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_string) ||
	    (size_t)json_object_get_string_len(v) >= len) {
		snprintf(err, errlen, "%s: expected a string under %zu bytes",
			 key, len);
		return -1;
	}
	snprintf(dst, len, "%s", json_object_get_string(v));
	return 0;
}

static int
entry_get(const char *id, struct json_object *o, struct price_entry *e,
	  char *err, size_t errlen)
{
	struct json_object *lc, *th;
	char why[160] = "";

	memset(e, 0, sizeof(*e));
	if (strlen(id) == 0 || strlen(id) >= sizeof(e->id)) {
		snprintf(err, errlen, "model id of %zu bytes", strlen(id));
		return -1;
	}
	snprintf(e->id, sizeof(e->id), "%s", id);
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(why, sizeof(why), "not an object");
		goto fail;
	}
	if (str_get(o, "label", e->label, sizeof(e->label), why, sizeof(why)) <
		    0 ||
	    rates_get(o, &e->base, why, sizeof(why)) < 0)
		goto fail;
	if (!json_object_object_get_ex(o, "long_context", &lc) || !lc)
		return 0;
	if (!json_object_is_type(lc, json_type_object) ||
	    !json_object_object_get_ex(lc, "threshold", &th) ||
	    !json_object_is_type(th, json_type_int) ||
	    (e->lc_threshold = json_object_get_int64(th)) <= 0) {
		snprintf(why, sizeof(why),
			 "long_context: needs a threshold "
			 "(tokens, > 0)");
		goto fail;
	}
	if (rates_get(lc, &e->lc, why, sizeof(why)) < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", e->id, why);
	return -1;
}

static int
table_put(struct price_table *t, const struct price_entry *e)
{
	struct price_entry *ne;
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->e[i].id, e->id) == 0) {
			t->e[i] = *e;
			return 0;
		}
	if (!(ne = buf_grow_array(t->e, &t->cap, t->n + 1, sizeof(*ne))))
		return -1;
	t->e = ne;
	t->e[t->n++] = *e;
	return 0;
}

/* Checks the document and its entries; adds nothing on error. */
static int
doc_check(struct json_object *doc, char *version, size_t vlen, char *err,
	  size_t errlen)
{
	struct json_object *v, *models;
	struct price_entry e;
	char why[256];

	if (!json_object_is_type(doc, json_type_object) ||
	    !json_object_object_get_ex(doc, "format", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), PRICE_FORMAT) != 0) {
		snprintf(err, errlen,
			 "not a price file (\"format\": \"%s\" "
			 "expected)",
			 PRICE_FORMAT);
		return -1;
	}
	if (str_get(doc, "version", version, vlen, why, sizeof(why)) < 0 ||
	    !version[0]) {
		snprintf(err, errlen, "\"version\": expected a short string");
		return -1;
	}
	if (!json_object_object_get_ex(doc, "models", &models) ||
	    !json_object_is_type(models, json_type_object)) {
		snprintf(err, errlen, "\"models\": expected an object");
		return -1;
	}
	json_object_object_foreach(models, id, o)
	{
		if (entry_get(id, o, &e, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s", why);
			return -1;
		}
	}
	return 0;
}

int
price_table_parse(struct price_table *t, const char *buf, size_t len,
		  const char *name, char *err, size_t errlen)
{
	struct json_tokener *tok = NULL;
	struct json_object *doc = NULL, *models;
	char version[PRICE_VERSION_MAX], why[320] = "out of memory";
	struct price_entry e;
	size_t vl;
	int rc = -1;

	if (len > PRICE_FILE_MAX || len > INT32_MAX) {
		snprintf(why, sizeof(why), "larger than %d bytes",
			 PRICE_FILE_MAX);
		goto out;
	}
	if (!(tok = json_tokener_new()))
		goto out;
	doc = json_tokener_parse_ex(tok, buf, (int)len);
	if (!doc || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) < len) {
		snprintf(why, sizeof(why), "not JSON (%s)",
			 json_tokener_error_desc(json_tokener_get_error(tok)));
		goto out;
	}
	if (doc_check(doc, version, sizeof(version), why, sizeof(why)) < 0)
		goto out;
	json_object_object_get_ex(doc, "models", &models);
	json_object_object_foreach(models, id, o)
	{
		entry_get(id, o, &e, why, sizeof(why));
		if (table_put(t, &e) < 0) {
			snprintf(why, sizeof(why), "out of memory");
			goto out;
		}
	}
	/* "base+override": cut to fit, never past the buffer */
	vl = strlen(t->version);
	if (vl)
		t->version[vl++] = '+';
	for (size_t i = 0; version[i] && vl + 1 < sizeof(t->version); i++)
		t->version[vl++] = version[i];
	t->version[vl] = '\0';
	rc = 0;
out:
	if (rc < 0)
		snprintf(err, errlen, "%s: %s", name, why);
	json_object_put(doc);
	json_tokener_free(tok);
	return rc;
}

int
price_table_load(struct price_table *t, const char *path, char *err,
		 size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, n;
	int rc = -1;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!(buf = malloc(PRICE_FILE_MAX + 1))) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	while ((n = fread(buf + len, 1, PRICE_FILE_MAX + 1 - len, f)) > 0)
		len += n;
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	rc = price_table_parse(t, buf, len, path, err, errlen);
out:
	free(buf);
	fclose(f);
	return rc;
}

static const struct price_entry *
find_id(const struct price_table *t, const char *id)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->e[i].id, id) == 0)
			return &t->e[i];
	return NULL;
}

/* Strips one suffix that does not change the price: "-20250929",
 * "-2025-04-14", "@20250929", "-001", "-latest". False if none. */
static bool
strip_suffix(char *s)
{
	size_t n = strlen(s), d = 0;
	char *at = strrchr(s, '@'), *dash = strrchr(s, '-');

	if (at && at != s) {
		*at = '\0';
		return true;
	}
	if (!dash || dash == s)
		return false;
	for (const char *p = dash + 1; isdigit((unsigned char)*p); p++)
		d++;
	if ((d == 8 && dash[9] == '\0') ||
	    (d == 3 && dash[1] == '0' && dash[4] == '\0') ||
	    strcmp(dash, "-latest") == 0) {
		*dash = '\0';
		return true;
	}
	/* -YYYY-MM-DD */
	if (n < 11 || s[n - 11] != '-' || s[n - 6] != '-' || s[n - 3] != '-')
		return false;
	for (size_t i = n - 10; i < n; i++)
		if (i != n - 6 && i != n - 3 && !isdigit((unsigned char)s[i]))
			return false;
	s[n - 11] = '\0';
	return true;
}

/* A label without its parenthesised qualifier, "Gemini 3 Pro (High)"
 * -> "Gemini 3 Pro", compared case-insensitively. */
static const struct price_entry *
find_label(const struct price_table *t, const char *label)
{
	char l[USAGE_LABEL_MAX], *p;
	size_t n;

	snprintf(l, sizeof(l), "%s", label);
	if ((p = strchr(l, '(')))
		*p = '\0';
	n = strlen(l);
	while (n && isspace((unsigned char)l[n - 1]))
		l[--n] = '\0';
	if (!n)
		return NULL;
	for (size_t i = 0; i < t->n; i++)
		if (t->e[i].label[0] && strcasecmp(t->e[i].label, l) == 0)
			return &t->e[i];
	return NULL;
}

const struct price_entry *
price_lookup(const struct price_table *t, const char *model, const char *label)
{
	const struct price_entry *e;
	char id[USAGE_MODEL_MAX];
	const char *slash;

	if (!t || !model || !model[0])
		return NULL;
	if ((e = find_id(t, model)))
		return e;
	/* Provider prefixes: "models/", "anthropic/", "publishers/google/
	 * models/": what follows the last slash. Then lower case. */
	slash = strrchr(model, '/');
	snprintf(id, sizeof(id), "%s", slash ? slash + 1 : model);
	for (char *p = id; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	do {
		if ((e = find_id(t, id)))
			return e;
	} while (strip_suffix(id));
	if (label && label[0] && strcmp(label, model) != 0)
		return find_label(t, label);
	return NULL;
}

/* tokens at rate; false when tokens need a rate that is missing. */
static bool
term(double *sum, int64_t tokens, double rate)
{
	if (tokens <= 0)
		return true;
	if (isnan(rate))
		return false;
	*sum += (double)tokens * rate;
	return true;
}

int
price_entry_cost(const struct price_entry *e, const struct usage_record *r,
		 double *usd)
{
	const struct price_rates *p = &e->base;
	int64_t fresh, w1h, w5m;
	double sum = 0;

	if (e->lc_threshold > 0 && r->input_tokens > e->lc_threshold)
		p = &e->lc;
	w1h = r->cache_write_1h_tokens;
	if (w1h > r->cache_creation_tokens)
		w1h = r->cache_creation_tokens;
	w5m = r->cache_creation_tokens - w1h;
	fresh = r->input_tokens - r->cached_tokens - r->cache_creation_tokens;
	if (!term(&sum, fresh, p->input) ||
	    !term(&sum, r->cached_tokens, p->cache_read) ||
	    !term(&sum, w5m, p->cache_write_5m) ||
	    !term(&sum, w1h, p->cache_write_1h) ||
	    !term(&sum, r->output_tokens, p->output) ||
	    !term(&sum, r->thinking_tokens,
		  isnan(p->reasoning) ? p->output : p->reasoning))
		return -1;
	*usd = sum / 1e6;
	return 0;
}

void
price_record(const struct price_table *t, const char *label,
	     struct usage_record *r)
{
	const struct price_entry *e;

	r->cost_usd = 0;
	r->priced = true;
	if (!r->has_usage)
		return;
	if (!(e = price_lookup(t, r->model, label)) ||
	    price_entry_cost(e, r, &r->cost_usd) < 0) {
		r->cost_usd = 0;
		r->priced = false;
	}
}

struct json_object *
price_json_usd(double usd)
{
	char s[64];
	double v = round(usd * 1e9) / 1e9;
	size_t n;

	snprintf(s, sizeof(s), "%.9f", v);
	n = strlen(s);
	while (n > 1 && s[n - 1] == '0' && s[n - 2] != '.')
		s[--n] = '\0';
	return json_object_new_double_s(v, s);
}
