/* SPDX-License-Identifier: GPL-2.0-or-later
 * google.h - the usage extractor for Gemini usageMetadata, bare or Cloud
 * Code wrapped.
 *
 * Threading: the descriptor is constant.
 */
#ifndef AGP_GOOGLE_H
#define AGP_GOOGLE_H

#include "meter/extract_provider.h"

extern const struct extract_provider google_provider;

#endif
