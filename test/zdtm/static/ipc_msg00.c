// SPDX-License-Identifier: GPL-2.0-only
/*
 * SysV message queues in the test's own IPC namespace: a queue with a key,
 * a smaller qbytes and three messages of different types and lengths, and
 * an empty IPC_PRIVATE queue.  Afterwards the ids, keys, modes, owners,
 * qbytes and counts are the same, and the messages come out in order with
 * their types and texts; then the queue is empty.
 */
#include <errno.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>

#include "zdtmtst.h"

#define KEY 0x5a4d5347
#define QBYTES 3000

static const struct {
	long type;
	size_t len;
} msgs[] = { { 3, 17 }, { 1, 1000 }, { 2, 1 } };

struct msg {
	long mtype;
	char text[1024];
};

static int same(const char *name, int id, const struct msqid_ds *was)
{
	struct msqid_ds ds;

	if (msgctl(id, IPC_STAT, &ds)) {
		pr_perror("%s: IPC_STAT of %d", name, id);
		return -1;
	}
	if (ds.msg_perm.__key != was->msg_perm.__key || ds.msg_perm.mode != was->msg_perm.mode ||
	    ds.msg_perm.uid != was->msg_perm.uid || ds.msg_perm.cuid != was->msg_perm.cuid ||
	    ds.msg_qbytes != was->msg_qbytes || ds.msg_qnum != was->msg_qnum ||
	    ds.__msg_cbytes != was->__msg_cbytes) {
		fail("%s: key %#x mode %#o uid %u cuid %u qbytes %lu qnum %lu cbytes %lu; "
		     "want %#x %#o %u %u %lu %lu %lu", name, ds.msg_perm.__key, ds.msg_perm.mode,
		     ds.msg_perm.uid, ds.msg_perm.cuid, (unsigned long)ds.msg_qbytes,
		     (unsigned long)ds.msg_qnum, (unsigned long)ds.__msg_cbytes,
		     was->msg_perm.__key, was->msg_perm.mode, was->msg_perm.uid,
		     was->msg_perm.cuid, (unsigned long)was->msg_qbytes,
		     (unsigned long)was->msg_qnum, (unsigned long)was->__msg_cbytes);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct msqid_ds was, was_p;
	struct msg m;
	int q, p;
	size_t i;

	test_init(argc, argv);
	q = msgget(KEY, IPC_CREAT | IPC_EXCL | 0620);
	p = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	if (q < 0 || p < 0 || msgctl(q, IPC_STAT, &was)) {
		pr_perror("msgget");
		return 1;
	}
	was.msg_qbytes = QBYTES;
	was.msg_perm.mode = 0660;
	if (msgctl(q, IPC_SET, &was)) {
		pr_perror("IPC_SET");
		return 1;
	}
	for (i = 0; i < ARRAY_SIZE(msgs); i++) {
		m.mtype = msgs[i].type;
		datagen(m.text, msgs[i].len, i);
		if (msgsnd(q, &m, msgs[i].len, IPC_NOWAIT)) {
			pr_perror("msgsnd %zu", i);
			return 1;
		}
	}
	if (msgctl(q, IPC_STAT, &was) || msgctl(p, IPC_STAT, &was_p)) {
		pr_perror("IPC_STAT");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (same("keyed", q, &was) || same("private", p, &was_p))
		return 1;
	for (i = 0; i < ARRAY_SIZE(msgs); i++) {
		ssize_t n = msgrcv(q, &m, sizeof(m.text), 0, IPC_NOWAIT);

		if (n < 0) {
			pr_perror("msgrcv %zu", i);
			return 1;
		}
		if (m.mtype != msgs[i].type || (size_t)n != msgs[i].len ||
		    datachk(m.text, n, i) != (size_t)-1) {
			fail("message %zu: type %ld, %zd bytes; want type %ld, %zu bytes", i,
			     m.mtype, n, msgs[i].type, msgs[i].len);
			return 1;
		}
	}
	if (msgrcv(q, &m, sizeof(m.text), 0, IPC_NOWAIT) >= 0 || errno != ENOMSG) {
		fail("the queue holds more than the three messages");
		return 1;
	}
	pass();
	return 0;
}
