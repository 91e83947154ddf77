// SPDX-License-Identifier: GPL-2.0
#include "cr_options.h"
#include "log.h"

int cr_restore_tasks(void)
{
	pr_err("restore is not implemented yet\n");
	return -1;
}
