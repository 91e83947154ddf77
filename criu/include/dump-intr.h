/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_DUMP_INTR_H
#define CR_DUMP_INTR_H

/*
 * SIGTERM, SIGINT and SIGHUP during a dump: the handler only notes the
 * signal; the dump sees it at its next step and fails there, so the
 * usual rollback resumes every task as it was.
 *
 * Steps also serve test/interrupt: with CRIU_FAULT_STEP=N in the
 * environment criu sends itself CRIU_FAULT_SIGNAL (default SIGKILL) at
 * step N, and says how many steps a dump took in its log.
 */
void dump_intr_begin(void);
void dump_intr_end(void);
/* Count a step; -1 (reported once) when the dump was interrupted. */
int dump_step(const char *what);
/* The signal that interrupted the dump, or 0. */
int dump_interrupted(void);

#endif
