// SPDX-License-Identifier: GPL-2.0
/*
 * Memory: the VMAs of a task from /proc/PID/smaps and the contents of its
 * private pages.  Pages are found through /proc/PID/pagemap and copied in
 * large batches: many runs per process_vm_readv into one big buffer, then
 * one write per buffer.  Never-touched pages and the zero page are not
 * written.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dump-intr.h"
#include "image.h"
#include "ipc_ns.h"
#include "mem.h"
#include "pagemap.pb-c.h"
#include "proc_parse.h"
#include "util.h"

#define PM_PFN_MASK	((1ULL << 55) - 1)
#define PM_EXCLUSIVE	(1ULL << 56)
#define PM_GUARD	(1ULL << 58)
#define PM_FILE		(1ULL << 61)
#define PM_SWAP		(1ULL << 62)
#define PM_PRESENT	(1ULL << 63)

/* copies from the task and writes to the image overlap: a ring of buffers */
#define NR_COPY_BUFS	4
#define COPY_BUF_SIZE	(4UL << 20)
#define PAGEMAP_CHUNK	(64UL << 10)	/* pagemap words read at once */
#define MAX_IOVS	1024

struct dump_stats dstats;

static u64 zero_pfn;		/* 0: unknown (PFNs hidden without CAP_SYS_ADMIN) */
/*
 * The writer thread takes full buffers from the ring in order and writes
 * each into its image, while the main thread fills the next ones.
 */
struct copy_slot {
	u8 *data;
	size_t len;
	struct cr_img *img;
};

static u8 *copy_area;
static struct copy_slot slots[NR_COPY_BUFS];
static unsigned int ring_head, ring_tail, ring_full;
static int ring_error;		/* errno of the first failed write */
static bool ring_stop;
static pthread_t writer;
static bool writer_running;
static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ring_cond = PTHREAD_COND_INITIALIZER;
/* the buffer for synchronous use, once the ring is drained */
#define copy_buf (slots[0].data)
static u64 *pm_buf;
static unsigned int next_pages_id = 1;

void free_vmas(struct vm_area_list *vl)
{
	struct vma_area *v, *n;

	list_for_each_entry_safe(v, n, &vl->h, list) {
		list_del(&v->list);
		free(v->name);
		free(v);
	}
	vl->nr = 0;
}

static void find_zero_pfn(void)
{
	volatile u8 *p;
	u64 pm = 0;
	int fd;

	p = mmap(NULL, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return;
	(void)p[0];	/* a read fault maps the shared zero page */
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (pread(fd, &pm, sizeof(pm), ((unsigned long)p >> PAGE_SHIFT) * 8) == 8 &&
		    (pm & PM_PRESENT))
			zero_pfn = pm & PM_PFN_MASK;
		close(fd);
	}
	munmap((void *)p, PAGE_SIZE);
	pr_debug("zero page pfn: %#llx%s\n", (unsigned long long)zero_pfn,
		 zero_pfn ? "" : " (hidden: zero pages will be dumped)");
}

static void *writer_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&ring_lock);
	for (;;) {
		struct copy_slot *sl;
		u64 t0;
		int err = 0;

		while (!ring_full && !ring_stop)
			pthread_cond_wait(&ring_cond, &ring_lock);
		if (!ring_full)
			break;
		sl = &slots[ring_tail];
		pthread_mutex_unlock(&ring_lock);
		t0 = now_us();
		/* after an error, buffers are only handed back */
		if (!ring_error && img_write_raw(sl->img, sl->data, sl->len))
			err = errno ? errno : EIO;
		pthread_mutex_lock(&ring_lock);
		dstats.memwrite_us += now_us() - t0;
		if (err && !ring_error)
			ring_error = err;
		ring_tail = (ring_tail + 1) % NR_COPY_BUFS;
		ring_full--;
		pthread_cond_broadcast(&ring_cond);
	}
	pthread_mutex_unlock(&ring_lock);
	return NULL;
}

/* The next free buffer of the ring; waits for the writer if need be. */
static struct copy_slot *ring_get(void)
{
	struct copy_slot *sl;

	pthread_mutex_lock(&ring_lock);
	while (ring_full == NR_COPY_BUFS)
		pthread_cond_wait(&ring_cond, &ring_lock);
	sl = &slots[ring_head];
	pthread_mutex_unlock(&ring_lock);
	return sl;
}

static void ring_put(struct copy_slot *sl, struct cr_img *img, size_t len)
{
	pthread_mutex_lock(&ring_lock);
	sl->img = img;
	sl->len = len;
	ring_head = (ring_head + 1) % NR_COPY_BUFS;
	ring_full++;
	pthread_cond_broadcast(&ring_cond);
	pthread_mutex_unlock(&ring_lock);
}

/* Wait until everything queued is written; -1 if a write failed. */
static int ring_drain(void)
{
	int err;

	pthread_mutex_lock(&ring_lock);
	while (ring_full)
		pthread_cond_wait(&ring_cond, &ring_lock);
	err = ring_error;
	pthread_mutex_unlock(&ring_lock);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

int mem_dump_init(void)
{
	int i;

	/* populated now: first-touch faults are expensive on this machine */
	copy_area = mmap(NULL, NR_COPY_BUFS * COPY_BUF_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (copy_area == MAP_FAILED) {
		copy_area = NULL;
		pr_perror("cannot allocate %lu MiB of copy buffers",
			  (NR_COPY_BUFS * COPY_BUF_SIZE) >> 20);
		return -1;
	}
	for (i = 0; i < NR_COPY_BUFS; i++)
		slots[i].data = copy_area + i * COPY_BUF_SIZE;
	pm_buf = xmalloc(PAGEMAP_CHUNK * sizeof(u64));
	if (!pm_buf)
		return -1;
	ring_stop = false;
	ring_error = 0;
	if (pthread_create(&writer, NULL, writer_main, NULL)) {
		pr_err("cannot start the image writer thread\n");
		return -1;
	}
	writer_running = true;
	find_zero_pfn();
	return 0;
}

void mem_dump_fini(void)
{
	if (writer_running) {
		pthread_mutex_lock(&ring_lock);
		ring_stop = true;
		pthread_cond_broadcast(&ring_cond);
		pthread_mutex_unlock(&ring_lock);
		pthread_join(writer, NULL);
		writer_running = false;
	}
	if (copy_area)
		munmap(copy_area, NR_COPY_BUFS * COPY_BUF_SIZE);
	copy_area = NULL;
	free(pm_buf);
	pm_buf = NULL;
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
		else if (!strcmp(tok, "nr"))
			v->e.flags |= MAP_NORESERVE;
		else if (!strcmp(tok, "mw"))
			v->maywrite = true;
		for (i = 0; i < ARRAY_SIZE(vmflag_madvs); i++)
			if (!strcmp(tok, vmflag_madvs[i].name))
				v->e.madv |= 1ULL << vmflag_madvs[i].advice;
	}
	v->e.has_madv = v->e.madv != 0;
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
		v->e.status = VMA_AREA_VSYSCALL;
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
	if (!strcmp(n, "[heap]") || !strcmp(n, "[stack]")) {
		v->e.status |= VMA_ANON_PRIVATE | (n[1] == 'h' ? VMA_AREA_HEAP : VMA_AREA_STACK);
		v->e.flags |= MAP_ANONYMOUS;
		return 0;
	}
	if (n[0] == '[') {
		if (!strncmp(n, "[anon:", 6)) {
			v->e.flags |= MAP_ANONYMOUS;
			v->e.status |= shared ? VMA_ANON_SHARED : VMA_ANON_PRIVATE;
			pr_warn("pid %d: VMA %llx-%llx is named %s; the name is not kept\n", pid,
				(unsigned long long)v->e.start, (unsigned long long)v->e.end, n);
			return 0;
		}
		pr_err("unsupported: pid %d VMA %llx-%llx is %s\n", pid,
		       (unsigned long long)v->e.start, (unsigned long long)v->e.end, n);
		return -1;
	}
	if (!strncmp(n, "/SYSV", 5) && v->deleted) {
		/* the inode number of a segment's file is its id */
		v->e.status |= VMA_AREA_SYSVIPC;
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

int collect_vmas(pid_t pid, struct vm_area_list *vl)
{
	char path[64], *buf, *line, *save;
	struct vma_area *cur = NULL;
	int ret = -1;

	INIT_LIST_HEAD(&vl->h);
	vl->nr = 0;
	vl->nr_priv_pages = 0;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	if (read_file(path, &buf) < 0) {
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

/* ---- page contents ---- */

struct page_batch {
	struct iovec riov[MAX_IOVS];
	bool readable[MAX_IOVS];
	int nr;
	size_t bytes;
	pid_t pid;
	int mem_fd;
	struct cr_img *pages;
};

static int read_batch(struct page_batch *b, u8 *buf)
{
	struct iovec liov = { buf, b->bytes };
	bool all_readable = true;
	u8 *dst = buf;
	ssize_t n;
	int i;

	for (i = 0; i < b->nr; i++)
		all_readable &= b->readable[i];
	if (all_readable) {
		n = process_vm_readv(b->pid, &liov, 1, b->riov, b->nr, 0);
		if (n == (ssize_t)b->bytes)
			return 0;
		pr_debug("pid %d: process_vm_readv gave %zd of %zu bytes; using /proc/PID/mem\n",
			 b->pid, n, b->bytes);
	}
	/* not readable through the page tables' permissions: FOLL_FORCE path */
	for (i = 0; i < b->nr; i++) {
		n = pread_all(b->mem_fd, dst, b->riov[i].iov_len, (off_t)(unsigned long)b->riov[i].iov_base);
		if (n != (ssize_t)b->riov[i].iov_len) {
			if (n >= 0)
				pr_err("pid %d exited during the dump (%zd of %zu bytes at %p read)\n",
				       b->pid, n, b->riov[i].iov_len, b->riov[i].iov_base);
			else
				pr_perror("cannot read %zu bytes at %p of pid %d",
					  b->riov[i].iov_len, b->riov[i].iov_base, b->pid);
			return -1;
		}
		dst += n;
	}
	return 0;
}

static int flush_batch(struct page_batch *b)
{
	struct copy_slot *sl;
	u64 t0;

	if (!b->nr)
		return 0;
	if (dump_step("pages"))
		return -1;
	sl = ring_get();
	t0 = now_us();
	if (read_batch(b, sl->data))
		return -1;
	dstats.memdump_us += now_us() - t0;
	/* the writer thread writes it while we read the next batch */
	ring_put(sl, b->pages, b->bytes);
	dstats.pages_written += b->bytes / PAGE_SIZE;
	b->nr = 0;
	b->bytes = 0;
	return 0;
}

/* Queue pages [addr, addr + len) for copying; splits at the buffer size. */
static int batch_add(struct page_batch *b, u64 addr, u64 len, bool readable)
{
	while (len) {
		size_t room = COPY_BUF_SIZE - b->bytes;
		size_t chunk = min(len, room);

		if (b->nr && b->riov[b->nr - 1].iov_base + b->riov[b->nr - 1].iov_len ==
		    (void *)(unsigned long)addr && b->readable[b->nr - 1] == readable) {
			b->riov[b->nr - 1].iov_len += chunk;
		} else {
			b->riov[b->nr].iov_base = (void *)(unsigned long)addr;
			b->riov[b->nr].iov_len = chunk;
			b->readable[b->nr] = readable;
			b->nr++;
		}
		b->bytes += chunk;
		addr += chunk;
		len -= chunk;
		if (b->bytes == COPY_BUF_SIZE || b->nr == MAX_IOVS) {
			if (flush_batch(b))
				return -1;
		}
	}
	return 0;
}

static bool page_wanted(const VmaEntry *e, u64 pm)
{
	if (pm & PM_GUARD)
		return false;
	if (pm & PM_SWAP)
		return true;
	if (!(pm & PM_PRESENT))
		return false;
	if (e->status & VMA_FILE_PRIVATE)
		return !(pm & PM_FILE);	/* only pages copied on write */
	if (zero_pfn && (pm & PM_PFN_MASK) == zero_pfn)
		return false;
	return true;
}

static int write_run_flags(struct cr_img *pm_img, u64 addr, u64 nr_pages, u32 flags)
{
	PagemapEntry pe = PAGEMAP_ENTRY__INIT;

	while (nr_pages) {
		u64 n = min(nr_pages, (u64)UINT32_MAX);

		pe.vaddr = addr;
		pe.nr_pages = n;
		pe.has_nr_pages_u64 = true;
		pe.nr_pages_u64 = n;
		pe.has_flags = true;
		pe.flags = flags;
		if (pb_write(pm_img, &pe))
			return -1;
		addr += n * PAGE_SIZE;
		nr_pages -= n;
	}
	return 0;
}

static int write_run(struct cr_img *pm_img, u64 addr, u64 nr_pages)
{
	return write_run_flags(pm_img, addr, nr_pages, PE_PRESENT);
}

static int dump_vma_pages(struct page_batch *b, int pm_fd, struct cr_img *pm_img,
			  const VmaEntry *e)
{
	bool readable = e->prot & PROT_READ;
	u64 addr = e->start, run_start = 0, run_len = 0, guard_start = 0, guard_len = 0;

	while (addr < e->end) {
		u64 nr = min((e->end - addr) / PAGE_SIZE, PAGEMAP_CHUNK), i;
		ssize_t n = pread_all(pm_fd, pm_buf, nr * 8, (addr / PAGE_SIZE) * 8);

		if (n != (ssize_t)(nr * 8)) {
			if (n >= 0)	/* the mm is gone: pagemap reads end early */
				pr_err("pid %d exited during the dump (its pagemap ends at %llx)\n",
				       b->pid, (unsigned long long)addr);
			else
				pr_perror("cannot read the pagemap of pid %d at %llx", b->pid,
					  (unsigned long long)addr);
			return -1;
		}
		dstats.pages_scanned += nr;
		for (i = 0; i < nr; i++, addr += PAGE_SIZE) {
			/* guard pages (MADV_GUARD_INSTALL) are entries of their own */
			if (pm_buf[i] & PM_GUARD) {
				if (!guard_len)
					guard_start = addr;
				guard_len++;
			} else if (guard_len) {
				if (write_run_flags(pm_img, guard_start, guard_len, PE_GUARD))
					return -1;
				guard_len = 0;
			}
			if (page_wanted(e, pm_buf[i])) {
				if (!run_len)
					run_start = addr;
				run_len++;
				continue;
			}
			if (run_len && (write_run(pm_img, run_start, run_len) ||
					batch_add(b, run_start, run_len * PAGE_SIZE, readable)))
				return -1;
			run_len = 0;
		}
	}
	if (guard_len && write_run_flags(pm_img, guard_start, guard_len, PE_GUARD))
		return -1;
	if (run_len && (write_run(pm_img, run_start, run_len) ||
			batch_add(b, run_start, run_len * PAGE_SIZE, readable)))
		return -1;
	return 0;
}

int dump_private_pages(struct pstree_item *it, struct vm_area_list *vl)
{
	PagemapHead ph = PAGEMAP_HEAD__INIT;
	struct page_batch *b;
	struct cr_img *pm_img = NULL;
	struct vma_area *v;
	char path[64];
	int pm_fd = -1, ret = -1;

	b = xzalloc(sizeof(*b));
	if (!b)
		return -1;
	b->pid = it->pid;
	b->mem_fd = -1;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", it->pid);
	pm_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (pm_fd < 0) {
		pr_perror("cannot open %s", path);
		goto out;
	}
	snprintf(path, sizeof(path), "/proc/%d/mem", it->pid);
	b->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (b->mem_fd < 0) {
		pr_perror("cannot open %s", path);
		goto out;
	}

	ph.pages_id = next_pages_id++;
	pm_img = open_image(CR_FD_PAGEMAP, O_DUMP, (unsigned long)it->vpid);
	if (!pm_img || pb_write(pm_img, &ph))
		goto out;
	b->pages = open_image(CR_FD_PAGES, O_DUMP, (unsigned long)ph.pages_id);
	if (!b->pages)
		goto out;

	list_for_each_entry(v, &vl->h, list) {
		if (!vma_is_priv(&v->e))
			continue;
		if (dump_vma_pages(b, pm_fd, pm_img, &v->e))
			goto out;
	}
	if (flush_batch(b))
		goto out;
	ret = 0;
out:
	/* the writer must be done with this image before it is closed */
	if (ring_drain()) {
		pr_perror("cannot write pages-%u.img", ph.pages_id);
		ret = -1;
	}
	if (b->pages && close_image(b->pages))
		ret = -1;
	if (pm_img && close_image(pm_img))
		ret = -1;
	close_safe(&pm_fd);
	close_safe(&b->mem_fd);
	free(b);
	return ret;
}

/*
 * The images of one shared memory object: its pagemap and its pages.
 * They are written here, with copy_buf, so the ring must be idle.
 */
static int open_shmem_images(u64 shmid, struct cr_img **pm_img, struct cr_img **pages)
{
	PagemapHead ph = PAGEMAP_HEAD__INIT;

	*pm_img = *pages = NULL;
	if (ring_drain())
		return -1;
	ph.pages_id = next_pages_id++;
	*pm_img = open_image(CR_FD_SHMEM_PAGEMAP, O_DUMP, (unsigned long)shmid);
	if (!*pm_img || pb_write(*pm_img, &ph))
		return -1;
	*pages = open_image(CR_FD_PAGES, O_DUMP, (unsigned long)ph.pages_id);
	return *pages ? 0 : -1;
}

static int close_shmem_images(struct cr_img *pm_img, struct cr_img *pages, int ret)
{
	if (pages && close_image(pages))
		ret = -1;
	if (pm_img && close_image(pm_img))
		ret = -1;
	return ret;
}

/* Shared memory: the pages present in the shmem file, found by SEEK_DATA. */
int dump_shmem_file(int fd, u64 shmid, u64 size)
{
	struct cr_img *pm_img, *pages;
	off_t off = 0;
	int ret = -1;

	if (open_shmem_images(shmid, &pm_img, &pages))
		goto out;

	size = PAGE_ALIGN(size);
	while ((u64)off < size) {
		off_t data = lseek(fd, off, SEEK_DATA), hole;

		if (data < 0) {
			if (errno == ENXIO)
				break;
			pr_perror("cannot find data in shmem %llu", (unsigned long long)shmid);
			goto out;
		}
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0) {
			pr_perror("cannot find holes in shmem %llu", (unsigned long long)shmid);
			goto out;
		}
		data &= PAGE_MASK;
		hole = min((u64)PAGE_ALIGN(hole), size);
		dstats.shpages_scanned += (hole - data) / PAGE_SIZE;
		if (write_run(pm_img, data, (hole - data) / PAGE_SIZE))
			goto out;
		for (off = data; off < hole;) {
			size_t chunk = min((size_t)(hole - off), COPY_BUF_SIZE);
			ssize_t n = pread_all(fd, copy_buf, chunk, off);

			if (n < 0) {
				pr_perror("cannot read shmem %llu at %lld", (unsigned long long)shmid,
					  (long long)off);
				goto out;
			}
			/* a file shorter than the mapping reads as zeros */
			memset(copy_buf + n, 0, chunk - n);
			if (img_write_raw(pages, copy_buf, chunk))
				goto out;
			dstats.shpages_written += chunk / PAGE_SIZE;
			off += chunk;
		}
	}
	ret = 0;
out:
	return close_shmem_images(pm_img, pages, ret);
}

/*
 * Without map_files, the shared memory is read through the mapping: all
 * of it, since pages other processes wrote need not be in our page
 * tables; the pages that are all zeros are left out of the image.
 */
static int dump_shmem_through_mapping(pid_t pid, u64 start, u64 end, u64 pgoff, u64 shmid)
{
	struct cr_img *pm_img, *pages;
	char path[64];
	int fd, ret = -1;
	u64 off;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("cannot open %s", path);
		return -1;
	}
	if (open_shmem_images(shmid, &pm_img, &pages))
		goto out;
	for (off = 0; off < end - start; off += COPY_BUF_SIZE) {
		size_t chunk = min(end - start - off, (u64)COPY_BUF_SIZE), i;

		ssize_t n = pread_all(fd, copy_buf, chunk, start + off);

		if (n != (ssize_t)chunk) {
			if (n >= 0)
				pr_err("pid %d exited during the dump (its shared memory at %llx "
				       "reads short)\n", pid, (unsigned long long)(start + off));
			else
				pr_perror("cannot read shared memory at %llx in pid %d",
					  (unsigned long long)(start + off), pid);
			goto out;
		}
		for (i = 0; i < chunk; i += PAGE_SIZE) {
			static const u8 zero[PAGE_SIZE];

			dstats.shpages_scanned++;
			if (!memcmp(copy_buf + i, zero, PAGE_SIZE))
				continue;
			if (write_run(pm_img, pgoff + off + i, 1) ||
			    img_write_raw(pages, copy_buf + i, PAGE_SIZE))
				goto out;
			dstats.shpages_written++;
		}
	}
	ret = 0;
out:
	close(fd);
	return close_shmem_images(pm_img, pages, ret);
}

/* shared memory ids by hash: a tree may map tens of thousands of them */
#define SHMID_BUCKETS 4096

static unsigned int shmid_hash(u64 shmid)
{
	return (unsigned int)((shmid * 0x9e3779b97f4a7c15ULL) >> 52) % SHMID_BUCKETS;
}

struct shmem_seen {
	struct shmem_seen *next;
	u64 shmid;
	/* read through one mapping only: the object's range it covered */
	bool partial;
	u64 pgoff, len;
};
static struct shmem_seen *shmem_seen[SHMID_BUCKETS];

/*
 * An object already dumped.  One read through a mapping holds only that
 * mapping's range: another mapping reaching past it would come back as
 * zeros, so it is refused.
 */
static int shmem_dumped(struct shmem_seen *s, pid_t pid, u64 start, u64 end, u64 pgoff)
{
	if (!s->partial || (pgoff >= s->pgoff && pgoff + (end - start) <= s->pgoff + s->len))
		return 0;
	pr_err("unsupported: pid %d maps shared memory %llu at %llx-%llx (offset %llx), "
	       "beyond the part criu could read through another mapping of it "
	       "(/proc/PID/map_files needs CAP_CHECKPOINT_RESTORE in the initial user namespace)\n",
	       pid, (unsigned long long)s->shmid, (unsigned long long)start,
	       (unsigned long long)end, (unsigned long long)pgoff);
	return -1;
}

/* Shared anonymous memory: dump its contents once, whoever maps it. */
int dump_shared_anon(pid_t pid, u64 start, u64 end, u64 pgoff, u64 shmid)
{
	unsigned int h = shmid_hash(shmid);
	struct shmem_seen *s;
	struct stat st;
	char path[96];
	int fd, ret;

	for (s = shmem_seen[h]; s; s = s->next)
		if (s->shmid == shmid)
			return shmem_dumped(s, pid, start, end, pgoff);
	s = xzalloc(sizeof(*s));
	if (!s)
		return -1;
	s->shmid = shmid;
	s->next = shmem_seen[h];
	shmem_seen[h] = s;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", pid,
		 (unsigned long long)start, (unsigned long long)end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != EPERM && errno != EACCES) {
			pr_perror("cannot open shared memory through %s", path);
			return -1;
		}
		s->partial = true;
		s->pgoff = pgoff;
		s->len = end - start;
		return dump_shmem_through_mapping(pid, start, end, pgoff, shmid);
	}
	/* the whole object, also what other mappings of it reach */
	if (fstat(fd, &st)) {
		pr_perror("cannot stat shared memory %llu", (unsigned long long)shmid);
		close(fd);
		return -1;
	}
	ret = dump_shmem_file(fd, shmid, max((u64)st.st_size, pgoff + end - start));
	close(fd);
	return ret;
}

/* ---- restore ---- */

#include "files.h"
#include "restore.h"
#include "restorer-blob.h"
#include "shared.h"

#define GAP_SEARCH_START	(1ULL << 32)
#define TARGET_PAD		(2ULL << 20)	/* keep clear of stack guard gaps */

struct interval {
	u64 start, end;
};

struct shmem_obj {
	struct list_head list;
	struct shmem_obj *hnext;
	u64 shmid;
	u64 addr, size;
};
static LIST_HEAD(shmem_objs);
static struct shmem_obj *shmem_by_id[SHMID_BUCKETS];

void *bump_alloc(struct bump *b, size_t size, size_t align)
{
	size_t off = (b->off + align - 1) & ~(align - 1);

	if (off + size > b->cap) {
		pr_err("restorer arguments overflow: %zu + %zu > %zu bytes\n", off, size, b->cap);
		return NULL;
	}
	b->off = off + size;
	return b->base + off;
}

static int cmp_interval(const void *a, const void *b)
{
	const struct interval *x = a, *y = b;

	return (x->start > y->start) - (x->start < y->start);
}

/* Our own mappings and the target's, sorted; the caller frees them. */
static int busy_intervals(struct pstree_item *it, struct interval **out, int *nr)
{
	MmEntry *mm = rst_of(it)->mm;
	struct interval *iv;
	char *buf, *line, *save;
	int n = 0, cap;
	size_t i;

	if (read_file("/proc/self/maps", &buf) < 0) {
		pr_perror("cannot read /proc/self/maps");
		return -1;
	}
	/* one interval per line of our maps, one per target VMA */
	cap = mm->n_vmas + 1;
	for (line = buf; (line = strchr(line, '\n')); line++)
		cap++;
	iv = xmalloc(cap * sizeof(*iv));
	if (!iv) {
		free(buf);
		return -1;
	}
	for (line = strtok_r(buf, "\n", &save); line && n < cap;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned long long s, e;

		if (sscanf(line, "%llx-%llx", &s, &e) == 2)
			iv[n++] = (struct interval){ s, e };
	}
	free(buf);
	for (i = 0; i < mm->n_vmas; i++) {
		VmaEntry *v = mm->vmas[i];

		iv[n++] = (struct interval){ v->start > TARGET_PAD ? v->start - TARGET_PAD : 0,
					     v->end + TARGET_PAD };
	}
	qsort(iv, n, sizeof(*iv), cmp_interval);
	*out = iv;
	*nr = n;
	return 0;
}

/* The lowest range of len bytes above GAP_SEARCH_START used by nobody. */
static int find_gap(struct pstree_item *it, u64 len, u64 *addr)
{
	struct interval *iv;
	u64 pos = GAP_SEARCH_START;
	int n, i;

	if (busy_intervals(it, &iv, &n))
		return -1;
	for (i = 0; i < n; i++) {
		if (iv[i].end <= pos)
			continue;
		if (iv[i].start >= pos + len)
			break;
		pos = PAGE_ALIGN(iv[i].end);
	}
	free(iv);
	if (pos + len > RST_TASK_SIZE) {
		pr_err("pid %d: no free %llu bytes in both address spaces\n", it->vpid,
		       (unsigned long long)len);
		return -1;
	}
	*addr = pos;
	return 0;
}

static bool vma_is_vdso(const VmaEntry *v)
{
	return v->status & (VMA_AREA_VDSO | VMA_AREA_VVAR);
}

static u64 vdso_span(MmEntry *mm)
{
	u64 s = 0, e = 0;
	size_t i;

	for (i = 0; i < mm->n_vmas; i++)
		if (vma_is_vdso(mm->vmas[i])) {
			if (!s)
				s = mm->vmas[i]->start;
			e = mm->vmas[i]->end;
		}
	return e - s;
}

int map_bootstrap(struct pstree_item *it, size_t args_size, struct rst_mem *m)
{
	size_t blob_len = PAGE_ALIGN(restorer_blob_size);
	/* its vm children run on stacks here too */
	size_t stacks = (size_t)vm_threads(it) * RST_THREAD_STACK;
	u64 park = PAGE_ALIGN(vdso_span(rst_of(it)->mm)) + 8 * PAGE_SIZE;
	void *p;

	args_size = PAGE_ALIGN(args_size);
	m->bootstrap_len = blob_len + args_size + stacks + park;
	if (find_gap(it, m->bootstrap_len, &m->bootstrap))
		return -1;
	p = mmap((void *)m->bootstrap, m->bootstrap_len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != (void *)m->bootstrap) {
		pr_perror("cannot map the bootstrap area at %llx", (unsigned long long)m->bootstrap);
		return -1;
	}
	m->blob = m->bootstrap;
	memcpy(p, restorer_blob, restorer_blob_size);
	if (mprotect(p, blob_len, PROT_READ | PROT_EXEC)) {
		pr_perror("cannot make the restorer executable");
		return -1;
	}
	m->args.base = (u8 *)p + blob_len;
	m->args.off = 0;
	m->args.cap = args_size;
	m->stacks = m->bootstrap + blob_len + args_size;
	m->park = m->stacks + stacks;
	pr_debug("pid %d: bootstrap area %llx-%llx (blob %zu bytes, args %zu)\n", it->vpid,
		 (unsigned long long)m->bootstrap,
		 (unsigned long long)(m->bootstrap + m->bootstrap_len), restorer_blob_size,
		 args_size);
	return 0;
}

/* ---- private memory: premap, fill from the pages image ---- */

struct premap_plan {
	VmaEntry *v;
	u64 slot;		/* 0: not premapped */
};

static bool vma_has_pages(struct task_restore *tr, const VmaEntry *v, size_t *pi)
{
	/* pagemap entries are sorted like the VMAs: advance a shared cursor */
	while (*pi < tr->nr_pmes && tr->pmes[*pi]->vaddr +
	       (u64)tr->pmes[*pi]->nr_pages * PAGE_SIZE <= v->start)
		(*pi)++;
	return *pi < tr->nr_pmes && tr->pmes[*pi]->vaddr < v->end;
}

static bool wants_premap(struct task_restore *tr, const VmaEntry *v, size_t *pi)
{
	if (vma_is_vdso(v) || (v->status & VMA_AREA_VSYSCALL))
		return false;
	if (v->status & (VMA_ANON_SHARED | VMA_AREA_SYSVIPC))
		return true;
	if (v->status & (VMA_ANON_PRIVATE | VMA_FILE_PRIVATE))
		return vma_has_pages(tr, v, pi);
	return false;
}

static struct shmem_obj *find_shmem(u64 shmid)
{
	struct shmem_obj *s;

	for (s = shmem_by_id[shmid_hash(shmid)]; s; s = s->hnext)
		if (s->shmid == shmid)
			return s;
	return NULL;
}

static int premap_one(struct pstree_item *it, VmaEntry *v, u64 slot)
{
	u64 len = v->end - v->start;
	int grow = v->flags & MAP_GROWSDOWN;
	void *p;

	if (v->status & VMA_AREA_SYSVIPC)
		return premap_sysv_shm(it->vpid, (int)v->shmid, v->pgoff, len,
				       v->has_fdflags && (v->fdflags & O_ACCMODE) == O_RDONLY, slot);
	if (v->status & VMA_ANON_SHARED) {
		struct shmem_obj *s = find_shmem(v->shmid);

		/* a second mapping of criu's shared object (old size 0) */
		if (!s || v->pgoff + len > s->size) {
			pr_err("pid %d: shared memory %llu is missing\n", it->vpid,
			       (unsigned long long)v->shmid);
			return -1;
		}
		p = mremap((void *)(s->addr + v->pgoff), 0, len, MREMAP_MAYMOVE | MREMAP_FIXED,
			   (void *)slot);
	} else if (v->status & VMA_FILE_PRIVATE) {
		int fd = anchor_fd(v->shmid);

		p = mmap((void *)slot, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd,
			 v->pgoff);
	} else {
		p = mmap((void *)slot, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | grow, -1, 0);
	}
	if (p != (void *)slot) {
		pr_perror("pid %d: cannot premap VMA %llx-%llx", it->vpid,
			  (unsigned long long)v->start, (unsigned long long)v->end);
		return -1;
	}
	return 0;
}

static int open_pages(struct task_restore *tr)
{
	struct cr_img *img = open_image(CR_FD_PAGES, O_RSTR, (unsigned long)tr->pages_id);
	int fd;

	if (!img)
		return -1;
	fd = dup(img_raw_fd(img));
	close_image(img);
	if (fd < 0)
		pr_perror("cannot dup the pages image fd");
	return move_to_svc(fd);
}

/* Read every dumped page into its premapped place, many runs per call. */
static int fill_pages(struct pstree_item *it, struct premap_plan *plan, size_t nr)
{
	struct task_restore *tr = rst_of(it);
	struct iovec iov[MAX_IOVS];
	size_t pi, vi = 0, niov = 0, batch = 0;
	off_t off = 0, batch_off = 0;
	int fd, ret = -1;

	if (!tr->nr_pmes)
		return 0;
	fd = open_pages(tr);
	if (fd < 0)
		return -1;
	for (pi = 0; pi < tr->nr_pmes; pi++) {
		PagemapEntry *pe = tr->pmes[pi];
		u64 len = (u64)pe->nr_pages * PAGE_SIZE;

		while (vi < nr && plan[vi].v->end <= pe->vaddr)
			vi++;
		if (vi == nr || !plan[vi].slot || pe->vaddr < plan[vi].v->start ||
		    pe->vaddr + len > plan[vi].v->end) {
			pr_err("pagemap-%d.img: pages at %llx (%u) are outside every private VMA\n",
			       it->vpid, (unsigned long long)pe->vaddr, pe->nr_pages);
			goto out;
		}
		iov[niov].iov_base = (void *)(plan[vi].slot + pe->vaddr - plan[vi].v->start);
		iov[niov].iov_len = len;
		niov++;
		batch += len;
		off += len;
		if (niov == MAX_IOVS || pi + 1 == tr->nr_pmes) {
			ssize_t n = preadv(fd, iov, niov, batch_off);

			if (n != (ssize_t)batch) {
				if (n < 0)
					pr_perror("cannot read pages-%u.img at %lld", tr->pages_id,
						  (long long)batch_off);
				else
					pr_err("pages-%u.img: truncated at %lld: expected %zu bytes, got %zd\n",
					       tr->pages_id, (long long)batch_off, batch, n);
				goto out;
			}
			batch_off = off;
			batch = 0;
			niov = 0;
		}
	}
	ret = 0;
out:
	close(fd);
	return ret;
}

static int fill_rst_vma(struct pstree_item *it, struct rst_vma *rv, VmaEntry *v, u64 slot)
{
	rv->start = v->start;
	rv->end = v->end;
	rv->pgoff = v->pgoff;
	rv->prot = v->prot;
	rv->flags = v->flags;
	rv->madv = v->has_madv ? v->madv : 0;
	rv->premap = slot;
	rv->fd = -1;
	if (slot)
		rv->rst_flags |= RST_VMA_PREMAPPED;
	if (vma_is_vdso(v))
		rv->rst_flags |= RST_VMA_VDSO;
	if (!slot && (v->status & (VMA_FILE_PRIVATE | VMA_FILE_SHARED))) {
		rv->fd = anchor_fd(v->shmid);
		if (rv->fd < 0) {
			pr_err("pid %d: the file of VMA %llx is not open\n", it->vpid,
			       (unsigned long long)v->start);
			return -1;
		}
	}
	return 0;
}

/* Where the kernel put our own vDSO set, and where the image wants it. */
static int plan_vdso(struct pstree_item *it, struct rst_args *a, struct rst_mem *m)
{
	MmEntry *mm = rst_of(it)->mm;
	char *buf, *line, *save;
	u64 img_first = 0;
	u32 n_img = 0;
	size_t i;

	if (read_file("/proc/self/maps", &buf) < 0) {
		pr_perror("cannot read /proc/self/maps");
		return -1;
	}
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long s, e;
		char name[32] = "";

		if (sscanf(line, "%llx-%llx %*s %*s %*s %*s %31s", &s, &e, name) < 2)
			continue;
		if (strcmp(name, "[vvar]") && strcmp(name, "[vvar_vclock]") && strcmp(name, "[vdso]"))
			continue;
		if (a->nr_cur_vdso == ARRAY_SIZE(a->cur_vdso))
			break;
		if (!a->nr_cur_vdso)
			a->cur_vdso_start = s;
		a->cur_vdso_end = e;
		a->cur_vdso[a->nr_cur_vdso].start = s;
		a->cur_vdso[a->nr_cur_vdso++].end = e;
	}
	free(buf);

	for (i = 0; i < mm->n_vmas; i++) {
		VmaEntry *v = mm->vmas[i];

		if (!vma_is_vdso(v))
			continue;
		if (!n_img)
			img_first = v->start;
		if (n_img >= a->nr_cur_vdso ||
		    v->end - v->start != a->cur_vdso[n_img].end - a->cur_vdso[n_img].start ||
		    v->start - img_first != a->cur_vdso[n_img].start - a->cur_vdso_start) {
			pr_err("pid %d: the dumped vDSO layout differs from this kernel's\n",
			       it->vpid);
			return -1;
		}
		n_img++;
	}
	if (n_img && n_img != a->nr_cur_vdso) {
		pr_err("pid %d: the image has %u vDSO mappings, this kernel %u\n", it->vpid, n_img,
		       a->nr_cur_vdso);
		return -1;
	}
	a->has_vdso = n_img > 0;
	a->vdso_delta = n_img ? (int64_t)(img_first - a->cur_vdso_start) : 0;
	a->vdso_park = m->park;
	return 0;
}

int prepare_vmas(struct pstree_item *it, struct rst_mem *m, struct rst_args *a)
{
	struct task_restore *tr = rst_of(it);
	MmEntry *mm = tr->mm;
	struct premap_plan *plan;
	struct rst_vma *rv;
	size_t i, pi = 0, n = 0;
	u64 pos;
	int ret = -1;
	void *p;

	plan = xzalloc(sizeof(*plan) * (mm->n_vmas + 1));
	rv = bump_alloc(&m->args, sizeof(*rv) * (mm->n_vmas + 1), 8);
	if (!plan || !rv)
		goto out;

	m->premap_len = 0;
	for (i = 0; i < mm->n_vmas; i++) {
		VmaEntry *v = mm->vmas[i];

		if (i && v->start < mm->vmas[i - 1]->end) {
			pr_err("mm-%d.img: VMA %llx-%llx overlaps the one before it\n", it->vpid,
			       (unsigned long long)v->start, (unsigned long long)v->end);
			goto out;
		}
		if (v->end <= v->start || (v->start | v->end) & ~PAGE_MASK ||
		    v->end > RST_TASK_SIZE) {
			pr_err("mm-%d.img: bad VMA %llx-%llx\n", it->vpid,
			       (unsigned long long)v->start, (unsigned long long)v->end);
			goto out;
		}
		plan[i].v = v;
		if (wants_premap(tr, v, &pi)) {
			plan[i].slot = 1;	/* placed below */
			/* a free page between slots keeps them from merging */
			m->premap_len += v->end - v->start + PAGE_SIZE;
		}
	}

	if (m->premap_len) {
		if (find_gap(it, m->premap_len, &m->premap))
			goto out;
		p = mmap((void *)m->premap, m->premap_len, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
		if (p != (void *)m->premap) {
			pr_perror("cannot reserve %llu bytes for premapping",
				  (unsigned long long)m->premap_len);
			goto out;
		}
	}
	pos = m->premap;
	for (i = 0; i < mm->n_vmas; i++) {
		if (!plan[i].slot)
			continue;
		plan[i].slot = pos;
		if (premap_one(it, plan[i].v, pos))
			goto out;
		pos += plan[i].v->end - plan[i].v->start + PAGE_SIZE;
	}
	if (fill_pages(it, plan, mm->n_vmas))
		goto out;

	for (i = 0; i < mm->n_vmas; i++) {
		VmaEntry *v = plan[i].v;

		if (plan[i].slot && mprotect((void *)plan[i].slot, v->end - v->start, v->prot)) {
			pr_perror("cannot protect premapped VMA %llx", (unsigned long long)v->start);
			goto out;
		}
		if (v->status & VMA_AREA_VSYSCALL)
			continue;
		if (fill_rst_vma(it, &rv[n++], v, plan[i].slot))
			goto out;
	}
	a->vmas = (u64)(unsigned long)rv;
	a->nr_vmas = n;
	a->premap_start = m->premap;
	a->premap_end = m->premap + m->premap_len;
	ret = plan_vdso(it, a, m);
out:
	free(plan);
	return ret;
}

/*
 * The page count of an entry read from an image: field 5 when a CRIU 4
 * wrote it, else field 2.  Runs longer than 2^32 pages are not ours.
 */
int pagemap_entry_count(PagemapEntry *pe, const char *img)
{
	if (!pe->has_nr_pages_u64)
		return 0;
	if (pe->nr_pages_u64 > UINT32_MAX) {
		pr_err("%s: a run of %llu pages at %llx is longer than we handle\n", img,
		       (unsigned long long)pe->nr_pages_u64, (unsigned long long)pe->vaddr);
		return -1;
	}
	pe->nr_pages = pe->nr_pages_u64;
	return 0;
}

/* ---- shared memory ---- */

int fill_shmem(u64 shmid, void *base, u64 size)
{
	struct cr_img *pm, *pages = NULL;
	PagemapHead *ph = NULL;
	off_t off = 0;
	int ret = -1;

	pm = open_image(CR_FD_SHMEM_PAGEMAP, O_RSTR | O_OPT, (unsigned long)shmid);
	if (!pm)
		return -1;
	if (empty_image(pm)) {
		close_image(pm);
		return 0;	/* never written to */
	}
	if (pb_read_one(pm, (void **)&ph, &pagemap_head__descriptor) < 0)
		goto out;
	pages = open_image(CR_FD_PAGES, O_RSTR, (unsigned long)ph->pages_id);
	if (!pages)
		goto out;
	for (;;) {
		PagemapEntry *pe;
		u64 len;
		int r = pb_read_one_eof(pm, (void **)&pe, &pagemap_entry__descriptor);

		if (r < 0)
			goto out;
		if (r == 0)
			break;
		if (pagemap_entry_count(pe, pm->name)) {
			pb_free(pe);
			goto out;
		}
		len = (u64)pe->nr_pages * PAGE_SIZE;
		if (pe->vaddr + len > PAGE_ALIGN(size) || pe->vaddr + len < pe->vaddr) {
			pr_err("%s: pages at offset %llu run past the %llu bytes of the object\n",
			       pm->name, (unsigned long long)pe->vaddr, (unsigned long long)size);
			pb_free(pe);
			goto out;
		}
		if (pread_all(img_raw_fd(pages), (u8 *)base + pe->vaddr, len, off) != (ssize_t)len) {
			pr_err("%s: cannot read %llu bytes at %lld\n", pages->name,
			       (unsigned long long)len, (long long)off);
			pb_free(pe);
			goto out;
		}
		off += len;
		pb_free(pe);
	}
	ret = 0;
out:
	pb_free(ph);
	close_image(pages);
	close_image(pm);
	return ret;
}

int prepare_shared_memory(void)
{
	struct pstree_item *it;
	struct shmem_obj *s;
	size_t i;

	/* the size of each object: the furthest any task maps it */
	for_each_item(it) {
		MmEntry *mm = rst_of(it)->mm;

		for (i = 0; mm && i < mm->n_vmas; i++) {
			VmaEntry *v = mm->vmas[i];

			if (!(v->status & VMA_ANON_SHARED))
				continue;
			s = find_shmem(v->shmid);
			if (!s) {
				s = xzalloc(sizeof(*s));
				if (!s)
					return -1;
				s->shmid = v->shmid;
				list_add_tail(&s->list, &shmem_objs);
				s->hnext = shmem_by_id[shmid_hash(s->shmid)];
				shmem_by_id[shmid_hash(s->shmid)] = s;
			}
			s->size = max(s->size, v->pgoff + v->end - v->start);
		}
	}
	list_for_each_entry(s, &shmem_objs, list) {
		void *p = mmap(NULL, s->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			       -1, 0);

		if (p == MAP_FAILED) {
			pr_perror("cannot create %llu bytes of shared memory",
				  (unsigned long long)s->size);
			return -1;
		}
		s->addr = (u64)(unsigned long)p;
		if (fill_shmem(s->shmid, p, s->size))
			return -1;
		pr_debug("shared memory %llu: %llu bytes at %p\n", (unsigned long long)s->shmid,
			 (unsigned long long)s->size, p);
	}
	return 0;
}
