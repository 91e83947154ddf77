// SPDX-License-Identifier: GPL-2.0
/*
 * The directories of a cgroup hierarchy: reaching a hierarchy, saving a
 * subtree with its properties and owners, making it again and writing
 * the properties back.
 *
 * A hierarchy is reached, in this order, through the --cgroup-yard
 * directory named after it (CRIU's names: controllers joined by ',', the
 * name of a named one, "unified" for v2), a mount of it whose root is the
 * hierarchy's root as criu's cgroup namespace sees it (no privilege
 * needed), or a detached mount of its own (fsopen/fsmount).
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
#include "log.h"
#include "util.h"

/* ---- names and paths ---- */

const char *cg_member_path(struct cg_member *m, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(m[i].name, name))
			return m[i].path;
	return NULL;
}

bool cg_path_within(const char *path, const char *dir)
{
	size_t l = strlen(dir);

	if (!strcmp(dir, "/"))
		return strcmp(path, "/") != 0;
	return !strncmp(path, dir, l) && path[l] == '/';
}

int cg_split_names(const char *name, char ***cnames, size_t *n)
{
	char *copy = xstrdup(name), *tok, *save = NULL;
	char **c = NULL;
	size_t k = 0;

	if (!copy)
		return -1;
	/* v2's hierarchy is the one named "" */
	for (tok = name[0] ? strtok_r(copy, ",", &save) : copy; tok;
	     tok = name[0] ? strtok_r(NULL, ",", &save) : NULL) {
		char **nc = xrealloc(c, (k + 1) * sizeof(*c));

		if (!nc)
			goto err;
		c = nc;
		c[k] = xstrdup(tok);
		if (!c[k++])
			goto err;
	}
	free(copy);
	*cnames = c;
	*n = k;
	return 0;
err:
	while (k)
		free(c[--k]);
	free(c);
	free(copy);
	return -1;
}

char *cg_join_names(char **cnames, size_t n)
{
	size_t i, len = 1;
	char *s;

	for (i = 0; i < n; i++)
		len += strlen(cnames[i]) + 1;
	s = xzalloc(len);
	for (i = 0; s && i < n; i++) {
		if (i)
			strcat(s, ",");
		strcat(s, cnames[i]);
	}
	return s;
}

const char *cg_rel(const struct cg_hier *h, const char *path, char *buf, size_t len)
{
	const char *p = path;

	if (strcmp(h->prefix, "/") && !strncmp(path, h->prefix, strlen(h->prefix)))
		p = path + strlen(h->prefix);
	while (*p == '/')
		p++;
	snprintf(buf, len, "%s", *p ? p : ".");
	return buf;
}

int cg_write_at(int dfd, const char *file, const char *val)
{
	int fd = openat(dfd, file, O_WRONLY);
	ssize_t l = strlen(val), w;

	if (fd < 0)
		return -1;
	w = write(fd, val, l);
	close(fd);
	return w == l ? 0 : -1;
}

/* ---- reaching a hierarchy ---- */

static void yard_name(const char *name, char *buf, size_t len)
{
	if (!name[0])
		snprintf(buf, len, "unified");
	else if (!strncmp(name, "name=", 5))
		snprintf(buf, len, "%s", name + 5);
	else
		snprintf(buf, len, "%s", name);
}

/* Is this mountinfo line a mount of the hierarchy?  Its root in *root. */
static bool mount_of(char *line, const char *name, char *mnt, char *root)
{
	char *sep = strstr(line, " - "), type[32], super[1024], *tok, *save = NULL;
	char **cn;
	size_t n, i, found = 0;

	if (!sep || sscanf(line, "%*d %*d %*s %4095s %4095s", root, mnt) != 2 ||
	    sscanf(sep + 3, "%31s %*s %1023s", type, super) != 2)
		return false;
	if (!name[0])
		return !strcmp(type, "cgroup2");
	if (strcmp(type, "cgroup") || cg_split_names(name, &cn, &n))
		return false;
	for (tok = strtok_r(super, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		for (i = 0; i < n; i++)
			found += !strcmp(tok, cn[i]);
	for (i = 0; i < n; i++)
		free(cn[i]);
	free(cn);
	return found == n;
}

/* a mount criu sees; any_root: also one of a cgroup below the hierarchy's root */
static int open_mounted(const char *name, struct cg_hier *h, bool any_root)
{
	char *buf, *line, *save = NULL, mnt[4096], root[4096];
	int fd = -1;

	if (read_file("/proc/self/mountinfo", &buf) < 0)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line && fd < 0;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!mount_of(line, name, mnt, root) || (!any_root && strcmp(root, "/")))
			continue;
		fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			h->prefix = xstrdup(root);
			pr_debug("cgroup hierarchy \"%s\": the mount at %s (root %s)\n", name, mnt,
				 root);
		}
	}
	free(buf);
	return fd;
}

static int open_own_mount(const char *name)
{
	int fs = fsopen(name[0] ? "cgroup" : "cgroup2", FSOPEN_CLOEXEC), fd = -1;
	char **cn = NULL;
	size_t n = 0, i;

	if (fs < 0)
		return -1;
	if (name[0] && cg_split_names(name, &cn, &n))
		goto out;
	for (i = 0; i < n; i++) {
		int r = strncmp(cn[i], "name=", 5) ?
				fsconfig(fs, FSCONFIG_SET_FLAG, cn[i], NULL, 0) :
				fsconfig(fs, FSCONFIG_SET_STRING, "name", cn[i] + 5, 0);
		if (r)
			goto out;
	}
	if (!fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0))
		fd = fsmount(fs, FSMOUNT_CLOEXEC, 0);
out:
	for (i = 0; i < n; i++)
		free(cn[i]);
	free(cn);
	close(fs);
	return fd;
}

int cg_open_hier(const char *name, struct cg_hier *h)
{
	char yard[PATH_MAX], dir[256];

	memset(h, 0, sizeof(*h));
	h->v2 = !name[0];
	h->name = xstrdup(name);
	if (!h->name)
		return -1;
	if (opts.cgroup_yard) {
		yard_name(name, dir, sizeof(dir));
		snprintf(yard, sizeof(yard), "%s/%s", opts.cgroup_yard, dir);
		h->fd = open(yard, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (h->fd < 0) {
			pr_perror("--cgroup-yard: cannot open %s for cgroup hierarchy \"%s\"", yard,
				  name);
			return -1;
		}
		h->prefix = xstrdup("/");
		return 0;
	}
	h->fd = open_mounted(name, h, false);
	if (h->fd < 0) {
		h->fd = open_own_mount(name);
		if (h->fd >= 0)
			h->prefix = xstrdup("/");
	}
	if (h->fd < 0)
		h->fd = open_mounted(name, h, true);
	if (h->fd < 0 || !h->prefix) {
		pr_perror("cannot reach cgroup hierarchy \"%s\" (no mount of it, and mounting "
			  "one failed; --cgroup-yard names one)", name);
		return -1;
	}
	return 0;
}

void cg_close_hier(struct cg_hier *h)
{
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
	free(h->name);
	free(h->prefix);
	h->name = h->prefix = NULL;
}

/* ---- dump: a subtree ---- */

static CgroupPerms *perms_of(struct stat *st)
{
	CgroupPerms *p = xmalloc(sizeof(*p));

	if (!p)
		return NULL;
	cgroup_perms__init(p);
	p->mode = st->st_mode;
	p->uid = st->st_uid;
	p->gid = st->st_gid;
	return p;
}

static bool perms_only(const char *name)
{
	return !strcmp(name, "cgroup.procs") || !strcmp(name, "tasks") ||
	       !strcmp(name, "cgroup.threads");
}

static int add_prop(struct cg_hier *h, const char *rel, CgroupDirEntry *de, const char *name)
{
	char file[PATH_MAX + 64], *val = NULL;
	CgroupPropEntry *pe, **np;
	struct stat st;
	size_t l;
	int disable;

	snprintf(file, sizeof(file), "%s/%s", rel, name);
	if (fstatat(h->fd, file, &st, 0))
		return 0;	/* not on this kernel, or the controller is not enabled here */
	if (!perms_only(name) && read_file_at(h->fd, file, &val) < 0) {
		pr_warn("cannot read cgroup file %s: %s; not saved\n", file, strerror(errno));
		return 0;
	}
	l = val ? strlen(val) : 0;
	while (l && val[l - 1] == '\n')
		val[--l] = '\0';
	/* CRIU keeps only the oom_kill_disable number */
	if (val && !strcmp(name, "memory.oom_control") &&
	    sscanf(val, "oom_kill_disable %d", &disable) == 1)
		snprintf(val, l + 1, "%d", disable);
	pe = xmalloc(sizeof(*pe));
	np = xrealloc(de->properties, (de->n_properties + 1) * sizeof(*np));
	if (!pe || !np) {
		free(val);
		free(pe);
		return -1;
	}
	de->properties = np;
	cgroup_prop_entry__init(pe);
	pe->name = xstrdup(name);
	pe->value = val ?: xstrdup("");
	pe->perms = perms_of(&st);
	np[de->n_properties++] = pe;
	pr_debug("cgroup %s:/%s: %s = \"%s\"\n", h->name, rel, name, pe->value);
	return pe->name && pe->value && pe->perms ? 0 : -1;
}

static int add_props(struct cg_hier *h, const char *rel, CgroupDirEntry *de)
{
	char **cn;
	size_t n, i;
	int k, nr, ret = 0;

	if (cg_split_names(h->name, &cn, &n))
		return -1;
	for (i = 0; i < n && !ret; i++) {
		const char *const *p = cg_props_of(cn[i], &nr);

		for (k = 0; k < nr && !ret; k++)
			ret = add_prop(h, rel, de, p[k]);
	}
	for (k = 0; !ret && cg_global_props(h->v2)[k]; k++)
		ret = add_prop(h, rel, de, cg_global_props(h->v2)[k]);
	for (i = 0; i < n; i++)
		free(cn[i]);
	free(cn);
	return ret;
}

/*
 * only: NULL for every child; else only the children on the way to one of
 * these paths (the tasks' cgroups below criu's own), whole from there on.
 */
static bool wanted(const char *sub, const char *const *only, const char *const **sub_only)
{
	int i;

	*sub_only = only;
	for (i = 0; only && only[i]; i++) {
		if (!strcmp(only[i], sub)) {
			*sub_only = NULL;
			return true;
		}
	}
	for (i = 0; only && only[i]; i++)
		if (cg_path_within(only[i], sub))
			return true;
	return !only;
}

static int add_children(struct cg_hier *h, const char *path, const char *rel,
			CgroupDirEntry *de, const char *const *only)
{
	int dfd = openat(h->fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *d;
	DIR *dir;

	if (dfd < 0 || !(dir = fdopendir(dfd))) {
		pr_perror("cannot list cgroup %s:%s", h->name, path);
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	while ((d = readdir(dir))) {
		const char *const *sub_only;
		char sub[PATH_MAX];
		CgroupDirEntry *c, **nc;

		if (d->d_type != DT_DIR || !strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", strcmp(path, "/") ? path : "", d->d_name);
		if (!wanted(sub, only, &sub_only))
			continue;
		c = cg_dump_dir(h, sub, d->d_name, sub_only);
		nc = c ? xrealloc(de->children, (de->n_children + 1) * sizeof(*nc)) : NULL;
		if (!nc) {
			cg_free_dir(c);
			closedir(dir);
			return -1;
		}
		de->children = nc;
		nc[de->n_children++] = c;
	}
	closedir(dir);
	return 0;
}

CgroupDirEntry *cg_dump_dir(struct cg_hier *h, const char *path, const char *dir_name,
			    const char *const *only)
{
	CgroupDirEntry *de = xzalloc(sizeof(*de));
	char rel[PATH_MAX];
	struct stat st;

	if (!de)
		return NULL;
	cgroup_dir_entry__init(de);
	de->dir_name = xstrdup(dir_name);
	cg_rel(h, path, rel, sizeof(rel));
	if (fstatat(h->fd, rel, &st, 0)) {
		pr_perror("cannot stat cgroup %s:%s", h->name, path);
		goto err;
	}
	de->dir_perms = perms_of(&st);
	if (!de->dir_name || !de->dir_perms || add_props(h, rel, de))
		goto err;
	if (add_children(h, path, rel, de, only))
		goto err;
	return de;
err:
	cg_free_dir(de);
	return NULL;
}

void cg_free_dir(CgroupDirEntry *de)
{
	size_t i;

	if (!de)
		return;
	for (i = 0; i < de->n_children; i++)
		cg_free_dir(de->children[i]);
	for (i = 0; i < de->n_properties; i++) {
		free(de->properties[i]->name);
		free(de->properties[i]->value);
		free(de->properties[i]->perms);
		free(de->properties[i]);
	}
	free(de->children);
	free(de->properties);
	free(de->dir_perms);
	free(de->dir_name);
	free(de);
}

/* --freeze-cgroup: the state before criu froze it goes with the first head */
int cg_add_freezer_state(CgControllerEntry *cc, const char *name, struct cg_hier *h)
{
	const char *state = freezer_dumped_state(h->v2);
	CgroupPropEntry *pe, **np;
	CgroupDirEntry *de;

	if (!state || !cc->n_dirs || (strcmp(name, "freezer") && name[0]))
		return 0;
	de = cc->dirs[0];
	pe = xmalloc(sizeof(*pe));
	np = xrealloc(de->properties, (de->n_properties + 1) * sizeof(*np));
	if (!pe || !np) {
		free(pe);
		return -1;
	}
	de->properties = np;
	cgroup_prop_entry__init(pe);
	pe->name = xstrdup(h->v2 ? "cgroup.freeze" : "freezer.state");
	pe->value = xstrdup(state);
	np[de->n_properties++] = pe;
	return pe->name && pe->value ? 0 : -1;
}

/* ---- restore: making the subtree, writing the properties ---- */

struct made {
	int dfd;		/* the hierarchy's, open until cgroup_restore_fini() */
	char *rel;
};
static struct made *made;
static int nr_made;

static void restore_perms(struct cg_hier *h, const char *rel, CgroupPerms *p)
{
	struct stat st;

	if (!p || fstatat(h->fd, rel, &st, 0))
		return;
	if ((st.st_mode & 07777) != (p->mode & 07777) && fchmodat(h->fd, rel, p->mode & 07777, 0))
		pr_warn("cannot chmod cgroup file %s to %o: %s\n", rel, p->mode & 07777,
			strerror(errno));
	if ((st.st_uid != p->uid || st.st_gid != p->gid) &&
	    fchownat(h->fd, rel, p->uid, p->gid, 0))
		pr_warn("cannot chown cgroup file %s to %u:%u: %s\n", rel, p->uid, p->gid,
			strerror(errno));
}

/* mkdir -p, each directory made remembered for a failed restore */
static int make_path(struct cg_hier *h, const char *rel)
{
	char buf[PATH_MAX], *s;
	struct made *m;

	snprintf(buf, sizeof(buf), "%s", rel);
	for (s = buf;; s++) {
		if (*s && *s != '/')
			continue;
		if (s == buf)
			break;
		{
			char c = *s;

			*s = '\0';
			if (mkdirat(h->fd, buf, 0755) == 0) {
				m = xrealloc(made, (nr_made + 1) * sizeof(*m));
				if (!m)
					return -1;
				made = m;
				made[nr_made].dfd = h->fd;
				made[nr_made++].rel = xstrdup(buf);
			} else if (errno != EEXIST) {
				pr_perror("cannot make cgroup %s:/%s (--manage-cgroups=%s makes "
					  "what is missing; ignore restores without cgroups)",
					  h->name, buf, cg_mode_name(opts.manage_cgroups));
				return -1;
			}
			*s = c;
		}
		if (!*s)
			break;
	}
	return 0;
}

static int add_late(int hier, const char *path, CgroupDirEntry *de, struct cg_late **late,
		    int *nr)
{
	struct cg_late *l = xrealloc(*late, (*nr + 1) * sizeof(*l));

	if (!l)
		return -1;
	*late = l;
	l[*nr].hier = hier;
	l[*nr].de = de;
	l[*nr].path = xstrdup(path);
	return l[(*nr)++].path ? 0 : -1;
}

static int check_exists(struct cg_hier *h, const char *path, const char *rel, bool *exists)
{
	struct stat st;

	*exists = !fstatat(h->fd, rel, &st, 0);
	if (!*exists && errno != ENOENT) {
		pr_perror("cannot look at cgroup %s:%s", h->name, path);
		return -1;
	}
	if (!*exists && (opts.manage_cgroups == CG_MODE_NONE ||
			 opts.manage_cgroups == CG_MODE_PROPS)) {
		pr_err("cgroup %s:%s does not exist (--manage-cgroups=%s needs it; soft, full "
		       "and strict make it)\n", h->name, path, cg_mode_name(opts.manage_cgroups));
		return -1;
	}
	if (*exists && opts.manage_cgroups == CG_MODE_STRICT) {
		pr_err("cgroup %s:%s already exists (--manage-cgroups=strict makes every one)\n",
		       h->name, path);
		return -1;
	}
	return 0;
}

int cg_make_dirs(struct cg_hier *h, int hier, const char *parent, CgroupDirEntry *de,
		 struct cg_late **late, int *nr_late)
{
	char path[PATH_MAX], rel[PATH_MAX];
	bool exists, props;
	size_t i;

	if (parent)
		snprintf(path, sizeof(path), "%s/%s", strcmp(parent, "/") ? parent : "",
			 de->dir_name);
	else
		snprintf(path, sizeof(path), "/%s", de->dir_name);
	cg_rel(h, path, rel, sizeof(rel));
	if (check_exists(h, path, rel, &exists))
		return -1;
	if (!exists) {
		if (make_path(h, rel))
			return -1;
		pr_info("made cgroup %s:%s\n", h->name, path);
		restore_perms(h, rel, de->dir_perms);
		if (cg_write_props(h, path, de, true))
			return -1;
	} else if (opts.manage_cgroups != CG_MODE_NONE) {
		restore_perms(h, rel, de->dir_perms);
	}
	/* soft: the properties of what criu made; props and full: of all */
	props = !exists || opts.manage_cgroups == CG_MODE_PROPS ||
		opts.manage_cgroups == CG_MODE_FULL;
	if (props && strcmp(path, "/") && add_late(hier, path, de, late, nr_late))
		return -1;
	for (i = 0; i < de->n_children; i++)
		if (cg_make_dirs(h, hier, path, de->children[i], late, nr_late))
			return -1;
	return 0;
}

/* the dumped value, line by line (devices.allow, net_prio.ifpriomap take one a write) */
static int write_lines(struct cg_hier *h, const char *file, const char *val, bool skip_zero)
{
	char *copy = xstrdup(val), *line, *save = NULL;
	int ret = 0;

	for (line = copy ? strtok_r(copy, "\n", &save) : NULL; line && !ret;
	     line = strtok_r(NULL, "\n", &save)) {
		char *sp = strrchr(line, ' ');

		if (skip_zero && sp && !strcmp(sp + 1, "0"))
			continue;
		ret = cg_write_at(h->fd, file, line);
		if (ret && skip_zero) {
			pr_warn("cannot write \"%s\" to %s: %s\n", line, file, strerror(errno));
			ret = 0;	/* a device this host has not */
		}
	}
	free(copy);
	return copy ? ret : -1;
}

/* cgroup.subtree_control reads "cpu pids", is written "+cpu +pids" */
static int write_subtree(struct cg_hier *h, const char *file, const char *val, const char *cur)
{
	char buf[1024], *tok, *save = NULL;
	char w[96];

	snprintf(buf, sizeof(buf), "%s", val);
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		snprintf(w, sizeof(w), "+%s", tok);
		if (cg_write_at(h->fd, file, w))
			return -1;
	}
	snprintf(buf, sizeof(buf), "%s", cur);
	for (tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
		snprintf(w, sizeof(w), " %s ", tok);
		snprintf(buf + 512, 512, " %s ", val);
		if (strstr(buf + 512, w))
			continue;
		snprintf(w, sizeof(w), "-%s", tok);
		if (cg_write_at(h->fd, file, w))
			return -1;
	}
	return 0;
}

static int write_prop(struct cg_hier *h, const char *path, const char *rel, CgroupPropEntry *p)
{
	char file[PATH_MAX + 64], *cur = NULL;
	int ret;

	snprintf(file, sizeof(file), "%s/%s", rel, p->name);
	restore_perms(h, file, p->perms);
	if (read_file_at(h->fd, file, &cur) >= 0) {
		size_t l = strlen(cur);

		while (l && cur[l - 1] == '\n')
			cur[--l] = '\0';
		if (!strcmp(cur, p->value)) {
			free(cur);
			return 0;	/* nothing to change */
		}
	}
	if (!strcmp(p->name, "devices.list")) {
		snprintf(file, sizeof(file), "%s/devices.deny", rel);
		ret = cg_write_at(h->fd, file, "a");
		snprintf(file, sizeof(file), "%s/devices.allow", rel);
		if (!ret && p->value[0])
			ret = write_lines(h, file, p->value, false);
	} else if (!strcmp(p->name, "net_prio.ifpriomap")) {
		ret = write_lines(h, file, p->value, true);
	} else if (!strcmp(p->name, "cgroup.subtree_control")) {
		ret = write_subtree(h, file, p->value, cur ?: "");
	} else {
		ret = cg_write_at(h->fd, file, p->value);
	}
	free(cur);
	if (ret && errno == EOPNOTSUPP) {
		pr_warn("cgroup %s:%s: %s is no longer written by this kernel; not restored\n",
			h->name, path, p->name);
		return 0;
	}
	if (ret)
		pr_perror("cannot restore cgroup %s:%s %s = \"%s\"", h->name, path, p->name,
			  p->value);
	else
		pr_info("cgroup %s:%s: %s = \"%s\"\n", h->name, path, p->name, p->value);
	return ret;
}

int cg_write_props(struct cg_hier *h, const char *path, CgroupDirEntry *de, bool early)
{
	char rel[PATH_MAX];
	size_t i;

	cg_rel(h, path, rel, sizeof(rel));
	for (i = 0; i < de->n_properties; i++) {
		CgroupPropEntry *p = de->properties[i];

		/* v2 has nothing early: a child's files exist once its parent enabled them */
		if ((!h->v2 && cg_prop_is_early(p->name)) != early)
			continue;
		/* the freezer at the very end; tasks files only for their owner */
		if (!strcmp(p->name, "freezer.state") || !strcmp(p->name, "cgroup.freeze"))
			continue;
		if (perms_only(p->name)) {
			char file[PATH_MAX + 64];

			snprintf(file, sizeof(file), "%s/%s", rel, p->name);
			restore_perms(h, file, p->perms);
			continue;
		}
		if (write_prop(h, path, rel, p))
			return -1;
	}
	return 0;
}

/* A failed restore takes away the cgroups it made (the tasks are gone by now). */
void cg_remove_made(bool remove)
{
	int i, tries;

	for (i = nr_made - 1; i >= 0; i--) {
		for (tries = 0; remove && unlinkat(made[i].dfd, made[i].rel, AT_REMOVEDIR) &&
				errno == EBUSY && tries < 100; tries++)
			usleep(10000);	/* a killed task still leaving it */
		if (remove)
			pr_info("removed cgroup %s made by the failed restore\n", made[i].rel);
		free(made[i].rel);
	}
	free(made);
	made = NULL;
	nr_made = 0;
}
