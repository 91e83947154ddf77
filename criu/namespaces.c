// SPDX-License-Identifier: GPL-2.0
/*
 * Namespaces.  At dump, the namespaces of the tree's root are compared
 * with criu's own: a tree may have its own user, pid, mount, UTS, IPC,
 * net and time namespaces, as `unshare -UrpfmiuT --mount-proc` makes them,
 * and every task must share the root's.  What they hold is checked and
 * written: uid/gid maps, hostnames, SysV IPC objects (ipc_ns.c); a mount
 * namespace may differ from criu's only by a fresh /proc; a net
 * namespace may hold only loopback; a time namespace, its clocks.
 * Anything else is refused by name.
 * At restore the root is cloned into new namespaces of the same kinds,
 * criu writes the id maps, and the root recreates what they held.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_arp.h>
#include <linux/if.h>
#include <linux/nsfs.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
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
#include "namespaces.h"
#include "netdev.pb-c.h"
#include "pidns.pb-c.h"
#include "pstree.h"
#include "sockets.h"
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

static const struct ns_kind {
	const char *name;
	int flag;
} ns_kinds[] = {
	{ "user", CLONE_NEWUSER }, { "pid", CLONE_NEWPID }, { "mnt", CLONE_NEWNS },
	{ "uts", CLONE_NEWUTS }, { "ipc", CLONE_NEWIPC }, { "net", CLONE_NEWNET },
	{ "cgroup", CLONE_NEWCGROUP }, { "time", CLONE_NEWTIME },
};

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

int dump_task_ns_ids(pid_t pid, TaskKobjIdsEntry *ids)
{
	return ns_id_of(pid, "pid", &ids->pid_ns_id, &ids->has_pid_ns_id) ||
	       ns_id_of(pid, "net", &ids->net_ns_id, &ids->has_net_ns_id) ||
	       ns_id_of(pid, "ipc", &ids->ipc_ns_id, &ids->has_ipc_ns_id) ||
	       ns_id_of(pid, "uts", &ids->uts_ns_id, &ids->has_uts_ns_id) ||
	       ns_id_of(pid, "mnt", &ids->mnt_ns_id, &ids->has_mnt_ns_id) ||
	       ns_id_of(pid, "user", &ids->user_ns_id, &ids->has_user_ns_id) ||
	       ns_id_of(pid, "cgroup", &ids->cgroup_ns_id, &ids->has_cgroup_ns_id) ||
	       ns_id_of(pid, "time", &ids->time_ns_id, &ids->has_time_ns_id) ? -1 : 0;
}

/* ---- dump: what the tree's own namespaces hold ---- */

/* The namespaces of pid that are not criu's, as CLONE_NEW* bits. */
static int own_namespaces(pid_t pid, u32 *flags)
{
	size_t i;

	*flags = 0;
	for (i = 0; i < ARRAY_SIZE(ns_kinds); i++) {
		u64 mine, theirs;

		if (ns_ino(0, ns_kinds[i].name, &mine) || ns_ino(pid, ns_kinds[i].name, &theirs))
			return -1;
		if (mine != theirs)
			*flags |= ns_kinds[i].flag;
	}
	return 0;
}

static int check_same_namespaces(void)
{
	struct pstree_item *it;
	size_t i;

	for_each_item(it) {
		if (it == root_item || it->state == TASK_DEAD)
			continue;
		for (i = 0; i < ARRAY_SIZE(ns_kinds); i++) {
			u64 a, b;

			if (ns_ino(root_item->pid, ns_kinds[i].name, &a) ||
			    ns_ino(it->pid, ns_kinds[i].name, &b))
				return -1;
			if (a != b) {
				pr_err("unsupported: pid %d is in another %s namespace than pid %d\n",
				       it->pid, ns_kinds[i].name, root_item->pid);
				return -1;
			}
		}
	}
	return 0;
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
		if (setns(nsfd, nstype)) {
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

static u32 ids_id(const char *ns)
{
	TaskKobjIdsEntry *ids = dump_root_ids();

	if (!strcmp(ns, "user"))
		return ids->user_ns_id;
	if (!strcmp(ns, "pid"))
		return ids->pid_ns_id;
	if (!strcmp(ns, "uts"))
		return ids->uts_ns_id;
	if (!strcmp(ns, "net"))
		return ids->net_ns_id;
	if (!strcmp(ns, "ipc"))
		return ids->ipc_ns_id;
	if (!strcmp(ns, "time"))
		return ids->time_ns_id;
	return ids->mnt_ns_id;
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

static int dump_userns(pid_t pid)
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
	ret = pb_write_image(CR_FD_USERNS, &ue.base, ids_id("user"));
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

static int dump_utsns(pid_t pid)
{
	UtsnsEntry ue = UTSNS_ENTRY__INIT;
	struct utsname u;

	if (ask_in_ns(pid, "uts", CLONE_NEWUTS, uts_answer, &u, sizeof(u)) != sizeof(u))
		return -1;
	ue.nodename = u.nodename;
	ue.domainname = u.domainname;
	pr_info("uts namespace: %s / %s\n", u.nodename, u.domainname);
	return pb_write_image(CR_FD_UTSNS, &ue.base, ids_id("uts"));
}

struct link_rec {
	int ifindex;
	unsigned int flags, mtu, arptype;
	char name[IFNAMSIZ];
};

static void send_link(struct nl_object *obj, void *arg)
{
	struct rtnl_link *l = (struct rtnl_link *)obj;
	struct link_rec r;

	memset(&r, 0, sizeof(r));
	r.ifindex = rtnl_link_get_ifindex(l);
	r.flags = rtnl_link_get_flags(l);
	r.mtu = rtnl_link_get_mtu(l);
	r.arptype = rtnl_link_get_arptype(l);
	snprintf(r.name, sizeof(r.name), "%s", rtnl_link_get_name(l) ?: "?");
	write_all(*(int *)arg, &r, sizeof(r));
}

/* Every link of the namespace, through rtnetlink. */
static int net_answer(int out)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_cache *cache = NULL;
	int ret = -1;

	if (!sk || nl_connect(sk, NETLINK_ROUTE) ||
	    rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache))
		goto out;
	nl_cache_foreach(cache, send_link, &out);
	ret = 0;
out:
	if (cache)
		nl_cache_free(cache);
	if (sk)
		nl_socket_free(sk);
	return ret;
}

static int dump_netns(pid_t pid)
{
	NetnsEntry ne = NETNS_ENTRY__INIT;
	struct link_rec recs[16];
	struct cr_img *img;
	ssize_t n;
	int i, ret;

	n = ask_in_ns(pid, "net", CLONE_NEWNET, net_answer, recs, sizeof(recs));
	if (n < 0)
		return -1;
	img = open_image(CR_FD_NETDEV, O_DUMP, (unsigned long)ids_id("net"));
	if (!img)
		return -1;
	ret = 0;
	for (i = 0; i < (int)(n / sizeof(recs[0])) && !ret; i++) {
		NetDeviceEntry nd = NET_DEVICE_ENTRY__INIT;

		if (recs[i].arptype != ARPHRD_LOOPBACK) {
			pr_err("unsupported: the net namespace of pid %d has device %s\n", pid,
			       recs[i].name);
			ret = -1;
			break;
		}
		nd.type = ND_TYPE__LOOPBACK;
		nd.ifindex = recs[i].ifindex;
		nd.mtu = recs[i].mtu;
		nd.flags = recs[i].flags;
		nd.name = recs[i].name;
		pr_info("net namespace: %s is %s\n", recs[i].name,
			recs[i].flags & IFF_UP ? "up" : "down");
		ret = pb_write(img, &nd);
	}
	if (close_image(img))
		ret = -1;
	return ret ? -1 : pb_write_image(CR_FD_NETNS, &ne.base, ids_id("net"));
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

#define MNTINFO_MAX (1 << 20)
static int host_proc_fd = -1;

/* In a child that joined the tree's mount namespace: its own mountinfo. */
static int mountinfo_answer(int out)
{
	char path[32], *buf;
	ssize_t n;

	snprintf(path, sizeof(path), "%d/mountinfo", getpid());
	n = read_file_at(host_proc_fd, path, &buf);
	if (n < 0 || n >= MNTINFO_MAX) {
		pr_perror("cannot read the mountinfo of the namespace");
		return -1;
	}
	n = write_all(out, buf, n);
	free(buf);
	return n < 0 ? -1 : 0;
}

/*
 * The mounts of pid's namespace as seen from its root: /proc/PID/mountinfo
 * would show only those under the task's own root, which chroot() moves.
 */
static int read_ns_mount_keys(pid_t pid, char ***keys, int *nr)
{
	char *buf = xmalloc(MNTINFO_MAX);
	ssize_t n;

	if (!buf)
		return -1;
	host_proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (host_proc_fd < 0) {
		pr_perror("cannot open /proc");
		free(buf);
		return -1;
	}
	n = ask_in_ns(pid, "mnt", CLONE_NEWNS, mountinfo_answer, buf, MNTINFO_MAX - 1);
	close(host_proc_fd);
	host_proc_fd = -1;
	if (n < 0) {
		free(buf);
		return -1;
	}
	buf[n] = '\0';
	return keys_of(buf, keys, nr);
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
 * The tree's mount namespace must hold what criu's holds, plus at most
 * one new proc mounted on /proc (what unshare --mount-proc does).
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
			pr_err("unsupported: mount %s is gone from the mount namespace of pid %d\n",
			       mine[j], pid);
			goto out;
		}
	for (i = 0; i < nt; i++) {
		if (!theirs[i][0])
			continue;
		if (extra < 0 && !strncmp(theirs[i], "/ /proc ", 8) && strstr(theirs[i], " - proc ")) {
			extra = i;
			continue;
		}
		pr_err("unsupported: mount %s in the mount namespace of pid %d\n", theirs[i], pid);
		goto out;
	}
	*proc_mount = extra >= 0 ? proc_flags(theirs[extra]) | (1U << 31) : 0;
	ret = 0;
out:
	free_keys(mine, nm);
	free_keys(theirs, nt);
	return ret;
}

int dump_namespaces(struct pstree_item *root, u32 *ns_flags, u32 *proc_mount)
{
	u32 own;

	*proc_mount = 0;
	if (check_same_namespaces() || own_namespaces(root->pid, &own))
		return -1;
	*ns_flags = own;
	if (own & CLONE_NEWCGROUP) {
		pr_err("unsupported: pid %d has its own cgroup namespace\n", root->pid);
		return -1;
	}
	if ((own & CLONE_NEWTIME) && (check_time_for_children(root->pid) ||
				      dump_tree_timens(root->pid, ids_id("time"))))
		return -1;
	if ((own & CLONE_NEWPID) && root->vpid != 1) {
		pr_err("unsupported: pid %d is pid %d, not the init, of its pid namespace\n",
		       root->pid, root->vpid);
		return -1;
	}
	if ((own & CLONE_NEWUSER) && dump_userns(root->pid))
		return -1;
	if (own & CLONE_NEWPID) {
		PidnsEntry pe = PIDNS_ENTRY__INIT;

		if (pb_write_image(CR_FD_PIDNS, &pe.base, ids_id("pid")))
			return -1;
	}
	if ((own & CLONE_NEWUTS) && dump_utsns(root->pid))
		return -1;
	if ((own & CLONE_NEWIPC) ? dump_ipc_ns(root->pid, ids_id("ipc")) :
				   dump_mapped_sysv_shm(ids_id("ipc")))
		return -1;
	if ((own & CLONE_NEWNET) && dump_netns(root->pid))
		return -1;
	if ((own & CLONE_NEWNS) && check_mntns(root->pid, proc_mount))
		return -1;
	if (own)
		pr_info("the tree has its own namespaces: %#x%s\n", own,
			*proc_mount ? ", with a fresh /proc" : "");
	return 0;
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
static NetDeviceEntry **rst_netdevs;
static size_t rst_nr_netdevs;
static u32 rst_ns_flags, rst_proc_mount;

u32 restore_ns_flags(void)
{
	return rst_ns_flags;
}

int prepare_namespaces(u32 ns_flags, u32 proc_mount, TaskKobjIdsEntry *ids)
{
	/* the root makes its time namespace itself (restore_timens) */
	rst_ns_flags = ns_flags & ~CLONE_NEWTIME;
	rst_proc_mount = proc_mount;
	if (ns_flags & ~(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS |
			 CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWTIME)) {
		pr_err("unsupported: namespaces %#x in the images\n", ns_flags);
		return -1;
	}
	if ((ns_flags & CLONE_NEWTIME) && prepare_timens(ids->time_ns_id))
		return -1;
	if ((ns_flags & CLONE_NEWUSER) &&
	    pb_read_image(CR_FD_USERNS, O_RSTR, (void **)&rst_userns, &userns_entry__descriptor,
			  ids->user_ns_id) < 0)
		return -1;
	if ((ns_flags & CLONE_NEWIPC) ? prepare_ipc_ns(ids->ipc_ns_id) :
				       prepare_host_sysv_shm(ids->ipc_ns_id))
		return -1;
	if ((ns_flags & CLONE_NEWUTS) &&
	    pb_read_image(CR_FD_UTSNS, O_RSTR, (void **)&rst_utsns, &utsns_entry__descriptor,
			  ids->uts_ns_id) < 0)
		return -1;
	if (ns_flags & CLONE_NEWNET) {
		struct cr_img *img = open_image(CR_FD_NETDEV, O_RSTR, (unsigned long)ids->net_ns_id);
		int ret;

		if (!img)
			return -1;
		for (;;) {
			NetDeviceEntry *nd, **n;

			ret = pb_read_one_eof(img, (void **)&nd, &net_device_entry__descriptor);
			if (ret <= 0)
				break;
			n = xrealloc(rst_netdevs, (rst_nr_netdevs + 1) * sizeof(*n));
			if (!n) {
				pb_free(nd);
				ret = -1;
				break;
			}
			rst_netdevs = n;
			rst_netdevs[rst_nr_netdevs++] = nd;
			if (nd->type != ND_TYPE__LOOPBACK) {
				pr_err("%s: unsupported device %s of type %d\n", img->name, nd->name,
				       nd->type);
				ret = -1;
				break;
			}
		}
		close_image(img);
		if (ret < 0)
			return -1;
	}
	return 0;
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

static int restore_loopback(void)
{
	struct nl_sock *sk = NULL;
	struct rtnl_link *lo = NULL, *change = NULL;
	size_t i;
	int ret = -1;

	for (i = 0; i < rst_nr_netdevs; i++)
		if (rst_netdevs[i]->flags & IFF_UP)
			break;
	if (i == rst_nr_netdevs)
		return 0;	/* a new namespace's loopback is down already */
	sk = nl_socket_alloc();
	change = rtnl_link_alloc();
	if (!sk || !change || nl_connect(sk, NETLINK_ROUTE) ||
	    rtnl_link_get_kernel(sk, 0, rst_netdevs[i]->name, &lo)) {
		pr_err("cannot find %s in the new net namespace\n", rst_netdevs[i]->name);
		goto out;
	}
	rtnl_link_set_flags(change, IFF_UP);
	if (rtnl_link_change(sk, lo, change, 0)) {
		pr_err("cannot bring %s up\n", rst_netdevs[i]->name);
		goto out;
	}
	ret = 0;
out:
	if (lo)
		rtnl_link_put(lo);
	if (change)
		rtnl_link_put(change);
	if (sk)
		nl_socket_free(sk);
	return ret;
}

int restore_root_namespaces(void)
{
	if (restore_timens())
		return -1;
	if ((rst_ns_flags & CLONE_NEWNS) && mount_fresh_proc())
		return -1;
	if (rst_utsns && (sethostname(rst_utsns->nodename, strlen(rst_utsns->nodename)) ||
			  setdomainname(rst_utsns->domainname, strlen(rst_utsns->domainname)))) {
		pr_perror("cannot set the host and domain names");
		return -1;
	}
	if ((rst_ns_flags & CLONE_NEWNET) && (restore_loopback() || isk_open_in_netns()))
		return -1;
	if ((rst_ns_flags & CLONE_NEWIPC) && restore_ipc_ns())
		return -1;
	return 0;
}
