// SPDX-License-Identifier: GPL-2.0
/*
 * Shared memory (MAP_SHARED anonymous mappings, memfds): saved once per
 * object whoever maps it, and at restore created once in criu, before the
 * tree is forked, so every task maps the same object.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "image.h"
#include "mem.h"
#include "mem-internal.h"
#include "page-xfer.h"
#include "pagemap.pb-c.h"
#include "restore.h"
#include "util.h"

#define copy_buf (mem_copy_buf())

/* shared memory ids by hash: a tree may map tens of thousands of them */
#define SHMID_BUCKETS 4096

static unsigned int shmid_hash(u64 shmid)
{
	return (unsigned int)((shmid * 0x9e3779b97f4a7c15ULL) >> 52) % SHMID_BUCKETS;
}

/*
 * The images of one shared memory object, its pagemap and its pages (or
 * the page server's): written here, with copy_buf, so the ring must be idle.
 */
static int open_shmem_images(u64 shmid, struct pages_out *o)
{
	if (mem_ring_drain())
		return -1;
	return pages_out_open(o, CR_FD_SHMEM_PAGEMAP, (unsigned long)shmid);
}

/* Shared memory: the pages present in the shmem file, found by SEEK_DATA. */
int dump_shmem_file(int fd, u64 shmid, u64 size)
{
	struct pages_out o = { 0 };
	off_t off = 0;
	int ret = -1;

	if (open_shmem_images(shmid, &o))
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
		if (pages_out_run(&o, data, (hole - data) / PAGE_SIZE))
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
			if (pages_out_data(&o, copy_buf, chunk))
				goto out;
			dstats.shpages_written += chunk / PAGE_SIZE;
			off += chunk;
		}
	}
	ret = 0;
out:
	return pages_out_close(&o, ret);
}

/*
 * Without map_files, the shared memory is read through the mapping: all
 * of it, since pages other processes wrote need not be in our page
 * tables; the pages that are all zeros are left out of the image.
 */
static int dump_shmem_through_mapping(pid_t pid, u64 start, u64 end, u64 pgoff, u64 shmid)
{
	struct pages_out o = { 0 };
	char path[64];
	int fd, ret = -1;
	u64 off;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("cannot open %s", path);
		return -1;
	}
	if (open_shmem_images(shmid, &o))
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
			if (pages_out_run(&o, pgoff + off + i, 1) ||
			    pages_out_data(&o, copy_buf + i, PAGE_SIZE))
				goto out;
			dstats.shpages_written++;
		}
	}
	ret = 0;
out:
	close(fd);
	return pages_out_close(&o, ret);
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

static LIST_HEAD(shmem_objs);
static struct shmem_obj *shmem_by_id[SHMID_BUCKETS];

struct shmem_obj *find_shmem(u64 shmid)
{
	struct shmem_obj *s;

	for (s = shmem_by_id[shmid_hash(shmid)]; s; s = s->hnext)
		if (s->shmid == shmid)
			return s;
	return NULL;
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

			/* SysV segments (CRIU marks them anonymous shared too) are ipc_ns.c's */
			if (!(v->status & VMA_ANON_SHARED) || (v->status & VMA_AREA_SYSVIPC))
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

