// SPDX-License-Identifier: GPL-2.0
/*
 * The VMAs of a task, parsed from /proc/PID/smaps: ranges, protections,
 * VmFlags and the kind of mapping from its name.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ipc_ns.h"
#include "mem.h"
#include "proc_parse.h"
#include "util.h"

void free_vmas(struct vm_area_list *vl)
{
	struct vma_area *v, *n;

	list_for_each_entry_safe(v, n, &vl->h, list) {
		list_del(&v->list);
		free(v->e.name);
		free(v->name);
		free(v);
	}
	vl->nr = 0;
}

/* ---- /proc/PID/smaps ---- */

static int parse_prot(const char *perms, VmaEntry *e)
{
	if (strlen(perms) < 4)
		return -1;
	e->prot = 0;
	if (perms[0] == 'r')
		e->prot |= PROT_READ;
	if (perms[1] == 'w')
		e->prot |= PROT_WRITE;
	if (perms[2] == 'x')
		e->prot |= PROT_EXEC;
	e->flags = perms[3] == 's' ? MAP_SHARED : MAP_PRIVATE;
	return 0;
}

struct vmflag_madv {
	char name[3];
	int advice;
};

/* VmFlags letters that stand for a madvise() state */
static const struct vmflag_madv vmflag_madvs[] = {
	{ "sr", MADV_SEQUENTIAL }, { "rr", MADV_RANDOM },
	{ "dc", MADV_DONTFORK }, { "dd", MADV_DONTDUMP },
	{ "wf", MADV_WIPEONFORK }, { "mg", MADV_MERGEABLE },
	{ "hg", MADV_HUGEPAGE }, { "nh", MADV_NOHUGEPAGE },
};

static void parse_vmflags(char *flags, struct vma_area *v)
{
	char *tok, *save;
	size_t i;

	for (tok = strtok_r(flags, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (!strcmp(tok, "gd"))
			v->e.flags |= MAP_GROWSDOWN;
		else if (!strcmp(tok, "lo"))
			v->e.flags |= MAP_LOCKED;
		else if (!strcmp(tok, "lf"))
			v->e.lock_onfault = v->e.has_lock_onfault = true;
		else if (!strcmp(tok, "nr"))
			v->e.flags |= MAP_NORESERVE;
		else if (!strcmp(tok, "dp"))
			/* a mapping type of its own, shown as private */
			v->e.flags = (v->e.flags & ~MAP_TYPE) | MAP_DROPPABLE;
		else if (!strcmp(tok, "mw"))
			v->maywrite = true;
		for (i = 0; i < ARRAY_SIZE(vmflag_madvs); i++)
			if (!strcmp(tok, vmflag_madvs[i].name))
				v->e.madv |= 1ULL << vmflag_madvs[i].advice;
	}
	v->e.has_madv = v->e.madv != 0;
}

/*
 * [anon:NAME] (private) or [anon_shmem:NAME] (shared, a shmem file like
 * "/dev/zero (deleted)"): anonymous memory named with PR_SET_VMA_ANON_NAME.
 */
static int classify_named_anon(struct vma_area *v)
{
	const char *n = strchr(v->name, ':') + 1;
	size_t len = strlen(n);

	if (!len || n[len - 1] != ']') {
		pr_err("VMA %llx-%llx: cannot parse the name %s\n", (unsigned long long)v->e.start,
		       (unsigned long long)v->e.end, v->name);
		return -1;
	}
	v->e.name = strndup(n, len - 1);
	if (!v->e.name) {
		pr_err("out of memory for the name of VMA %llx\n", (unsigned long long)v->e.start);
		return -1;
	}
	v->e.flags |= MAP_ANONYMOUS;
	if (v->e.flags & MAP_SHARED) {
		v->e.status |= VMA_ANON_SHARED;
		v->e.shmid = v->ino;
	} else {
		v->e.status |= VMA_ANON_PRIVATE;
	}
	return 0;
}

/* What kind of mapping is it: sets status and flags from the name. */
static int classify_vma(pid_t pid, struct vma_area *v)
{
	const char *n = v->name;
	bool shared = v->e.flags & MAP_SHARED;

	v->e.status = VMA_AREA_REGULAR;
	if (!n) {
		v->e.flags |= MAP_ANONYMOUS;
		v->e.status |= VMA_ANON_PRIVATE;
		return 0;
	}
	if (!strcmp(n, "[vsyscall]")) {
		/* the kernel's page, above the task size: recorded as CRIU does, never restored */
		v->e.status = VMA_AREA_VSYSCALL | VMA_ANON_PRIVATE;
		v->e.flags |= MAP_ANONYMOUS;
		return 0;
	}
	if (!strcmp(n, "[vdso]")) {
		v->e.status |= VMA_AREA_VDSO | VMA_ANON_PRIVATE;
		v->e.flags |= MAP_ANONYMOUS;
		return 0;
	}
	if (!strcmp(n, "[vvar]") || !strcmp(n, "[vvar_vclock]")) {
		v->e.status |= VMA_AREA_VVAR | VMA_ANON_PRIVATE;
		v->e.flags |= MAP_ANONYMOUS;
		v->vvar_vclock = n[5] == '_';
		return 0;
	}
	/* CRIU marks [heap] but not [stack] (that one is told by MAP_GROWSDOWN) */
	if (!strcmp(n, "[heap]") || !strcmp(n, "[stack]")) {
		v->e.status |= VMA_ANON_PRIVATE | (n[1] == 'h' ? VMA_AREA_HEAP : 0);
		v->e.flags |= MAP_ANONYMOUS;
		return 0;
	}
	if (n[0] == '[') {
		if (!strncmp(n, "[anon:", 6) || (shared && !strncmp(n, "[anon_shmem:", 12)))
			return classify_named_anon(v);
		pr_err("unsupported: pid %d VMA %llx-%llx is %s\n", pid,
		       (unsigned long long)v->e.start, (unsigned long long)v->e.end, n);
		return -1;
	}
	if (!strncmp(n, "/SYSV", 5) && v->deleted) {
		/* the inode number of a segment's file is its id; shared anonymous, as CRIU marks it */
		v->e.status |= VMA_AREA_SYSVIPC | VMA_ANON_SHARED;
		v->e.flags |= MAP_ANONYMOUS;
		v->e.shmid = v->ino;
		/* its file's open mode, as for a shared file mapping: SHM_RDONLY or not */
		v->e.has_fdflags = true;
		v->e.fdflags = v->maywrite ? O_RDWR : O_RDONLY;
		return note_sysv_mapping(pid, (int)v->ino);
	}
	if (shared && !strcmp(n, "/dev/zero") && v->deleted) {
		v->e.flags |= MAP_ANONYMOUS;
		v->e.status |= VMA_ANON_SHARED;
		v->e.shmid = v->ino;
		return 0;
	}
	if (!strncmp(n, "/memfd:", 7))
		v->e.status |= VMA_AREA_MEMFD;
	v->e.status |= shared ? VMA_FILE_SHARED : VMA_FILE_PRIVATE;
	return 0;
}

/* "start-end perms offset maj:min inode   path" */
static struct vma_area *parse_vma_line(const char *line)
{
	unsigned long long start, end, pgoff, ino;
	unsigned int maj, min;
	char perms[8];
	int off = 0;
	struct vma_area *v;
	const char *path;

	if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &pgoff, &maj,
		   &min, &ino, &off) < 7)
		return NULL;
	v = xzalloc(sizeof(*v));
	if (!v)
		return NULL;
	vma_entry__init(&v->e);
	v->e.start = start;
	v->e.end = end;
	v->e.pgoff = pgoff;
	v->e.fd = -1;
	v->dev = makedev_u64(maj, min);
	v->ino = ino;
	parse_prot(perms, &v->e);

	path = line + off;
	if (*path) {
		size_t len = strlen(path);
		static const char del[] = " (deleted)";

		v->name = xstrdup(path);
		if (!v->name) {
			free(v);
			return NULL;
		}
		if (len > sizeof(del) - 1 && !strcmp(path + len - (sizeof(del) - 1), del)) {
			v->deleted = true;
			v->name[len - (sizeof(del) - 1)] = '\0';
		}
	}
	return v;
}

static bool is_vma_header(const char *line)
{
	/* a header starts with a hex address followed by '-' */
	const char *p = line;

	while ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))
		p++;
	return p != line && *p == '-';
}

/* ---- smaps read before the freeze ---- */

/*
 * Reading smaps walks all the task's page tables for its counters (11 ms
 * per resident GiB on this machine, 50 ms under load), time a frozen tree
 * would wait.  So smaps is read just before the freeze; once frozen, the
 * text of /proc/PID/maps (no page walk) and VmLck must be what they were
 * then, or smaps is read again.  The one change neither shows: madvise()
 * state (dontfork, wipeonfork, hugepage...) set on a whole VMA during
 * those few milliseconds before the freeze.
 */
struct early_smaps {
	pid_t pid;
	long vmlck;
	char *buf;
	struct early_smaps *next;
};

static struct early_smaps *early_list;
static int early_count;

#define EARLY_MAX 4096	/* processes read ahead at most */

/* a "Name:   N kB" line of /proc/PID/status, -1 if there is none */
static long read_status_kb(pid_t pid, const char *name)
{
	char path[64], key[32], *buf, *p;
	long kb = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	snprintf(key, sizeof(key), "\n%s:", name);
	if (read_file(path, &buf) < 0)
		return -1;
	p = strstr(buf, key);
	if (p)
		kb = strtol(p + strlen(key), NULL, 10);
	free(buf);
	return kb;
}

static long read_vmlck(pid_t pid)
{
	return read_status_kb(pid, "VmLck");
}

/* The resident size of pid in bytes (0 if unknown): how much copy ring to fault in. */
u64 task_rss_bytes(pid_t pid)
{
	long kb = read_status_kb(pid, "VmRSS");

	return kb > 0 ? (u64)kb << 10 : 0;
}

static void read_early_tree(pid_t pid, int depth);

/* Keep only what collect_vmas() parses: VMA headers and VmFlags (a tenth of smaps). */
static void compact_smaps(char *buf)
{
	char *in = buf, *out = buf, *nl;
	size_t len;

	while (*in) {
		nl = strchrnul(in, '\n');
		len = nl - in + (*nl ? 1 : 0);
		if (is_vma_header(in) || !strncmp(in, "VmFlags:", 8)) {
			memmove(out, in, len);
			out += len;
		}
		in += len;
	}
	*out = '\0';
}

/* the children of every thread of pid, read ahead too */
static void read_early_children(pid_t pid, int depth)
{
	char path[64], *kids, *tok, *save;
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/children", pid, de->d_name);
		if (read_file(path, &kids) < 0)
			continue;
		for (tok = strtok_r(kids, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
			read_early_tree(atoi(tok), depth + 1);
		free(kids);
	}
	closedir(d);
}

static void read_early_tree(pid_t pid, int depth)
{
	struct early_smaps *e;
	char path[64], *shrunk;

	if (depth > 64 || early_count >= EARLY_MAX || pid <= 0)
		return;
	e = xzalloc(sizeof(*e));
	if (!e)
		return;
	e->pid = pid;
	e->vmlck = read_vmlck(pid);
	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	if (e->vmlck < 0 || read_file(path, &e->buf) < 0) {
		free(e);
		return;
	}
	compact_smaps(e->buf);
	shrunk = realloc(e->buf, strlen(e->buf) + 1);
	if (shrunk)
		e->buf = shrunk;
	e->next = early_list;
	early_list = e;
	early_count++;
	read_early_children(pid, depth);
}

void vmas_read_early(pid_t root)
{
	u64 t0 = now_us();

	read_early_tree(root, 0);
	pr_debug("read smaps of %d processes before the freeze in %llu us\n", early_count,
		 (unsigned long long)(now_us() - t0));
}

void vmas_early_fini(void)
{
	struct early_smaps *e;

	while ((e = early_list)) {
		early_list = e->next;
		free(e->buf);
		free(e);
	}
	early_count = 0;
}

/* every VMA header of the early smaps text, in order, is a line of maps */
static bool same_vmas(const char *smaps, const char *maps)
{
	const char *s = smaps, *m = maps, *nl;
	size_t len;

	for (; *s; s = *nl ? nl + 1 : nl) {
		nl = strchrnul(s, '\n');
		if (!is_vma_header(s))
			continue;
		len = nl - s;
		if (strncmp(m, s, len) || m[len] != '\n')
			return false;
		m += len + 1;
	}
	return *m == '\0';
}

/* The early smaps text of pid if its VMAs are still the same, else NULL. */
static char *take_early_smaps(pid_t pid)
{
	struct early_smaps **pp, *e;
	char path[64], *maps, *buf = NULL;

	for (pp = &early_list; *pp && (*pp)->pid != pid; pp = &(*pp)->next)
		;
	e = *pp;
	if (!e)
		return NULL;
	*pp = e->next;
	early_count--;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	if (read_file(path, &maps) >= 0) {
		if (read_vmlck(pid) == e->vmlck && same_vmas(e->buf, maps)) {
			buf = e->buf;
			e->buf = NULL;
		}
		free(maps);
	}
	if (buf)
		pr_debug("pid %d: VMAs as read before the freeze (maps, VmLck unchanged)\n", pid);
	else
		pr_info("pid %d: VMAs changed since smaps was read before the freeze: read again\n",
			pid);
	free(e->buf);
	free(e);
	return buf;
}

int collect_vmas(pid_t pid, struct vm_area_list *vl)
{
	char path[64], *buf, *line, *save;
	struct vma_area *cur = NULL;
	int ret = -1;

	INIT_LIST_HEAD(&vl->h);
	vl->nr = 0;
	vl->nr_priv_pages = 0;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	buf = take_early_smaps(pid);
	if (!buf && read_file(path, &buf) < 0) {
		pr_perror("cannot read %s", path);
		return -1;
	}
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (is_vma_header(line)) {
			cur = parse_vma_line(line);
			if (!cur) {
				pr_err("cannot parse a line of %s: %s\n", path, line);
				goto out;
			}
			list_add_tail(&cur->list, &vl->h);
			vl->nr++;
			continue;
		}
		if (cur && !strncmp(line, "VmFlags:", 8))
			parse_vmflags(line + 8, cur);
	}

	list_for_each_entry(cur, &vl->h, list) {
		/* CRIU writes an open mode for every VMA: O_RDWR only for shared "mw" ones */
		cur->e.has_fdflags = true;
		cur->e.fdflags = (cur->e.flags & MAP_SHARED) && cur->maywrite ? O_RDWR : O_RDONLY;
		if (classify_vma(pid, cur))
			goto out;
		if (vma_is_priv(&cur->e))
			vl->nr_priv_pages += vma_len(cur) / PAGE_SIZE;
		pr_debug("pid %d vma %llx-%llx prot %x flags %x status %x %s%s\n", pid,
			 (unsigned long long)cur->e.start, (unsigned long long)cur->e.end,
			 cur->e.prot, cur->e.flags, cur->e.status, cur->name ? cur->name : "",
			 cur->deleted ? " (deleted)" : "");
	}
	ret = 0;
out:
	free(buf);
	if (ret)
		free_vmas(vl);
	return ret;
}


/*
 * mlockall(MCL_FUTURE) leaves no trace in /proc but in the mappings made
 * after it: mm->def_flags gives them VM_LOCKED ("lo"), and VM_LOCKONFAULT
 * ("lf") with MCL_ONFAULT.  fresh is such a mapping (our scratch area);
 * a neighbour it merged with has the same flags.
 */
int read_mlockall(pid_t pid, u64 fresh, u32 *mcl)
{
	char path[64], *buf, *line, *save;
	bool in = false;

	*mcl = 0;
	/* MCL_FUTURE would have locked the fresh mapping: nothing locked, no smaps walk */
	if (!read_vmlck(pid))
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	if (read_file(path, &buf) < 0) {
		pr_perror("cannot read %s", path);
		return -1;
	}
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long s, e;

		if (is_vma_header(line)) {
			in = sscanf(line, "%llx-%llx", &s, &e) == 2 && s <= fresh && fresh < e;
			continue;
		}
		if (!in || strncmp(line, "VmFlags:", 8))
			continue;
		if (strstr(line, " lo"))
			*mcl = MCL_FUTURE | (strstr(line, " lf") ? MCL_ONFAULT : 0);
		break;
	}
	free(buf);
	if (*mcl)
		pr_info("pid %d: mlockall(MCL_FUTURE%s) is on\n", pid,
			*mcl & MCL_ONFAULT ? " | MCL_ONFAULT" : "");
	return 0;
}
