/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_EXTERNAL_H
#define CR_EXTERNAL_H

/*
 * --external KEY:VALUE (RPC: external strings and veths pairs): what the
 * tree uses outside of itself, as CRIU names it, e.g. veth[eth0]:vh0.
 */
int external_add(const char *spec);
/* The value given for key (e.g. "veth[eth0]"), or NULL. */
const char *external_lookup(const char *key);

#endif
