/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_OPTIONS_H
#define CR_OPTIONS_H

#include <stdbool.h>
#include <sys/types.h>

struct cr_options {
	pid_t tree_pid;
	char *imgs_dir;
	char *work_dir;
	char *log_file;
	char *pidfile;
	int verbosity;
	bool leave_running;
	bool shell_job;
	bool restore_detached;
	bool file_locks;	/* --file-locks: dump and restore file locks */
	bool tcp_established;	/* --tcp-established: dump connections with TCP_REPAIR */
	bool tcp_close;	/* --tcp-close: established connections come back closed */
	bool ext_unix_sk;	/* --ext-unix-sk: unix sockets with a peer outside the tree */
	unsigned int timeout;	/* seconds to wait for the tree to freeze */
	int network_lock_method; /* --network-lock: enum network_lock_method, or -1 */
	bool restore_sibling;	/* RPC rst_sibling: the root becomes the client's child */
	char *address;		/* criu service --address; the page server's address */
	bool use_page_server;	/* dump --page-server: pages go to --address:--port */
	int ps_port;		/* --port, -1 if not given */
	int ps_socket;		/* --ps-socket FD: the connection itself, -1 if not given */
	int status_fd;		/* page-server --status-fd: '\0' once it listens */
	bool daemon_mode;	/* page-server --daemon */
	unsigned int cpu_cap;	/* --cpu-cap: CPU_CAP_* bits */
	bool cpu_cap_set;	/* --cpu-cap was given */
	bool track_mem;		/* --track-mem: userfaultfd write tracking */
	bool pre_dump;		/* criu pre-dump: the tree runs on, tracking kept */
	char *prev_images_dir;	/* --prev-images-dir, relative to -D */
	char *check_feature;	/* criu check --feature NAME */
	unsigned int empty_ns;	/* --empty-ns net: CLONE_NEWNET, devices left alone */
	bool evasive_devices;	/* --evasive-devices: accepted (device files by path) */
	unsigned long long ghost_limit;	/* --ghost-limit: largest deleted file saved; 0 any */
	bool orphan_pts_master;	/* RPC: a console pty's master goes to the client */
	bool auto_dedup;	/* --auto-dedup: the parent's copies of saved pages punched */
	bool rpc;		/* criu swrk / service: stdout is not ours to print on */
	char *root;		/* --root: the root of the restored mount namespace */
	int manage_cgroups;	/* --manage-cgroups: enum cg_mode (cgroup.h), soft by default */
	char *freeze_cgroup;	/* --freeze-cgroup PATH: freeze the tree through it */
	char *cgroup_yard;	/* --cgroup-yard DIR: a mount of each hierarchy there */
	bool lazy_pages;	/* restore --lazy-pages: private memory from criu lazy-pages */
};

/* --cpu-cap, as CRIU names them: what cpuinfo.img is checked for */
#define CPU_CAP_NONE	0u
#define CPU_CAP_FPU	(1u << 0)	/* what the FPU state needs */
#define CPU_CAP_CPU	(1u << 1)	/* every feature word the same */
#define CPU_CAP_INS	(1u << 2)	/* every instruction set the dump's CPU had */
#define CPU_CAP_ALL	(CPU_CAP_FPU | CPU_CAP_CPU | CPU_CAP_INS)

extern struct cr_options opts;

int cr_dump_tasks(pid_t pid);
int cr_restore_tasks(void);
int cr_check(void);
/* The log of a command (crtools.c), also for RPC requests. */
int cr_setup_logging(const char *cmd);
/* After a restore: the root's pid as criu sees it. */
pid_t restored_root_pid(void);

#endif
