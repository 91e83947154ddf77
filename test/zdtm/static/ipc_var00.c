// SPDX-License-Identifier: GPL-2.0-only
/*
 * The sysctls of the test's own IPC namespace, all set away from their
 * defaults, and a message queue whose qbytes is above msgmnb (made while
 * msgmnb was higher).  Afterwards every sysctl reads the same, and the
 * queue keeps its qbytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <unistd.h>

#include "zdtmtst.h"

static const struct {
	const char *path, *value;
} vars[] = {
	{ "kernel/sem", "250\t32000\t31\t129" },
	{ "kernel/msgmax", "8000" },
	{ "kernel/msgmnb", "16000" },
	{ "kernel/msgmni", "31000" },
	{ "kernel/shmmax", "123456789" },
	{ "kernel/shmall", "1234567" },
	{ "kernel/shmmni", "4000" },
	{ "kernel/shm_rmid_forced", "1" },
	{ "fs/mqueue/queues_max", "200" },
	{ "fs/mqueue/msg_max", "20" },
	{ "fs/mqueue/msgsize_max", "9000" },
	{ "fs/mqueue/msg_default", "9" },
	{ "fs/mqueue/msgsize_default", "7000" },
};

#define BIG_QBYTES 20000

static int put(const char *path, const char *value)
{
	char p[96];
	int fd;

	snprintf(p, sizeof(p), "/proc/sys/%s", path);
	fd = open(p, O_WRONLY);
	if (fd < 0 || write_all(fd, value, strlen(value))) {
		pr_perror("write %s to %s", value, p);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int same(const char *path, const char *value)
{
	char p[96], buf[128];
	ssize_t n;

	snprintf(p, sizeof(p), "/proc/sys/%s", path);
	n = read_file(p, buf, sizeof(buf) - 1);
	if (n < 0) {
		pr_perror("read %s", p);
		return -1;
	}
	buf[n] = '\0';
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	if (strcmp(buf, value)) {
		fail("%s is '%s', want '%s'", p, buf, value);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct msqid_ds ds;
	char big[16];
	size_t i;
	int q;

	test_init(argc, argv);
	/* a queue takes its qbytes from msgmnb when it is made */
	snprintf(big, sizeof(big), "%d", BIG_QBYTES);
	if (put("kernel/msgmnb", big))
		return 1;
	q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	if (q < 0 || msgctl(q, IPC_STAT, &ds) || ds.msg_qbytes != BIG_QBYTES) {
		fail("a queue made with msgmnb %d does not have that qbytes", BIG_QBYTES);
		return 1;
	}
	for (i = 0; i < ARRAY_SIZE(vars); i++)
		if (put(vars[i].path, vars[i].value))
			return 1;

	test_daemon();
	test_waitsig();

	for (i = 0; i < ARRAY_SIZE(vars); i++)
		if (same(vars[i].path, vars[i].value))
			return 1;
	if (msgctl(q, IPC_STAT, &ds) || ds.msg_qbytes != BIG_QBYTES) {
		fail("the queue's qbytes is %lu, want %d", (unsigned long)ds.msg_qbytes, BIG_QBYTES);
		return 1;
	}
	pass();
	return 0;
}
