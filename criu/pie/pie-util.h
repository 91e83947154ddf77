/* SPDX-License-Identifier: GPL-2.0 */
#ifndef PIE_UTIL_H
#define PIE_UTIL_H

#include <stdint.h>

#include "syscalls.h"

void *rst_memset(void *s, int c, size_t n);
/* A minimal printf to a file descriptor: %d %u %ld %lu %x %lx %s %c. */
void rst_log(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Short names for the errors a restorer can hit. */
const char *rst_strerror(long err);

#endif
