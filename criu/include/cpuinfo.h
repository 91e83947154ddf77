/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_CPUINFO_H
#define CR_CPUINFO_H

#include <stdbool.h>

#include "core.pb-c.h"

/* --cpu-cap VALUE[,VALUE...]: fpu, ins, cpu, all, none (CRIU's names) */
int cpu_cap_parse(const char *arg);
/* Write cpuinfo.img for this CPU (unless --cpu-cap none). */
int cpuinfo_dump(void);
/*
 * Can this CPU run the images, as far as caps asks?  Without cpuinfo.img
 * that is an error only if need_image.  0 yes, -1 no (said why).
 */
int cpuinfo_check(unsigned int caps, bool need_image);
/* Does this thread's FPU/XSAVE state fit this CPU?  Always checked. */
int cpu_check_thread(const CoreEntry *core, int tid);
/* criu cpuinfo dump|check */
int cr_cpuinfo(const char *sub);

#endif
