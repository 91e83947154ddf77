/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_VMA_H
#define CR_VMA_H

#include <stdbool.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "list.h"
#include "util.h"
#include "vma.pb-c.h"

/* vma_entry.status bits (format facts) */
#define VMA_AREA_REGULAR	(1 << 0)
#define VMA_AREA_STACK		(1 << 1)
#define VMA_AREA_VSYSCALL	(1 << 2)
#define VMA_AREA_VDSO		(1 << 3)
#define VMA_AREA_HEAP		(1 << 5)
#define VMA_FILE_PRIVATE	(1 << 6)
#define VMA_FILE_SHARED		(1 << 7)
#define VMA_ANON_SHARED		(1 << 8)
#define VMA_ANON_PRIVATE	(1 << 9)
#define VMA_AREA_SYSVIPC	(1 << 10)
#define VMA_AREA_SOCKET		(1 << 11)
#define VMA_AREA_VVAR		(1 << 12)
#define VMA_AREA_AIORING	(1 << 13)
#define VMA_AREA_MEMFD		(1 << 14)

/* mmap's map type for VM_DROPPABLE (6.11+; "dp" in VmFlags) */
#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE		0x08
#endif
/* the status bits restore handles; CRIU's others (AIO rings, packet rings...) are refused */
#define VMA_STATUS_KNOWN                                                                     \
	(VMA_AREA_REGULAR | VMA_AREA_STACK | VMA_AREA_VSYSCALL | VMA_AREA_VDSO | VMA_AREA_HEAP | \
	 VMA_FILE_PRIVATE | VMA_FILE_SHARED | VMA_ANON_SHARED | VMA_ANON_PRIVATE |             \
	 VMA_AREA_SYSVIPC | VMA_AREA_VVAR | VMA_AREA_MEMFD)

/* pagemap_entry.flags */
#define PE_PARENT	(1 << 0)
#define PE_LAZY		(1 << 1)
#define PE_PRESENT	(1 << 2)
/* Our extension: guard pages (MADV_GUARD_INSTALL); no data in pages-N. */
#define PE_GUARD	(1 << 7)

struct vma_area {
	struct list_head list;
	VmaEntry e;
	char *name;		/* path or [special]; NULL for plain anon */
	bool deleted;		/* the file was unlinked */
	bool vvar_vclock;	/* [vvar_vclock] rather than [vvar] */
	bool maywrite;		/* VM_MAYWRITE ("mw"): may be made writable */
	u64 dev, ino;		/* of the mapped file */
};

struct vm_area_list {
	struct list_head h;
	int nr;
	u64 nr_priv_pages;	/* pages of private VMAs, mapped or not */
};

static inline u64 vma_len(const struct vma_area *v)
{
	return v->e.end - v->e.start;
}

/* private memory whose pages are dumped ([vsyscall] is not REGULAR) */
static inline bool vma_is_priv(const VmaEntry *e)
{
	return (e->status & VMA_AREA_REGULAR) &&
	       (e->status & (VMA_ANON_PRIVATE | VMA_FILE_PRIVATE)) &&
	       !(e->status & (VMA_AREA_VDSO | VMA_AREA_VVAR));
}

/* CRIU's rule for pages a lazy restore may fetch later: private anonymous memory */
static inline bool vma_can_be_lazy(const VmaEntry *e)
{
	return (e->flags & MAP_ANONYMOUS) && (e->flags & MAP_PRIVATE) && !(e->flags & MAP_LOCKED) &&
	       !(e->status & (VMA_AREA_VDSO | VMA_AREA_VSYSCALL));
}

void free_vmas(struct vm_area_list *vl);

#endif
