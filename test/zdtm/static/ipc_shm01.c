// SPDX-License-Identifier: GPL-2.0-only
/*
 * One SysV segment (IPC_PRIVATE, marked for removal) shared by two
 * processes: the test maps it whole, its child has the inherited mapping
 * and a second one of all but the first page (a VMA that starts inside
 * the segment).  Afterwards the segment has three attaches, both processes
 * see its bytes through every mapping, and a write by the child through
 * its partial mapping shows in the parent's.
 */
#include <errno.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define PAGES 4
#define SIZE (PAGES * PAGE_SIZE)
#define SEED 77

static int ready[2];

static void __attribute__((noreturn)) child(int id, unsigned char *whole)
{
	unsigned char *part = shmat(id, NULL, 0);

	if (part == (void *)-1 || munmap(part, PAGE_SIZE)) {
		pr_perror("child: shmat or munmap");
		_exit(1);
	}
	part += PAGE_SIZE;
	if (write_all(ready[1], "r", 1))
		_exit(1);
	test_waitsig();
	if (datachk(whole, SIZE, SEED) != (size_t)-1) {
		fail("child: the inherited mapping differs at %zu", datachk(whole, SIZE, SEED));
		_exit(1);
	}
	if (memcmp(part, whole + PAGE_SIZE, SIZE - PAGE_SIZE)) {
		fail("child: the partial mapping is not the segment's pages 1-%d", PAGES - 1);
		_exit(1);
	}
	part[10] = 0xa5;
	if (whole[PAGE_SIZE + 10] != 0xa5) {
		fail("child: a write through the partial mapping is not in the segment");
		_exit(1);
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	struct shmid_ds ds;
	unsigned char *whole;
	pid_t pid;
	int id, status;
	char c;

	test_init(argc, argv);
	id = shmget(IPC_PRIVATE, SIZE, IPC_CREAT | 0600);
	whole = id < 0 ? (void *)-1 : shmat(id, NULL, 0);
	if (whole == (void *)-1 || shmctl(id, IPC_RMID, NULL) || pipe(ready)) {
		pr_perror("shmget, shmat, IPC_RMID");
		return 1;
	}
	datagen(whole, SIZE, SEED);
	pid = fork();
	if (pid < 0) {
		pr_perror("fork");
		return 1;
	}
	if (pid == 0)
		child(id, whole);
	if (read_all(ready[0], &c, 1)) {
		fail("the child did not get ready");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (shmctl(id, IPC_STAT, &ds)) {
		pr_perror("IPC_STAT of %d", id);
		return 1;
	}
	if (ds.shm_nattch != 3 || !(ds.shm_perm.mode & SHM_DEST) || ds.shm_segsz != SIZE) {
		fail("nattch %lu mode %#o size %zu; want 3, SHM_DEST, %lu",
		     (unsigned long)ds.shm_nattch, ds.shm_perm.mode, (size_t)ds.shm_segsz, SIZE);
		return 1;
	}
	if (datachk(whole, SIZE, SEED) != (size_t)-1) {
		fail("the test's mapping differs at %zu", datachk(whole, SIZE, SEED));
		return 1;
	}
	status = stop_child(pid, 5000);
	if (status) {
		fail("the child ended with status %#x", status);
		return 1;
	}
	if (whole[PAGE_SIZE + 10] != 0xa5) {
		fail("the child's write is not in the test's mapping");
		return 1;
	}
	pass();
	return 0;
}
