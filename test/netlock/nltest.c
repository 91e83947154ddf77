// SPDX-License-Identifier: GPL-2.0
/*
 * Drive criu's network lock (criu/net-lock.c) the way the dump and the
 * restore do, one step per run, so that each step can be a separate process:
 *
 *   nltest [-m METHOD] [-v] lock [--late] [--hold] FAMILY SRC SPORT DST DPORT ...
 *	network_lock_add() each connection, network_lock() (with --late:
 *	network_lock() first, then the adds, as a dump finding connections one
 *	by one), print "METHOD RUN_ID" ("METHOD -" if nothing was locked) and
 *	exit leaving the lock, as a finished dump does; with --hold, wait for
 *	a line on stdin, then network_unlock() in the same process, as a failed
 *	dump or one with --leave-running does.
 *   nltest [-v] unlock METHOD RUN_ID
 *	what a restore does with the inventory's fields:
 *	network_lock_restore_start() then network_unlock().
 *   nltest [-m METHOD] [-v] netns [--hold] PID
 *	lock the whole net namespace of PID (a tree with its own), as lock.
 *
 *   nltest default
 *	print the method used without --network-lock (1: built with libnftables).
 *
 * FAMILY is 4 or 6. Exit 0 on success, 1 with criu's message on stderr.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cr_options.h"
#include "log.h"
#include "net-lock.h"

struct cr_options opts = { .network_lock_method = NETWORK_LOCK_AUTO };

static int usage(void)
{
	fprintf(stderr, "usage: nltest [-m METHOD] [-v] lock [--late] [--hold] 4|6 SRC SPORT "
			"DST DPORT ...\n       nltest [-v] unlock METHOD RUN_ID\n"
			"       nltest [-m METHOD] [-v] netns [--hold] PID\n");
	return 2;
}

static int add_conns(int argc, char **argv)
{
	unsigned char s[16], d[16];
	int i, fam;

	if (argc == 0 || argc % 5)
		return usage();
	for (i = 0; i < argc; i += 5) {
		fam = !strcmp(argv[i], "6") ? AF_INET6 : AF_INET;
		if (inet_pton(fam, argv[i + 1], s) != 1 || inet_pton(fam, argv[i + 3], d) != 1) {
			fprintf(stderr, "nltest: bad address in %s %s\n", argv[i + 1], argv[i + 3]);
			return 2;
		}
		if (network_lock_add(fam, s, atoi(argv[i + 2]), d, atoi(argv[i + 4])))
			return 1;
	}
	return 0;
}

/* Say what was locked; with hold, keep it until a line comes on stdin, then unlock. */
static int print_lock(bool hold)
{
	const char *id = network_lock_run_id();
	char line[16];

	printf("%d %s\n", network_lock_method(), id ? id : "-");
	fflush(stdout);
	if (!hold)
		return 0;
	if (!fgets(line, sizeof(line), stdin))
		fprintf(stderr, "nltest: stdin closed, unlocking\n");
	return network_unlock() ? 1 : 0;
}

static int do_lock(int argc, char **argv)
{
	bool late = false, hold = false;
	int ret;

	for (; argc && !strncmp(argv[0], "--", 2); argc--, argv++) {
		if (!strcmp(argv[0], "--late"))
			late = true;
		else if (!strcmp(argv[0], "--hold"))
			hold = true;
		else
			return usage();
	}
	if (late && network_lock())
		return 1;
	ret = add_conns(argc, argv);
	if (ret)
		return ret;
	if (!late && network_lock())
		return 1;
	return print_lock(hold);
}

int main(int argc, char **argv)
{
	int i = 1, level = LOG_WARN;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-m") && i + 1 < argc) {
			opts.network_lock_method = network_lock_parse(argv[++i]);
			if (opts.network_lock_method < 0)
				return usage();
		} else if (!strcmp(argv[i], "-v")) {
			level = LOG_DEBUG;
		} else {
			return usage();
		}
	}
	if (i >= argc || log_init(NULL, level))
		return usage();
	if (!strcmp(argv[i], "default")) {
		printf("%d\n", network_lock_method());
		return 0;
	}
	if (!strcmp(argv[i], "lock"))
		return do_lock(argc - i - 1, argv + i + 1);
	if (!strcmp(argv[i], "unlock") && argc - i == 3) {
		if (network_lock_restore_start(true, atoi(argv[i + 1]), argv[i + 2]) ||
		    network_unlock())
			return 1;
		return 0;
	}
	if (!strcmp(argv[i], "netns") && argc - i >= 2) {
		bool hold = !strcmp(argv[i + 1], "--hold");

		if (argc - i != 2 + hold)
			return usage();
		network_lock_set_root(atoi(argv[i + 1 + hold]));
		if (network_lock())
			return 1;
		return print_lock(hold);
	}
	return usage();
}
