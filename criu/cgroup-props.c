// SPDX-License-Identifier: GPL-2.0
/*
 * Which control files of a cgroup are saved: a built-in list per
 * controller (the kernel's file names), changed with --cgroup-props /
 * --cgroup-props-file, whose text is CRIU's simplified YAML:
 *
 *   "cpu":
 *    - "strategy": "merge"
 *    - "properties": ["cpu.shares", "cpu.cfs_quota_us"]
 *
 * "merge" adds to the built-in list, "replace" puts the given one instead.
 * --cgroup-dump-controller keeps only the named hierarchies (cgroup.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"
#include "log.h"
#include "util.h"

struct cg_props {
	const char *ctrl;
	const char *const *props;
};

static const char *const cpu_props[] = { "cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us",
	"cpu.rt_period_us", "cpu.rt_runtime_us", NULL };
/* the limit before memsw: memsw may not go below it */
static const char *const memory_props[] = { "memory.limit_in_bytes",
	"memory.memsw.limit_in_bytes", "memory.swappiness", "memory.soft_limit_in_bytes",
	"memory.move_charge_at_immigrate", "memory.oom_control", "memory.use_hierarchy",
	"memory.kmem.limit_in_bytes", "memory.kmem.tcp.limit_in_bytes", NULL };
static const char *const cpuset_props[] = { "cpuset.cpus", "cpuset.mems",
	"cpuset.memory_migrate", "cpuset.cpu_exclusive", "cpuset.mem_exclusive",
	"cpuset.mem_hardwall", "cpuset.memory_spread_page", "cpuset.memory_spread_slab",
	"cpuset.sched_load_balance", "cpuset.sched_relax_domain_level", NULL };
static const char *const blkio_props[] = { "blkio.weight", NULL };
static const char *const net_cls_props[] = { "net_cls.classid", NULL };
static const char *const net_prio_props[] = { "net_prio.ifpriomap", NULL };
static const char *const pids_props[] = { "pids.max", NULL };
static const char *const devices_props[] = { "devices.list", NULL };
static const char *const none_props[] = { NULL };
/* v1: in every hierarchy; cgroup.procs and tasks for their owner and mode only */
static const char *const v1_global[] = { "cgroup.clone_children", "notify_on_release",
	"cgroup.procs", "tasks", NULL };
/*
 * v2 (controller ""): subtree_control first, since it decides which files
 * the children have; the controllers' files exist only where enabled.
 */
static const char *const v2_props[] = { "cgroup.subtree_control", "cgroup.max.descendants",
	"cgroup.max.depth", "cpu.weight", "cpu.max", "memory.min", "memory.low",
	"memory.high", "memory.max", "memory.swap.max", "pids.max", "io.weight",
	"cpuset.cpus", "cpuset.mems", "cgroup.procs", "cgroup.threads", NULL };

static const struct cg_props builtin[] = {
	{ "cpu", cpu_props }, { "memory", memory_props }, { "cpuset", cpuset_props },
	{ "blkio", blkio_props }, { "net_cls", net_cls_props }, { "net_prio", net_prio_props },
	{ "pids", pids_props }, { "devices", devices_props }, { "freezer", none_props },
	{ "perf_event", none_props }, { "", v2_props },
};

/* what must be written right after mkdir, before any task or child enters */
static const char *const early[] = { "cpuset.cpus", "cpuset.mems", "devices.list",
	"memory.kmem.limit_in_bytes", "memory.swappiness", "memory.oom_control",
	"memory.use_hierarchy", NULL };

struct user_props {
	char *ctrl;
	bool merge;
	char **props;		/* NULL-ended; with merge: the built-in ones first */
	int nr;
};

static struct user_props *uprops;
static int nr_uprops;

bool cg_prop_is_early(const char *name)
{
	int i;

	for (i = 0; early[i]; i++)
		if (!strcmp(early[i], name))
			return true;
	return false;
}

static const char *const *builtin_of(const char *ctrl)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(builtin); i++)
		if (!strcmp(builtin[i].ctrl, ctrl))
			return builtin[i].props;
	return NULL;
}

static int count(const char *const *p)
{
	int n = 0;

	while (p && p[n])
		n++;
	return n;
}

/*
 * The files of one controller: the user's (merged or replacing) or the
 * built-in ones; v1 hierarchies add the global files (see cgroup.c).
 */
const char *const *cg_props_of(const char *ctrl, int *nr)
{
	const char *const *b = builtin_of(ctrl);
	int i;

	for (i = 0; i < nr_uprops; i++) {
		if (strcmp(uprops[i].ctrl, ctrl))
			continue;
		*nr = uprops[i].nr;
		return (const char *const *)uprops[i].props;
	}
	*nr = count(b);
	return b;
}

const char *const *cg_global_props(bool v2)
{
	return v2 ? none_props : v1_global;
}

/* ---- the simplified YAML ---- */

struct tok {
	const char *p, *end;
	char word[256];
};

/* the next token: a quoted word (in t->word) or one of : - [ ] , */
static int next_tok(struct tok *t)
{
	const char *q;

	while (t->p < t->end && strchr(" \t\r\n", *t->p))
		t->p++;
	if (t->p >= t->end)
		return 0;
	if (*t->p != '"')
		return *t->p++;
	q = memchr(t->p + 1, '"', t->end - t->p - 1);
	if (!q || q - t->p - 1 >= (long)sizeof(t->word))
		return -1;
	memcpy(t->word, t->p + 1, q - t->p - 1);
	t->word[q - t->p - 1] = '\0';
	t->p = q + 1;
	return '"';
}

static int expect(struct tok *t, int what, const char *word)
{
	int c = next_tok(t);

	if (c == what && (!word || !strcmp(t->word, word)))
		return 0;
	pr_err("--cgroup-props: expected %s%s%s near \"%.20s\"\n", what == '"' ? "\"" : "",
	       word ? word : (what == '"' ? "a quoted name" : (char[]){ (char)what, 0 }),
	       what == '"' && word ? "\"" : "", t->p < t->end ? t->p : "(end)");
	return -1;
}

static int add_prop(struct user_props *u, const char *name)
{
	char **n = xrealloc(u->props, (u->nr + 2) * sizeof(*n));

	if (!n)
		return -1;
	u->props = n;
	n[u->nr] = xstrdup(name);
	if (!n[u->nr])
		return -1;
	n[++u->nr] = NULL;
	return 0;
}

static struct user_props *user_entry(const char *ctrl, bool merge)
{
	struct user_props *u;
	const char *const *b;
	int i;

	for (i = 0; i < nr_uprops; i++)
		if (!strcmp(uprops[i].ctrl, ctrl))
			break;
	if (i == nr_uprops) {
		u = xrealloc(uprops, (nr_uprops + 1) * sizeof(*u));
		if (!u)
			return NULL;
		uprops = u;
		u = &uprops[nr_uprops++];
		memset(u, 0, sizeof(*u));
		u->ctrl = xstrdup(ctrl);
		b = builtin_of(ctrl);
	} else {
		u = &uprops[i];
		b = (const char *const *)u->props;
		u->props = NULL;	/* rebuilt below from the previous list */
		u->nr = 0;
	}
	for (i = 0; merge && b && b[i]; i++)
		if (add_prop(u, b[i]))
			return NULL;
	u->merge = merge;
	return u;
}

static int parse_one(struct tok *t, const char *ctrl)
{
	struct user_props *u;
	bool merge;
	int c;

	if (expect(t, ':', NULL) || expect(t, '-', NULL) || expect(t, '"', "strategy") ||
	    expect(t, ':', NULL) || expect(t, '"', NULL))
		return -1;
	if (strcmp(t->word, "merge") && strcmp(t->word, "replace")) {
		pr_err("--cgroup-props: strategy of \"%s\" is \"%s\": merge or replace\n", ctrl,
		       t->word);
		return -1;
	}
	merge = !strcmp(t->word, "merge");
	if (expect(t, '-', NULL) || expect(t, '"', "properties") || expect(t, ':', NULL) ||
	    expect(t, '[', NULL))
		return -1;
	u = user_entry(ctrl, merge);
	if (!u)
		return -1;
	for (c = next_tok(t); c == '"'; c = next_tok(t)) {
		if (add_prop(u, t->word))
			return -1;
		c = next_tok(t);
		if (c == ']')
			return 0;
		if (c != ',')
			break;
	}
	if (c == ']' && u->nr == count(merge ? builtin_of(ctrl) : NULL))
		return 0;	/* an empty list */
	pr_err("--cgroup-props: bad property list of \"%s\"\n", ctrl);
	return -1;
}

int cg_props_add_spec(const char *spec, size_t len)
{
	struct tok t = { .p = spec, .end = spec + len };
	char ctrl[256];
	int c;

	while ((c = next_tok(&t)) == '"') {
		snprintf(ctrl, sizeof(ctrl), "%s", t.word);
		if (parse_one(&t, ctrl))
			return -1;
	}
	if (c) {
		pr_err("--cgroup-props: expected a quoted controller name near \"%.20s\"\n",
		       t.p - 1);
		return -1;
	}
	return 0;
}

int cg_props_add_file(const char *path)
{
	char *buf;
	ssize_t len = read_file(path, &buf);
	int ret;

	if (len < 0) {
		pr_perror("--cgroup-props-file: cannot read %s", path);
		return -1;
	}
	ret = cg_props_add_spec(buf, len);
	free(buf);
	return ret;
}

/* ---- --manage-cgroups, --cgroup-root, --cgroup-dump-controller ---- */

static const char *const mode_names[] = {
	[CG_MODE_IGNORE] = "ignore", [CG_MODE_NONE] = "none", [CG_MODE_PROPS] = "props",
	[CG_MODE_SOFT] = "soft", [CG_MODE_FULL] = "full", [CG_MODE_STRICT] = "strict",
};

int cg_mode_parse(const char *arg)
{
	size_t i;

	if (!arg)
		return CG_MODE_SOFT;
	for (i = 0; i < ARRAY_SIZE(mode_names); i++)
		if (!strcmp(arg, mode_names[i]))
			return i;
	return -1;
}

const char *cg_mode_name(int mode)
{
	return mode >= 0 && mode < (int)ARRAY_SIZE(mode_names) ? mode_names[mode] : "?";
}

struct cg_root {
	char *ctrl;		/* NULL: every controller not named otherwise */
	char *path;
};
static struct cg_root *roots;
static int nr_roots;
static char **dump_ctls;
static int nr_dump_ctls;

int cg_root_add(const char *ctrl, const char *path)
{
	struct cg_root *r;

	if (!path || path[0] != '/') {
		pr_err("--cgroup-root: the new root \"%s\" must be an absolute path\n",
		       path ? path : "");
		return -1;
	}
	r = xrealloc(roots, (nr_roots + 1) * sizeof(*r));
	if (!r)
		return -1;
	roots = r;
	r[nr_roots].ctrl = ctrl ? xstrdup(ctrl) : NULL;
	r[nr_roots].path = xstrdup(path);
	pr_debug("--cgroup-root %s:%s\n", ctrl ? ctrl : "(all)", path);
	return r[nr_roots++].path ? 0 : -1;
}

int cg_root_parse(const char *arg)
{
	const char *colon = strchr(arg, ':');
	char ctrl[256];

	if (!colon || arg[0] == '/')
		return cg_root_add(NULL, arg);
	snprintf(ctrl, sizeof(ctrl), "%.*s", (int)(colon - arg), arg);
	return cg_root_add(ctrl, colon + 1);
}

/* is ctrl one of the comma-separated controllers of the hierarchy name? */
static bool names_ctrl(const char *name, const char *ctrl)
{
	size_t l = strlen(ctrl);
	const char *p = name;

	if (!strcmp(name, ctrl))
		return true;
	for (; l && (p = strstr(p, ctrl)); p++)
		if ((p == name || p[-1] == ',') && (p[l] == ',' || !p[l]))
			return true;
	return false;
}

const char *cg_root_of(const char *name)
{
	const char *global = NULL;
	int i;

	for (i = 0; i < nr_roots; i++) {
		if (!roots[i].ctrl)
			global = roots[i].path;
		else if (names_ctrl(name, roots[i].ctrl))
			return roots[i].path;
	}
	return global;
}

int cg_dump_controller_add(const char *name)
{
	char **n = xrealloc(dump_ctls, (nr_dump_ctls + 1) * sizeof(*n));

	if (!n)
		return -1;
	dump_ctls = n;
	n[nr_dump_ctls] = xstrdup(name);
	return n[nr_dump_ctls++] ? 0 : -1;
}

/* --cgroup-dump-controller: only the named hierarchies; all when none is named */
bool cg_controller_dumped(const char *name)
{
	int i;

	for (i = 0; i < nr_dump_ctls; i++)
		if (!strcmp(dump_ctls[i], name) || names_ctrl(name, dump_ctls[i]))
			return true;
	return !nr_dump_ctls;
}
