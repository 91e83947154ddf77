// SPDX-License-Identifier: GPL-2.0
/* The process tree: who is whose parent, sessions, groups, threads. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image.h"
#include "pstree.h"
#include "pstree.pb-c.h"

LIST_HEAD(all_items);
struct pstree_item *root_item;

struct pstree_item *alloc_pstree_item(pid_t pid, struct pstree_item *parent)
{
	struct pstree_item *it = xzalloc(sizeof(*it));

	if (!it)
		return NULL;
	it->pid = pid;
	it->vpid = pid;
	it->state = TASK_ALIVE;
	it->parent = parent;
	INIT_LIST_HEAD(&it->children);
	INIT_LIST_HEAD(&it->sibling);
	if (parent)
		list_add_tail(&it->sibling, &parent->children);
	list_add_tail(&it->all, &all_items);
	return it;
}

void free_pstree(void)
{
	struct pstree_item *it, *n;

	list_for_each_entry_safe(it, n, &all_items, all) {
		list_del(&it->all);
		free(it->threads);
		free(it);
	}
	root_item = NULL;
}

struct pstree_item *pstree_find(pid_t pid)
{
	struct pstree_item *it;

	for_each_item(it)
		if (it->pid == pid || (it->leader_exited && it->leader_pid == pid))
			return it;
	return NULL;
}

struct pstree_item *pstree_find_vpid(pid_t vpid)
{
	struct pstree_item *it;

	for_each_item(it)
		if (it->vpid == vpid)
			return it;
	return NULL;
}

int pstree_count(void)
{
	struct pstree_item *it;
	int n = 0;

	for_each_item(it)
		n++;
	return n;
}

int dump_pstree(void)
{
	struct pstree_item *it;
	struct cr_img *img;
	int ret = -1;

	img = open_image(CR_FD_PSTREE, O_DUMP);
	if (!img)
		return -1;

	for_each_item(it) {
		PstreeEntry e = PSTREE_ENTRY__INIT;
		uint32_t *tids;
		int i, n = 0;

		tids = xmalloc(sizeof(*tids) * (it->nr_threads + 1));
		if (!tids)
			goto out;
		/* an exited leader is still the first thread of its process */
		if (it->leader_exited)
			tids[n++] = it->vpid;
		for (i = 0; i < it->nr_threads; i++)
			tids[n++] = it->threads[i].vtid;
		e.pid = it->vpid;
		e.ppid = it->ppid;
		e.pgid = it->pgid;
		e.sid = it->sid;
		e.n_threads = n;
		e.threads = tids;
		ret = pb_write(img, &e);
		free(tids);
		if (ret)
			goto out;
		pr_debug("pstree: pid %d ppid %d pgid %d sid %d threads %d\n",
			 it->vpid, it->ppid, it->pgid, it->sid, it->nr_threads);
	}
	ret = 0;
out:
	if (close_image(img))
		ret = -1;
	return ret;
}

static int check_tree_entry(struct cr_img *img, PstreeEntry *e)
{
	size_t i;

	if (e->pid == 0 || e->n_threads == 0) {
		pr_err("%s: entry for pid %u has %s\n", img->name, e->pid,
		       e->pid ? "no threads" : "pid 0");
		return -1;
	}
	if (pstree_find_vpid(e->pid)) {
		pr_err("%s: pid %u appears twice\n", img->name, e->pid);
		return -1;
	}
	for (i = 0; i < e->n_threads; i++)
		if (e->threads[i] == 0) {
			pr_err("%s: pid %u has a thread with tid 0\n", img->name, e->pid);
			return -1;
		}
	if (e->threads[0] != e->pid) {
		pr_err("%s: pid %u: the first thread must be the leader, not %u\n",
		       img->name, e->pid, e->threads[0]);
		return -1;
	}
	return 0;
}

static int add_tree_entry(struct cr_img *img, PstreeEntry *e)
{
	struct pstree_item *parent = NULL, *it;
	size_t i;

	if (root_item) {
		parent = pstree_find_vpid(e->ppid);
		if (!parent) {
			pr_err("%s: parent %u of pid %u is not in the tree before it\n",
			       img->name, e->ppid, e->pid);
			return -1;
		}
	}
	it = alloc_pstree_item(e->pid, parent);
	if (!it)
		return -1;
	it->ppid = e->ppid;
	it->pgid = e->pgid;
	it->sid = e->sid;
	it->nr_threads = e->n_threads;
	it->threads = xzalloc(sizeof(*it->threads) * e->n_threads);
	if (!it->threads)
		return -1;
	for (i = 0; i < e->n_threads; i++) {
		it->threads[i].tid = e->threads[i];
		it->threads[i].vtid = e->threads[i];
	}
	if (!root_item)
		root_item = it;
	return 0;
}

/*
 * Every pid and tid of the tree has its core image: an edited or foreign
 * pstree.img names tasks that were never dumped, and would otherwise
 * fail later with a misleading message (a session led from outside).
 */
static int check_tree_cores(struct cr_img *img)
{
	struct pstree_item *it;
	char name[64];
	int i;

	for_each_item(it)
		for (i = 0; i < it->nr_threads; i++) {
			snprintf(name, sizeof(name), "core-%d.img", it->threads[i].vtid);
			if (!faccessat(get_image_dir_fd(), name, F_OK, 0))
				continue;
			if (errno == ENOENT)
				pr_err("%s names %s %d, but there is no %s: the images do not "
				       "belong together (edited?)\n", img->name,
				       i ? "thread" : "pid", it->threads[i].vtid, name);
			else
				pr_perror("cannot look for %s", name);
			return -1;
		}
	return 0;
}

int read_pstree_image(void)
{
	struct cr_img *img;
	int ret;

	img = open_image(CR_FD_PSTREE, O_RSTR);
	if (!img)
		return -1;
	for (;;) {
		PstreeEntry *e;

		ret = pb_read_one_eof(img, (void **)&e, &pstree_entry__descriptor);
		if (ret <= 0)
			break;
		ret = check_tree_entry(img, e);
		if (!ret)
			ret = add_tree_entry(img, e);
		pb_free(e);
		if (ret)
			break;
	}
	if (!ret && !root_item) {
		pr_err("%s: the image holds no process\n", img->name);
		ret = -1;
	}
	if (!ret)
		ret = check_tree_cores(img);
	close_image(img);
	return ret;
}
