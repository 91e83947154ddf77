// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-task settings made with prctl(): the name, no_new_privs, child
 * subreaper, THP disabled and dumpable off.  (Not the timer slack: the
 * image format has no place for it.)
 */
#include <string.h>
#include <sys/prctl.h>

#include "zdtmtst.h"

#define NAME "zdtm-renamed"

static int check(const char *when)
{
	char name[16] = "";
	int subreaper = -1;

	prctl(PR_GET_NAME, name);
	prctl(PR_GET_CHILD_SUBREAPER, &subreaper);
	if (strcmp(name, NAME)) {
		fail("%s: name %s", when, name);
		return 1;
	}
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
		fail("%s: no_new_privs is off", when);
		return 1;
	}
	if (subreaper != 1) {
		fail("%s: not a child subreaper", when);
		return 1;
	}
	if (prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) != 1) {
		fail("%s: THP is not disabled", when);
		return 1;
	}
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) {
		fail("%s: dumpable is on", when);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	if (prctl(PR_SET_NAME, NAME) || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_CHILD_SUBREAPER, 1) || prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) ||
	    prctl(PR_SET_DUMPABLE, 0)) {
		pr_perror("prctl");
		return 1;
	}
	if (check("before"))
		return 1;

	test_daemon();
	test_waitsig();

	if (check("after"))
		return 1;
	pass();
	return 0;
}
