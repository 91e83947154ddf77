// SPDX-License-Identifier: GPL-2.0-only
/*
 * The life cycle of a zdtm test: argument parsing, detaching into a new
 * session, the ready signal (pidfile), waiting for SIGTERM and the verdict.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zdtmtst.h"

volatile sig_atomic_t test_sigterm_seen;
const char *test_filename;
const char *test_name;

static char pidfile[PATH_MAX];
static char outfile[PATH_MAX];
static char logfile[PATH_MAX + 8];
static char scratch[PATH_MAX + 8];
static char name_buf[64];
static int test_failed;
static pid_t launcher;

/* Appends one line to path; used for both the verdict and the log. */
static void append_line(const char *path, const char *prefix, const char *msg)
{
	char line[1024];
	int fd, len;

	if (!path[0])
		return;
	len = snprintf(line, sizeof(line), "%s%s\n", prefix, msg);
	if (len < 0)
		return;
	if ((size_t)len >= sizeof(line))
		len = sizeof(line) - 1;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	write_all(fd, line, len);
	close(fd);
}

void test_msg(const char *fmt, ...)
{
	char msg[768], prefix[32];
	int saved_errno = errno;
	va_list ap;

	va_start(ap, fmt);
	errno = saved_errno;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(prefix, sizeof(prefix), "%d: ", getpid());
	append_line(logfile, prefix, msg);
	errno = saved_errno;
}

void fail(const char *fmt, ...)
{
	char msg[768];
	int saved_errno = errno;
	va_list ap;

	va_start(ap, fmt);
	errno = saved_errno;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	test_failed = 1;
	append_line(outfile, "FAIL: ", msg);
	append_line(logfile, "FAIL: ", msg);
	errno = saved_errno;
}

void pass(void)
{
	if (test_failed)
		return;
	append_line(outfile, "", "PASS");
}

/* Before the test is detached its problems also go to stderr. */
static void __printf(1, 2) early_die(const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", test_name ? test_name : "zdtm", msg);
	fail("%s", msg);
	exit(1);
}

static void make_abs(char *dst, size_t size, const char *path)
{
	char cwd[PATH_MAX];
	int len;

	if (path[0] == '/') {
		len = snprintf(dst, size, "%s", path);
	} else {
		if (!getcwd(cwd, sizeof(cwd)))
			early_die("getcwd: %m");
		len = snprintf(dst, size, "%s/%s", cwd, path);
	}
	if (len < 0 || (size_t)len >= size)
		early_die("path too long: %s", path);
}

static void usage(void)
{
	fprintf(stderr, "usage: %s --pidfile=FILE --outfile=FILE [--filename=PATH]\n", test_name);
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{"pidfile", required_argument, NULL, 'p'},
		{"outfile", required_argument, NULL, 'o'},
		{"filename", required_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	const char *pid = NULL, *out = NULL, *file = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pid = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		default:
			usage();
		}
	}
	if (!pid || !out || optind != argc)
		usage();

	make_abs(outfile, sizeof(outfile), out);
	snprintf(logfile, sizeof(logfile), "%s.log", outfile);
	make_abs(pidfile, sizeof(pidfile), pid);
	if (file)
		make_abs(scratch, sizeof(scratch), file);
	else
		snprintf(scratch, sizeof(scratch), "%s.file", outfile);
	test_filename = scratch;
}

/*
 * The launching process stays until the test has written its pidfile, so
 * whoever started it knows the test is ready once it exits with 0.
 */
static void __attribute__((noreturn)) wait_ready(pid_t child)
{
	const struct timespec tick = {0, 1000 * 1000};
	int status;
	pid_t ret;

	for (;;) {
		ret = waitpid(child, &status, WNOHANG);
		if (ret == child) {
			if (WIFEXITED(status) && WEXITSTATUS(status))
				_exit(WEXITSTATUS(status));
			_exit(3);
		}
		if (ret < 0 && errno != EINTR)
			_exit(4);
		if (access(pidfile, F_OK) == 0)
			_exit(0);
		nanosleep(&tick, NULL);
	}
}

static void redirect_stdio(void)
{
	int fd, i;

	fd = open("/dev/null", O_RDWR);
	if (fd < 0)
		early_die("open /dev/null: %m");
	for (i = 0; i < 3; i++)
		if (fd != i && dup2(fd, i) < 0)
			early_die("dup2: %m");
	if (fd > 2)
		close(fd);
}

static void sigterm_handler(int sig)
{
	(void)sig;
	test_sigterm_seen = 1;
}

int test_init(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = sigterm_handler};
	const char *slash = strrchr(argv[0], '/');
	pid_t pid;

	snprintf(name_buf, sizeof(name_buf), "%s", slash ? slash + 1 : argv[0]);
	test_name = name_buf;
	parse_args(argc, argv);
	if (unlink(pidfile) < 0 && errno != ENOENT)
		early_die("unlink %s: %m", pidfile);

	/*
	 * A pid namespace's init must stay: the test itself is the init
	 * then.  Anywhere else fork, so that the test is not a process group
	 * leader and can start its own session.
	 */
	if (getpid() != 1) {
		pid = fork();
		if (pid < 0)
			early_die("fork: %m");
		if (pid > 0)
			wait_ready(pid);
		launcher = getppid();
	}
	if (setsid() < 0)
		early_die("setsid: %m");

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0)
		early_die("sigaction: %m");
	redirect_stdio();
	return 0;
}

void test_daemon(void)
{
	const struct timespec tick = {0, 1000 * 1000};
	char tmp[PATH_MAX + 8], buf[32];
	int fd, len;

	snprintf(tmp, sizeof(tmp), "%s.tmp", pidfile);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		goto err;
	len = snprintf(buf, sizeof(buf), "%d\n", getpid());
	if (write_all(fd, buf, len) < 0) {
		close(fd);
		goto err;
	}
	if (close(fd) < 0)
		goto err;
	/* rename() makes the pidfile appear whole or not at all. */
	if (rename(tmp, pidfile) < 0)
		goto err;
	/*
	 * The launcher exits when it sees the pidfile; wait for that, so
	 * that the parent the test sees from now on stays the same.
	 */
	while (launcher && getppid() == launcher)
		nanosleep(&tick, NULL);
	return;
err:
	pr_perror("can't write pidfile %s", pidfile);
	exit(1);
}

/*
 * There is a window between the flag test and pause() in which a SIGTERM
 * would be consumed without waking us.  The runner covers it by repeating
 * SIGTERM until the test exits; the handler only sets a flag, so repeats
 * are harmless.  The signal mask never changes here, so what a checkpoint
 * sees is the test's own mask.
 */
void test_waitsig(void)
{
	while (!test_sigterm_seen)
		pause();
}
