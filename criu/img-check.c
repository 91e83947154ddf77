// SPDX-License-Identifier: GPL-2.0
/*
 * Checks of the image set as a whole, made when everything is read and
 * before anything is created: is the dump complete, and does every
 * pagemap agree with its pages file?  A pages file is raw data located
 * only by the runs of its pagemap, so one run too many or too few shifts
 * every later page; the sizes must agree exactly, and each run must lie
 * in a VMA that gets its pages.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"
#include "pagemap.pb-c.h"
#include "pstree.h"
#include "restore.h"
#include "util.h"
#include "vma.h"

int images_check_complete(const char *dir)
{
	int dfd = get_image_dir_fd();
	bool any = false;
	struct dirent *de;
	DIR *d;

	if (!faccessat(dfd, "inventory.img", F_OK, 0))
		return 0;
	d = opendir(dir);
	while (d && (de = readdir(d))) {
		size_t n = strlen(de->d_name);

		any |= (n > 4 && !strcmp(de->d_name + n - 4, ".img")) ||
		       !strcmp(de->d_name, "inventory.img.part");
	}
	if (d)
		closedir(d);
	if (any)
		pr_err("%s holds an incomplete dump (no inventory.img: the dump did not finish)\n",
		       dir);
	else
		pr_err("%s holds no dump (no inventory.img)\n", dir);
	return -1;
}

/* What the pagemaps claim of one pages file. */
struct pages_claim {
	u32 id;
	u64 pages;
	char first[64];		/* the first pagemap naming it */
	int nr_maps;
};

static struct pages_claim *claims;
static size_t nr_claims;

static int claim(u32 id, u64 pages, const char *who)
{
	struct pages_claim *c;
	size_t i;

	for (i = 0; i < nr_claims; i++)
		if (claims[i].id == id)
			break;
	if (i == nr_claims) {
		c = xrealloc(claims, (nr_claims + 1) * sizeof(*c));
		if (!c)
			return -1;
		claims = c;
		memset(&claims[nr_claims], 0, sizeof(*c));
		claims[nr_claims].id = id;
		snprintf(claims[nr_claims].first, sizeof(claims[0].first), "%s", who);
		nr_claims++;
	}
	claims[i].pages += pages;
	claims[i].nr_maps++;
	return 0;
}

/* The VMA of mm holding addr, or NULL; *hint speeds up sorted walks. */
static VmaEntry *vma_at(MmEntry *mm, u64 addr, size_t *hint)
{
	size_t i, n = mm->n_vmas;

	for (i = 0; i < n; i++) {
		VmaEntry *v = mm->vmas[(*hint + i) % n];

		if (v->start <= addr && addr < v->end) {
			*hint = (*hint + i) % n;
			return v;
		}
	}
	return NULL;
}

/* Every page of [start, end) in VMAs (private ones if data). */
static int run_in_vmas(struct pstree_item *it, PagemapEntry *pe, bool data, size_t *hint)
{
	MmEntry *mm = rst_of(it)->mm;
	u64 addr = pe->vaddr, end = pe->vaddr + (u64)pe->nr_pages * PAGE_SIZE;

	while (addr < end) {
		VmaEntry *v = vma_at(mm, addr, hint);

		/* CRIU saves the vDSO's pages too; restore skips them */
		if (!v || (data && !vma_is_priv(v) && !(v->status & VMA_AREA_VDSO))) {
			pr_err("pagemap-%d.img: the run of %u pages at %llx has page %llx outside "
			       "every %sVMA of mm-%d.img\n", it->vpid, pe->nr_pages,
			       (unsigned long long)pe->vaddr, (unsigned long long)addr,
			       data ? "private " : "", it->vpid);
			return -1;
		}
		addr = v->end;
	}
	return 0;
}

void report_bad_run(const char *img, const PagemapEntry *pe, u64 last_end)
{
	const char *why = "refers to a parent or lazy image (unsupported)";

	if (pe->vaddr & ~PAGE_MASK)
		why = "is not page-aligned";
	else if (!pe->nr_pages)
		why = "is empty";
	else if (pe->vaddr < last_end)
		why = "starts before the run before it ends: runs must be sorted and disjoint";
	pr_err("%s: the run of %u pages at %llx (flags %#x) %s\n", img, pe->nr_pages,
	       (unsigned long long)pe->vaddr, pe->flags, why);
}

static bool has_data(const PagemapEntry *pe)
{
	if (pe->has_in_parent && pe->in_parent)
		return false;
	return !(pe->has_flags && (pe->flags & (PE_PARENT | PE_GUARD)));
}

static int check_task_pagemap(struct pstree_item *it)
{
	struct task_restore *tr = rst_of(it);
	char who[64];
	size_t i, hint = 0;
	u64 pages = 0;

	for (i = 0; i < tr->nr_pmes; i++) {
		if (run_in_vmas(it, tr->pmes[i], true, &hint))
			return -1;
		if (has_data(tr->pmes[i]))
			pages += tr->pmes[i]->nr_pages;
	}
	for (i = 0, hint = 0; i < tr->nr_guards; i++)
		if (run_in_vmas(it, tr->guards[i], false, &hint))
			return -1;
	snprintf(who, sizeof(who), "pagemap-%d.img", it->vpid);
	pr_debug("%s: %zu runs, %llu pages in pages-%u.img\n", who, tr->nr_pmes,
		 (unsigned long long)pages, tr->pages_id);
	return claim(tr->pages_id, pages, who);
}

/* pagemap-shmem-ID.img: offsets into the object, sorted and disjoint. */
static int check_shmem_pagemap(unsigned long id)
{
	struct cr_img *img = open_image(CR_FD_SHMEM_PAGEMAP, O_RSTR, id);
	PagemapHead *ph = NULL;
	u64 last_end = 0, pages = 0;
	int ret = -1;

	if (!img)
		return -1;
	if (pb_read_one(img, (void **)&ph, &pagemap_head__descriptor) < 0)
		goto out;
	for (;;) {
		PagemapEntry *pe;
		int r = pb_read_one_eof(img, (void **)&pe, &pagemap_entry__descriptor);

		if (r <= 0) {
			ret = r;
			break;
		}
		if (pagemap_entry_count(pe, img->name)) {
			pb_free(pe);
			break;
		}
		if (pe->vaddr & ~PAGE_MASK || pe->vaddr < last_end || !pe->nr_pages) {
			pr_err("%s: the run of %u pages at offset %llu is %s\n", img->name,
			       pe->nr_pages, (unsigned long long)pe->vaddr,
			       pe->vaddr < last_end ? "out of order or overlaps the one before"
						    : "not page-aligned or empty");
			pb_free(pe);
			break;
		}
		last_end = pe->vaddr + (u64)pe->nr_pages * PAGE_SIZE;
		if (has_data(pe))
			pages += pe->nr_pages;
		pb_free(pe);
	}
	if (!ret)
		ret = claim(ph->pages_id, pages, img->name);
out:
	pb_free(ph);
	close_image(img);
	return ret;
}

static int check_shmem_pagemaps(void)
{
	struct dirent *de;
	int fd = dup(get_image_dir_fd()), ret = 0;
	DIR *d;

	d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		pr_perror("cannot list the image directory");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	rewinddir(d);
	while (!ret && (de = readdir(d))) {
		unsigned long id;
		int n = 0;

		if (sscanf(de->d_name, "pagemap-shmem-%lu%n", &id, &n) == 1 &&
		    !strcmp(de->d_name + n, ".img"))
			ret = check_shmem_pagemap(id);
	}
	closedir(d);
	return ret;
}

static int check_claim(const struct pages_claim *c)
{
	char name[64], others[32] = "";
	struct stat st;

	snprintf(name, sizeof(name), "pages-%u.img", c->id);
	if (c->nr_maps > 1)
		snprintf(others, sizeof(others), " (with %d more)", c->nr_maps - 1);
	if (fstatat(get_image_dir_fd(), name, &st, 0)) {
		if (errno == ENOENT && !c->pages)
			return 0;
		pr_perror("cannot stat %s, which %s%s needs for %llu pages", name, c->first,
			  others, (unsigned long long)c->pages);
		return -1;
	}
	if (st.st_size % PAGE_SIZE || (u64)st.st_size / PAGE_SIZE != c->pages) {
		pr_err("%s holds %lld bytes (%lld pages%s), but %s%s claims %llu pages: the "
		       "pagemap and the pages do not match\n", name, (long long)st.st_size,
		       (long long)st.st_size / (long long)PAGE_SIZE,
		       st.st_size % PAGE_SIZE ? " and a piece" : "", c->first, others,
		       (unsigned long long)c->pages);
		return -1;
	}
	return 0;
}

int check_page_images(void)
{
	struct pstree_item *it;
	size_t i;
	int ret = -1;

	for_each_item(it)
		if (it->state != TASK_DEAD && check_task_pagemap(it))
			goto out;
	if (check_shmem_pagemaps())
		goto out;
	for (i = 0; i < nr_claims; i++)
		if (check_claim(&claims[i]))
			goto out;
	ret = 0;
out:
	free(claims);
	claims = NULL;
	nr_claims = 0;
	return ret;
}
