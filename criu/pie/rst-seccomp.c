// SPDX-License-Identifier: GPL-2.0
/* seccomp in the restorer: filters and strict mode of one thread. */
#include <linux/prctl.h>
#include <linux/seccomp.h>

#include "rst-seccomp.h"
#include "syscalls.h"

/* the kernel's struct sock_fprog on x86_64 */
struct k_sock_fprog {
	uint16_t len;
	uint16_t pad[3];
	uint64_t filter;
};

long rst_seccomp_filters(const struct rst_seccomp *f, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		struct k_sock_fprog prog = {.len = (uint16_t)f[i].len, .filter = f[i].insns};
		long r = sys_seccomp(SECCOMP_SET_MODE_FILTER, f[i].flags, &prog);

		if (r < 0)
			return r;
	}
	return 0;
}

long rst_seccomp_strict(void)
{
	return sys_prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0);
}
