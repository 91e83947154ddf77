// SPDX-License-Identifier: GPL-2.0
/*
 * The RPC of runc, crun, podman, go-criu and pycriu: `criu swrk FD` serves
 * criu_req messages that come over a SOCK_SEQPACKET socket (one message
 * per packet) and answers each with a criu_resp; `criu service` does the
 * same for every connection to a listening unix socket.  Requests run the
 * same code as the command line, with the options of criu_opts mapped by
 * one table (rpc-opts.c); an option we do not support fails the request
 * naming it.
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "action-scripts.h"
#include "config.h"
#include "cgroup.h"
#include "cpuinfo.h"
#include "cr_options.h"
#include "external.h"
#include "join-ns.h"
#include "mem-track.h"
#include "mount.h"
#include "pre-dump.h"
#include "lazy.h"
#include "log.h"
#include "net-lock.h"
#include "page-xfer.h"
#include "rpc.h"
#include "rpc-internal.h"
#include "rpc.pb-c.h"
#include "util.h"
#include "version.h"

#define MAX_MSG (1 << 20)

static CriuReq *recv_req(int sk)
{
	ssize_t len = recv(sk, NULL, 0, MSG_PEEK | MSG_TRUNC);
	CriuReq *req;
	u8 *buf;

	if (len <= 0)
		return NULL;	/* the client is gone */
	if (len > MAX_MSG) {
		pr_err("RPC: a request of %zd bytes is larger than %d\n", len, MAX_MSG);
		return NULL;
	}
	buf = xmalloc(len);
	if (!buf)
		return NULL;
	if (recv(sk, buf, len, 0) != len) {
		pr_perror("RPC: cannot read a request");
		free(buf);
		return NULL;
	}
	req = criu_req__unpack(NULL, len, buf);
	free(buf);
	if (!req)
		pr_err("RPC: a request of %zd bytes does not decode as criu_req\n", len);
	return req;
}

/* One response in one packet; fd >= 0 goes along with it (SCM_RIGHTS). */
static int send_resp_fd(int sk, CriuResp *resp, int fd)
{
	size_t len = criu_resp__get_packed_size(resp);
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct msghdr mh = { 0 };
	struct iovec iov;
	u8 *buf = xmalloc(len);
	int ret = 0;

	if (!buf)
		return -1;
	criu_resp__pack(resp, buf);
	iov.iov_base = buf;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (fd >= 0) {
		struct cmsghdr *ch;

		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		ch = CMSG_FIRSTHDR(&mh);
		ch->cmsg_level = SOL_SOCKET;
		ch->cmsg_type = SCM_RIGHTS;
		ch->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(ch), &fd, sizeof(int));
	}
	if (sendmsg(sk, &mh, MSG_NOSIGNAL) != (ssize_t)len) {
		pr_perror("RPC: cannot send a response");
		ret = -1;
	}
	free(buf);
	return ret;
}

static int send_resp(int sk, CriuResp *resp)
{
	return send_resp_fd(sk, resp, -1);
}

int rpc_notify(int sk, const char *script, pid_t pid, int fd)
{
	CriuResp resp = CRIU_RESP__INIT;
	CriuNotify n = CRIU_NOTIFY__INIT;
	CriuReq *ans;
	int ret = -1;

	resp.type = CRIU_REQ_TYPE__NOTIFY;
	resp.success = true;
	resp.notify = &n;
	n.script = (char *)script;
	n.has_pid = pid > 0;
	n.pid = pid;
	if (send_resp_fd(sk, &resp, fd))
		return -1;
	ans = recv_req(sk);
	if (ans && ans->type == CRIU_REQ_TYPE__NOTIFY && ans->has_notify_success &&
	    ans->notify_success)
		ret = 0;
	if (ans)
		criu_req__free_unpacked(ans, NULL);
	return ret;
}

/* ---- requests ---- */

static int do_version(struct rpc_ctx *c, CriuResp *r)
{
	static CriuVersion v = CRIU_VERSION__INIT;

	(void)c;
	v.major_number = CRIU_IFACE_MAJOR;
	v.minor_number = CRIU_IFACE_MINOR;
	v.gitid = "criu-cr-" CR_VERSION;
	v.name = "criu-cr";
	r->version = &v;
	return 0;
}

static int do_features(struct rpc_ctx *c, CriuResp *r)
{
	static CriuFeatures f = CRIU_FEATURES__INIT;
	CriuFeatures *q = c->req->features;

	/* write tracking and lazy pages when they work here; the pidfd store is not there */
	f.has_mem_track = q && q->has_mem_track;
	f.mem_track = f.has_mem_track && mem_track_works();
	f.has_lazy_pages = q && q->has_lazy_pages;
	f.lazy_pages = f.has_lazy_pages && lazy_pages_works();
	f.has_pidfd_store = q && q->has_pidfd_store;
	r->features = &f;
	return 0;
}

static int do_check(struct rpc_ctx *c, CriuResp *r)
{
	int out, ret;

	(void)c;
	(void)r;
	if (cr_setup_logging("check"))
		return -1;
	/* the report goes to the log: our stdout is the client's */
	fflush(stdout);
	out = dup(STDOUT_FILENO);
	if (out < 0 || dup2(log_get_fd(), STDOUT_FILENO) < 0)
		return -1;
	ret = cr_check();
	fflush(stdout);
	dup2(out, STDOUT_FILENO);
	close(out);
	return ret ? -1 : 0;
}

static int do_dump(struct rpc_ctx *c, CriuResp *r)
{
	static CriuDumpResp d = CRIU_DUMP_RESP__INIT;

	if (!opts.tree_pid)
		opts.tree_pid = c->peer;	/* as CRIU: the client dumps itself */
	r->dump = &d;
	if (!opts.imgs_dir) {
		snprintf(c->err, sizeof(c->err), "no images_dir_fd or images_dir");
		return -1;
	}
	if (cr_setup_logging("dump"))
		return -1;
	return cr_dump_tasks(opts.tree_pid) ? -1 : 0;
}

static int do_pre_dump(struct rpc_ctx *c, CriuResp *r)
{
	static CriuDumpResp d = CRIU_DUMP_RESP__INIT;

	if (!opts.tree_pid)
		opts.tree_pid = c->peer;
	r->dump = &d;
	if (!opts.imgs_dir) {
		snprintf(c->err, sizeof(c->err), "no images_dir_fd or images_dir");
		return -1;
	}
	opts.pre_dump = opts.track_mem = opts.leave_running = true;
	if (cr_setup_logging("pre-dump"))
		return -1;
	return cr_pre_dump_tasks(opts.tree_pid) ? -1 : 0;
}

static int do_restore(struct rpc_ctx *c, CriuResp *r)
{
	static CriuRestoreResp rr = CRIU_RESTORE_RESP__INIT;

	if (!opts.imgs_dir) {
		snprintf(c->err, sizeof(c->err), "no images_dir_fd or images_dir");
		return -1;
	}
	opts.restore_detached = true;	/* the client waits (WAIT_PID) if it wants */
	if (cr_setup_logging("restore") || cr_restore_tasks())
		return -1;
	rr.pid = restored_root_pid();
	r->restore = &rr;
	return 0;
}

/*
 * PAGE_SERVER: a page server for one dump, as a daemon (as CRIU starts it);
 * the answer has its pid and port once it listens.
 */
static int do_page_server(struct rpc_ctx *c, CriuResp *r)
{
	static CriuPageServerInfo ps = CRIU_PAGE_SERVER_INFO__INIT;
	int p[2], msg[2], status;
	pid_t pid;

	if (!opts.imgs_dir) {
		snprintf(c->err, sizeof(c->err), "no images_dir_fd or images_dir");
		return -1;
	}
	if (opts.ps_port < 0)
		opts.ps_port = 0;	/* no port asked: any, and it is in the answer */
	if (cr_setup_logging("page-server") || pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0) {
		pr_perror("cannot fork the page server");
		return -1;
	}
	if (pid == 0) {
		/* the client must see the end of the RPC when we are done, not the daemon */
		close(c->sk);
		set_rpc_notify(-1);	/* the client is not the daemon's */
		close(p[0]);
		opts.daemon_mode = true;
		_exit(cr_page_server(p[1]) ? 1 : 0);
	}
	close(p[1]);
	/* the first child returns once the daemon listens (or could not) */
	xwaitpid(pid, &status, 0);
	if (read_all(p[0], msg, sizeof(msg)) != sizeof(msg)) {
		close(p[0]);
		snprintf(c->err, sizeof(c->err), "the page server did not start: %s",
			 log_first_error() ?: "see the log");
		return -1;
	}
	close(p[0]);
	ps.has_port = ps.has_pid = true;
	ps.port = msg[0];
	ps.pid = msg[1];
	r->ps = &ps;
	return 0;
}

static int do_wait_pid(struct rpc_ctx *c, CriuResp *r)
{
	int status;

	if (!c->req->has_pid || xwaitpid(c->req->pid, &status, 0) != (pid_t)c->req->pid) {
		snprintf(c->err, sizeof(c->err), "cannot wait for pid %u: %s", c->req->pid,
			 strerror(errno));
		return -1;
	}
	r->has_status = true;
	r->status = status;
	return 0;
}

static int do_cpuinfo(struct rpc_ctx *c, const char *what)
{
	if (!opts.imgs_dir) {
		snprintf(c->err, sizeof(c->err), "no images_dir_fd or images_dir");
		return -1;
	}
	return cr_setup_logging("cpuinfo") || cr_cpuinfo(what) ? -1 : 0;
}

static int do_cpuinfo_dump(struct rpc_ctx *c, CriuResp *r)
{
	(void)r;
	return do_cpuinfo(c, "dump");
}

static int do_cpuinfo_check(struct rpc_ctx *c, CriuResp *r)
{
	(void)r;
	return do_cpuinfo(c, "check");
}

static const struct rpc_handler {
	CriuReqType type;
	const char *name;
	int (*fn)(struct rpc_ctx *c, CriuResp *r);
	bool needs_opts;
} handlers[] = {
	{ CRIU_REQ_TYPE__DUMP, "DUMP", do_dump, true },
	{ CRIU_REQ_TYPE__RESTORE, "RESTORE", do_restore, true },
	{ CRIU_REQ_TYPE__CHECK, "CHECK", do_check, false },
	{ CRIU_REQ_TYPE__FEATURE_CHECK, "FEATURE_CHECK", do_features, false },
	{ CRIU_REQ_TYPE__VERSION, "VERSION", do_version, false },
	{ CRIU_REQ_TYPE__WAIT_PID, "WAIT_PID", do_wait_pid, false },
	{ CRIU_REQ_TYPE__PRE_DUMP, "PRE_DUMP", do_pre_dump, true },
	/* known, not served yet: answered with an error naming them */
	{ CRIU_REQ_TYPE__SINGLE_PRE_DUMP, "SINGLE_PRE_DUMP", NULL, false },
	{ CRIU_REQ_TYPE__PAGE_SERVER, "PAGE_SERVER", do_page_server, true },
	{ CRIU_REQ_TYPE__PAGE_SERVER_CHLD, "PAGE_SERVER_CHLD", NULL, false },
	{ CRIU_REQ_TYPE__CPUINFO_DUMP, "CPUINFO_DUMP", do_cpuinfo_dump, true },
	{ CRIU_REQ_TYPE__CPUINFO_CHECK, "CPUINFO_CHECK", do_cpuinfo_check, true },
};

static const struct rpc_handler *find_handler(CriuReqType t)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(handlers); i++)
		if (handlers[i].type == t)
			return &handlers[i];
	return NULL;
}

/*
 * A request refused before it ran still leaves its reason in the log file
 * it asked for: runc and crun show the client only that file's name.
 */
static void log_refusal(struct rpc_ctx *c, const char *name)
{
	CriuOpts *o = c->req->opts;

	if (!o || !o->log_file || strchr(o->log_file, '/'))
		return;
	rpc_opt_dirs(o, c);
	opts.log_file = o->log_file;
	opts.verbosity = o->has_log_level ? o->log_level : opts.verbosity;
	if (opts.verbosity < 1)
		opts.verbosity = 1;
	if (cr_setup_logging(name))
		return;
	pr_err("RPC %s refused: %s\n", name, c->err);
}

/* As CRIU: VERSION and FEATURE_CHECK answer whatever options came along (runc
 * sends its checkpoint's criu_opts with the feature check of a pre-dump). */
static bool ignores_opts(const struct rpc_handler *h)
{
	return h->type == CRIU_REQ_TYPE__VERSION || h->type == CRIU_REQ_TYPE__FEATURE_CHECK;
}

static int serve_one(struct rpc_ctx *c)
{
	const struct rpc_handler *h = find_handler(c->req->type);
	CriuResp resp = CRIU_RESP__INIT;
	int ret = -1;

	resp.type = c->req->type;
	c->err[0] = '\0';
	if (!h)
		snprintf(c->err, sizeof(c->err), "unknown request type %d", c->req->type);
	else if (!h->fn)
		snprintf(c->err, sizeof(c->err), "unsupported RPC request: %s", h->name);
	else if (c->req->opts && !ignores_opts(h) && rpc_apply_opts(c, c->req->opts))
		log_refusal(c, h->name);	/* c->err says which option */
	else if (h->needs_opts && !c->req->opts)
		snprintf(c->err, sizeof(c->err), "%s without criu_opts", h->name);
	else
		ret = h->fn(c, &resp);
	pr_info("RPC %s from pid %d: %s\n", h ? h->name : "?", c->peer, ret ? "failed" : "done");
	resp.success = ret == 0;
	if (ret) {
		if (c->err[0])
			pr_err("%s\n", c->err);
		resp.cr_errmsg = c->err[0] ? c->err : (char *)(log_first_error() ?: "see the log");
		resp.has_cr_errno = true;
		resp.cr_errno = errno;
	}
	return send_resp(c->sk, &resp) ? -1 : ret;
}

static pid_t peer_pid(int sk)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(sk, SOL_SOCKET, SO_PEERCRED, &cr, &len)) {
		pr_perror("RPC: cannot read the peer of socket %d", sk);
		return -1;
	}
	return cr.pid;
}

/* One connection: requests until one without keep_open, or EOF. */
static int serve(int sk)
{
	struct rpc_ctx c = { .sk = sk };
	bool more = true;
	int ret = 0;

	c.peer = peer_pid(sk);
	if (c.peer < 0)
		return -1;
	while (more) {
		c.req = recv_req(sk);
		if (!c.req)
			break;
		more = c.req->has_keep_open && c.req->keep_open;
		/* a dump or restore leaves global state behind: one per process */
		if (c.req->type == CRIU_REQ_TYPE__DUMP || c.req->type == CRIU_REQ_TYPE__RESTORE)
			more = false;
		if (serve_one(&c))
			ret = -1;
		criu_req__free_unpacked(c.req, NULL);
	}
	return ret;
}

int cr_swrk(int sk)
{
	int type;
	socklen_t len = sizeof(type);

	if (getsockopt(sk, SOL_SOCKET, SO_TYPE, &type, &len) || type != SOCK_SEQPACKET) {
		fprintf(stderr, "criu: swrk: fd %d is not a SOCK_SEQPACKET socket\n", sk);
		return 1;
	}
	rpc_swrk_mode = true;
	opts.rpc = true;
	return serve(sk) ? 1 : 0;
}

int cr_service(const char *address)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lsk, sk;

	if (strlen(address) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "criu: service: address %s is too long\n", address);
		return 1;
	}
	strcpy(sa.sun_path, address);
	lsk = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	unlink(address);
	if (lsk < 0 || bind(lsk, (struct sockaddr *)&sa, sizeof(sa)) || listen(lsk, 16)) {
		fprintf(stderr, "criu: service: cannot listen on %s: %s\n", address,
			strerror(errno));
		return 1;
	}
	opts.rpc = true;
	signal(SIGCHLD, SIG_IGN);	/* connection children reap themselves */
	pr_info("service: listening on %s\n", address);
	for (;;) {
		sk = accept4(lsk, NULL, NULL, SOCK_CLOEXEC);
		if (sk < 0) {
			if (errno == EINTR)
				continue;
			pr_perror("service: accept on %s", address);
			return 1;
		}
		if (fork() == 0) {
			close(lsk);
			signal(SIGCHLD, SIG_DFL);
			_exit(serve(sk) ? 1 : 0);
		}
		close(sk);
	}
}
