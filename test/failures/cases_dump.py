"""Failure cases of run.py: dumps that must fail and leave the target as it was
(bad pids, a full disk, exiting targets, unsupported state and options)."""

import argparse
import ctypes
import errno
import fnmatch
import glob
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

import lib  # noqa: E402
from lib import *  # noqa: F401,F403


# 1. bad pids and arguments ------------------------------------------------

@case("dump.badpid.nonexistent")
def _():
    p = free_pid()
    run = criu(["dump", "-t", str(p), "-D", os.path.join(case_dir("badpid"), "img")],
               log=os.path.join(case_dir("badpid"), "nonexistent.log"))
    expect_failure(run, str(p))


@case("dump.badpid.zero")
def _():
    run = criu(["dump", "-t", "0", "-D", os.path.join(case_dir("badpid"), "img")])
    expect_failure(run, "pid", "0")


@case("dump.badpid.abc")
def _():
    run = criu(["dump", "-t", "abc", "-D", os.path.join(case_dir("badpid"), "img")])
    expect_failure(run, "abc")


@case("dump.badpid.missing")
def _():
    run = criu(["dump", "-D", os.path.join(case_dir("badpid"), "img")])
    expect_failure(run, "-t")


@case("dump.badpid.negative")
def _():
    run = criu(["dump", "-t", "-5", "-D", os.path.join(case_dir("badpid"), "img")])
    expect_failure(run, "-5")


# 2. image dir on a full tmpfs ---------------------------------------------

@case("dump.enospc")
def _():
    d = case_dir("enospc")
    mnt = os.path.join(d, "mnt")
    os.makedirs(mnt, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mnt],
                       capture_output=True, text=True)
    if r.returncode:
        raise CaseSkip("cannot mount a tmpfs: " + r.stderr.strip())
    lib.MOUNTS.append(mnt)
    t = Target("enospc-target", "--mem", "4")
    try:
        dump_must_fail("enospc", t, [], any_of=["No space left", "ENOSPC"],
                       img=os.path.join(mnt, "img"))
    finally:
        t.kill()


# 3. the target exits or forks during the dump -------------------------------

def no_stopped_in_session(sid):
    bad = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        s = read("/proc/%s/stat" % d)
        if s is None:
            continue
        f = s[s.rindex(")") + 2:].split()
        if int(f[3]) != sid:
            continue
        ts = thread_status(int(d)) or {}
        for tid, st in ts.items():
            if stopped_or_traced(st):
                bad.append("pid %s tid %d left %s, TracerPid %s" %
                           (d, tid, st["State"], st["TracerPid"]))
    return bad


def race_outcome(run):
    """A racing dump may fail or succeed; it must not crash or hang, and a
    failure must be one line on stderr."""
    lib.CURRENT.details += run.details()
    if run.rc == "timeout":
        raise CaseFail("criu hung (killed after %ds)" % CRIU_TIMEOUT)
    if run.rc < 0:
        raise CaseFail("criu died of signal %d" % -run.rc)
    if run.orphans:
        raise CaseFail("criu left processes behind: %s" % run.orphans)
    if run.rc != 0:
        lines = run.err.splitlines()
        if len(lines) != 1:
            raise CaseFail("failed with %d lines on stderr: %r" % (len(lines), run.err[:300]))


@case("dump.exit.churn")
def _():
    """A tree whose children come and go every few ms, dumped three times
    with --leave-running; the root must stay as it was."""
    d = case_dir("churn")
    t = Target("churn-target", "--churn")
    try:
        t.ping()
        outcomes = []
        for i in range(3):
            before = snapshot(t.pid)
            run = criu(["dump", "-t", str(t.pid), "-D", os.path.join(d, "img%d" % i),
                        "--leave-running", "--timeout", "3"],
                       log=os.path.join(d, "dump%d.log" % i))
            race_outcome(run)
            outcomes.append(str(run.rc))
            bad = compare(t.pid, before, "root") + no_stopped_in_session(t.pid)
            if bad:
                raise CaseFail("after dump %d (rc %s): %s" % (i, run.rc, "; ".join(bad)))
            t.ping()
        lib.CURRENT.note = "rc " + ",".join(outcomes)
    finally:
        t.kill()


@case("dump.exit.killed")
def _():
    """The target is SIGKILLed at various moments while criu dumps it."""
    d = case_dir("killed")
    outcomes = []
    for i, delay in enumerate((0.0, 0.005, 0.02, 0.05, 0.1, 0.2)):
        t = Target("killed-target%d" % i, "--mem", "48")
        timer = threading.Timer(delay, kill_tree, (t.pid,))
        timer.start()
        run = criu(["dump", "-t", str(t.pid), "-D", os.path.join(d, "img%d" % i)],
                   log=os.path.join(d, "dump%d.log" % i))
        timer.join()
        race_outcome(run)
        outcomes.append(str(run.rc))
        st = wait_spawned(t.pid, 3)
        if st is None:
            raise CaseFail("delay %.3f: target %d still there after criu (rc %s): %s"
                           % (delay, t.pid, run.rc, thread_status(t.pid)))
        bad = no_stopped_in_session(t.pid)
        if bad:
            raise CaseFail("delay %.3f: %s" % (delay, "; ".join(bad)))
    lib.CURRENT.note = "rc " + ",".join(outcomes)


@case("dump.exit.mid-pages")
def _():
    """The target is SIGKILLed while criu copies its pages: the line must say
    that it exited (a short read of a dead task's pagemap is no errno)."""
    d = case_dir("mid-pages")
    t = Target("mid-pages-target", "--mem", "192")
    log = os.path.join(d, "dump.log")
    killed = threading.Event()

    def watch():
        # with CRIU_FAULT_STEP set (never reached) criu logs each step
        end = time.monotonic() + 20
        while time.monotonic() < end and not killed.is_set():
            if re.search(r"step \d+: pages", read(log) or ""):
                kill_tree(t.pid)
                killed.set()
                return
            time.sleep(0.002)

    w = threading.Thread(target=watch)
    os.environ["CRIU_FAULT_STEP"] = "1000000000"
    try:
        w.start()
        run = criu(["dump", "-t", str(t.pid), "-D", os.path.join(d, "img")], log=log)
    finally:
        del os.environ["CRIU_FAULT_STEP"]
        killed.set()
        w.join()
    if wait_spawned(t.pid, 3) is None:
        raise CaseFail("target %d still there after criu (rc %s)" % (t.pid, run.rc))
    line = expect_failure(run, str(t.pid), any_of=("exited", "died"))
    if "Success" in line:
        raise CaseFail("an errno-less error: %r" % line)


@case("dump.exit.selfexit")
def _():
    """A two-process tree (sh and its sleep child) that ends by itself while
    criu dumps it with --leave-running: sh must still exit with its own
    status, 3."""
    d = case_dir("selfexit")
    outcomes = []
    for i, delay in enumerate(("0", "0.01", "0.03", "0.06", "0.1")):
        pid = spawn(["/bin/sh", "-c", "sleep %s; exit 3" % delay, lib.MARKER])
        run = criu(["dump", "-t", str(pid), "-D", os.path.join(d, "img%d" % i),
                    "--leave-running"], log=os.path.join(d, "dump%d.log" % i))
        race_outcome(run)
        outcomes.append(str(run.rc))
        st = wait_spawned(pid, 5)
        if st is None or not os.WIFEXITED(st) or os.WEXITSTATUS(st) != 3:
            left = no_stopped_in_session(pid)
            kill_tree(pid)
            raise CaseFail("sleep %s: sh %s, not exited 3 (criu rc %s)%s" % (
                delay, describe_status(st), run.rc, "; " + "; ".join(left) if left else ""))
        bad = no_stopped_in_session(pid)
        if bad:
            raise CaseFail("sleep %s: %s" % (delay, "; ".join(bad)))
    lib.CURRENT.note = "rc " + ",".join(outcomes)


# 4. unsupported descriptors -------------------------------------------------

FD_KINDS = {
    "socket": ["socket"],
    "socket-listen": ["not yet accepted"],
    "tcp-established": ["--tcp-established"],
    "tcp-listen": ["TCP listening", "not yet accepted"],
    "tcp-close-wait": ["CLOSE_WAIT"],
    "epoll": ["epoll", "eventpoll"],
    "inotify": ["inotify"],
    "pidfd": ["pidfd"],
    # criu without CAP_WAKE_ALARM cannot make the timer again
    "timerfd-alarm": ["CAP_WAKE_ALARM"],
    "nsfd": ["namespace"],
    "fanotify": ["fanotify"],
    # refused by family: "is a packet socket", "is a socket of family AF_VSOCK (40)"
    "packet": ["packet socket"],
    "vsock": ["family AF_VSOCK (40)"],
}

# Runs criu as root without CAP_WAKE_ALARM (gone from the bounding set,
# so exec does not give it back).
NO_WAKE_ALARM = ("setpriv", "--bounding-set=-wake_alarm", "--")


def fd_case(kind):
    def run_case():
        t = Target("fd-" + kind, "--fd", kind)
        prefix = NO_WAKE_ALARM if kind == "timerfd-alarm" else ()
        try:
            line = dump_must_fail("fd." + kind, t, [], "unsupported", any_of=FD_KINDS[kind],
                                  prefix=prefix)
            fds = t.fds[kind]
            m = re.search(r"unsupported: pid (\d+) fd (\d+) is (.*)", line)
            if not m:
                raise CaseFail("not 'unsupported: pid P fd N is KIND': %r" % line)
            if int(m.group(1)) != t.pid or int(m.group(2)) not in fds:
                raise CaseFail("names pid %s fd %s, expected pid %d fd %s: %r" % (
                    m.group(1), m.group(2), t.pid, "/".join(map(str, fds)), line))
        finally:
            t.kill()
    return run_case


for _k in FD_KINDS:
    case("dump.fd." + _k)(fd_case(_k))


def wait_all_stopped(pid, timeout=3.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        ts = thread_status(pid)
        if ts and all(t["State"][0] == "T" for t in ts.values()):
            return ts
        time.sleep(0.01)
    raise CaseFail("target %d did not stop: %s" % (pid, thread_status(pid)))


@case("dump.stopped.refused")
def _():
    """A target in group stop whose dump fails (a fanotify fd): it is left
    stopped, untraced, with no signal added, and runs on after SIGCONT."""
    t = Target("stopped", "--fd", "fanotify")
    d = case_dir("stopped")
    try:
        t.ping()
        os.kill(t.pid, signal.SIGSTOP)
        before = wait_all_stopped(t.pid)
        run = criu(["dump", "-t", str(t.pid), "-D", os.path.join(d, "img")],
                   log=os.path.join(d, "dump.log"))
        expect_failure(run, "unsupported", any_of=FD_KINDS["fanotify"])
        time.sleep(0.3)
        after = thread_status(t.pid) or {}
        if sorted(after) != sorted(before):
            raise CaseFail("threads %s -> %s" % (sorted(before), sorted(after)))
        for tid, a in sorted(after.items()):
            if a["State"][0] != "T" or a["TracerPid"] != "0":
                raise CaseFail("tid %d is left %s, tracer %s" % (tid, a["State"],
                                                                 a["TracerPid"]))
            for k in STATUS_KEYS[1:]:
                if before[tid][k] != a[k]:
                    raise CaseFail("tid %d %s %s -> %s" % (tid, k, before[tid][k], a[k]))
        os.kill(t.pid, signal.SIGCONT)
        t.ping()
    finally:
        t.kill()


@case("dump.ext-unix-sk")
def _():
    """A datagram client connected to a server outside the tree: refused
    naming the server; with --ext-unix-sk dumped, and restored connected
    to the server again by its name (the restored target's check gets an
    answer from it)."""
    d = case_dir("dump.ext-unix-sk")
    t = Target("dgram-ext", "--fd", "dgram-ext")
    server = t.fds["server"][0]
    spath = os.path.join(t.dir, "server.sock")
    try:
        line = dump_must_fail("ext-unix-sk.refused", t, [], "unsupported", "--ext-unix-sk",
                              "pid %d fd %d " % (t.pid, t.fds["dgram-ext"][0]), spath)
        if "socket:[" not in line:
            raise CaseFail("the peer's inode is not named: %r" % line)
        img = os.path.join(d, "img")
        run = criu(["dump", "-t", str(t.pid), "-D", img, "--ext-unix-sk"],
                   log=os.path.join(d, "dump.log"))
        if run.rc != 0:
            lib.CURRENT.details = run.details()
            raise CaseFail("the dump with --ext-unix-sk failed: rc %s: %s" %
                           (run.rc, run.err.strip()))
        if wait_spawned(t.pid, 5) is None or not wait_gone(t.pid):
            raise CaseFail("dumped target %d still exists" % t.pid)
        if not alive(server):
            raise CaseFail("the outside server %d died with the dump" % server)
        run = criu(["restore", "-D", img, "-d", "--ext-unix-sk"],
                   log=os.path.join(d, "restore.log"))
        if run.rc != 0:
            lib.CURRENT.details = run.details()
            raise CaseFail("the restore failed: rc %s: %s" % (run.rc, run.err.strip()))
        t.ticks = -1
        t.ping()
    finally:
        t.kill()
        try:
            os.kill(server, signal.SIGKILL)
        except ProcessLookupError:
            pass


@case("restore.timerfd-alarm.nocap")
def _():
    """Dumped with CAP_WAKE_ALARM, restored without it."""
    d = case_dir("restore.timerfd-alarm.nocap")
    img = os.path.join(d, "img")
    t = Target("alarm-target", "--fd", "timerfd-alarm")
    t.ping()
    run = criu(["dump", "-t", str(t.pid), "-D", img], log=os.path.join(d, "dump.log"))
    if run.rc != 0:
        t.kill()
        lib.CURRENT.details = run.details()
        raise CaseFail("the dump failed: rc %s: %s" % (run.rc, run.err.strip()))
    if wait_spawned(t.pid, 5) is None or not wait_gone(t.pid):
        raise CaseFail("dumped target %d still exists" % t.pid)
    kids_before = {p for p, _ in my_children()}
    marked_before = set(marked_processes())
    run = criu(["restore", "-D", img, "-d"], log=os.path.join(d, "restore.log"),
               prefix=NO_WAKE_ALARM)
    try:
        expect_failure(run, "CAP_WAKE_ALARM", "timerfd")
    finally:
        left = leftovers(t.pid, kids_before, marked_before, ())
        if left:
            kill_everything_new(kids_before, marked_before, (), t.pid)
    if left:
        raise CaseFail("left behind: " + "; ".join(left))


# Runs criu as root without CAP_SYS_ADMIN, as a rootless criu is in the
# initial user namespace: PTRACE_SECCOMP_GET_FILTER and PTRACE_O_SUSPEND_SECCOMP
# need it there.
NO_SYS_ADMIN = ("setpriv", "--bounding-set=-sys_admin", "--")


@case("dump.seccomp.nocap")
def _():
    """A target with a seccomp filter, dumped without CAP_SYS_ADMIN."""
    t = Target("seccomp-target", "--seccomp")
    try:
        line = dump_must_fail("dump.seccomp.nocap", t, [], "unsupported", "seccomp filters",
                              "CAP_SYS_ADMIN", prefix=NO_SYS_ADMIN)
        if "pid %d tid %d " % (t.pid, t.pid) not in line:
            raise CaseFail("does not name pid %d tid %d: %r" % (t.pid, t.pid, line))
    finally:
        t.kill()


# The rootless half of dump.seccomp.rootless: pid 1 of a user's own user and
# pid namespaces starts the target, dumps it and reports what it saw.  It runs
# on /usr/bin/python3, which uid 65534 can execute (the runner's may not be).
ROOTLESS_SECCOMP = r"""
import json, os, signal, subprocess, sys, time
work, target, criu, marker, out = sys.argv[1:6]
facts = {}
t = subprocess.Popen([sys.executable, target, work, marker, "--seccomp"],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)
def ping():
    reply = os.path.join(work, "reply")
    if os.path.exists(reply):
        os.unlink(reply)
    os.kill(t.pid, signal.SIGUSR1)
    end = time.monotonic() + 3
    while not os.path.exists(reply) and time.monotonic() < end:
        time.sleep(0.01)
    return json.load(open(reply)) if os.path.exists(reply) else None
try:
    end = time.monotonic() + 10
    while not os.path.exists(os.path.join(work, "ready")) and time.monotonic() < end:
        time.sleep(0.01)
    facts["pid"] = t.pid
    facts["before"] = ping()
    p = subprocess.run([criu, "dump", "--unprivileged", "-t", str(t.pid), "-D",
                        os.path.join(work, "img"), "-o", os.path.join(work, "dump.log"),
                        "-v4"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=30)
    facts["rc"], facts["stderr"] = p.returncode, p.stderr.decode(errors="replace")
    time.sleep(0.3)
    st = dict(l.split(":", 1) for l in open("/proc/%d/status" % t.pid) if ":" in l)
    facts["state"], facts["tracer"] = st["State"].strip(), st["TracerPid"].strip()
    time.sleep(0.2)
    facts["after"] = ping()
finally:
    t.kill()
    t.wait()
    json.dump(facts, open(out, "w"))
"""


@case("dump.seccomp.rootless")
def _():
    """A rootless criu, with its target in its own namespaces, and a seccomp filter."""
    work = tempfile.mkdtemp(prefix="seccomp-rootless-", dir=lib.TMP)
    os.chmod(lib.TMP, 0o711)
    os.chmod(work, 0o777)
    out = os.path.join(work, "facts.json")
    cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--",
           "unshare", "-Urpf", "--mount-proc", "/usr/bin/python3", "-c", ROOTLESS_SECCOMP, work, TARGET,
           lib.CRIU, lib.MARKER, out]
    try:
        ns = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, timeout=60)
    except subprocess.TimeoutExpired:
        raise CaseFail("the rootless namespace did not finish in 60 s")
    finally:
        os.chmod(lib.TMP, 0o700)
    if not os.path.exists(out):
        raise CaseFail("the rootless namespace wrote no facts: exit %d: %s" % (
            ns.returncode, ns.stderr.decode(errors="replace").strip()[-300:]))
    f = json.load(open(out))
    lib.CURRENT.details = ["rootless facts: %r" % f]
    if not f.get("before") or not f["before"].get("ok"):
        raise CaseFail("the target was not well before the dump: %r" % f.get("before"))
    if "rc" not in f or f["rc"] <= 0:
        raise CaseFail("criu exited with %r, not an error" % f.get("rc"))
    lines = f["stderr"].splitlines()
    if len(lines) != 1:
        raise CaseFail("%d lines on stderr, not one: %r" % (len(lines), f["stderr"][:300]))
    for n in ("unsupported", "pid %d tid %d " % (f["pid"], f["pid"]), "seccomp filters",
              "CAP_SYS_ADMIN"):
        if n not in lines[0]:
            raise CaseFail("stderr does not name %r: %r" % (n, lines[0]))
    if f["state"][0] in "tT" or f["tracer"] != "0":
        raise CaseFail("the target is left %s, traced by %s" % (f["state"], f["tracer"]))
    a = f.get("after")
    if not a or not a.get("ok") or a["ticks"] <= f["before"]["ticks"]:
        raise CaseFail("the target is not well after the dump: %r" % a)


@case("restore.seccomp.nocap")
def _():
    """Dumped with CAP_SYS_ADMIN, restored without it."""
    d = case_dir("restore.seccomp.nocap")
    img = os.path.join(d, "img")
    t = Target("seccomp-rst-target", "--seccomp")
    t.ping()
    run = criu(["dump", "-t", str(t.pid), "-D", img], log=os.path.join(d, "dump.log"))
    if run.rc != 0:
        t.kill()
        lib.CURRENT.details = run.details()
        raise CaseFail("the dump failed: rc %s: %s" % (run.rc, run.err.strip()))
    if wait_spawned(t.pid, 5) is None or not wait_gone(t.pid):
        raise CaseFail("dumped target %d still exists" % t.pid)
    kids_before = {p for p, _ in my_children()}
    marked_before = set(marked_processes())
    run = criu(["restore", "-D", img, "-d"], log=os.path.join(d, "restore.log"),
               prefix=NO_SYS_ADMIN)
    try:
        expect_failure(run, "unsupported", "seccomp (filters)", "CAP_SYS_ADMIN",
                       "pid %d tid %d " % (t.pid, t.pid))
    finally:
        left = leftovers(t.pid, kids_before, marked_before, ())
        if left:
            kill_everything_new(kids_before, marked_before, (), t.pid)
    if left:
        raise CaseFail("left behind: " + "; ".join(left))


@case("dump.tcp.repair-undone")
def _():
    """With --tcp-established, a connection put in repair mode, then a
    refused socket: the dump fails and the connection works as before
    (out of repair mode, where a send would fail)."""
    t = Target("tcp-undo", "--fd", "tcp-repair-undo")
    try:
        dump_must_fail("tcp.repair-undone", t, ["--tcp-established"], "unsupported",
                       "CLOSE_WAIT")
    finally:
        t.kill()


def netlink_port(inode):
    """The port id of the netlink socket with this inode (/proc/net/netlink)."""
    for line in read("/proc/net/netlink").splitlines()[1:]:
        f = line.split()
        if len(f) >= 10 and int(f[9]) == inode:
            return int(f[2])
    return None


@case("restore.netlink-port-taken")
def _():
    """A netlink socket's port is held by another socket at restore."""
    d = case_dir("restore.netlink-port-taken")
    img = os.path.join(d, "img")
    t = Target("netlink-target", "--fd", "netlink")
    t.ping()
    fd = t.fds["netlink"][0]
    port = netlink_port(os.stat("/proc/%d/fd/%d" % (t.pid, fd)).st_ino)
    if not port:
        t.kill()
        raise CaseFail("the target's netlink socket is not in /proc/net/netlink")
    run = criu(["dump", "-t", str(t.pid), "-D", img], log=os.path.join(d, "dump.log"))
    if run.rc != 0:
        t.kill()
        lib.CURRENT.details = run.details()
        raise CaseFail("the dump failed: rc %s: %s" % (run.rc, run.err.strip()))
    if wait_spawned(t.pid, 5) is None or not wait_gone(t.pid):
        raise CaseFail("dumped target %d still exists" % t.pid)
    taker = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
    try:
        taker.bind((port, 0))
        kids_before = {p for p, _ in my_children()}
        marked_before = set(marked_processes())
        run = criu(["restore", "-D", img, "-d"], log=os.path.join(d, "restore.log"))
        try:
            expect_failure(run, "netlink", "port %d" % port, "holds it")
        finally:
            left = leftovers(t.pid, kids_before, marked_before, ())
            if left:
                kill_everything_new(kids_before, marked_before, (), t.pid)
        if left:
            raise CaseFail("left behind: " + "; ".join(left))
        if taker.getsockname() != (port, 0):
            raise CaseFail("the socket holding port %d lost it: %r" % (port, taker.getsockname()))
    finally:
        taker.close()
    # with the port free again the same images restore, and the target works
    run = criu(["restore", "-D", img, "-d"], log=os.path.join(d, "restore2.log"))
    if run.rc != 0:
        lib.CURRENT.details = run.details()
        raise CaseFail("the restore with the port free failed: %s" % run.err.strip())
    try:
        t.ping()                      # raises if its socket is not at its port
    finally:
        t.kill()


# 4a2. a session whose leader is gone, entered from two parents -------------

# R (subreaper) > Q (subreaper) > A: A starts session S and forks D1 and E,
# E forks D2; A exits (D1 and E go to Q), Q stops being a subreaper, E
# exits (D2 goes to R).  D1 (parent Q) and D2 (parent R) are in S, whose
# leader is gone: one helper with pid S cannot be a child of both.
TWO_PARENTS = r"""
import ctypes, os, signal, sys, time
libc = ctypes.CDLL(None)
def forever():
    while True:
        signal.pause()
def fork(fn):
    pid = os.fork()
    if pid == 0:
        try:
            fn()
        finally:
            os._exit(0)
    return pid
def wait_parent_is_not(p):
    while os.getppid() == p:
        time.sleep(0.001)
libc.prctl(36, 1)
def q():
    libc.prctl(36, 1)
    def a():
        os.setsid()
        me = os.getpid()
        fork(lambda: (wait_parent_is_not(me), forever()))
        def e():
            e_me = os.getpid()
            fork(lambda: (wait_parent_is_not(e_me), forever()))
            while not os.path.exists(sys.argv[1] + ".go"):
                time.sleep(0.001)
        fork(e)
    ap = fork(a)
    os.waitpid(ap, 0)
    time.sleep(0.1)
    libc.prctl(36, 0)
    open(sys.argv[1] + ".go", "w").close()
    os.wait()      # E; D1 stays
    open(sys.argv[1], "w").close()
    forever()
fork(q)
forever()
"""


@case("restore.session.two-parents")
def _():
    """Two tasks of a session whose leader is gone have different parents."""
    d = case_dir("restore.session.two-parents")
    img = os.path.join(d, "img")
    ready = os.path.join(d, "ready")
    pid = spawn([PYTHON, "-c", TWO_PARENTS, ready, lib.MARKER])
    deadline = time.monotonic() + 10
    while not os.path.exists(ready) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    if not os.path.exists(ready):
        kill_tree(pid)
        raise CaseFail("the tree was not built")
    run = criu(["dump", "-t", str(pid), "-D", img], log=os.path.join(d, "dump.log"))
    if run.rc != 0:
        kill_tree(pid)
        lib.CURRENT.details = run.details()
        raise CaseFail("the dump failed: rc %s: %s" % (run.rc, run.err.strip()))
    if wait_spawned(pid, 5) is None or not wait_gone(pid):
        raise CaseFail("dumped target %d still exists" % pid)
    kids_before = {p for p, _ in my_children()}
    marked_before = set(marked_processes())
    run = criu(["restore", "-D", img, "-d"], log=os.path.join(d, "restore.log"))
    try:
        expect_failure(run, "unsupported: pid", "session", "group", "gone session")
    finally:
        left = leftovers(pid, kids_before, marked_before, ())
        if left:
            kill_everything_new(kids_before, marked_before, (), pid)
    if left:
        raise CaseFail("left behind: " + "; ".join(left))


# 4b. file locks without --file-locks ---------------------------------------

LOCK_KINDS = {"flock": "FLOCK", "posix-lock": "POSIX", "ofd-lock": "OFDLCK"}


def lock_case(kind):
    def run_case():
        t = Target("lock-" + kind, "--fd", kind)
        try:
            fd = t.fds[kind][0]
            dump_must_fail("lock." + kind, t, [], "unsupported", "--file-locks",
                           "pid %d fd %d " % (t.pid, fd), LOCK_KINDS[kind],
                           os.path.join(t.dir, "locked"))
        finally:
            t.kill()
    return run_case


for _k in LOCK_KINDS:
    case("dump.lock." + _k)(lock_case(_k))


@case("dump.lock.map-flock")
def _():
    # held only through a shared mapping: no fd shows it, /proc/locks does
    t = Target("lock-map-flock", "--fd", "map-flock")
    try:
        dump_must_fail("lock.map-flock", t, [], "unsupported", "--file-locks",
                       "pid %d maps " % t.pid, "FLOCK WRITE", "mapping",
                       os.path.join(t.dir, "locked"))
    finally:
        t.kill()


# 5. criu's own ancestors, pid 1 ----------------------------------------------

ANCESTOR_SH = r'''
W="$1"; T="$2"; lib.CRIU="$3"
[ "$T" = self ] && T=$$
# FIFOs: the shell waits in open(), forking nothing, so that its signal
# state holds still while the runner compares it
read _ <"$W/start"
"$CRIU" dump -t "$T" -D "$W/img" -o "$W/dump.log" -v4 2>"$W/err" &
echo $! >"$W/criu.pid"
wait $!
echo $? >"$W/criu.rc"
read _ <"$W/go"
exit 0
'''


def poke_fifo(path, timeout=5):
    """Write a line into a FIFO a shell is about to read; no reader: fail."""
    end = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError as e:
            if e.errno != errno.ENXIO or time.monotonic() > end:
                raise CaseFail("nobody reads %s: %s" % (path, e))
            time.sleep(0.01)
    try:
        os.write(fd, b"\n")
    finally:
        os.close(fd)


def ancestor_case(levels):
    def run_case():
        d = case_dir("ancestor%d" % levels)
        script = os.path.join(d, "parent.sh")
        with open(script, "w") as f:
            f.write(ANCESTOR_SH)
        for name in ("start", "go"):
            os.mkfifo(os.path.join(d, name))
            os.chmod(os.path.join(d, name), 0o666)
        if levels == 1:
            argv = ["/bin/sh", script, d, "self", lib.CRIU, lib.MARKER]
        else:
            # the outer sh passes its own pid ($$): criu's grandparent
            argv = ["/bin/sh", "-c", 'sh "$0" "$1" "$$" "$2"; exit $?',
                    script, d, lib.CRIU, lib.MARKER]
        top = spawn(argv)
        try:
            # wait for the shell chain to exist, then snapshot every shell
            end = time.monotonic() + 5
            while True:
                chain = [top] + [p for p, _ in children_of(top)]
                if len(chain) >= levels:
                    break
                if time.monotonic() > end:
                    raise CaseFail("shells did not start")
                time.sleep(0.01)
            time.sleep(0.05)
            shells = [p for p in chain if p == top or read("/proc/%d/comm" % p) == "sh\n"]
            befores = {p: snapshot(p) for p in shells}
            poke_fifo(os.path.join(d, "start"))
            end = time.monotonic() + CRIU_TIMEOUT
            while not os.path.exists(os.path.join(d, "criu.rc")):
                if time.monotonic() > end:
                    raise CaseFail("criu did not finish (or the shell is stuck): %s"
                                   % {p: thread_status(p) for p in shells})
                time.sleep(0.02)
            time.sleep(0.05)
            rc = int(read(os.path.join(d, "criu.rc")))
            criu_pid = int(read(os.path.join(d, "criu.pid")))
            err = read(os.path.join(d, "err"))
            run = Run(["dump", "-t", "(ancestor)", "..."], rc if rc < 128 else -(rc - 128),
                      err, os.path.join(d, "dump.log"), 0)
            line = expect_failure(run)
            bad = []
            for p in shells:
                bad += compare(p, befores[p], "ancestor sh")
            poke_fifo(os.path.join(d, "go"))
            st = wait_spawned(top, 5)
            if st is None or not os.WIFEXITED(st) or os.WEXITSTATUS(st) != 0:
                bad.append("ancestor sh %d %s, not exited 0" % (top, describe_status(st)))
            if bad:
                raise CaseFail("; ".join(bad))
            if str(criu_pid) not in line and "itself" not in line and "ancestor" not in line:
                raise CaseFail("stderr names neither criu's pid %d nor the cause: %r"
                               % (criu_pid, line))
        finally:
            kill_tree(top)
    return run_case


def children_of(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            ps = proc_ppid_state(int(d))
            if ps and ps[0] == pid:
                out.append((int(d), ps[1]))
                out += children_of(int(d))
    return out


case("dump.ancestor.parent")(ancestor_case(1))
case("dump.ancestor.grandparent")(ancestor_case(2))


@case("dump.pid1")
def _():
    # Probe in a throwaway child: if it can seize pid 1, so could criu,
    # which would then freeze init and everything under it (this runner
    # too). The probe's seize ends when the probe exits.
    probe = subprocess.run([PYTHON, "-c",
                            "import ctypes,sys; l=ctypes.CDLL(None,use_errno=True);"
                            "r=l.ptrace(0x4206,1,None,None);"
                            "sys.exit(0 if r==0 else 1)"])
    if probe.returncode == 0:
        raise CaseSkip("pid 1 can be ptraced here: dumping it would stop init")
    before = snapshot(1)
    run = criu(["dump", "-t", "1", "-D", os.path.join(case_dir("pid1"), "img")],
               log=os.path.join(case_dir("pid1"), "dump.log"))
    expect_failure(run)
    bad = compare(1, before, "init")
    if bad:
        raise CaseFail("; ".join(bad))


# 6. unsupported options -----------------------------------------------------

# --link-remap: a CRIU option of both commands that this tool does not have

@case("dump.option.link-remap")
def _():
    t = Target("opt-target")
    try:
        dump_must_fail("opt-dump", t, ["--link-remap"],
                       "unsupported option: --link-remap")
    finally:
        t.kill()


@case("restore.option.link-remap")
def _():
    d = case_dir("opt-restore")
    run = criu(["restore", "-D", d, "-d", "--link-remap"])
    expect_failure(run, "unsupported option: --link-remap")


