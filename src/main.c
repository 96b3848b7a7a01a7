/* SPDX-License-Identifier: GPL-2.0-or-later
 * main.c - options, daemon, signals. */
#include "config.h"

#include <stdio.h>

int
main(void)
{
	printf("%s\n", PACKAGE_STRING);
	return 0;
}
