// SPDX-License-Identifier: GPL-2.0
/*
 * Write tracking for iterative dumps without soft-dirty bits: a
 * userfaultfd in write-protect async mode per task, created in the task
 * by a remote call and taken into criu.  A write to a protected page
 * just clears its uffd-wp bit; PAGEMAP_SCAN then reports it as written
 * and protects it again (PM_SCAN_WP_MATCHING).  A VMA that is not
 * registered with such a uffd (new, remapped, the task exec'd, the uffd
 * lost) fails the scan with PM_SCAN_CHECK_WPASYNC: its pages are copied.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/userfaultfd.h>

#include "cr_options.h"
#include "image.h"
#include "infect.h"
#include "files.h"
#include "log.h"
#include "mem-track.h"
#include "pagemap.pb-c.h"
#include "restore.h"

/* kernel ABI (include/uapi/linux/userfaultfd.h, fs.h); old headers lack them */
#define CR_UFFD_FEATURE_WP_UNPOPULATED	(1ULL << 13)
#define CR_UFFD_FEATURE_WP_ASYNC	(1ULL << 15)
#define CR_UFFD_USER_MODE_ONLY		1

struct cr_pm_scan_arg {
	u64 size, flags, start, end, walk_end, vec, vec_len, max_pages;
	u64 category_inverted, category_mask, category_anyof_mask, return_mask;
};

#define CR_PAGEMAP_SCAN		_IOWR('f', 16, struct cr_pm_scan_arg)
#define CR_PM_SCAN_WP_MATCHING	(1 << 0)
#define CR_PM_SCAN_CHECK_WPASYNC (1 << 1)

#define SCAN_VEC	1024

struct tracked {
	struct track_fd t;
	bool inherited;		/* from the keeper: its protection dates from the parent */
};

static struct tracked *trk;
static size_t nr_trk;
static int parent_dfd = -1;
static int pm_fd = -1, pm_pid;
static int par_vpid = -1;	/* the parent pagemap loaded in par_runs */
static struct track_run *par_runs;
static size_t nr_par_runs;

bool mem_track_on(void)
{
	return opts.track_mem;
}

/* Does tracking go on after this step (a pre-dump, a dump -R)? */
static bool keep_tracking(void)
{
	return opts.pre_dump || opts.leave_running;
}

static u64 read_start_time(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long st = 0;
	int fd, i;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');
	/* field 22; the fields after the name start with 3 */
	for (i = 3; p && i <= 22; i++)
		p = strchr(p + 1, ' ');
	if (p)
		sscanf(p + 1, "%llu", &st);
	return st;
}

static struct tracked *find_trk(pid_t pid)
{
	size_t i;

	for (i = 0; i < nr_trk; i++)
		if (trk[i].t.pid == pid && trk[i].t.fd >= 0)
			return &trk[i];
	return NULL;
}

static int add_trk(pid_t pid, int fd, bool inherited)
{
	struct tracked *n = xrealloc(trk, (nr_trk + 1) * sizeof(*n));

	if (!n)
		return -1;
	trk = n;
	trk[nr_trk].t.pid = pid;
	trk[nr_trk].t.fd = fd;
	trk[nr_trk].t.start_time = read_start_time(pid);
	trk[nr_trk].inherited = inherited;
	nr_trk++;
	return 0;
}

static int link_parent(void)
{
	int dfd = get_image_dir_fd();

	parent_dfd = openat(dfd, opts.prev_images_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (parent_dfd < 0) {
		pr_perror("cannot open the previous images dir %s", opts.prev_images_dir);
		return -1;
	}
	/* restore follows DIR/parent, relative to DIR, as CRIU's does */
	if (unlinkat(dfd, "parent", 0) && errno != ENOENT) {
		pr_perror("cannot replace the parent link");
		return -1;
	}
	if (symlinkat(opts.prev_images_dir, dfd, "parent")) {
		pr_perror("cannot link parent to %s", opts.prev_images_dir);
		return -1;
	}
	return 0;
}

int mem_track_prepare(void)
{
	struct track_fd *t = NULL;
	size_t n = 0, i;

	if (!opts.prev_images_dir)
		return 0;
	if (opts.use_page_server) {
		pr_err("unsupported: --prev-images-dir with --page-server\n");
		return -1;
	}
	if (link_parent())
		return -1;
	if (!opts.track_mem) {
		pr_warn("--prev-images-dir without --track-mem: every page is copied\n");
		return 0;
	}
	if (keeper_fetch(parent_dfd, &t, &n))
		return -1;
	for (i = 0; i < n; i++) {
		if (!t[i].start_time || read_start_time(t[i].pid) != t[i].start_time) {
			pr_warn("pid %d is not the process tracked before: tracking dropped\n",
				t[i].pid);
			close(t[i].fd);
			continue;
		}
		if (add_trk(t[i].pid, t[i].fd, true)) {
			close(t[i].fd);
			free(t);
			return -1;
		}
	}
	free(t);
	return 0;
}

static int uffd_api(int fd)
{
	struct uffdio_api api = { .api = UFFD_API,
				  .features = CR_UFFD_FEATURE_WP_ASYNC |
					      CR_UFFD_FEATURE_WP_UNPOPULATED };

	if (ioctl(fd, UFFDIO_API, &api))
		return -1;
	return api.features & CR_UFFD_FEATURE_WP_ASYNC ? 0 : -1;
}

/* Close fd in the task; tried twice, as a uffd left behind would show in its table. */
static int remote_close(struct remote_ctl *rc, pid_t pid, long fd)
{
	long r = -1;
	int i;

	for (i = 0; i < 2; i++)
		if (!remote_syscall(rc, pid, &r, SYS_close, (u64)fd, 0, 0, 0, 0, 0) && !r)
			return 0;
	pr_err("pid %d: cannot close our userfaultfd %ld in the task: it keeps it\n", pid, fd);
	return -1;
}

/* A uffd made by the task itself (its mm), then moved into criu. */
static int new_task_uffd(struct remote_ctl *rc, pid_t pid)
{
	long rfd = -1;
	int fd;

	if (remote_syscall(rc, pid, &rfd, SYS_userfaultfd, O_CLOEXEC | CR_UFFD_USER_MODE_ONLY,
			   0, 0, 0, 0, 0))
		return -2;
	if (rfd < 0) {
		pr_warn("pid %d: userfaultfd: %s: no write tracking\n", pid, strerror((int)-rfd));
		return -1;
	}
	fd = get_task_fd(pid, (int)rfd);
	if (remote_close(rc, pid, rfd)) {
		if (fd >= 0)
			close(fd);
		return -2;
	}
	if (fd < 0)
		return -2;
	if (uffd_api(fd)) {
		pr_warn("pid %d: no asynchronous write protection (UFFDIO_API: %s)\n", pid,
			strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static bool trackable(const VmaEntry *e)
{
	return vma_is_priv(e) && !(e->status & (VMA_AREA_VSYSCALL | VMA_AREA_VDSO |
						VMA_AREA_VVAR));
}

static int register_range(int fd, u64 start, u64 len)
{
	struct uffdio_register r = { .range = { start, len }, .mode = UFFDIO_REGISTER_MODE_WP };

	return ioctl(fd, UFFDIO_REGISTER, &r);
}

/*
 * Is the uffd still on the task's mm (no exec since)?  The scratch area
 * of the remote calls exists only in the current mm: registering it
 * works only there.
 */
static bool same_mm(int fd, struct remote_ctl *rc)
{
	struct uffdio_range r = { rc->scratch, rc->scratch_len };

	if (register_range(fd, rc->scratch, rc->scratch_len))
		return false;
	ioctl(fd, UFFDIO_UNREGISTER, &r);
	return true;
}

int mem_track_task(struct remote_ctl *rc, struct pstree_item *it)
{
	struct tracked *t;
	int fd;

	if (!opts.track_mem)
		return 0;
	t = find_trk(it->pid);
	if (t && same_mm(t->t.fd, rc))
		return 0;
	if (t) {
		pr_warn("pid %d: its tracked mm is gone (exec?): pages are copied whole\n",
			it->pid);
		close_safe(&t->t.fd);
	}
	/* a last dump needs no fresh uffd: it could vouch for nothing */
	if (!keep_tracking())
		return 0;
	fd = new_task_uffd(rc, it->pid);
	if (fd == -1)
		return 0;
	if (fd < 0 || add_trk(it->pid, fd, false))
		return -1;
	pr_info("pid %d: write tracking by userfaultfd %d\n", it->pid, fd);
	return 0;
}

/* The runs the parent dump holds for vpid (its own pages or its parent's). */
static int load_parent(int vpid)
{
	struct cr_img *img;
	PagemapHead *ph;
	int ret = -1;

	if (par_vpid == vpid)
		return 0;
	free(par_runs);
	par_runs = NULL;
	nr_par_runs = 0;
	par_vpid = vpid;
	img = open_image_at(parent_dfd, CR_FD_PAGEMAP, O_RSTR | O_OPT, (unsigned long)vpid);
	if (!img)
		return -1;
	if (img->fd < 0) {
		close_image(img);
		return 0;	/* a task the parent did not have */
	}
	if (pb_read_one(img, (void **)&ph, &pagemap_head__descriptor) < 0)
		goto out;
	pb_free(ph);
	for (;;) {
		PagemapEntry *pe;
		struct track_run *n;
		int r = pb_read_one_eof(img, (void **)&pe, &pagemap_entry__descriptor);

		if (r <= 0) {
			ret = r;
			break;
		}
		if (pagemap_entry_count(pe, img->name) ||
		    (pe->has_flags && !(pe->flags & (PE_PRESENT | PE_PARENT)))) {
			pb_free(pe);
			continue;
		}
		/* adjacent runs (its own data next to what it left to its parent) are one */
		if (nr_par_runs && par_runs[nr_par_runs - 1].end == pe->vaddr) {
			par_runs[nr_par_runs - 1].end += (u64)pe->nr_pages * PAGE_SIZE;
			pb_free(pe);
			continue;
		}
		n = xrealloc(par_runs, (nr_par_runs + 1) * sizeof(*n));
		if (!n) {
			pb_free(pe);
			break;
		}
		par_runs = n;
		par_runs[nr_par_runs].start = pe->vaddr;
		par_runs[nr_par_runs].end = pe->vaddr + (u64)pe->nr_pages * PAGE_SIZE;
		nr_par_runs++;
		pb_free(pe);
	}
out:
	close_image(img);
	return ret;
}

static int open_pagemap(pid_t pid)
{
	char path[64];

	if (pm_fd >= 0 && pm_pid == pid)
		return pm_fd;
	close_safe(&pm_fd);
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	pm_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (pm_fd < 0)
		pr_perror("cannot open %s", path);
	pm_pid = pid;
	return pm_fd;
}

/*
 * The written and zero-page regions of the VMA, protected again.  A zero
 * page that was mapped after MADV_DONTNEED is not a write, but its old
 * contents are gone: it must not come from the parent either.
 */
static int scan_vma(int fd, const VmaEntry *e, struct track_vma *tv, bool protect)
{
	struct cr_pm_scan_arg a = { .size = sizeof(a),
				    .flags = (protect ? CR_PM_SCAN_WP_MATCHING : 0) |
					     CR_PM_SCAN_CHECK_WPASYNC,
				    .start = e->start, .end = e->end,
				    .category_anyof_mask = CR_PAGE_IS_WRITTEN | CR_PAGE_IS_PFNZERO,
				    .return_mask = CR_PAGE_IS_WRITTEN | CR_PAGE_IS_PFNZERO };
	size_t cap = 0;

	while (a.start < e->end) {
		struct cr_page_region *n;
		long r;

		if (cap - tv->nr_dirty < SCAN_VEC) {
			cap += SCAN_VEC * 4;
			n = xrealloc(tv->dirty, cap * sizeof(*n));
			if (!n)
				return -1;
			tv->dirty = n;
		}
		a.vec = (u64)(unsigned long)(tv->dirty + tv->nr_dirty);
		a.vec_len = cap - tv->nr_dirty;
		r = ioctl(fd, CR_PAGEMAP_SCAN, &a);
		if (r < 0)
			return -1;
		tv->nr_dirty += r;
		if (a.walk_end <= a.start)
			break;
		a.start = a.walk_end;
	}
	return 0;
}

/* 0 if the VMA is registered for async write protection; it stops at one page. */
static int probe_vma(int fd, const VmaEntry *e)
{
	struct cr_page_region r;
	struct cr_pm_scan_arg a = { .size = sizeof(a), .flags = CR_PM_SCAN_CHECK_WPASYNC,
				    .start = e->start, .end = e->end,
				    .vec = (u64)(unsigned long)&r, .vec_len = 1, .max_pages = 1,
				    .category_anyof_mask = CR_PAGE_IS_WPALLOWED,
				    .return_mask = CR_PAGE_IS_WPALLOWED };

	return ioctl(fd, CR_PAGEMAP_SCAN, &a) < 0 ? -1 : 0;
}

int mem_track_vma(pid_t pid, int vpid, const VmaEntry *e, struct track_vma *tv)
{
	struct tracked *t;
	int fd;

	memset(tv, 0, sizeof(*tv));
	if (!opts.track_mem || !trackable(e))
		return 0;
	t = find_trk(pid);
	if (!t)
		return 0;
	fd = open_pagemap(pid);
	if (fd < 0)
		return -1;
	if (!probe_vma(fd, e)) {
		/* registered for async WP: by us, or by the task's own uffd? */
		if (register_range(t->t.fd, e->start, e->end - e->start)) {
			pr_info("pid %d: VMA %llx-%llx is the task's own userfaultfd's (%s): "
				"copied whole\n", pid, (unsigned long long)e->start,
				(unsigned long long)e->end, strerror(errno));
			return 0;
		}
		if (!scan_vma(fd, e, tv, keep_tracking()))
			goto scanned;
	}
	/*
	 * Not registered with our uffd (new, remapped, a fresh uffd): its
	 * pages are copied whole, and it is registered and protected now.
	 * Only now: wp bits it kept from an earlier registration are stale.
	 */
	if (t->inherited)
		pr_info("pid %d: VMA %llx-%llx was not tracked (%s): copied whole\n", pid,
			(unsigned long long)e->start, (unsigned long long)e->end, strerror(errno));
	mem_track_vma_done(tv);
	if (!keep_tracking())
		return 0;
	if (register_range(t->t.fd, e->start, e->end - e->start) || scan_vma(fd, e, tv, true))
		pr_debug("pid %d: VMA %llx-%llx cannot be tracked: %s\n", pid,
			 (unsigned long long)e->start, (unsigned long long)e->end, strerror(errno));
	mem_track_vma_done(tv);
	return 0;
scanned:
	/* a fresh uffd vouches for nothing yet; the parent must have the task */
	if (!t->inherited || parent_dfd < 0)
		return 0;
	if (load_parent(vpid))
		return -1;
	tv->par = par_runs;
	tv->nr_par = nr_par_runs;
	tv->tracked = nr_par_runs > 0;
	pr_debug("pid %d: VMA %llx-%llx: %zu written regions\n", pid,
		 (unsigned long long)e->start, (unsigned long long)e->end, tv->nr_dirty);
	return 0;
}

bool mem_track_in_parent(struct track_vma *tv, u64 addr)
{
	if (!tv->tracked)
		return false;
	while (tv->di < tv->nr_dirty && tv->dirty[tv->di].end <= addr)
		tv->di++;
	if (tv->di < tv->nr_dirty && tv->dirty[tv->di].start <= addr)
		return false;
	while (tv->pi < tv->nr_par && tv->par[tv->pi].end <= addr)
		tv->pi++;
	return tv->pi < tv->nr_par && tv->par[tv->pi].start <= addr;
}

/*
 * The regions of [start, end) that are present, swapped or guard pages,
 * with those categories and PAGE_IS_FILE: one walk of the page tables
 * that returns ranges, much cheaper than a pagemap entry per page.
 */
int mem_track_present(int fd, u64 start, u64 end, struct cr_page_region **out, size_t *nr)
{
	struct cr_pm_scan_arg a = { .size = sizeof(a), .start = start, .end = end,
				    .category_anyof_mask = CR_PAGE_IS_PRESENT | CR_PAGE_IS_SWAPPED |
							   CR_PAGE_IS_GUARD,
				    .return_mask = CR_PAGE_IS_PRESENT | CR_PAGE_IS_SWAPPED |
						   CR_PAGE_IS_GUARD | CR_PAGE_IS_FILE };
	struct cr_page_region *v = NULL, *n;
	size_t cap = 0, cnt = 0;

	while (a.start < end) {
		long r;

		if (cap - cnt < SCAN_VEC) {
			cap += SCAN_VEC * 4;
			n = xrealloc(v, cap * sizeof(*n));
			if (!n)
				goto err;
			v = n;
		}
		a.vec = (u64)(unsigned long)(v + cnt);
		a.vec_len = cap - cnt;
		r = ioctl(fd, CR_PAGEMAP_SCAN, &a);
		if (r < 0)
			goto err;
		cnt += r;
		/* regions may come past the walk_end the kernel gives: go on after them */
		if (cnt && v[cnt - 1].end > a.walk_end)
			a.walk_end = v[cnt - 1].end;
		if (a.walk_end <= a.start)
			break;
		a.start = a.walk_end;
	}
	*out = v;
	*nr = cnt;
	return 0;
err:
	free(v);
	return -1;
}

/*
 * The end of the stretch from addr that is neither written nor outside
 * the parent's runs, so that every page present in it comes from the
 * parent; addr if addr is not in one.  di and pi are cursors the caller
 * keeps (queries go up in address), apart from the ones of _in_parent.
 */
u64 mem_track_parent_until(struct track_vma *tv, size_t *di, size_t *pi, u64 addr, u64 end)
{
	u64 lim = end;

	if (!tv->tracked)
		return addr;
	while (*di < tv->nr_dirty && tv->dirty[*di].end <= addr)
		(*di)++;
	if (*di < tv->nr_dirty && tv->dirty[*di].start <= addr)
		return addr;
	while (*pi < tv->nr_par && tv->par[*pi].end <= addr)
		(*pi)++;
	if (*pi >= tv->nr_par || tv->par[*pi].start > addr)
		return addr;
	lim = min(lim, tv->par[*pi].end);
	if (*di < tv->nr_dirty)
		lim = min(lim, tv->dirty[*di].start);
	return lim;
}

/* Where, after addr (not in such a stretch), the next such stretch may start. */
u64 mem_track_next_stretch(struct track_vma *tv, size_t *di, size_t *pi, u64 addr, u64 end)
{
	u64 next = end;

	if (*di < tv->nr_dirty && tv->dirty[*di].start <= addr)
		return min(end, tv->dirty[*di].end);
	if (*pi < tv->nr_par)
		next = min(end, max(addr + PAGE_SIZE, tv->par[*pi].start));
	return next;
}

void mem_track_vma_done(struct track_vma *tv)
{
	free(tv->dirty);
	memset(tv, 0, sizeof(*tv));
}

int mem_track_finish(bool ok)
{
	struct track_fd *t = NULL;
	size_t i, n = 0;
	int ret = 0;

	/* a dump that leaves the tree running keeps tracking too, as CRIU's */
	if (ok && (opts.pre_dump || opts.leave_running) && nr_trk) {
		t = xmalloc(sizeof(*t) * nr_trk);
		if (!t)
			ret = -1;
		for (i = 0; t && i < nr_trk; i++)
			if (trk[i].t.fd >= 0)
				t[n++] = trk[i].t;
		if (t && keeper_start(opts.imgs_dir, t, n))
			ret = -1;
		free(t);
	}
	for (i = 0; i < nr_trk; i++)
		close_safe(&trk[i].t.fd);
	free(trk);
	trk = NULL;
	nr_trk = 0;
	free(par_runs);
	par_runs = NULL;
	nr_par_runs = 0;
	par_vpid = -1;
	close_safe(&pm_fd);
	close_safe(&parent_dfd);
	return ret;
}

/* Try the whole cycle on a mapping of our own. */
int mem_track_works(void)
{
	VmaEntry e = VMA_ENTRY__INIT;
	struct track_vma tv = { 0 };
	u8 *p = MAP_FAILED;
	int fd, ok = 0;

	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | CR_UFFD_USER_MODE_ONLY);
	if (fd < 0 || uffd_api(fd))
		goto out;
	p = mmap(NULL, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED)
		goto out;
	memset(p, 1, 4 * PAGE_SIZE);
	{
		struct uffdio_register r = { .range = { (u64)(unsigned long)p, 4 * PAGE_SIZE },
					     .mode = UFFDIO_REGISTER_MODE_WP };

		if (ioctl(fd, UFFDIO_REGISTER, &r))
			goto out;
	}
	e.start = (u64)(unsigned long)p;
	e.end = e.start + 4 * PAGE_SIZE;
	if (open_pagemap(getpid()) < 0 || scan_vma(pm_fd, &e, &tv, true))
		goto out;
	mem_track_vma_done(&tv);
	p[2 * PAGE_SIZE] = 2;
	if (scan_vma(pm_fd, &e, &tv, true))
		goto out;
	ok = tv.nr_dirty == 1 && tv.dirty[0].start == e.start + 2 * PAGE_SIZE &&
	     tv.dirty[0].end == e.start + 3 * PAGE_SIZE;
out:
	mem_track_vma_done(&tv);
	close_safe(&pm_fd);
	if (p != MAP_FAILED)
		munmap(p, 4 * PAGE_SIZE);
	if (fd >= 0)
		close(fd);
	return ok;
}
