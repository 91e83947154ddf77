#!/usr/bin/env python3
"""Containers checkpointed and restored by runc and podman through our criu
(crun, which needs a build with +CRIU: crun.py).

A root filesystem is built from Debian's busybox-static (/bin/busybox and a few
applet links); each case starts a container whose shell appends "PID N" to
/data/count (a bind-mounted host directory) every 0.2 s, prints "tick N" on its
stdout (a pipe the test reads) and keeps a file in a tmpfs at /tmp.  The
runtime checkpoints it with our criu and restores it; the case then checks
real outcomes: the counter goes on from the number where it was frozen (no
gap, no restart), under the same pid inside the container, the tmpfs file is
back with its content, and the restored container's stdout reaches the pipe
the restoring runtime was given (criu's --inherit-fd of "pipe:[INODE]").

Cases (see test/containers/README.md):
  inherit-fd          criu alone: dump a counter writing into a pipe, restore
                      it with --inherit-fd fd[N]:pipe:[INO] onto a new pipe
  config-file, config-cli
                      criu alone: RPC config_file and --config FILE (CRIU's
                      format) read and winning; a missing config_file ignored
  join-ns             criu alone: a process of its own uts namespace restored
                      with --join-ns uts:FILE into another one (crun's pods)
  external-net        criu alone: a process in a net namespace of the caller's,
                      dumped with --external net[INO]:NAME and put back into it
                      with --inherit-fd fd[N]:NAME (runc's and crun's extRootNetNS)
  orphan-pts          criu alone over the RPC: a shell on a pty whose master
                      only the client has (a container's console), dumped and
                      restored with orphan_pts_master; the new master comes
                      in the orphan-pts-master notification and talks to it
  runc, runc-leave-running, runc-tcp, runc-predump (with --auto-dedup), runc-terminal,
  runc-page-server
                      runc --criu OURCRIU checkpoint / restore --detach (root)
  podman-runc, podman-export, podman-terminal, podman-network
                      podman container checkpoint / restore (--export/--import),
                      our criu first in PATH as `criu` (podman and the runtimes
                      look it up there)
  runc-rootless       runc spec --rootless, run by uid 65534 with its own --root,
                      inside a user and mount namespace of that user's own (as
                      rootlesskit keeps one: runc's restore bind-mounts the
                      rootfs, which a user can only do in a mount namespace of
                      its own)

Usage: test/containers/run.py [--criu build/criu/criu] [-t GLOB]... [-x GLOB]...
                              [--keep] [-l]   (as root)
Prints PASS/FAIL per case (a FAIL with the first error of the runtime or of
criu's log); exits 1 if any failed.  Nothing is skipped silently: a runtime
that is not installed fails its cases.  Every container, bundle and path
carries "runc-h" in its name; only those are removed.
"""

import argparse
import fnmatch
import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TAG = "runc-h"
NOBODY = 65534
TIMEOUT = 90

CRIU = None
TMP = None
BIN = None
LIBDIR = None
KEEP = False

# the container's program: busybox ash; `read` is a builtin, so /proc/self is the shell
SCRIPT = ("read pid rest < /proc/self/stat; echo hello-$pid > /tmp/keep; i=0; "
          "while :; do i=$((i+1)); read pid rest < /proc/self/stat; "
          "echo \"$pid $i\" >> /data/count; echo tick $i; sleep 0.2; done")
# the same, with its ticks going through a TCP connection inside the container
TCP_SCRIPT = ("echo hello-tcp > /tmp/keep; sleep 100000 | nc -l -p 5000 > /data/tcp & "
              "sleep 0.5; i=0; "
              "while :; do i=$((i+1)); echo \"1 $i\" >> /data/count; echo $i; "
              "sleep 0.2; done | nc 127.0.0.1 5000")
APPLETS = ["sh", "sleep", "cat", "echo", "nc", "ls", "ps", "mkdir", "true"]


class CaseFail(Exception):
    pass


# ---- helpers ----

def sh(argv, env=None, user=None, timeout=TIMEOUT, stdout=None, check=True, cwd=None):
    """Run argv; return (rc, output).  user: run as that uid (setpriv)."""
    if user is not None:
        argv = ["setpriv", "--reuid=%d" % user, "--regid=%d" % user, "--clear-groups",
                "--"] + argv
    out = subprocess.PIPE if stdout is None else stdout
    try:
        p = subprocess.run(argv, env=env, stdout=out, stderr=subprocess.STDOUT if
                           stdout is None else stdout, stdin=subprocess.DEVNULL,
                           timeout=timeout, cwd=cwd)
    except subprocess.TimeoutExpired:
        raise CaseFail("%s: no answer in %d s" % (" ".join(argv), timeout))
    text = p.stdout.decode(errors="replace") if stdout is None else ""
    if check and p.returncode:
        raise CaseFail("%s: exit %d: %s" % (" ".join(argv[:6]), p.returncode,
                                              text.strip()[-600:]))
    return p.returncode, text


def first_error(*dirs, text=""):
    """The first error line of criu's logs in dirs (or named in text)."""
    logs = re.findall(r"log file: ([^\s\"\\]+)", text)
    for d in dirs:
        logs += sorted(glob.glob(os.path.join(d, "*.log")))
    for log in logs:
        try:
            with open(log, errors="replace") as f:
                for line in f:
                    if "Error" in line or "rror:" in line:
                        return "%s: %s" % (os.path.basename(log), line.strip())
        except OSError:
            pass
    return "no error in criu's logs"


class Drain:
    """A pipe whose read end a thread empties; the write end goes to a runtime."""

    def __init__(self):
        self.r, self.w = os.pipe()
        self.data = b""
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while True:
            try:
                b = os.read(self.r, 65536)
            except OSError:
                return
            if not b:
                return
            self.data += b

    def close_w(self):
        if self.w >= 0:
            os.close(self.w)
            self.w = -1

    def text(self):
        return self.data.decode(errors="replace")

    def ino(self):
        return os.fstat(self.r).st_ino


def read_count(data):
    try:
        with open(os.path.join(data, "count")) as f:
            lines = [l.split() for l in f.read().splitlines()]
    except OSError:
        return []
    return [(int(p), int(n)) for p, n in (l for l in lines if len(l) == 2)]


def wait_count(data, n, what, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        c = read_count(data)
        if len(c) >= n:
            return c
        time.sleep(0.1)
    raise CaseFail("%s: the counter did not reach %d lines (%d)" % (what, n,
                                                                   len(read_count(data))))


def check_continues(data, before, low, high, pid_inside):
    """After restore: new lines start at a number in [low, high], go on by one."""
    c = wait_count(data, before + 4, "after restore")
    new = c[before:]
    first = new[0][1]
    if not low <= first <= high:
        raise CaseFail("after restore the counter went on at %d, not at %d..%d" %
                       (first, low, high))
    for (p, n), (_, m) in zip(new, new[1:]):
        if m != n + 1:
            raise CaseFail("after restore the counter jumped from %d to %d" % (n, m))
    if pid_inside is not None and any(p != pid_inside for p, _ in new):
        raise CaseFail("the pid inside was %d, after restore %s" %
                       (pid_inside, sorted(set(p for p, _ in new))))
    return first


def check_tmpfs(hostpid, want):
    path = "/proc/%d/root/tmp/keep" % hostpid
    try:
        with open(path) as f:
            got = f.read().strip()
    except OSError as e:
        raise CaseFail("the tmpfs file of the restored container: %s" % e)
    if got != want:
        raise CaseFail("tmpfs /tmp/keep holds %r, not %r" % (got, want))


def wait_ticks(drain, first, what):
    deadline = time.time() + 10
    want = "tick %d" % first
    while time.time() < deadline:
        if want in drain.text().splitlines():
            return
        time.sleep(0.1)
    raise CaseFail("%s: no %r on the stdout given at restore (inherit-fd pipe or console master): %r" %
                   (what, want, drain.text()[-200:]))


# ---- the root filesystem ----

def make_rootfs():
    busybox = "/bin/busybox"
    if not os.path.exists(busybox):
        raise CaseFail("busybox-static is not installed (/bin/busybox)")
    root = os.path.join(TMP, "rootfs")
    if os.path.exists(root):
        return root
    for d in ("bin", "proc", "sys", "dev", "tmp", "data", "etc"):
        os.makedirs(os.path.join(root, d))
    shutil.copy2(busybox, os.path.join(root, "bin", "busybox"))
    for a in APPLETS:
        os.symlink("busybox", os.path.join(root, "bin", a))
    with open(os.path.join(root, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/:/bin/sh\n")
    sh(["tar", "-C", root, "-cf", os.path.join(TMP, "rootfs.tar"), "."])
    return root


def make_bundle(name, script, rootless=False, terminal=False):
    b = os.path.join(TMP, "bundle-" + name)
    shutil.rmtree(b, ignore_errors=True)
    os.makedirs(os.path.join(b, "data"))
    shutil.copytree(make_rootfs(), os.path.join(b, "rootfs"), symlinks=True)
    sh(["runc", "spec"] + (["--rootless"] if rootless else []), cwd=b)
    with open(os.path.join(b, "config.json")) as f:
        c = json.load(f)
    c["process"]["terminal"] = terminal
    c["process"]["args"] = ["sh", "-c", script]
    c["root"]["readonly"] = False
    c["mounts"].append({"destination": "/data", "type": "bind",
                        "source": os.path.join(b, "data"), "options": ["rbind", "rw"]})
    c["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                        "options": ["nosuid", "nodev", "mode=1777"]})
    with open(os.path.join(b, "config.json"), "w") as f:
        json.dump(c, f, indent=1)
    if rootless:
        sh(["chown", "-R", "%d:%d" % (NOBODY, NOBODY), b])
    return b


# ---- runtimes ----

def env_with_our_criu():
    e = dict(os.environ)
    e["PATH"] = BIN + ":" + e.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
    e["LD_LIBRARY_PATH"] = LIBDIR + (":" + e["LD_LIBRARY_PATH"] if
                                     e.get("LD_LIBRARY_PATH") else "")
    return e


class ConsoleSocket:
    """What --console-socket names: takes each pty master the runtime sends
    (SCM_RIGHTS) and reads the container's terminal output from it."""

    def __init__(self, path):
        self.path = path
        self.sk = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sk.bind(path)
        self.sk.listen(4)
        self.masters = []
        self.data = b""
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sk.accept()
            except OSError:
                return
            _, anc, _, _ = c.recvmsg(4096, socket.CMSG_SPACE(4))
            c.close()
            for level, kind, raw in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fd = int.from_bytes(raw[:4], sys.byteorder)
                    self.masters.append(fd)
                    threading.Thread(target=self._read, args=(fd,), daemon=True).start()

    def _read(self, fd):
        while True:
            try:
                b = os.read(fd, 4096)
            except OSError:
                return
            if not b:
                return
            self.data += b

    def text(self):
        return self.data.decode(errors="replace").replace("\r", "")

    def close(self):
        self.sk.close()
        for fd in self.masters:
            try:
                os.close(fd)
            except OSError:
                pass


def check_crun_criu(name):
    """crun checkpoints only when built with libcriu (+CRIU in its --version)."""
    if name != "crun":
        return
    _, out = sh(["crun", "--version"])
    if "+CRIU" not in out:
        raise CaseFail("this crun is built without CRIU support (no +CRIU in `crun "
                       "--version`: %s): it has no checkpoint command" %
                       out.strip().splitlines()[-1])


class Holder:
    """A user namespace and mount namespace of the user's own, as rootlesskit
    or `podman unshare` keep one: the rootless runtime runs in it (runc's
    restore bind-mounts the rootfs, which needs a mount namespace of one's
    own).  Commands enter it with nsenter, credentials kept."""

    def __init__(self, user):
        self.p = subprocess.Popen(
            ["setpriv", "--reuid=%d" % user, "--regid=%d" % user, "--clear-groups", "--",
             "unshare", "--user", "--map-root-user", "--mount", "--propagation", "private",
             "sleep", "100000"], stdin=subprocess.DEVNULL)
        deadline = time.time() + 5
        while time.time() < deadline:
            if os.readlink("/proc/%d/ns/user" % self.p.pid) != os.readlink("/proc/self/ns/user"):
                return
            time.sleep(0.05)
        raise CaseFail("the user's namespace holder did not start")

    def enter(self):
        return ["nsenter", "-t", str(self.p.pid), "-U", "-m", "--preserve-credentials", "--"]

    def stop(self):
        self.p.kill()
        self.p.wait()


class Runtime:
    def __init__(self, name, user=None):
        self.name = name
        self.user = user
        self.root = None
        self.holder = None
        if shutil.which(name) is None:
            raise CaseFail("%s is not installed" % name)
        check_crun_criu(name)
        if user is not None:
            self.root = os.path.join(TMP, "state-" + name + "-rootless")
            os.makedirs(self.root, exist_ok=True)
            os.chown(self.root, user, user)
            self.holder = Holder(user)

    def argv(self, *args):
        a = self.holder.enter() if self.holder else []
        a += [self.name]
        if self.name == "runc":
            a += ["--criu", CRIU]
        if self.root:
            a += ["--root", self.root]
        return a + list(args)

    def env(self):
        e = env_with_our_criu()
        if self.user is not None:
            e["HOME"] = TMP
            e["XDG_RUNTIME_DIR"] = os.path.join(TMP, "xdg")
            os.makedirs(e["XDG_RUNTIME_DIR"], exist_ok=True)
            os.chown(e["XDG_RUNTIME_DIR"], self.user, self.user)
        return e

    def run(self, *args, stdout=None, check=True):
        return sh(self.argv(*args), env=self.env(), user=self.user, stdout=stdout,
                  check=check)

    def pid(self, cid):
        _, out = self.run("state", cid)
        return json.loads(out)["pid"]

    def cleanup(self, cid):
        self.run("kill", cid, "KILL", check=False)
        time.sleep(0.2)
        self.run("delete", "-f", cid, check=False)


def start(rt, cid, bundle, drain, console=None):
    rt.cleanup(cid)
    extra = ["--console-socket", console.path] if console else []
    rc, _ = sh(rt.argv("run", "-d", *extra, "--bundle", bundle, cid), env=rt.env(),
               user=rt.user, stdout=drain.w, check=False)
    drain.close_w()
    if rc:
        raise CaseFail("%s run: exit %d: %s" % (rt.name, rc, drain.text().strip()[-400:]))
    wait_count(os.path.join(bundle, "data"), 3, "%s run" % rt.name)


def checkpoint(rt, cid, img, work, *extra):
    rc, out = rt.run("checkpoint", "--image-path", img, "--work-path", work, *extra, cid,
                     check=False)
    if rc:
        raise CaseFail("%s checkpoint %s: exit %d: %s | %s" % (
            rt.name, " ".join(extra), rc, out.strip()[-300:], first_error(work, img)))


def restore(rt, cid, bundle, img, work, console=None):
    d = Drain()
    extra = ["--console-socket", console.path] if console else []
    rc, _ = sh(rt.argv("restore", "--detach", *extra, "--image-path", img, "--work-path",
                       work, "--bundle", bundle, cid), env=rt.env(), user=rt.user,
               stdout=d.w, check=False)
    d.close_w()
    if rc:
        raise CaseFail("%s restore: exit %d: %s | %s" % (rt.name, rc, d.text().strip()[-300:],
                                                        first_error(work, img)))
    return d


def runtime_case(name, rtname, mode="plain", user=None):
    """A container under rtname, checkpointed (mode) and restored."""
    rt = Runtime(rtname, user)
    cid = "ct-%s-%s" % (TAG, name)
    bundle = make_bundle(name, TCP_SCRIPT if mode == "tcp" else SCRIPT, user is not None,
                         terminal=mode == "terminal")
    data = os.path.join(bundle, "data")
    img, work = os.path.join(TMP, name + "-img"), os.path.join(TMP, name + "-work")
    for d in (img, work, os.path.join(TMP, name + "-pre")):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        if user is not None:
            os.chown(d, user, user)
    drain = Drain()
    console = ConsoleSocket(os.path.join(TMP, name + ".console")) if mode == "terminal" \
        else None
    try:
        start(rt, cid, bundle, drain, console)
        pid_inside = read_count(data)[-1][0] if mode != "tcp" else None
        extra = []
        if mode == "predump":
            checkpoint(rt, cid, os.path.join(TMP, name + "-pre"), work, "--pre-dump")
            wait_count(data, len(read_count(data)) + 2, "after pre-dump")
            extra = ["--parent-path", "../%s-pre" % name, "--auto-dedup"]
        elif mode == "leave-running":
            extra = ["--leave-running"]
        elif mode == "tcp":
            extra = ["--tcp-established"]
        elif mode == "page-server":
            extra = ["--page-server", "127.0.0.1:%d" % start_page_server(img, work)]
        low = read_count(data)[-1][1] + 1
        checkpoint(rt, cid, img, work, *extra)
        high = read_count(data)[-1][1] + 1
        if mode == "predump":
            check_dedup(work)
        if mode == "leave-running":
            n = len(read_count(data))
            wait_count(data, n + 3, "the container left running")
            rt.cleanup(cid)
        else:
            time.sleep(0.5)
            if len(read_count(data)) and read_count(data)[-1][1] + 1 != high:
                raise CaseFail("the container went on counting after checkpoint")
            rt.run("delete", "-f", cid, check=False)
        before = len(read_count(data))
        if console:
            console.data = b""
        d = restore(rt, cid, bundle, img, work, console)
        first = check_continues(data, before, low, high, pid_inside)
        hostpid = rt.pid(cid)
        check_tmpfs(hostpid, "hello-tcp" if mode == "tcp" else "hello-%d" % pid_inside)
        if mode == "tcp":
            check_tcp(data, first)
        else:
            wait_ticks(console or d, first, "%s restore" % rtname)
            if "restored pid" in d.text():
                raise CaseFail("criu printed on the container's stdout: %r" % d.text()[:200])
        return "counter on at %d (frozen at %d..%d), pid %s inside, host pid %d" % (
            first, low - 1, high - 1, pid_inside, hostpid)
    finally:
        if not KEEP:
            rt.cleanup(cid)
        if console:
            console.close()
        if rt.holder:
            rt.holder.stop()


def start_page_server(img, work):
    """Our criu page-server on a free loopback port, receiving into img."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    sh([CRIU, "page-server", "-D", img, "--address", "127.0.0.1", "--port", str(port),
        "--daemon", "-v4", "-o", os.path.join(work, "page-server.log")],
       stdout=subprocess.DEVNULL)  # the daemon keeps what it was given
    return port


def check_dedup(work):
    """--auto-dedup: the pre-dump's copies of the pages saved again are holes."""
    with open(os.path.join(work, "dump.log"), errors="replace") as f:
        m = re.search(r"auto-dedup: (\d+) bytes", f.read())
    if not m or int(m.group(1)) == 0:
        raise CaseFail("--auto-dedup punched nothing out of the pre-dump (%s)" %
                       (m.group(0) if m else "no auto-dedup line in dump.log"))


def check_tcp(data, first):
    """The ticks that went through the TCP connection go on after restore."""
    deadline = time.time() + 10
    while time.time() < deadline:
        with open(os.path.join(data, "tcp")) as f:
            got = [int(x) for x in f.read().split()]
        if first + 2 in got:
            break
        time.sleep(0.2)
    else:
        raise CaseFail("the TCP connection carried nothing after restore (last %s)" %
                       got[-3:])
    for a, b in zip(got, got[1:]):
        if b != a + 1:
            raise CaseFail("the numbers through the TCP connection jumped %d -> %d" % (a, b))


# ---- podman ----

def podman(*args, check=True, timeout=TIMEOUT):
    return sh(["podman"] + list(args), env=env_with_our_criu(), check=check,
              timeout=timeout)


def check_podman_logs(cid, first):
    """The restored container's terminal output reaches conmon (its console socket)."""
    deadline = time.time() + 10
    while time.time() < deadline:
        _, out = podman("logs", cid)
        if "tick %d" % (first + 1) in out.replace("\r", "").splitlines():
            return
        time.sleep(0.3)
    raise CaseFail("podman logs has no tick %d after restore: %r" % (first + 1, out[-200:]))


def check_podman_netns(cid, hostpid):
    """Restored into the net namespace podman made (runc: external net[] and
    inherit_fd extRootNetNS), with its eth0."""
    _, out = podman("inspect", "-f", "{{.NetworkSettings.SandboxKey}}", cid)
    key = out.strip()
    if not key or os.stat(key).st_ino != os.stat("/proc/%d/ns/net" % hostpid).st_ino:
        raise CaseFail("the restored container is not in podman's net namespace %r" % key)
    with open("/proc/%d/net/dev" % hostpid) as f:
        if "eth0:" not in f.read():
            raise CaseFail("the restored container's net namespace has no eth0")


def podman_case(name, runtime, export=False, terminal=False, network="none"):
    if shutil.which("podman") is None:
        raise CaseFail("podman is not installed")
    check_crun_criu(runtime)
    make_rootfs()
    image = "localhost/%s-busybox:latest" % TAG
    if podman("image", "exists", image, check=False)[0]:
        podman("import", os.path.join(TMP, "rootfs.tar"), image)
    cid = "ct-%s-%s" % (TAG, name)
    data = os.path.join(TMP, name + "-data")
    shutil.rmtree(data, ignore_errors=True)
    os.makedirs(data)
    tar = os.path.join(TMP, name + ".tar.gz")
    podman("rm", "-f", cid, check=False)
    try:
        # podman's defaults are above what conmon may set (no CAP_SYS_RESOURCE here)
        podman("run", "-d", *(["-t"] if terminal else []), "--name", cid, "--runtime",
               runtime, "--network", network,
               "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
               "-v", "%s:/data" % data, "--tmpfs", "/tmp", image, "sh", "-c", SCRIPT)
        wait_count(data, 3, "podman run")
        pid_inside = read_count(data)[-1][0]
        low = read_count(data)[-1][1] + 1
        rc, out = podman("container", "checkpoint", *(["--export", tar] if export else []),
                         cid, check=False)
        if rc:
            raise CaseFail("podman container checkpoint: %s | %s" % (out.strip()[-300:],
                                                                     first_error(text=out)))
        high = read_count(data)[-1][1] + 1
        before = len(read_count(data))
        if export:
            podman("rm", "-f", cid)
            rc, out = podman("container", "restore", "--import", tar, check=False)
        else:
            rc, out = podman("container", "restore", cid, check=False)
        if rc:
            raise CaseFail("podman container restore: %s | %s" % (out.strip()[-300:],
                                                                  first_error(text=out)))
        first = check_continues(data, before, low, high, pid_inside)
        _, out = podman("inspect", "-f", "{{.State.Pid}}", cid)
        hostpid = int(out.strip())
        check_tmpfs(hostpid, "hello-%d" % pid_inside)
        if terminal:
            check_podman_logs(cid, first)
        if network != "none":
            check_podman_netns(cid, hostpid)
        return "counter on at %d under %s, host pid %d" % (first, runtime, hostpid)
    finally:
        if not KEEP:
            podman("rm", "-f", cid, check=False)


# ---- criu alone: --inherit-fd ----

def inherit_fd_case():
    img = os.path.join(TMP, "inherit-img")
    shutil.rmtree(img, ignore_errors=True)
    r, w = os.pipe()
    p = subprocess.Popen(["setsid", "sh", "-c", "i=0; while :; do i=$((i+1)); echo $i; "
                          "sleep 0.1; done"], stdout=w, stdin=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    os.close(w)
    try:
        time.sleep(0.5)
        ino = os.stat("/proc/%d/fd/1" % p.pid).st_ino
        sh([CRIU, "dump", "-t", str(p.pid), "-D", img, "-v4", "-o", "dump.log"])
        p.wait(timeout=10)
        os.set_blocking(r, False)
        last = int(os.read(r, 1 << 20).split()[-1])
        os.close(r)
        r2, w2 = os.pipe()
        rc = subprocess.run([CRIU, "restore", "-D", img, "-d", "-v4", "-o", "restore.log",
                             "--inherit-fd", "fd[%d]:pipe:[%d]" % (w2, ino)],
                            pass_fds=[w2], timeout=TIMEOUT).returncode
        os.close(w2)
        if rc:
            raise CaseFail("criu restore --inherit-fd: exit %d: %s" % (rc, first_error(img)))
        time.sleep(0.5)
        os.set_blocking(r2, False)
        got = [int(x) for x in os.read(r2, 1 << 20).split()]
        os.close(r2)
        if not got or got[0] != last + 1:
            raise CaseFail("the new pipe got %s, not %d onwards" % (got[:3], last + 1))
        return "the restored counter wrote %d.. into the inherited pipe" % got[0]
    finally:
        try:
            os.kill(p.pid, 9)
        except OSError:
            pass


def external_net_case():
    """--external net[INO]:NAME at dump, --inherit-fd fd[N]:NAME at restore."""
    ns = os.path.join(TMP, "netns")
    img = os.path.join(TMP, "extnet-img")
    open(ns, "w").close()
    sh(["unshare", "--net=" + ns, "true"])
    p = None
    try:
        ino = os.stat(ns).st_ino
        p = subprocess.Popen(["nsenter", "--net=" + ns, "setsid", "sleep", "1000"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        deadline = time.time() + 5
        while time.time() < deadline and (
                os.stat("/proc/%d/ns/net" % p.pid).st_ino != ino or
                os.readlink("/proc/%d/exe" % p.pid) != shutil.which("sleep")):
            time.sleep(0.05)
        sh([CRIU, "dump", "-t", str(p.pid), "-D", img, "-v4", "-o", "dump.log",
            "--external", "net[%d]:extRootNetNS" % ino])
        p.wait(timeout=10)
        fd = os.open(ns, os.O_RDONLY)
        rc = subprocess.run([CRIU, "restore", "-D", img, "-d", "-v4", "-o", "restore.log",
                             "--inherit-fd", "fd[%d]:extRootNetNS" % fd], pass_fds=[fd],
                            timeout=TIMEOUT).returncode
        os.close(fd)
        if rc:
            raise CaseFail("restore with the net namespace inherited: %s" % first_error(img))
        got = os.stat("/proc/%d/ns/net" % p.pid).st_ino
        if got != ino:
            raise CaseFail("restored in net namespace %d, not the inherited %d" % (got, ino))
        return "pid %d back in the caller's net namespace %d" % (p.pid, ino)
    finally:
        if p:
            try:
                os.kill(p.pid, 9)
            except OSError:
                pass
        subprocess.run(["umount", ns], stderr=subprocess.DEVNULL)


def join_ns_case():
    """--join-ns uts:FILE: the restored tree is in that namespace, its hostname."""
    ns = os.path.join(TMP, "utsns")
    img = os.path.join(TMP, "joinns-img")
    open(ns, "w").close()
    sh(["unshare", "--uts=" + ns, "hostname", "runc-h-joined"])
    p = None
    try:
        p = subprocess.Popen(["unshare", "-u", "sh", "-c",
                              "hostname runc-h-own; exec setsid sleep 1000"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        deadline = time.time() + 5
        while time.time() < deadline and not os.readlink(
                "/proc/%d/exe" % p.pid).endswith("sleep"):
            time.sleep(0.05)
        sh([CRIU, "dump", "-t", str(p.pid), "-D", img, "-v4", "-o", "dump.log"])
        p.wait(timeout=10)
        rc, _ = sh([CRIU, "restore", "-D", img, "-d", "-v4", "-o", "restore.log",
                    "--join-ns", "uts:" + ns], check=False)
        if rc:
            raise CaseFail("restore --join-ns uts: %s" % first_error(img))
        if os.stat("/proc/%d/ns/uts" % p.pid).st_ino != os.stat(ns).st_ino:
            raise CaseFail("the restored tree is not in the joined uts namespace")
        _, name = sh(["nsenter", "-t", str(p.pid), "-u", "hostname"])
        if name.strip() != "runc-h-joined":
            raise CaseFail("hostname %r after restore, not the joined one's" % name.strip())
        return "pid %d in the joined uts namespace, hostname %s" % (p.pid, name.strip())
    finally:
        if p:
            try:
                os.kill(p.pid, 9)
            except OSError:
                pass
        subprocess.run(["umount", ns], stderr=subprocess.DEVNULL)


def rpc_case(name, img):
    """A case of rpc_cases.py (Debian's pycriu, so the system python)."""
    d = os.path.join(TMP, name)
    os.makedirs(d, exist_ok=True)
    rc, out = sh(["/usr/bin/python3", os.path.join(HERE, "rpc_cases.py"), name, CRIU, d],
                 check=False)
    last = out.strip().splitlines()[-1] if out.strip() else ""
    if rc or not last.startswith("OK "):
        raise CaseFail("%s | %s" % (last or out.strip()[-300:],
                                    first_error(os.path.join(d, img))))
    return last[3:]


def config_cli_case():
    """criu dump --config FILE: the file's leave-running keeps the tree running."""
    img = os.path.join(TMP, "config-cli-img")
    conf = os.path.join(TMP, "cli.conf")
    with open(conf, "w") as f:
        f.write("leave-running\nlog-file dump-from-config.log\n")
    p = subprocess.Popen(["setsid", "sleep", "1000"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        sh([CRIU, "dump", "-t", str(p.pid), "-D", img, "-v4", "--config", conf])
        time.sleep(0.3)
        if p.poll() is not None:
            raise CaseFail("--config's leave-running was not read: the tree was killed")
        if not os.path.exists(os.path.join(img, "dump-from-config.log")):
            raise CaseFail("--config's log-file was not read")
        return "leave-running and log-file read from --config"
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()


# name, function.  crun and podman with crun: crun.py, with a crun built with
# +CRIU (build-crun.sh); Debian's has no checkpoint command.
CASES = [
    ("inherit-fd", inherit_fd_case),
    ("orphan-pts", lambda: rpc_case("orphan-pts", "orphan-img")),
    ("config-file", lambda: rpc_case("config-file", "config-img")),
    ("config-cli", config_cli_case),
    ("external-net", external_net_case),
    ("join-ns", join_ns_case),
    ("runc", lambda: runtime_case("runc", "runc")),
    ("runc-leave-running", lambda: runtime_case("runc-lr", "runc", "leave-running")),
    ("runc-tcp", lambda: runtime_case("runc-tcp", "runc", "tcp")),
    ("runc-predump", lambda: runtime_case("runc-pre", "runc", "predump")),
    ("runc-terminal", lambda: runtime_case("runc-tty", "runc", "terminal")),
    ("runc-page-server", lambda: runtime_case("runc-ps", "runc", "page-server")),
    ("podman-runc", lambda: podman_case("podman-runc", "runc")),
    ("podman-export", lambda: podman_case("podman-export", "runc", export=True)),
    ("podman-terminal", lambda: podman_case("podman-tty", "runc", terminal=True)),
    ("podman-network", lambda: podman_case("podman-net", "runc", network="bridge")),
    ("runc-rootless", lambda: runtime_case("runc-rl", "runc", user=NOBODY)),
]

UNIFIED = "/sys/fs/cgroup/unified"


def hybrid_cgroups():
    """crun 1.8 refuses a hybrid cgroup layout whose v2 part has controllers."""
    try:
        with open(os.path.join(UNIFIED, "cgroup.controllers")) as f:
            return bool(f.read().split())
    except OSError:
        return False


def hidden_unified(name, fn, script):
    """The case's result line.  crun 1.8 refuses a hybrid cgroup layout: then
    the case runs as `script --inner NAME` in a mount namespace of its own
    without the v2 mount (the host is left alone)."""
    if not hybrid_cgroups():
        return fn()
    argv = ["unshare", "-m", "--propagation", "slave", "--", "sh", "-c",
            'umount %s && exec "$0" "$@"' % UNIFIED, sys.executable,
            script, "--criu", CRIU, "--inner", name, "--tmp", TMP]
    if KEEP:
        argv.append("--keep")
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=600)
    lines = p.stdout.decode(errors="replace").strip().splitlines()
    last = lines[-1] if lines else ""
    if last.startswith("INNER-PASS "):
        return last[len("INNER-PASS "):] + " (crun: v2 mount hidden)"
    raise CaseFail(last[len("INNER-FAIL "):] if last.startswith("INNER-FAIL ") else
                   "the case in its own mount namespace: %s" % " | ".join(lines[-5:]))


def main():
    global CRIU, TMP, BIN, LIBDIR, KEEP
    ap = argparse.ArgumentParser()
    ap.add_argument("--criu", default=os.path.join(REPO, "build/criu/criu"))
    ap.add_argument("-t", action="append", default=[])
    ap.add_argument("-x", action="append", default=[])
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("-l", action="store_true")
    a = ap.parse_args()
    if a.l:
        print("\n".join(c[0] for c in CASES))
        return 0
    CRIU = os.path.abspath(a.criu)
    KEEP = a.keep
    LIBDIR = os.path.join(os.path.dirname(os.path.dirname(CRIU)), "lib", "c")
    TMP = tempfile.mkdtemp(prefix="%s-ct-" % TAG, dir="/tmp")
    os.chmod(TMP, 0o755)
    BIN = os.path.join(TMP, "bin")
    os.makedirs(BIN)
    os.symlink(CRIU, os.path.join(BIN, "criu"))
    failed = passed = 0
    for name, fn in CASES:
        if a.t and not any(fnmatch.fnmatch(name, g) for g in a.t):
            continue
        if any(fnmatch.fnmatch(name, g) for g in a.x):
            continue
        t0 = time.time()
        try:
            what = fn()
            print("PASS %s (%.1f s): %s" % (name, time.time() - t0, what), flush=True)
            passed += 1
        except CaseFail as e:
            print("FAIL %s: %s" % (name, e), flush=True)
            failed += 1
    print("%d passed, %d failed" % (passed, failed))
    if not KEEP:
        shutil.rmtree(TMP, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
