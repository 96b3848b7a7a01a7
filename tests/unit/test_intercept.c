/* SPDX-License-Identifier: GPL-2.0-or-later
 * test_intercept.c - the intercept list and the fail-open table.
 */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include "intercept.h"
#include "tap.h"

int
main(void)
{
	char *extra[] = { "*.example.test", "exact.test" };
	char *all[] = { "*" };
	struct intercept *ic = intercept_new(extra, 2, 300);
	char many[64];

	ok(intercept_match(ic, "daily-cloudcode-pa.googleapis.com"),
	   "default *.googleapis.com matches a subdomain");
	ok(!intercept_match(ic, "googleapis.com"),
	   "*.googleapis.com does not match the bare domain");
	ok(!intercept_match(ic, "evilgoogleapis.com"),
	   "a suffix without the dot does not match");
	ok(intercept_match(ic, "api.anthropic.com"), "default anthropic");
	ok(intercept_match(ic, "api.openai.com"), "default openai");
	ok(intercept_match(ic, "chatgpt.com"),
	   "default chatgpt.com (Codex with a ChatGPT login)");
	ok(!intercept_match(ic, "www.chatgpt.com"), "chatgpt.com is exact");
	ok(!intercept_match(ic, "www.openai.com"), "exact names are exact");
	ok(intercept_match(ic, "a.b.example.test"), "--intercept wildcard");
	ok(intercept_match(ic, "EXACT.test"), "matching ignores case");
	ok(!intercept_match(ic, "github.com"), "others are not intercepted");

	ok(intercept_wanted(ic, "uid:1000", "api.example.test"),
	   "wanted before fail-open");
	intercept_fail_open(ic, "uid:1000", "api.example.test");
	ok(!intercept_wanted(ic, "uid:1000", "api.example.test"),
	   "failed open: tunnelled for a while");
	ok(intercept_wanted(ic, "uid:1000", "other.example.test"),
	   "fail-open is per host");
	ok(intercept_wanted(ic, "uid:1001", "api.example.test"),
	   "fail-open is per client: another one is still metered there");
	usleep(400 * 1000);
	ok(intercept_wanted(ic, "uid:1000", "api.example.test"),
	   "intercepted again after --fail-open-time");

	ok(intercept_note_silent(ic, "uid:7", "s.example.test") == 1 &&
		   intercept_note_silent(ic, "uid:7", "s.example.test") == 2,
	   "silent closes counted in a row");
	ok(intercept_note_silent(ic, "uid:8", "s.example.test") == 1,
	   "per client");
	intercept_note_request(ic, "uid:7", "s.example.test");
	ok(intercept_note_silent(ic, "uid:7", "s.example.test") == 1,
	   "a request starts the count again");
	intercept_fail_open(ic, "uid:7", "s.example.test");
	ok(intercept_note_silent(ic, "uid:7", "s.example.test") == 1,
	   "and so does a fail-open");
	for (int i = 0; i < 1000; i++) {
		snprintf(many, sizeof(many), "h%d.example.test", i);
		intercept_fail_open(ic, "uid:1", many);
	}
	ok(!intercept_wanted(ic, "uid:1", "h999.example.test"),
	   "the table stays bounded and keeps the newest");
	intercept_free(ic);

	ic = intercept_new(all, 1, 1000);
	ok(intercept_match(ic, "anything.at.all") &&
		   intercept_match(ic, "10.0.0.1"),
	   "* intercepts every host");
	intercept_free(ic);
	intercept_free(NULL);
	return tap_done();
}
