/* SPDX-License-Identifier: GPL-2.0-or-later
 * credential.h - the fingerprint of the credential a request carries,
 * for attribution: the first 8 hex digits of its SHA-256.
 *
 * The credential itself is never copied out, stored or logged; only the
 * fingerprint leaves this module.
 * Threading: stateless.
 */
#ifndef AGP_CREDENTIAL_H
#define AGP_CREDENTIAL_H

#include <stdbool.h>
#include <stddef.h>

#include "http1.h"
#include "usage.h"

/* Fingerprints the credential of req: x-api-key, Authorization: Bearer,
 * x-goog-api-key, or a key= query parameter, in that order. out gets
 * USAGE_KEY_MAX bytes ("" when there is none); *oauth says whether it is
 * an OAuth access token (credential_is_oauth()). */
void credential_fingerprint(const struct http_request *req, char *out,
			    bool *oauth);

/* The same for one credential's bytes. */
void credential_hash(const char *cred, size_t len, char *out);

/* OAuth access tokens, told by their documented prefixes: Anthropic's
 * sk-ant-oat..., Google's ya29...., and JWTs (eyJ...; ChatGPT logins). */
bool credential_is_oauth(const char *cred, size_t len);

#endif
