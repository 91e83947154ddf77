// SPDX-License-Identifier: LGPL-2.1-only
/*
 * libcriu: CRIU's C API over the RPC of `criu swrk` (see criu.h).  The
 * options are a criu_opts message filled by the setters; a request starts
 * criu (or connects to it), sends the message, answers notifications
 * through the user's callback and reads the final response.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "criu.h"

struct criu_opts {
	CriuOpts *rpc;
	int (*notify)(char *action, criu_notify_arg_t na);
	enum criu_service_comm comm;
	char *address;
	char *binary;
	int fd;
};

static criu_opts *global;
static int orphan_pts_fd = -1;

int criu_local_init_opts(criu_opts **out)
{
	criu_opts *o = calloc(1, sizeof(*o));

	if (!o)
		return -1;
	o->rpc = calloc(1, sizeof(*o->rpc));
	if (!o->rpc) {
		free(o);
		return -1;
	}
	criu_opts__init(o->rpc);
	o->comm = CRIU_COMM_BIN;
	o->fd = -1;
	*out = o;
	return 0;
}

void criu_local_free_opts(criu_opts *o)
{
	if (!o)
		return;
	/* every pointer in the message is ours: protobuf-c frees it all */
	criu_opts__free_unpacked(o->rpc, NULL);
	free(o->address);
	free(o->binary);
	free(o);
}

static int set_str(char **dst, const char *val)
{
	char *s = val ? strdup(val) : NULL;

	if (val && !s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

int criu_local_set_service_address(criu_opts *o, const char *path)
{
	o->comm = CRIU_COMM_SK;
	return set_str(&o->address, path ? path : "/var/run/criu_service.socket");
}

void criu_local_set_service_fd(criu_opts *o, int fd)
{
	o->comm = CRIU_COMM_FD;
	o->fd = fd;
}

int criu_local_set_service_binary(criu_opts *o, const char *path)
{
	o->comm = CRIU_COMM_BIN;
	return set_str(&o->binary, path);
}

void criu_local_set_notify_cb(criu_opts *o, int (*cb)(char *action, criu_notify_arg_t na))
{
	o->notify = cb;
	o->rpc->has_notify_scripts = true;
	o->rpc->notify_scripts = cb != NULL;
}

/* ---- setters: one line per option ---- */

#define SET_SCALAR(name, field, type)						\
	void criu_local_set_##name(criu_opts *o, type v)			\
	{									\
		o->rpc->has_##field = true;					\
		o->rpc->field = v;						\
	}									\
	void criu_set_##name(type v)						\
	{									\
		criu_local_set_##name(global, v);				\
	}
#define SET_STRING(name, field)							\
	int criu_local_set_##name(criu_opts *o, const char *v)			\
	{									\
		return set_str(&o->rpc->field, v);				\
	}									\
	int criu_set_##name(const char *v)					\
	{									\
		return criu_local_set_##name(global, v);			\
	}

SET_SCALAR(pid, pid, int)
SET_SCALAR(work_dir_fd, work_dir_fd, int)
SET_SCALAR(leave_running, leave_running, bool)
SET_SCALAR(ext_unix_sk, ext_unix_sk, bool)
SET_SCALAR(tcp_established, tcp_established, bool)
SET_SCALAR(tcp_skip_in_flight, tcp_skip_in_flight, bool)
SET_SCALAR(tcp_close, tcp_close, bool)
SET_SCALAR(weak_sysctls, weak_sysctls, bool)
SET_SCALAR(evasive_devices, evasive_devices, bool)
SET_SCALAR(shell_job, shell_job, bool)
SET_SCALAR(skip_file_rwx_check, skip_file_rwx_check, bool)
SET_SCALAR(unprivileged, unprivileged, bool)
SET_SCALAR(orphan_pts_master, orphan_pts_master, bool)
SET_SCALAR(file_locks, file_locks, bool)
SET_SCALAR(track_mem, track_mem, bool)
SET_SCALAR(auto_dedup, auto_dedup, bool)
SET_SCALAR(force_irmap, force_irmap, bool)
SET_SCALAR(link_remap, link_remap, bool)
SET_SCALAR(auto_ext_mnt, auto_ext_mnt, bool)
SET_SCALAR(ext_sharing, ext_sharing, bool)
SET_SCALAR(ext_masters, ext_masters, bool)
SET_SCALAR(mntns_compat_mode, mntns_compat_mode, bool)
SET_SCALAR(manage_cgroups, manage_cgroups, bool)
SET_SCALAR(log_level, log_level, int)
SET_SCALAR(cpu_cap, cpu_cap, unsigned int)
SET_SCALAR(timeout, timeout, unsigned int)
SET_SCALAR(ghost_limit, ghost_limit, unsigned int)
SET_SCALAR(empty_ns, empty_ns, int)
SET_SCALAR(pidfd_store_sk, pidfd_store_sk, int)
SET_STRING(parent_images, parent_img)
SET_STRING(log_file, log_file)
SET_STRING(root, root)
SET_STRING(freeze_cgroup, freeze_cgroup)
SET_STRING(lsm_profile, lsm_profile)
SET_STRING(lsm_mount_context, lsm_mount_context)
SET_STRING(config_file, config_file)

void criu_local_set_images_dir_fd(criu_opts *o, int fd)
{
	o->rpc->images_dir_fd = fd;
}

void criu_set_images_dir_fd(int fd)
{
	criu_local_set_images_dir_fd(global, fd);
}

void criu_local_set_manage_cgroups_mode(criu_opts *o, enum criu_cg_mode mode)
{
	o->rpc->has_manage_cgroups_mode = true;
	o->rpc->manage_cgroups_mode = (CriuCgMode)mode;
}

void criu_set_manage_cgroups_mode(enum criu_cg_mode mode)
{
	criu_local_set_manage_cgroups_mode(global, mode);
}

int criu_local_set_network_lock(criu_opts *o, enum criu_network_lock_method m)
{
	if (m < CRIU_NETWORK_LOCK_IPTABLES || m > CRIU_NETWORK_LOCK_SKIP)
		return -EINVAL;
	o->rpc->has_network_lock = true;
	o->rpc->network_lock = (CriuNetworkLockMethod)m;
	return 0;
}

int criu_set_network_lock(enum criu_network_lock_method m)
{
	return criu_local_set_network_lock(global, m);
}

int criu_local_set_pre_dump_mode(criu_opts *o, enum criu_pre_dump_mode mode)
{
	if (mode != CRIU_PRE_DUMP_SPLICE && mode != CRIU_PRE_DUMP_READ)
		return -EINVAL;
	o->rpc->has_pre_dump_mode = true;
	o->rpc->pre_dump_mode = (CriuPreDumpMode)mode;
	return 0;
}

int criu_set_pre_dump_mode(enum criu_pre_dump_mode mode)
{
	return criu_local_set_pre_dump_mode(global, mode);
}

int criu_local_set_page_server_address_port(criu_opts *o, const char *address, int port)
{
	CriuPageServerInfo *ps = o->rpc->ps;

	if (!ps) {
		ps = calloc(1, sizeof(*ps));
		if (!ps)
			return -ENOMEM;
		criu_page_server_info__init(ps);
		o->rpc->ps = ps;
	}
	ps->has_port = true;
	ps->port = port;
	return set_str(&ps->address, address);
}

int criu_set_page_server_address_port(const char *address, int port)
{
	return criu_local_set_page_server_address_port(global, address, port);
}

/* ---- repeated options ---- */

static int push(void *arrp, size_t *n, void *item)
{
	void ***arr = arrp;
	void **na = item ? realloc(*arr, (*n + 1) * sizeof(void *)) : NULL;

	if (!na)
		return -ENOMEM;
	na[(*n)++] = item;
	*arr = na;
	return 0;
}

#define ADD_STRING(name, field)							\
	int criu_local_add_##name(criu_opts *o, const char *v)			\
	{									\
		char *s = strdup(v);						\
		int r = push(&o->rpc->field, &o->rpc->n_##field, s);		\
		if (r)								\
			free(s);						\
		return r;							\
	}									\
	int criu_add_##name(const char *v)					\
	{									\
		return criu_local_add_##name(global, v);			\
	}

ADD_STRING(external, external)
ADD_STRING(enable_fs, enable_fs)
ADD_STRING(skip_mnt, skip_mnt)
ADD_STRING(irmap_path, irmap_scan_paths)
ADD_STRING(cg_dump_controller, cgroup_dump_controller)

/* the cgroup "add" calls of the API set a single string, replacing the old one */
#define SET_STRING_AS(name, field)						\
	int criu_local_##name(criu_opts *o, const char *v)			\
	{									\
		return set_str(&o->rpc->field, v);				\
	}									\
	int criu_##name(const char *v)						\
	{									\
		return criu_local_##name(global, v);				\
	}

SET_STRING_AS(add_cg_props, cgroup_props)
SET_STRING_AS(add_cg_props_file, cgroup_props_file)
SET_STRING_AS(add_cg_yard, cgroup_yard)

int criu_local_add_unix_sk(criu_opts *o, unsigned int inode)
{
	UnixSk *u = calloc(1, sizeof(*u));

	if (!u)
		return -ENOMEM;
	unix_sk__init(u);
	u->inode = inode;
	if (push(&o->rpc->unix_sk_ino, &o->rpc->n_unix_sk_ino, u)) {
		free(u);
		return -ENOMEM;
	}
	return 0;
}

int criu_add_unix_sk(unsigned int inode)
{
	return criu_local_add_unix_sk(global, inode);
}

/* replaces the command run after restore; argv is copied */
int criu_local_set_exec_cmd(criu_opts *o, int argc, char *argv[])
{
	char **v = calloc(argc > 0 ? argc : 1, sizeof(*v));
	int i;

	if (!v)
		return -ENOMEM;
	for (i = 0; i < argc; i++) {
		v[i] = strdup(argv[i]);
		if (!v[i])
			goto err;
	}
	for (i = 0; i < (int)o->rpc->n_exec_cmd; i++)
		free(o->rpc->exec_cmd[i]);
	free(o->rpc->exec_cmd);
	o->rpc->exec_cmd = v;
	o->rpc->n_exec_cmd = argc;
	return 0;
err:
	while (i-- > 0)
		free(v[i]);
	free(v);
	return -ENOMEM;
}

int criu_set_exec_cmd(int argc, char *argv[])
{
	return criu_local_set_exec_cmd(global, argc, argv);
}

int criu_local_add_ext_mount(criu_opts *o, const char *key, const char *val)
{
	ExtMountMap *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	ext_mount_map__init(m);
	m->key = strdup(key);
	m->val = strdup(val);
	if (!m->key || !m->val || push(&o->rpc->ext_mnt, &o->rpc->n_ext_mnt, m)) {
		ext_mount_map__free_unpacked(m, NULL);
		return -ENOMEM;
	}
	return 0;
}

int criu_local_add_veth_pair(criu_opts *o, const char *in, const char *out)
{
	CriuVethPair *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	criu_veth_pair__init(p);
	p->if_in = strdup(in);
	p->if_out = strdup(out);
	if (!p->if_in || !p->if_out || push(&o->rpc->veths, &o->rpc->n_veths, p)) {
		criu_veth_pair__free_unpacked(p, NULL);
		return -ENOMEM;
	}
	return 0;
}

int criu_local_add_cg_root(criu_opts *o, const char *ctrl, const char *path)
{
	CgroupRoot *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	cgroup_root__init(r);
	r->ctrl = ctrl ? strdup(ctrl) : NULL;
	r->path = strdup(path);
	if (!r->path || (ctrl && !r->ctrl) || push(&o->rpc->cg_root, &o->rpc->n_cg_root, r)) {
		cgroup_root__free_unpacked(r, NULL);
		return -ENOMEM;
	}
	return 0;
}

int criu_local_add_inherit_fd(criu_opts *o, int fd, const char *key)
{
	InheritFd *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	inherit_fd__init(f);
	f->fd = fd;
	f->key = strdup(key);
	if (!f->key || push(&o->rpc->inherit_fd, &o->rpc->n_inherit_fd, f)) {
		inherit_fd__free_unpacked(f, NULL);
		return -ENOMEM;
	}
	return 0;
}

int criu_local_join_ns_add(criu_opts *o, const char *ns, const char *ns_file,
			   const char *extra_opt)
{
	JoinNamespace *j = calloc(1, sizeof(*j));

	if (!j)
		return -ENOMEM;
	join_namespace__init(j);
	j->ns = strdup(ns);
	j->ns_file = strdup(ns_file);
	j->extra_opt = extra_opt ? strdup(extra_opt) : NULL;
	if (!j->ns || !j->ns_file || push(&o->rpc->join_ns, &o->rpc->n_join_ns, j)) {
		join_namespace__free_unpacked(j, NULL);
		return -ENOMEM;
	}
	return 0;
}

int criu_add_ext_mount(const char *key, const char *val)
{
	return criu_local_add_ext_mount(global, key, val);
}

int criu_add_veth_pair(const char *in, const char *out)
{
	return criu_local_add_veth_pair(global, in, out);
}

int criu_add_cg_root(const char *ctrl, const char *path)
{
	return criu_local_add_cg_root(global, ctrl, path);
}

int criu_add_inherit_fd(int fd, const char *key)
{
	return criu_local_add_inherit_fd(global, fd, key);
}

int criu_join_ns_add(const char *ns, const char *ns_file, const char *extra_opt)
{
	return criu_local_join_ns_add(global, ns, ns_file, extra_opt);
}

/* ---- talking to criu ---- */

struct conn {
	int sk;
	pid_t child;	/* the swrk we started, or 0 */
};

static int connect_criu(criu_opts *o, struct conn *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int sv[2];
	char fdstr[16];

	c->child = 0;
	if (o->comm == CRIU_COMM_FD) {
		c->sk = o->fd;
		return 0;
	}
	if (o->comm == CRIU_COMM_SK) {
		c->sk = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", o->address);
		if (c->sk < 0 || connect(c->sk, (struct sockaddr *)&sa, sizeof(sa))) {
			if (c->sk >= 0)
				close(c->sk);
			return -ECONNREFUSED;
		}
		return 0;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv))
		return -ECONNREFUSED;
	c->child = fork();
	if (c->child < 0) {
		close(sv[0]);
		close(sv[1]);
		return -ECONNREFUSED;
	}
	if (c->child == 0) {
		close(sv[0]);
		snprintf(fdstr, sizeof(fdstr), "%d", sv[1]);
		execlp(o->binary ? o->binary : "criu", "criu", "swrk", fdstr, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	c->sk = sv[0];
	return 0;
}

static void disconnect(criu_opts *o, struct conn *c)
{
	int status;

	if (o->comm != CRIU_COMM_FD)
		close(c->sk);
	if (c->child > 0)
		while (waitpid(c->child, &status, 0) < 0 && errno == EINTR)
			;
}

static int send_req(int sk, CriuReq *req)
{
	size_t len = criu_req__get_packed_size(req);
	void *buf = malloc(len);
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	criu_req__pack(req, buf);
	n = send(sk, buf, len, MSG_NOSIGNAL);
	free(buf);
	return n == (ssize_t)len ? 0 : -ECOMM;
}

/* A response, and an fd if one came with it (orphan-pts-master). */
static CriuResp *recv_resp(int sk, int *fd)
{
	char buf[1 << 16], cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *ch;
	ssize_t n = recvmsg(sk, &mh, MSG_CMSG_CLOEXEC);

	if (n <= 0 || (mh.msg_flags & MSG_TRUNC))
		return NULL;
	ch = CMSG_FIRSTHDR(&mh);
	if (ch && ch->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(ch), sizeof(int));
	return criu_resp__unpack(NULL, n, (void *)buf);
}

static int answer_notify(criu_opts *o, int sk, CriuResp *r)
{
	CriuReq ans = CRIU_REQ__INIT;
	int ret = 0;

	if (o->notify)
		ret = o->notify(r->notify->script, r->notify);
	ans.type = CRIU_REQ_TYPE__NOTIFY;
	ans.has_notify_success = true;
	ans.notify_success = ret == 0;
	return send_req(sk, &ans);
}

/* One request; *out gets the final response (freed by the caller). */
static int transact(criu_opts *o, CriuReq *req, CriuResp **out)
{
	struct conn c;
	CriuResp *r;
	int ret = connect_criu(o, &c);

	if (ret)
		return ret;
	ret = send_req(c.sk, req);
	while (!ret) {
		int fd = -1;

		r = recv_resp(c.sk, &fd);
		if (!r) {
			ret = -ECOMM;
			break;
		}
		if (r->type != CRIU_REQ_TYPE__NOTIFY) {
			*out = r;
			break;
		}
		if (fd >= 0)
			orphan_pts_fd = fd;
		ret = !r->notify ? -EBADMSG : answer_notify(o, c.sk, r);
		criu_resp__free_unpacked(r, NULL);
	}
	disconnect(o, &c);
	return ret;
}

static int simple(criu_opts *o, CriuReqType type, bool with_opts, CriuResp **out)
{
	CriuReq req = CRIU_REQ__INIT;
	CriuResp *r = NULL;
	int ret;

	req.type = type;
	if (with_opts)
		req.opts = o->rpc;
	ret = transact(o, &req, &r);
	if (ret)
		return ret;
	if (r->type != type) {
		criu_resp__free_unpacked(r, NULL);
		return -EBADMSG;
	}
	if (!r->success) {
		if (r->cr_errmsg)
			fprintf(stderr, "criu: %s\n", r->cr_errmsg);
		criu_resp__free_unpacked(r, NULL);
		return -EBADE;
	}
	if (out)
		*out = r;
	else
		criu_resp__free_unpacked(r, NULL);
	return 0;
}

int criu_local_check(criu_opts *o)
{
	return simple(o, CRIU_REQ_TYPE__CHECK, false, NULL);
}

int criu_local_dump(criu_opts *o)
{
	return simple(o, CRIU_REQ_TYPE__DUMP, true, NULL);
}

int criu_local_pre_dump(criu_opts *o)
{
	return simple(o, CRIU_REQ_TYPE__PRE_DUMP, true, NULL);
}

static int restore(criu_opts *o, bool child)
{
	CriuResp *r;
	int ret;

	o->rpc->has_rst_sibling = true;
	o->rpc->rst_sibling = child;
	ret = simple(o, CRIU_REQ_TYPE__RESTORE, true, &r);
	if (ret)
		return ret;
	ret = r->restore ? r->restore->pid : -EBADMSG;
	criu_resp__free_unpacked(r, NULL);
	return ret;
}

int criu_local_restore(criu_opts *o)
{
	return restore(o, false);
}

int criu_local_restore_child(criu_opts *o)
{
	return restore(o, true);
}

int criu_local_dump_iters(criu_opts *o, int (*more)(criu_predump_info pi))
{
	int r;

	/* each positive answer asks for one more pre-dump, then the dump */
	while ((r = more(NULL)) > 0)
		if ((r = criu_local_pre_dump(o)))
			return r;
	return r < 0 ? r : criu_local_dump(o);
}

int criu_local_get_version(criu_opts *o)
{
	CriuResp *r;
	int ret = simple(o, CRIU_REQ_TYPE__VERSION, false, &r);

	if (ret)
		return ret;
	ret = r->version ? r->version->major_number * 10000 + r->version->minor_number * 100 +
				   r->version->sublevel : -EBADMSG;
	criu_resp__free_unpacked(r, NULL);
	return ret;
}

int criu_local_check_version(criu_opts *o, int minimum)
{
	int v = criu_local_get_version(o);

	return v < 0 ? v : v >= minimum;
}

int criu_local_feature_check(criu_opts *o, struct criu_feature_check *f, size_t size)
{
	CriuFeatures q = CRIU_FEATURES__INIT;
	CriuReq req = CRIU_REQ__INIT;
	struct criu_feature_check want = { 0 };
	CriuResp *r = NULL;
	int ret;

	if (!f || size > sizeof(want))
		return -EINVAL;
	memcpy(&want, f, size);
	q.has_mem_track = want.mem_track;
	q.mem_track = want.mem_track;
	q.has_lazy_pages = want.lazy_pages;
	q.lazy_pages = want.lazy_pages;
	q.has_pidfd_store = want.pidfd_store;
	q.pidfd_store = want.pidfd_store;
	req.type = CRIU_REQ_TYPE__FEATURE_CHECK;
	req.features = &q;
	ret = transact(o, &req, &r);
	if (ret)
		return ret;
	if (!r->success || !r->features) {
		criu_resp__free_unpacked(r, NULL);
		return -EBADE;
	}
	want.mem_track = want.mem_track && r->features->mem_track;
	want.lazy_pages = want.lazy_pages && r->features->lazy_pages;
	want.pidfd_store = want.pidfd_store && r->features->pidfd_store;
	memcpy(f, &want, size);
	criu_resp__free_unpacked(r, NULL);
	return 0;
}

int criu_notify_pid(criu_notify_arg_t na)
{
	return na && na->has_pid ? na->pid : 0;
}

int criu_get_orphan_pts_master_fd(void)
{
	return orphan_pts_fd;
}

/* ---- the global options ---- */

int criu_init_opts(void)
{
	criu_local_free_opts(global);
	global = NULL;
	return criu_local_init_opts(&global);
}

void criu_free_opts(void)
{
	criu_local_free_opts(global);
	global = NULL;
}

int criu_set_service_address(const char *path)
{
	return criu_local_set_service_address(global, path);
}

void criu_set_service_fd(int fd)
{
	criu_local_set_service_fd(global, fd);
}

int criu_set_service_binary(const char *path)
{
	return criu_local_set_service_binary(global, path);
}

void criu_set_notify_cb(int (*cb)(char *action, criu_notify_arg_t na))
{
	criu_local_set_notify_cb(global, cb);
}

int criu_check(void)
{
	return criu_local_check(global);
}

int criu_dump(void)
{
	return criu_local_dump(global);
}

int criu_pre_dump(void)
{
	return criu_local_pre_dump(global);
}

int criu_restore(void)
{
	return criu_local_restore(global);
}

int criu_restore_child(void)
{
	return criu_local_restore_child(global);
}

int criu_dump_iters(int (*more)(criu_predump_info pi))
{
	return criu_local_dump_iters(global, more);
}

int criu_get_version(void)
{
	return criu_local_get_version(global);
}

int criu_check_version(int minimum)
{
	return criu_local_check_version(global, minimum);
}

int criu_feature_check(struct criu_feature_check *features, size_t size)
{
	return criu_local_feature_check(global, features, size);
}
