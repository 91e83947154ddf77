// SPDX-License-Identifier: GPL-2.0
/*
 * The names of unix sockets at restore: binding a path (with its mode and
 * owner, a stale file of the dumped socket removed first, the file removed
 * again for a socket whose file had been deleted), an abstract name, a
 * relative name from its directory; connecting to a name; and the files a
 * failed restore made, removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sk-unix.h"
#include "sockets.h"

/*
 * A socket file left at the path by the dumped socket, which is gone,
 * refuses connections: remove it.  One that answers belongs to a live
 * socket and is left alone.
 */
static int clear_stale(const char *path, const struct sockaddr_un *addr, socklen_t alen,
		       u32 type)
{
	struct stat st;
	int s, ret;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : (pr_perror("cannot stat %s", path), -1);
	if (!S_ISSOCK(st.st_mode)) {
		pr_err("cannot bind a unix socket to %s: it exists and is not a socket\n", path);
		return -1;
	}
	s = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0) {
		pr_perror("cannot create a socket to probe %s", path);
		return -1;
	}
	ret = connect(s, (const struct sockaddr *)addr, alen);
	close(s);
	if (ret == 0 || errno != ECONNREFUSED) {
		pr_err("cannot bind a unix socket to %s: a live socket is there\n", path);
		return -1;
	}
	if (unlink(path)) {
		pr_perror("cannot remove the stale socket file %s", path);
		return -1;
	}
	pr_info("removed the stale socket file %s\n", path);
	return 0;
}

/* The socket files this restore made, to remove them if it fails. */
struct bound_file {
	struct list_head list;
	dev_t dev;
	ino_t ino;
	bool gone;		/* removed once every anchor is open (deleted) */
	char path[];
};

static LIST_HEAD(bound_files);

static struct bound_file *remember_bound(const char *path, const char *dir)
{
	struct bound_file *b;
	struct stat st;
	size_t len = strlen(path) + (dir ? strlen(dir) + 1 : 0) + 1;

	if (stat(path, &st) || !(b = xzalloc(sizeof(*b) + len)))
		return NULL;
	snprintf(b->path, len, "%s%s%s", dir ?: "", dir ? "/" : "", path);
	b->dev = st.st_dev;
	b->ino = st.st_ino;
	list_add(&b->list, &bound_files);
	return b;
}

void usk_unlink_bound(bool all)
{
	struct bound_file *b, *n;
	struct stat st;

	list_for_each_entry_safe(b, n, &bound_files, list) {
		if (!all && !b->gone)
			continue;
		if (!stat(b->path, &st) && st.st_dev == b->dev && st.st_ino == b->ino &&
		    !unlink(b->path))
			pr_info("removed %s, bound by this %s\n", b->path,
				all ? "failed restore" : "restore for a deleted socket file");
		list_del(&b->list);
		free(b);
	}
}

static int set_file_perms(const char *path, UnixSkEntry *u)
{
	FilePermsEntry *fp = u->file_perms;

	if (!fp || (u->has_deleted && u->deleted))
		return 0;
	if (chmod(path, fp->mode & 07777)) {
		pr_perror("cannot set the mode of %s", path);
		return -1;
	}
	/* owner as far as we may (rootless: only ids of our namespace) */
	if (lchown(path, fp->uid, fp->gid) && errno != EPERM && errno != EINVAL) {
		pr_perror("cannot set the owner of %s", path);
		return -1;
	}
	return 0;
}

socklen_t usk_addr(const UnixSkEntry *u, struct sockaddr_un *addr)
{
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	if (u->name.len > sizeof(addr->sun_path)) {
		pr_err("unix socket %u: a name of %zu bytes\n", u->ino, u->name.len);
		return 0;
	}
	memcpy(addr->sun_path, u->name.data, u->name.len);
	return offsetof(struct sockaddr_un, sun_path) + u->name.len;
}

/* A relative name is bound and reached from its directory. */
int usk_enter_dir(const UnixSkEntry *u, int *cwd)
{
	*cwd = -1;
	if (!u->name_dir || !u->name.len || !u->name.data[0])
		return 0;
	*cwd = open(".", O_PATH | O_CLOEXEC);
	if (*cwd < 0 || chdir(u->name_dir)) {
		pr_perror("cannot go to %s for unix socket %u", u->name_dir, u->ino);
		return -1;
	}
	return 0;
}

int usk_leave_dir(int cwd)
{
	int ret = 0;

	if (cwd >= 0 && fchdir(cwd)) {
		pr_perror("cannot go back to criu's cwd");
		ret = -1;
	}
	if (cwd >= 0)
		close(cwd);
	return ret;
}

/* Bind sk to u's name; temp: for a moment only (no mode, owner), see unbind_temp. */
int usk_bind(int sk, UnixSkEntry *u, bool temp)
{
	struct sockaddr_un addr;
	socklen_t alen = usk_addr(u, &addr);
	bool path = u->name.data[0] != 0;
	struct bound_file *b;
	int cwd, ret = -1;

	if (!alen || usk_enter_dir(u, &cwd))
		return -1;
	if (path && clear_stale(addr.sun_path, &addr, alen, u->type))
		goto out;
	if (bind(sk, (struct sockaddr *)&addr, alen)) {
		pr_perror("cannot bind unix socket %u to %s%s", u->ino, path ? "" : "@",
			  addr.sun_path + !path);
		goto out;
	}
	ret = 0;
	if (!path)
		goto out;
	b = remember_bound(addr.sun_path, u->name_dir);
	if (temp)
		goto out;
	if (b && u->has_deleted && u->deleted) {
		/* it was bound, then its file removed: once all who connect did */
		b->gone = true;
	} else {
		ret = set_file_perms(addr.sun_path, u);
	}
out:
	return usk_leave_dir(cwd) ? -1 : ret;
}

int usk_unbind_temp(UnixSkEntry *u)
{
	struct sockaddr_un addr;
	int cwd, ret = 0;

	if (!u->name.data[0] || !usk_addr(u, &addr))
		return 0;
	if (usk_enter_dir(u, &cwd))
		return -1;
	if (unlink(addr.sun_path) && errno != ENOENT) {
		pr_perror("cannot remove the temporary socket file %s", addr.sun_path);
		ret = -1;
	}
	return usk_leave_dir(cwd) ? -1 : ret;
}

int usk_bind_name(int sk, UnixSkEntry *u)
{
	return u->name.len ? usk_bind(sk, u, false) : 0;
}

/* Connect sk to the socket named as u. */
int usk_connect_name(int sk, const UnixSkEntry *from, const UnixSkEntry *u)
{
	struct sockaddr_un addr;
	socklen_t alen = usk_addr(u, &addr);
	int cwd, ret;

	if (!alen || !u->name.len || usk_enter_dir(u, &cwd))
		return -1;
	ret = connect(sk, (struct sockaddr *)&addr, alen);
	if (ret)
		pr_perror("cannot connect unix socket %u to %s%s%s", from->ino,
			  u->uflags & USK_EXTERN ? "its peer outside the tree " : "",
			  addr.sun_path[0] ? "" : "@", addr.sun_path + !addr.sun_path[0]);
	return usk_leave_dir(cwd) || ret ? -1 : 0;
}

int usk_new(UnixSkEntry *u, int flags)
{
	int sk = socket(AF_UNIX, u->type | SOCK_CLOEXEC | flags, 0);

	if (sk < 0) {
		pr_perror("cannot create a unix %s socket", usk_type_name(u->type));
		return -1;
	}
	if (restore_sk_bufs(sk, u->opts)) {
		close(sk);
		return -1;
	}
	return sk;
}

/* r is made: sk is its socket, ready. */
