// SPDX-License-Identifier: GPL-2.0
/* Parsers for /proc files. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <signal.h>
#include <unistd.h>

#include "proc_parse.h"
#include "util.h"

static void pid_path(char *buf, size_t len, pid_t pid, pid_t tid, const char *file)
{
	if (tid && tid != pid)
		snprintf(buf, len, "/proc/%d/task/%d/%s", pid, tid, file);
	else
		snprintf(buf, len, "/proc/%d/%s", pid, file);
}

int parse_pid_stat(pid_t pid, pid_t tid, struct proc_pid_stat *s)
{
	unsigned long long f[64];
	char path[64], *buf, *p, *end;
	int n = 0;

	pid_path(path, sizeof(path), pid, tid, "stat");
	if (read_file(path, &buf) < 0)
		return -1;

	memset(s, 0, sizeof(*s));
	/* the comm may hold spaces and parentheses: it ends at the last ')' */
	p = strchr(buf, '(');
	end = strrchr(buf, ')');
	if (!p || !end || end[1] != ' ' || end[2] == '\0') {
		free(buf);
		errno = EINVAL;
		return -1;
	}
	s->pid = atoi(buf);
	snprintf(s->comm, sizeof(s->comm), "%.*s", (int)(end - p - 1), p + 1);
	s->state = end[2];
	p = end + 3;
	/* f[k] is stat field k + 4 */
	while (n < 64 && *p) {
		f[n++] = strtoull(p, &end, 10);
		if (end == p)
			break;
		p = end;
		while (*p == ' ')
			p++;
	}
	free(buf);
	if (n < 48) {
		errno = EINVAL;
		return -1;
	}
#define F(k) (f[(k) - 4])
	s->ppid = F(4);
	s->pgid = F(5);
	s->sid = F(6);
	s->flags = F(9);
	s->priority = (long)F(18);
	s->nice = (long)F(19);
	s->num_threads = F(20);
	s->start_code = F(26);
	s->end_code = F(27);
	s->start_stack = F(28);
	s->exit_signal = F(38);
	s->rt_priority = F(40);
	s->policy = F(41);
	s->start_data = F(45);
	s->end_data = F(46);
	s->start_brk = F(47);
	s->arg_start = F(48);
	s->arg_end = F(49);
	s->env_start = F(50);
	s->env_end = F(51);
	s->exit_code = F(52);
#undef F
	return 0;
}

static int parse_ns_list(const char *p, pid_t *out)
{
	int n = 0;

	while (*p && n < NS_LEVELS_MAX) {
		char *end;
		long v = strtol(p, &end, 10);

		if (end == p)
			break;
		out[n++] = v;
		p = end;
	}
	return n;
}

static void parse_status_line(struct proc_status *st, char *line)
{
	char *v = strchr(line, ':');

	if (!v)
		return;
	*v++ = '\0';
	while (*v == ' ' || *v == '\t')
		v++;

	if (!strcmp(line, "State"))
		st->state = v[0];
	else if (!strcmp(line, "Tgid"))
		st->tgid = atoi(v);
	else if (!strcmp(line, "PPid"))
		st->ppid = atoi(v);
	else if (!strcmp(line, "Umask"))
		st->umask = strtoul(v, NULL, 8);
	else if (!strcmp(line, "SigPnd"))
		st->sigpnd = strtoull(v, NULL, 16);
	else if (!strcmp(line, "ShdPnd"))
		st->shdpnd = strtoull(v, NULL, 16);
	else if (!strcmp(line, "SigBlk"))
		st->sigblk = strtoull(v, NULL, 16);
	else if (!strcmp(line, "SigIgn"))
		st->sigign = strtoull(v, NULL, 16);
	else if (!strcmp(line, "SigCgt"))
		st->sigcgt = strtoull(v, NULL, 16);
	else if (!strcmp(line, "CapInh"))
		st->cap_inh = strtoull(v, NULL, 16);
	else if (!strcmp(line, "CapPrm"))
		st->cap_prm = strtoull(v, NULL, 16);
	else if (!strcmp(line, "CapEff"))
		st->cap_eff = strtoull(v, NULL, 16);
	else if (!strcmp(line, "CapBnd"))
		st->cap_bnd = strtoull(v, NULL, 16);
	else if (!strcmp(line, "CapAmb"))
		st->cap_amb = strtoull(v, NULL, 16);
	else if (!strcmp(line, "Uid"))
		sscanf(v, "%u %u %u %u", &st->uid[0], &st->uid[1], &st->uid[2], &st->uid[3]);
	else if (!strcmp(line, "Gid"))
		sscanf(v, "%u %u %u %u", &st->gid[0], &st->gid[1], &st->gid[2], &st->gid[3]);
	else if (!strcmp(line, "Groups")) {
		char *end;

		st->ngroups = 0;
		while (*v && st->ngroups < (int)ARRAY_SIZE(st->groups)) {
			unsigned long g = strtoul(v, &end, 10);

			if (end == v)
				break;
			st->groups[st->ngroups++] = g;
			v = end;
		}
	} else if (!strcmp(line, "NoNewPrivs"))
		st->nnp = atoi(v);
	else if (!strcmp(line, "Seccomp"))
		st->seccomp = atoi(v);
	else if (!strcmp(line, "Seccomp_filters"))
		st->seccomp_filters = atoi(v);
	else if (!strcmp(line, "THP_enabled"))
		st->thp_enabled = atoi(v);
	else if (!strcmp(line, "NStgid"))
		parse_ns_list(v, st->nstgid);
	else if (!strcmp(line, "NSpid"))
		st->ns_levels = parse_ns_list(v, st->nspid);
	else if (!strcmp(line, "NSpgid"))
		parse_ns_list(v, st->nspgid);
	else if (!strcmp(line, "NSsid"))
		parse_ns_list(v, st->nssid);
}

int parse_pid_status(pid_t pid, pid_t tid, struct proc_status *st)
{
	char path[64], *buf, *line, *save;

	pid_path(path, sizeof(path), pid, tid, "status");
	if (read_file(path, &buf) < 0)
		return -1;
	memset(st, 0, sizeof(*st));
	st->thp_enabled = -1;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		parse_status_line(st, line);
	free(buf);
	return 0;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

int read_tids(pid_t pid, pid_t **tids, int *nr)
{
	char path[64];
	struct dirent *de;
	pid_t *t = NULL;
	int n = 0, cap = 0, i;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (!isdigit(de->d_name[0]))
			continue;
		if (n == cap) {
			pid_t *nt;

			cap = cap ? cap * 2 : 16;
			nt = xrealloc(t, cap * sizeof(*t));
			if (!nt) {
				free(t);
				closedir(d);
				return -1;
			}
			t = nt;
		}
		t[n++] = atoi(de->d_name);
	}
	closedir(d);
	qsort(t, n, sizeof(*t), cmp_pid);
	/* the leader first */
	for (i = 0; i < n; i++)
		if (t[i] == pid) {
			memmove(t + 1, t, i * sizeof(*t));
			t[0] = pid;
			break;
		}
	*tids = t;
	*nr = n;
	return 0;
}

int read_children(pid_t pid, const pid_t *tids, int nr_tids, pid_t **kids, int *nr)
{
	pid_t *k = NULL;
	int n = 0, cap = 0, i;

	for (i = 0; i < nr_tids; i++) {
		char path[96], *buf, *p, *end;

		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, tids[i]);
		if (read_file(path, &buf) < 0) {
			if (errno == ENOENT)
				continue;	/* the thread is gone */
			free(k);
			return -1;
		}
		for (p = buf;; p = end) {
			long c = strtol(p, &end, 10);

			if (end == p)
				break;
			if (n == cap) {
				pid_t *nk;

				cap = cap ? cap * 2 : 16;
				nk = xrealloc(k, cap * sizeof(*k));
				if (!nk) {
					free(buf);
					free(k);
					return -1;
				}
				k = nk;
			}
			k[n++] = c;
		}
		free(buf);
	}
	if (n)
		qsort(k, n, sizeof(*k), cmp_pid);
	*kids = k;
	*nr = n;
	return 0;
}

int parse_pid_limits(pid_t pid, struct proc_rlimit *lim, int *nr)
{
	/* the row titles of /proc/PID/limits, in RLIMIT_* order */
	static const char *const names[CR_RLIM_NLIMITS] = {
		"Max cpu time", "Max file size", "Max data size", "Max stack size",
		"Max core file size", "Max resident set", "Max processes",
		"Max open files", "Max locked memory", "Max address space",
		"Max file locks", "Max pending signals", "Max msgqueue size",
		"Max nice priority", "Max realtime priority", "Max realtime timeout",
	};
	char path[64], *buf, *line, *save;
	int i, found = 0;

	snprintf(path, sizeof(path), "/proc/%d/limits", pid);
	if (read_file(path, &buf) < 0)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		for (i = 0; i < CR_RLIM_NLIMITS; i++) {
			size_t l = strlen(names[i]);
			char *p, *end;

			if (strncmp(line, names[i], l) || line[l] != ' ')
				continue;
			p = line + l;
			while (*p == ' ')
				p++;
			if (!strncmp(p, "unlimited", 9)) {
				lim[i].cur = RLIM_INFINITY;
				p += 9;
			} else {
				lim[i].cur = strtoull(p, &end, 10);
				p = end;
			}
			while (*p == ' ')
				p++;
			if (!strncmp(p, "unlimited", 9))
				lim[i].max = RLIM_INFINITY;
			else
				lim[i].max = strtoull(p, NULL, 10);
			found++;
			break;
		}
	}
	free(buf);
	if (found != CR_RLIM_NLIMITS) {
		errno = EINVAL;
		return -1;
	}
	*nr = CR_RLIM_NLIMITS;
	return 0;
}

int parse_fdinfo(pid_t pid, int fd, struct proc_fdinfo *fi)
{
	char path[64], *buf;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	if (read_file(path, &buf) < 0)
		return -1;
	parse_fdinfo_text(buf, fi);
	free(buf);
	return 0;
}

void parse_fdinfo_text(char *buf, struct proc_fdinfo *fi)
{
	char *line, *save;

	memset(fi, 0, sizeof(*fi));
	fi->mnt_id = -1;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "pos:", 4))
			fi->pos = strtoull(line + 4, NULL, 10);
		else if (!strncmp(line, "flags:", 6))
			fi->flags = strtoul(line + 6, NULL, 8);
		else if (!strncmp(line, "mnt_id:", 7))
			fi->mnt_id = atoi(line + 7);
		else if (!strncmp(line, "ino:", 4))
			fi->ino = strtoull(line + 4, NULL, 10);
		else if (!strncmp(line, "lock:", 5))
			fi->locked = true;
	}
}

/*
 * The value of the "key:" line of an fdinfo text (spaces and tabs after
 * the colon skipped), or NULL.  Keys may contain spaces ("settime flags").
 */
const char *fdinfo_value(const char *fdinfo, const char *key)
{
	size_t len = strlen(key);
	const char *l;

	for (l = fdinfo; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		if (strncmp(l, key, len) || l[len] != ':')
			continue;
		l += len + 1;
		return l + strspn(l, " \t");
	}
	return NULL;
}

static int parse_timer_line(struct proc_posix_timer *t, const char *key, const char *v)
{
	if (!strcmp(key, "ID"))
		t->id = atoi(v);
	else if (!strcmp(key, "signal"))
		sscanf(v, "%d/%" SCNx64, &t->signo, &t->sival_ptr);
	else if (!strcmp(key, "notify")) {
		char kind[16] = "";
		char which[16] = "";

		/* "<signal|none|thread>/<pid|tid>.N": how, and to whom */
		sscanf(v, "%15[^/]/%15[^.].%d", kind, which, &t->notify_tid);
		if (!strcmp(kind, "none"))
			t->notify = SIGEV_NONE;
		else if (!strcmp(kind, "thread"))
			t->notify = SIGEV_THREAD;
		else
			t->notify = SIGEV_SIGNAL;
		if (!strcmp(which, "tid"))
			t->notify |= SIGEV_THREAD_ID;
	} else if (!strcmp(key, "ClockID"))
		t->clock_id = atoi(v);
	return 0;
}

int parse_posix_timers(pid_t pid, struct proc_posix_timer **timers, int *nr)
{
	char path[64], *buf, *line, *save;
	struct proc_posix_timer *t = NULL;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/timers", pid);
	if (read_file(path, &buf) < 0)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *v = strchr(line, ':');

		if (!v)
			continue;
		*v++ = '\0';
		while (*v == ' ')
			v++;
		if (!strcmp(line, "ID")) {
			struct proc_posix_timer *nt = xrealloc(t, (n + 1) * sizeof(*t));

			if (!nt) {
				free(t);
				free(buf);
				return -1;
			}
			t = nt;
			memset(&t[n++], 0, sizeof(*t));
		}
		if (n)
			parse_timer_line(&t[n - 1], line, v);
	}
	free(buf);
	*timers = t;
	*nr = n;
	return 0;
}
