/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_FILE_ID_H
#define CR_FILE_ID_H

#include <sys/stat.h>

#include "files.h"
#include "regfile.pb-c.h"

u64 mtime_ns(const struct stat *st);
/* dump: mtime and build-id of the file of p (an exe or mapped file) into re */
int note_identity(struct fd_parms *p, RegFileEntry *re);
/* restore: what changed of the file of re, open at fd, into buf ("" if nothing) */
void identity_changes(RegFileEntry *re, int fd, const struct stat *st, char *buf, size_t len);

#endif
