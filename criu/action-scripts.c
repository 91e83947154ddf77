// SPDX-License-Identifier: GPL-2.0
/*
 * Action scripts and RPC notifications: at fixed moments of a dump or a
 * restore criu runs the user's --action-script programs, and an RPC client
 * that asked for notify_scripts gets a NOTIFY response naming the moment
 * and must answer with a NOTIFY request (notify_success) before criu goes
 * on.  The names and the environment are CRIU's.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "action-scripts.h"
#include "cr_options.h"
#include "image.h"
#include "log.h"
#include "rpc.h"
#include "util.h"

static const char *const names[ACT_NR] = {
	[ACT_PRE_DUMP]		= "pre-dump",
	[ACT_POST_DUMP]		= "post-dump",
	[ACT_PRE_RESTORE]	= "pre-restore",
	[ACT_POST_RESTORE]	= "post-restore",
	[ACT_NET_LOCK]		= "network-lock",
	[ACT_NET_UNLOCK]	= "network-unlock",
	[ACT_SETUP_NS]		= "setup-namespaces",
	[ACT_POST_SETUP_NS]	= "post-setup-namespaces",
	[ACT_POST_RESUME]	= "post-resume",
	[ACT_PRE_RESUME]	= "pre-resume",
	[ACT_ORPHAN_PTS_MASTER]	= "orphan-pts-master",
	[ACT_STATUS_READY]	= "status-ready",
};

#define MAX_SCRIPTS 16
static const char *scripts[MAX_SCRIPTS];
static int nr_scripts;
static int notify_sk = -1;

const char *action_name(enum script_action act)
{
	return names[act];
}

int add_action_script(const char *path)
{
	if (nr_scripts == MAX_SCRIPTS) {
		pr_err("more than %d --action-script options\n", MAX_SCRIPTS);
		return -1;
	}
	scripts[nr_scripts++] = path;
	return 0;
}

void set_rpc_notify(int sk)
{
	notify_sk = sk;
}

static int set_env(enum script_action act, pid_t pid)
{
	char buf[PATH_MAX];

	if (setenv("CRTOOLS_SCRIPT_ACTION", names[act], 1))
		return -1;
	if (get_image_dir_fd() >= 0) {
		snprintf(buf, sizeof(buf), "/proc/%d/fd/%d", getpid(), get_image_dir_fd());
		if (setenv("CRTOOLS_IMAGE_DIR", buf, 1))
			return -1;
	}
	if (pid > 0) {
		snprintf(buf, sizeof(buf), "%d", pid);
		if (setenv("CRTOOLS_INIT_PID", buf, 1))
			return -1;
	}
	return 0;
}

static int run_script(const char *path, enum script_action act)
{
	int status;
	pid_t pid = fork();

	if (pid < 0) {
		pr_perror("cannot fork action script %s", path);
		return -1;
	}
	if (!pid) {
		execl("/bin/sh", "sh", "-c", path, (char *)NULL);
		_exit(127);
	}
	if (xwaitpid(pid, &status, 0) != pid) {
		pr_perror("cannot wait for action script %s", path);
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		pr_err("action script %s failed at %s (status %#x)\n", path, names[act], status);
		return -1;
	}
	return 0;
}

int run_action(enum script_action act, pid_t pid)
{
	return run_action_fd(act, pid, -1);
}

int status_ready(void)
{
	int ret = 0;

	if (opts.status_fd >= 0) {
		if (write(opts.status_fd, "", 1) != 1) {
			pr_perror("cannot write to --status-fd %d", opts.status_fd);
			ret = -1;
		}
		close(opts.status_fd);
		opts.status_fd = -1;
	}
	return run_action(ACT_STATUS_READY, 0) ? -1 : ret;
}

int run_action_fd(enum script_action act, pid_t pid, int fd)
{
	int i;

	if (!nr_scripts && notify_sk < 0)
		return 0;
	pr_info("action %s (pid %d)\n", names[act], pid);
	if (nr_scripts && set_env(act, pid)) {
		pr_perror("cannot set the environment of the %s scripts", names[act]);
		return -1;
	}
	for (i = 0; i < nr_scripts; i++)
		if (run_script(scripts[i], act))
			return -1;
	if (notify_sk >= 0 && rpc_notify(notify_sk, names[act], pid, fd)) {
		pr_err("the RPC client refused or did not answer notification %s\n", names[act]);
		return -1;
	}
	return 0;
}
