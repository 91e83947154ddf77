// SPDX-License-Identifier: GPL-2.0-only
/*
 * Blocked in read() on an empty pipe at the checkpoint.  The SIGTERM
 * handler (SA_RESTART) writes a token into the pipe, so afterwards the
 * read must go on and return exactly that token: an error, an early
 * return or other bytes mean the blocked call was not resumed properly.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "zdtmtst.h"

static const char token[] = "zdtm-token";
static int wfd = -1;

static void handler(int sig)
{
	int saved = errno;

	(void)sig;
	test_sigterm_seen = 1;
	if (write(wfd, token, sizeof(token)) < 0)
		test_sigterm_seen = 2;
	errno = saved;
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = handler, .sa_flags = SA_RESTART};
	char buf[sizeof(token)];
	ssize_t ret;
	int p[2];

	test_init(argc, argv);
	sigemptyset(&sa.sa_mask);
	if (pipe(p) || sigaction(SIGTERM, &sa, NULL)) {
		pr_perror("setup");
		return 1;
	}
	wfd = p[1];

	test_daemon();
	ret = read(p[0], buf, sizeof(buf));

	if (ret < 0) {
		pr_perror("read returned an error");
		return 1;
	}
	if (!test_sigterm_seen) {
		fail("read returned %zd bytes before SIGTERM", ret);
		return 1;
	}
	if (ret != sizeof(token) || memcmp(buf, token, sizeof(token))) {
		fail("read returned %zd bytes, not the token", ret);
		return 1;
	}
	pass();
	return 0;
}
