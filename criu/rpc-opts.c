// SPDX-License-Identifier: GPL-2.0
/*
 * The criu_opts of an RPC request, one table row per field we honour
 * (rpc.c serves the requests).  A field the table does not list fails the
 * request naming it when it is set to anything but its default, so a
 * client that sends every field with neutral values works, and nothing we
 * do not do is ignored silently.
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


bool rpc_swrk_mode;

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

/* The image and work directories alone (a refused request's log goes there). */
void rpc_opt_dirs(CriuOpts *o, struct rpc_ctx *c)
{
	opt_images(o, c);
	if (o->has_work_dir_fd)
		opt_work_dir(o, c);
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
		if (!rpc_swrk_mode) {
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

	if (!rpc_swrk_mode) {
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
	if (!rpc_swrk_mode) {
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
	{ "config_file", opt_accept },		/* read last, by rpc_apply_opts */
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

int rpc_apply_opts(struct rpc_ctx *c, CriuOpts *o)
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
