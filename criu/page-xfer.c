// SPDX-License-Identifier: GPL-2.0
/*
 * The dumping side of a page server (criu dump --page-server): the pagemap
 * and pages images are not written into -D but sent over TCP, in CRIU's
 * protocol, to `criu page-server` (ours or CRIU's), which writes them.
 * The copy ring's writer thread sends each full buffer with its commands
 * in one sendmsg (a command, then its pages, as iovecs), so the send of
 * one buffer overlaps the copy of the next, as the local write does.
 */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cr_options.h"
#include "fault.h"
#include "image.h"
#include "log.h"
#include "mem-internal.h"
#include "page-xfer.h"
#include "pagemap.pb-c.h"
#include "vma.h"

#define SEND_BUF_SIZE	(256 << 10)	/* commands and small runs of pages.c */

static int ps_sk = -1;
static char ps_peer[128];
/* pages_out's buffer: commands and small pages are sent together */
static u8 *send_buf;
static size_t send_len;

bool page_xfer_remote(void)
{
	return opts.use_page_server;
}

const char *page_xfer_peer(void)
{
	return ps_peer;
}

static int connect_to(const char *addr, int port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char service[16];
	int sk = -1, err, one = 1;

	snprintf(service, sizeof(service), "%d", port);
	err = getaddrinfo(addr, service, &hints, &res);
	if (err) {
		pr_err("cannot resolve page server address %s: %s\n", addr, gai_strerror(err));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		sk = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (sk < 0)
			continue;
		if (!connect(sk, ai->ai_addr, ai->ai_addrlen))
			break;
		err = errno;
		close(sk);
		sk = -1;
		errno = err;
	}
	freeaddrinfo(res);
	if (sk < 0) {
		pr_perror("cannot connect to the page server at %s", ps_peer);
		return -1;
	}
	/* commands that wait for an answer must leave at once */
	setsockopt(sk, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return sk;
}

int page_xfer_connect(void)
{
	if (!opts.use_page_server)
		return 0;
	if (opts.ps_socket >= 0) {
		snprintf(ps_peer, sizeof(ps_peer), "socket %d", opts.ps_socket);
		ps_sk = opts.ps_socket;
	} else {
		snprintf(ps_peer, sizeof(ps_peer), "%s:%d", opts.address, opts.ps_port);
		ps_sk = connect_to(opts.address, opts.ps_port);
	}
	if (ps_sk < 0)
		return -1;
	send_buf = xmalloc(SEND_BUF_SIZE);
	if (!send_buf)
		return -1;
	pr_info("sending pages to the page server at %s\n", ps_peer);
	return 0;
}

void page_xfer_disconnect(void)
{
	/* a server that sees the end without PS_IOV_CLOSE knows the dump failed */
	if (ps_sk >= 0 && ps_sk != opts.ps_socket)
		close(ps_sk);
	ps_sk = -1;
	free(send_buf);
	send_buf = NULL;
	send_len = 0;
}

/* All of iov[0..n) or -1 with errno; MSG_NOSIGNAL: a dead peer is EPIPE. */
static int sendv_all(struct iovec *iov, int n)
{
	while (n > 0) {
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = min(n, IOV_MAX) };
		ssize_t r = fault_hit(FI_IMG_WRITE) ? (errno = ECONNRESET, -1) :
			    sendmsg(ps_sk, &mh, MSG_NOSIGNAL);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		while (n > 0 && (size_t)r >= iov->iov_len) {
			r -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (u8 *)iov->iov_base + r;
			iov->iov_len -= r;
		}
	}
	return 0;
}

static int recv_answer(void *buf, size_t len, const char *what)
{
	ssize_t n = recv(ps_sk, buf, len, MSG_WAITALL);

	if (n == (ssize_t)len)
		return 0;
	if (n < 0)
		pr_perror("no answer from the page server at %s to %s", ps_peer, what);
	else
		pr_err("the page server at %s closed the connection instead of answering %s\n",
		       ps_peer, what);
	return -1;
}

static int send_cmd(const struct page_server_iov *pi, const char *what)
{
	struct iovec iov = { (void *)pi, sizeof(*pi) };

	if (sendv_all(&iov, 1)) {
		pr_perror("cannot send %s to the page server at %s", what, ps_peer);
		return -1;
	}
	return 0;
}

int page_xfer_open(int img_type, unsigned long id, u64 *dst_id)
{
	struct page_server_iov pi = { .cmd = PS_IOV_OPEN2 };
	char has_parent;

	pi.dst_id = *dst_id = ps_dst_id(img_type, id);
	if (send_cmd(&pi, "an open") || recv_answer(&has_parent, 1, "an open"))
		return -1;
	pr_debug("page server: opened %s %lu%s\n", img_type == CR_FD_PAGEMAP ? "pagemap" : "shmem",
		 id, has_parent ? " (it has a parent)" : "");
	return 0;
}

/* Writer thread: returns 0 or an errno, and logs nothing (the main thread does). */
int page_xfer_send_batch(const struct page_server_iov *hdrs, unsigned int n, const u8 *data)
{
	static struct iovec iov[2 * 4096];
	unsigned int i, k = 0;
	int err = 0;

	for (i = 0; i < n; i++) {
		u32 flags = hdrs[i].cmd >> PS_CMD_BITS;

		iov[k].iov_base = (void *)&hdrs[i];
		iov[k++].iov_len = sizeof(hdrs[i]);
		if (flags & PE_PRESENT) {
			iov[k].iov_base = (void *)data;
			iov[k++].iov_len = (size_t)hdrs[i].nr_pages * PAGE_SIZE;
			data += (size_t)hdrs[i].nr_pages * PAGE_SIZE;
		}
		if (k + 2 > ARRAY_SIZE(iov) || i + 1 == n) {
			if (sendv_all(iov, k)) {
				err = errno ? errno : EIO;
				break;
			}
			k = 0;
		}
	}
	return err;
}

int page_xfer_finish(void)
{
	struct page_server_iov pi = { 0 };
	int32_t status;

	if (ps_sk < 0)
		return 0;
	/* on a socket we were given, the server cannot wait for our close */
	pi.cmd = ps_sk == opts.ps_socket ? PS_IOV_FORCE_CLOSE : PS_IOV_CLOSE;
	if (send_cmd(&pi, "the close") || recv_answer(&status, sizeof(status), "the close"))
		return -1;
	if (status) {
		pr_err("the page server at %s could not write the images (status %d, see its log)\n",
		       ps_peer, status);
		return -1;
	}
	pr_info("the page server at %s has all pages\n", ps_peer);
	page_xfer_disconnect();
	return 0;
}

/* ---- pages_out: a pagemap and its pages, local or remote ---- */

static int flush_send_buf(const void *extra, size_t len)
{
	struct iovec iov[2];
	int n = 0;

	if (send_len)
		iov[n++] = (struct iovec){ send_buf, send_len };
	if (len)
		iov[n++] = (struct iovec){ (void *)extra, len };
	if (n && sendv_all(iov, n)) {
		pr_perror("cannot send pages to the page server at %s", ps_peer);
		return -1;
	}
	send_len = 0;
	return 0;
}

static int buffer_send(const void *buf, size_t len)
{
	if (len >= SEND_BUF_SIZE / 2)
		return flush_send_buf(buf, len);
	if (send_len + len > SEND_BUF_SIZE && flush_send_buf(NULL, 0))
		return -1;
	memcpy(send_buf + send_len, buf, len);
	send_len += len;
	return 0;
}

int pages_out_open(struct pages_out *o, int img_type, unsigned long id)
{
	PagemapHead ph = PAGEMAP_HEAD__INIT;

	memset(o, 0, sizeof(*o));
	o->what = image_name_fmt(img_type);
	if (page_xfer_remote())
		return page_xfer_open(img_type, id, &o->dst_id);
	ph.pages_id = mem_next_pages_id();
	o->pm = open_image(img_type, O_DUMP, id);
	if (!o->pm || pb_write(o->pm, &ph))
		return -1;
	o->pages = open_image(CR_FD_PAGES, O_DUMP, (unsigned long)ph.pages_id);
	return o->pages ? 0 : -1;
}

int pages_out_run(struct pages_out *o, u64 addr, u64 nr_pages)
{
	struct page_server_iov pi = { .cmd = ps_cmd_add(PE_PRESENT), .dst_id = o->dst_id };

	if (!page_xfer_remote())
		return mem_write_run(o->pm, addr, nr_pages);
	/* the command's u32 count: one run of 16 TiB is more than we send */
	if (nr_pages > UINT32_MAX) {
		pr_err("unsupported: a run of %llu pages at %llx for the page server\n",
		       (unsigned long long)nr_pages, (unsigned long long)addr);
		return -1;
	}
	/* the pages follow in pages_out_data() calls, in order */
	pi.vaddr = addr;
	pi.nr_pages = nr_pages;
	return buffer_send(&pi, sizeof(pi));
}

int pages_out_data(struct pages_out *o, const void *buf, size_t len)
{
	if (!page_xfer_remote())
		return img_write_raw(o->pages, buf, len);
	return buffer_send(buf, len);
}

int pages_out_close(struct pages_out *o, int ret)
{
	if (page_xfer_remote())
		return send_len && flush_send_buf(NULL, 0) ? -1 : ret;
	if (o->pages && close_image(o->pages))
		ret = -1;
	if (o->pm && close_image(o->pm))
		ret = -1;
	return ret;
}
