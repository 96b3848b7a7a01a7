/* SPDX-License-Identifier: GPL-2.0-or-later
 * test_redirect.c - which uids the nat OUTPUT rules redirect.
 */
#include "config.h"

#include "redirect.h"
#include "tap.h"

int
main(void)
{
	static const char rules[] =
		"-P OUTPUT ACCEPT\n"
		"-A OUTPUT -m owner --uid-owner 998 -j RETURN\n"
		"-A OUTPUT -m cgroup --path agents -j ANTIGRAVITY_PROXY\n"
		"-A OUTPUT -m owner --uid-owner 999 -j ANTIGRAVITY_PROXY\n"
		"-A OUTPUT -p tcp -m owner --uid-owner 2000-2010 -m tcp "
		"--dport 443 -j REDIRECT --to-ports 8742\n"
		"-A OUTPUT -m owner ! --uid-owner 0 -j ACCEPT\n"
		"-A OUTPUT -m owner ! --uid-owner 5 -j REDIRECT\n";

	is_int(redirect_rules_cover(rules, 999), 1,
	       "a jump for the uid covers it");
	is_int(redirect_rules_cover(rules, 2005), 1,
	       "a uid range with REDIRECT covers the uids in it");
	is_int(redirect_rules_cover(rules, 2011), 0, "not past the range");
	is_int(redirect_rules_cover(rules, 998), 0, "RETURN exempts");
	is_int(redirect_rules_cover(rules, 5), 0,
	       "a negated match does not cover the uid it names");
	is_int(redirect_rules_cover(rules, 0), 0, "root is not covered");
	is_int(redirect_rules_cover("", 999), 0, "no rules, nothing covered");
	is_int(redirect_rules_cover("-A OUTPUT -m owner --uid-owner 99", 99), 0,
	       "a rule without a jump is none");
	return tap_done();
}
