/* SPDX-License-Identifier: GPL-2.0-or-later
 * anthropic.h - the usage extractor for the Anthropic Messages API.
 *
 * Threading: the descriptor is constant.
 */
#ifndef AGP_ANTHROPIC_H
#define AGP_ANTHROPIC_H

#include "meter/extract_provider.h"

extern const struct extract_provider anthropic_provider;

#endif
