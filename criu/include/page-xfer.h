/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_PAGE_XFER_H
#define CR_PAGE_XFER_H

/*
 * CRIU's page-server protocol (Documentation/page-server.md): a stream of
 * fixed-size commands, each followed by the pages it announces.
 */
#include <stdbool.h>
#include <sys/uio.h>

#include "image.h"
#include "util.h"

struct page_server_iov {
	u32 cmd;	/* PS_IOV_*, and for PS_IOV_ADD_F the PE_* flags << 16 */
	u32 nr_pages;
	u64 vaddr;
	u64 dst_id;	/* image id << 8 | PS_TYPE_* */
};

#define PS_IOV_ADD		1
#define PS_IOV_HOLE		2
#define PS_IOV_OPEN		3
#define PS_IOV_OPEN2		4
#define PS_IOV_PARENT		5
#define PS_IOV_ADD_F		6
#define PS_IOV_GET		7
#define PS_IOV_CLOSE		0x1023	/* "FLUSH" in CRIU before 3.x */
#define PS_IOV_FORCE_CLOSE	0x1024	/* "FLUSH_N_CLOSE" */

#define PS_CMD_BITS		16
#define PS_CMD_MASK		((1u << PS_CMD_BITS) - 1)
#define PS_TYPE_BITS		8
#define PS_TYPE_MASK		((1u << PS_TYPE_BITS) - 1)
#define PS_TYPE_PID		1
#define PS_TYPE_SHMEM		2

static inline u64 ps_dst_id(int img_type, unsigned long id)
{
	return (u64)id << PS_TYPE_BITS |
	       (img_type == CR_FD_SHMEM_PAGEMAP ? PS_TYPE_SHMEM : PS_TYPE_PID);
}

static inline u32 ps_cmd_add(u32 flags)
{
	return flags << PS_CMD_BITS | PS_IOV_ADD_F;
}

/* ---- the dumping side (page-xfer.c) ---- */

/* --page-server: pages go over the connection instead of into -D */
bool page_xfer_remote(void);
int page_xfer_connect(void);
/* PS_IOV_OPEN2 of one pagemap image; the connection must be idle */
int page_xfer_open(int img_type, unsigned long id, u64 *dst_id);
/* the commands hdrs[0..n) with their pages taken in order from data */
int page_xfer_send_batch(const struct page_server_iov *hdrs, unsigned int n, const u8 *data);
/* the end of the dump: PS_IOV_CLOSE, and the server's word that all is written */
int page_xfer_finish(void);
void page_xfer_disconnect(void);
/* what to say about a failed send: "the page server at A:P" */
const char *page_xfer_peer(void);

/*
 * One pagemap image and its pages, written locally or sent: for callers
 * that write synchronously (shared memory), with the copy ring idle.
 */
struct pages_out {
	struct cr_img *pm, *pages;	/* local */
	u64 dst_id;			/* remote */
	const char *what;
};
int pages_out_open(struct pages_out *o, int img_type, unsigned long id);
int pages_out_run(struct pages_out *o, u64 addr, u64 nr_pages);
int pages_out_data(struct pages_out *o, const void *buf, size_t len);
int pages_out_close(struct pages_out *o, int ret);

/* ---- the receiving side (page-server.c) ---- */
int cr_page_server(int status_fd);
/* --daemon: fork, the parent writes --pidfile and exits; who names the server */
int cr_daemonize(const char *who);

#endif
