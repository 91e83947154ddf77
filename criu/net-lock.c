// SPDX-License-Identifier: GPL-2.0
/*
 * The network lock (--network-lock): netfilter rules that drop the packets
 * of the tree's TCP connections while they are frozen, from before the first
 * TCP_REPAIR at dump until the restore has repaired them again.
 *
 * A tree in criu's network namespace gets one rule set for exactly its
 * connections, so the rest of the machine's traffic is untouched; a tree in
 * a net namespace of its own has all of that namespace's traffic dropped
 * inside it. The rules are named by the dump's run id, which inventory.img
 * keeps, so any later criu (the restore) can remove them.
 *
 * nftables: one table "inet CRIU-<run id>" made in one transaction through
 * libnftables. iptables: one chain "CRIU-<13 chars of the run id>" in the
 * filter table, jumped to from INPUT and OUTPUT, loaded with one
 * iptables-restore (and ip6tables-restore) run fed from memory.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef CONFIG_LIBNFTABLES
#include <nftables/libnftables.h>
#endif

#include "cr_options.h"
#include "log.h"
#include "net-lock.h"

#define RUN_ID_LEN 36 /* a UUID in text, as CRIU's dump_criu_run_id */
#define IPT_CHAIN_ID_LEN 13 /* iptables chain names are at most 28 characters */

struct conn {
	int family;
	unsigned char src[16], dst[16];
	uint16_t sport, dport;
};

static struct {
	int method;		/* resolved; -1 until the first use */
	pid_t root;		/* dump: the tree's root */
	bool netns;		/* lock the tree's whole net namespace */
	bool locked;		/* rules named by run_id exist (or, at restore, may) */
	bool restore;
	char run_id[RUN_ID_LEN + 1];
	struct conn *conns;
	size_t nr_conns, nr_applied, max_conns;
} nl = { .method = -1 };

/* ---- text buffers ---- */

struct sbuf {
	char *s;
	size_t len, size;
	bool oom;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = b->size - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0 || b->oom) {
			b->oom = true;
			return;
		}
		if ((size_t)n < room) {
			b->len += n;
			return;
		}
		char *p = realloc(b->s, b->size * 2 + n + 256);

		if (!p) {
			b->oom = true;
			return;
		}
		b->s = p;
		b->size = b->size * 2 + n + 256;
	}
}

/* ---- the method and the names ---- */

int network_lock_parse(const char *arg)
{
	if (!strcmp(arg, "iptables"))
		return NETWORK_LOCK_IPTABLES;
	if (!strcmp(arg, "nftables"))
		return NETWORK_LOCK_NFTABLES;
	if (!strcmp(arg, "skip") || !strcmp(arg, "none"))
		return NETWORK_LOCK_SKIP;
	return -1;
}

const char *network_lock_name(int method)
{
	switch (method) {
	case NETWORK_LOCK_IPTABLES:
		return "iptables";
	case NETWORK_LOCK_NFTABLES:
		return "nftables";
	case NETWORK_LOCK_SKIP:
		return "skip";
	}
	return "unknown";
}

int network_lock_method(void)
{
	if (nl.method < 0) {
		nl.method = opts.network_lock_method;
		if (nl.method == NETWORK_LOCK_AUTO) {
#ifdef CONFIG_LIBNFTABLES
			nl.method = NETWORK_LOCK_NFTABLES;
#else
			nl.method = NETWORK_LOCK_IPTABLES;
#endif
		}
		pr_info("network lock method: %s%s\n", network_lock_name(nl.method),
			opts.network_lock_method == NETWORK_LOCK_AUTO ? " (the default)" : "");
	}
	return nl.method;
}

const char *network_lock_run_id(void)
{
	return nl.run_id[0] ? nl.run_id : NULL;
}

static int make_run_id(void)
{
	unsigned char r[16];

	if (nl.run_id[0])
		return 0;
	if (getrandom(r, sizeof(r), 0) != sizeof(r)) {
		pr_perror("network lock: getrandom");
		return -1;
	}
	r[6] = (r[6] & 0x0f) | 0x40; /* a version 4 (random) UUID */
	r[8] = (r[8] & 0x3f) | 0x80;
	snprintf(nl.run_id, sizeof(nl.run_id),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1],
		 r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14],
		 r[15]);
	return 0;
}

static void ipt_chain(char *buf, size_t len)
{
	snprintf(buf, len, "CRIU-%.*s", IPT_CHAIN_ID_LEN, nl.run_id);
}

static const char *no_cap_hint(const char *out)
{
	if (out && (strstr(out, "Operation not permitted") || strstr(out, "Permission denied")))
		return " (criu has no CAP_NET_ADMIN in this network namespace: rootless criu cannot "
		       "lock connections in the host's network namespace; use a network namespace "
		       "of your own, or --network-lock skip)";
	return "";
}

/* ---- nftables through libnftables ---- */

#ifdef CONFIG_LIBNFTABLES
static void restore_stderr(int fd)
{
	if (fd >= 0) {
		dup2(fd, 2);
		close(fd);
	}
}

/* Run one batch of commands (one transaction); *absent: it failed on a missing object. */
static int nft_run(const char *cmds, bool *absent)
{
	struct nft_ctx *ctx;
	const char *err;
	int ret, err_fd;

	/* libnftables writes some errors straight to stderr: ours say it once */
	err_fd = dup(2);
	if (err_fd >= 0) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

		if (null >= 0) {
			dup2(null, 2);
			close(null);
		}
	}
	ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx) {
		restore_stderr(err_fd);
		pr_err("network lock: cannot create an nftables context\n");
		return -1;
	}
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	pr_debug("network lock: nft <<EOF\n%sEOF\n", cmds);
	ret = nft_run_cmd_from_buffer(ctx, cmds);
	restore_stderr(err_fd);
	err = nft_ctx_get_error_buffer(ctx);
	if (ret && absent && err && strstr(err, "No such file or directory")) {
		*absent = true;
	} else if (ret) {
		const char *nlp = err ? strchr(err, '\n') : NULL;

		pr_err("network lock: nftables refused the rules: %.*s%s\n",
		       err ? (int)(nlp ? nlp - err : (long)strlen(err)) : 0, err ? err : "",
		       no_cap_hint(err));
	}
	nft_ctx_free(ctx);
	return ret ? -1 : 0;
}
#else
static int nft_run(const char *cmds, bool *absent)
{
	(void)cmds;
	(void)absent;
	pr_err("network lock: criu-cr was built without libnftables (libnftables-dev): use "
	       "--network-lock iptables\n");
	return -1;
}
#endif

static void nft_addr(char *buf, size_t len, int family, const unsigned char *a)
{
	inet_ntop(family, a, buf, len);
}

static void nft_elements(struct sbuf *b, const char *table, int family, size_t from)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	const char *sep = "";
	size_t i;

	for (i = from; i < nl.nr_conns; i++) {
		struct conn *c = &nl.conns[i];

		if (c->family != family)
			continue;
		if (!*sep)
			sb_printf(b, "add element inet %s tcp%c { ", table,
				  family == AF_INET ? '4' : '6');
		nft_addr(s, sizeof(s), family, c->src);
		nft_addr(d, sizeof(d), family, c->dst);
		/* both directions: the set is matched as saddr . sport . daddr . dport */
		sb_printf(b, "%s%s . %u . %s . %u, %s . %u . %s . %u", sep, s, c->sport, d, c->dport,
			  d, c->dport, s, c->sport);
		sep = ", ";
	}
	if (*sep)
		sb_printf(b, " }\n");
}

static void nft_lock_script(struct sbuf *b, bool whole, bool create)
{
	char t[64];
	const char *hook[] = { "input", "output" };
	int i;

	snprintf(t, sizeof(t), "CRIU-%s", nl.run_id);
	if (create) {
		sb_printf(b, "add table inet %s\n", t);
		for (i = 0; i < 2; i++) {
			sb_printf(b,
				  "add chain inet %s %s { type filter hook %s priority 0; policy "
				  "accept; }\n",
				  t, hook[i], hook[i]);
			sb_printf(b, "add rule inet %s %s meta mark 0x%x accept\n", t, hook[i],
				  NETWORK_LOCK_MARK);
		}
		if (whole) {
			for (i = 0; i < 2; i++)
				sb_printf(b, "add rule inet %s %s drop\n", t, hook[i]);
			return;
		}
		sb_printf(b, "add set inet %s tcp4 { type ipv4_addr . inet_service . ipv4_addr . "
			     "inet_service; }\n", t);
		sb_printf(b, "add set inet %s tcp6 { type ipv6_addr . inet_service . ipv6_addr . "
			     "inet_service; }\n", t);
		for (i = 0; i < 2; i++) {
			sb_printf(b, "add rule inet %s %s ip saddr . tcp sport . ip daddr . tcp "
				     "dport @tcp4 drop\n", t, hook[i]);
			sb_printf(b, "add rule inet %s %s ip6 saddr . tcp sport . ip6 daddr . tcp "
				     "dport @tcp6 drop\n", t, hook[i]);
		}
	}
	nft_elements(b, t, AF_INET, nl.nr_applied);
	nft_elements(b, t, AF_INET6, nl.nr_applied);
}

/* ---- iptables through iptables-restore ---- */

/* Run an iptables tool with `input` on stdin, its output into *out; its exit status, or -1. */
static int run_tool(const char *tool, const char *const argv[], const char *input,
		    struct sbuf *out)
{
	int in = -1, p[2] = { -1, -1 }, status;
	char buf[4096];
	ssize_t n;
	pid_t pid;

	sb_printf(out, "%s", "");
	in = memfd_create("net-lock", MFD_CLOEXEC);
	if (in < 0 || write(in, input, strlen(input)) != (ssize_t)strlen(input) ||
	    lseek(in, 0, SEEK_SET) || pipe2(p, O_CLOEXEC)) {
		pr_perror("network lock: cannot prepare the input of %s", tool);
		goto err;
	}
	pid = fork();
	if (pid < 0) {
		pr_perror("network lock: cannot fork for %s", tool);
		goto err;
	}
	if (pid == 0) {
		char path[64];

		dup2(in, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
		/* criu may run with a PATH that lacks sbin */
		snprintf(path, sizeof(path), "/usr/sbin/%s", tool);
		execv(path, (char *const *)argv);
		snprintf(path, sizeof(path), "/sbin/%s", tool);
		execv(path, (char *const *)argv);
		execvp(tool, (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	p[1] = -1;
	while ((n = read(p[0], buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		sb_printf(out, "%.*s", (int)n, buf);
	}
	close(p[0]);
	close(in);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		pr_err("network lock: cannot run %s: install Debian's iptables package\n", tool);
		return -1;
	}
	return WIFEXITED(status) && !out->oom ? WEXITSTATUS(status) : -1;
err:
	if (in >= 0)
		close(in);
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	return -1;
}

static const char *first_line(struct sbuf *b)
{
	if (!b->s)
		return "";
	b->s[strcspn(b->s, "\n")] = '\0';
	return b->s;
}

static int ipt_restore(int family, const char *script)
{
	const char *tool = family == AF_INET ? "iptables-restore" : "ip6tables-restore";
	const char *argv[] = { tool, "-w", "--noflush", NULL };
	struct sbuf out = { 0 };
	int ret;

	pr_debug("network lock: %s <<EOF\n%sEOF\n", tool, script);
	ret = run_tool(tool, argv, script, &out);
	if (ret > 0)
		pr_err("network lock: %s failed (exit %d): %s%s\n", tool, ret, first_line(&out),
		       no_cap_hint(out.s));
	free(out.s);
	return ret ? -1 : 0;
}

/* 1: the chain exists, 0: it does not, -1: could not tell */
static int ipt_chain_exists(int family, const char *chain)
{
	const char *tool = family == AF_INET ? "iptables-save" : "ip6tables-save";
	const char *argv[] = { tool, "-t", "filter", NULL };
	struct sbuf out = { 0 };
	char decl[40];
	int ret = run_tool(tool, argv, "", &out);

	snprintf(decl, sizeof(decl), "\n:%s ", chain);
	if (ret == 0)
		ret = out.s && strstr(out.s, decl) ? 1 : 0;
	else
		pr_err("network lock: %s cannot list the filter table: %s%s\n", tool,
		       first_line(&out), no_cap_hint(out.s));
	free(out.s);
	return ret < 0 || ret > 1 ? -1 : ret;
}

static void ipt_rules(struct sbuf *b, const char *chain, int family, size_t from)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	size_t i;

	for (i = from; i < nl.nr_conns; i++) {
		struct conn *c = &nl.conns[i];

		if (c->family != family)
			continue;
		inet_ntop(family, c->src, s, sizeof(s));
		inet_ntop(family, c->dst, d, sizeof(d));
		sb_printf(b, "-A %s -p tcp -s %s --sport %u -d %s --dport %u -m mark ! --mark 0x%x "
			     "-j DROP\n", chain, s, c->sport, d, c->dport, NETWORK_LOCK_MARK);
		sb_printf(b, "-A %s -p tcp -s %s --sport %u -d %s --dport %u -m mark ! --mark 0x%x "
			     "-j DROP\n", chain, d, c->dport, s, c->sport, NETWORK_LOCK_MARK);
	}
}

static bool has_family(int family, size_t from)
{
	size_t i;

	for (i = from; i < nl.nr_conns; i++)
		if (nl.conns[i].family == family)
			return true;
	return false;
}

static int ipt_lock_family(int family, bool whole, bool create)
{
	struct sbuf b = { 0 };
	char chain[32];
	int ret;

	ipt_chain(chain, sizeof(chain));
	sb_printf(&b, "*filter\n");
	if (create) {
		sb_printf(&b, ":%s - [0:0]\n-I INPUT -j %s\n-I OUTPUT -j %s\n", chain, chain, chain);
		if (whole)
			sb_printf(&b, "-A %s -m mark --mark 0x%x -j ACCEPT\n-A %s -j DROP\n", chain,
				  NETWORK_LOCK_MARK, chain);
	}
	if (!whole)
		ipt_rules(&b, chain, family, nl.nr_applied);
	sb_printf(&b, "COMMIT\n");
	ret = b.oom ? -1 : ipt_restore(family, b.s);
	free(b.s);
	return ret;
}

/* 1: removed, 0: there was none, -1: error */
static int ipt_unlock_family(int family)
{
	struct sbuf b = { 0 };
	char chain[32];
	int ret;

	ipt_chain(chain, sizeof(chain));
	ret = ipt_chain_exists(family, chain);
	if (ret <= 0)
		return ret;
	sb_printf(&b, "*filter\n-D INPUT -j %s\n-D OUTPUT -j %s\n-F %s\n-X %s\nCOMMIT\n", chain,
		  chain, chain, chain);
	ret = b.oom || ipt_restore(family, b.s) ? -1 : 1;
	free(b.s);
	return ret;
}

/* ---- applying and removing ---- */

static bool made_some; /* iptables: a family's rules are in, though another's may fail */

static int apply_lock(bool create)
{
	struct sbuf b = { 0 };
	int ret = 0, fam;

	if (network_lock_method() == NETWORK_LOCK_NFTABLES) {
		nft_lock_script(&b, nl.netns, create);
		if (b.oom)
			ret = -1;
		else if (b.len)
			ret = nft_run(b.s, NULL);
		free(b.s);
		return ret;
	}
	for (fam = AF_INET; fam; fam = fam == AF_INET ? AF_INET6 : 0) {
		bool made = false;
		size_t i;

		if (nl.netns && !create)
			continue;
		if (!nl.netns && !has_family(fam, nl.nr_applied))
			continue;
		/* each family's chain is made with its first connection */
		for (i = 0; i < nl.nr_applied && !nl.netns; i++)
			made |= nl.conns[i].family == fam;
		ret = ipt_lock_family(fam, nl.netns, nl.netns || !made);
		if (ret)
			return ret;
		made_some = true;
	}
	return 0;
}

static int remove_lock(void)
{
	char t[80];
	bool absent = false;
	int ret = 0, r;

	if (network_lock_method() == NETWORK_LOCK_NFTABLES) {
		snprintf(t, sizeof(t), "delete table inet CRIU-%s\n", nl.run_id);
		ret = nft_run(t, &absent);
		if (absent) {
			pr_info("network lock: table inet CRIU-%s is already gone\n", nl.run_id);
			ret = 0;
		}
		return ret;
	}
	ret = ipt_unlock_family(AF_INET);
	r = ipt_unlock_family(AF_INET6);
	if (r < 0 && ret >= 0 && (nl.restore || !has_family(AF_INET6, 0)) && !nl.netns) {
		/* a host without working ip6tables cannot have our IPv6 chain */
		pr_warn("network lock: could not check for an IPv6 lock chain\n");
		r = 0;
	}
	if (ret == 0 && r == 0)
		pr_info("network lock: chain CRIU-%.*s is already gone\n", IPT_CHAIN_ID_LEN,
			nl.run_id);
	return ret < 0 || r < 0 ? -1 : 0;
}

/* Run op in the tree's net namespace (from a child of criu), or here. */
static int in_lock_netns(int (*op)(bool), bool arg)
{
	char path[64];
	int status, fd;
	pid_t pid;

	if (!nl.netns)
		return op(arg);
	pid = fork();
	if (pid < 0) {
		pr_perror("network lock: fork");
		return -1;
	}
	if (pid == 0) {
		log_set_pid();
		snprintf(path, sizeof(path), "/proc/%d/ns/net", nl.root);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET)) {
			pr_perror("network lock: cannot enter the net namespace of pid %d", nl.root);
			_exit(1);
		}
		_exit(op(arg) ? 1 : 0);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int op_apply(bool create)
{
	return apply_lock(create);
}

static int op_remove(bool unused)
{
	(void)unused;
	return remove_lock();
}

static bool own_netns(pid_t pid)
{
	struct stat a, b;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	if (stat(path, &a) || stat("/proc/self/ns/net", &b))
		return false;
	return a.st_ino != b.st_ino || a.st_dev != b.st_dev;
}

/* ---- the API ---- */

static bool armed; /* network_lock() was called in this dump */

void network_lock_set_root(pid_t pid)
{
	nl.root = pid;
}

static void describe(void)
{
	if (network_lock_method() == NETWORK_LOCK_NFTABLES)
		pr_info("network lock: nftables (libnftables), table inet CRIU-%s\n", nl.run_id);
	else
		pr_info("network lock: iptables (iptables-restore), chain CRIU-%.*s of table "
			"filter\n", IPT_CHAIN_ID_LEN, nl.run_id);
}

static int lock_now(void)
{
	bool create = !nl.locked;

	if (!nl.netns && nl.nr_applied == nl.nr_conns)
		return 0;
	if (create) {
		if (make_run_id())
			return -1;
		describe();
		/* a half-made lock (IPv4 done, IPv6 failed) must be undone by network_unlock() */
		nl.locked = true;
		made_some = false;
	}
	if (in_lock_netns(op_apply, create)) {
		if (create && !made_some && !nl.netns)
			nl.locked = false; /* nothing was made: nothing to undo */
		return -1;
	}
	if (create && nl.netns)
		pr_info("network lock: all traffic of the net namespace of pid %d is dropped\n",
			nl.root);
	if (nl.nr_conns > nl.nr_applied)
		pr_info("network lock: %zu connection(s) locked\n", nl.nr_conns - nl.nr_applied);
	nl.locked = true;
	nl.nr_applied = nl.nr_conns;
	return 0;
}

int network_lock_add(int family, const void *src, uint16_t sport, const void *dst,
		     uint16_t dport)
{
	static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };
	struct conn *c;

	if (family != AF_INET && family != AF_INET6) {
		pr_err("network lock: address family %d is not IPv4 or IPv6\n", family);
		return -1;
	}
	if (nl.nr_conns == nl.max_conns) {
		size_t n = nl.max_conns ? nl.max_conns * 2 : 16;
		struct conn *p = realloc(nl.conns, n * sizeof(*p));

		if (!p) {
			pr_err("network lock: out of memory\n");
			return -1;
		}
		nl.conns = p;
		nl.max_conns = n;
	}
	c = &nl.conns[nl.nr_conns++];
	memset(c, 0, sizeof(*c));
	c->family = family;
	c->sport = sport;
	c->dport = dport;
	if (family == AF_INET6 && !memcmp(dst, mapped, 12) && !memcmp(src, mapped, 12)) {
		/* an IPv6 socket talking to an IPv4 peer: its packets are IPv4 */
		c->family = AF_INET;
		memcpy(c->src, (const char *)src + 12, 4);
		memcpy(c->dst, (const char *)dst + 12, 4);
	} else {
		memcpy(c->src, src, family == AF_INET ? 4 : 16);
		memcpy(c->dst, dst, family == AF_INET ? 4 : 16);
	}
	if (armed && network_lock_method() != NETWORK_LOCK_SKIP && !nl.netns)
		return lock_now();
	return 0;
}

int network_lock(void)
{
	int m = network_lock_method();

	if (armed)
		return 0;
	armed = true;
	if (m == NETWORK_LOCK_SKIP) {
		pr_info("network lock: skipped (--network-lock skip): the tree's TCP connections "
			"are not protected while frozen\n");
		return 0;
	}
	if (nl.root && own_netns(nl.root))
		nl.netns = true;
	if (!nl.netns && !nl.nr_conns) {
		pr_info("network lock: %s, nothing to lock yet\n", network_lock_name(m));
		return 0;
	}
	return lock_now();
}

int network_unlock(void)
{
	int ret;

	armed = false;
	if (!nl.locked)
		return 0;
	ret = in_lock_netns(op_remove, false);
	if (ret) {
		pr_err("network lock: could not remove the %s lock CRIU-%s; remove it by hand\n",
		       network_lock_name(network_lock_method()), nl.run_id);
		return -1;
	}
	pr_info("network lock: removed (%s, CRIU-%s)\n", network_lock_name(network_lock_method()),
		nl.run_id);
	nl.locked = false;
	nl.nr_applied = 0;
	return 0;
}

int network_lock_restore_start(bool has_method, uint32_t method, const char *run_id)
{
	size_t i, len = run_id ? strlen(run_id) : 0;

	nl.restore = true;
	nl.netns = false; /* the dumped namespace is gone; a host tree's lock is in ours */
	if (!has_method)
		method = NETWORK_LOCK_IPTABLES; /* what images of old CRIUs mean */
	if (method > NETWORK_LOCK_SKIP) {
		pr_err("inventory.img: unknown network_lock_method %u\n", method);
		return -1;
	}
	if (opts.network_lock_method != NETWORK_LOCK_AUTO &&
	    opts.network_lock_method != (int)method)
		pr_info("network lock: --network-lock %s ignored: the dump used %s\n",
			network_lock_name(opts.network_lock_method), network_lock_name(method));
	nl.method = method;
	if (!run_id || method == NETWORK_LOCK_SKIP) {
		pr_info("network lock: the dump left no lock (%s)\n", network_lock_name(method));
		return 0;
	}
	/* the id goes into nft and iptables commands: only a UUID's characters */
	for (i = 0; i < len; i++)
		if (!strchr("0123456789abcdefABCDEF-", run_id[i]))
			break;
	if (!len || len > RUN_ID_LEN || i < len) {
		pr_err("inventory.img: dump_criu_run_id '%.40s' is not a run id\n", run_id);
		return -1;
	}
	memcpy(nl.run_id, run_id, len + 1);
	nl.locked = true;
	pr_info("network lock: the dump's lock (%s, CRIU-%s) is removed at the end of the "
		"restore\n", network_lock_name(method), nl.run_id);
	return 0;
}
