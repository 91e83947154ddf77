/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_RPC_INTERNAL_H
#define CR_RPC_INTERNAL_H

#include <stdbool.h>
#include <sys/types.h>

#include "rpc.pb-c.h"

/* criu swrk: fds given in requests are ours too (inherited from the client) */
extern bool rpc_swrk_mode;

struct rpc_ctx {
	int sk;
	pid_t peer;		/* the client, by SO_PEERCRED */
	CriuReq *req;
	char imgs[64], work[64];
	char err[512];		/* why a request was refused before it ran */
};

/* Apply a request's criu_opts to opts; -1 with c->err set when refused. */
int rpc_apply_opts(struct rpc_ctx *c, CriuOpts *o);
/* Only the image and work directories of o. */
void rpc_opt_dirs(CriuOpts *o, struct rpc_ctx *c);

#endif
