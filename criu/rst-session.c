// SPDX-License-Identifier: GPL-2.0
/*
 * Sessions and process groups whose leader is gone.  A task joins a
 * session only by being forked inside it, and setsid() makes a session
 * whose id is the caller's pid; setpgid() joins only a group that exists
 * in the caller's session.  So a session S whose leader has exited is
 * made again by a helper task with pid S (clone3 set_tid) that calls
 * setsid() and forks the tasks that enter S from outside with
 * CLONE_PARENT: they become children of the helper's parent, which is
 * their dumped parent.  A gone group G is made the same way by a helper
 * with pid G that calls setpgid(0, 0) in the right session (forked by
 * the parent when that is in the session, else by the session's helper
 * with CLONE_PARENT).  Helpers exit as soon as they have forked; the
 * parent reaps them before it goes on, so none is left after restore.
 * Other members join the group with setpgid(), or inherit it.
 */
#include <errno.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pstree.h"
#include "restore.h"
#include "shared.h"
#include "util.h"

#include "rst-internal.h"

struct rst_helper {
	pid_t pid;			/* the gone leader's, in the tree's pid namespace */
	bool session;			/* setsid(); else setpgid(0, 0) */
	pid_t sid;			/* the session it is in */
	struct pstree_item *parent;	/* whose child it is, and so its members */
	int via;			/* the session helper that forks it, or -1 */
	struct pstree_item **members;	/* forked by it with CLONE_PARENT */
	int nr_members;
	bool started;			/* in the parent's memory: forked already */
};

static struct rst_helper *helpers;
static int nr_helpers;

int nr_session_helpers(void)
{
	return nr_helpers;
}

pid_t session_helper_pid(int i)
{
	return helpers[i].pid;
}

static int find_helper(pid_t pid)
{
	int i;

	for (i = 0; i < nr_helpers; i++)
		if (helpers[i].pid == pid)
			return i;
	return -1;
}

static int new_helper(pid_t pid, bool session, pid_t sid, struct pstree_item *parent, int via)
{
	struct rst_helper *h = xrealloc(helpers, (nr_helpers + 1) * sizeof(*h));

	if (!h)
		return -1;
	helpers = h;
	h = &helpers[nr_helpers];
	memset(h, 0, sizeof(*h));
	h->pid = pid;
	h->session = session;
	h->sid = sid;
	h->parent = parent;
	h->via = via;
	pr_info("%s %d has no leader any more: a helper with pid %d, child of %d%s, makes it\n",
		session ? "session" : "group", pid, pid, parent->vpid,
		via >= 0 ? " (forked by the session's helper)" : "");
	return nr_helpers++;
}

static int add_member(int h, struct pstree_item *it)
{
	struct pstree_item **m;

	if (h < 0)
		return 0;
	m = xrealloc(helpers[h].members, (helpers[h].nr_members + 1) * sizeof(*m));
	if (!m)
		return -1;
	helpers[h].members = m;
	m[helpers[h].nr_members++] = it;
	return 0;
}

/* The helper that forks it, or -1: its parent does. */
static int creator_of(struct pstree_item *it)
{
	int i, j;

	for (i = 0; i < nr_helpers; i++)
		for (j = 0; j < helpers[i].nr_members; j++)
			if (helpers[i].members[j] == it)
				return i;
	return -1;
}

static struct pstree_item *tree_task(pid_t vpid)
{
	return vpid > 0 ? pstree_find_vpid(vpid) : NULL;
}

#define refuse(it, fmt, ...)                                                              \
	({                                                                                \
		pr_err("unsupported: pid %d (session %d, group %d): " fmt "\n", (it)->vpid, \
		       (it)->sid, (it)->pgid, ##__VA_ARGS__);                              \
		-1;                                                                       \
	})

/*
 * The session it is forked in: its parent's, or a gone one entered from
 * outside, through that session's helper (*sh).  Sets the group it has
 * right after the fork.
 */
static int plan_session(struct pstree_item *it, int *sh, pid_t *inherit)
{
	struct pstree_item *p = it->parent, *leader;

	*sh = -1;
	*inherit = p->pgid;
	if (it->sid == p->sid || (it->sid == 0 && root_item->sid == 0))
		return 0;
	leader = tree_task(it->sid);
	if (leader)
		return refuse(it, "its parent %d is in session %d; only a task of session %d "
			      "(led by pid %d of the tree) can fork it into it",
			      p->vpid, p->sid, it->sid, leader->vpid);
	if (share_clone_flags(it) || is_vm_child(it))
		return refuse(it, "it enters gone session %d but shares tables with its parent %d",
			      it->sid, p->vpid);
	*sh = find_helper(it->sid);
	if (*sh < 0)
		*sh = new_helper(it->sid, true, it->sid, p, -1);
	else if (!helpers[*sh].session || helpers[*sh].parent != p)
		return refuse(it, "its parent %d is not %d, the parent of the other tasks that "
			      "enter gone session %d from outside", p->vpid,
			      helpers[*sh].parent->vpid, it->sid);
	*inherit = it->sid;
	return *sh < 0 ? -1 : 0;
}

static int plan_one(struct pstree_item *it)
{
	struct pstree_item *leader;
	pid_t inherit;
	int sh, g;

	if (it->sid == it->vpid) {
		if (it->pgid != it->vpid)
			return refuse(it, "a session leader must lead its group");
		return 0;	/* setsid() of its own */
	}
	if (plan_session(it, &sh, &inherit))
		return -1;
	/* its own group, the one it is born in, or root's (a shell job's) */
	if (it->pgid == it->vpid || it->pgid == inherit || it->pgid == 0 ||
	    it->pgid == root_item->pgid)
		return add_member(sh, it);
	leader = tree_task(it->pgid);
	if (leader) {
		if (leader->sid != it->sid)
			return refuse(it, "group %d is in session %d", it->pgid, leader->sid);
		return add_member(sh, it);	/* setpgid() once the leader has it */
	}
	g = find_helper(it->pgid);
	if (g >= 0) {
		if (helpers[g].sid != it->sid)
			return refuse(it, "gone group %d is in session %d", it->pgid,
				      helpers[g].sid);
		return add_member(sh, it);	/* setpgid() once its first member has it */
	}
	/* the first member of a gone group: born in it, from a helper */
	g = new_helper(it->pgid, false, it->sid, it->parent, sh);
	return g < 0 ? -1 : add_member(g, it);
}

/* Who forks whom, for the tasks of sessions and groups whose leader is gone. */
void forget_sessions(void)
{
	int i;

	for (i = 0; i < nr_helpers; i++)
		free(helpers[i].members);
	free(helpers);
	helpers = NULL;
	nr_helpers = 0;
}

int plan_sessions(void)
{
	struct pstree_item *it;

	for_each_item(it) {
		if (it == root_item)
			continue;
		if (plan_one(it))
			return -1;
	}
	return 0;
}

static int reap_helper(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, __WALL) < 0) {
		if (errno != EINTR) {
			pr_perror("cannot reap the session helper %d", pid);
			return -1;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		pr_err("the session helper %d failed (status %#x)\n", pid, status);
		return -1;
	}
	return 0;
}

static int start_helper(int h, unsigned long flags);

static void __attribute__((noreturn)) helper_main(int h)
{
	struct rst_helper *hp = &helpers[h];
	int i;

	log_set_pid();
	if (hp->session ? setsid() < 0 : setpgid(0, 0) < 0) {
		pr_perror("helper %d cannot make its %s", hp->pid,
			  hp->session ? "session" : "group");
		task_failed();
	}
	/* group helpers of this session, then its members: all children of our parent */
	for (i = 0; i < nr_helpers; i++)
		if (helpers[i].via == h && start_helper(i, CLONE_PARENT))
			task_failed();
	for (i = 0; i < hp->nr_members; i++)
		if (fork_task_flags(hp->members[i], CLONE_PARENT))
			task_failed();
	_exit(0);
}

static int start_helper(int h, unsigned long flags)
{
	struct clone_args ca;
	pid_t tid = helpers[h].pid;
	long pid;

	memset(&ca, 0, sizeof(ca));
	ca.flags = flags;
	/* with CLONE_PARENT the child takes our exit signal: clone3 wants 0 */
	ca.exit_signal = flags & CLONE_PARENT ? 0 : SIGCHLD;
	ca.set_tid = (u64)(unsigned long)&tid;
	ca.set_tid_size = 1;
	pid = clone3_soon_free(&ca);
	if (pid < 0) {
		pr_perror("cannot create the helper with pid %d for its gone %s", tid,
			  helpers[h].session ? "session" : "group");
		return -1;
	}
	if (pid == 0)
		helper_main(h);
	return 0;
}

/*
 * Called by each task for each child: 1 if a helper forks that child
 * (started here on the first such child, and reaped with the helpers it
 * forked in turn), 0 if the task forks it itself.
 */
int fork_by_helper(struct pstree_item *child)
{
	int h = creator_of(child), top, i;

	if (h < 0)
		return 0;
	top = helpers[h].via >= 0 ? helpers[h].via : h;
	if (helpers[top].started)
		return 1;
	helpers[top].started = true;
	if (start_helper(top, 0) || reap_helper(helpers[top].pid))
		return -1;
	for (i = 0; i < nr_helpers; i++)
		if (helpers[i].via == top && reap_helper(helpers[i].pid))
			return -1;
	return 1;
}
