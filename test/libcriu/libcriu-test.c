// SPDX-License-Identifier: GPL-2.0
/*
 * libcriu.so.2 as crun uses it: every symbol crun looks up with dlsym()
 * is there; then, through the library and our criu binary, a version
 * check, a feature check, a dump of a child with notifications, and
 * criu_restore_child(), whose tree must come back as our child and go on
 * counting.  Usage: libcriu-test LIBCRIU_SO CRIU_BINARY (as root).
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "criu.h"

/* what crun's load_wrapper() asks for (crun 1.8.1, with CRIU_PRE_DUMP_SUPPORT) */
static const char *const crun_symbols[] = {
	"criu_add_cg_root", "criu_add_enable_fs", "criu_add_ext_mount", "criu_add_external",
	"criu_add_inherit_fd", "criu_add_irmap_path", "criu_add_skip_mnt", "criu_add_unix_sk",
	"criu_add_veth_pair", "criu_check", "criu_check_version", "criu_dump",
	"criu_dump_iters", "criu_feature_check", "criu_free_opts",
	"criu_get_orphan_pts_master_fd", "criu_get_version", "criu_init_opts",
	"criu_join_ns_add", "criu_local_add_cg_dump_controller", "criu_local_add_cg_props",
	"criu_local_add_cg_props_file", "criu_local_add_cg_root", "criu_local_add_cg_yard",
	"criu_local_add_enable_fs", "criu_local_add_ext_mount", "criu_local_add_external",
	"criu_local_add_inherit_fd", "criu_local_add_irmap_path", "criu_local_add_skip_mnt",
	"criu_local_add_unix_sk", "criu_local_add_veth_pair", "criu_local_check",
	"criu_local_check_version", "criu_local_dump", "criu_local_dump_iters",
	"criu_local_feature_check", "criu_local_free_opts", "criu_local_get_version",
	"criu_local_init_opts", "criu_local_join_ns_add", "criu_local_pre_dump",
	"criu_local_restore", "criu_local_restore_child", "criu_local_set_auto_dedup",
	"criu_local_set_auto_ext_mnt", "criu_local_set_cpu_cap",
	"criu_local_set_evasive_devices", "criu_local_set_exec_cmd",
	"criu_local_set_ext_masters", "criu_local_set_ext_sharing",
	"criu_local_set_ext_unix_sk", "criu_local_set_file_locks",
	"criu_local_set_force_irmap", "criu_local_set_freeze_cgroup",
	"criu_local_set_ghost_limit", "criu_local_set_images_dir_fd",
	"criu_local_set_leave_running", "criu_local_set_link_remap", "criu_local_set_log_file",
	"criu_local_set_log_level", "criu_local_set_lsm_mount_context",
	"criu_local_set_lsm_profile", "criu_local_set_manage_cgroups",
	"criu_local_set_manage_cgroups_mode", "criu_local_set_mntns_compat_mode",
	"criu_local_set_network_lock", "criu_local_set_notify_cb",
	"criu_local_set_orphan_pts_master", "criu_local_set_page_server_address_port",
	"criu_local_set_parent_images", "criu_local_set_pid", "criu_local_set_pidfd_store_sk",
	"criu_local_set_pre_dump_mode", "criu_local_set_root",
	"criu_local_set_service_address", "criu_local_set_service_binary",
	"criu_local_set_service_fd", "criu_local_set_shell_job", "criu_local_set_tcp_close",
	"criu_local_set_tcp_established", "criu_local_set_tcp_skip_in_flight",
	"criu_local_set_timeout", "criu_local_set_track_mem", "criu_local_set_weak_sysctls",
	"criu_local_set_work_dir_fd", "criu_notify_pid", "criu_pre_dump", "criu_restore",
	"criu_restore_child", "criu_set_auto_dedup", "criu_set_auto_ext_mnt",
	"criu_set_config_file", "criu_set_cpu_cap", "criu_set_evasive_devices",
	"criu_set_exec_cmd", "criu_set_ext_masters", "criu_set_ext_sharing",
	"criu_set_ext_unix_sk", "criu_set_file_locks", "criu_set_force_irmap",
	"criu_set_freeze_cgroup", "criu_set_ghost_limit", "criu_set_images_dir_fd",
	"criu_set_leave_running", "criu_set_link_remap", "criu_set_log_file",
	"criu_set_log_level", "criu_set_lsm_mount_context", "criu_set_lsm_profile",
	"criu_set_manage_cgroups", "criu_set_manage_cgroups_mode",
	"criu_set_mntns_compat_mode", "criu_set_network_lock", "criu_set_notify_cb",
	"criu_set_orphan_pts_master", "criu_set_page_server_address_port",
	"criu_set_parent_images", "criu_set_pid", "criu_set_pidfd_store_sk",
	"criu_set_pre_dump_mode", "criu_set_root", "criu_set_service_address",
	"criu_set_service_binary", "criu_set_service_fd", "criu_set_shell_job",
	"criu_set_tcp_close", "criu_set_tcp_established", "criu_set_tcp_skip_in_flight",
	"criu_set_timeout", "criu_set_track_mem", "criu_set_weak_sysctls",
	"criu_set_work_dir_fd",
};

static char notes[512];

static int notify(char *action, criu_notify_arg_t na)
{
	size_t l = strlen(notes);

	snprintf(notes + l, sizeof(notes) - l, "%s%s", l ? " " : "", action);
	if (!strcmp(action, "post-restore") && criu_notify_pid(na) <= 0)
		return -1;
	return 0;
}

static int fail(const char *what, int r)
{
	printf("FAIL %s (%d)\n", what, r);
	return 1;
}

static long counter(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY);

	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf) - 1) < 0)
			buf[0] = '\0';
		close(fd);
	}
	return atol(buf);
}

static pid_t start_counter(const char *path)
{
	pid_t pid = fork();

	if (pid == 0) {
		setsid();
		int nul = open("/dev/null", O_RDWR);

		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
		execl("/bin/sh", "sh", "-c",
		      "i=0; while :; do i=$((i+1)); echo $i > \"$0\"; sleep 0.05; done", path,
		      (char *)NULL);
		_exit(127);
	}
	return pid;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/libcriu-test.XXXXXX", count[64];
	struct criu_feature_check f = { .mem_track = true, .lazy_pages = true };
	char cmd[4200];
	bool works, lazy;
	void *h;
	size_t i;
	pid_t pid;
	long before;
	int r, dfd;

	if (argc != 3)
		return fail("usage: libcriu-test LIBCRIU_SO CRIU_BINARY", 0);
	h = dlopen(argv[1], RTLD_NOW);
	if (!h)
		return fail(dlerror(), 0);
	for (i = 0; i < sizeof(crun_symbols) / sizeof(crun_symbols[0]); i++)
		if (!dlsym(h, crun_symbols[i]))
			return fail(crun_symbols[i], 0);
	printf("PASS crun's %zu symbols\n", i);

	if (criu_init_opts() || criu_set_service_binary(argv[2]))
		return fail("criu_init_opts", 0);
	r = criu_check_version(30000);
	if (r != 1)
		return fail("criu_check_version(30000)", r);
	r = criu_feature_check(&f, sizeof(f));
	/* mem_track: what criu check --feature mem_dirty_track says */
	snprintf(cmd, sizeof(cmd), "%s check --feature mem_dirty_track >/dev/null", argv[2]);
	works = system(cmd) == 0;
	snprintf(cmd, sizeof(cmd), "%s check --feature lazy_pages >/dev/null", argv[2]);
	lazy = system(cmd) == 0;
	if (r || f.mem_track != works || f.lazy_pages != lazy)
		return fail("criu_feature_check (mem_track, lazy_pages as check --feature says)",
			    r);
	printf("PASS version %d, feature check\n", criu_get_version());

	/* the dumped shell's sleep children become ours, to be reaped */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) || !mkdtemp(dir))
		return fail("subreaper or mkdtemp", 0);
	snprintf(count, sizeof(count), "%s/count", dir);
	pid = start_counter(count);
	usleep(300000);
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	criu_set_images_dir_fd(dfd);
	criu_set_pid(pid);
	criu_set_log_file("dump.log");
	criu_set_log_level(4);
	criu_set_notify_cb(notify);
	r = criu_dump();
	if (r)
		return fail("criu_dump", r);
	while (waitpid(-1, NULL, 0) > 0)
		;	/* the dumped tree is gone: reap all of it, its pids are needed */
	printf("PASS criu_dump: %s\n", notes);

	before = counter(count);
	notes[0] = '\0';
	criu_init_opts();
	criu_set_service_binary(argv[2]);
	criu_set_images_dir_fd(dfd);
	criu_set_log_file("restore.log");
	criu_set_log_level(4);
	criu_set_notify_cb(notify);
	r = criu_restore_child();
	if (r != pid)
		return fail("criu_restore_child: not the dumped pid", r);
	usleep(300000);
	if (counter(count) <= before) {
		kill(pid, SIGKILL);
		return fail("the restored counter does not go on", (int)before);
	}
	kill(pid, SIGKILL);
	if (waitpid(pid, NULL, 0) != pid)
		return fail("the restored tree is not our child", pid);
	printf("PASS criu_restore_child: pid %d, %s\n", r, notes);
	return 0;
}
