// SPDX-License-Identifier: GPL-2.0
/*
 * Logging: everything at or below the verbosity goes to the log (the -o
 * file, or stderr without one).  Errors also go to stderr, but only the
 * first one of a run: it is the cause, the rest is its fallout and stays
 * in the log.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/time.h>
#include <unistd.h>

#include "log.h"

static int log_fd = STDERR_FILENO;
static int err_fd = STDERR_FILENO;	/* where the first error is echoed */
static int cur_level = DEFAULT_LOGLEVEL;
static int nr_errors;
static pid_t log_pid;
static struct timeval log_start;

int log_init(const char *path, int level)
{
	cur_level = level;
	log_pid = getpid();
	gettimeofday(&log_start, NULL);
	if (!path || !strcmp(path, "-"))
		return 0;

	log_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (log_fd < 0) {
		log_fd = STDERR_FILENO;
		pr_perror("cannot open log file %s", path);
		return -1;
	}
	return 0;
}

void log_fini(void)
{
	if (log_fd != err_fd)
		close(log_fd);
	log_fd = err_fd;
}

int log_get_fd(void)
{
	return log_fd;
}

int log_get_err_fd(void)
{
	return err_fd;
}

/*
 * Restored tasks get new descriptors 0, 1, 2...: move the log and our
 * stderr to numbers from base up, where they survive until the end.
 */
int log_move_fds(int base)
{
	int nerr = fcntl(err_fd, F_DUPFD, base);

	if (nerr < 0)
		return -1;
	if (log_fd == err_fd) {
		log_fd = nerr;
	} else {
		int nlog = fcntl(log_fd, F_DUPFD, base);

		if (nlog < 0) {
			close(nerr);
			return -1;
		}
		close(log_fd);
		log_fd = nlog;
	}
	err_fd = nerr;
	return 0;
}

int log_level(void)
{
	return cur_level;
}

void log_set_pid(void)
{
	log_pid = getpid();
}

static char first_error[512];	/* for the RPC client: cr_errmsg */

const char *log_first_error(void)
{
	return nr_errors ? first_error : NULL;
}

int log_errors(void)
{
	return nr_errors;
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n <= 0)
			return;
		buf += n;
		len -= n;
	}
}

void print_on_level(int level, const char *fmt, ...)
{
	char buf[4096];
	struct timeval now;
	int off = 0, len;
	va_list args;
	int saved_errno = errno;

	if (level > cur_level && level != LOG_ERROR)
		return;

	if (level != LOG_MSG) {
		gettimeofday(&now, NULL);
		timersub(&now, &log_start, &now);
		off = snprintf(buf, sizeof(buf), "(%02ld.%06ld) %6d: ",
			       (long)now.tv_sec, (long)now.tv_usec, log_pid);
	}
	if (level == LOG_ERROR)
		off += snprintf(buf + off, sizeof(buf) - off, "Error: ");

	va_start(args, fmt);
	len = vsnprintf(buf + off, sizeof(buf) - off, fmt, args);
	va_end(args);
	len += off;
	if (len >= (int)sizeof(buf))
		len = sizeof(buf) - 1;

	write_all(log_fd, buf, len);

	if (level == LOG_ERROR && nr_errors == 0)
		snprintf(first_error, sizeof(first_error), "%.*s", (int)(len - off) - 1, buf + off);
	if (level == LOG_ERROR && nr_errors++ == 0 && log_fd != err_fd) {
		/* the one line a user sees: no timestamp */
		write_all(err_fd, "criu: ", 6);
		write_all(err_fd, buf + off, len - off);
	}
	errno = saved_errno;
}
