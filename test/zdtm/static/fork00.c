// SPDX-License-Identifier: GPL-2.0-only
/*
 * A process tree: the test with two children, one of which has a child
 * of its own.  Each process holds its own memory pattern.  Afterwards
 * every process checks its pid, parent and memory, the parents check
 * their children are the same processes, and exit statuses carry the
 * verdicts up.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

enum { ROOT, CHILD_A, CHILD_B, GRANDCHILD, NR_ROLES };

static const char *const names[] = {"root", "child A", "child B", "grandchild"};

struct proc_state {
	int role;
	pid_t pid, ppid;
	char *page;
};

static int ready_pipe[2];

static int setup_state(struct proc_state *s, int role)
{
	s->role = role;
	s->pid = getpid();
	s->ppid = getppid();
	s->page = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s->page == MAP_FAILED) {
		pr_perror("mmap in %s", names[role]);
		return 1;
	}
	datagen(s->page, PAGE_SIZE, 1000 + role);
	return 0;
}

static int check_state(const struct proc_state *s)
{
	if (getpid() != s->pid || getppid() != s->ppid) {
		fail("%s: pid %d ppid %d, was %d %d", names[s->role], getpid(), getppid(), s->pid,
		     s->ppid);
		return 1;
	}
	if (datachk(s->page, PAGE_SIZE, 1000 + s->role) != (size_t)-1) {
		fail("%s: memory changed", names[s->role]);
		return 1;
	}
	return 0;
}

/* A child's parent sees the same process: alive, and its parent. */
static int check_child(pid_t pid, const char *name)
{
	unsigned long long ppid = 0;
	char path[64], buf[512], *p;
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	len = read_file(path, buf, sizeof(buf) - 1);
	if (len < 0) {
		fail("%s (pid %d) is gone", name, pid);
		return 1;
	}
	buf[len] = '\0';
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %llu", &ppid) != 1 || ppid != (unsigned long long)getpid()) {
		fail("%s (pid %d) has parent %llu, not %d", name, pid, ppid, getpid());
		return 1;
	}
	return 0;
}

static int stop_and_check(pid_t pid, const char *name)
{
	int status = stop_child(pid, 5000);

	if (status) {
		fail("%s (pid %d) ended with status %#x", name, pid, status);
		return 1;
	}
	return 0;
}

static void __attribute__((noreturn)) child_main(int role)
{
	struct proc_state s;
	pid_t grandchild = 0;
	int ret = 1;

	if (setup_state(&s, role))
		_exit(1);
	if (role == CHILD_A) {
		grandchild = fork();
		if (grandchild < 0) {
			pr_perror("fork");
			_exit(1);
		}
		if (grandchild == 0)
			child_main(GRANDCHILD);
	}
	close(ready_pipe[0]);
	if (write_all(ready_pipe[1], "r", 1))
		_exit(1);
	close(ready_pipe[1]);

	test_waitsig();
	if (check_state(&s))
		goto out;
	if (grandchild && (check_child(grandchild, names[GRANDCHILD]) ||
			   stop_and_check(grandchild, names[GRANDCHILD])))
		goto out;
	ret = 0;
out:
	_exit(ret);
}

int main(int argc, char **argv)
{
	struct proc_state s;
	pid_t kids[2];
	char buf[3];
	int i, ret = 0;

	test_init(argc, argv);
	if (setup_state(&s, ROOT) || pipe(ready_pipe)) {
		pr_perror("setup");
		return 1;
	}
	for (i = 0; i < 2; i++) {
		kids[i] = fork();
		if (kids[i] < 0) {
			pr_perror("fork");
			return 1;
		}
		if (kids[i] == 0)
			child_main(CHILD_A + i);
	}
	close(ready_pipe[1]);
	/* Both children and the grandchild report ready. */
	if (read_all(ready_pipe[0], buf, 3)) {
		fail("the children did not get ready");
		return 1;
	}
	close(ready_pipe[0]);

	test_daemon();
	s.ppid = getppid(); /* the launcher is gone now */
	test_waitsig();

	ret |= check_state(&s);
	for (i = 0; i < 2; i++)
		ret |= check_child(kids[i], names[CHILD_A + i]);
	for (i = 0; i < 2; i++)
		ret |= stop_and_check(kids[i], names[CHILD_A + i]);
	if (ret)
		return 1;
	pass();
	return 0;
}
