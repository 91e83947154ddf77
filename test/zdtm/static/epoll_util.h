/* SPDX-License-Identifier: GPL-2.0-only */
/* What the epoll tests share: reading an epoll's registrations back from fdinfo. */
#ifndef EPOLL_UTIL_H
#define EPOLL_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "zdtmtst.h"

#define MAX_REGS 16

struct reg {
	int tfd;
	unsigned int events;
	unsigned long long data;
	unsigned int may_add; /* events may also show these (check_regs) */
};

/* The registrations fdinfo shows for epfd, sorted by tfd then data; or -1. */
static inline int read_regs(int epfd, struct reg *r, int max)
{
	char path[64], buf[8192], *l;
	int n = 0, i, j;
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", epfd);
	len = read_file(path, buf, sizeof(buf) - 1);
	if (len < 0)
		return -1;
	buf[len] = '\0';
	for (l = buf; l && n < max; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (sscanf(l, "tfd: %d events: %x data: %llx", &r[n].tfd, &r[n].events,
			   &r[n].data) == 3) {
			r[n].may_add = 0;
			n++;
		}
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (r[j].tfd < r[i].tfd ||
			    (r[j].tfd == r[i].tfd && r[j].data < r[i].data)) {
				struct reg t = r[i];

				r[i] = r[j];
				r[j] = t;
			}
	return n;
}

/* 0 if epfd's registrations are exactly want[0..n) (but for may_add). */
static inline int check_regs(int epfd, const struct reg *want, int n, const char *what)
{
	struct reg got[MAX_REGS];
	int m = read_regs(epfd, got, MAX_REGS), i;

	if (m != n) {
		fail("%s: %d registrations, want %d", what, m, n);
		return 1;
	}
	for (i = 0; i < n; i++)
		if (got[i].tfd != want[i].tfd || got[i].data != want[i].data ||
		    (got[i].events != want[i].events &&
		     got[i].events != (want[i].events | want[i].may_add))) {
			fail("%s: tfd %d events %#x data %#llx, want tfd %d events %#x data %#llx",
			     what, got[i].tfd, got[i].events, got[i].data, want[i].tfd,
			     want[i].events, want[i].data);
			return 1;
		}
	return 0;
}

/* What one epoll_wait(timeout 0) returns, sorted by data; or -1. */
static inline int ready_now(int epfd, struct epoll_event *ev, int max)
{
	int n = epoll_wait(epfd, ev, max, 0), i, j;

	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (ev[j].data.u64 < ev[i].data.u64) {
				struct epoll_event t = ev[i];

				ev[i] = ev[j];
				ev[j] = t;
			}
	return n;
}

#endif
