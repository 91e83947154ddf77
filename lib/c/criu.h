/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * libcriu of criu-cr: CRIU's C API (the names, types and return values
 * that crun and other users of CRIU's libcriu.so.2 call), implemented as a
 * client of `criu swrk`.  Each call that does something starts the criu
 * binary (criu_set_service_binary, default "criu" in PATH), or talks to
 * `criu service` (criu_set_service_address) or an open socket
 * (criu_set_service_fd), and sends one RPC request.
 *
 * Return values of the requests: 0 on success (criu_restore*: the pid),
 * -EBADE when criu refused or failed the request (see its log),
 * -ECONNREFUSED when criu could not be reached, -ECOMM when a message could
 * not be sent or received, -EBADMSG for an answer that makes no sense.
 */
#ifndef CRIU_CR_LIBCRIU_H
#define CRIU_CR_LIBCRIU_H

#include <stdbool.h>
#include <stddef.h>

#include "rpc.pb-c.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CRIU_LOG_UNSET (-1)
#define CRIU_LOG_MSG 0
#define CRIU_LOG_ERROR 1
#define CRIU_LOG_WARN 2
#define CRIU_LOG_INFO 3
#define CRIU_LOG_DEBUG 4

enum criu_service_comm { CRIU_COMM_SK, CRIU_COMM_FD, CRIU_COMM_BIN };

enum criu_cg_mode {
	CRIU_CG_MODE_IGNORE,
	CRIU_CG_MODE_NONE,
	CRIU_CG_MODE_PROPS,
	CRIU_CG_MODE_SOFT,
	CRIU_CG_MODE_FULL,
	CRIU_CG_MODE_STRICT,
	CRIU_CG_MODE_DEFAULT,
};

enum criu_network_lock_method {
	CRIU_NETWORK_LOCK_IPTABLES = 1,
	CRIU_NETWORK_LOCK_NFTABLES = 2,
	CRIU_NETWORK_LOCK_SKIP = 3,
};

enum criu_pre_dump_mode { CRIU_PRE_DUMP_SPLICE = 1, CRIU_PRE_DUMP_READ = 2 };

typedef CriuNotify *criu_notify_arg_t;
typedef void *criu_predump_info;
typedef struct criu_opts criu_opts;

struct criu_feature_check {
	bool mem_track;
	bool lazy_pages;
	bool pidfd_store;
};

/* ---- with options of one's own ---- */
int criu_local_init_opts(criu_opts **opts);
void criu_local_free_opts(criu_opts *opts);
int criu_local_set_service_address(criu_opts *opts, const char *path);
void criu_local_set_service_fd(criu_opts *opts, int fd);
int criu_local_set_service_binary(criu_opts *opts, const char *path);

void criu_local_set_pid(criu_opts *opts, int pid);
void criu_local_set_images_dir_fd(criu_opts *opts, int fd);
void criu_local_set_work_dir_fd(criu_opts *opts, int fd);
int criu_local_set_parent_images(criu_opts *opts, const char *path);
void criu_local_set_leave_running(criu_opts *opts, bool val);
void criu_local_set_ext_unix_sk(criu_opts *opts, bool val);
void criu_local_set_tcp_established(criu_opts *opts, bool val);
void criu_local_set_tcp_skip_in_flight(criu_opts *opts, bool val);
void criu_local_set_tcp_close(criu_opts *opts, bool val);
void criu_local_set_weak_sysctls(criu_opts *opts, bool val);
void criu_local_set_evasive_devices(criu_opts *opts, bool val);
void criu_local_set_shell_job(criu_opts *opts, bool val);
void criu_local_set_skip_file_rwx_check(criu_opts *opts, bool val);
void criu_local_set_unprivileged(criu_opts *opts, bool val);
void criu_local_set_orphan_pts_master(criu_opts *opts, bool val);
void criu_local_set_file_locks(criu_opts *opts, bool val);
void criu_local_set_track_mem(criu_opts *opts, bool val);
void criu_local_set_auto_dedup(criu_opts *opts, bool val);
void criu_local_set_force_irmap(criu_opts *opts, bool val);
void criu_local_set_link_remap(criu_opts *opts, bool val);
void criu_local_set_auto_ext_mnt(criu_opts *opts, bool val);
void criu_local_set_ext_sharing(criu_opts *opts, bool val);
void criu_local_set_ext_masters(criu_opts *opts, bool val);
void criu_local_set_mntns_compat_mode(criu_opts *opts, bool val);
void criu_local_set_manage_cgroups(criu_opts *opts, bool val);
void criu_local_set_log_level(criu_opts *opts, int log_level);
int criu_local_set_log_file(criu_opts *opts, const char *log_file);
void criu_local_set_cpu_cap(criu_opts *opts, unsigned int cap);
void criu_local_set_timeout(criu_opts *opts, unsigned int timeout);
void criu_local_set_ghost_limit(criu_opts *opts, unsigned int limit);
void criu_local_set_empty_ns(criu_opts *opts, int namespaces);
void criu_local_set_pidfd_store_sk(criu_opts *opts, int sk);
int criu_local_set_root(criu_opts *opts, const char *root);
int criu_local_set_freeze_cgroup(criu_opts *opts, const char *name);
int criu_local_set_lsm_profile(criu_opts *opts, const char *name);
int criu_local_set_lsm_mount_context(criu_opts *opts, const char *name);
int criu_local_set_config_file(criu_opts *opts, const char *path);
void criu_local_set_manage_cgroups_mode(criu_opts *opts, enum criu_cg_mode mode);
int criu_local_set_network_lock(criu_opts *opts, enum criu_network_lock_method method);
int criu_local_set_pre_dump_mode(criu_opts *opts, enum criu_pre_dump_mode mode);
int criu_local_set_page_server_address_port(criu_opts *opts, const char *address, int port);
int criu_local_add_ext_mount(criu_opts *opts, const char *key, const char *val);
int criu_local_add_veth_pair(criu_opts *opts, const char *in, const char *out);
int criu_local_add_cg_root(criu_opts *opts, const char *ctrl, const char *path);
int criu_local_add_enable_fs(criu_opts *opts, const char *fs);
int criu_local_add_skip_mnt(criu_opts *opts, const char *mnt);
int criu_local_add_irmap_path(criu_opts *opts, const char *path);
int criu_local_add_inherit_fd(criu_opts *opts, int fd, const char *key);
int criu_local_add_external(criu_opts *opts, const char *key);
int criu_local_join_ns_add(criu_opts *opts, const char *ns, const char *ns_file,
			   const char *extra_opt);
int criu_local_add_unix_sk(criu_opts *opts, unsigned int inode);
int criu_local_set_exec_cmd(criu_opts *opts, int argc, char *argv[]);
int criu_local_add_cg_props(criu_opts *opts, const char *stream);
int criu_local_add_cg_props_file(criu_opts *opts, const char *path);
int criu_local_add_cg_dump_controller(criu_opts *opts, const char *name);
int criu_local_add_cg_yard(criu_opts *opts, const char *path);
void criu_local_set_notify_cb(criu_opts *opts, int (*cb)(char *action, criu_notify_arg_t na));

int criu_local_check(criu_opts *opts);
int criu_local_dump(criu_opts *opts);
int criu_local_pre_dump(criu_opts *opts);
int criu_local_restore(criu_opts *opts);
int criu_local_restore_child(criu_opts *opts);
int criu_local_dump_iters(criu_opts *opts, int (*more)(criu_predump_info pi));
int criu_local_get_version(criu_opts *opts);
int criu_local_check_version(criu_opts *opts, int minimum);
int criu_local_feature_check(criu_opts *opts, struct criu_feature_check *features, size_t size);

/* ---- the same on one global set of options (criu_init_opts first) ---- */
int criu_init_opts(void);
void criu_free_opts(void);
int criu_set_service_address(const char *path);
void criu_set_service_fd(int fd);
int criu_set_service_binary(const char *path);

void criu_set_pid(int pid);
void criu_set_images_dir_fd(int fd);
void criu_set_work_dir_fd(int fd);
int criu_set_parent_images(const char *path);
void criu_set_leave_running(bool val);
void criu_set_ext_unix_sk(bool val);
void criu_set_tcp_established(bool val);
void criu_set_tcp_skip_in_flight(bool val);
void criu_set_tcp_close(bool val);
void criu_set_weak_sysctls(bool val);
void criu_set_evasive_devices(bool val);
void criu_set_shell_job(bool val);
void criu_set_skip_file_rwx_check(bool val);
void criu_set_unprivileged(bool val);
void criu_set_orphan_pts_master(bool val);
void criu_set_file_locks(bool val);
void criu_set_track_mem(bool val);
void criu_set_auto_dedup(bool val);
void criu_set_force_irmap(bool val);
void criu_set_link_remap(bool val);
void criu_set_auto_ext_mnt(bool val);
void criu_set_ext_sharing(bool val);
void criu_set_ext_masters(bool val);
void criu_set_mntns_compat_mode(bool val);
void criu_set_manage_cgroups(bool val);
void criu_set_log_level(int log_level);
int criu_set_log_file(const char *log_file);
void criu_set_cpu_cap(unsigned int cap);
void criu_set_timeout(unsigned int timeout);
void criu_set_ghost_limit(unsigned int limit);
void criu_set_empty_ns(int namespaces);
void criu_set_pidfd_store_sk(int sk);
int criu_set_root(const char *root);
int criu_set_freeze_cgroup(const char *name);
int criu_set_lsm_profile(const char *name);
int criu_set_lsm_mount_context(const char *name);
int criu_set_config_file(const char *path);
void criu_set_manage_cgroups_mode(enum criu_cg_mode mode);
int criu_set_network_lock(enum criu_network_lock_method method);
int criu_set_pre_dump_mode(enum criu_pre_dump_mode mode);
int criu_set_page_server_address_port(const char *address, int port);
int criu_add_ext_mount(const char *key, const char *val);
int criu_add_veth_pair(const char *in, const char *out);
int criu_add_cg_root(const char *ctrl, const char *path);
int criu_add_enable_fs(const char *fs);
int criu_add_skip_mnt(const char *mnt);
int criu_add_irmap_path(const char *path);
int criu_add_inherit_fd(int fd, const char *key);
int criu_add_external(const char *key);
int criu_join_ns_add(const char *ns, const char *ns_file, const char *extra_opt);
int criu_add_unix_sk(unsigned int inode);
int criu_set_exec_cmd(int argc, char *argv[]);
int criu_add_cg_props(const char *stream);
int criu_add_cg_props_file(const char *path);
int criu_add_cg_dump_controller(const char *name);
int criu_add_cg_yard(const char *path);
void criu_set_notify_cb(int (*cb)(char *action, criu_notify_arg_t na));

/* in a notify callback: the pid the notification names, 0 if none */
int criu_notify_pid(criu_notify_arg_t na);
/* after the orphan-pts-master notification: the fd criu sent, or -1 */
int criu_get_orphan_pts_master_fd(void);

int criu_check(void);
int criu_dump(void);
int criu_pre_dump(void);
int criu_restore(void);
int criu_restore_child(void);
int criu_dump_iters(int (*more)(criu_predump_info pi));
/* major * 10000 + minor * 100 + sublevel of the criu binary */
int criu_get_version(void);
/* 1 if the binary is at least minimum, 0 if older, < 0 on error */
int criu_check_version(int minimum);
int criu_feature_check(struct criu_feature_check *features, size_t size);

#ifdef __cplusplus
}
#endif

#endif
