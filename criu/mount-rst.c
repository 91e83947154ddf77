// SPDX-License-Identifier: GPL-2.0
/*
 * Restore of a mount namespace (see mount.c for the kinds of mounts).
 * The root, cloned into a new mount namespace (a copy of criu's, owned by
 * the tree's user namespace if it has one, so that proc, sysfs and mqueue
 * of its new namespaces can be mounted), builds the tree's mounts under a
 * staging directory while criu's paths are still there to bind from:
 * parents first, each tmpfs refilled before anything is mounted on it;
 * then pivot_root into it, and only then per-mount flags (a read-only
 * parent would refuse the mount points of its children) and propagation.
 * criu then opens the tree's files inside that namespace and hands them
 * to the root over a socket (the anchors, at the numbers criu has them).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cr_options.h"
#include "files.h"
#include "image.h"
#include "log.h"
#include "mnt.pb-c.h"
#include "mount-internal.h"
#include "namespaces.h"

struct rst_mnt {
	MntEntry *e;
	char target[PATH_MAX];	/* under the staging directory */
	bool skip;		/* came with an earlier recursive bind */
	bool fresh;		/* a new superblock (its own options and flags) */
	bool ro_later;		/* a read-only tmpfs, made writable to be filled */
	struct cr_img *tar;	/* a tmpfs's files, opened by criu (the root may not read them) */
	int src_fd;		/* an external or host bind's source, opened by criu */
	char *late_from;	/* a pty's bind (/dev/console), made once the pty exists */
};

#define ROOT_SOURCE UINT32_MAX	/* the id of --root among the sources */
static int root_fd = -1;
static pid_t criu_pid;		/* names the staging directory */

static struct rst_mnt *rm;
static size_t nr_rm;
static int chan[2] = { -1, -1 };

static void save_criu_maps(void);

static int take_mnt(void *msg, void *arg)
{
	struct rst_mnt *n = xrealloc(rm, (nr_rm + 1) * sizeof(*rm));

	(void)arg;
	if (!n) {
		pb_free(msg);
		return -1;
	}
	rm = n;
	memset(&rm[nr_rm], 0, sizeof(*rm));
	rm[nr_rm].src_fd = -1;
	rm[nr_rm++].e = msg;
	return 0;
}

/* the first mount of a tmpfs superblock gets its files */
static int open_tmpfs_image(size_t k)
{
	size_t j;

	for (j = 0; j < k; j++)
		if (rm[j].e->root_dev == rm[k].e->root_dev)
			return 0;
	/* none for a tmpfs that was under another mount */
	rm[k].tar = open_image(CR_FD_TMPFS_DEV, O_RSTR | O_OPT, (unsigned long)rm[k].e->root_dev);
	return rm[k].tar ? 0 : -1;
}

/* criu, once the root has them; the root, once it has used them */
static void close_tmpfs_images(void)
{
	size_t k;

	for (k = 0; k < nr_rm; k++)
		if (rm[k].tar) {
			close_image(rm[k].tar);
			rm[k].tar = NULL;
		}
}

int prepare_mounts(u32 id)
{
	save_criu_maps();
	char name[64];
	size_t i;

	snprintf(name, sizeof(name), image_name_fmt(CR_FD_MNTS), (unsigned long)id);
	if (faccessat(get_image_dir_fd(), name, F_OK, 0))
		return 0;	/* a namespace that differed by a /proc at most */
	if (pb_read_all(CR_FD_MNTS, O_RSTR, &mnt_entry__descriptor, take_mnt, NULL,
			(unsigned long)id))
		return -1;
	for (i = 0; i < nr_rm; i++) {
		MntEntry *e = rm[i].e;

		if (e->ext_mount && (!e->ext_key || !ext_map_find(e->ext_key))) {
			pr_err("mount %s is external: it needs --external mnt[%s]:PATH\n",
			       e->mountpoint, e->ext_key ? e->ext_key : "?");
			return -1;
		}
		if (e->fstype == FSTYPE__TMPFS && !e->ext_mount && !e->host_path &&
		    open_tmpfs_image(i))
			return -1;
	}
	pr_info("%s: %zu mounts\n", name, nr_rm);
	criu_pid = getpid();
	return 1;
}

bool mounts_in_images(void)
{
	return nr_rm > 0;
}

/* ---- building ---- */

static int mkdirs(char *path, bool last_is_dir)
{
	struct stat st;
	char *p;
	int fd;

	if (!stat(path, &st))
		return 0;
	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) && errno != EEXIST) {
			pr_perror("cannot make the directory %s", path);
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	if (last_is_dir) {
		if (mkdir(path, 0755) && errno != EEXIST) {
			pr_perror("cannot make the mount point %s", path);
			return -1;
		}
		return 0;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 && errno != EISDIR) {
		pr_perror("cannot make the mount point %s", path);
		return -1;
	}
	if (fd >= 0)
		close(fd);
	return 0;
}

static int untar(struct rst_mnt *r)
{
	struct cr_img *img = r->tar;
	int status;
	pid_t child;

	if (!img) {
		pr_err("tmpfs on %s: its files were not opened\n", r->e->mountpoint);
		return -1;
	}
	if (empty_image(img)) {
		pr_info("tmpfs on %s: no files saved (it was under another mount)\n",
			r->e->mountpoint);
		return 0;
	}
	child = fork();
	if (child == 0) {
		/* tar's complaints go to the log */
		if (chdir(r->target) || dup2(img_raw_fd(img), 0) != 0 ||
		    (log_get_fd() >= 0 && dup2(log_get_fd(), 2) != 2))
			_exit(3);
		execlp("tar", "tar", "--extract", "--gzip", "--numeric-owner",
		       "--preserve-permissions", "--file=-", (char *)NULL);
		_exit(4);
	}
	close_image(img);
	r->tar = NULL;
	if (child < 0 || xwaitpid(child, &status, 0) != child || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		pr_err("cannot fill the tmpfs on %s (tar status %#x)\n", r->e->mountpoint,
		       child < 0 ? -1 : status);
		return -1;
	}
	return 0;
}

/*
 * criu's own id maps, read before the fork: a rootless criu (in a user
 * namespace of the user's, as rootlesskit keeps one) sees global ids
 * through them first.
 */
static char *criu_map[2];

static void save_criu_maps(void)
{
	if (!criu_map[0] && read_file("/proc/self/uid_map", &criu_map[0]) < 0)
		criu_map[0] = NULL;
	if (!criu_map[1] && read_file("/proc/self/gid_map", &criu_map[1]) < 0)
		criu_map[1] = NULL;
}

static unsigned int map_down(const char *map, unsigned int id)
{
	unsigned int in, out, n;
	char *buf = xstrdup(map), *line, *save;

	if (!buf)
		return id;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (sscanf(line, "%u %u %u", &in, &out, &n) == 3 && id >= out && id - out < n) {
			id = in + (id - out);
			break;
		}
	free(buf);
	return id;
}

/* a global id (as tmpfs and devpts show uid= and gid=) as our user namespace sees it */
static unsigned int local_id(const char *map, unsigned int global)
{
	unsigned int in, out, n;
	char *buf, *line, *save;
	const char *mine = criu_map[strstr(map, "gid") ? 1 : 0];

	if (mine)
		global = map_down(mine, global);
	if (read_file(map, &buf) < 0)
		return global;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (sscanf(line, "%u %u %u", &in, &out, &n) == 3 && global >= out &&
		    global - out < n) {
			global = in + (global - out);
			break;
		}
	free(buf);
	return global;
}

static void local_options(const char *opts, char *out, size_t len)
{
	char buf[4096], *tok, *save;
	unsigned int id;
	size_t off = 0;

	snprintf(buf, sizeof(buf), "%s", opts);
	out[0] = '\0';
	for (tok = strtok_r(buf, ",", &save); tok && off < len; tok = strtok_r(NULL, ",", &save)) {
		const char *sep = off ? "," : "";

		if (sscanf(tok, "uid=%u", &id) == 1)
			off += snprintf(out + off, len - off, "%suid=%u", sep,
					local_id("/proc/self/uid_map", id));
		else if (sscanf(tok, "gid=%u", &id) == 1)
			off += snprintf(out + off, len - off, "%sgid=%u", sep,
					local_id("/proc/self/gid_map", id));
		else
			off += snprintf(out + off, len - off, "%s%s", sep, tok);
	}
}

static const char *fs_name(const MntEntry *e)
{
	return e->fsname ? e->fsname : fstype_name(e->fstype);
}

static int mount_fresh(struct rst_mnt *r)
{
	MntEntry *e = r->e;
	unsigned long fl = e->flags | e->sb_flags;
	char opts[4096];

	/* per-mount read-only comes last; a tmpfs's superblock after its files */
	if (!(e->sb_flags & MS_RDONLY) || e->fstype == FSTYPE__TMPFS)
		fl &= ~MS_RDONLY;
	r->ro_later = e->fstype == FSTYPE__TMPFS && (e->sb_flags & MS_RDONLY);
	local_options(e->options, opts, sizeof(opts));
	if (mkdirs(r->target, true))
		return -1;
	if (mount(e->source, r->target, fs_name(e), fl, opts[0] ? opts : NULL)) {
		pr_perror("cannot mount %s %s on %s (%s)", fs_name(e), e->source, e->mountpoint,
			  e->options);
		return -1;
	}
	r->fresh = true;
	pr_debug("mounted a new %s on %s\n", fs_name(e), e->mountpoint);
	return e->fstype == FSTYPE__TMPFS ? untar(r) : 0;
}

/* an earlier mount of the same superblock that shows e's root */
static struct rst_mnt *inner_source(size_t k, const char **rest, bool *seen)
{
	size_t j;

	*seen = false;
	for (j = 0; j < k; j++) {
		if (rm[j].e->root_dev != rm[k].e->root_dev)
			continue;
		*seen = true;
		if (!rm[j].skip && path_under(rm[k].e->root, rm[j].e->root, rest))
			return &rm[j];
	}
	return NULL;
}

static void skip_copied(size_t k)
{
	const char *rest;
	size_t j;

	for (j = k + 1; j < nr_rm; j++)
		if (rm[j].e->host_path && path_under(rm[j].e->mountpoint, rm[k].e->mountpoint, &rest)) {
			rm[j].skip = true;
			pr_debug("mount %s came with the recursive bind of %s\n",
				 rm[j].e->mountpoint, rm[k].e->mountpoint);
		}
}

/* a peer or slave of a group whose mount is here: share that one first */
static int join_group(struct rst_mnt *src, const MntEntry *e)
{
	const MntEntry *s = src->e;

	if (!s->has_shared_id || !((e->has_shared_id && e->shared_id == s->shared_id) ||
				   (e->has_master_id && e->master_id == s->shared_id)))
		return 0;
	if (mount(NULL, src->target, NULL, MS_SHARED, NULL)) {
		pr_perror("cannot make %s shared", s->mountpoint);
		return -1;
	}
	return 0;
}

/* where criu finds an external or host bind's source; NULL for the others */
static const char *outer_source(size_t k)
{
	MntEntry *e = rm[k].e;

	return e->ext_mount ? ext_map_find(e->ext_key) : e->host_path;
}

static int mount_bind(size_t k)
{
	struct rst_mnt *r = &rm[k], *src = NULL;
	MntEntry *e = r->e;
	char from[PATH_MAX];
	const char *rest = "";
	struct stat st;
	bool seen;

	if (e->ext_mount || e->host_path) {
		if (r->src_fd < 0) {
			pr_err("mount %s: criu did not open %s\n", e->mountpoint, outer_source(k));
			return -1;
		}
		snprintf(from, sizeof(from), "/proc/self/fd/%d", r->src_fd);
		pr_debug("mount %s: from %s\n", e->mountpoint, outer_source(k));
	} else if ((src = inner_source(k, &rest, &seen)))
		snprintf(from, sizeof(from), "%s%s", src->target, rest);
	else if (!seen)
		return mount_fresh(r);
	else {
		pr_err("mount %s: no mount before it shows %s of its %s\n", e->mountpoint, e->root,
		       fs_name(e));
		return -1;
	}
	/* a container's console: its pts is made with the files, after the mounts */
	if (src && src->e->fstype == FSTYPE__DEVPTS && *rest && stat(from, &st) &&
	    errno == ENOENT) {
		if (asprintf(&r->late_from, "%s%s", src->e->mountpoint, rest) < 0)
			return -1;
		pr_debug("mount %s: a bind of pty %s, once it exists\n", e->mountpoint,
			 r->late_from);
		return mkdirs(r->target, false);
	}
	if (stat(from, &st)) {
		pr_perror("cannot bind %s on %s", from, e->mountpoint);
		return -1;
	}
	if (mkdirs(r->target, S_ISDIR(st.st_mode)) || (src && join_group(src, e)))
		return -1;
	if (!mount(from, r->target, NULL, MS_BIND, NULL))
		goto done;
	/* a mount with locked children (a user namespace's) goes whole */
	if (errno != EINVAL || mount(from, r->target, NULL, MS_BIND | MS_REC, NULL)) {
		pr_perror("cannot bind %s on %s", from, e->mountpoint);
		return -1;
	}
	skip_copied(k);
done:
	pr_debug("bound %s on %s\n", from, e->mountpoint);
	return 0;
}

static int build_mounts(const char *staging)
{
	size_t k;

	for (k = 0; k < nr_rm; k++) {
		MntEntry *e = rm[k].e;

		snprintf(rm[k].target, sizeof(rm[k].target), "%s%s", staging,
			 strcmp(e->mountpoint, "/") ? e->mountpoint : "");
		if (rm[k].skip)
			continue;
		if (k == 0 && opts.root) {
			char from[32];

			/* --root: the runtime's root directory is the namespace's root */
			snprintf(from, sizeof(from), "/proc/self/fd/%d", root_fd);
			if (root_fd < 0 || mount(from, staging, NULL, MS_BIND, NULL)) {
				pr_perror("cannot bind the root %s", opts.root);
				return -1;
			}
			continue;
		}
		if (mount_bind(k))
			return -1;
	}
	return 0;
}

/* ---- after pivot_root: flags and propagation ---- */

#define ATIME_FLAGS (MS_NOATIME | MS_RELATIME | MS_STRICTATIME)

static int set_flags(struct rst_mnt *r)
{
	MntEntry *e = r->e;
	unsigned long fl = e->flags;
	char opts[4096];

	local_options(e->options, opts, sizeof(opts));
	if (r->ro_later &&
	    mount(NULL, e->mountpoint, NULL, MS_REMOUNT | e->sb_flags | (e->flags & ~MS_RDONLY),
		  opts[0] ? opts : NULL)) {
		pr_perror("cannot make the %s on %s read-only", fs_name(e), e->mountpoint);
		return -1;
	}
	if (!(fl & ATIME_FLAGS))
		fl |= MS_STRICTATIME;
	if (mount(NULL, e->mountpoint, NULL, MS_REMOUNT | MS_BIND | fl, NULL)) {
		pr_perror("cannot set the flags %#lx of %s", fl, e->mountpoint);
		return -1;
	}
	return 0;
}

static int set_propagation(struct rst_mnt *r)
{
	MntEntry *e = r->e;
	const char *mp = e->mountpoint;

	if (e->has_master_id && e->master_id && mount(NULL, mp, NULL, MS_SLAVE, NULL))
		goto err;
	if (e->has_shared_id && e->shared_id && mount(NULL, mp, NULL, MS_SHARED, NULL))
		goto err;
	if (!(e->has_master_id && e->master_id) && !(e->has_shared_id && e->shared_id) &&
	    mount(NULL, mp, NULL, MS_PRIVATE, NULL))
		goto err;
	return 0;
err:
	pr_perror("cannot set the propagation of %s", mp);
	return -1;
}

static int enter_root(const char *staging)
{
	if (chdir(staging) || syscall(SYS_pivot_root, ".", ".")) {
		pr_perror("cannot pivot_root into %s", staging);
		return -1;
	}
	if (umount2(".", MNT_DETACH) || chdir("/")) {
		pr_perror("cannot let go of criu's mounts");
		return -1;
	}
	return 0;
}

static int take_anchors(void);
static int take_sources(void);
static void close_sources(void);

/*
 * Once the other namespaces are restored too: they write /proc/sys,
 * which a container has read-only.
 */
int finish_mounts(void)
{
	size_t k;

	for (k = 0; k < nr_rm; k++)
		if (!rm[k].skip && (set_flags(&rm[k]) || set_propagation(&rm[k])))
			return -1;
	pr_info("mount flags and propagation set\n");
	return 0;
}

/* In the root, its files taken: the binds of ptys made with them. */
static int bind_ptys(void)
{
	size_t k;

	for (k = 0; k < nr_rm; k++) {
		if (!rm[k].late_from)
			continue;
		if (mount(rm[k].late_from, rm[k].e->mountpoint, NULL, MS_BIND, NULL)) {
			pr_perror("cannot bind pty %s on %s", rm[k].late_from, rm[k].e->mountpoint);
			return -1;
		}
		pr_debug("bound %s on %s\n", rm[k].late_from, rm[k].e->mountpoint);
	}
	return 0;
}

int restore_mounts(void)
{
	char staging[PATH_MAX], name[64];
	int tmp, ret;

	/*
	 * Fresh in a user namespace we are its overflow id until the creds
	 * are restored: files made now (tmpfs contents, mount points) would
	 * not be ours (EOVERFLOW), nor the namespace's sysctls that the
	 * other namespaces write.  The namespace's root does all that (a
	 * namespace without a root tries as it is).
	 */
	if ((restore_ns_flags() & CLONE_NEWUSER) && (setresgid(0, 0, 0) || setresuid(0, 0, 0)))
		pr_info("cannot become root of the new user namespace: %s\n", strerror(errno));
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL)) {
		pr_perror("cannot keep the new mount namespace's mounts to itself");
		return -1;
	}
	/* somewhere we can reach (--root may lie in a directory only criu may walk) */
	snprintf(name, sizeof(name), ".criu-mnt-root.%d", criu_pid);
	tmp = open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (tmp < 0 || mkdirat(tmp, name, 0700)) {
		pr_perror("cannot make a staging directory /tmp/%s", name);
		close_safe(&tmp);
		return -1;
	}
	snprintf(staging, sizeof(staging), "/tmp/%s", name);
	ret = take_sources() || build_mounts(staging) ? -1 : 0;
	close_tmpfs_images();
	close_sources();
	if (!ret && enter_root(staging))
		ret = -1;
	/* gone before anything can kill us; after a failure what was built is still there */
	if (ret)
		umount2(staging, MNT_DETACH);
	if (unlinkat(tmp, name, AT_REMOVEDIR))
		pr_warn("cannot remove the staging directory /tmp/%s: %s\n", name, strerror(errno));
	close(tmp);
	if (ret)
		return -1;
	pr_info("%zu mounts restored\n", nr_rm);
	return take_anchors() || bind_ptys() ? -1 : 0;
}

/* ---- the anchors, from criu to the root ---- */

struct anchor_msg {
	u32 id;		/* 0: the end */
	s32 fd;
};

int mnt_anchor_channel(void)
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, chan)) {
		pr_perror("cannot make the channel for the anchors");
		return -1;
	}
	return 0;
}

static int send_anchor(u32 id, int fd, void *arg)
{
	struct anchor_msg m = { .id = id, .fd = fd };
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	(void)arg;
	if (id) {
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	if (sendmsg(chan[0], &mh, 0) != sizeof(m)) {
		pr_perror("cannot hand file %u (fd %d) to the root", id, fd);
		return -1;
	}
	return 0;
}

static int recv_anchor(struct anchor_msg *m, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = m, .iov_len = sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	ssize_t n;

	*fd = -1;
	n = recvmsg(chan[1], &mh, 0);
	if (n != sizeof(*m)) {
		if (n == 0)
			pr_err("criu stopped handing over files (it failed)\n");
		else
			pr_perror("cannot take the files from criu");
		return -1;
	}
	c = CMSG_FIRSTHDR(&mh);
	if (m->id && (!c || c->cmsg_type != SCM_RIGHTS)) {
		pr_err("file %u came without its descriptor\n", m->id);
		return -1;
	}
	if (m->id)
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	return 0;
}

/*
 * In the root: the sources of binds from outside the tree's mounts.  criu
 * opens them in our namespace (we may not be able to walk their paths).
 */
static int take_sources(void)
{
	struct anchor_msg m;
	int fd;

	close_safe(&chan[0]);
	if (write(chan[1], "s", 1) != 1) {
		pr_perror("cannot ask criu for the sources of the binds");
		return -1;
	}
	for (;;) {
		if (recv_anchor(&m, &fd))
			return -1;
		if (!m.id)
			return 0;
		if (m.id == ROOT_SOURCE)
			root_fd = fd;
		else if (m.id <= nr_rm)
			rm[m.id - 1].src_fd = fd;
		else
			close(fd);
	}
}

static void close_sources(void)
{
	size_t k;

	for (k = 0; k < nr_rm; k++)
		close_safe(&rm[k].src_fd);
	close_safe(&root_fd);
}

/* In the root: each anchor at the number criu has it. */
static int take_anchors(void)
{
	struct anchor_msg m;
	int fd, n = 0;

	if (write(chan[1], "m", 1) != 1) {
		pr_perror("cannot tell criu the mounts are there");
		return -1;
	}
	for (;;) {
		if (recv_anchor(&m, &fd))
			return -1;
		if (!m.id)
			break;
		if (fd != m.fd) {
			if (fcntl(m.fd, F_GETFD) >= 0) {
				pr_err("fd %d for file %u is taken in the root\n", m.fd, m.id);
				close(fd);
				return -1;
			}
			if (dup2(fd, m.fd) != m.fd) {
				pr_perror("cannot put file %u at fd %d", m.id, m.fd);
				close(fd);
				return -1;
			}
			close(fd);
		}
		adopt_anchor(m.id, m.fd);
		n++;
	}
	close_safe(&chan[1]);
	pr_info("%d files taken from criu\n", n);
	return 0;
}

static int send_source(u32 id, const char *path)
{
	int fd = open(path, O_PATH | O_CLOEXEC), ret;

	if (fd < 0) {
		pr_perror("cannot open %s to bind it", path);
		return -1;
	}
	ret = send_anchor(id, fd, NULL);
	close(fd);
	return ret;
}

/* In criu, in the root's mount namespace: every bind source from outside. */
static int send_sources(void)
{
	size_t k;

	if (opts.root && send_source(ROOT_SOURCE, opts.root))
		return -1;
	/* with --root the root's old place (a podman --import'ed one is gone) is not asked */
	for (k = opts.root ? 1 : 0; k < nr_rm; k++)
		if (outer_source(k) && send_source(k + 1, outer_source(k)))
			return -1;
	return send_anchor(0, -1, NULL);
}

/* Run fn in pid's mount namespace, then come back. */
static int in_mntns_of(pid_t pid, int (*fn)(void))
{
	int own, cwd, theirs, ret = -1;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", pid);
	own = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	theirs = open(path, O_RDONLY | O_CLOEXEC);
	if (own < 0 || cwd < 0 || theirs < 0 || setns(theirs, CLONE_NEWNS)) {
		pr_perror("cannot enter the mount namespace of pid %d", pid);
		goto out;
	}
	ret = fn();
	if (setns(own, CLONE_NEWNS) || fchdir(cwd)) {
		pr_perror("cannot come back to criu's mount namespace");
		ret = -1;
	}
out:
	close_safe(&own);
	close_safe(&cwd);
	close_safe(&theirs);
	return ret;
}

static int wait_root(char want, const char *what)
{
	char c;

	if (read(chan[0], &c, 1) != 1 || c != want) {
		pr_err("the root did not %s\n", what);
		return -1;
	}
	return 0;
}

/* In criu: hand the root its bind sources, then the anchors among its mounts. */
int mnt_hand_anchors(pid_t root_pid, int (*open_fn)(void))
{
	int null, ret = -1;

	/* keep the root's end's number taken: no anchor may land on it */
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null < 0 || dup3(null, chan[1], O_CLOEXEC) != chan[1]) {
		pr_perror("cannot close criu's copy of the root's channel");
		goto out;
	}
	close_tmpfs_images();
	if (wait_root('s', "start its mounts") || in_mntns_of(root_pid, send_sources) ||
	    wait_root('m', "build its mounts"))
		goto out;
	pr_info("opening the files in the mount namespace of pid %d\n", root_pid);
	if (in_mntns_of(root_pid, open_fn))
		goto out;
	ret = for_each_anchor(send_anchor, NULL) || send_anchor(0, -1, NULL) ? -1 : 0;
out:
	if (null >= 0)
		close(null);
	close_safe(&chan[1]);
	close_safe(&chan[0]);
	return ret;
}
