// SPDX-License-Identifier: GPL-2.0
/*
 * Mount namespaces as container runtimes build them: a pivot_root'ed
 * root, binds of host files and directories, masks bound from /dev/null,
 * tmpfs with contents, proc, sysfs, devpts, mqueue, cgroup.  The dump
 * reads the namespace's mountinfo from inside it and writes one MntEntry
 * per mount (parents first) to mountpoints-ID.img; a tmpfs's files go to
 * tmpfs-dev-N.tar.gz.img.  Each mount is one of:
 *   external   --external mnt[MOUNTPOINT]:KEY: restored from a path given
 *              at restore for KEY (ext_mount, ext_key);
 *   host bind  its superblock is mounted in criu's namespace too: the path
 *              of its root there (host_path, this tool's field 1001);
 *   inner bind its superblock was met earlier in the list: bound from there;
 *   fresh      a new superblock of its type: mounted anew (tmpfs refilled).
 * The restore side is mount-rst.c.
 */
#include <errno.h>
#include <ftw.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image.h"
#include "log.h"
#include "mnt.pb-c.h"
#include "mount-internal.h"
#include "namespaces.h"

/* ---- external mounts from the options ---- */

struct ext_map ext_maps[MAX_EXT_MAPS];
int nr_ext_maps;

int mnt_add_ext_map(const char *key, const char *val)
{
	if (nr_ext_maps == MAX_EXT_MAPS) {
		pr_err("too many external mounts (%d at most)\n", MAX_EXT_MAPS);
		return -1;
	}
	ext_maps[nr_ext_maps].key = xstrdup(key);
	ext_maps[nr_ext_maps].val = xstrdup(val);
	if (!ext_maps[nr_ext_maps].key || !ext_maps[nr_ext_maps].val)
		return -1;
	nr_ext_maps++;
	return 0;
}

/* mnt[KEY]:VAL; other --external kinds are not mounts and not ours */
int mnt_add_external(const char *arg)
{
	const char *end;
	char key[PATH_MAX];

	if (strncmp(arg, "mnt[", 4))
		return 1;
	end = strstr(arg, "]:");
	if (!end || end - arg - 4 <= 0 || end - arg - 4 >= (long)sizeof(key)) {
		pr_err("--external %s: expected mnt[KEY]:VAL\n", arg);
		return -1;
	}
	memcpy(key, arg + 4, end - arg - 4);
	key[end - arg - 4] = '\0';
	return mnt_add_ext_map(key, end + 2);
}

int mnt_add_ext_mount_map(const char *arg)
{
	const char *colon = strchr(arg, ':');
	char key[PATH_MAX];

	if (!colon || colon == arg || colon - arg >= (long)sizeof(key)) {
		pr_err("--ext-mount-map %s: expected KEY:VAL\n", arg);
		return -1;
	}
	memcpy(key, arg, colon - arg);
	key[colon - arg] = '\0';
	return mnt_add_ext_map(key, colon + 1);
}

const char *ext_map_find(const char *key)
{
	int i;

	for (i = 0; i < nr_ext_maps; i++)
		if (!strcmp(ext_maps[i].key, key))
			return ext_maps[i].val;
	return NULL;
}

/* ---- mountinfo ---- */

/* \040 and friends back to bytes, in place */
static void unescape(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = '\0';
}

static int parse_line(char *line, struct mi *m)
{
	char *f[64], *save, *tok;
	int n = 0, i, dash = -1;

	memset(m, 0, sizeof(*m));
	for (tok = strtok_r(line, " ", &save); tok && n < 64; tok = strtok_r(NULL, " ", &save))
		f[n++] = tok;
	for (i = 6; i < n; i++) {
		if (!strcmp(f[i], "-")) {
			dash = i;
			break;
		}
		if (!strncmp(f[i], "shared:", 7))
			m->shared = atoi(f[i] + 7);
		else if (!strncmp(f[i], "master:", 7))
			m->master = atoi(f[i] + 7);
	}
	if (n < 6 || dash < 0 || dash + 3 > n ||
	    sscanf(f[2], "%u:%u", &m->maj, &m->min) != 2)
		return -1;
	m->id = atoi(f[0]);
	m->parent = atoi(f[1]);
	m->root = f[3];
	m->mp = f[4];
	m->mopts = f[5];
	m->fstype = f[dash + 1];
	m->source = f[dash + 2];
	m->sopts = dash + 3 < n ? f[dash + 3] : "";
	unescape(m->root);
	unescape(m->mp);
	unescape(m->source);
	return 0;
}

/* Split mountinfo text (kept by the caller) into entries. */
int parse_mountinfo(char *buf, struct mi **out, int *nr)
{
	char *line, *save;
	struct mi *v = NULL;
	int n = 0;

	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct mi *nv = xrealloc(v, (n + 1) * sizeof(*v));

		if (!nv) {
			free(v);
			return -1;
		}
		v = nv;
		if (parse_line(line, &v[n])) {
			pr_err("cannot parse a mountinfo line\n");
			free(v);
			return -1;
		}
		n++;
	}
	*out = v;
	*nr = n;
	return 0;
}

static const struct {
	const char *name;
	unsigned long flag;
} mnt_flag_names[] = {
	{ "ro", MS_RDONLY }, { "nosuid", MS_NOSUID }, { "nodev", MS_NODEV },
	{ "noexec", MS_NOEXEC }, { "noatime", MS_NOATIME }, { "nodiratime", MS_NODIRATIME },
	{ "relatime", MS_RELATIME },
}, sb_flag_names[] = {
	{ "ro", MS_RDONLY }, { "sync", MS_SYNCHRONOUS }, { "dirsync", MS_DIRSYNC },
	{ "mand", MS_MANDLOCK }, { "lazytime", MS_LAZYTIME },
};

/* The flags among a comma list; what is not a flag goes to rest (if any). */
#define FLAGS_OF(list, names, rest, len) flags_of(list, names, ARRAY_SIZE(names), rest, len)
static u32 flags_of(const char *list, const void *tab, size_t nt, char *rest, size_t len)
{
	const typeof(mnt_flag_names[0]) *names = tab;
	char buf[4096], *tok, *save;
	size_t i, off = 0;
	u32 fl = 0;

	snprintf(buf, sizeof(buf), "%s", list);
	if (rest)
		rest[0] = '\0';
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < nt; i++)
			if (!strcmp(tok, names[i].name))
				break;
		if (i < nt)
			fl |= names[i].flag;
		else if (rest && strcmp(tok, "rw") && off + strlen(tok) + 2 < len)
			off += snprintf(rest + off, len - off, "%s%s", off ? "," : "", tok);
	}
	return fl;
}

static const struct {
	const char *name;
	int type;
} fs_types[] = {
	{ "proc", FSTYPE__PROC }, { "sysfs", FSTYPE__SYSFS }, { "devtmpfs", FSTYPE__DEVTMPFS },
	{ "binfmt_misc", FSTYPE__BINFMT_MISC }, { "tmpfs", FSTYPE__TMPFS },
	{ "devpts", FSTYPE__DEVPTS }, { "pstore", FSTYPE__PSTORE },
	{ "securityfs", FSTYPE__SECURITYFS }, { "fusectl", FSTYPE__FUSECTL },
	{ "debugfs", FSTYPE__DEBUGFS }, { "cgroup", FSTYPE__CGROUP }, { "mqueue", FSTYPE__MQUEUE },
	{ "overlay", FSTYPE__OVERLAYFS }, { "autofs", FSTYPE__AUTOFS },
	{ "tracefs", FSTYPE__TRACEFS }, { "cgroup2", FSTYPE__CGROUP2 },
};

static u32 fstype_of(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(fs_types); i++)
		if (!strcmp(fs_types[i].name, name))
			return fs_types[i].type;
	return FSTYPE__AUTO;	/* with fsname: mounted by its name */
}

const char *fstype_name(u32 type)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(fs_types); i++)
		if (fs_types[i].type == (int)type)
			return fs_types[i].name;
	return "none";
}

/* ---- dump ---- */

static int host_proc = -1;

/* In a child that joined the tree's mount namespace: its mountinfo. */
static int ns_mountinfo_answer(int out)
{
	char path[32], *buf;
	ssize_t n;

	snprintf(path, sizeof(path), "%d/mountinfo", getpid());
	n = read_file_at(host_proc, path, &buf);
	if (n < 0) {
		pr_perror("cannot read the mountinfo of the namespace");
		return -1;
	}
	n = write_all(out, buf, n);
	free(buf);
	return n < 0 ? -1 : 0;
}

#define MI_MAX (1 << 20)

/* The tree's mounts as its root sees them (its namespace from inside). */
char *read_tree_mountinfo(pid_t pid)
{
	char *buf = xmalloc(MI_MAX);
	ssize_t n;

	if (!buf)
		return NULL;
	host_proc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (host_proc < 0) {
		pr_perror("cannot open /proc");
		free(buf);
		return NULL;
	}
	n = ask_in_ns(pid, "mnt", CLONE_NEWNS, ns_mountinfo_answer, buf, MI_MAX - 1);
	close_safe(&host_proc);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

bool path_under(const char *path, const char *dir, const char **rest)
{
	size_t l = strlen(dir);

	if (!strcmp(dir, "/")) {
		*rest = path;
		return true;
	}
	if (strncmp(path, dir, l) || (path[l] && path[l] != '/'))
		return false;
	*rest = path + l;
	return true;
}

/* Where a superblock criu's namespace has mounted shows m's root; 0 if found. */
static int host_path_of(const struct mi *m, const struct mi *h, int nh, char *out, size_t len)
{
	int i, best = -1;
	const char *rest = NULL, *r;

	for (i = 0; i < nh; i++)
		if (h[i].maj == m->maj && h[i].min == m->min && path_under(m->root, h[i].root, &r) &&
		    (best < 0 || strlen(h[i].root) > strlen(h[best].root))) {
			best = i;
			rest = r;
		}
	if (best < 0)
		return -1;
	if (!strcmp(rest, "/"))
		rest = "";
	snprintf(out, len, "%s%s%s", strcmp(h[best].mp, "/") ? h[best].mp : "",
		 *rest == '/' || !*rest ? "" : "/", rest);
	if (!out[0])
		snprintf(out, len, "/");
	return 0;
}

static bool emitted(const struct mi *t, const int *order, int n, int id)
{
	int k;

	for (k = 0; k < n; k++)
		if (t[order[k]].id == id)
			return true;
	return false;
}

/*
 * Parents before children, otherwise in mountinfo order (the order the
 * mounts were made in, which the restore repeats).
 */
static int order_mounts(struct mi *t, int nt, int *order)
{
	int i, j, n = 0, before;

	for (i = 0; i < nt; i++) {
		for (j = 0; j < nt; j++)
			if (t[j].id == t[i].parent && j != i)
				break;
		if (j == nt)
			order[n++] = i;		/* the root: its parent is outside */
	}
	if (n != 1) {
		pr_err("unsupported: the mount namespace has %d roots\n", n);
		return -1;
	}
	do {
		before = n;
		for (i = 0; i < nt; i++)
			if (!emitted(t, order, n, t[i].id) && emitted(t, order, n, t[i].parent))
				order[n++] = i;
	} while (n > before && n < nt);
	if (n != nt) {
		pr_err("unsupported: %d mounts of the namespace are not under its root\n", nt - n);
		return -1;
	}
	return 0;
}

static bool same_ns_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return !stat(a, &sa) && !stat(b, &sb) && sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev;
}

static int list_fd = -1;	/* dump_tmpfs_outside's file list */

static int tmpfs_list_entry(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)type;
	(void)f;
	return write_all(list_fd, path, strlen(path) + 1) < 0 ? -1 : 0;
}

/* An id map for tar: every id of the namespace's map, as "+HOST +INSIDE". */
static int tar_id_map(pid_t pid, const char *file)
{
	unsigned int in, out, n, k, total = 0;
	char path[64];
	FILE *f;
	int fd = memfd_create(file, 0);

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	f = fopen(path, "r");
	if (fd < 0 || !f)
		return -1;
	while (fscanf(f, "%u %u %u", &in, &out, &n) == 3)
		for (k = 0; k < n && total < (1u << 20); k++, total++)
			dprintf(fd, "+%u +%u\n", out + k, in + k);
	fclose(f);
	return fd;
}

/*
 * Unprivileged, the tree's mount namespace (its user namespace's) cannot
 * be joined and left again: the tmpfs is read through /proc/PID/root, its
 * own files only (nftw's FTW_MOUNT leaves out what is mounted on it), the
 * owners named as the tree's user namespace names them.
 */
static int dump_tmpfs_outside(pid_t pid, const struct mi *m, struct cr_img *img)
{
	char path[PATH_MAX + 32], list[64], umap[64], gmap[64];
	int status, u, g;
	pid_t child = fork();

	if (child == 0) {
		snprintf(path, sizeof(path), "/proc/%d/root%s", pid, m->mp);
		list_fd = memfd_create("tmpfs-files", 0);
		u = tar_id_map(pid, "uid_map");
		g = tar_id_map(pid, "gid_map");
		if (list_fd < 0 || u < 0 || g < 0 || chdir(path) ||
		    nftw(".", tmpfs_list_entry, 16, FTW_MOUNT | FTW_PHYS) ||
		    dup2(img_raw_fd(img), 1) != 1)
			_exit(3);
		snprintf(list, sizeof(list), "--files-from=/proc/self/fd/%d", list_fd);
		snprintf(umap, sizeof(umap), "--owner-map=/proc/self/fd/%d", u);
		snprintf(gmap, sizeof(gmap), "--group-map=/proc/self/fd/%d", g);
		execlp("tar", "tar", "--create", "--gzip", "--numeric-owner", "--null",
		       "--no-recursion", list, umap, gmap, "--file=-", (char *)NULL);
		_exit(4);
	}
	if (child < 0 || xwaitpid(child, &status, 0) != child || !WIFEXITED(status) ||
	    WEXITSTATUS(status) > 1) {
		pr_err("cannot archive the tmpfs on %s from outside (tar status %#x)\n", m->mp,
		       child < 0 ? -1 : status);
		return -1;
	}
	pr_info("tmpfs on %s: read through /proc/%d/root (its namespace is not ours to "
		"join)\n", m->mp, pid);
	return 0;
}

/* tar the files of a tmpfs as the tree's user namespace sees their owners */
static int dump_tmpfs(pid_t pid, const struct mi *m, u32 kdev)
{
	struct cr_img *img = open_image(CR_FD_TMPFS_DEV, O_DUMP, (unsigned long)kdev);
	char path[64];
	int own, theirs, user = -1, status = 0, dfd;
	bool waited;
	pid_t child;

	if (!img || img_flush(img))
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", pid);
	own = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	theirs = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%d/ns/user", pid);
	if (!same_ns_file(path, "/proc/self/ns/user"))
		user = open(path, O_RDONLY | O_CLOEXEC);
	child = own < 0 || theirs < 0 ? -1 : fork();
	if (child == 0) {
		if (setns(theirs, CLONE_NEWNS))
			_exit(2);
		/* a bind without what is mounted on it: the tmpfs's own files only */
		dfd = syscall(SYS_open_tree, AT_FDCWD, m->mp, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (dfd < 0 || setns(own, CLONE_NEWNS) || fchdir(dfd) ||
		    (user >= 0 && setns(user, CLONE_NEWUSER)) ||
		    dup2(img_raw_fd(img), 1) != 1 ||
		    (log_get_fd() >= 0 && dup2(log_get_fd(), 2) != 2))
			_exit(3);
		execlp("tar", "tar", "--create", "--gzip", "--numeric-owner", "--one-file-system",
		       "--file=-", ".", (char *)NULL);
		_exit(4);
	}
	close(own);
	close(theirs);
	if (user >= 0)
		close(user);
	waited = child > 0 && xwaitpid(child, &status, 0) == child;
	/* 2: setns refused (rootless): nothing was written yet */
	if (waited && WIFEXITED(status) && WEXITSTATUS(status) == 2 && user >= 0) {
		if (dump_tmpfs_outside(pid, m, img)) {
			close_image(img);
			return -1;
		}
	} else if (!waited || !WIFEXITED(status) || WEXITSTATUS(status) > 1) {
		pr_err("cannot archive the tmpfs on %s (tar status %#x)\n", m->mp,
		       child < 0 ? -1 : status);
		close_image(img);
		return -1;
	}
	pr_info("tmpfs on %s: its files in tmpfs-dev-%u.tar.gz.img\n", m->mp, kdev);
	return close_image(img);
}

/* a file system whose contents live in a process or on the network: not made anew */
static bool needs_a_server(const char *fstype)
{
	static const char *const names[] = { "fuse", "fuseblk", "autofs", "nfs", "nfs4", "cifs",
					     "smb3", "9p", "ceph", "glusterfs" };
	size_t i;

	if (!strncmp(fstype, "fuse.", 5))
		return true;
	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(fstype, names[i]))
			return true;
	return false;
}

static bool dev_seen(const struct mi *t, const int *order, int upto, const struct mi *m)
{
	int k;

	for (k = 0; k < upto; k++)
		if (t[order[k]].maj == m->maj && t[order[k]].min == m->min)
			return true;
	return false;
}

/* another mount stacked on this one's mount point: its path shows that one */
static bool hidden(const struct mi *t, int i, int nt)
{
	int j;

	for (j = 0; j < nt; j++)
		if (j != i && t[j].parent == t[i].id && !strcmp(t[j].mp, t[i].mp))
			return true;
	return false;
}

/* the namespace's mounts, their order, and criu's mounts */
struct mnt_lists {
	struct mi *t, *h;
	int nt, nh, *order;
};

static int dump_one_mount(struct cr_img *img, pid_t pid, const struct mnt_lists *l, int k)
{
	struct mi *t = l->t, *m = &t[l->order[k]];
	const int *order = l->order;
	MntEntry me = MNT_ENTRY__INIT;
	char opts[4096], host[PATH_MAX];
	const char *key = ext_map_find(m->mp);
	u32 kdev = (m->maj << 20) | m->min;	/* the kernel's own encoding */

	me.fstype = fstype_of(m->fstype);
	me.fsname = m->fstype;
	me.mnt_id = m->id;
	me.root_dev = kdev;
	me.parent_mnt_id = k ? m->parent : m->id;
	me.flags = FLAGS_OF(m->mopts, mnt_flag_names, NULL, 0);
	me.has_sb_flags = true;
	me.sb_flags = FLAGS_OF(m->sopts, sb_flag_names, opts, sizeof(opts));
	me.root = m->root;
	me.mountpoint = m->mp;
	me.source = m->source;
	me.options = opts;
	me.has_shared_id = m->shared != 0;
	me.shared_id = m->shared;
	me.has_master_id = m->master != 0;
	me.master_id = m->master;
	if (key) {
		me.has_ext_mount = me.ext_mount = true;
		me.ext_key = (char *)key;
		pr_info("mount %s: external, key %s\n", m->mp, key);
	} else if (!host_path_of(m, l->h, l->nh, host, sizeof(host))) {
		me.host_path = host;
		pr_info("mount %s: a bind of %s\n", m->mp, host);
	} else if (!dev_seen(t, order, k, m)) {
		if (strcmp(m->root, "/")) {
			pr_err("unsupported: mount %s shows %s of a %s not mounted whole\n", m->mp,
			       m->root, m->fstype);
			return -1;
		}
		if (needs_a_server(m->fstype)) {
			pr_err("unsupported: pid %d has a %s mount on %s (mark it --external)\n", pid,
			       m->fstype, m->mp);
			return -1;
		}
		pr_info("mount %s: a new %s\n", m->mp, m->fstype);
		if (me.fstype == FSTYPE__TMPFS && hidden(t, order[k], l->nt))
			pr_warn("tmpfs on %s: under another mount there; its files are not saved\n",
				m->mp);
		else if (me.fstype == FSTYPE__TMPFS && dump_tmpfs(pid, m, kdev))
			return -1;
	} else {
		pr_info("mount %s: a bind of %s inside the namespace\n", m->mp, m->root);
	}
	return pb_write(img, &me);
}

/* an --external mnt[KEY] that names no mount is most likely a typo */
static void warn_unmatched(const struct mi *t, int nt)
{
	int i, k;

	for (i = 0; i < nr_ext_maps; i++) {
		for (k = 0; k < nt && strcmp(t[k].mp, ext_maps[i].key); k++)
			;
		if (k == nt)
			pr_warn("--external mnt[%s]: no mount there\n", ext_maps[i].key);
	}
}

int dump_mounts(pid_t pid, u32 id)
{
	char *tbuf = read_tree_mountinfo(pid), *hbuf = NULL;
	struct mi *t = NULL, *h = NULL;
	int nt = 0, nh = 0, k, *order = NULL, ret = -1;
	struct cr_img *img = NULL;
	struct mnt_lists lists;

	if (!tbuf || read_file("/proc/self/mountinfo", &hbuf) < 0 ||
	    parse_mountinfo(tbuf, &t, &nt) || parse_mountinfo(hbuf, &h, &nh))
		goto out;
	order = xmalloc(nt * sizeof(*order));
	if (!order || order_mounts(t, nt, order))
		goto out;
	img = open_image(CR_FD_MNTS, O_DUMP, (unsigned long)id);
	if (!img)
		goto out;
	lists = (struct mnt_lists){ .t = t, .h = h, .nt = nt, .nh = nh, .order = order };
	for (k = 0; k < nt; k++)
		if (dump_one_mount(img, pid, &lists, k))
			goto out;
	warn_unmatched(t, nt);
	pr_info("mount namespace of pid %d: %d mounts\n", pid, nt);
	ret = 0;
out:
	if (img && close_image(img))
		ret = -1;
	free(order);
	free(t);
	free(h);
	free(tbuf);
	free(hbuf);
	return ret;
}
