// SPDX-License-Identifier: GPL-2.0-only
/*
 * The auxiliary vector: the kernel's copy (/proc/self/auxv and
 * PR_GET_AUXV) and libc's view (getauxval) are unchanged, and
 * AT_SYSINFO_EHDR still points at the mapped vDSO.
 */
#include <elf.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>

#include "zdtmtst.h"

#ifndef PR_GET_AUXV
#define PR_GET_AUXV 0x41555856
#endif

static const unsigned long types[] = {
	AT_PHDR,   AT_PHENT,  AT_PHNUM,	 AT_PAGESZ, AT_BASE,	     AT_FLAGS,	     AT_ENTRY,
	AT_UID,	   AT_EUID,   AT_GID,	 AT_EGID,   AT_PLATFORM,     AT_HWCAP,	     AT_CLKTCK,
	AT_SECURE, AT_RANDOM, AT_HWCAP2, AT_EXECFN, AT_SYSINFO_EHDR, AT_MINSIGSTKSZ,
};

struct snap {
	uint64_t proc[128];
	ssize_t proc_len;
	uint64_t prctl[128];
	long prctl_len;
	unsigned long libc[ARRAY_SIZE(types)];
	unsigned char random[16];
};

static int take(struct snap *s)
{
	unsigned int i;

	memset(s, 0, sizeof(*s));
	s->proc_len = read_file("/proc/self/auxv", s->proc, sizeof(s->proc));
	if (s->proc_len <= 0) {
		pr_perror("read /proc/self/auxv");
		return 1;
	}
	s->prctl_len = prctl(PR_GET_AUXV, s->prctl, sizeof(s->prctl), 0, 0);
	if (s->prctl_len < 0) {
		pr_perror("PR_GET_AUXV");
		return 1;
	}
	for (i = 0; i < ARRAY_SIZE(types); i++)
		s->libc[i] = getauxval(types[i]);
	memcpy(s->random, (void *)getauxval(AT_RANDOM), 16);
	return 0;
}

static unsigned long proc_value(const struct snap *s, unsigned long type)
{
	ssize_t i;

	for (i = 0; i + 1 < s->proc_len / 8; i += 2)
		if (s->proc[i] == type)
			return s->proc[i + 1];
	return 0;
}

static int check_vdso(const struct snap *s)
{
	unsigned long ehdr = proc_value(s, AT_SYSINFO_EHDR), start, end;
	char perms[5], path[64];

	if (find_vma(ehdr, &start, &end, perms, path, sizeof(path)) || start != ehdr ||
	    strcmp(path, "[vdso]")) {
		fail("AT_SYSINFO_EHDR %lx is not the vDSO", ehdr);
		return 1;
	}
	if (memcmp((void *)ehdr, ELFMAG, SELFMAG)) {
		fail("no ELF header at AT_SYSINFO_EHDR %lx", ehdr);
		return 1;
	}
	return 0;
}

static int compare(const struct snap *a, const struct snap *b)
{
	unsigned int i;

	if (a->proc_len != b->proc_len || memcmp(a->proc, b->proc, a->proc_len)) {
		fail("/proc/self/auxv changed (%zd -> %zd bytes)", a->proc_len, b->proc_len);
		return 1;
	}
	if (a->prctl_len != b->prctl_len || memcmp(a->prctl, b->prctl, sizeof(a->prctl))) {
		fail("PR_GET_AUXV changed");
		return 1;
	}
	for (i = 0; i < ARRAY_SIZE(types); i++) {
		if (a->libc[i] == b->libc[i])
			continue;
		fail("getauxval(%lu) changed: %lx -> %lx", types[i], a->libc[i], b->libc[i]);
		return 1;
	}
	if (memcmp(a->random, b->random, 16)) {
		fail("AT_RANDOM bytes changed");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct snap a, b;

	test_init(argc, argv);
	if (take(&a) || check_vdso(&a))
		return 1;

	test_daemon();
	test_waitsig();

	if (take(&b) || compare(&a, &b) || check_vdso(&b))
		return 1;
	pass();
	return 0;
}
