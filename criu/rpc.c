// SPDX-License-Identifier: GPL-2.0
/*
 * The RPC of runc, crun, podman, go-criu and pycriu: `criu swrk FD` serves
 * criu_req messages that come over a SOCK_SEQPACKET socket (one message
 * per packet) and answers each with a criu_resp; `criu service` does the
 * same for every connection to a listening unix socket.  Requests run the
 * same code as the command line, with the options of criu_opts mapped by
 * one table; an option we do not support fails the request naming it.
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
#include "rpc.pb-c.h"
#include "util.h"
#include "version.h"

#define MAX_MSG (1 << 20)

static bool swrk_mode;	/* criu swrk: fds given in requests are ours too */

struct rpc_ctx {
	int sk;
	pid_t peer;		/* the client, by SO_PEERCRED */
	CriuReq *req;
	char imgs[64], work[64];
	char err[512];		/* why a request was refused before it ran */
};

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

/* ---- criu_opts: one line per field we honour ---- */

static int opt_images(CriuOpts *o, struct rpc_ctx *c)
{
	if (o->images_dir_fd >= 0)
		snprintf(c->imgs, sizeof(c->imgs), "/proc/%d/fd/%d", c->peer, o->images_dir_fd);
	else if (o->images_dir)
		snprintf(c->imgs, sizeof(c->imgs), "%.60s", o->images_dir);
	else
		return 0;
	opts.imgs_dir = o->images_dir_fd >= 0 ? c->imgs : o->images_dir;
	return 0;
}

static int opt_work_dir(CriuOpts *o, struct rpc_ctx *c)
{
	snprintf(c->work, sizeof(c->work), "/proc/%d/fd/%d", c->peer, o->work_dir_fd);
	opts.work_dir = c->work;
	return 0;
}

static int opt_log_file(CriuOpts *o, struct rpc_ctx *c)
{
	if (strchr(o->log_file, '/')) {
		snprintf(c->err, sizeof(c->err), "log_file %s: no directories allowed, use "
			 "work_dir_fd", o->log_file);
		return -1;
	}
	opts.log_file = o->log_file;
	return 0;
}

static int opt_network_lock(CriuOpts *o, struct rpc_ctx *c)
{
	(void)c;
	switch (o->network_lock) {
	case CRIU_NETWORK_LOCK_METHOD__IPTABLES:
		opts.network_lock_method = NETWORK_LOCK_IPTABLES;
		break;
	case CRIU_NETWORK_LOCK_METHOD__NFTABLES:
		opts.network_lock_method = NETWORK_LOCK_NFTABLES;
		break;
	default:
		opts.network_lock_method = NETWORK_LOCK_SKIP;
	}
	return 0;
}

static int opt_log_level(CriuOpts *o, struct rpc_ctx *c)
{
	(void)c;
	opts.verbosity = o->log_level < 0 ? 0 : (o->log_level > 4 ? 4 : o->log_level);
	return 0;
}

static int opt_notify(CriuOpts *o, struct rpc_ctx *c)
{
	if (o->notify_scripts)
		set_rpc_notify(c->sk);
	return 0;
}

#define OPT_BOOL(field, var)							\
	static int opt_##field(CriuOpts *o, struct rpc_ctx *c)			\
	{									\
		(void)c;							\
		var = o->field;							\
		return 0;							\
	}
OPT_BOOL(leave_running, opts.leave_running)
OPT_BOOL(ext_unix_sk, opts.ext_unix_sk)
OPT_BOOL(tcp_established, opts.tcp_established)
OPT_BOOL(shell_job, opts.shell_job)
OPT_BOOL(file_locks, opts.file_locks)
OPT_BOOL(tcp_close, opts.tcp_close)
OPT_BOOL(rst_sibling, opts.restore_sibling)
OPT_BOOL(track_mem, opts.track_mem)
OPT_BOOL(evasive_devices, opts.evasive_devices)
OPT_BOOL(orphan_pts_master, opts.orphan_pts_master)
OPT_BOOL(auto_dedup, opts.auto_dedup)

static int opt_pid(CriuOpts *o, struct rpc_ctx *c)
{
	(void)c;
	opts.tree_pid = o->pid;
	return 0;
}

static int opt_timeout(CriuOpts *o, struct rpc_ctx *c)
{
	(void)c;
	opts.timeout = o->timeout;
	return 0;
}

static int opt_stderr(CriuOpts *o, struct rpc_ctx *c)
{
	(void)c;
	if (o->log_to_stderr)
		opts.log_file = "-";
	return 0;
}

static int opt_cpu_cap(CriuOpts *o, struct rpc_ctx *c)
{
	(void)c;
	opts.cpu_cap = o->cpu_cap & CPU_CAP_ALL;	/* CRIU's bits: fpu 1, cpu 2, ins 4 */
	opts.cpu_cap_set = true;
	return 0;
}

static int opt_parent_img(CriuOpts *o, struct rpc_ctx *c)
{
	(void)c;
	opts.prev_images_dir = o->parent_img;	/* lives as long as the request */
	return 0;
}

static int opt_root(CriuOpts *o, struct rpc_ctx *c)
{
	(void)c;
	opts.root = o->root;	/* lives as long as the request */
	return 0;
}

/* ext_mnt: {key, val} as --ext-mount-map KEY:VAL; external: mnt[KEY]:VAL */
static int opt_ext_mnt(CriuOpts *o, struct rpc_ctx *c)
{
	size_t i;

	for (i = 0; i < o->n_ext_mnt; i++)
		if (mnt_add_ext_map(o->ext_mnt[i]->key, o->ext_mnt[i]->val)) {
			snprintf(c->err, sizeof(c->err), "ext_mnt %s: cannot be taken",
				 o->ext_mnt[i]->key);
			return -1;
		}
	return 0;
}

/* lazy_pages: a restore whose private memory criu lazy-pages fills */
static int opt_lazy_pages(CriuOpts *o, struct rpc_ctx *c)
{
	if (c->req->type != CRIU_REQ_TYPE__RESTORE) {
		snprintf(c->err, sizeof(c->err), "unsupported: lazy_pages but for a restore "
			 "(a dump always writes its pages)");
		return -1;
	}
	opts.lazy_pages = o->lazy_pages;
	return 0;
}

/* ps: the page server of a dump (address and port, or a connected fd) */
static int opt_ps(CriuOpts *o, struct rpc_ctx *c)
{
	CriuPageServerInfo *ps = o->ps;

	if (ps->has_fd) {
		if (!swrk_mode) {
			snprintf(c->err, sizeof(c->err), "ps.fd: only with criu swrk, where the fd "
				 "is inherited");
			return -1;
		}
		opts.ps_socket = ps->fd;
	} else if (!ps->address || !ps->has_port) {
		snprintf(c->err, sizeof(c->err), "ps: needs address and port (or fd)");
		return -1;
	}
	opts.address = ps->address;
	opts.ps_port = ps->has_port ? ps->port : -1;
	opts.use_page_server = c->req->type == CRIU_REQ_TYPE__DUMP;
	return 0;
}

/* inherit_fd: under swrk the fds are criu's own, inherited from the client */
static int opt_inherit_fd(CriuOpts *o, struct rpc_ctx *c)
{
	size_t i;

	if (!swrk_mode) {
		snprintf(c->err, sizeof(c->err), "inherit_fd: only with criu swrk, where the "
			 "fds are inherited");
		return -1;
	}
	for (i = 0; i < o->n_inherit_fd; i++)
		if (inherit_fd_add(o->inherit_fd[i]->fd, o->inherit_fd[i]->key)) {
			snprintf(c->err, sizeof(c->err), "inherit_fd %s: fd %d is not open in "
				 "criu", o->inherit_fd[i]->key, o->inherit_fd[i]->fd);
			return -1;
		}
	return 0;
}

static int opt_external(CriuOpts *o, struct rpc_ctx *c)
{
	size_t i;

	for (i = 0; i < o->n_external; i++)
		if (external_add(o->external[i])) {
			snprintf(c->err, sizeof(c->err), "bad external: %s", o->external[i]);
			return -1;
		}
	return 0;
}

static int opt_empty_ns(CriuOpts *o, struct rpc_ctx *c)
{
	if (o->empty_ns & ~(unsigned int)CLONE_NEWNET) {
		snprintf(c->err, sizeof(c->err), "empty_ns %#x: only the net namespace "
			 "(CLONE_NEWNET) can be left empty", o->empty_ns);
		return -1;
	}
	opts.empty_ns = o->empty_ns;
	return 0;
}

/* status_fd: a '\0' once ready (the page server listens); criu's own fd */
static int opt_status_fd(CriuOpts *o, struct rpc_ctx *c)
{
	if (!swrk_mode) {
		snprintf(c->err, sizeof(c->err), "status_fd: only with criu swrk, where the fd "
			 "is inherited");
		return -1;
	}
	opts.status_fd = o->status_fd;
	return 0;
}

static int opt_join_ns(CriuOpts *o, struct rpc_ctx *c)
{
	size_t i;

	for (i = 0; i < o->n_join_ns; i++) {
		JoinNamespace *j = o->join_ns[i];

		if (join_ns_add(j->ns, j->ns_file, j->extra_opt)) {
			snprintf(c->err, sizeof(c->err), "join_ns %s:%s: only uts and ipc, by pid "
				 "or namespace file", j->ns, j->ns_file);
			return -1;
		}
	}
	return 0;
}

static int opt_ghost_limit(CriuOpts *o, struct rpc_ctx *c)
{
	(void)c;
	opts.ghost_limit = o->ghost_limit;
	return 0;
}

/* ---- cgroups (cgroup.c) ---- */

/*
 * CRIU: manage_cgroups true is soft, false ignore.  A mode of IGNORE (0)
 * equals the field's default, so its own row is not called: seen here.
 */
static int opt_manage_cgroups(CriuOpts *o, struct rpc_ctx *c)
{
	(void)c;
	opts.manage_cgroups = o->manage_cgroups ? CG_MODE_SOFT : CG_MODE_IGNORE;
	if (o->has_manage_cgroups_mode && o->manage_cgroups_mode == CRIU_CG_MODE__IGNORE)
		opts.manage_cgroups = CG_MODE_IGNORE;
	return 0;
}

static int opt_manage_cgroups_mode(CriuOpts *o, struct rpc_ctx *c)
{
	static const int modes[] = {
		[CRIU_CG_MODE__IGNORE] = CG_MODE_IGNORE, [CRIU_CG_MODE__CG_NONE] = CG_MODE_NONE,
		[CRIU_CG_MODE__PROPS] = CG_MODE_PROPS, [CRIU_CG_MODE__SOFT] = CG_MODE_SOFT,
		[CRIU_CG_MODE__FULL] = CG_MODE_FULL, [CRIU_CG_MODE__STRICT] = CG_MODE_STRICT,
		[CRIU_CG_MODE__DEFAULT] = CG_MODE_SOFT,
	};

	if ((unsigned int)o->manage_cgroups_mode >= ARRAY_SIZE(modes)) {
		snprintf(c->err, sizeof(c->err), "manage_cgroups_mode %d is not one of CRIU's",
			 o->manage_cgroups_mode);
		return -1;
	}
	opts.manage_cgroups = modes[o->manage_cgroups_mode];
	return 0;
}

static int opt_cg_root(CriuOpts *o, struct rpc_ctx *c)
{
	size_t i;

	for (i = 0; i < o->n_cg_root; i++)
		if (cg_root_add(o->cg_root[i]->ctrl, o->cg_root[i]->path)) {
			snprintf(c->err, sizeof(c->err), "cg_root %s:%s: bad path",
				 o->cg_root[i]->ctrl ?: "", o->cg_root[i]->path);
			return -1;
		}
	return 0;
}

static int opt_freeze_cgroup(CriuOpts *o, struct rpc_ctx *c)
{
	(void)c;
	opts.freeze_cgroup = o->freeze_cgroup;	/* lives as long as the request */
	return 0;
}

static int opt_cgroup_yard(CriuOpts *o, struct rpc_ctx *c)
{
	(void)c;
	opts.cgroup_yard = o->cgroup_yard;
	return 0;
}

static int opt_cgroup_props(CriuOpts *o, struct rpc_ctx *c)
{
	if (!cg_props_add_spec(o->cgroup_props, strlen(o->cgroup_props)))
		return 0;
	snprintf(c->err, sizeof(c->err), "cgroup_props: %s", log_first_error() ?: "bad spec");
	return -1;
}

static int opt_cgroup_props_file(CriuOpts *o, struct rpc_ctx *c)
{
	if (!cg_props_add_file(o->cgroup_props_file))
		return 0;
	snprintf(c->err, sizeof(c->err), "cgroup_props_file %s: %s", o->cgroup_props_file,
		 log_first_error() ?: "bad spec");
	return -1;
}

static int opt_cgroup_dump_controller(CriuOpts *o, struct rpc_ctx *c)
{
	size_t i;

	(void)c;
	for (i = 0; i < o->n_cgroup_dump_controller; i++)
		if (cg_dump_controller_add(o->cgroup_dump_controller[i]))
			return -1;
	return 0;
}

/* veths: CRIU's older form of --external veth[IN]:OUT */
static int opt_veths(CriuOpts *o, struct rpc_ctx *c)
{
	char spec[128];
	size_t i;

	for (i = 0; i < o->n_veths; i++) {
		snprintf(spec, sizeof(spec), "veth[%s]:%s", o->veths[i]->if_in,
			 o->veths[i]->if_out);
		if (external_add(spec)) {
			snprintf(c->err, sizeof(c->err), "veths: bad pair %.40s/%.40s",
				 o->veths[i]->if_in, o->veths[i]->if_out);
			return -1;
		}
	}
	return 0;
}

static int opt_accept(CriuOpts *o, struct rpc_ctx *c)
{
	(void)o;
	(void)c;
	return 0;
}

static const struct rpc_opt {
	const char *name;
	int (*apply)(CriuOpts *o, struct rpc_ctx *c);
} rpc_opts[] = {
	{ "images_dir_fd", opt_images },
	{ "images_dir", opt_accept },		/* read by opt_images */
	{ "work_dir_fd", opt_work_dir },
	{ "pid", opt_pid },
	{ "leave_running", opt_leave_running },
	{ "ext_unix_sk", opt_ext_unix_sk },
	{ "tcp_established", opt_tcp_established },
	{ "shell_job", opt_shell_job },
	{ "file_locks", opt_file_locks },
	{ "log_level", opt_log_level },
	{ "log_file", opt_log_file },
	{ "notify_scripts", opt_notify },
	{ "rst_sibling", opt_rst_sibling },
	{ "timeout", opt_timeout },
	{ "tcp_close", opt_tcp_close },
	{ "network_lock", opt_network_lock },
	{ "unprivileged", opt_accept },		/* we never need more */
	{ "log_to_stderr", opt_stderr },
	{ "cpu_cap", opt_cpu_cap },
	{ "track_mem", opt_track_mem },
	{ "parent_img", opt_parent_img },
	{ "ps", opt_ps },
	{ "inherit_fd", opt_inherit_fd },
	{ "external", opt_external },		/* mnt[...] goes to mount.c */
	{ "veths", opt_veths },
	{ "empty_ns", opt_empty_ns },
	{ "evasive_devices", opt_evasive_devices },
	{ "orphan_pts_master", opt_orphan_pts_master },
	{ "auto_dedup", opt_auto_dedup },
	{ "join_ns", opt_join_ns },
	{ "ghost_limit", opt_ghost_limit },
	{ "status_fd", opt_status_fd },
	{ "config_file", opt_accept },		/* read last, by apply_opts */
	{ "root", opt_root },
	{ "ext_mnt", opt_ext_mnt },
	{ "auto_ext_mnt", opt_accept },		/* binds of criu's mounts are found anyway */
	{ "ext_sharing", opt_accept },		/* propagation is kept as dumped */
	{ "ext_masters", opt_accept },
	{ "manage_cgroups", opt_manage_cgroups },
	{ "manage_cgroups_mode", opt_manage_cgroups_mode },
	{ "cg_root", opt_cg_root },
	{ "freeze_cgroup", opt_freeze_cgroup },
	{ "cgroup_props", opt_cgroup_props },
	{ "cgroup_props_file", opt_cgroup_props_file },
	{ "cgroup_dump_controller", opt_cgroup_dump_controller },
	{ "cgroup_yard", opt_cgroup_yard },
	{ "lazy_pages", opt_lazy_pages },
};

/* Is a field of msg set to something other than "nothing asked"? */
static bool field_asked(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	const char *base = (const char *)msg;
	const void *p = base + f->offset;

	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return *(const size_t *)(base + f->quantifier_offset) > 0;
	if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE)
		return *(void *const *)p != NULL;
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL &&
	    !*(const protobuf_c_boolean *)(base + f->quantifier_offset))
		return false;
	/* set: a value equal to the field's default asks for nothing */
	switch (f->type) {
	case PROTOBUF_C_TYPE_BOOL:
		return *(const protobuf_c_boolean *)p !=
		       (f->default_value ? *(const protobuf_c_boolean *)f->default_value : 0);
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_ENUM:
		return *(const int32_t *)p !=
		       (f->default_value ? *(const int32_t *)f->default_value : 0);
	default:
		return true;
	}
}

static int apply_opts(struct rpc_ctx *c, CriuOpts *o)
{
	const ProtobufCMessageDescriptor *d = &criu_opts__descriptor;
	unsigned int i, k;

	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];

		for (k = 0; k < ARRAY_SIZE(rpc_opts); k++)
			if (!strcmp(rpc_opts[k].name, f->name))
				break;
		if (k < ARRAY_SIZE(rpc_opts)) {
			if (!strcmp(f->name, "images_dir_fd") || field_asked(&o->base, f))
				if (rpc_opts[k].apply(o, c))
					return -1;
			continue;
		}
		if (field_asked(&o->base, f)) {
			snprintf(c->err, sizeof(c->err), "unsupported RPC option: %s", f->name);
			return -1;
		}
	}
	/* CRIU's rule: the file wins over the request; a missing one is no error */
	if (o->config_file && parse_config_file(o->config_file, true)) {
		snprintf(c->err, sizeof(c->err), "config_file %s: %s", o->config_file,
			 log_first_error() ?: "an option criu does not take");
		return -1;
	}
	return 0;
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
	opt_images(o, c);
	if (o->has_work_dir_fd)
		opt_work_dir(o, c);
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
	else if (c->req->opts && !ignores_opts(h) && apply_opts(c, c->req->opts))
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
	swrk_mode = true;
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
