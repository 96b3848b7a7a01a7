/* SPDX-License-Identifier: GPL-2.0-or-later
 * openai.h - the usage extractor for OpenAI's Chat Completions and
 * Responses APIs, one provider with two dialects.
 *
 * Threading: the descriptor is constant.
 */
#ifndef AGP_OPENAI_H
#define AGP_OPENAI_H

#include "meter/extract_provider.h"

enum openai_dialect {
	OPENAI_CHAT = 1,  /* Chat Completions */
	OPENAI_RESPONSES, /* Responses */
};

extern const struct extract_provider openai_provider;

#endif
