// SPDX-License-Identifier: GPL-2.0
/*
 * Credentials: ids, groups and capabilities from /proc/PID/status;
 * securebits by prctl(PR_GET_SECUREBITS) inside the task.
 */
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "namespaces.h"
#include "task_state.h"

static uint32_t *cap_words(struct arena *a, u64 caps)
{
	uint32_t *w = arena_array(a, uint32_t, 2);

	if (w) {
		w[0] = (u32)caps;
		w[1] = (u32)(caps >> 32);
	}
	return w;
}

int dump_creds(const struct proc_status *st, pid_t tid, long secbits, struct arena *a,
	       CredsEntry **out)
{
	CredsEntry *c;
	int i;

	if (secbits < 0) {
		pr_err("PR_GET_SECUREBITS failed in tid %d: %ld\n", tid, secbits);
		return -1;
	}
	c = arena_new(a, CredsEntry);
	if (!c)
		return -1;
	creds_entry__init(c);
	/* as the tree's user namespace sees them */
	c->uid = tree_uid(st->uid[0]);
	c->euid = tree_uid(st->uid[1]);
	c->suid = tree_uid(st->uid[2]);
	c->fsuid = tree_uid(st->uid[3]);
	c->gid = tree_gid(st->gid[0]);
	c->egid = tree_gid(st->gid[1]);
	c->sgid = tree_gid(st->gid[2]);
	c->fsgid = tree_gid(st->gid[3]);
	c->n_cap_inh = c->n_cap_prm = c->n_cap_eff = c->n_cap_bnd = 2;
	c->cap_inh = cap_words(a, st->cap_inh);
	c->cap_prm = cap_words(a, st->cap_prm);
	c->cap_eff = cap_words(a, st->cap_eff);
	c->cap_bnd = cap_words(a, st->cap_bnd);
	c->secbits = secbits;
	c->has_no_new_privs = true;
	c->no_new_privs = st->nnp;
	c->groups = arena_array(a, uint32_t, st->ngroups);
	if (!c->cap_inh || !c->cap_prm || !c->cap_eff || !c->cap_bnd || !c->groups)
		return -1;
	for (i = 0; i < st->ngroups; i++)
		c->groups[i] = tree_gid(st->groups[i]);
	c->n_groups = st->ngroups;
	if (st->cap_amb) {
		pr_err("unsupported: tid %d has ambient capabilities %#llx\n", tid,
		       (unsigned long long)st->cap_amb);
		return -1;
	}
	*out = c;
	return 0;
}

/* ---- restore ---- */

#include "restore.h"

static u64 cap_u64(const uint32_t *w, size_t n)
{
	return (n > 0 ? w[0] : 0) | (n > 1 ? (u64)w[1] << 32 : 0);
}

int prepare_creds(struct rst_creds *rc, CredsEntry *ce, pid_t tid)
{
	size_t i;

	if (!ce) {
		pr_err("core image of tid %d has no credentials\n", tid);
		return -1;
	}
	if (ce->n_groups > RST_NGROUPS_MAX) {
		pr_err("unsupported: tid %d has %zu supplementary groups (at most %d)\n", tid,
		       ce->n_groups, RST_NGROUPS_MAX);
		return -1;
	}
	{
		static long long last = -1;
		u64 valid;

		/* the same for every thread: read it once */
		if (last < 0 && read_int_file("/proc/sys/kernel/cap_last_cap", &last))
			last = 63;
		valid = last >= 63 ? ~0ULL : (1ULL << (last + 1)) - 1;
		if ((cap_u64(ce->cap_eff, ce->n_cap_eff) | cap_u64(ce->cap_prm, ce->n_cap_prm) |
		     cap_u64(ce->cap_inh, ce->n_cap_inh)) & ~valid) {
			pr_err("core image of tid %d claims capabilities above %lld, which this "
			       "kernel does not have\n", tid, last);
			return -1;
		}
	}
	rc->uid = ce->uid;
	rc->euid = ce->euid;
	rc->suid = ce->suid;
	rc->fsuid = ce->fsuid;
	rc->gid = ce->gid;
	rc->egid = ce->egid;
	rc->sgid = ce->sgid;
	rc->fsgid = ce->fsgid;
	rc->secbits = ce->secbits;
	rc->no_new_privs = ce->has_no_new_privs && ce->no_new_privs;
	rc->cap_inh = cap_u64(ce->cap_inh, ce->n_cap_inh);
	rc->cap_prm = cap_u64(ce->cap_prm, ce->n_cap_prm);
	rc->cap_eff = cap_u64(ce->cap_eff, ce->n_cap_eff);
	rc->cap_bnd = cap_u64(ce->cap_bnd, ce->n_cap_bnd);
	rc->ngroups = ce->n_groups;
	for (i = 0; i < ce->n_groups; i++)
		rc->groups[i] = ce->groups[i];
	return 0;
}
