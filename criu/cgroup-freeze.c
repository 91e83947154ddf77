// SPDX-License-Identifier: GPL-2.0
/*
 * --freeze-cgroup PATH: the tree is stopped by its cgroup's freezer
 * (v1 freezer.state, v2 cgroup.freeze) instead of one task after the
 * other.  While it is frozen nothing can fork or clone, so every thread
 * in the cgroup and below is seized and interrupted in one pass with no
 * waiting; then the cgroup is thawed and each thread runs straight into
 * its ptrace stop, all at once.  The tree walk of seize.c then finds them
 * stopped already.  Threads of the cgroup outside the tree are let go.
 * A cgroup that was frozen before the dump is frozen again after it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "cr_options.h"
#include "log.h"
#include "util.h"

static bool used, v2, was_frozen;
static pid_t *pre;		/* sorted */
static bool *claimed;
static int nr_pre;

static int freezer_file(const char *name, char *buf, size_t len)
{
	return snprintf(buf, len, "%s/%s", opts.freeze_cgroup, name) >= (int)len ? -1 : 0;
}

/* 1 frozen, 0 not (yet), -1 error */
static int is_frozen(void)
{
	char path[PATH_MAX], *buf;
	int ret;

	freezer_file(v2 ? "cgroup.events" : "freezer.state", path, sizeof(path));
	if (read_file(path, &buf) < 0) {
		pr_perror("--freeze-cgroup: cannot read %s", path);
		return -1;
	}
	ret = v2 ? strstr(buf, "frozen 1") != NULL : !strncmp(buf, "FROZEN", 6);
	free(buf);
	return ret;
}

static int set_frozen(bool frozen)
{
	char path[PATH_MAX];
	const char *v = v2 ? (frozen ? "1" : "0") : (frozen ? "FROZEN" : "THAWED");

	freezer_file(v2 ? "cgroup.freeze" : "freezer.state", path, sizeof(path));
	if (write_file(path, v, strlen(v))) {
		pr_perror("--freeze-cgroup: cannot write %s to %s", v, path);
		return -1;
	}
	return 0;
}

static int freeze(void)
{
	u64 deadline = now_us() + (u64)opts.timeout * 1000000;
	unsigned int delay = 100;
	char path[PATH_MAX];
	int f;

	freezer_file("cgroup.freeze", path, sizeof(path));
	v2 = !access(path, F_OK);
	freezer_file("freezer.state", path, sizeof(path));
	if (!v2 && access(path, F_OK)) {
		pr_err("--freeze-cgroup %s: no freezer.state (v1) or cgroup.freeze (v2) there\n",
		       opts.freeze_cgroup);
		return -1;
	}
	f = is_frozen();
	if (f < 0)
		return -1;
	was_frozen = f;
	used = true;
	while ((f = is_frozen()) == 0) {
		/* v1 may stay FREEZING while a task cannot stop yet: ask again */
		if (set_frozen(true))
			return -1;
		if (now_us() > deadline) {
			pr_err("--freeze-cgroup %s: not frozen after %u s (--timeout)\n",
			       opts.freeze_cgroup, opts.timeout);
			return -1;
		}
		usleep(delay);
		delay = min(delay * 2, 100000u);
	}
	pr_info("--freeze-cgroup %s (%s) frozen%s\n", opts.freeze_cgroup, v2 ? "v2" : "v1",
		was_frozen ? ", as it was already" : "");
	return f < 0 ? -1 : 0;
}

static int add_tid(pid_t tid)
{
	pid_t *np;

	if (tid == getpid()) {
		pr_err("--freeze-cgroup %s holds criu itself\n", opts.freeze_cgroup);
		return -1;
	}
	if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)(long)PTRACE_O_TRACESYSGOOD)) {
		if (errno == ESRCH)
			return 0;
		pr_perror("--freeze-cgroup: cannot seize tid %d", tid);
		return -1;
	}
	np = xrealloc(pre, (nr_pre + 1) * sizeof(*np));
	if (!np)
		return -1;
	pre = np;
	pre[nr_pre++] = tid;
	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) && errno != ESRCH) {
		pr_perror("--freeze-cgroup: cannot interrupt tid %d", tid);
		return -1;
	}
	return 0;
}

/* every thread of the cgroup dir (fd) and of the cgroups below it */
static int seize_dir(int dfd, const char *what)
{
	char *buf, *line, *save = NULL;
	struct dirent *d;
	DIR *dir;
	int ret = 0;

	if (read_file_at(dfd, v2 ? "cgroup.threads" : "tasks", &buf) < 0) {
		pr_perror("--freeze-cgroup: cannot read the threads of %s", what);
		return -1;
	}
	for (line = strtok_r(buf, "\n", &save); line && !ret; line = strtok_r(NULL, "\n", &save))
		ret = add_tid(atoi(line));
	free(buf);
	dir = ret ? NULL : fdopendir(dup(dfd));
	if (!dir)
		return ret ? ret : -1;
	while (!ret && (d = readdir(dir))) {
		int sub;

		if (d->d_type != DT_DIR || d->d_name[0] == '.')
			continue;
		sub = openat(dfd, d->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		ret = sub < 0 ? -1 : seize_dir(sub, d->d_name);
		if (sub >= 0)
			close(sub);
	}
	closedir(dir);
	return ret;
}

static int cmp_pid(const void *a, const void *b)
{
	return *(const pid_t *)a - *(const pid_t *)b;
}

/* Freeze, seize every thread with no waiting, thaw.  0 when not asked. */
int freezer_freeze(void)
{
	u64 t0 = now_us();
	int dfd, ret;

	if (!opts.freeze_cgroup)
		return 0;
	if (freeze())
		goto thaw;
	dfd = open(opts.freeze_cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ret = dfd < 0 ? -1 : seize_dir(dfd, opts.freeze_cgroup);
	if (dfd >= 0)
		close(dfd);
	if (ret)
		goto thaw;
	qsort(pre, nr_pre, sizeof(*pre), cmp_pid);
	claimed = xzalloc(nr_pre * sizeof(*claimed) + 1);
	if (!claimed || set_frozen(false))
		goto thaw;
	pr_info("--freeze-cgroup: %d threads seized in %llu us\n", nr_pre,
		(unsigned long long)(now_us() - t0));
	return 0;
thaw:
	if (used)
		set_frozen(false);
	freezer_forget_outsiders();
	return -1;
}

bool freezer_preseized(pid_t tid)
{
	pid_t *p = nr_pre ? bsearch(&tid, pre, nr_pre, sizeof(*pre), cmp_pid) : NULL;

	if (!p || !claimed)
		return false;
	claimed[p - pre] = true;
	return true;
}

/* Threads of the cgroup that are not in the tree go on: wait for the stop, detach. */
void freezer_forget_outsiders(void)
{
	u64 deadline = now_us() + 2000000;
	int i, status;

	for (i = 0; i < nr_pre; i++) {
		if (claimed && claimed[i])
			continue;
		while (waitpid(pre[i], &status, __WALL | WNOHANG) == 0 && now_us() < deadline)
			usleep(100);
		if (ptrace(PTRACE_DETACH, pre[i], NULL, NULL) && errno != ESRCH)
			pr_perror("--freeze-cgroup: cannot let tid %d go", pre[i]);
		else
			pr_debug("--freeze-cgroup: tid %d is not in the tree; let go\n", pre[i]);
	}
	free(pre);
	free(claimed);
	pre = NULL;
	claimed = NULL;
	nr_pre = 0;
}

const char *freezer_dumped_state(bool want_v2)
{
	if (!used || want_v2 != v2)
		return NULL;
	return v2 ? (was_frozen ? "1" : "0") : (was_frozen ? "FROZEN" : "THAWED");
}

int freezer_restore_state(void)
{
	if (!used || !was_frozen)
		return 0;
	pr_info("--freeze-cgroup %s was frozen before the dump: frozen again\n",
		opts.freeze_cgroup);
	return set_frozen(true);
}
