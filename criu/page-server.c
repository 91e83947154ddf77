// SPDX-License-Identifier: GPL-2.0
/*
 * criu page-server: receives the pages of one dump over TCP (CRIU's
 * protocol, page-xfer.h) and writes them into -D as the pagemap and pages
 * images a local dump would have written; it exits when the dump says it
 * is done (PS_IOV_CLOSE), with an error if the connection ends before.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "action-scripts.h"
#include "cr_options.h"
#include "image.h"
#include "log.h"
#include "page-xfer.h"
#include "pagemap.pb-c.h"
#include "vma.h"

#define RBUF_SIZE	(256 << 10)	/* commands and small runs are read in bulk */
#define DBUF_SIZE	(4 << 20)	/* large runs go straight into this */
#define PS_PAGES_ID_BASE 0x10001	/* as CRIU: apart from the dump's own ids */

struct ps_conn {
	int sk;
	u8 *rbuf, *dbuf;
	size_t rlen, rpos;
	u64 cur_dst;		/* ~0: no image open */
	struct cr_img *pm, *pages;
	unsigned int next_pages_id;
	u64 nr_pages, nr_cmds;
};

/* n bytes into dst; 1 at a clean end before the first byte, -1 on error. */
static int conn_read(struct ps_conn *c, void *dst, size_t n, bool eof_ok)
{
	u8 *p = dst;

	while (n) {
		ssize_t r;

		if (c->rpos < c->rlen) {
			size_t k = min(n, c->rlen - c->rpos);

			memcpy(p, c->rbuf + c->rpos, k);
			c->rpos += k;
			p += k;
			n -= k;
			continue;
		}
		if (n >= RBUF_SIZE / 2)
			r = recv(c->sk, p, n, MSG_WAITALL);
		else
			r = recv(c->sk, c->rbuf, RBUF_SIZE, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			pr_perror("page server: cannot read from the dump");
			return -1;
		}
		if (r == 0) {
			if (eof_ok && p == dst)
				return 1;
			pr_err("page server: the dump closed the connection in the middle of a "
			       "command: the images in -D are incomplete\n");
			return -1;
		}
		if (n >= RBUF_SIZE / 2) {
			p += r;
			n -= r;
		} else {
			c->rlen = r;
			c->rpos = 0;
		}
	}
	return 0;
}

static int close_current(struct ps_conn *c)
{
	int ret = 0;

	if (c->pages && close_image(c->pages))
		ret = -1;
	if (c->pm && close_image(c->pm))
		ret = -1;
	c->pages = c->pm = NULL;
	c->cur_dst = ~0ULL;
	return ret;
}

/* The image of dst_id, with the type numbers of older CRIUs too. */
static int decode_dst(u64 dst_id, unsigned long *id)
{
	*id = dst_id >> PS_TYPE_BITS;
	switch (dst_id & PS_TYPE_MASK) {
	case PS_TYPE_PID: case 10: case 11: case 16: case 17:
		return CR_FD_PAGEMAP;
	case PS_TYPE_SHMEM: case 27: case 28: case 29: case 32: case 33: case 34:
		return CR_FD_SHMEM_PAGEMAP;
	}
	pr_err("page server: unknown image type %llu in a command\n",
	       (unsigned long long)(dst_id & PS_TYPE_MASK));
	return -1;
}

/* Whether -D/parent holds this image (a pre-dump's): CRIU's has_parent. */
static int has_parent(int type, unsigned long id)
{
	char name[96];

	snprintf(name, sizeof(name), "parent/");
	snprintf(name + 7, sizeof(name) - 7, image_name_fmt(type), id);
	return !faccessat(get_image_dir_fd(), name, F_OK, 0);
}

static int open_dst(struct ps_conn *c, const struct page_server_iov *pi, bool answer)
{
	PagemapHead ph = PAGEMAP_HEAD__INIT;
	unsigned long id;
	int type = decode_dst(pi->dst_id, &id);
	char parent;

	if (type < 0 || close_current(c))
		return -1;
	ph.pages_id = c->next_pages_id++;
	c->pm = open_image(type, O_DUMP, id);
	if (!c->pm || pb_write(c->pm, &ph))
		return -1;
	c->pages = open_image(CR_FD_PAGES, O_DUMP, (unsigned long)ph.pages_id);
	if (!c->pages)
		return -1;
	c->cur_dst = pi->dst_id;
	pr_info("page server: %s, pages in pages-%u.img\n", c->pm->name, ph.pages_id);
	parent = has_parent(type, id);
	if (answer && send(c->sk, &parent, 1, MSG_NOSIGNAL) != 1) {
		pr_perror("page server: cannot answer an open");
		return -1;
	}
	return 0;
}

static int answer_parent(struct ps_conn *c, const struct page_server_iov *pi)
{
	unsigned long id;
	int type = decode_dst(pi->dst_id, &id), ret;

	if (type < 0)
		return -1;
	ret = has_parent(type, id);
	if (send(c->sk, &ret, sizeof(ret), MSG_NOSIGNAL) != sizeof(ret)) {
		pr_perror("page server: cannot answer a parent query");
		return -1;
	}
	return 0;
}

/* The pages of one command: what is buffered, then straight from the socket. */
static int recv_pages(struct ps_conn *c, u64 len)
{
	while (len) {
		size_t k;

		if (c->rpos < c->rlen) {
			k = min((u64)(c->rlen - c->rpos), len);
			if (img_write_raw(c->pages, c->rbuf + c->rpos, k))
				return -1;
			c->rpos += k;
		} else {
			k = min(len, (u64)DBUF_SIZE);
			if (conn_read(c, c->dbuf, k, false) || img_write_raw(c->pages, c->dbuf, k))
				return -1;
		}
		len -= k;
	}
	return 0;
}

static int add_run(struct ps_conn *c, const struct page_server_iov *pi, u32 flags)
{
	PagemapEntry pe = PAGEMAP_ENTRY__INIT;

	/* CRIU before OPEN2 sent pages without an open */
	if (pi->dst_id != c->cur_dst && open_dst(c, pi, false))
		return -1;
	pe.vaddr = pi->vaddr;
	pe.nr_pages = pi->nr_pages;
	pe.has_nr_pages_u64 = true;
	pe.nr_pages_u64 = pi->nr_pages;
	pe.has_flags = true;
	pe.flags = flags;
	if (pb_write(c->pm, &pe))
		return -1;
	c->nr_cmds++;
	if (!(flags & PE_PRESENT))
		return 0;
	c->nr_pages += pi->nr_pages;
	return recv_pages(c, (u64)pi->nr_pages * PAGE_SIZE);
}

/* The dump is done: everything on disk before it is told so. */
static int finish(struct ps_conn *c)
{
	int32_t status = 0;
	u64 t0 = now_us();

	if (close_current(c) || syncfs(get_image_dir_fd()))
		status = -1;
	pr_info("page server: images closed and synced in %llu us\n",
		(unsigned long long)(now_us() - t0));
	if (send(c->sk, &status, sizeof(status), MSG_NOSIGNAL) != sizeof(status)) {
		pr_perror("page server: cannot send the final status");
		return -1;
	}
	return status;
}

/* 0: PS_IOV_CLOSE seen and answered; -1 otherwise. */
static int serve_cmds(struct ps_conn *c)
{
	for (;;) {
		struct page_server_iov pi;
		int r = conn_read(c, &pi, sizeof(pi), true);

		if (r > 0) {
			pr_err("page server: the dump ended without closing the session: the images "
			       "in -D are incomplete\n");
			return -1;
		}
		if (r < 0)
			return -1;
		switch (pi.cmd & PS_CMD_MASK) {
		case PS_IOV_OPEN:
		case PS_IOV_OPEN2:
			r = open_dst(c, &pi, (pi.cmd & PS_CMD_MASK) == PS_IOV_OPEN2);
			break;
		case PS_IOV_PARENT:
			r = answer_parent(c, &pi);
			break;
		case PS_IOV_ADD:
			r = add_run(c, &pi, PE_PRESENT);
			break;
		case PS_IOV_HOLE:
			r = add_run(c, &pi, PE_PARENT);
			break;
		case PS_IOV_ADD_F:
			r = add_run(c, &pi, pi.cmd >> PS_CMD_BITS);
			break;
		case PS_IOV_CLOSE:
		case PS_IOV_FORCE_CLOSE:
			return finish(c);
		case PS_IOV_GET:
			pr_err("unsupported: page server: lazy pages (PS_IOV_GET)\n");
			return -1;
		default:
			pr_err("page server: unknown command %#x\n", pi.cmd);
			return -1;
		}
		if (r)
			return -1;
	}
}

static int serve(int sk, bool wait_eof)
{
	struct ps_conn c = { .sk = sk, .cur_dst = ~0ULL, .next_pages_id = PS_PAGES_ID_BASE };
	u64 t0 = now_us();
	int ret = -1, one = 1;
	char ch;

	setsockopt(sk, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c.rbuf = xmalloc(RBUF_SIZE);
	c.dbuf = xmalloc(DBUF_SIZE);
	if (c.rbuf && c.dbuf)
		ret = serve_cmds(&c);
	close_current(&c);
	/* the dump closes first, so that TIME_WAIT stays on its side */
	if (!ret && wait_eof && recv(sk, &ch, 1, 0) != 0)
		pr_warn("page server: data after the close\n");
	pr_info("page server: %llu commands, %llu pages in %llu ms: %s\n",
		(unsigned long long)c.nr_cmds, (unsigned long long)c.nr_pages,
		(unsigned long long)(now_us() - t0) / 1000, ret ? "failed" : "done");
	free(c.rbuf);
	free(c.dbuf);
	close(sk);
	return ret;
}

static int bind_any(struct sockaddr_storage *ss, socklen_t *len, int port)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	int sk = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), zero = 0;

	memset(ss, 0, sizeof(*ss));
	if (sk >= 0) {
		/* all addresses, IPv4 ones too */
		setsockopt(sk, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return sk;
	}
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	*len = sizeof(*s4);
	return socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

static int listen_on(const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int sk, one = 1;

	if (addr) {
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *res;
		int err = getaddrinfo(addr, NULL, &hints, &res);

		if (err) {
			pr_err("page server: cannot resolve address %s: %s\n", addr, gai_strerror(err));
			return -1;
		}
		memcpy(&ss, res->ai_addr, res->ai_addrlen);
		len = res->ai_addrlen;
		freeaddrinfo(res);
		if (ss.ss_family == AF_INET6)
			((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
		else
			((struct sockaddr_in *)&ss)->sin_port = htons(port);
		sk = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	} else {
		sk = bind_any(&ss, &len, port);
	}
	if (sk < 0) {
		pr_perror("page server: cannot create a socket");
		return -1;
	}
	setsockopt(sk, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(sk, (struct sockaddr *)&ss, len) || listen(sk, 1)) {
		pr_perror("page server: cannot listen on %s port %d", addr ?: "all addresses", port);
		close(sk);
		return -1;
	}
	return sk;
}

static int listening_port(int sk)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(sk, (struct sockaddr *)&ss, &len))
		return -1;
	return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
						((struct sockaddr_in *)&ss)->sin_port);
}

/* --daemon: the parent returns once the child listens, with its pid in --pidfile */
int cr_daemonize(const char *who)
{
	pid_t pid = fork();
	FILE *f;

	if (pid < 0) {
		pr_perror("%s: cannot fork the daemon", who);
		return -1;
	}
	if (pid == 0) {
		setsid();
		return 0;
	}
	if (opts.pidfile) {
		f = fopen(opts.pidfile, "w");
		if (!f || fprintf(f, "%d", pid) < 0 || fclose(f)) {
			pr_perror("%s: cannot write pidfile %s", who, opts.pidfile);
			kill(pid, SIGKILL);
			exit(1);
		}
	}
	exit(0);
}

/*
 * port_fd (RPC): where the listening port and the server's pid go, as two
 * ints, once it listens; --status-fd gets a '\0' then.
 */
int cr_page_server(int port_fd)
{
	int lsk, sk, port;

	if (open_image_dir(opts.imgs_dir, true))
		return -1;
	if (opts.ps_socket >= 0) {
		pr_info("page server: on socket %d\n", opts.ps_socket);
		return serve(opts.ps_socket, false);
	}
	lsk = listen_on(opts.address, opts.ps_port);
	if (lsk < 0)
		return -1;
	port = listening_port(lsk);
	pr_info("page server: listening on %s port %d\n", opts.address ?: "all addresses", port);
	if (opts.daemon_mode && cr_daemonize("page server"))
		return -1;
	if (port_fd >= 0) {
		int msg[2] = { port, getpid() };

		if (write(port_fd, msg, sizeof(msg)) != sizeof(msg) || close(port_fd))
			pr_warn("page server: cannot report the port\n");
	}
	if (status_ready())
		pr_warn("page server: cannot tell it is ready (--status-fd, status-ready)\n");
	do
		sk = accept4(lsk, NULL, NULL, SOCK_CLOEXEC);
	while (sk < 0 && errno == EINTR);
	if (sk < 0) {
		pr_perror("page server: cannot accept a connection");
		close(lsk);
		return -1;
	}
	close(lsk);
	pr_info("page server: a dump connected\n");
	return serve(sk, true);
}
