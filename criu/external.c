// SPDX-License-Identifier: GPL-2.0
/*
 * Files and namespaces outside the tree.  At dump, --external names what
 * the tree uses but does not own (a terminal, a net namespace); at
 * restore, --inherit-fd (RPC inherit_fd) hands criu an fd of its own to
 * stand for such a thing, or for a pipe, socket or file the tree shared
 * with the outside: container runtimes give the stdio pipes of the
 * container this way ("pipe:[INODE]", as /proc/PID/fd links read).  The
 * keys are CRIU's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "external.h"
#include "log.h"
#include "mount.h"
#include "util.h"

struct keyed {
	struct keyed *next;
	int fd;		/* inherit-fd: the fd; external: unused */
	char *key;
	char *value;	/* external: after the ':' that ends the key */
};

static struct keyed *inherited, *externals;

int inherit_fd_add(int fd, const char *key)
{
	struct keyed *k;

	if (fd < 0 || !key || !*key) {
		pr_err("inherit-fd: needs an fd and a key (fd %d)\n", fd);
		return -1;
	}
	if (fcntl(fd, F_GETFD) < 0) {
		pr_perror("inherit-fd %s: fd %d is not open in criu", key, fd);
		return -1;
	}
	k = xzalloc(sizeof(*k));
	if (!k || !(k->key = xstrdup(key))) {
		free(k);
		return -1;
	}
	k->fd = fd;
	k->next = inherited;
	inherited = k;
	pr_info("inherit-fd: fd %d stands for %s\n", fd, key);
	return 0;
}

int inherit_fd_parse(const char *arg)
{
	char *end;
	long fd;

	if (strncmp(arg, "fd[", 3))
		goto bad;
	errno = 0;
	fd = strtol(arg + 3, &end, 10);
	if (errno || end == arg + 3 || fd < 0 || fd > 1 << 20 || strncmp(end, "]:", 2) ||
	    !end[2])
		goto bad;
	return inherit_fd_add(fd, end + 2);
bad:
	pr_err("bad --inherit-fd '%s': fd[N]:KEY\n", arg);
	return -1;
}

static struct keyed *find(struct keyed *l, const char *key)
{
	for (; l; l = l->next)
		if (!strcmp(l->key, key))
			return l;
	return NULL;
}

bool inherit_fd_given(const char *key)
{
	return find(inherited, key) != NULL;
}

int inherit_fd_dup(const char *key)
{
	struct keyed *k = find(inherited, key);
	int fd;

	if (!k)
		return -1;
	fd = fcntl(k->fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		pr_perror("inherit-fd %s: cannot duplicate fd %d", key, k->fd);
	else
		pr_info("%s: the caller's fd %d, here as %d\n", key, k->fd, fd);
	return fd;
}

/*
 * KEY or KEY:VALUE.  A key with brackets ends at its ']' (tty[88:d] has
 * a ':' inside); a bare key (unix socket inode lists aside) at the first ':'.
 */
int external_add(const char *arg)
{
	const char *br = strchr(arg, '[');
	const char *colon;
	struct keyed *k;

	if (!strncmp(arg, "mnt[", 4))
		return mnt_add_external(arg);	/* mount.c's */
	colon = br && strchr(br, ']') ? strchr(strchr(br, ']'), ':') : strchr(arg, ':');
	k = xzalloc(sizeof(*k));
	if (!k)
		return -1;
	k->key = colon ? strndup(arg, colon - arg) : xstrdup(arg);
	k->value = xstrdup(colon ? colon + 1 : "");
	if (!k->key || !k->value || !*k->key) {
		pr_err("bad --external '%s'\n", arg);
		free(k->key);
		free(k->value);
		free(k);
		return -1;
	}
	k->next = externals;
	externals = k;
	pr_info("external: %s%s%s\n", k->key, *k->value ? " as " : "", k->value);
	return 0;
}

const char *external_value(const char *key)
{
	struct keyed *k = find(externals, key);

	return k ? k->value : NULL;
}

static int dup_for(const char *key, int *fd)
{
	if (!inherit_fd_given(key))
		return 0;
	*fd = inherit_fd_dup(key);
	return *fd < 0 ? -1 : 1;
}

int inherit_fd_for_file(FileEntry *fe, int *fd)
{
	char key[64];
	int ret;

	if (!inherited)
		return 0;
	switch (fe->type) {
	case FD_TYPES__PIPE:
		if (!fe->pipe)
			return 0;
		snprintf(key, sizeof(key), "pipe:[%u]", fe->pipe->pipe_id);
		return dup_for(key, fd);
	case FD_TYPES__UNIXSK:
		if (!fe->usk)
			return 0;
		snprintf(key, sizeof(key), "socket:[%u]", fe->usk->ino);
		return dup_for(key, fd);
	case FD_TYPES__REG:
		if (!fe->reg || !fe->reg->name)
			return 0;
		/* CRIU's keys have no leading '/'; take either */
		ret = dup_for(fe->reg->name, fd);
		if (!ret && fe->reg->name[0] == '/')
			ret = dup_for(fe->reg->name + 1, fd);
		return ret;
	default:
		return 0;	/* no key of CRIU's for the other kinds here */
	}
}
