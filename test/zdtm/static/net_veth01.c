// SPDX-License-Identifier: GPL-2.0-only
/* net_veth00 with TCP listeners bound to the veth's addresses (see there). */
#define NET_VETH_LISTEN
#include "net_veth00.c"
