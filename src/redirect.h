/* SPDX-License-Identifier: GPL-2.0-or-later
 * redirect.h - is a uid's port-443 traffic redirected to the proxy?
 *
 * The daemon's own upstream connections must not be: run as a redirected
 * uid, it would intercept itself in a loop. mitm-redirect.sh installs a
 * jump from the nat OUTPUT chain for the intercepted user's uid; this
 * reads the rules as iptables -S prints them, the way
 * `mitm-redirect.sh status` does, so a rule added by hand counts too.
 */
#ifndef AGP_REDIRECT_H
#define AGP_REDIRECT_H

/* 1 when a rule in `rules` (iptables -S output of the nat OUTPUT chain)
 * matches uid by "-m owner --uid-owner UID[-UID]" and jumps anywhere but
 * RETURN or ACCEPT; 0 otherwise. A negated match ("! --uid-owner") does
 * not cover the uids it names. */
int redirect_rules_cover(const char *rules, unsigned long uid);

/* Asks iptables and ip6tables (nat OUTPUT, -w) whether uid is covered:
 * 1 covered, 0 not, -1 when neither could be asked (no binary, not
 * root). Forks; call before any thread starts. */
int redirect_covers_uid(unsigned long uid);

#endif
