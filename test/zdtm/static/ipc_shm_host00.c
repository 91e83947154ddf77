// SPDX-License-Identifier: GPL-2.0-only
/*
 * SysV shared memory in the host's IPC namespace, as postgres uses it: a
 * segment with a key, mapped (it outlives the dumped tree, so the restore
 * finds it unchanged), and an IPC_PRIVATE one mapped and marked for
 * removal (it goes with the tree and must be made again with its id).
 * Afterwards each is mapped at the same address, as /SYSV<key> in maps,
 * with the same id, key, size, mode and bytes, and the mapping is the
 * segment itself.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include "zdtmtst.h"

struct seg {
	const char *name;
	int id;
	size_t size;
	uint32_t seed;
	unsigned char *map;
	struct shmid_ds ds;
};

static int make(struct seg *s, key_t key, int mode)
{
	s->id = shmget(key, s->size, IPC_CREAT | IPC_EXCL | mode);
	if (s->id < 0) {
		pr_perror("shmget %s", s->name);
		return -1;
	}
	s->map = shmat(s->id, NULL, 0);
	if (s->map == (void *)-1) {
		pr_perror("shmat %s", s->name);
		return -1;
	}
	datagen(s->map, s->size, s->seed);
	return 0;
}

/* The maps line at the mapping's start must name the segment. */
static int check_maps(struct seg *s)
{
	static char buf[1 << 16];
	char want[64], *l;
	ssize_t n = read_file("/proc/self/maps", buf, sizeof(buf) - 1);

	if (n < 0) {
		pr_perror("read maps");
		return -1;
	}
	buf[n] = '\0';
	snprintf(want, sizeof(want), "%lx-", (unsigned long)s->map);
	for (l = buf; l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		char name[32];

		if (strncmp(l, want, strlen(want)))
			continue;
		snprintf(name, sizeof(name), "/SYSV%08x", (unsigned)s->ds.shm_perm.__key);
		if (!strstr(l, name) || strchr(l, '\n') < strstr(l, name)) {
			fail("%s: the mapping at %p is not %s", s->name, s->map, name);
			return -1;
		}
		return 0;
	}
	fail("%s: nothing is mapped at %p", s->name, s->map);
	return -1;
}

static int check(struct seg *s)
{
	struct shmid_ds ds;
	unsigned char *q;

	if (shmctl(s->id, IPC_STAT, &ds)) {
		pr_perror("%s: IPC_STAT of id %d", s->name, s->id);
		return -1;
	}
	if (ds.shm_perm.__key != s->ds.shm_perm.__key || ds.shm_perm.mode != s->ds.shm_perm.mode ||
	    ds.shm_perm.uid != s->ds.shm_perm.uid || ds.shm_perm.cuid != s->ds.shm_perm.cuid ||
	    ds.shm_segsz != s->size || ds.shm_nattch != 1) {
		fail("%s: key %#x mode %#o uid %u cuid %u size %zu nattch %lu; want %#x %#o %u %u "
		     "%zu 1", s->name, ds.shm_perm.__key, ds.shm_perm.mode, ds.shm_perm.uid,
		     ds.shm_perm.cuid, (size_t)ds.shm_segsz, (unsigned long)ds.shm_nattch,
		     s->ds.shm_perm.__key, s->ds.shm_perm.mode, s->ds.shm_perm.uid,
		     s->ds.shm_perm.cuid, s->size);
		return -1;
	}
	if (check_maps(s))
		return -1;
	if (datachk(s->map, s->size, s->seed) != (size_t)-1) {
		fail("%s: contents differ at %zu", s->name, datachk(s->map, s->size, s->seed));
		return -1;
	}
	q = shmat(s->id, NULL, SHM_RDONLY);
	s->map[7] ^= 0xff;
	if (q == (void *)-1 || q[7] != s->map[7]) {
		fail("%s: a write through the mapping is not in the segment", s->name);
		return -1;
	}
	shmdt(q);
	return 0;
}

int main(int argc, char **argv)
{
	struct seg a = { "keyed", -1, 2 * PAGE_SIZE + 10, 5, NULL, {} };
	struct seg b = { "private", -1, PAGE_SIZE, 6, NULL, {} };
	key_t key;
	int ret = 1;

	test_init(argc, argv);
	key = 0x5a480000 | (getpid() & 0xffff);
	if (make(&a, key, 0600))
		return 1;
	if (make(&b, IPC_PRIVATE, 0640) || shmctl(b.id, IPC_RMID, NULL) ||
	    shmctl(a.id, IPC_STAT, &a.ds) || shmctl(b.id, IPC_STAT, &b.ds)) {
		pr_perror("private segment");
		goto out;
	}

	test_daemon();
	test_waitsig();

	if (check(&a) || check(&b))
		goto out;
	pass();
	ret = 0;
out:
	/* the keyed segment would outlive us */
	shmctl(a.id, IPC_RMID, NULL);
	return ret;
}
