/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_ACTION_SCRIPTS_H
#define CR_ACTION_SCRIPTS_H

#include <sys/types.h>

/* The moments at which CRIU runs --action-script and sends RPC notifies. */
enum script_action {
	ACT_PRE_DUMP,
	ACT_POST_DUMP,
	ACT_PRE_RESTORE,
	ACT_POST_RESTORE,
	ACT_NET_LOCK,
	ACT_NET_UNLOCK,
	ACT_SETUP_NS,
	ACT_POST_SETUP_NS,
	ACT_POST_RESUME,
	ACT_PRE_RESUME,
	ACT_ORPHAN_PTS_MASTER,
	ACT_STATUS_READY,
	ACT_NR
};

/* --action-script PATH (repeatable) */
int add_action_script(const char *path);
/* the RPC client wants NOTIFY messages (criu_opts.notify_scripts) */
void set_rpc_notify(int sk);
/*
 * Run every script with CRTOOLS_SCRIPT_ACTION=name (and CRTOOLS_IMAGE_DIR,
 * CRTOOLS_INIT_PID when pid > 0), then tell the RPC client; a script that
 * fails or a client that says no fails the step.
 */
int run_action(enum script_action act, pid_t pid);
/* The same; fd >= 0 goes to the RPC client with the notification (SCM_RIGHTS). */
int run_action_fd(enum script_action act, pid_t pid, int fd);
/* Ready to serve: a '\0' to --status-fd (once), and "status-ready". */
int status_ready(void);
const char *action_name(enum script_action act);

#endif
