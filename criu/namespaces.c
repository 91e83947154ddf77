// SPDX-License-Identifier: GPL-2.0
/*
 * Namespaces.  At dump, the namespaces of the tree's root are compared
 * with criu's own: a tree may have its own user, pid, mount, UTS, IPC,
 * net and time namespaces, as `unshare -UrpfmiuT --mount-proc` makes them,
 * and every task must share the root's.  What they hold is checked and
 * written: uid/gid maps, hostnames, SysV IPC objects (ipc_ns.c); a mount
 * namespace that differs from criu's only by a fresh /proc gets that
 * /proc back, any other has its mounts dumped whole (mount.c); a net
 * namespace, loopback and veth devices (net-ns.c); a time namespace, its
 * clocks.
 * Anything else is refused by name.
 * At restore the root is cloned into new namespaces of the same kinds,
 * criu writes the id maps, and the root recreates what they held.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <stddef.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cr_options.h"
#include "image.h"
#include "ipc_ns.h"
#include "join-ns.h"
#include "mount.h"
#include "namespaces.h"
#include "pidns.pb-c.h"
#include "pstree.h"
#include "userns.pb-c.h"
#include "utsns.pb-c.h"

struct ns_id {
	u64 ino;
	u32 id;
};

static struct ns_id ns_ids[256];
static int nr_ns_ids;
static u32 next_kobj_id = 1;

u32 new_kobj_id(void)
{
	return next_kobj_id++;
}

static int ns_ino(pid_t pid, const char *ns, u64 *ino)
{
	char path[64];
	struct stat st;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, ns);
	else
		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns);
	if (stat(path, &st)) {
		pr_perror("cannot stat %s", path);
		return -1;
	}
	*ino = st.st_ino;
	return 0;
}

static int ns_id_of(pid_t pid, const char *ns, u32 *id, protobuf_c_boolean *has)
{
	u64 ino;
	int i;

	if (ns_ino(pid, ns, &ino))
		return -1;
	for (i = 0; i < nr_ns_ids; i++)
		if (ns_ids[i].ino == ino)
			break;
	if (i == nr_ns_ids) {
		if (nr_ns_ids == (int)ARRAY_SIZE(ns_ids)) {
			pr_err("too many namespaces in the tree\n");
			return -1;
		}
		ns_ids[i].ino = ino;
		ns_ids[i].id = new_kobj_id();
		nr_ns_ids++;
	}
	*id = ns_ids[i].id;
	*has = true;
	return 0;
}

u32 ns_id_of_ino(u64 ino)
{
	int i;

	for (i = 0; i < nr_ns_ids; i++)
		if (ns_ids[i].ino == ino)
			return ns_ids[i].id;
	return 0;
}

/* ---- dump: what the tree's own namespaces hold ---- */

/*
 * Unprivileged, a namespace of a container is joined from inside the user
 * namespace that owns it (the caller's own child namespace, as rootless
 * runc makes it): the caps are there.
 */
static int join_owner_userns(pid_t pid)
{
	char path[64];
	int fd, ret;

	snprintf(path, sizeof(path), "/proc/%d/ns/user", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ret = setns(fd, CLONE_NEWUSER);
	close(fd);
	return ret;
}

/*
 * Run fn in a child of ours that joined pid's namespace of one kind; fn
 * writes its answer to a pipe, which we read into buf.
 */
ssize_t ask_in_ns(pid_t pid, const char *ns, int nstype, int (*fn)(int out), void *buf,
		  size_t len)
{
	char path[64];
	int p[2], nsfd, status;
	ssize_t n;
	pid_t child;

	snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, ns);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0) {
		pr_perror("cannot open %s", path);
		return -1;
	}
	if (pipe2(p, O_CLOEXEC)) {
		close(nsfd);
		return -1;
	}
	child = fork();
	if (child == 0) {
		close(p[0]);
		if (setns(nsfd, nstype) && (errno != EPERM || join_owner_userns(pid) ||
					    setns(nsfd, nstype))) {
			pr_perror("cannot join %s", path);
			_exit(1);
		}
		_exit(fn(p[1]) ? 1 : 0);
	}
	close(nsfd);
	close(p[1]);
	n = child < 0 ? -1 : read_all(p[0], buf, len);
	close(p[0]);
	if (child < 0 || xwaitpid(child, &status, 0) != child || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		pr_err("cannot look into the %s namespace of pid %d\n", ns, pid);
		return -1;
	}
	return n;
}

static int parse_id_map(pid_t pid, const char *file, UidGidExtent ***out, size_t *nr)
{
	char path[64], *buf, *line, *save;
	UidGidExtent **e = NULL;
	size_t n = 0;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	if (read_file(path, &buf) < 0) {
		pr_perror("cannot read %s", path);
		return -1;
	}
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		UidGidExtent *x = xzalloc(sizeof(*x)), **ne;

		ne = x ? xrealloc(e, (n + 1) * sizeof(*e)) : NULL;
		if (!ne) {
			free(x);
			free(buf);
			return -1;
		}
		e = ne;
		uid_gid_extent__init(x);
		if (sscanf(line, "%u %u %u", &x->first, &x->lower_first, &x->count) != 3) {
			pr_err("cannot parse %s: %s\n", path, line);
			free(x);
			free(buf);
			return -1;
		}
		e[n++] = x;
	}
	free(buf);
	*out = e;
	*nr = n;
	return 0;
}

static int dump_userns(pid_t pid, u32 id)
{
	UsernsEntry ue = USERNS_ENTRY__INIT;
	char path[64], *sg;
	size_t i;
	int ret = -1;

	if (parse_id_map(pid, "uid_map", &ue.uid_map, &ue.n_uid_map) ||
	    parse_id_map(pid, "gid_map", &ue.gid_map, &ue.n_gid_map))
		goto out;
	snprintf(path, sizeof(path), "/proc/%d/setgroups", pid);
	if (read_file(path, &sg) < 0) {
		pr_perror("cannot read %s", path);
		goto out;
	}
	ue.has_setgroups_deny = true;
	ue.setgroups_deny = !strncmp(sg, "deny", 4);
	free(sg);
	ret = pb_write_image(CR_FD_USERNS, &ue.base, id);
out:
	for (i = 0; i < ue.n_uid_map; i++)
		free(ue.uid_map[i]);
	for (i = 0; i < ue.n_gid_map; i++)
		free(ue.gid_map[i]);
	free(ue.uid_map);
	free(ue.gid_map);
	return ret;
}

static int uts_answer(int out)
{
	struct utsname u;

	if (uname(&u))
		return -1;
	return write_all(out, &u, sizeof(u)) == sizeof(u) ? 0 : -1;
}

static int dump_utsns(pid_t pid, u32 id)
{
	UtsnsEntry ue = UTSNS_ENTRY__INIT;
	struct utsname u;

	if (ask_in_ns(pid, "uts", CLONE_NEWUTS, uts_answer, &u, sizeof(u)) != sizeof(u))
		return -1;
	ue.nodename = u.nodename;
	ue.domainname = u.domainname;
	pr_info("uts namespace: %s / %s\n", u.nodename, u.domainname);
	return pb_write_image(CR_FD_UTSNS, &ue.base, id);
}

/* A mountinfo line without its ids and propagation tags. */
static void mount_key(char *line, char *key, size_t len)
{
	char *f[64], *save, *tok;
	int n = 0, i, off = 0;

	for (tok = strtok_r(line, " ", &save); tok && n < 64; tok = strtok_r(NULL, " ", &save))
		f[n++] = tok;
	key[0] = '\0';
	/* 0 id, 1 parent, 2 dev; then root, mount point, options, tags..., "-", ... */
	for (i = 3; i < n; i++) {
		if (!strncmp(f[i], "shared:", 7) || !strncmp(f[i], "master:", 7) ||
		    !strncmp(f[i], "propagate_from:", 15) || !strcmp(f[i], "unbindable"))
			continue;
		off += snprintf(key + off, len - off, "%s ", f[i]);
		if (off >= (int)len)
			break;
	}
}

static int keys_of(char *buf, char ***keys, int *nr);

static int read_mount_keys(const char *path, char ***keys, int *nr)
{
	char *buf;

	if (read_file(path, &buf) < 0) {
		pr_perror("cannot read %s", path);
		return -1;
	}
	return keys_of(buf, keys, nr);
}

/*
 * The mounts of pid's namespace as seen from its root: /proc/PID/mountinfo
 * would show only those under the task's own root, which chroot() moves.
 */
static int read_ns_mount_keys(pid_t pid, char ***keys, int *nr)
{
	char *buf = read_tree_mountinfo(pid);

	return buf ? keys_of(buf, keys, nr) : -1;
}

/* Split mountinfo text into keys; frees buf. */
static int keys_of(char *buf, char ***keys, int *nr)
{
	char *line, *save;
	char **k = NULL;
	int n = 0;

	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char **nk = xrealloc(k, (n + 1) * sizeof(*k));

		if (!nk)
			break;
		k = nk;
		k[n] = xmalloc(1024);
		if (!k[n])
			break;
		mount_key(line, k[n], 1024);
		n++;
	}
	free(buf);
	*keys = k;
	*nr = n;
	return 0;
}

static void free_keys(char **k, int n)
{
	while (n--)
		free(k[n]);
	free(k);
}

/* the mount flags of a /proc mount from its per-mount options */
static u32 proc_flags(const char *key)
{
	u32 fl = 0;

	if (strstr(key, "nosuid"))
		fl |= MS_NOSUID;
	if (strstr(key, "nodev"))
		fl |= MS_NODEV;
	if (strstr(key, "noexec"))
		fl |= MS_NOEXEC;
	if (strstr(key, "relatime"))
		fl |= MS_RELATIME;
	return fl;
}

/*
 * Whether the tree's mount namespace holds what criu's holds, plus at
 * most one new proc mounted on /proc (what unshare --mount-proc does):
 * then only that proc is restored; otherwise mount.c dumps every mount.
 */
static int check_mntns(pid_t pid, u32 *proc_mount)
{
	char **mine, **theirs;
	int nm, nt, i, j, extra = -1, ret = -1;

	if (read_mount_keys("/proc/self/mountinfo", &mine, &nm))
		return -1;
	if (read_ns_mount_keys(pid, &theirs, &nt)) {
		free_keys(mine, nm);
		return -1;
	}
	/* strike out the pairs; what is left of either side is a difference */
	for (i = 0; i < nt; i++) {
		for (j = 0; j < nm; j++)
			if (mine[j][0] && !strcmp(theirs[i], mine[j])) {
				mine[j][0] = theirs[i][0] = '\0';
				break;
			}
	}
	for (j = 0; j < nm; j++)
		if (mine[j][0]) {
			pr_info("mount %s is not in the mount namespace of pid %d\n", mine[j], pid);
			goto out;
		}
	for (i = 0; i < nt; i++) {
		if (!theirs[i][0])
			continue;
		if (extra < 0 && !strncmp(theirs[i], "/ /proc ", 8) && strstr(theirs[i], " - proc ")) {
			extra = i;
			continue;
		}
		pr_info("mount %s is in the mount namespace of pid %d only\n", theirs[i], pid);
		goto out;
	}
	*proc_mount = extra >= 0 ? proc_flags(theirs[extra]) | (1U << 31) : 0;
	ret = 0;
out:
	free_keys(mine, nm);
	free_keys(theirs, nt);
	return ret;
}

static u32 dump_proc_mount;

static int dump_mntns(pid_t pid, u32 id)
{
	if (!check_mntns(pid, &dump_proc_mount))
		return 0;
	dump_proc_mount = 0;
	return dump_mounts(pid, id);
}

static int dump_pidns(pid_t pid __attribute__((unused)), u32 id)
{
	PidnsEntry pe = PIDNS_ENTRY__INIT;

	return pb_write_image(CR_FD_PIDNS, &pe.base, id);
}

static int dump_timens_of(pid_t pid, u32 id)
{
	return dump_tree_timens(pid, id);
}

static int check_pidns(struct pstree_item *root)
{
	if (root->vpid == 1)
		return 0;
	pr_err("unsupported: pid %d is pid %d, not the init, of its pid namespace\n", root->pid,
	       root->vpid);
	return -1;
}

static int check_timens(struct pstree_item *root)
{
	return check_time_for_children(root->pid);
}

/*
 * /proc/PID/status shows ids as seen from criu's user namespace; the
 * images hold them as the tree's own namespace sees them.
 */
static u32 map_one(UidGidExtent **map, size_t n, u32 outer)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (outer >= map[i]->lower_first && outer - map[i]->lower_first < map[i]->count)
			return map[i]->first + (outer - map[i]->lower_first);
	return 65534;	/* the overflow id, as the kernel shows unmapped ones */
}

static UidGidExtent **dump_uid_map, **dump_gid_map;
static size_t dump_n_uid, dump_n_gid;

u32 tree_uid(u32 uid)
{
	return dump_uid_map ? map_one(dump_uid_map, dump_n_uid, uid) : uid;
}

u32 tree_gid(u32 gid)
{
	return dump_gid_map ? map_one(dump_gid_map, dump_n_gid, gid) : gid;
}

/* ---- restore ---- */

static UsernsEntry *rst_userns;
static UtsnsEntry *rst_utsns;
static u32 rst_ns_flags, rst_img_ns_flags, rst_proc_mount;

u32 restore_ns_flags(void)
{
	return rst_ns_flags;
}

static int prepare_userns(u32 id)
{
	return pb_read_image(CR_FD_USERNS, O_RSTR, (void **)&rst_userns, &userns_entry__descriptor,
			     id) < 0 ? -1 : 0;
}

static int prepare_utsns(u32 id)
{
	return pb_read_image(CR_FD_UTSNS, O_RSTR, (void **)&rst_utsns, &utsns_entry__descriptor,
			     id) < 0 ? -1 : 0;
}

static int write_map(pid_t pid, const char *file, UidGidExtent **map, size_t n)
{
	char path[64], buf[4096];
	size_t i;
	int off = 0;

	for (i = 0; i < n && off < (int)sizeof(buf) - 64; i++)
		off += snprintf(buf + off, sizeof(buf) - off, "%u %u %u\n", map[i]->first,
				map[i]->lower_first, map[i]->count);
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	if (write_file(path, buf, off)) {
		pr_perror("cannot write %s (%d extents)", path, (int)n);
		return -1;
	}
	return 0;
}

int write_userns_maps(pid_t pid)
{
	char path[64];

	if (!rst_userns)
		return 0;
	if (rst_userns->has_setgroups_deny && rst_userns->setgroups_deny) {
		snprintf(path, sizeof(path), "/proc/%d/setgroups", pid);
		if (write_file(path, "deny", 4)) {
			pr_perror("cannot write %s", path);
			return -1;
		}
	}
	if (write_map(pid, "uid_map", rst_userns->uid_map, rst_userns->n_uid_map) ||
	    write_map(pid, "gid_map", rst_userns->gid_map, rst_userns->n_gid_map))
		return -1;
	pr_info("pid %d: user namespace maps written\n", pid);
	return 0;
}

static int mount_fresh_proc(void)
{
	unsigned long fl = rst_proc_mount & ~(1U << 31);

	/* our mounts were copied from criu's: keep our changes to ourselves */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		pr_perror("cannot make the new mount namespace private");
		return -1;
	}
	if ((rst_proc_mount & (1U << 31)) && mount("proc", "/proc", "proc", fl, NULL)) {
		pr_perror("cannot mount a fresh /proc");
		return -1;
	}
	return 0;
}

static int prepare_mntns(u32 id)
{
	return prepare_mounts(id) < 0 ? -1 : 0;
}

static int restore_mntns(void)
{
	return mounts_in_images() ? restore_mounts() : mount_fresh_proc();
}

static int restore_utsns(void)
{
	if (sethostname(rst_utsns->nodename, strlen(rst_utsns->nodename)) ||
	    setdomainname(rst_utsns->domainname, strlen(rst_utsns->domainname))) {
		pr_perror("cannot set the host and domain names");
		return -1;
	}
	return 0;
}

/* ---- the kinds of namespaces ---- */

#define IDS(f) offsetof(TaskKobjIdsEntry, f##_ns_id), offsetof(TaskKobjIdsEntry, has_##f##_ns_id)

/*
 * Every kind of namespace, with what dump and restore do for a tree that
 * has one of its own.  In this order: the root restores them in it, the
 * time namespace first (before anything reads a clock), and the ids of a
 * task's namespaces are numbered in it.
 */
static const struct ns_kind {
	const char *name;		/* in /proc/PID/ns */
	int flag;			/* CLONE_NEW* */
	size_t id_off, has_off;		/* its id in TaskKobjIdsEntry */
	bool root_makes;		/* not a clone3 flag: the root makes it itself */
	const char *refused;		/* why a tree of its own is not dumped */
	int (*check)(struct pstree_item *root);	/* dump, before anything is written */
	int (*dump)(pid_t pid, u32 id);		/* dump: what the tree's own one holds */
	int (*dump_shared)(u32 id);		/* dump: the tree shares criu's */
	int (*prepare)(u32 id);			/* restore, in criu: its images */
	int (*prepare_shared)(u32 id);		/* restore, in criu: the tree shares criu's */
	int (*restore)(void);			/* restore, in the root, once inside */
} ns_kinds[] = {
	{ "user", CLONE_NEWUSER, IDS(user), .dump = dump_userns, .prepare = prepare_userns },
	{ "pid", CLONE_NEWPID, IDS(pid), .check = check_pidns, .dump = dump_pidns },
	{ "time", CLONE_NEWTIME, IDS(time), .root_makes = true, .check = check_timens,
	  .dump = dump_timens_of, .prepare = prepare_timens, .restore = restore_timens },
	{ "mnt", CLONE_NEWNS, IDS(mnt), .dump = dump_mntns, .prepare = prepare_mntns,
	  .restore = restore_mntns },
	{ "uts", CLONE_NEWUTS, IDS(uts), .dump = dump_utsns, .prepare = prepare_utsns,
	  .restore = restore_utsns },
	{ "net", CLONE_NEWNET, IDS(net), .dump = dump_netns, .prepare = prepare_netns,
	  .restore = restore_netns },
	{ "ipc", CLONE_NEWIPC, IDS(ipc), .dump = dump_ipc_ns, .dump_shared = dump_mapped_sysv_shm,
	  .prepare = prepare_ipc_ns, .prepare_shared = prepare_host_sysv_shm,
	  .restore = restore_ipc_ns },
	{ "cgroup", CLONE_NEWCGROUP, IDS(cgroup), .refused = "its own cgroup namespace" },
};

#define for_each_ns_kind(k) for (k = ns_kinds; k < ns_kinds + ARRAY_SIZE(ns_kinds); k++)

static u32 *ids_field(TaskKobjIdsEntry *ids, const struct ns_kind *k)
{
	return (u32 *)((char *)ids + k->id_off);
}

int dump_task_ns_ids(pid_t pid, TaskKobjIdsEntry *ids)
{
	const struct ns_kind *k;

	for_each_ns_kind(k)
		if (ns_id_of(pid, k->name, ids_field(ids, k),
			     (protobuf_c_boolean *)((char *)ids + k->has_off)))
			return -1;
	return 0;
}

/* The namespaces of pid that are not criu's, as CLONE_NEW* bits. */
static int own_namespaces(pid_t pid, u32 *flags)
{
	const struct ns_kind *k;

	*flags = 0;
	for_each_ns_kind(k) {
		u64 mine, theirs;

		if (ns_ino(0, k->name, &mine) || ns_ino(pid, k->name, &theirs))
			return -1;
		if (mine != theirs)
			*flags |= k->flag;
	}
	return 0;
}

static int check_same_namespaces(void)
{
	const struct ns_kind *k;
	struct pstree_item *it;

	for_each_item(it) {
		if (it == root_item || it->state == TASK_DEAD)
			continue;
		for_each_ns_kind(k) {
			u64 a, b;

			if (ns_ino(root_item->pid, k->name, &a) || ns_ino(it->pid, k->name, &b))
				return -1;
			if (a != b) {
				pr_err("unsupported: pid %d is in another %s namespace than pid %d\n",
				       it->pid, k->name, root_item->pid);
				return -1;
			}
		}
	}
	return 0;
}

int dump_namespaces(struct pstree_item *root, u32 *ns_flags, u32 *proc_mount)
{
	const struct ns_kind *k;
	u32 own;

	*proc_mount = dump_proc_mount = 0;
	if (check_same_namespaces() || own_namespaces(root->pid, &own))
		return -1;
	*ns_flags = own;
	/* everything that refuses the tree, before any image is written */
	for_each_ns_kind(k) {
		if (!(own & k->flag))
			continue;
		if (k->refused) {
			pr_err("unsupported: pid %d has %s\n", root->pid, k->refused);
			return -1;
		}
		if (k->check && k->check(root))
			return -1;
	}
	for_each_ns_kind(k) {
		u32 id = *ids_field(dump_root_ids(), k);

		if ((own & k->flag) ? k->dump && k->dump(root->pid, id) :
				      k->dump_shared && k->dump_shared(id))
			return -1;
	}
	*proc_mount = dump_proc_mount;
	if (own)
		pr_info("the tree has its own namespaces: %#x%s\n", own,
			*proc_mount ? ", with a fresh /proc" : "");
	return 0;
}

int prepare_id_translation(pid_t root_pid)
{
	u32 own;

	if (own_namespaces(root_pid, &own))
		return -1;
	if (!(own & CLONE_NEWUSER))
		return 0;
	return parse_id_map(root_pid, "uid_map", &dump_uid_map, &dump_n_uid) ||
	       parse_id_map(root_pid, "gid_map", &dump_gid_map, &dump_n_gid) ? -1 : 0;
}

int prepare_namespaces(u32 ns_flags, u32 proc_mount, TaskKobjIdsEntry *ids)
{
	const struct ns_kind *k;
	u32 known = 0, joined;

	/* --join-ns: neither made nor filled from the images (join-ns.c) */
	if (join_ns_prepare(&joined))
		return -1;
	ns_flags &= ~joined;
	for_each_ns_kind(k) {
		if (!k->refused)
			known |= k->flag;
		if (!k->root_makes)
			rst_ns_flags |= ns_flags & k->flag;
	}
	rst_img_ns_flags = ns_flags;
	rst_proc_mount = proc_mount;
	if (ns_flags & ~known) {
		pr_err("unsupported: namespaces %#x in the images\n", ns_flags);
		return -1;
	}
	for_each_ns_kind(k) {
		u32 id = *ids_field(ids, k);

		if (joined & k->flag)
			continue;
		if ((ns_flags & k->flag) ? k->prepare && k->prepare(id) :
					   k->prepare_shared && k->prepare_shared(id))
			return -1;
	}
	return 0;
}

int restore_root_namespaces(void)
{
	const struct ns_kind *k;

	if (join_ns_enter())
		return -1;
	for_each_ns_kind(k)
		if ((rst_img_ns_flags & k->flag) && k->restore && k->restore())
			return -1;
	return mounts_in_images() ? finish_mounts() : 0;
}
