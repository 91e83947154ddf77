/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_DEDUP_H
#define CR_DEDUP_H

/*
 * --auto-dedup (RPC auto_dedup): after a dump with a parent, the parent's
 * copies of the pages this dump saved again are punched out of its pages
 * files.  Call with the images written and the tree still listed.
 */
int dedup_parent_pages(void);

#endif
