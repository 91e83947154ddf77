/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_LAZY_H
#define CR_LAZY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pstree.h"
#include "vma.pb-c.h"
#include "pagemap.pb-c.h"

/* In the work dir (-W, default -D), as CRIU names it. */
#define LAZY_SOCKET	"lazy-pages.socket"

/* userfaultfd ABI that Debian 12's headers lack (include/uapi/linux/userfaultfd.h) */
#define CR_UFFD_USER_MODE_ONLY		1
#define CR_UFFD_FEATURE_POISON		(1ULL << 14)
#define CR_USERFAULTFD_IOC_NEW		_IO(0xAA, 0x00)
struct cr_uffdio_poison {
	uint64_t start, len, mode;
	int64_t updated;
};
#define CR_UFFDIO_POISON		_IOWR(0xAA, 0x08, struct cr_uffdio_poison)

/*
 * restore -> daemon, over the socket: per process a header (the uffd as
 * SCM_RIGHTS), then nr_runs runs; a header with pid 0 ends the list, and
 * the daemon answers with an int32 status (0: it took them all).
 */
struct lazy_hdr {
	int32_t pid;		/* as in the images */
	int32_t host_pid;	/* as criu saw it */
	uint32_t pages_id;	/* pages-N.img holding the runs */
	uint32_t nr_runs;
	uint64_t features;	/* what UFFDIO_API gave */
};

/* Pages [addr, addr + len) not loaded, at off in pages-N.img. */
struct lazy_run {
	uint64_t addr, len, off;
};

/* lazy-rst.c: the restore's side */
bool lazy_piece(struct pstree_item *it, const VmaEntry *v, const PagemapEntry *pe);
/* premap.c: the slot's place for a lazy piece (slot: taken from the parent, else 0) */
int lazy_skip_piece(struct pstree_item *it, uint64_t slot, uint64_t at, uint64_t len);
int lazy_rst_prepare(void);
int lazy_task_uffd(struct pstree_item *it);
int lazy_rst_take(void);
int lazy_rst_handover(void);
void lazy_rst_fini(void);
int lazy_socket_path(char *buf, size_t size);
int lazy_send_fd(int sk, const void *buf, size_t len, int fd);
/* whether a userfaultfd can be made and fed here, and with which features */
bool lazy_pages_works(void);

/* lazy-pages.c: criu lazy-pages */
int cr_lazy_pages(void);

#endif
