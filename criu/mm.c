// SPDX-License-Identifier: GPL-2.0
/*
 * The mm: its user-visible fields (code, data, brk, stack, arguments,
 * environment, auxv, exe) at dump, in mm-PID.img; at restore, their check
 * against the rules of PR_SET_MM_MAP before any task exists, and the
 * struct prctl_mm_map that the restorer hands to the kernel in one call.
 * The restorer's call comes after the old address space is gone: a
 * refusal there could only be a bare EINVAL from a task beyond rescue,
 * so everything the kernel checks is checked here first, by name.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "files.h"
#include "image.h"
#include "mm.h"
#include "mm.pb-c.h"
#include "namespaces.h"
#include "restore.h"
#include "restorer.h"

#ifndef PR_GET_AUXV
#define PR_GET_AUXV 0x41555856
#endif
#ifndef CAP_CHECKPOINT_RESTORE
#define CAP_CHECKPOINT_RESTORE 40
#endif

/* The restorer passes our struct where the kernel reads its own (linux/prctl.h). */
#define SAME_FIELD(f)                                                                      \
	_Static_assert(offsetof(struct rst_mm_map, f) == offsetof(struct prctl_mm_map, f) && \
			       sizeof(((struct rst_mm_map *)0)->f) ==                       \
				       sizeof(((struct prctl_mm_map *)0)->f),               \
		       "rst_mm_map." #f " is not where the kernel reads it")
_Static_assert(sizeof(struct rst_mm_map) == sizeof(struct prctl_mm_map),
	       "rst_mm_map is not the size of struct prctl_mm_map");
SAME_FIELD(start_code);
SAME_FIELD(end_code);
SAME_FIELD(start_data);
SAME_FIELD(end_data);
SAME_FIELD(start_brk);
SAME_FIELD(brk);
SAME_FIELD(start_stack);
SAME_FIELD(arg_start);
SAME_FIELD(arg_end);
SAME_FIELD(env_start);
SAME_FIELD(env_end);
SAME_FIELD(auxv);
SAME_FIELD(auxv_size);
SAME_FIELD(exe_fd);

/* sizeof(mm->saved_auxv) on x86_64 when PR_GET_AUXV (6.1+) cannot tell */
#define DEFAULT_AUXV_BYTES 448

/* ---- dump ---- */

#define CRIU_AUXV_WORDS 44	/* what CRIU reads of mm_saved_auxv at most */

/*
 * CRIU reads at most AT_VECTOR_SIZE (44) words of auxv and refuses longer
 * images.  The closing AT_NULL pair need not be kept (the kernel zeroes
 * what follows the saved words); past 44 words the rest is dropped, as CRIU
 * drops it.
 */
static size_t auxv_words(pid_t pid, const u64 *w, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		if (w[i] == 0)
			break;
	n = i;
	if (n > CRIU_AUXV_WORDS) {
		pr_warn("pid %d: auxv has %zu words; the %zu past %d are not kept (from type %llu)\n",
			pid, n, n - CRIU_AUXV_WORDS, CRIU_AUXV_WORDS,
			(unsigned long long)w[CRIU_AUXV_WORDS]);
		n = CRIU_AUXV_WORDS;
	}
	return n;
}

int dump_mm(struct pstree_item *it, const struct mm_dump *d)
{
	MmEntry mm = MM_ENTRY__INIT;
	const struct proc_pid_stat *s = d->stat;
	struct vma_area *v;
	char path[64], *auxv;
	ssize_t auxv_len;
	int i = 0, ret;

	snprintf(path, sizeof(path), "/proc/%d/exe", it->pid);
	if (dump_file_link(it->pid, path, O_RDONLY, &mm.exe_file_id))
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/auxv", it->pid);
	auxv_len = read_file(path, &auxv);
	if (auxv_len < 0) {
		pr_perror("cannot read %s", path);
		return -1;
	}

	mm.mm_start_code = s->start_code;
	mm.mm_end_code = s->end_code;
	mm.mm_start_data = s->start_data;
	mm.mm_end_data = s->end_data;
	mm.mm_start_stack = s->start_stack;
	mm.mm_start_brk = s->start_brk;
	mm.mm_brk = d->brk;
	mm.mm_arg_start = s->arg_start;
	mm.mm_arg_end = s->arg_end;
	mm.mm_env_start = s->env_start;
	mm.mm_env_end = s->env_end;
	mm.n_mm_saved_auxv = auxv_words(it->pid, (u64 *)auxv, auxv_len / sizeof(u64));
	mm.mm_saved_auxv = (uint64_t *)auxv;
	mm.has_dumpable = true;
	mm.dumpable = d->dumpable;
	mm.has_thp_disabled = true;
	mm.thp_disabled = d->thp_disabled;
	mm.has_mlockall = d->mlockall != 0;
	mm.mlockall = d->mlockall;

	mm.vmas = xmalloc(sizeof(VmaEntry *) * (d->vmas->nr + 1));
	if (!mm.vmas) {
		free(auxv);
		return -1;
	}
	/* [vsyscall] too, as CRIU writes it; restore leaves it to the kernel */
	list_for_each_entry(v, &d->vmas->h, list)
		mm.vmas[i++] = &v->e;
	mm.n_vmas = i;
	ret = pb_write_image(CR_FD_MM, &mm.base, it->vpid);
	free(mm.vmas);
	free(auxv);
	return ret;
}

/* ---- restore: the kernel's rules, checked before the fork ---- */

/* What this kernel knows; read once. */
static struct {
	bool read;
	u64 min_addr;		/* vm.mmap_min_addr */
	size_t auxv_bytes;	/* sizeof(mm->saved_auxv) */
	unsigned int map_size;	/* PR_SET_MM_MAP_SIZE */
} kern;

static int read_kernel_limits(void)
{
	long long v;
	long n;

	if (kern.read)
		return 0;
	if (read_int_file("/proc/sys/vm/mmap_min_addr", &v)) {
		pr_perror("cannot read /proc/sys/vm/mmap_min_addr");
		return -1;
	}
	kern.min_addr = v;
	n = prctl(PR_GET_AUXV, 0, 0, 0, 0);
	kern.auxv_bytes = n > 0 ? (size_t)n : DEFAULT_AUXV_BYTES;
	if (prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, (unsigned long)&kern.map_size, 0, 0)) {
		pr_perror("prctl(PR_SET_MM_MAP_SIZE) failed: this kernel cannot restore an mm");
		return -1;
	}
	if (kern.map_size != sizeof(struct rst_mm_map)) {
		pr_err("this kernel's struct prctl_mm_map is %u bytes, criu knows %zu\n",
		       kern.map_size, sizeof(struct rst_mm_map));
		return -1;
	}
	kern.read = true;
	return 0;
}

struct mm_field {
	const char *name;
	size_t off;
};

#define MF(f) { #f, offsetof(MmEntry, f) }
/* the members the kernel requires in [mmap_min_addr, TASK_SIZE) */
static const struct mm_field addr_fields[] = {
	MF(mm_start_code), MF(mm_end_code), MF(mm_start_data), MF(mm_end_data),
	MF(mm_start_brk), MF(mm_brk), MF(mm_start_stack), MF(mm_arg_start),
	MF(mm_arg_end), MF(mm_env_start), MF(mm_env_end),
};

/* pairs the kernel wants ordered: lo < hi when strict, else lo <= hi */
static const struct {
	struct mm_field lo, hi;
	bool strict;
} order_rules[] = {
	{ MF(mm_start_code), MF(mm_end_code), true },
	{ MF(mm_start_data), MF(mm_end_data), false },
	{ MF(mm_start_brk), MF(mm_brk), false },
	{ MF(mm_arg_start), MF(mm_arg_end), false },
	{ MF(mm_env_start), MF(mm_env_end), false },
};

static u64 field(const MmEntry *mm, size_t off)
{
	return *(const u64 *)((const char *)mm + off);
}

static int check_addresses(int pid, const MmEntry *mm)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(addr_fields); i++) {
		u64 v = field(mm, addr_fields[i].off);

		if (v < kern.min_addr) {
			pr_err("mm-%d.img: %s 0x%llx is below mmap_min_addr 0x%llx\n", pid,
			       addr_fields[i].name, (unsigned long long)v,
			       (unsigned long long)kern.min_addr);
			return -1;
		}
		if (v >= RST_TASK_SIZE) {
			pr_err("mm-%d.img: %s 0x%llx is not below TASK_SIZE 0x%llx\n", pid,
			       addr_fields[i].name, (unsigned long long)v, RST_TASK_SIZE);
			return -1;
		}
	}
	for (i = 0; i < ARRAY_SIZE(order_rules); i++) {
		u64 lo = field(mm, order_rules[i].lo.off), hi = field(mm, order_rules[i].hi.off);

		if (hi > lo || (hi == lo && !order_rules[i].strict))
			continue;
		pr_err("mm-%d.img: %s 0x%llx is %s %s 0x%llx\n", pid, order_rules[i].hi.name,
		       (unsigned long long)hi, order_rules[i].strict ? "not above" : "below",
		       order_rules[i].lo.name, (unsigned long long)lo);
		return -1;
	}
	return 0;
}

/*
 * The kernel's check_data_rlimit() against RLIMIT_DATA as the task has it
 * at PR_SET_MM_MAP: criu's own soft limit, inherited, unless the task
 * had to raise the hard limit to the image's in C (prepare_rlimits() sets
 * both then); the image's own soft limit comes only after the mm.
 */
static int check_data_limit(struct pstree_item *it, const MmEntry *mm)
{
	TaskRlimitsEntry *rl = rst_of(it)->cores[0]->tc->rlimits;
	u64 used = (mm->mm_brk - mm->mm_start_brk) + (mm->mm_end_data - mm->mm_start_data);
	struct rlimit mine;
	u64 lim;
	bool from_image = false;

	if (getrlimit(RLIMIT_DATA, &mine)) {
		pr_perror("cannot read criu's RLIMIT_DATA");
		return -1;
	}
	lim = mine.rlim_cur;
	if (rl && rl->n_rlimits > RLIMIT_DATA && rl->rlimits[RLIMIT_DATA]->max > mine.rlim_max) {
		lim = rl->rlimits[RLIMIT_DATA]->cur;
		from_image = true;
	}
	if (lim == RLIM_INFINITY || used <= lim)
		return 0;
	pr_err("mm-%d.img: mm_brk - mm_start_brk + mm_end_data - mm_start_data is %llu bytes, "
	       "above the RLIMIT_DATA of %llu bytes (%s) that PR_SET_MM_MAP checks\n",
	       it->vpid, (unsigned long long)used, (unsigned long long)lim,
	       from_image ? "the image's" : "criu's");
	return -1;
}

/* Is [s, e) covered by the image's VMAs (by address, no hole)?  An empty range: s. */
static bool in_vmas(const MmEntry *mm, u64 s, u64 e)
{
	size_t i;

	for (i = 0; i < mm->n_vmas; i++) {
		const VmaEntry *v = mm->vmas[i];

		if (s < v->start)
			return false;	/* a hole, or below every VMA */
		if (s > v->end || (s == v->end && e > s))
			continue;
		if (e <= v->end)
			return true;
		s = v->end;
	}
	return false;
}

/*
 * PR_SET_MM_MAP no longer looks at VMAs, but the per-field PR_SET_MM
 * calls want one for these, and /proc/PID/cmdline and environ read
 * through them: pointing nowhere, they are a damaged image.
 */
static int check_in_vmas(int pid, const MmEntry *mm)
{
	const struct {
		const char *what;
		u64 s, e;
	} r[] = {
		{ "mm_start_stack", mm->mm_start_stack, mm->mm_start_stack + 1 },
		{ "mm_arg_start..mm_arg_end", mm->mm_arg_start, mm->mm_arg_end },
		{ "mm_env_start..mm_env_end", mm->mm_env_start, mm->mm_env_end },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(r); i++) {
		if (in_vmas(mm, r[i].s, r[i].e))
			continue;
		if (i == 0)
			pr_err("mm-%d.img: %s 0x%llx is not inside the image's VMAs\n", pid,
			       r[i].what, (unsigned long long)r[i].s);
		else
			pr_err("mm-%d.img: %s 0x%llx-0x%llx is not inside the image's VMAs\n",
			       pid, r[i].what, (unsigned long long)r[i].s,
			       (unsigned long long)r[i].e);
		return -1;
	}
	return 0;
}

static int check_auxv(int pid, const MmEntry *mm)
{
	size_t bytes = mm->n_mm_saved_auxv * sizeof(u64);

	if (bytes > kern.auxv_bytes) {
		pr_err("mm-%d.img: mm_saved_auxv of %zu words is larger than the %zu the kernel "
		       "keeps\n", pid, mm->n_mm_saved_auxv, kern.auxv_bytes / sizeof(u64));
		return -1;
	}
	if (!mm->n_mm_saved_auxv) {
		/* the kernel would take it and leave the vector of criu's binary */
		pr_err("mm-%d.img: mm_saved_auxv is empty\n", pid);
		return -1;
	}
	if (mm->n_mm_saved_auxv % 2) {
		pr_err("mm-%d.img: mm_saved_auxv has %zu words, not (type, value) pairs\n", pid,
		       mm->n_mm_saved_auxv);
		return -1;
	}
	return 0;
}

static bool has_cap(const struct __user_cap_data_struct *d, int cap)
{
	return d[cap / 32].effective & (1U << (cap % 32));
}

/* The caller needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE to change the exe link. */
static int check_exe_cap(int pid)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	/* the root of a new user namespace has every capability there */
	if (restore_ns_flags() & CLONE_NEWUSER)
		return 0;
	if (syscall(SYS_capget, &h, d)) {
		pr_perror("capget failed");
		return -1;
	}
	if (has_cap(d, CAP_SYS_ADMIN) || has_cap(d, CAP_CHECKPOINT_RESTORE))
		return 0;
	pr_err("mm-%d.img: setting the exe link (PR_SET_MM_MAP exe_fd) needs "
	       "CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN, and criu has neither\n", pid);
	return -1;
}

/* The kernel takes a regular file on an exec mount that the caller may execute. */
static int check_exe(int pid, const MmEntry *mm)
{
	int fd = anchor_fd(mm->exe_file_id);
	char link[64], path[4096] = "?";
	struct statvfs sv;
	struct stat st;
	const char *why = NULL;
	ssize_t n;

	if (fd < 0) {
		pr_err("mm-%d.img: exe_file_id %u was not opened\n", pid, mm->exe_file_id);
		return -1;
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	path[n > 0 ? n : 1] = '\0';
	if (fstat(fd, &st) || fstatvfs(fd, &sv)) {
		pr_perror("cannot stat the exe %s of pid %d", path, pid);
		return -1;
	}
	if (!S_ISREG(st.st_mode))
		why = "is not a regular file";
	else if (sv.f_flag & ST_NOEXEC)
		why = "is on a noexec mount";
	else if (!(st.st_mode & 0111))
		why = "has no execute permission";
	else if (!(restore_ns_flags() & CLONE_NEWUSER) &&
		 faccessat(fd, "", X_OK, AT_EMPTY_PATH | AT_EACCESS))
		why = errno == EACCES ? "may not be executed by criu's user" : strerror(errno);
	if (why) {
		pr_err("mm-%d.img: the exe (exe_file_id %u, %s) %s\n", pid, mm->exe_file_id, path,
		       why);
		return -1;
	}
	return check_exe_cap(pid);
}

int validate_mm_map(struct pstree_item *it)
{
	MmEntry *mm = rst_of(it)->mm;
	int pid = it->vpid;

	if (read_kernel_limits())
		return -1;
	if (check_addresses(pid, mm) || check_data_limit(it, mm) || check_in_vmas(pid, mm) ||
	    check_auxv(pid, mm))
		return -1;
	pr_debug("pid %d: the mm fields pass PR_SET_MM_MAP's rules\n", pid);
	return 0;
}

int validate_mm_exe(struct pstree_item *it)
{
	if (check_exe(it->vpid, rst_of(it)->mm))
		return -1;
	pr_debug("pid %d: its exe passes PR_SET_MM_MAP's rules\n", it->vpid);
	return 0;
}

/* ---- restore: the struct the restorer passes ---- */

size_t mm_map_args_size(struct pstree_item *it)
{
	/* the auxv, as prepare_mm_map() allocates it */
	return max(rst_of(it)->mm->n_mm_saved_auxv * sizeof(u64), (size_t)8) + 15;
}

int prepare_mm_map(struct pstree_item *it, struct rst_mem *m, struct rst_args *a)
{
	MmEntry *mm = rst_of(it)->mm;
	struct rst_mm_map *p = &a->mm;
	size_t auxv_bytes = mm->n_mm_saved_auxv * sizeof(u64);
	u64 *auxv;

	/* validate_mm_map() checked the size against PR_SET_MM_MAP_SIZE */
	a->mm_map_size = sizeof(*p);
	auxv = bump_alloc(&m->args, auxv_bytes ? auxv_bytes : 8, 16);
	if (!auxv)
		return -1;
	memcpy(auxv, mm->mm_saved_auxv, auxv_bytes);
	p->start_code = mm->mm_start_code;
	p->end_code = mm->mm_end_code;
	p->start_data = mm->mm_start_data;
	p->end_data = mm->mm_end_data;
	p->start_brk = mm->mm_start_brk;
	p->brk = mm->mm_brk;
	p->start_stack = mm->mm_start_stack;
	p->arg_start = mm->mm_arg_start;
	p->arg_end = mm->mm_arg_end;
	p->env_start = mm->mm_env_start;
	p->env_end = mm->mm_env_end;
	p->auxv = (u64)(unsigned long)auxv;
	p->auxv_size = auxv_bytes;
	p->exe_fd = anchor_fd(mm->exe_file_id);
	if ((int)p->exe_fd < 0) {
		pr_err("pid %d: its executable was not opened\n", it->vpid);
		return -1;
	}
	a->dumpable = mm->has_dumpable ? mm->dumpable : -1;
	a->thp_disabled = mm->has_thp_disabled && mm->thp_disabled;
	a->mlockall = mm->has_mlockall ? mm->mlockall : 0;
	return 0;
}
