// SPDX-License-Identifier: GPL-2.0
/*
 * seccomp: strict mode and BPF filters, per thread.
 *
 * Dump: a thread's mode comes from /proc/PID/task/TID/status.  A thread
 * under seccomp would be killed (strict) or refused (filters) by our
 * remote syscalls, so right after the freeze it gets
 * PTRACE_O_SUSPEND_SECCOMP.  Its filters are read with
 * PTRACE_SECCOMP_GET_FILTER (index 0 is the first one installed: the
 * kernel counts from the root of the chain) and their flags with
 * PTRACE_SECCOMP_GET_METADATA.  Both need CAP_SYS_ADMIN in the initial
 * user namespace, so rootless criu refuses such a thread.
 *
 * seccomp.img holds one SeccompEntry: every distinct filter once, with
 * prev the index of the filter installed before it in the chain.  A
 * thread's seccomp_filter is the index of its newest filter.  Chains are
 * shared on fork, clone and TSYNC, so identical (filter, flags, prev)
 * nodes are merged across all threads of the tree.
 *
 * Restore: the images are checked here, the restorer installs them
 * (criu/pie/seccomp.c).  The filters all threads of a process share
 * (a TSYNC, or inherited from the thread that created the others) are
 * installed by the leader before it creates its threads, so the threads
 * share the very same kernel filters again and a later TSYNC works as it
 * did; each thread then installs the rest of its own chain.  criu keeps
 * running syscalls in the task after that (the restorer's last ones, the
 * munmap of the restorer from outside), so the tasks are seized with
 * PTRACE_O_SUSPEND_SECCOMP, which again needs CAP_SYS_ADMIN.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image.h"
#include "log.h"
#include "restore.h"
#include "restorer.h"
#include "seccomp.pb-c.h"
#include "task_state.h"

struct sc_metadata {
	u64 filter_off;
	u64 flags;
};

/* what a filter may carry in the image: the flags the kernel reports */
#define SC_FLAGS_KNOWN	(SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG | \
			 SECCOMP_FILTER_FLAG_SPEC_ALLOW)

/* ---- dump ---- */

struct sc_node {
	u8 *insns;
	u32 len;		/* bytes */
	u32 flags;
	int prev;		/* -1: the first of its chain */
};

static struct sc_node *nodes;
static int nr_nodes;

static int find_or_add(const void *insns, u32 len, u32 flags, int prev)
{
	struct sc_node *n;
	int i;

	for (i = 0; i < nr_nodes; i++)
		if (nodes[i].prev == prev && nodes[i].len == len && nodes[i].flags == flags &&
		    !memcmp(nodes[i].insns, insns, len))
			return i;
	n = xrealloc(nodes, (nr_nodes + 1) * sizeof(*n));
	if (!n)
		return -1;
	nodes = n;
	n = &nodes[nr_nodes];
	n->insns = xmalloc(len);
	if (!n->insns)
		return -1;
	memcpy(n->insns, insns, len);
	n->len = len;
	n->flags = flags;
	n->prev = prev;
	return nr_nodes++;
}

static const char *mode_name(int mode)
{
	return mode == SECCOMP_MODE_STRICT ? "strict mode" : "filters";
}

static void refuse_filters(pid_t pid, pid_t tid)
{
	pr_err("unsupported: pid %d tid %d has seccomp filters: reading them needs CAP_SYS_ADMIN "
	       "(PTRACE_SECCOMP_GET_FILTER)\n", pid, tid);
}

static int suspend_thread(pid_t pid, pid_t tid)
{
	long opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_SUSPEND_SECCOMP;
	struct proc_status st;

	if (parse_pid_status(pid, tid, &st)) {
		pr_perror("cannot read the status of tid %d", tid);
		return -1;
	}
	if (!st.seccomp)
		return 0;
	pr_info("pid %d tid %d: seccomp mode %d, %d filters\n", pid, tid, st.seccomp,
		st.seccomp_filters);
	if (!ptrace(PTRACE_SETOPTIONS, tid, NULL, (void *)opts))
		return 0;
	if (errno != EPERM) {
		pr_perror("cannot suspend seccomp of tid %d", tid);
		return -1;
	}
	if (st.seccomp == SECCOMP_MODE_STRICT)
		pr_err("unsupported: pid %d tid %d is in seccomp strict mode: running syscalls in "
		       "it needs CAP_SYS_ADMIN (PTRACE_O_SUSPEND_SECCOMP)\n", pid, tid);
	else
		refuse_filters(pid, tid);
	return -1;
}

/*
 * Before any remote syscall: the threads under seccomp must not see our
 * syscalls.  The flag goes with the tracer: detach (resume or kill) drops it.
 */
int seccomp_suspend_tree(void)
{
	struct pstree_item *it;
	int i;

	for_each_item(it)
		for (i = 0; it->state != TASK_DEAD && i < it->nr_threads; i++)
			if (suspend_thread(it->pid, it->threads[i].tid))
				return -1;
	return 0;
}

static u32 filter_flags(pid_t tid, int idx)
{
	struct sc_metadata md = { .filter_off = idx };

	/* the kernel reports SECCOMP_FILTER_FLAG_LOG only */
	if (ptrace(PTRACE_SECCOMP_GET_METADATA, tid, sizeof(md), &md) < 0) {
		pr_debug("tid %d filter %d: no metadata (%m): flags 0\n", tid, idx);
		return 0;
	}
	return md.flags;
}

/* The chain of tid (the kernel's index 0 is its oldest filter) into nodes. */
static int read_chain(pid_t pid, pid_t tid, int count, int *last)
{
	static struct sock_filter buf[BPF_MAXINSNS];
	struct { u8 *insns; u32 len, flags; } *chain;
	int n, i, prev = -1, ret = -1;

	chain = xzalloc(sizeof(*chain) * (count + 1));
	if (!chain)
		return -1;
	for (n = 0; n <= count; n++) {
		long len = ptrace(PTRACE_SECCOMP_GET_FILTER, tid, n, buf);

		if (len < 0 && errno == ENOENT)
			break;
		if (len < 0) {
			if (errno == EACCES || errno == EPERM)
				refuse_filters(pid, tid);
			else
				pr_perror("cannot read seccomp filter %d of tid %d", n, tid);
			goto out;
		}
		if (n == count) {
			pr_err("tid %d has more seccomp filters than the %d its status says\n",
			       tid, count);
			goto out;
		}
		chain[n].len = len * sizeof(struct sock_filter);
		chain[n].insns = xmalloc(chain[n].len);
		if (!chain[n].insns)
			goto out;
		memcpy(chain[n].insns, buf, chain[n].len);
		chain[n].flags = filter_flags(tid, n);
	}
	if (!n) {
		pr_err("tid %d is in seccomp filter mode without a filter\n", tid);
		goto out;
	}
	for (i = 0; i < n; i++) {
		prev = find_or_add(chain[i].insns, chain[i].len, chain[i].flags, prev);
		if (prev < 0)
			goto out;
	}
	pr_debug("pid %d tid %d: %d seccomp filters, the newest is entry %d\n", pid, tid, n, prev);
	*last = prev;
	ret = 0;
out:
	for (i = 0; i <= count; i++)
		free(chain[i].insns);
	free(chain);
	return ret;
}

int dump_seccomp_thread(pid_t pid, pid_t tid, const struct proc_status *st,
			ThreadCoreEntry *tce)
{
	int last;

	tce->has_seccomp_mode = true;
	switch (st->seccomp) {
	case SECCOMP_MODE_DISABLED:
		tce->seccomp_mode = SECCOMP_MODE__disabled;
		return 0;
	case SECCOMP_MODE_STRICT:
		tce->seccomp_mode = SECCOMP_MODE__strict;
		return 0;
	case SECCOMP_MODE_FILTER:
		tce->seccomp_mode = SECCOMP_MODE__filter;
		if (read_chain(pid, tid, st->seccomp_filters, &last))
			return -1;
		tce->has_seccomp_filter = true;
		tce->seccomp_filter = last;
		return 0;
	}
	pr_err("unsupported: pid %d tid %d: unknown seccomp mode %d\n", pid, tid, st->seccomp);
	return -1;
}

int seccomp_dump_fini(void)
{
	SeccompEntry se = SECCOMP_ENTRY__INIT;
	SeccompFilter *sf = NULL, **sfp = NULL;
	int i, ret = -1;

	if (nr_nodes) {
		sf = xzalloc(nr_nodes * sizeof(*sf));
		sfp = xzalloc(nr_nodes * sizeof(*sfp));
		if (!sf || !sfp)
			goto out;
	}
	for (i = 0; i < nr_nodes; i++) {
		seccomp_filter__init(&sf[i]);
		sf[i].filter.data = nodes[i].insns;
		sf[i].filter.len = nodes[i].len;
		sf[i].has_prev = nodes[i].prev >= 0;
		sf[i].prev = sf[i].has_prev ? nodes[i].prev : 0;
		sf[i].has_flags = nodes[i].flags != 0;
		sf[i].flags = nodes[i].flags;
		sfp[i] = &sf[i];
	}
	se.n_seccomp_filters = nr_nodes;
	se.seccomp_filters = sfp;
	/* one image for the whole dump: the id is not part of its name */
	ret = pb_write_image(CR_FD_SECCOMP, &se.base, 0);
out:
	free(sf);
	free(sfp);
	for (i = 0; i < nr_nodes; i++)
		free(nodes[i].insns);
	free(nodes);
	nodes = NULL;
	nr_nodes = 0;
	return ret;
}

/* ---- restore ---- */

static SeccompEntry *rst_se;
static bool any_seccomp;

/* the filter installed before filter i in its chain, -1 for the first */
static int prev_of(int i)
{
	SeccompFilter *f = rst_se->seccomp_filters[i];

	return f->has_prev ? (int)f->prev : -1;
}

/* mode and newest filter of thread i; CRIU before 3.x kept the leader's in the task core */
static u32 thread_mode(CoreEntry *c, int i, int *filter)
{
	ThreadCoreEntry *tce = c->thread_core;

	*filter = -1;
	if (tce->has_seccomp_mode) {
		if (tce->has_seccomp_filter)
			*filter = tce->seccomp_filter;
		return tce->seccomp_mode;
	}
	if (i == 0 && c->tc && c->tc->has_old_seccomp_mode) {
		if (c->tc->has_old_seccomp_filter)
			*filter = c->tc->old_seccomp_filter;
		return c->tc->old_seccomp_mode;
	}
	return SECCOMP_MODE_DISABLED;
}

static int check_filters(void)
{
	size_t n = rst_se->n_seccomp_filters, i, steps;

	for (i = 0; i < n; i++) {
		SeccompFilter *f = rst_se->seccomp_filters[i];
		size_t len = f->filter.len;

		if (!len || len % sizeof(struct sock_filter) ||
		    len / sizeof(struct sock_filter) > BPF_MAXINSNS) {
			pr_err("seccomp.img: filter %zu: length %zu bytes is not 1 to %d "
			       "instructions of %zu bytes\n", i, len, BPF_MAXINSNS,
			       sizeof(struct sock_filter));
			return -1;
		}
		if (f->has_prev && f->prev >= n) {
			pr_err("seccomp.img: filter %zu: prev %u out of range (%zu filters)\n", i,
			       f->prev, n);
			return -1;
		}
		if (f->has_flags && (f->flags & ~SC_FLAGS_KNOWN)) {
			pr_err("seccomp.img: filter %zu: unknown flags %#x\n", i, f->flags);
			return -1;
		}
	}
	/* a chain longer than the number of filters has a cycle */
	for (i = 0; i < n; i++) {
		SeccompFilter *f = rst_se->seccomp_filters[i];

		for (steps = 0; f->has_prev && steps <= n; steps++)
			f = rst_se->seccomp_filters[f->prev];
		if (steps > n) {
			pr_err("seccomp.img: filter %zu: its prev chain has a cycle\n", i);
			return -1;
		}
	}
	return 0;
}

/* the kernel's MAX_INSNS_PER_PATH: a chain's instructions, 4 more per older filter */
#define SC_MAX_PATH_INSNS	32768

static size_t path_insns(int filter)
{
	size_t n = 0;

	for (; filter >= 0; filter = prev_of(filter))
		n += rst_se->seccomp_filters[filter]->filter.len / sizeof(struct sock_filter) + 4;
	return n - 4;
}

static int check_thread(struct pstree_item *it, int i)
{
	pid_t tid = it->threads[i].vtid;
	int filter;
	u32 mode = thread_mode(rst_of(it)->cores[i], i, &filter);

	if (mode > SECCOMP_MODE_FILTER) {
		pr_err("core-%d.img: unknown seccomp mode %u\n", tid, mode);
		return -1;
	}
	if (mode == SECCOMP_MODE_FILTER && (filter < 0 || !rst_se ||
					    (size_t)filter >= rst_se->n_seccomp_filters)) {
		pr_err("core-%d.img: seccomp filter %d is not in seccomp.img (%zu filters)\n", tid,
		       filter, rst_se ? rst_se->n_seccomp_filters : 0);
		return -1;
	}
	if (mode == SECCOMP_MODE_FILTER && path_insns(filter) > SC_MAX_PATH_INSNS) {
		pr_err("core-%d.img: seccomp filter %d: its chain has more than %d instructions, "
		       "as the kernel counts them\n", tid, filter, SC_MAX_PATH_INSNS);
		return -1;
	}
	if (mode && !any_seccomp) {
		any_seccomp = true;
		pr_info("pid %d tid %d is under seccomp (%s)\n", it->vpid, tid, mode_name(mode));
	}
	return 0;
}

/* May criu seize with PTRACE_O_SUSPEND_SECCOMP?  Tried on a child of its own. */
static int probe_suspend(int *err)
{
	pid_t pid = fork();
	int ret = 0;

	if (pid < 0) {
		pr_perror("cannot fork to probe PTRACE_O_SUSPEND_SECCOMP");
		return -1;
	}
	if (pid == 0) {
		for (;;)
			pause();
	}
	if (ptrace(PTRACE_SEIZE, pid, NULL, (void *)(long)PTRACE_O_SUSPEND_SECCOMP)) {
		*err = errno;
		ret = 1;
	}
	kill(pid, SIGKILL);
	/* a signal handler of criu's must not leave the probe a zombie */
	while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
		;
	return ret;
}

static int refuse_unsuspendable(void)
{
	struct pstree_item *it;
	int i, filter, err = 0, r = probe_suspend(&err);

	if (r <= 0)
		return r;
	for_each_item(it)
		for (i = 0; it->state != TASK_DEAD && i < it->nr_threads; i++) {
			u32 mode = thread_mode(rst_of(it)->cores[i], i, &filter);

			if (!mode)
				continue;
			pr_err("unsupported: pid %d tid %d is under seccomp (%s): restoring it "
			       "needs CAP_SYS_ADMIN (PTRACE_O_SUSPEND_SECCOMP: %s)\n", it->vpid,
			       it->threads[i].vtid, mode_name(mode), strerror(err));
			return -1;
		}
	return -1;
}

int seccomp_prepare_restore(void)
{
	struct pstree_item *it;
	int i;

	if (pb_read_image(CR_FD_SECCOMP, O_RSTR | O_OPT, (void **)&rst_se,
			  &seccomp_entry__descriptor, 0) < 0)
		return -1;
	if (rst_se && check_filters())
		return -1;
	for_each_item(it)
		for (i = 0; it->state != TASK_DEAD && i < it->nr_threads; i++)
			if (check_thread(it, i))
				return -1;
	return any_seccomp ? refuse_unsuspendable() : 0;
}

void seccomp_restore_forget(void)
{
	if (rst_se)
		seccomp_entry__free_unpacked(rst_se, NULL);
	rst_se = NULL;
	any_seccomp = false;
}

bool seccomp_restore_needed(void)
{
	return any_seccomp;
}

/* Entries of the chain ending at filter, oldest first, into out (may be NULL). */
static int chain_of(int filter, int *out)
{
	int n = 0, i, k;

	for (i = filter; i >= 0; i = prev_of(i))
		n++;
	for (i = filter, k = n - 1; out && i >= 0; i = prev_of(i))
		out[k--] = i;
	return n;
}

size_t seccomp_args_size(struct pstree_item *it)
{
	size_t sz = 0;
	int i, filter;

	for (i = 0; any_seccomp && i < it->nr_threads; i++) {
		if (thread_mode(rst_of(it)->cores[i], i, &filter) != SECCOMP_MODE_FILTER)
			continue;
		/* the thread's list, the common list, and at worst a copy of each filter */
		sz += 2 * (chain_of(filter, NULL) + 1) * sizeof(struct rst_seccomp) + 16;
		for (; filter >= 0; filter = prev_of(filter))
			sz += rst_se->seccomp_filters[filter]->filter.len + 8;
	}
	return sz;
}

/* The list the restorer installs: struct rst_seccomp[n], each filter copied once. */
static u64 fill_list(struct bump *b, const int *chain, int n, u64 *copies)
{
	struct rst_seccomp *l = bump_alloc(b, (n + 1) * sizeof(*l), 8);
	int k;

	if (!l)
		return 0;
	for (k = 0; k < n; k++) {
		SeccompFilter *f = rst_se->seccomp_filters[chain[k]];

		if (!copies[chain[k]]) {
			void *p = bump_alloc(b, f->filter.len, 8);

			if (!p)
				return 0;
			memcpy(p, f->filter.data, f->filter.len);
			copies[chain[k]] = (u64)(unsigned long)p;
		}
		l[k].insns = copies[chain[k]];
		l[k].len = f->filter.len / sizeof(struct sock_filter);
		/* each thread installs its own chain: no TSYNC */
		l[k].flags = f->has_flags ? f->flags & ~SECCOMP_FILTER_FLAG_TSYNC : 0;
	}
	return (u64)(unsigned long)l;
}

/* How many filters, oldest first, every thread of the process has in common. */
static int common_prefix(int nr, int **chains, const int *lens)
{
	int common = lens[0], i, k;

	for (i = 1; i < nr; i++) {
		for (k = 0; k < common && k < lens[i] && chains[i][k] == chains[0][k]; k++)
			;
		common = k;
	}
	return common;
}

int seccomp_prepare_args(struct pstree_item *it, struct bump *b, struct rst_args *a,
			 struct rst_thread *th)
{
	int nr = it->nr_threads, i, filter, common = 0, ret = -1;
	int **chains = NULL, *lens = NULL;
	bool all_filter = true;
	u64 *copies = NULL;

	if (!any_seccomp)
		return 0;
	chains = xzalloc(nr * sizeof(*chains));
	lens = xzalloc(nr * sizeof(*lens));
	copies = xzalloc((rst_se ? rst_se->n_seccomp_filters : 0) * sizeof(*copies) + 8);
	if (!chains || !lens || !copies)
		goto out;
	for (i = 0; i < nr; i++) {
		th[i].seccomp_mode = thread_mode(rst_of(it)->cores[i], i, &filter);
		if (th[i].seccomp_mode != SECCOMP_MODE_FILTER) {
			all_filter = false;
			continue;
		}
		lens[i] = chain_of(filter, NULL);
		chains[i] = xmalloc(lens[i] * sizeof(int));
		if (!chains[i])
			goto out;
		chain_of(filter, chains[i]);
	}
	if (all_filter)
		common = common_prefix(nr, chains, lens);
	if (common) {
		a->seccomp_common = fill_list(b, chains[0], common, copies);
		a->nr_seccomp_common = common;
		if (!a->seccomp_common)
			goto out;
	}
	for (i = 0; i < nr; i++) {
		if (!chains[i])
			continue;
		th[i].nr_seccomp = lens[i] - common;
		th[i].seccomp = fill_list(b, chains[i] + common, lens[i] - common, copies);
		if (!th[i].seccomp)
			goto out;
		pr_debug("pid %d tid %d: %d seccomp filters, %d shared by all its threads\n",
			 it->vpid, th[i].tid, lens[i], common);
	}
	ret = 0;
out:
	for (i = 0; chains && i < nr; i++)
		free(chains[i]);
	free(chains);
	free(lens);
	free(copies);
	return ret;
}
