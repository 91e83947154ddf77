// SPDX-License-Identifier: GPL-2.0
/*
 * The ipv4 and ipv6 "conf" sysctls of net devices and of a namespace's
 * "all" and "default", as CRIU's images hold them: one entry per name of
 * the lists below, in their order (the order is the format).  Read and
 * written through /proc/sys/net, which shows the namespace of the reader.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "net-ns.h"

static const char *const conf4_names[] = {
	"accept_local", "accept_redirects", "accept_source_route", "arp_accept",
	"arp_announce", "arp_filter", "arp_ignore", "arp_notify", "bootp_relay",
	"disable_policy", "disable_xfrm", "force_igmp_version", "forwarding",
	"igmpv2_unsolicited_report_interval", "igmpv3_unsolicited_report_interval",
	"log_martians", "medium_id", "promote_secondaries", "proxy_arp", "proxy_arp_pvlan",
	"route_localnet", "rp_filter", "secure_redirects", "send_redirects", "shared_media",
	"src_valid_mark", "tag", "ignore_routes_with_linkdown", "drop_gratuitous_arp",
	"drop_unicast_in_l2_multicast",
};

static const char *const conf6_names[] = {
	"accept_dad", "accept_ra", "accept_ra_defrtr", "accept_ra_from_local",
	"accept_ra_min_hop_limit", "accept_ra_mtu", "accept_ra_pinfo",
	"accept_ra_rt_info_max_plen", "accept_ra_rtr_pref", "accept_redirects",
	"accept_source_route", "autoconf", "dad_transmits", "disable_ipv6",
	"drop_unicast_in_l2_multicast", "drop_unsolicited_na", "force_mld_version",
	"force_tllao", "forwarding", "hop_limit", "ignore_routes_with_linkdown",
	"keep_addr_on_down", "max_addresses", "max_desync_factor",
	"mldv1_unsolicited_report_interval", "mldv2_unsolicited_report_interval", "mtu",
	"ndisc_notify", "optimistic_dad", "proxy_ndp", "regen_max_retry",
	"router_probe_interval", "router_solicitation_delay", "router_solicitation_interval",
	"router_solicitations", "stable_secret", "suppress_frag_ndisc", "temp_prefered_lft",
	"temp_valid_lft", "use_oif_addrs_only", "use_optimistic", "use_tempaddr",
};

#define CONF_STR_MAX 200

static int conf_path(char *buf, size_t len, int v6, const char *dev, const char *name)
{
	return snprintf(buf, len, "/proc/sys/net/%s/conf/%s/%s", v6 ? "ipv6" : "ipv4", dev,
			name) >= (int)len ? -1 : 0;
}

/* The text of one sysctl: its length, or -1 with errno (ENOENT: not here). */
static ssize_t conf_read(int v6, const char *dev, const char *name, char *buf, size_t len)
{
	char path[128];
	ssize_t n;
	int fd;

	if (conf_path(path, sizeof(path), v6, dev, name)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return n;
}

static int conf_write(int v6, const char *dev, const char *name, const char *val)
{
	char path[128];
	int fd, ret = 0;

	if (conf_path(path, sizeof(path), v6, dev, name))
		return -1;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, val, strlen(val)) != (ssize_t)strlen(val)) {
		pr_perror("cannot write '%s' to %s", val, path);
		ret = -1;
	} else {
		pr_debug("sysctl %s = %s\n", path, val);
	}
	if (fd >= 0)
		close(fd);
	return ret;
}

int set_accept_dad(const char *dev, int val, int *old)
{
	char buf[32];

	if (old) {
		if (conf_read(1, dev, "accept_dad", buf, sizeof(buf)) < 0) {
			pr_perror("cannot read ipv6 conf %s/accept_dad", dev);
			return -1;
		}
		*old = atoi(buf);
		if (*old < 1)
			return 0;	/* no detection there already */
	}
	snprintf(buf, sizeof(buf), "%d", val);
	return conf_write(1, dev, "accept_dad", buf);
}

static bool is_str(int v6, const char *name)
{
	return v6 && !strcmp(name, "stable_secret");
}

static int dump_list(int v6, const char *dev, const char *const *names, size_t nr,
		     SysctlEntry ***out, size_t *n)
{
	SysctlEntry **e = xzalloc(nr * sizeof(*e));
	char buf[CONF_STR_MAX + 1];
	size_t i;

	*out = e;
	*n = 0;
	if (!e)
		return -1;
	for (i = 0; i < nr; i++) {
		e[i] = xzalloc(sizeof(*e[i]));
		if (!e[i])
			return -1;
		*n = i + 1;
		sysctl_entry__init(e[i]);
		e[i]->type = is_str(v6, names[i]) ? SYSCTL_TYPE__CTL_STR : SYSCTL_TYPE__CTL_32;
		/* absent here, or unset (stable_secret says EIO): no value */
		if (conf_read(v6, dev, names[i], buf, sizeof(buf)) < 0)
			continue;
		if (e[i]->type == SYSCTL_TYPE__CTL_STR) {
			e[i]->sarg = strdup(buf);
		} else {
			e[i]->has_iarg = true;
			e[i]->iarg = atoi(buf);
		}
	}
	return 0;
}

int dump_dev_conf(const char *dev, SysctlEntry ***conf4, size_t *n4, SysctlEntry ***conf6,
		  size_t *n6)
{
	*conf6 = NULL;
	*n6 = 0;
	return dump_list(0, dev, conf4_names, ARRAY_SIZE(conf4_names), conf4, n4) ||
	       dump_list(1, dev, conf6_names, ARRAY_SIZE(conf6_names), conf6, n6) ? -1 : 0;
}

static void free_list(SysctlEntry **e, size_t n)
{
	while (n--) {
		free(e[n]->sarg);
		free(e[n]);
	}
	free(e);
}

void free_dev_conf(SysctlEntry **conf4, size_t n4, SysctlEntry **conf6, size_t n6)
{
	free_list(conf4, n4);
	free_list(conf6, n6);
}

static int restore_one(int v6, const char *dev, const char *name, SysctlEntry *e)
{
	char now[CONF_STR_MAX + 1], want[CONF_STR_MAX + 1];

	if (e->type == SYSCTL_TYPE__CTL_STR && e->sarg)
		snprintf(want, sizeof(want), "%s", e->sarg);
	else if (e->type == SYSCTL_TYPE__CTL_32 && e->has_iarg)
		snprintf(want, sizeof(want), "%d", e->iarg);
	else
		return 0;
	/* only what differs: the rest may not even be writable here */
	if (conf_read(v6, dev, name, now, sizeof(now)) >= 0 && !strcmp(now, want))
		return 0;
	return conf_write(v6, dev, name, want);
}

/* forwarding resets accept_redirects: that one goes last */
static int restore_list(int v6, const char *dev, const char *const *names, size_t nr,
			SysctlEntry **e, size_t n)
{
	size_t i, last = nr;

	if (n > nr)
		pr_warn("%s conf %s: %zu values in the image, %zu known; the rest are skipped\n",
			v6 ? "ipv6" : "ipv4", dev, n, nr);
	for (i = 0; i < nr && i < n; i++) {
		if (!strcmp(names[i], "accept_redirects")) {
			last = i;
			continue;
		}
		if (restore_one(v6, dev, names[i], e[i]))
			return -1;
	}
	return last < n ? restore_one(v6, dev, names[last], e[last]) : 0;
}

int restore_dev_conf(const char *dev, SysctlEntry **conf4, size_t n4, SysctlEntry **conf6,
		     size_t n6)
{
	return restore_list(0, dev, conf4_names, ARRAY_SIZE(conf4_names), conf4, n4) ||
	       restore_list(1, dev, conf6_names, ARRAY_SIZE(conf6_names), conf6, n6) ? -1 : 0;
}
