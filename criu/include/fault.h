/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_FAULT_H
#define CR_FAULT_H

#include <stdbool.h>

/*
 * Fault injection for the tests (test/faults): CRIU_FAULT=CLASS:N makes the
 * N-th pass of criu (and its children) through a point of that class fail
 * as if the operation had failed with the class's errno.
 * CRIU_FAULT_COUNT=FILE writes how often each class was passed, at exit.
 */
enum fault_class {
	FI_IMG_OPEN,		/* open_image() */
	FI_IMG_WRITE,		/* img_write_raw(), img_flush() */
	FI_IMG_READ,		/* img_read_raw(), pb_read_one_eof() */
	FI_PROC_READ,		/* read_file_at(): /proc and other small files */
	FI_SEIZE,		/* PTRACE_SEIZE of a task to dump */
	FI_REMOTE,		/* a remote system call in a dumped task */
	FI_MEM_READ,		/* process_vm_readv of a batch of pages */
	FI_FORK,		/* clone3 of a restored task */
	FI_PREMAP,		/* mmap of a VMA at restore */
	FI_ANCHOR,		/* opening a file description at restore */
	FI_NR
};

void fault_init(void);
void fault_fini(void);
/* True when this pass is the one to fail; errno is set for the caller. */
bool fault_hit(enum fault_class c);

#endif
