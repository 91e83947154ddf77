/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_RPC_H
#define CR_RPC_H

#include <sys/types.h>

/* criu swrk FD: serve the requests that come over the socket fd */
int cr_swrk(int sk);
/* criu service: listen on a unix socket, one child per connection */
int cr_service(const char *address);
/* A NOTIFY to the client and its answer; 0 if it said go on. */
int rpc_notify(int sk, const char *script, pid_t pid, int fd);

/* The interface version of CRIU this tool speaks (criu --version, VERSION) */
#define CRIU_IFACE_MAJOR 4
#define CRIU_IFACE_MINOR 2
#define CRIU_IFACE_VERSION "4.2"
#define CR_SERVICE_ADDRESS "/var/run/criu_service.socket"

#endif
