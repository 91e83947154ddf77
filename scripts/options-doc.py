#!/usr/bin/env python3
"""Write Documentation/options.md: every command-line option of CRIU 4.x
with its status here, read from the long options table of criu/crtools.c.

    scripts/options-doc.py           rewrite the file
    scripts/options-doc.py --check   exit 1 if the file is not up to date
                                     (run by scripts/test.sh)

The list of CRIU's option names is a fact taken from CRIU's option parser
(criu/config.c, see Documentation/sources.md); an option that is not in our
table is refused by criu with "unsupported option: --NAME".
"""
import os
import re
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(REPO, "Documentation", "options.md")

# CRIU's long options (4.x), in the order of its parser, with what they do.
CRIU_OPTIONS = [
    ("tree", "root of the tree to dump"),
    ("leave-stopped", "leave the tree stopped after dump or restore"),
    ("leave-running", "let the tree run on after dump"),
    ("restore-detached", "detach criu from the restored tree"),
    ("restore-sibling", "the restored root becomes criu's sibling"),
    ("daemon", "page server, lazy-pages: run in the background"),
    ("images-dir", "directory of the images"),
    ("work-dir", "directory of logs and pidfiles"),
    ("log-file", "log file"),
    ("join-ns", "restore into existing namespaces"),
    ("root", "root of the restored mount namespace"),
    ("ext-unix-sk", "allow unix sockets connected outside the tree"),
    ("help", "usage"),
    ("tcp-established", "dump and restore established TCP connections"),
    ("skip-in-flight", "drop TCP connections not yet accepted"),
    ("tcp-close", "restore established TCP connections closed"),
    ("close", "close an fd of criu's before starting"),
    ("log-pid", "a log file per restored pid"),
    ("version", "print Version: and GitID:"),
    ("evasive-devices", "use any path to a device file"),
    ("pidfile", "write the restored root's pid there"),
    ("veth-pair", "old form of --external veth"),
    ("action-script", "run a script at each action"),
    ("link-remap", "allow link remaps of deleted files"),
    ("ghost-limit", "largest deleted file kept in the images"),
    ("shell-job", "the tree is a shell job (terminal, session outside)"),
    ("file-locks", "dump and restore file locks"),
    ("page-server", "send pages to a page server"),
    ("address", "page server / service address"),
    ("port", "page server port"),
    ("prev-images-dir", "parent images of an iterative dump"),
    ("ms", "deprecated"),
    ("track-mem", "track memory changes for the next dump"),
    ("auto-dedup", "punch holes in parent images on restore/dump"),
    ("libdir", "plugin directory"),
    ("cpu-cap", "CPU capabilities to check"),
    ("force-irmap", "resolve inotify paths always"),
    ("ext-mount-map", "old form of --external mnt"),
    ("exec-cmd", "exec a command after restore"),
    ("manage-cgroups", "cgroup handling mode"),
    ("cgroup-root", "restore cgroups under another root"),
    ("inherit-fd", "use a fd of criu's for an external file"),
    ("feature", "check one feature"),
    ("skip-mnt", "do not dump a mount"),
    ("enable-fs", "dump mounts of these file systems"),
    ("enable-external-sharing", "allow external shared mounts"),
    ("enable-external-masters", "allow external slave mounts"),
    ("freeze-cgroup", "freeze the tree with a cgroup freezer"),
    ("irmap-scan-path", "where to look for inotify paths"),
    ("lsm-profile", "LSM profile of the restored tree"),
    ("lsm-mount-context", "SELinux mount context"),
    ("timeout", "how long to wait for the tree to freeze"),
    ("external", "external resources (mnt, dev, veth, tty, file, unix...)"),
    ("empty-ns", "restore net namespace empty"),
    ("lazy-pages", "restore memory lazily"),
    ("extra", "check: extra features"),
    ("experimental", "check: experimental features"),
    ("all", "check: all features"),
    ("cgroup-props", "cgroup properties to dump"),
    ("cgroup-props-file", "file of cgroup properties to dump"),
    ("cgroup-dump-controller", "cgroup controllers to dump"),
    ("cgroup-yard", "where criu mounts cgroup hierarchies"),
    ("deprecated", "allow deprecated features"),
    ("display-stats", "print dump/restore statistics"),
    ("weak-sysctls", "skip sysctls missing on restore"),
    ("status-fd", "write a byte there when ready"),
    ("verbosity", "log level"),
    ("ps-socket", "page server connection fd"),
    ("stream", "images through criu-image-streamer"),
    ("config", "configuration file"),
    ("no-default-config", "read no default configuration files"),
    ("tls-cacert", "page server TLS"),
    ("tls-cacrl", "page server TLS"),
    ("tls-cert", "page server TLS"),
    ("tls-key", "page server TLS"),
    ("tls", "page server TLS"),
    ("tls-no-cn-verify", "page server TLS"),
    ("pre-dump-mode", "pre-dump: splice or read"),
    ("file-validation", "how restore checks files (filesize, buildid)"),
    ("network-lock", "how TCP peers are locked out (iptables, nftables, skip)"),
    ("mntns-compat-mode", "old mount namespace restore"),
    ("unprivileged", "run without CAP_SYS_ADMIN"),
    ("ghost-fiemap", "sparse ghost files"),
    ("skip-file-rwx-check", "do not check file permissions on restore"),
    ("allow-uprobes", "allow uprobes VMAs"),
]


def ours():
    src = open(os.path.join(REPO, "criu", "crtools.c")).read()
    m = re.search(r"long_opts\[\]\s*=\s*\{(.*?)\n\};", src, re.S)
    return set(re.findall(r'\{\s*"([a-z0-9-]+)"', m.group(1)))


def render():
    mine = ours()
    known = {n for n, _ in CRIU_OPTIONS}
    out = ["# Command-line options",
           "",
           "Every long option of CRIU 4.x and whether `criu` here accepts it.",
           "This file is generated by `scripts/options-doc.py` from the option",
           "table of `criu/crtools.c`; `scripts/test.sh` fails when it is out of",
           "date. An option marked *refused* makes criu exit 1 with",
           "`criu: unsupported option: --NAME`. What each accepted option does",
           "here: `Documentation/criu.8.md`. The RPC fields: `Documentation/rpc.md`.",
           "",
           "| option | what it is for | here |",
           "|---|---|---|"]
    for n, what in CRIU_OPTIONS:
        out.append("| `--%s` | %s | %s |" % (n, what, "accepted" if n in mine else "refused"))
    extra = sorted(mine - known)
    if extra:
        out += ["", "Options of ours that CRIU does not have: " +
                ", ".join("`--%s`" % n for n in extra) + "."]
    n_ok = sum(1 for n, _ in CRIU_OPTIONS if n in mine)
    out += ["", "%d of CRIU's %d options are accepted." % (n_ok, len(CRIU_OPTIONS)), ""]
    return "\n".join(out)


def main():
    text = render()
    if "--check" in sys.argv[1:]:
        cur = open(DOC).read() if os.path.exists(DOC) else ""
        if cur != text:
            sys.exit("Documentation/options.md is out of date: run scripts/options-doc.py")
        return
    open(DOC, "w").write(text)


if __name__ == "__main__":
    main()
