// SPDX-License-Identifier: GPL-2.0-only
/*
 * A mount namespace as a container runtime builds it: a new namespace, a
 * tmpfs root with /usr bound read-only and /work (the test's own files)
 * bound read-write, a host file bound read-only, a tmpfs /tmp with files,
 * an inner read-only bind of a directory of the root, proc with a path
 * masked by /dev/null, a directory masked by a read-only tmpfs and
 * /proc/sys read-only, sysfs (or a recursive bind
 * of the host's where a user namespace may not mount one), /dev as a
 * tmpfs with host device nodes bound on files, devpts newinstance,
 * mqueue, /dev/shm; a shared /tmp with a peer and a slave; two tmpfs
 * stacked on /stack (the lower one's files are lost: nothing reaches them); then
 * pivot_root.  The test keeps a file of /tmp open and its cwd in /tmp.
 * After the restore the mountinfo (without ids and device numbers, group
 * ids renumbered) must be the same, the files must hold what they held,
 * read-only mounts refuse writes and the masked path reads nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"
#include "mnt_top.h"

static char root[PATH_MAX];

static int at(const char *what, char *buf, size_t len)
{
	return snprintf(buf, len, "%s%s", root, what) >= (int)len ? -1 : 0;
}

static int mk(const char *path, int dir)
{
	char p[PATH_MAX];
	int fd;

	at(path, p, sizeof(p));
	if (dir)
		return mkdir(p, 0755) && errno != EEXIST ? -1 : 0;
	fd = open(p, O_CREAT | O_WRONLY, 0644);
	return fd < 0 ? -1 : close(fd);
}

static int do_mount(const char *src, const char *where, const char *type, unsigned long fl,
		    const char *data)
{
	char p[PATH_MAX];

	at(where, p, sizeof(p));
	if (mount(src, p, type, fl, data)) {
		pr_perror("mount %s on %s (%s)", src ? src : "-", p, type ? type : "bind");
		return -1;
	}
	return 0;
}

/* bind from the host (src absolute) or from inside the root (src starts with "@") */
static int bind(const char *src, const char *where, unsigned long more)
{
	char s[PATH_MAX];

	if (src[0] == '@')
		at(src + 1, s, sizeof(s));
	else
		snprintf(s, sizeof(s), "%s", src);
	if (do_mount(s, where, NULL, MS_BIND, NULL))
		return -1;
	return more ? do_mount(NULL, where, NULL, MS_REMOUNT | MS_BIND | more, NULL) : 0;
}

static int write_file(const char *path, const char *text)
{
	char p[PATH_MAX];
	int fd;

	at(path, p, sizeof(p));
	fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return -1;
	return close(fd);
}

static int build_root(void)
{
	static const char *devs[] = { "null", "zero", "full", "random", "urandom", "tty" };
	const char *dirs[] = { "/usr", mnt_top(), "/proc", "/sys", "/dev", "/tmp", "/data", "/ro",
			       "/etc", "/peer", "/slave" };
	char p[PATH_MAX];
	size_t i;

	if (mount("tmpfs", root, "tmpfs", 0, "mode=755,size=16m"))
		return -1;
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (mk(dirs[i], 1))
			return -1;
	at("/bin", p, sizeof(p));
	if (symlink("usr/bin", p) || (at("/lib", p, sizeof(p)), symlink("usr/lib", p)) ||
	    (at("/lib64", p, sizeof(p)), symlink("usr/lib64", p)))
		return -1;
	if (bind("/usr", "/usr", MS_RDONLY) || bind(mnt_top(), mnt_top(), 0) ||
	    mk("/etc/hostname", 0) || bind("/etc/hostname", "/etc/hostname", MS_RDONLY))
		return -1;
	if (write_file("/data/kept", "in the root") || bind("@/data", "/ro", MS_RDONLY))
		return -1;
	/* /tmp: files, shared, with a peer and a slave bound from it */
	if (do_mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=8m") ||
	    mk("/tmp/sub", 1) || write_file("/tmp/hello", "hello from tmpfs") ||
	    write_file("/tmp/sub/deep", "deeper") || do_mount(NULL, "/tmp", NULL, MS_SHARED, NULL) ||
	    bind("@/tmp/sub", "/peer", 0) || bind("@/tmp/sub", "/slave", 0) ||
	    do_mount(NULL, "/slave", NULL, MS_SLAVE, NULL))
		return -1;
	/* two tmpfs stacked on one mount point: only the upper one's files show */
	if (mk("/stack", 1) || do_mount("tmpfs", "/stack", "tmpfs", 0, "size=1m") ||
	    write_file("/stack/lower", "hidden") || do_mount("tmpfs", "/stack", "tmpfs", 0, "size=2m") ||
	    write_file("/stack/upper", "on top"))
		return -1;
	/* proc, with a mask and a read-only path as runtimes make them */
	if (do_mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) ||
	    bind("/dev/null", "/proc/timer_list", 0) || bind("@/proc/sys", "/proc/sys", MS_RDONLY) ||
	    do_mount("tmpfs", "/proc/acpi", "tmpfs", MS_RDONLY, "size=0"))
		return -1;
	at("/sys", p, sizeof(p));
	if (mount("sysfs", p, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) {		/* a user namespace that does not own the net namespace: the host's */
		if (mount("/sys", p, NULL, MS_BIND | MS_REC, NULL))
			return -1;
	} else {
		/* cgroup2 where we may (not in a user namespace: no cgroup namespace of ours) */
		at("/sys/fs/cgroup", p, sizeof(p));
		if (mount("cgroup2", p, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) &&
		    errno != EPERM)
			return -1;
	}
	if (do_mount("tmpfs", "/dev", "tmpfs", MS_NOSUID, "mode=755,size=64k"))
		return -1;
	for (i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
		char host[64], in[64];

		snprintf(host, sizeof(host), "/dev/%s", devs[i]);
		snprintf(in, sizeof(in), "/dev/%s", devs[i]);
		if (mk(in, 0) || bind(host, in, 0))
			return -1;
	}
	at("/dev/ptmx", p, sizeof(p));
	if (mk("/dev/pts", 1) || mk("/dev/mqueue", 1) || mk("/dev/shm", 1) ||
	    symlink("pts/ptmx", p) ||
	    do_mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		     "newinstance,ptmxmode=0666,mode=620") ||
	    do_mount("mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) ||
	    do_mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777"))
		return -1;
	return 0;
}

static int enter_root(const char *cwd)
{
	if (chdir(root) || syscall(SYS_pivot_root, ".", ".") || umount2(".", MNT_DETACH) ||
	    chdir(cwd)) {
		pr_perror("pivot_root into %s", root);
		return -1;
	}
	return 0;
}

/* mountinfo without mount ids, devices and group numbers (renumbered by first use) */
static int mounts_now(char *out, size_t len)
{
	char buf[65536], *line, *save, *f, *fsave;
	int groups[256], ng = 0, off = 0, i, n, col;
	ssize_t got = read_file("/proc/self/mountinfo", buf, sizeof(buf) - 1);

	if (got <= 0)
		return -1;
	buf[got] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		for (col = 0, f = strtok_r(line, " ", &fsave); f; f = strtok_r(NULL, " ", &fsave), col++) {
			char tag[16];

			if (col < 3)
				continue;
			if (sscanf(f, "%15[a-z]:%d", tag, &n) == 2 &&
			    (!strcmp(tag, "shared") || !strcmp(tag, "master"))) {
				for (i = 0; i < ng && groups[i] != n; i++)
					;
				if (i == ng && ng < 256)
					groups[ng++] = n;
				off += snprintf(out + off, len - off, "%s:G%d ", tag, i);
			} else {
				off += snprintf(out + off, len - off, "%s ", f);
			}
			if (off >= (int)len)
				return -1;
		}
		off += snprintf(out + off, len - off, "\n");
	}
	return 0;
}

static const char *check_files(int held)
{
	char buf[64];
	ssize_t n;
	int fd;

	n = pread(held, buf, sizeof(buf) - 1, 0);
	if (n < 0 || (buf[n] = '\0', strcmp(buf, "hello from tmpfs")))
		return "the open file of /tmp lost its contents";
	n = read_file("/tmp/sub/deep", buf, sizeof(buf) - 1);
	if (n != 6 || memcmp(buf, "deeper", 6))
		return "/tmp/sub/deep lost its contents";
	n = read_file("/peer/deep", buf, sizeof(buf) - 1);
	if (n != 6 || memcmp(buf, "deeper", 6))
		return "/peer is not a bind of /tmp/sub";
	n = read_file("/stack/upper", buf, sizeof(buf) - 1);
	if (n != 6 || memcmp(buf, "on top", 6))
		return "/stack lost the files of its upper tmpfs";
	n = read_file("/ro/kept", buf, sizeof(buf) - 1);
	if (n != 11 || memcmp(buf, "in the root", 11))
		return "/ro is not a bind of /data";
	fd = open("/ro/new", O_CREAT | O_WRONLY, 0644);
	if (fd >= 0 || errno != EROFS)
		return "/ro is writable";
	fd = open("/proc/timer_list", O_RDONLY);
	if (fd < 0 || read(fd, buf, sizeof(buf)) != 0)
		return "/proc/timer_list is not masked by /dev/null";
	close(fd);
	if (access("/dev/pts/ptmx", F_OK) || access("/dev/null", W_OK))
		return "/dev is not as it was";
	return NULL;
}

int main(int argc, char **argv)
{
	static char before[65536], after[65536];
	char cwd[PATH_MAX];
	const char *msg;
	int held;

	test_init(argc, argv);
	snprintf(root, sizeof(root), "%s.root", test_filename);
	if (!getcwd(cwd, sizeof(cwd)) || (mkdir(root, 0755) && errno != EEXIST)) {
		pr_perror("can't make %s", root);
		return 1;
	}
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		pr_perror("can't make a mount namespace");
		return 1;
	}
	if (build_root() || enter_root("/tmp/sub")) {
		fail("can't build the container's mounts");
		return 1;
	}
	held = open("/tmp/hello", O_RDWR);
	if (held < 0 || mounts_now(before, sizeof(before))) {
		pr_perror("can't read what was built");
		return 1;
	}
	test_daemon();
	test_waitsig();

	msg = check_files(held);
	if (!msg && mounts_now(after, sizeof(after)))
		msg = "can't read the mountinfo";
	if (!msg && strcmp(before, after)) {
		test_msg("before:\n%s\nafter:\n%s\n", before, after);
		msg = "the mounts are not what they were";
	}
	if (msg) {
		fail("%s", msg);
		return 1;
	}
	pass();
	return 0;
}
