/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * For the tests of sessions and groups whose leader is gone: a member
 * process that checks its own ids, and counts of the tasks of a session
 * or group and of one's children, taken before and after.
 */
#ifndef SESSION_UTIL_H
#define SESSION_UTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "zdtmtst.h"

struct ids {
	pid_t pid, ppid, pgid, sid;
};

static inline void get_ids(struct ids *ids)
{
	ids->pid = getpid();
	ids->ppid = getppid();
	ids->pgid = getpgid(0);
	ids->sid = getsid(0);
}

/* Fields 5 (pgid) and 6 (sid) of /proc/PID/stat; -1 if gone. */
static inline int stat_ids(pid_t pid, pid_t *pgid, pid_t *sid)
{
	char path[64], buf[512], *p;
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	len = read_file(path, buf, sizeof(buf) - 1);
	if (len <= 0)
		return -1;
	buf[len] = '\0';
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %d %d", pgid, sid) != 2)
		return -1;
	return 0;
}

/* How many tasks have this session (sid) or group (pgid) id. */
static inline int count_tasks(pid_t id, int want_sid)
{
	struct dirent *de;
	DIR *d = opendir("/proc");
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		pid_t pgid, sid;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		if (stat_ids(atoi(de->d_name), &pgid, &sid))
			continue;
		n += (want_sid ? sid : pgid) == id;
	}
	closedir(d);
	return n;
}

/* The children of this process, as /proc lists them, in a string. */
static inline int read_children(char *buf, size_t size)
{
	char path[64];
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", getpid(), getpid());
	len = read_file(path, buf, size - 1);
	if (len < 0)
		return -1;
	buf[len] = '\0';
	return 0;
}

/*
 * A member: says it is ready, waits for SIGTERM, checks its ids, stops
 * its own child (if any), and exits 0 or 1.
 */
static inline void __attribute__((noreturn)) member_main(const char *name, int ready_fd,
							 pid_t child)
{
	struct ids before, after;

	get_ids(&before);
	if (write_all(ready_fd, "r", 1))
		_exit(13);
	close(ready_fd);
	test_waitsig();
	get_ids(&after);
	if (memcmp(&before, &after, sizeof(before))) {
		fail("%s: pid/ppid/pgid/sid %d/%d/%d/%d -> %d/%d/%d/%d", name, before.pid,
		     before.ppid, before.pgid, before.sid, after.pid, after.ppid, after.pgid,
		     after.sid);
		_exit(1);
	}
	if (child && stop_child(child, 5000)) {
		fail("%s: its child %d did not end well", name, child);
		_exit(2);
	}
	_exit(0);
}

#endif
