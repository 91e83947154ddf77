// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection (see fault.h).  The counters live in shared memory
 * mapped before anything forks, so a pass in a restored task's criu child
 * counts in the same sequence as one in criu itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fault.h"
#include "log.h"

static const struct {
	const char *name;
	int err;
} classes[FI_NR] = {
	[FI_IMG_OPEN]	= { "img-open", EACCES },
	[FI_IMG_WRITE]	= { "img-write", ENOSPC },
	[FI_IMG_READ]	= { "img-read", EIO },
	[FI_PROC_READ]	= { "proc-read", EIO },
	[FI_SEIZE]	= { "seize", EPERM },
	[FI_REMOTE]	= { "remote", EFAULT },
	[FI_MEM_READ]	= { "mem-read", EFAULT },
	[FI_FORK]	= { "fork", EAGAIN },
	[FI_PREMAP]	= { "premap", ENOMEM },
	[FI_ANCHOR]	= { "anchor", EACCES },
};

static long *hits;		/* shared: FI_NR counters */
static int target_class = -1;
static long target_n;
static pid_t owner;

static int parse_spec(const char *spec)
{
	const char *colon = strchr(spec, ':');
	char *end;
	int i;

	if (!colon)
		return -1;
	for (i = 0; i < FI_NR; i++)
		if ((size_t)(colon - spec) == strlen(classes[i].name) &&
		    !strncmp(spec, classes[i].name, colon - spec))
			break;
	if (i == FI_NR)
		return -1;
	target_n = strtol(colon + 1, &end, 10);
	if (*end || target_n < 1)
		return -1;
	target_class = i;
	return 0;
}

void fault_init(void)
{
	const char *spec = getenv("CRIU_FAULT");

	if (!spec && !getenv("CRIU_FAULT_COUNT"))
		return;
	if (spec && parse_spec(spec)) {
		pr_err("CRIU_FAULT=%s: expected CLASS:N, N >= 1 (ignored)\n", spec);
		target_class = -1;
	}
	hits = mmap(NULL, sizeof(long) * FI_NR, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (hits == MAP_FAILED)
		hits = NULL;
	owner = getpid();
}

bool fault_hit(enum fault_class c)
{
	long n;

	if (!hits)
		return false;
	n = __atomic_add_fetch(&hits[c], 1, __ATOMIC_SEQ_CST);
	if ((int)c != target_class || n != target_n)
		return false;
	pr_info("fault injected: %s:%ld (%s)\n", classes[c].name, n, strerror(classes[c].err));
	errno = classes[c].err;
	return true;
}

void fault_fini(void)
{
	const char *path = getenv("CRIU_FAULT_COUNT");
	FILE *f;
	int i;

	if (!hits || !path || getpid() != owner)
		return;
	f = fopen(path, "w");
	if (!f)
		return;
	for (i = 0; i < FI_NR; i++)
		fprintf(f, "%s %ld\n", classes[i].name, hits[i]);
	fclose(f);
}
