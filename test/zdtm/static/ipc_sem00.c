// SPDX-License-Identifier: GPL-2.0-only
/*
 * SysV semaphores in the test's own IPC namespace: a set of three with a
 * key and values 1, 5, 0, and an IPC_PRIVATE set of one at 7.  Afterwards
 * both have their ids, keys, modes, owners and values, and semop works on
 * them: taking the 1 succeeds, taking the 0 would block.
 */
#include <errno.h>
#include <sys/ipc.h>
#include <sys/sem.h>

#include "zdtmtst.h"

#define KEY 0x5a530001

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

static int stat_set(int id, struct semid_ds *ds)
{
	union semun arg = { .buf = ds };

	return semctl(id, 0, IPC_STAT, arg);
}

static int check_set(const char *name, int id, const struct semid_ds *was,
		     const unsigned short *want, int n)
{
	unsigned short vals[8];
	union semun arg = { .array = vals };
	struct semid_ds ds;
	int i;

	if (stat_set(id, &ds) || semctl(id, 0, GETALL, arg) < 0) {
		pr_perror("%s: set %d", name, id);
		return -1;
	}
	if (ds.sem_perm.__key != was->sem_perm.__key || ds.sem_perm.mode != was->sem_perm.mode ||
	    ds.sem_perm.uid != was->sem_perm.uid || ds.sem_perm.cuid != was->sem_perm.cuid ||
	    ds.sem_perm.gid != was->sem_perm.gid || ds.sem_nsems != (unsigned long)n) {
		fail("%s: key %#x mode %#o uid %u cuid %u nsems %lu; want %#x %#o %u %u %d", name,
		     ds.sem_perm.__key, ds.sem_perm.mode, ds.sem_perm.uid, ds.sem_perm.cuid,
		     (unsigned long)ds.sem_nsems, was->sem_perm.__key, was->sem_perm.mode,
		     was->sem_perm.uid, was->sem_perm.cuid, n);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (vals[i] != want[i]) {
			fail("%s: semaphore %d is %u, want %u", name, i, vals[i], want[i]);
			return -1;
		}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned short v3[3] = { 1, 5, 0 }, v1[1] = { 7 };
	union semun arg;
	struct semid_ds was3, was1;
	struct sembuf take0 = { 0, -1, IPC_NOWAIT }, take2 = { 2, -1, IPC_NOWAIT };
	int s3, s1;

	test_init(argc, argv);
	s3 = semget(KEY, 3, IPC_CREAT | IPC_EXCL | 0640);
	s1 = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
	if (s3 < 0 || s1 < 0) {
		pr_perror("semget");
		return 1;
	}
	arg.array = v3;
	if (semctl(s3, 0, SETALL, arg)) {
		pr_perror("SETALL");
		return 1;
	}
	arg.array = v1;
	if (semctl(s1, 0, SETALL, arg) || stat_set(s3, &was3) || stat_set(s1, &was1)) {
		pr_perror("SETALL/IPC_STAT");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (check_set("keyed", s3, &was3, v3, 3) || check_set("private", s1, &was1, v1, 1))
		return 1;
	if (semop(s3, &take0, 1)) {
		pr_perror("semop taking semaphore 0 (value 1)");
		return 1;
	}
	if (semop(s3, &take2, 1) == 0 || errno != EAGAIN) {
		fail("semop taking semaphore 2 (value 0) did not fail with EAGAIN");
		return 1;
	}
	v3[0] = 0;
	if (check_set("keyed after semop", s3, &was3, v3, 3))
		return 1;
	pass();
	return 0;
}
