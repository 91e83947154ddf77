// SPDX-License-Identifier: GPL-2.0
/*
 * Cgroups, v1 controllers and the v2 hierarchy alike.
 *
 * Dump: each task's /proc/PID/cgroup is a "set" (a path per hierarchy);
 * core's tc.cg_set names it, inventory's root_cg_set names criu's own.
 * When some task is not where criu is, cgroup.img gets the sets and, per
 * hierarchy, the cgroups below the tasks' paths with their properties and
 * owners (--manage-cgroups modes other than ignore).
 *
 * Restore: before the fork criu reaches every hierarchy (a mount of its
 * own, a --cgroup-yard, or the mount criu sees), makes or checks the
 * cgroups as the mode says, writes the properties that must come first,
 * and opens the cgroup.procs files the tasks need.  Each new task writes
 * "0" into them first thing (the kernel checks the opener, criu); the
 * other properties are written once every task is made (a pids.max could
 * otherwise refuse the restore's own forks).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "cgroup-internal.h"
#include "cr_options.h"
#include "files.h"
#include "image.h"
#include "log.h"
#include "pstree.h"
#include "restore.h"
#include "util.h"
#include "cgroup.pb-c.h"
#include "core.pb-c.h"

struct cg_set {
	u32 id;
	int n;
	struct cg_member *m;	/* sorted by name */
	bool of_task;		/* some task of the tree lives in it */
};

static struct cg_set *sets;
static int nr_sets;
static u32 criu_set_id;

void cg_members_free(struct cg_member *m, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		free(m[i].name);
		free(m[i].path);
	}
	free(m);
}

static int cmp_member(const void *a, const void *b)
{
	return strcmp(((const struct cg_member *)a)->name, ((const struct cg_member *)b)->name);
}

/* /proc/PID/cgroup (pid 0: criu's own): "ID:NAME:PATH" lines */
int cg_parse_proc(pid_t pid, struct cg_member **out, int *nr)
{
	char path[64], *buf, *line, *save = NULL;
	struct cg_member *m = NULL;
	int n = 0;

	snprintf(path, sizeof(path), pid ? "/proc/%d/cgroup" : "/proc/self/cgroup", pid);
	if (read_file(path, &buf) < 0) {
		pr_perror("cannot read %s", path);
		return -1;
	}
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *name = strchr(line, ':'), *p = name ? strchr(name + 1, ':') : NULL;
		struct cg_member *nm;

		if (!p) {
			pr_err("%s: cannot parse \"%s\"\n", path, line);
			goto err;
		}
		*p++ = '\0';
		if (!cg_controller_dumped(++name))
			continue;
		nm = xrealloc(m, (n + 1) * sizeof(*m));
		if (!nm)
			goto err;
		m = nm;
		m[n].name = xstrdup(name);
		m[n].path = xstrdup(p);
		if (!m[n++].name || !m[n - 1].path)
			goto err;
	}
	free(buf);
	qsort(m, n, sizeof(*m), cmp_member);
	*out = m;
	*nr = n;
	return 0;
err:
	free(buf);
	cg_members_free(m, n);
	return -1;
}

static struct cg_set *find_set(struct cg_member *m, int n)
{
	int i, j;

	for (i = 0; i < nr_sets; i++) {
		if (sets[i].n != n)
			continue;
		for (j = 0; j < n; j++)
			if (strcmp(sets[i].m[j].name, m[j].name) ||
			    strcmp(sets[i].m[j].path, m[j].path))
				break;
		if (j == n)
			return &sets[i];
	}
	return NULL;
}

static struct cg_set *get_set(pid_t pid)
{
	struct cg_member *m;
	struct cg_set *s;
	int n;

	if (cg_parse_proc(pid, &m, &n))
		return NULL;
	s = find_set(m, n);
	if (s) {
		cg_members_free(m, n);
		return s;
	}
	s = xrealloc(sets, (nr_sets + 1) * sizeof(*s));
	if (!s) {
		cg_members_free(m, n);
		return NULL;
	}
	sets = s;
	s = &sets[nr_sets++];
	memset(s, 0, sizeof(*s));
	s->id = nr_sets;
	s->m = m;
	s->n = n;
	for (n = 0; n < s->n; n++)
		pr_debug("cgroup set %u: %s -> %s\n", s->id, m[n].name, m[n].path);
	return s;
}

u32 dump_criu_cgroup_set(void)
{
	struct cg_set *s;

	if (!criu_set_id) {
		s = get_set(0);
		criu_set_id = s ? s->id : 0;
	}
	return criu_set_id;
}

int dump_task_cgroup(pid_t pid, u32 *set_id)
{
	struct cg_set *s;

	if (!dump_criu_cgroup_set())
		return -1;
	s = get_set(pid);
	if (!s)
		return -1;
	s->of_task = true;
	*set_id = s->id;
	pr_info("pid %d is in cgroup set %u%s\n", pid, s->id,
		s->id == criu_set_id ? " (criu's)" : "");
	return 0;
}

/* ---- dump: cgroup.img ---- */

static int fill_sets(CgroupEntry *ce)
{
	int i, j;

	ce->sets = xzalloc(nr_sets * sizeof(*ce->sets));
	if (!ce->sets)
		return -1;
	for (i = 0; i < nr_sets; i++) {
		CgSetEntry *se;

		/* criu's own set only if a task is in it (its parent may not be) */
		if (!sets[i].of_task)
			continue;
		se = xzalloc(sizeof(*se) + sets[i].n * (sizeof(CgMemberEntry *) +
							sizeof(CgMemberEntry)));
		if (!se)
			return -1;
		cg_set_entry__init(se);
		se->id = sets[i].id;
		se->n_ctls = sets[i].n;
		se->ctls = (CgMemberEntry **)(se + 1);
		for (j = 0; j < sets[i].n; j++) {
			CgMemberEntry *me = (CgMemberEntry *)(se->ctls + se->n_ctls) + j;

			cg_member_entry__init(me);
			me->name = sets[i].m[j].name;
			me->path = sets[i].m[j].path;
			se->ctls[j] = me;
		}
		ce->sets[ce->n_sets++] = se;
	}
	return 0;
}

/* The distinct paths of the dumped sets in hierarchy name, NULL-ended. */
static int paths_of(const char *name, char ***out, int *nr)
{
	const char *root = cg_root_of(name);
	char **h = NULL;
	int i, j, n = 0;

	for (i = 0; i < nr_sets; i++) {
		const char *p = NULL;

		for (j = 0; sets[i].of_task && j < sets[i].n; j++)
			if (!strcmp(sets[i].m[j].name, name))
				p = root ?: sets[i].m[j].path;
		for (j = 0; p && j < n; j++)
			if (!strcmp(h[j], p))
				p = NULL;
		if (!p)
			continue;
		h = xrealloc(h, (n + 2) * sizeof(*h));
		if (!h)
			return -1;
		h[n++] = (char *)p;
		h[n] = NULL;
	}
	*out = h;
	*nr = n;
	return 0;
}

/* a head: a path not inside another one (those are walked as its descendants) */
static bool is_head(char **paths, int n, int i)
{
	int j;

	for (j = 0; j < n; j++)
		if (j != i && cg_path_within(paths[i], paths[j]))
			return false;
	return true;
}

static int fill_controller(CgControllerEntry *cc, const char *name)
{
	struct cg_hier hr;
	char **heads;
	int i, nh, ret = -1;

	if (cg_split_names(name, &cc->cnames, &cc->n_cnames))
		return -1;
	if (opts.manage_cgroups == CG_MODE_IGNORE)
		return 0;
	if (paths_of(name, &heads, &nh))
		return -1;
	if (!nh) {
		free(heads);
		return 0;
	}
	if (cg_open_hier(name, &hr))
		goto out;
	cc->dirs = xzalloc(nh * sizeof(*cc->dirs));
	if (!cc->dirs)
		goto close;
	for (i = 0; i < nh; i++) {
		const char *own = cg_member_path(sets[criu_set_id - 1].m,
						 sets[criu_set_id - 1].n, name);
		CgroupDirEntry *de;

		if (!is_head(heads, nh, i))
			continue;
		/* below criu's own cgroup only what leads to the tasks' */
		de = cg_dump_dir(&hr, heads[i], heads[i][0] ? heads[i] + 1 : "",
				 own && !strcmp(own, heads[i]) ? (const char *const *)heads : NULL);
		if (!de)
			goto close;
		cc->dirs[cc->n_dirs++] = de;
	}
	ret = cg_add_freezer_state(cc, name, &hr);
close:
	cg_close_hier(&hr);
out:
	free(heads);
	return ret;
}

static void free_entry(CgroupEntry *ce)
{
	size_t i, j;

	for (i = 0; i < ce->n_sets; i++)
		free(ce->sets[i]);
	free(ce->sets);
	for (i = 0; i < ce->n_controllers; i++) {
		CgControllerEntry *cc = ce->controllers[i];

		for (j = 0; j < cc->n_cnames; j++)
			free(cc->cnames[j]);
		free(cc->cnames);
		for (j = 0; j < cc->n_dirs; j++)
			cg_free_dir(cc->dirs[j]);
		free(cc->dirs);
		free(cc);
	}
	free(ce->controllers);
}

int dump_cgroups(void)
{
	CgroupEntry ce = CGROUP_ENTRY__INIT;
	struct cg_set *criu = criu_set_id ? &sets[criu_set_id - 1] : NULL;
	int i, ret = -1;

	if (!criu || (nr_sets == 1 && criu->of_task)) {
		pr_info("every task is in criu's cgroups: no cgroup.img\n");
		return 0;
	}
	if (fill_sets(&ce))
		goto out;
	/* the hierarchies are criu's: every one a task can be in */
	ce.controllers = xzalloc(criu->n * sizeof(*ce.controllers));
	if (!ce.controllers)
		goto out;
	for (i = 0; i < criu->n; i++) {
		CgControllerEntry *cc = xzalloc(sizeof(*cc));

		if (!cc)
			goto out;
		cg_controller_entry__init(cc);
		ce.controllers[ce.n_controllers++] = cc;
		if (fill_controller(cc, criu->m[i].name))
			goto out;
	}
	pr_info("cgroup.img: %zu sets, %zu hierarchies (mode %d)\n", ce.n_sets,
		ce.n_controllers, opts.manage_cgroups);
	ret = pb_write_image(CR_FD_CGROUP, &ce.base, 0);
out:
	free_entry(&ce);
	return ret;
}

void cgroup_dump_fini(void)
{
	int i;

	for (i = 0; i < nr_sets; i++)
		cg_members_free(sets[i].m, sets[i].n);
	free(sets);
	sets = NULL;
	nr_sets = 0;
	criu_set_id = 0;
}

/* ---- restore ---- */

static CgroupEntry *rce;
static struct cg_hier *rh;	/* per rce->controllers[i]; fd -1 when not needed */
static int **procs;		/* per set, per member: its cgroup.procs, or -1 */
static struct cg_late *late;
static int nr_late;
static u32 inv_root_set;

void cgroup_note_inventory(bool has_root_set, u32 root_set)
{
	inv_root_set = has_root_set ? root_set : 0;
}

static int set_index(u32 id)
{
	size_t i;

	for (i = 0; rce && i < rce->n_sets; i++)
		if (rce->sets[i]->id == id)
			return i;
	return -1;
}

static int hier_index(const char *name)
{
	size_t i;

	for (i = 0; i < rce->n_controllers; i++) {
		CgControllerEntry *cc = rce->controllers[i];
		char *n = cg_join_names(cc->cnames, cc->n_cnames);
		bool eq = n && !strcmp(n, name);

		free(n);
		if (eq)
			return i;
	}
	return -1;
}

/* path under old, moved under newroot */
static char *reroot(const char *path, const char *old, const char *newroot)
{
	const char *rest = strcmp(old, "/") ? path + strlen(old) : path;
	char *r;

	if (!strcmp(rest, "/"))
		rest = "";
	if (asprintf(&r, "%s%s", strcmp(newroot, "/") || !rest[0] ? newroot : "", rest) < 0)
		return NULL;
	return r;
}

/* the sets' paths of hierarchy name at or below old, moved under newroot */
static int reroot_sets(const char *name, const char *old, const char *newroot)
{
	size_t s, k;

	for (s = 0; s < rce->n_sets; s++) {
		for (k = 0; k < rce->sets[s]->n_ctls; k++) {
			CgMemberEntry *m = rce->sets[s]->ctls[k];
			char *np;

			if (strcmp(m->name, name) ||
			    (strcmp(m->path, old) && !cg_path_within(m->path, old)))
				continue;
			np = reroot(m->path, old, newroot);
			if (!np)
				return -1;
			pr_info("--cgroup-root: %s:%s is now %s\n", name, m->path, np);
			free(m->path);
			m->path = np;
		}
	}
	return 0;
}

/* --cgroup-root at restore: the heads of a hierarchy, and the sets, move under it */
static int rewrite_roots(void)
{
	size_t i, j;
	int ret = 0;

	for (i = 0; !ret && i < rce->n_controllers; i++) {
		CgControllerEntry *cc = rce->controllers[i];
		char *name = cg_join_names(cc->cnames, cc->n_cnames);
		const char *nr = name ? cg_root_of(name) : NULL;

		for (j = 0; !ret && nr && j < cc->n_dirs; j++) {
			CgroupDirEntry *d = cc->dirs[j];
			char old[PATH_MAX];

			snprintf(old, sizeof(old), "/%s", d->dir_name);
			ret = reroot_sets(name, old, nr);
			free(d->dir_name);
			d->dir_name = xstrdup(nr + 1);
			if (!d->dir_name)
				ret = -1;
		}
		free(name);
	}
	return ret;
}

static bool hier_used(const char *name)
{
	size_t s, k;

	for (s = 0; s < rce->n_sets; s++)
		for (k = 0; k < rce->sets[s]->n_ctls; k++)
			if (!strcmp(rce->sets[s]->ctls[k]->name, name))
				return true;
	return false;
}

static int prepare_hiers(void)
{
	struct cg_member *cur;
	size_t i, j;
	int nr_cur, ret = -1;

	if (cg_parse_proc(0, &cur, &nr_cur))
		return -1;
	rh = xzalloc(rce->n_controllers * sizeof(*rh));
	if (!rh)
		goto out;
	for (i = 0; i < rce->n_controllers; i++)
		rh[i].fd = -1;
	for (i = 0; i < rce->n_controllers; i++) {
		CgControllerEntry *cc = rce->controllers[i];
		char *name = cg_join_names(cc->cnames, cc->n_cnames);
		bool skip = !name || !hier_used(name);

		if (!skip && !cg_member_path(cur, nr_cur, name)) {
			pr_err("cgroup hierarchy \"%s\" of the image is not on this host "
			       "(--manage-cgroups=ignore restores without cgroups)\n", name);
			free(name);
			goto out;
		}
		if (!skip && cg_open_hier(name, &rh[i])) {
			free(name);
			goto out;
		}
		free(name);
		for (j = 0; !skip && j < cc->n_dirs; j++)
			if (cg_make_dirs(&rh[i], i, NULL, cc->dirs[j], &late, &nr_late))
				goto out;
	}
	ret = 0;
out:
	cg_members_free(cur, nr_cur);
	return ret;
}

static int open_procs(int s, int k, pid_t vpid)
{
	CgMemberEntry *m = rce->sets[s]->ctls[k];
	int h = hier_index(m->name), fd;
	char rel[PATH_MAX], file[PATH_MAX + 16];

	if (h < 0 || rh[h].fd < 0) {
		pr_err("cgroup.img: set %u names hierarchy \"%s\", which it does not describe\n",
		       rce->sets[s]->id, m->name);
		return -1;
	}
	snprintf(file, sizeof(file), "%s/cgroup.procs",
		 cg_rel(&rh[h], m->path, rel, sizeof(rel)));
	fd = openat(rh[h].fd, file, O_WRONLY);
	if (fd < 0) {
		pr_perror("cannot put pid %d into cgroup %s:%s (open cgroup.procs; "
			  "--manage-cgroups=ignore restores without cgroups)", vpid, m->name,
			  m->path);
		return -1;
	}
	procs[s][k] = move_to_svc(fd);
	return procs[s][k] < 0 ? -1 : 0;
}

/* where the task starts: its parent's set, or criu's cgroups for the root */
static const char *start_path(struct pstree_item *it, const char *name, struct cg_member *cur,
			      int nr_cur)
{
	int ps = it->parent ? set_index(rst_of(it->parent)->cores[0]->tc->cg_set) : -1;
	size_t k;

	for (k = 0; ps >= 0 && k < rce->sets[ps]->n_ctls; k++)
		if (!strcmp(rce->sets[ps]->ctls[k]->name, name))
			return rce->sets[ps]->ctls[k]->path;
	return cg_member_path(cur, nr_cur, name);
}

/* The cgroup.procs of every cgroup a task must move into, opened by criu. */
static int prepare_procs(void)
{
	struct cg_member *cur;
	struct pstree_item *it;
	int nr_cur, s, ret = -1;
	size_t k;

	if (cg_parse_proc(0, &cur, &nr_cur))
		return -1;
	procs = xzalloc(rce->n_sets * sizeof(*procs));
	for (s = 0; procs && s < (int)rce->n_sets; s++) {
		procs[s] = xmalloc(rce->sets[s]->n_ctls * sizeof(int) + 1);
		if (!procs[s])
			goto out;
		for (k = 0; k < rce->sets[s]->n_ctls; k++)
			procs[s][k] = -1;
	}
	if (!procs)
		goto out;
	for_each_item(it) {
		if (it->state == TASK_DEAD)
			continue;
		s = set_index(rst_of(it)->cores[0]->tc->cg_set);
		for (k = 0; s >= 0 && k < rce->sets[s]->n_ctls; k++) {
			CgMemberEntry *m = rce->sets[s]->ctls[k];
			const char *from = start_path(it, m->name, cur, nr_cur);

			if (procs[s][k] >= 0 || (from && !strcmp(from, m->path)))
				continue;
			if (open_procs(s, k, it->vpid))
				goto out;
		}
	}
	ret = 0;
out:
	cg_members_free(cur, nr_cur);
	return ret;
}

int prepare_cgroups(void)
{
	int ret;

	if (opts.manage_cgroups == CG_MODE_IGNORE) {
		pr_info("--manage-cgroups=ignore: the tasks stay in criu's cgroups\n");
		return 0;
	}
	ret = pb_read_image(CR_FD_CGROUP, O_RSTR | O_OPT, (void **)&rce,
			    &cgroup_entry__descriptor, 0);
	if (ret <= 0)
		return ret;
	if (!rce->n_sets) {
		pr_info("cgroup.img has no sets: the tasks stay in criu's cgroups\n");
		return 0;
	}
	pr_info("cgroups: %zu sets, %zu hierarchies, mode %s, criu's set at the dump %u\n",
		rce->n_sets, rce->n_controllers, cg_mode_name(opts.manage_cgroups), inv_root_set);
	if (rewrite_roots() || prepare_hiers() || prepare_procs())
		return -1;
	return 0;
}

int restore_task_cgroup(struct pstree_item *it)
{
	struct cg_member *now;
	int s, n, ret = -1;
	size_t k;

	if (!procs || it->state == TASK_DEAD)
		return 0;
	s = set_index(rst_of(it)->cores[0]->tc->cg_set);
	if (s < 0)
		return 0;
	/* what the task inherited, from its parent or a helper */
	if (cg_parse_proc(0, &now, &n))
		return -1;
	for (k = 0; k < rce->sets[s]->n_ctls; k++) {
		CgMemberEntry *m = rce->sets[s]->ctls[k];
		const char *cur = cg_member_path(now, n, m->name);

		if (cur && !strcmp(cur, m->path))
			continue;
		if (procs[s][k] < 0) {
			pr_err("pid %d: cgroup.procs of %s:%s was not opened\n", it->vpid, m->name,
			       m->path);
			goto out;
		}
		if (write(procs[s][k], "0", 1) != 1) {
			pr_perror("cannot move pid %d into cgroup %s:%s", it->vpid, m->name,
				  m->path);
			goto out;
		}
		pr_info("pid %d moved into cgroup %s:%s\n", it->vpid, m->name, m->path);
	}
	ret = 0;
out:
	cg_members_free(now, n);
	return ret;
}

int restore_cgroup_props(void)
{
	int i;

	for (i = 0; i < nr_late; i++)
		if (cg_write_props(&rh[late[i].hier], late[i].path, late[i].de, false))
			return -1;
	return 0;
}

/* a freezer state saved by --freeze-cgroup: a tree dumped frozen comes back frozen */
int restore_cgroup_freezer(void)
{
	int i;
	size_t j;

	for (i = 0; i < nr_late; i++) {
		CgroupDirEntry *de = late[i].de;

		for (j = 0; j < de->n_properties; j++) {
			CgroupPropEntry *p = de->properties[j];
			struct cg_hier *h = &rh[late[i].hier];
			char rel[PATH_MAX], file[PATH_MAX + 32];
			bool v2 = !strcmp(p->name, "cgroup.freeze");
			const char *v = v2 ? "1" : "FROZEN";

			if ((!v2 && strcmp(p->name, "freezer.state")) || strcmp(p->value, v))
				continue;
			snprintf(file, sizeof(file), "%s/%s",
				 cg_rel(h, late[i].path, rel, sizeof(rel)), p->name);
			if (cg_write_at(h->fd, file, v)) {
				pr_perror("cannot freeze cgroup %s again", late[i].path);
				return -1;
			}
			pr_info("cgroup %s frozen again, as it was dumped\n", late[i].path);
		}
	}
	return 0;
}

void cgroup_restore_failed(void)
{
	cg_remove_made(true);
}

void cgroup_restore_fini(void)
{
	size_t i;
	int k;

	cg_remove_made(false);
	for (i = 0; procs && i < rce->n_sets; i++) {
		for (k = 0; procs[i] && k < (int)rce->sets[i]->n_ctls; k++)
			if (procs[i][k] >= 0)
				close(procs[i][k]);
		free(procs[i]);
	}
	free(procs);
	procs = NULL;
	for (k = 0; rh && rce && k < (int)rce->n_controllers; k++)
		cg_close_hier(&rh[k]);
	free(rh);
	rh = NULL;
	for (k = 0; k < nr_late; k++)
		free(late[k].path);
	free(late);
	late = NULL;
	nr_late = 0;
	pb_free(rce);
	rce = NULL;
}
