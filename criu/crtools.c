// SPDX-License-Identifier: GPL-2.0
/*
 * Command line: CRIU's option names for what this tool implements.
 * Anything else is refused by name, never silently ignored.
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "action-scripts.h"
#include "config.h"
#include "cgroup.h"
#include "cpuinfo.h"
#include "cr_options.h"
#include "external.h"
#include "fault.h"
#include "join-ns.h"
#include "image.h"
#include "log.h"
#include "mount.h"
#include "net-lock.h"
#include "pre-dump.h"
#include "lazy.h"
#include "page-xfer.h"
#include "rpc.h"
#include "selfstat.h"
#include "util.h"
#include "version.h"

struct cr_options opts = {
	.verbosity = DEFAULT_LOGLEVEL,
	.timeout = 10,
	.network_lock_method = NETWORK_LOCK_AUTO,
	.cpu_cap = CPU_CAP_FPU,
	.ps_port = -1,
	.ps_socket = -1,
	.status_fd = -1,
	.manage_cgroups = CG_MODE_SOFT,
};

enum {
	OPT_PIDFILE = 1000,
	OPT_TIMEOUT,
	OPT_NO_DEFAULT_CONFIG,
	OPT_UNPRIVILEGED,
	OPT_FILE_LOCKS,
	OPT_NETWORK_LOCK,
	OPT_TCP_ESTABLISHED,
	OPT_TCP_CLOSE,
	OPT_EXT_UNIX_SK,
	OPT_ROOT,
	OPT_EXTERNAL,
	OPT_EXT_MOUNT_MAP,
	OPT_ADDRESS,
	OPT_ACTION_SCRIPT,
	OPT_CPU_CAP,
	OPT_TRACK_MEM,
	OPT_PREV_IMAGES_DIR,
	OPT_FEATURE,
	OPT_PAGE_SERVER,
	OPT_PORT,
	OPT_DAEMON,
	OPT_STATUS_FD,
	OPT_PS_SOCKET,
	OPT_INHERIT_FD,
	OPT_EMPTY_NS,
	OPT_CONFIG,
	OPT_EVASIVE_DEVICES,
	OPT_GHOST_LIMIT,
	OPT_AUTO_DEDUP,
	OPT_JOIN_NS,
	OPT_MANAGE_CGROUPS,
	OPT_CGROUP_ROOT,
	OPT_FREEZE_CGROUP,
	OPT_CGROUP_PROPS,
	OPT_CGROUP_PROPS_FILE,
	OPT_CGROUP_DUMP_CONTROLLER,
	OPT_CGROUP_YARD,
	OPT_LAZY_PAGES,
};

static const struct option long_opts[] = {
	{ "tree",		required_argument, NULL, 't' },
	{ "images-dir",		required_argument, NULL, 'D' },
	{ "work-dir",		required_argument, NULL, 'W' },
	{ "log-file",		required_argument, NULL, 'o' },
	{ "verbosity",		optional_argument, NULL, 'v' },
	{ "leave-running",	no_argument,	   NULL, 'R' },
	{ "shell-job",		no_argument,	   NULL, 'j' },
	{ "restore-detached",	no_argument,	   NULL, 'd' },
	{ "pidfile",		required_argument, NULL, OPT_PIDFILE },
	{ "timeout",		required_argument, NULL, OPT_TIMEOUT },
	{ "no-default-config",	no_argument,	   NULL, OPT_NO_DEFAULT_CONFIG },
	{ "unprivileged",	no_argument,	   NULL, OPT_UNPRIVILEGED },
	{ "file-locks",		no_argument,	   NULL, OPT_FILE_LOCKS },
	{ "network-lock",	required_argument, NULL, OPT_NETWORK_LOCK },
	{ "tcp-established",	no_argument,	   NULL, OPT_TCP_ESTABLISHED },
	{ "tcp-close",		no_argument,	   NULL, OPT_TCP_CLOSE },
	{ "ext-unix-sk",	no_argument,	   NULL, OPT_EXT_UNIX_SK },
	{ "root",		required_argument, NULL, OPT_ROOT },
	{ "external",		required_argument, NULL, OPT_EXTERNAL },
	{ "ext-mount-map",	required_argument, NULL, OPT_EXT_MOUNT_MAP },
	{ "address",		required_argument, NULL, OPT_ADDRESS },
	{ "action-script",	required_argument, NULL, OPT_ACTION_SCRIPT },
	{ "cpu-cap",		optional_argument, NULL, OPT_CPU_CAP },
	{ "track-mem",		no_argument,	   NULL, OPT_TRACK_MEM },
	{ "prev-images-dir",	required_argument, NULL, OPT_PREV_IMAGES_DIR },
	{ "feature",		required_argument, NULL, OPT_FEATURE },
	{ "page-server",	no_argument,	   NULL, OPT_PAGE_SERVER },
	{ "port",		required_argument, NULL, OPT_PORT },
	{ "daemon",		no_argument,	   NULL, OPT_DAEMON },
	{ "status-fd",		required_argument, NULL, OPT_STATUS_FD },
	{ "ps-socket",		required_argument, NULL, OPT_PS_SOCKET },
	{ "inherit-fd",		required_argument, NULL, OPT_INHERIT_FD },
	{ "empty-ns",		required_argument, NULL, OPT_EMPTY_NS },
	{ "config",		required_argument, NULL, OPT_CONFIG },
	{ "evasive-devices",	no_argument,	   NULL, OPT_EVASIVE_DEVICES },
	{ "ghost-limit",	required_argument, NULL, OPT_GHOST_LIMIT },
	{ "auto-dedup",		no_argument,	   NULL, OPT_AUTO_DEDUP },
	{ "join-ns",		required_argument, NULL, 'J' },
	{ "manage-cgroups",	optional_argument, NULL, OPT_MANAGE_CGROUPS },
	{ "cgroup-root",	required_argument, NULL, OPT_CGROUP_ROOT },
	{ "freeze-cgroup",	required_argument, NULL, OPT_FREEZE_CGROUP },
	{ "cgroup-props",	required_argument, NULL, OPT_CGROUP_PROPS },
	{ "cgroup-props-file",	required_argument, NULL, OPT_CGROUP_PROPS_FILE },
	{ "cgroup-dump-controller", required_argument, NULL, OPT_CGROUP_DUMP_CONTROLLER },
	{ "cgroup-yard",	required_argument, NULL, OPT_CGROUP_YARD },
	{ "lazy-pages",		no_argument,	   NULL, OPT_LAZY_PAGES },
	{ "help",		no_argument,	   NULL, 'h' },
	{ "version",		no_argument,	   NULL, 'V' },
	{ }
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage:\n"
"  criu dump -t PID -D DIR [options]\n"
"  criu pre-dump -t PID -D DIR [--prev-images-dir DIR0] [options]\n"
"  criu restore -D DIR [options]\n"
"  criu check [--feature mem_dirty_track]\n"
"  criu swrk FD\n"
"  criu service [--address PATH]\n"
"  criu cpuinfo dump|check -D DIR [--cpu-cap CAPS]\n"
"  criu page-server -D DIR --port P [--address A] [--daemon] [--status-fd FD]\n"
"  criu lazy-pages -D DIR [-W DIR] [--daemon] [--status-fd FD]\n"
"\n"
"An independent checkpoint/restore tool, compatible with CRIU's command line\n"
"and image format; it is not CRIU.\n"
"\n"
"Commands:\n"
"  dump           checkpoint the process tree rooted at PID\n"
"  pre-dump       copy the memory of the tree, which runs on, and track\n"
"                 its writes for the next dump (--prev-images-dir)\n"
"  restore        restore the processes saved in DIR\n"
"  check          report whether this kernel has what the tool needs\n"
"  swrk FD        serve CRIU RPC requests on the SOCK_SEQPACKET socket FD\n"
"                 (how runc, podman and go-criu run criu)\n"
"  service        serve CRIU RPC on a unix socket (--address, default\n"
"                 " CR_SERVICE_ADDRESS ")\n"
"  cpuinfo dump   write this CPU's cpuinfo.img into DIR\n"
"  cpuinfo check  tell whether this CPU can run the images in DIR\n"
"  page-server    receive the pages of one dump over TCP into DIR\n"
"  lazy-pages     fill the memory of a restore --lazy-pages from DIR\n"
"\n"
"Options:\n"
"  -t, --tree PID            root of the tree to dump\n"
"  -D, --images-dir DIR      directory of the image files\n"
"  -W, --work-dir DIR        where a relative log file or pidfile goes\n"
"                            (default: the current directory for the\n"
"                            pidfile, -D for the log)\n"
"  -o, --log-file FILE       log to FILE (relative to the work dir)\n"
"  -v[N], --verbosity[=N]    log level: 0 none, 1 errors, 2 warnings,\n"
"                            3 info, 4 debug; -v alone raises it by one\n"
"  -R, --leave-running       keep the tree running after dump\n"
"      --track-mem           track writes (userfaultfd) for a later dump\n"
"      --prev-images-dir DIR the previous (pre-)dump, relative to -D: only\n"
"                            pages written since are saved\n"
"  -j, --shell-job           the tree belongs to a shell session outside it\n"
"  -d, --restore-detached    return once the tree is restored\n"
"      --pidfile FILE        write the restored root's pid to FILE\n"
"      --timeout N           seconds allowed to freeze the tree (default 10)\n"
"      --config FILE         read options from FILE (CRIU's format: one option\n"
"                            a line, without the dashes); read before the\n"
"                            command line, which wins\n"
"      --no-default-config   do not read /etc/criu/default.conf,\n"
"                            ~/.criu/default.conf nor $CRIU_CONFIG_FILE\n"
"      --unprivileged        accepted; the tool never needs more than the\n"
"                            caller's capabilities in its user namespace\n"
"      --file-locks          dump and restore flock, POSIX and OFD locks\n"
"      --network-lock METHOD how TCP connections are locked while frozen:\n"
"                            nftables (default if built in), iptables or skip\n"
"      --tcp-established     dump and restore established TCP connections\n"
"                            (TCP_REPAIR: CAP_NET_ADMIN over the net namespace)\n"
"      --tcp-close           established TCP connections come back closed\n"
"      --ext-unix-sk         allow unix sockets whose peer is outside the tree\n"
"      --root PATH           restore: the root of the tree's mount namespace\n"
"      --external mnt[KEY]:VAL  dump: the mount at KEY is external, saved as VAL;\n"
"                            restore: the external mount KEY is bound from VAL\n"
"      --ext-mount-map KEY:VAL  the same as --external mnt[KEY]:VAL\n"
"      --external veth[IN]:OUT  restore: the peer of the tree's veth IN is made\n"
"                            in criu's net namespace as OUT (repeatable)\n"
"      --action-script PATH  run PATH (with /bin/sh) at each step, with\n"
"                            CRTOOLS_SCRIPT_ACTION naming it (repeatable)\n"
"      --address PATH        the socket of criu service; the page server's\n"
"                            address (page-server: default all addresses)\n"
"      --page-server         dump: send the pages to --address:--port\n"
"      --port P              the page server's TCP port\n"
"      --daemon              page-server: go to the background once listening\n"
"      --status-fd FD        page-server: write a '\\0' to FD once listening\n"
"      --ps-socket FD        the page server connection, already made\n"
"      --manage-cgroups[=MODE] cgroups at restore: ignore, none, props, soft\n"
"                            (the default, also of the option alone), full or\n"
"                            strict (see criu.8.md)\n"
"      --cgroup-root [CTRL:]/PATH  dump the cgroups below PATH / restore the\n"
"                            tree's cgroups under PATH (CTRL: that hierarchy)\n"
"      --freeze-cgroup PATH  dump: freeze the tree with the cgroup at PATH\n"
"                            (v1 freezer.state or v2 cgroup.freeze)\n"
"      --cgroup-props SPEC, --cgroup-props-file FILE  the control files saved\n"
"                            per controller (CRIU's simplified YAML)\n"
"      --cgroup-dump-controller NAME  dump only these hierarchies (repeatable)\n"
"      --cgroup-yard DIR     a mount of each hierarchy in DIR/NAME\n"
"      --lazy-pages          restore: private memory is filled on demand by\n"
"                            criu lazy-pages (socket lazy-pages.socket in -W)\n"
"      --cpu-cap[=CAPS]      what of cpuinfo.img restore checks: fpu (default),\n"
"                            ins, cpu, all or none, comma-separated; alone: all\n"
"      --inherit-fd fd[N]:KEY  restore: criu's fd N stands for KEY, a file\n"
"                            outside the tree: pipe:[INO], socket:[INO],\n"
"                            tty[RDEV:DEV], a path, or an --external name\n"
"      --external net[INO]:NAME  dump: the tree's net namespace is the caller's;\n"
"                            restore joins the one given as --inherit-fd NAME\n"
"      --empty-ns net        the net namespace is made empty (its devices are\n"
"                            neither dumped nor restored)\n"
"      --evasive-devices     accepted: device files are opened by their path\n"
"  -J, --join-ns NS:{PID|FILE}  restore: the tree joins that uts or ipc\n"
"                            namespace instead of a new one from the images\n"
"      --auto-dedup          with --prev-images-dir: the parent dumps' copies\n"
"                            of the pages saved again become holes\n"
"      --ghost-limit SIZE    largest deleted file saved (K, M, G;\n"
"                            default: no limit)\n"
"  -h, --help                this text\n"
"  -V, --version             print the version\n");
}

static int parse_verbosity(const char *arg)
{
	char *end;
	long v;

	if (!arg)
		return min(opts.verbosity + 1, LOG_DEBUG);
	if (arg[0] == 'v') {
		/* -vvv: one level per v (the first was the option itself) */
		int n = opts.verbosity + 1;

		for (; *arg == 'v'; arg++)
			n++;
		return *arg ? -1 : min(n, LOG_DEBUG);
	}
	v = strtol(arg, &end, 10);
	if (*end || v < 0 || v > 4)
		return -1;
	return v;
}

static int parse_uint(const char *arg, const char *what, long max, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(arg, &end, 10);
	if (errno || *end || end == arg || *out < 0 || *out > max) {
		fprintf(stderr, "criu: bad %s: '%s'\n", what, arg);
		return -1;
	}
	return 0;
}

static int parse_size(const char *arg, unsigned long long *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	switch (*end) {
	case 'K': case 'k': v <<= 10; end++; break;
	case 'M': case 'm': v <<= 20; end++; break;
	case 'G': case 'g': v <<= 30; end++; break;
	}
	if (errno || end == arg || *end) {
		fprintf(stderr, "criu: bad size: '%s'\n", arg);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_options(int argc, char **argv)
{
	long val;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":t:D:W:o:v::RjdhVJ:", long_opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (parse_uint(optarg, "pid", INT_MAX, &val))
				return -1;
			if (val == 0) {
				fprintf(stderr, "criu: bad pid: '%s'\n", optarg);
				return -1;
			}
			opts.tree_pid = val;
			break;
		case 'D':
			opts.imgs_dir = optarg;
			break;
		case 'W':
			opts.work_dir = optarg;
			break;
		case 'o':
			opts.log_file = optarg;
			break;
		case 'v':
			opts.verbosity = parse_verbosity(optarg);
			if (opts.verbosity < 0) {
				fprintf(stderr, "criu: bad verbosity: '%s'\n", optarg);
				return -1;
			}
			break;
		case 'R':
			opts.leave_running = true;
			break;
		case OPT_TRACK_MEM:
			opts.track_mem = true;
			break;
		case OPT_PREV_IMAGES_DIR:
			opts.prev_images_dir = optarg;
			break;
		case OPT_FEATURE:
			opts.check_feature = optarg;
			break;
		case 'j':
			opts.shell_job = true;
			break;
		case 'd':
			opts.restore_detached = true;
			break;
		case OPT_PIDFILE:
			opts.pidfile = optarg;
			break;
		case OPT_TIMEOUT:
			if (parse_uint(optarg, "timeout", 3600, &val))
				return -1;
			opts.timeout = val;
			break;
		case OPT_FILE_LOCKS:
			opts.file_locks = true;
			break;
		case OPT_NETWORK_LOCK:
			opts.network_lock_method = network_lock_parse(optarg);
			if (opts.network_lock_method < 0) {
				fprintf(stderr, "criu: bad --network-lock '%s': iptables, nftables "
						"or skip\n", optarg);
				return -1;
			}
			break;
		case OPT_TCP_ESTABLISHED:
			opts.tcp_established = true;
			break;
		case OPT_TCP_CLOSE:
			opts.tcp_close = true;
			break;
		case OPT_EXT_UNIX_SK:
			opts.ext_unix_sk = true;
			break;
		case OPT_ROOT:
			opts.root = optarg;
			break;
		case OPT_EXTERNAL:
			if (external_add(optarg))	/* mnt[...] goes to mount.c */
				return -1;
			break;
		case OPT_EXT_MOUNT_MAP:
			if (mnt_add_ext_mount_map(optarg))
				return -1;
			break;
		case OPT_ADDRESS:
			opts.address = optarg;
			break;
		case OPT_LAZY_PAGES:
			opts.lazy_pages = true;
			break;
		case OPT_PAGE_SERVER:
			opts.use_page_server = true;
			break;
		case OPT_PORT:
			if (parse_uint(optarg, "port", 65535, &val))
				return -1;
			opts.ps_port = val;
			break;
		case OPT_DAEMON:
			opts.daemon_mode = true;
			break;
		case OPT_STATUS_FD:
			if (parse_uint(optarg, "status fd", INT_MAX, &val))
				return -1;
			opts.status_fd = val;
			break;
		case OPT_PS_SOCKET:
			if (parse_uint(optarg, "page server socket", INT_MAX, &val))
				return -1;
			opts.ps_socket = val;
			break;
		case OPT_ACTION_SCRIPT:
			if (add_action_script(optarg))
				return -1;
			break;
		case OPT_CPU_CAP:
			/* "--cpu-cap fpu" as well as "--cpu-cap=fpu" */
			if (!optarg && optind < argc && argv[optind][0] != '-' &&
			    !cpu_cap_parse(argv[optind]))
				optarg = argv[optind++];
			if (cpu_cap_parse(optarg)) {
				fprintf(stderr, "criu: bad --cpu-cap '%s': fpu, ins, cpu, all or "
					"none\n", optarg);
				return -1;
			}
			opts.cpu_cap_set = true;
			break;
		case OPT_INHERIT_FD:
			if (inherit_fd_parse(optarg))
				return -1;
			break;
		case OPT_EMPTY_NS:
			if (strcmp(optarg, "net")) {
				fprintf(stderr, "criu: unsupported --empty-ns '%s': only net\n",
					optarg);
				return -1;
			}
			opts.empty_ns |= CLONE_NEWNET;
			break;
		case OPT_GHOST_LIMIT:
			if (parse_size(optarg, &opts.ghost_limit))
				return -1;
			break;
		case 'J':
			if (join_ns_parse(optarg))
				return -1;
			break;
		case OPT_AUTO_DEDUP:
			opts.auto_dedup = true;
			break;
		case OPT_EVASIVE_DEVICES:
			opts.evasive_devices = true;
			break;
		case OPT_MANAGE_CGROUPS:
			/* "--manage-cgroups full" as well as "--manage-cgroups=full" */
			if (!optarg && optind < argc && cg_mode_parse(argv[optind]) >= 0)
				optarg = argv[optind++];
			opts.manage_cgroups = cg_mode_parse(optarg);
			if (opts.manage_cgroups < 0) {
				fprintf(stderr, "criu: bad --manage-cgroups '%s': ignore, none, "
					"props, soft, full or strict\n", optarg);
				return -1;
			}
			break;
		case OPT_CGROUP_ROOT:
			if (cg_root_parse(optarg))
				return -1;
			break;
		case OPT_FREEZE_CGROUP:
			opts.freeze_cgroup = optarg;
			break;
		case OPT_CGROUP_PROPS:
			if (cg_props_add_spec(optarg, strlen(optarg)))
				return -1;
			break;
		case OPT_CGROUP_PROPS_FILE:
			if (cg_props_add_file(optarg))
				return -1;
			break;
		case OPT_CGROUP_DUMP_CONTROLLER:
			if (cg_dump_controller_add(optarg))
				return -1;
			break;
		case OPT_CGROUP_YARD:
			opts.cgroup_yard = optarg;
			break;
		case OPT_CONFIG:
		case OPT_NO_DEFAULT_CONFIG:
			/* read by read_config_files() before the rest */
			break;
		case OPT_UNPRIVILEGED:
			/* nothing we do asks for more privilege than the caller has */
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			/* what CRIU prints, for LXC and scripts that parse it */
			printf("Version: %s\nGitID: criu-cr-%s\n"
			       "criu-cr %s: an independent implementation of CRIU's interface "
			       "%s, not CRIU\n",
			       CRIU_IFACE_VERSION, CR_VERSION, CR_VERSION, CRIU_IFACE_VERSION);
			exit(0);
		case ':':
			fprintf(stderr, "criu: option %s needs an argument\n", argv[optind - 1]);
			return -1;
		default:
			fprintf(stderr, "criu: unsupported option: %s\n", argv[optind - 1]);
			return -1;
		}
	}
	return 0;
}

/* Options from a configuration file, as a command line of their own. */
int cr_parse_args(int argc, char **argv)
{
	int ret;

	optind = 0;	/* glibc: start afresh */
	ret = parse_options(argc, argv);
	if (!ret && optind < argc) {
		fprintf(stderr, "criu: unexpected word in a configuration file: %s\n",
			argv[optind]);
		ret = -1;
	}
	optind = 0;
	return ret;
}

int cr_setup_logging(const char *cmd)
{
	char path[PATH_MAX];
	const char *dir = opts.work_dir ? opts.work_dir : opts.imgs_dir;

	if (!opts.log_file)
		return log_init(NULL, opts.verbosity);
	if (opts.log_file[0] == '/' || !dir || !strcmp(opts.log_file, "-")) {
		snprintf(path, sizeof(path), "%s", opts.log_file);
	} else {
		snprintf(path, sizeof(path), "%s/%s", dir, opts.log_file);
	}
	if (log_init(path, opts.verbosity))
		return -1;
	pr_info("criu-cr %s: %s\n", CR_VERSION, cmd);
	fault_init();
	atexit(fault_fini);
	return 0;
}

/* criu swrk FD, criu service: requests come over a socket */
static int rpc_command(const char *cmd, int argc, char **argv)
{
	long fd;

	if (!strcmp(cmd, "service")) {
		if (argc) {
			fprintf(stderr, "criu: unexpected argument: %s\n", argv[0]);
			return 1;
		}
		if (cr_setup_logging(cmd))
			return 1;
		return cr_service(opts.address ?: CR_SERVICE_ADDRESS);
	}
	if (argc != 1 || parse_uint(argv[0], "swrk fd", INT_MAX, &fd)) {
		fprintf(stderr, "criu: usage: criu swrk FD (a SOCK_SEQPACKET socket)\n");
		return 1;
	}
	/* requests set the log up each with their own options */
	log_init(NULL, opts.verbosity);
	return cr_swrk(fd);
}

#ifdef CR_FUZZ	/* libFuzzer has its own main() */
#define main criu_main
int criu_main(int argc, char **argv);
#endif
int main(int argc, char **argv)
{
	const char *cmd;
	int ret;

	if (read_config_files(argc, argv))
		return 1;
	optind = 0;
	if (parse_options(argc, argv))
		return 1;
	if (optind >= argc) {
		fprintf(stderr, "criu: no command given (dump, restore or check); see criu --help\n");
		return 1;
	}
	cmd = argv[optind];
	if (!strcmp(cmd, "swrk") || !strcmp(cmd, "service"))
		return rpc_command(cmd, argc - optind - 1, argv + optind + 1);
	if (!strcmp(cmd, "cpuinfo") && optind + 1 < argc)
		optind++;	/* its dump or check */
	if (optind + 1 < argc) {
		fprintf(stderr, "criu: unexpected argument: %s\n", argv[optind + 1]);
		return 1;
	}

	if (!strcmp(cmd, "pre-dump"))
		opts.pre_dump = opts.track_mem = opts.leave_running = true;
	if (!strcmp(cmd, "dump") || !strcmp(cmd, "pre-dump") || !strcmp(cmd, "restore") ||
	    !strcmp(cmd, "page-server") || !strcmp(cmd, "lazy-pages")) {
		if (!opts.imgs_dir)
			opts.imgs_dir = ".";
		if (opts.work_dir && access(opts.work_dir, W_OK)) {
			fprintf(stderr, "criu: cannot use work dir %s: %s\n", opts.work_dir,
				strerror(errno));
			return 1;
		}
	}

	if (!strcmp(cmd, "dump") || !strcmp(cmd, "pre-dump")) {
		if (!opts.tree_pid) {
			fprintf(stderr, "criu: %s needs the pid of the tree: -t PID\n", cmd);
			return 1;
		}
		/* the log usually lives in the image directory: make it first */
		if (mkdir(opts.imgs_dir, 0755) && errno != EEXIST) {
			fprintf(stderr, "criu: cannot create image directory %s: %s\n",
				opts.imgs_dir, strerror(errno));
			return 1;
		}
		if (cr_setup_logging(cmd))
			return 1;
		if (opts.use_page_server && opts.ps_socket < 0 && (!opts.address || opts.ps_port < 0)) {
			fprintf(stderr, "criu: --page-server needs --address and --port\n");
			return 1;
		}
		/* a page server does not take parent runs (PE_PARENT) yet */
		if (opts.lazy_pages) {
			fprintf(stderr, "criu: unsupported: dump --lazy-pages (a dump's pages are "
				"always written; restore --lazy-pages loads them on demand)\n");
			return 1;
		}
		if (opts.use_page_server && (opts.pre_dump || opts.prev_images_dir)) {
			fprintf(stderr, "criu: unsupported: %s with --page-server\n",
				opts.pre_dump ? "pre-dump" : "--prev-images-dir");
			return 1;
		}
		ret = opts.pre_dump ? cr_pre_dump_tasks(opts.tree_pid) :
				      cr_dump_tasks(opts.tree_pid);
		log_own_resources(cmd);
	} else if (!strcmp(cmd, "lazy-pages")) {
		if (opts.use_page_server) {
			fprintf(stderr, "criu: unsupported: lazy-pages --page-server (pages from "
				"a page server); the pages are read from -D\n");
			return 1;
		}
		if (cr_setup_logging(cmd))
			return 1;
		ret = cr_lazy_pages();
	} else if (!strcmp(cmd, "page-server")) {
		if (opts.ps_port < 0 && opts.ps_socket < 0) {
			fprintf(stderr, "criu: page-server needs --port (or --ps-socket)\n");
			return 1;
		}
		if (mkdir(opts.imgs_dir, 0755) && errno != EEXIST) {
			fprintf(stderr, "criu: cannot create image directory %s: %s\n",
				opts.imgs_dir, strerror(errno));
			return 1;
		}
		if (cr_setup_logging(cmd))
			return 1;
		ret = cr_page_server(-1);
	} else if (!strcmp(cmd, "restore")) {
		if (opts.tree_pid) {
			fprintf(stderr, "criu: unsupported option for restore: -t/--tree\n");
			return 1;
		}
		if (cr_setup_logging(cmd))
			return 1;
		/* without -d criu exits with the status of the restored root */
		ret = cr_restore_tasks();
		log_own_resources(cmd);
		log_fini();
		return ret < 0 ? 1 : ret;
	} else if (!strcmp(cmd, "cpuinfo")) {
		if (!opts.imgs_dir)
			opts.imgs_dir = ".";
		if (cr_setup_logging(cmd))
			return 1;
		ret = cr_cpuinfo(cmd == argv[optind] ? NULL : argv[optind]);
	} else if (!strcmp(cmd, "check")) {
		if (cr_setup_logging(cmd))
			return 1;
		ret = cr_check();
	} else {
		fprintf(stderr, "criu: unsupported command: %s\n", cmd);
		return 1;
	}

	log_fini();
	return ret ? 1 : 0;
}
