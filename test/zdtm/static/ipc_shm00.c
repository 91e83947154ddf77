// SPDX-License-Identifier: GPL-2.0-only
/*
 * SysV shared memory in the test's own IPC namespace: a segment with a
 * key mapped in full, an IPC_PRIVATE one mapped and marked for removal,
 * and one with a key that nobody maps.  Afterwards each has its id, key,
 * size, mode, owner and creator, attach count and bytes, and the mapped
 * ones are still the segments (a write through the mapping shows in a
 * fresh attach).  The keyed one is also attached read-only, and that
 * mapping still cannot be made writable.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>

#include "zdtmtst.h"

#define KEY_A 0x5a4d0001
#define KEY_C 0x5a4d0003
#define SIZE_A (3 * PAGE_SIZE + 100)
#define SIZE_B (2 * PAGE_SIZE)
#define SIZE_C 5000

struct seg {
	const char *name;
	int id;
	size_t size;
	uint32_t seed;
	void *map;
	struct shmid_ds ds;
};

static int make(struct seg *s, key_t key, int mode, bool map)
{
	void *p;

	s->id = shmget(key, s->size, IPC_CREAT | IPC_EXCL | mode);
	if (s->id < 0) {
		pr_perror("shmget %s", s->name);
		return -1;
	}
	p = shmat(s->id, NULL, 0);
	if (p == (void *)-1) {
		pr_perror("shmat %s", s->name);
		return -1;
	}
	datagen(p, s->size, s->seed);
	if (map)
		s->map = p;
	else
		shmdt(p);
	return 0;
}

static int check(struct seg *s, int want_nattch)
{
	struct shmid_ds ds;
	void *p;

	if (shmctl(s->id, IPC_STAT, &ds)) {
		pr_perror("%s: IPC_STAT of id %d", s->name, s->id);
		return -1;
	}
	if (ds.shm_perm.__key != s->ds.shm_perm.__key || ds.shm_perm.mode != s->ds.shm_perm.mode ||
	    ds.shm_perm.uid != s->ds.shm_perm.uid || ds.shm_perm.gid != s->ds.shm_perm.gid ||
	    ds.shm_perm.cuid != s->ds.shm_perm.cuid || ds.shm_perm.cgid != s->ds.shm_perm.cgid ||
	    ds.shm_segsz != s->size || (int)ds.shm_nattch != want_nattch) {
		fail("%s: key %#x mode %#o uid %u gid %u cuid %u cgid %u size %zu nattch %lu; "
		     "want %#x %#o %u %u %u %u %zu %d", s->name, ds.shm_perm.__key,
		     ds.shm_perm.mode, ds.shm_perm.uid, ds.shm_perm.gid, ds.shm_perm.cuid,
		     ds.shm_perm.cgid, (size_t)ds.shm_segsz, (unsigned long)ds.shm_nattch,
		     s->ds.shm_perm.__key, s->ds.shm_perm.mode, s->ds.shm_perm.uid,
		     s->ds.shm_perm.gid, s->ds.shm_perm.cuid, s->ds.shm_perm.cgid, s->size,
		     want_nattch);
		return -1;
	}
	p = s->map ? s->map : shmat(s->id, NULL, 0);
	if (p == (void *)-1) {
		pr_perror("%s: shmat", s->name);
		return -1;
	}
	if (datachk(p, s->size, s->seed) != (size_t)-1) {
		fail("%s: contents differ at %zu", s->name, datachk(p, s->size, s->seed));
		return -1;
	}
	if (s->map) {
		/* the mapping must be the segment itself, not a copy */
		unsigned char *q = shmat(s->id, NULL, SHM_RDONLY);

		((unsigned char *)p)[s->size - 1] ^= 0xff;
		if (q == (void *)-1 || q[s->size - 1] != ((unsigned char *)p)[s->size - 1]) {
			fail("%s: a write through the mapping is not in the segment", s->name);
			return -1;
		}
		shmdt(q);
	} else {
		shmdt(p);
	}
	return 0;
}

/* The read-only attach: the bytes, and no way to write. */
static int check_ro(struct seg *s, unsigned char *ro)
{
	if (memcmp(ro, s->map, s->size)) {
		fail("%s: the read-only mapping differs from the other", s->name);
		return -1;
	}
	if (mprotect(ro, PAGE_SIZE, PROT_READ | PROT_WRITE) == 0 || errno != EACCES) {
		fail("%s: the read-only attach can be made writable (errno %d)", s->name, errno);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned char *ro;
	struct seg a = { "keyed", -1, SIZE_A, 11, NULL, {} };
	struct seg b = { "private", -1, SIZE_B, 22, NULL, {} };
	struct seg c = { "unmapped", -1, SIZE_C, 33, NULL, {} };

	test_init(argc, argv);
	if (make(&a, KEY_A, 0640, true) || make(&b, IPC_PRIVATE, 0600, true) ||
	    make(&c, KEY_C, 0604, false))
		return 1;
	ro = shmat(a.id, NULL, SHM_RDONLY);
	if (ro == (void *)-1 || shmctl(b.id, IPC_RMID, NULL)) {
		pr_perror("IPC_RMID");
		return 1;
	}
	if (shmctl(a.id, IPC_STAT, &a.ds) || shmctl(b.id, IPC_STAT, &b.ds) ||
	    shmctl(c.id, IPC_STAT, &c.ds)) {
		pr_perror("IPC_STAT");
		return 1;
	}
	if (!(b.ds.shm_perm.mode & SHM_DEST)) {
		fail("IPC_RMID did not mark the segment");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (check(&a, 2) || check_ro(&a, ro) || check(&b, 1) || check(&c, 0))
		return 1;
	pass();
	return 0;
}
