#!/usr/bin/env python3
"""Failure-path tests for criu: dumps and restores that must fail cleanly.

Each case runs criu where it has to fail (or, for races, either fail or
succeed cleanly) and checks the real outcome:

  dump:    non-zero exit, exactly one line on stderr naming the cause, and
           the target left as it was: after a moment not stopped or traced,
           the same signal masks and pending sets, the same maps, and still
           working (the target checks its own state when sent SIGUSR1).
  restore: non-zero exit, exactly one line on stderr naming the cause, and
           no process left behind: no dumped pid, no process carrying this
           run's marker on its command line, no orphan handed to us.

One line per case, `PASS name` or `FAIL name: why`, then `N passed, N
failed`; details of failures (criu's stderr, the log's errors) go to
stderr.  Exit status 1 if anything failed.  See README.md.
"""

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

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TARGET = os.path.join(HERE, "target.py")
PYTHON = os.path.realpath(sys.executable)

libc = ctypes.CDLL(None, use_errno=True)
PR_SET_CHILD_SUBREAPER = 36
PTRACE_SEIZE = 0x4206

CRIU = None
TMP = None
MARKER = None
MYPID = os.getpid()
CRIU_TIMEOUT = 30


class CaseFail(Exception):
    """A case's assertion failed: the message is the reason."""


class CaseSkip(Exception):
    pass


# --------------------------------------------------------------------------
# processes we start

SPAWNED = {}          # pid -> None while running, else the wait status
SPAWN_LOCK = threading.Lock()
DEVNULL_ACTIONS = [
    (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
    (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
    (os.POSIX_SPAWN_OPEN, 2, "/dev/null", os.O_WRONLY, 0),
]


def _waiter(pid):
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        status = -1
    with SPAWN_LOCK:
        SPAWNED[pid] = status


def spawn(argv, stdio=None, env=None):
    """Start argv in a new session with stdio on /dev/null; a thread reaps
    it as soon as it ends, so criu never waits for a zombie of ours."""
    pid = os.posix_spawn(argv[0], argv, env or os.environ, setsid=True,
                         file_actions=stdio or DEVNULL_ACTIONS)
    with SPAWN_LOCK:
        SPAWNED[pid] = None
    threading.Thread(target=_waiter, args=(pid,), daemon=True).start()
    return pid


def wait_spawned(pid, timeout):
    """The wait status of a spawned pid once it ended, or None."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with SPAWN_LOCK:
            st = SPAWNED.get(pid)
        if st is not None:
            return st
        time.sleep(0.01)
    return None


def describe_status(st):
    if st is None:
        return "still running"
    if st == -1:
        return "reaped elsewhere"
    if os.WIFEXITED(st):
        return "exited %d" % os.WEXITSTATUS(st)
    if os.WIFSIGNALED(st):
        return "killed by signal %d" % os.WTERMSIG(st)
    return "status %#x" % st


def read(path, mode="r"):
    try:
        with open(path, mode) as f:
            return f.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None


def alive(pid):
    return os.path.exists("/proc/%d" % pid)


def proc_ppid_state(pid):
    s = read("/proc/%d/stat" % pid)
    if s is None:
        return None
    rest = s[s.rindex(")") + 2:].split()
    return int(rest[1]), rest[0]


def my_children():
    """Processes whose parent is this runner: (pid, state)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            ps = proc_ppid_state(int(d))
            if ps and ps[0] == MYPID:
                out.append((int(d), ps[1]))
    return out


def marked_processes():
    """Processes with this run's marker on their command line."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit() and int(d) != MYPID:
            c = read("/proc/%s/cmdline" % d, "rb")
            if c and MARKER.encode() in c:
                out.append(int(d))
    return out


def reap_orphans():
    """Reap zombies handed to us (we are a child subreaper) that no waiter
    thread owns."""
    for pid, state in my_children():
        with SPAWN_LOCK:
            ours = pid in SPAWNED
        if not ours and state == "Z":
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def kill_tree(pid):
    for fn in (lambda: os.killpg(pid, signal.SIGKILL),
               lambda: os.kill(pid, signal.SIGKILL)):
        try:
            fn()
        except (ProcessLookupError, PermissionError):
            pass


def kill_everything():
    with SPAWN_LOCK:
        pids = [p for p, st in SPAWNED.items() if st is None]
    for p in pids:
        kill_tree(p)
    for p in marked_processes():
        kill_tree(p)
    for p, _ in my_children():
        kill_tree(p)
    end = time.monotonic() + 3
    while time.monotonic() < end:
        reap_orphans()
        with SPAWN_LOCK:
            running = [p for p, st in SPAWNED.items() if st is None]
        if not running and not marked_processes() and not my_children():
            return
        time.sleep(0.02)


def wait_gone(pid, timeout=3.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        reap_orphans()
        if not alive(pid):
            return True
        time.sleep(0.01)
    return False


# --------------------------------------------------------------------------
# targets

class Target:
    def __init__(self, name, *opts):
        self.dir = os.path.join(TMP, name)
        os.makedirs(self.dir, exist_ok=True)
        self.pid = spawn([PYTHON, TARGET, self.dir, MARKER] + list(opts))
        ready = os.path.join(self.dir, "ready")
        end = time.monotonic() + 10
        while not os.path.exists(ready):
            if wait_spawned(self.pid, 0) is not None or time.monotonic() > end:
                raise CaseFail("target did not start (%s)" %
                               describe_status(SPAWNED.get(self.pid)))
            time.sleep(0.01)
        self.info = json.loads(read(ready))
        self.fds = self.info["fds"]
        self.ticks = -1

    def ping(self, pid=None, timeout=3.0):
        """Ask the target to check itself; return the problems (a list),
        or raise CaseFail if it does not answer."""
        pid = pid or self.pid
        reply = os.path.join(self.dir, "reply")
        # its main loop ticks every 50 ms: give it time to show progress
        for attempt in range(10):
            if os.path.exists(reply):
                os.unlink(reply)
            try:
                os.kill(pid, signal.SIGUSR1)
            except ProcessLookupError:
                raise CaseFail("target %d is gone" % pid)
            end = time.monotonic() + timeout
            while not os.path.exists(reply):
                if time.monotonic() > end:
                    raise CaseFail("target %d did not answer SIGUSR1 within %.0fs"
                                   % (pid, timeout))
                time.sleep(0.01)
            r = json.loads(read(reply))
            if r["ticks"] > self.ticks:
                break
            time.sleep(0.1)
        else:
            raise CaseFail("target %d made no progress (ticks %d, before %d)"
                           % (pid, r["ticks"], self.ticks))
        self.ticks = r["ticks"]
        if not r["ok"]:
            raise CaseFail("target %d reports: %s" % (pid, "; ".join(r["problems"])))
        return r

    def kill(self):
        kill_tree(self.pid)
        wait_spawned(self.pid, 3)


STATUS_KEYS = ("TracerPid", "SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt")


def thread_status(pid):
    """{tid: {State, TracerPid, Sig*}} for every thread of pid."""
    out = {}
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except FileNotFoundError:
        return None
    for t in tids:
        s = read("/proc/%d/task/%s/status" % (pid, t))
        if s is None:
            continue
        d = {}
        for line in s.splitlines():
            k, _, v = line.partition(":")
            if k == "State" or k in STATUS_KEYS:
                d[k] = v.strip()
        out[int(t)] = d
    return out


def stopped_or_traced(st):
    return st["State"][0] in "tT" or st["TracerPid"] != "0"


def settle(pid, timeout=1.0):
    """Wait a moment for pid to be neither stopped nor traced."""
    end = time.monotonic() + timeout
    while True:
        ts = thread_status(pid)
        if ts is None or not any(stopped_or_traced(s) for s in ts.values()):
            return ts
        if time.monotonic() > end:
            return ts
        time.sleep(0.02)


def snapshot(pid):
    return {"threads": thread_status(pid), "maps": read("/proc/%d/maps" % pid)}


def compare(pid, before, what="target"):
    """Problems between a snapshot and now, after letting pid settle."""
    ts = settle(pid)
    if ts is None:
        return ["%s %d is gone (%s)" % (what, pid, describe_status(SPAWNED.get(pid)))]
    bad = []
    for tid, s in sorted(ts.items()):
        if s["State"][0] in "tT":
            bad.append("%s tid %d is left %s" % (what, tid, s["State"]))
        if s["TracerPid"] != "0":
            bad.append("%s tid %d is still traced by %s" % (what, tid, s["TracerPid"]))
        b = before["threads"].get(tid)
        if b is None:
            bad.append("%s has a new thread %d" % (what, tid))
            continue
        for k in STATUS_KEYS[1:]:
            if b[k] != s[k]:
                bad.append("%s tid %d %s %s -> %s" % (what, tid, k, b[k], s[k]))
    for tid in before["threads"]:
        if tid not in ts:
            bad.append("%s lost thread %d" % (what, tid))
    maps = read("/proc/%d/maps" % pid)
    if maps != before["maps"]:
        old, new = set(before["maps"].splitlines()), set((maps or "").splitlines())
        diff = ["-" + l for l in sorted(old - new)] + ["+" + l for l in sorted(new - old)]
        bad.append("%s maps changed: %s" % (what, " | ".join(diff[:4])))
    return bad


# --------------------------------------------------------------------------
# running criu

class Run:
    def __init__(self, args, rc, err, log, elapsed, orphans=()):
        self.args, self.rc, self.err, self.log, self.elapsed = args, rc, err, log, elapsed
        self.orphans = list(orphans)

    def details(self):
        d = ["$ criu " + " ".join(self.args),
             "rc=%s after %.2fs" % (self.rc, self.elapsed)]
        d += ["stderr: " + l for l in self.err.splitlines()] or ["stderr: (empty)"]
        if self.log:
            text = read(self.log) or ""
            errs = [l for l in text.splitlines() if "Error" in l or "error" in l]
            d += ["log: " + l for l in errs[:8]]
            tail = text.splitlines()[-3:]
            d += ["log tail: " + l for l in tail if l not in errs[:8]]
        return d


def criu(args, log=None, timeout=CRIU_TIMEOUT, prefix=()):
    """Run criu (under prefix, e.g. setpriv); note any process it left to
    us (we are a subreaper: its orphans become our children)."""
    args = list(args)
    if log:
        args += ["-o", log, "-v4"]
    kids_before = {p for p, _ in my_children()}
    t0 = time.monotonic()
    p = subprocess.Popen(list(prefix) + [CRIU] + args, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _, err = p.communicate(timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
        rc = "timeout"
    elapsed = time.monotonic() - t0
    orphans = []
    end = time.monotonic() + 0.3
    while True:
        with SPAWN_LOCK:
            ours = set(SPAWNED)
        orphans = [(p, st) for p, st in my_children() if p not in kids_before and p not in ours]
        if not orphans or time.monotonic() > end:
            break
        time.sleep(0.02)
    return Run(args, rc, err.decode(errors="replace"), log, elapsed, orphans)


def expect_failure(run, *needles, any_of=None):
    """criu exited non-zero (not by a signal, not hung) with exactly one
    line on stderr containing every needle (and one of any_of)."""
    CURRENT.details = run.details()
    if run.rc == "timeout":
        raise CaseFail("criu hung (killed after %ds)" % CRIU_TIMEOUT)
    if run.rc < 0:
        raise CaseFail("criu died of signal %d" % -run.rc)
    if run.rc == 0:
        raise CaseFail("criu exited 0")
    if run.orphans and run.args[0] != "restore":
        # (restore cases check their leftovers themselves)
        raise CaseFail("criu left processes behind: %s" % run.orphans)
    lines = run.err.splitlines()
    if len(lines) != 1 or not run.err.endswith("\n"):
        raise CaseFail("%d lines on stderr, not one: %r" % (len(lines), run.err[:300]))
    line = lines[0]
    for n in needles:
        if n not in line:
            raise CaseFail("stderr does not name %r: %r" % (n, line))
    if any_of and not any(n in line for n in any_of):
        raise CaseFail("stderr names none of %s: %r" % ("/".join(any_of), line))
    return line


# --------------------------------------------------------------------------
# cases

CASES = []
CURRENT = None


def case(name):
    def reg(fn):
        CASES.append((name, fn))
        return fn
    return reg


def case_dir(name):
    d = os.path.join(TMP, name.replace("/", "_"))
    os.makedirs(d, exist_ok=True)
    return d


def free_pid():
    pid_max = int(read("/proc/sys/kernel/pid_max"))
    for p in range(pid_max - 1, 300, -1):
        if not alive(p):
            return p


def dump_must_fail(name, target, extra, *needles, any_of=None, img=None, prefix=()):
    """Dump target (a Target); it must fail and leave the target as it was."""
    d = case_dir(name)
    target.ping()                     # warm up: the reply path allocates
    before = snapshot(target.pid)
    run = criu(["dump", "-t", str(target.pid), "-D", img or os.path.join(d, "img")] + extra,
               log=os.path.join(d, "dump.log"), prefix=prefix)
    line = expect_failure(run, *needles, any_of=any_of)
    bad = compare(target.pid, before)
    if bad:
        raise CaseFail("; ".join(bad))
    target.ping()
    return line


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
    MOUNTS.append(mnt)
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
    CURRENT.details += run.details()
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
        CURRENT.note = "rc " + ",".join(outcomes)
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
    CURRENT.note = "rc " + ",".join(outcomes)


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
        pid = spawn(["/bin/sh", "-c", "sleep %s; exit 3" % delay, MARKER])
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
    CURRENT.note = "rc " + ",".join(outcomes)


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
            CURRENT.details = run.details()
            raise CaseFail("the dump with --ext-unix-sk failed: rc %s: %s" %
                           (run.rc, run.err.strip()))
        if wait_spawned(t.pid, 5) is None or not wait_gone(t.pid):
            raise CaseFail("dumped target %d still exists" % t.pid)
        if not alive(server):
            raise CaseFail("the outside server %d died with the dump" % server)
        run = criu(["restore", "-D", img, "-d", "--ext-unix-sk"],
                   log=os.path.join(d, "restore.log"))
        if run.rc != 0:
            CURRENT.details = run.details()
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
        CURRENT.details = run.details()
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
    work = tempfile.mkdtemp(prefix="seccomp-rootless-", dir=TMP)
    os.chmod(TMP, 0o711)
    os.chmod(work, 0o777)
    out = os.path.join(work, "facts.json")
    cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--",
           "unshare", "-Urpf", "--mount-proc", "/usr/bin/python3", "-c", ROOTLESS_SECCOMP, work, TARGET,
           CRIU, MARKER, out]
    try:
        ns = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, timeout=60)
    except subprocess.TimeoutExpired:
        raise CaseFail("the rootless namespace did not finish in 60 s")
    finally:
        os.chmod(TMP, 0o700)
    if not os.path.exists(out):
        raise CaseFail("the rootless namespace wrote no facts: exit %d: %s" % (
            ns.returncode, ns.stderr.decode(errors="replace").strip()[-300:]))
    f = json.load(open(out))
    CURRENT.details = ["rootless facts: %r" % f]
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
        CURRENT.details = run.details()
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
        CURRENT.details = run.details()
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
        CURRENT.details = run.details()
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
    pid = spawn([PYTHON, "-c", TWO_PARENTS, ready, MARKER])
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
        CURRENT.details = run.details()
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
W="$1"; T="$2"; CRIU="$3"
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
            argv = ["/bin/sh", script, d, "self", CRIU, MARKER]
        else:
            # the outer sh passes its own pid ($$): criu's grandparent
            argv = ["/bin/sh", "-c", 'sh "$0" "$1" "$$" "$2"; exit $?',
                    script, d, CRIU, MARKER]
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


# restore failures -----------------------------------------------------------

BASE = {}   # "dir", "pid", "target"


def base_dump():
    """One good dump of a small target, made once; restore cases copy it."""
    if BASE:
        return BASE
    t = Target("base-target", "--mem", "1")
    t.ping()
    img = os.path.join(TMP, "base-img")
    run = criu(["dump", "-t", str(t.pid), "-D", img], log=os.path.join(TMP, "base-dump.log"))
    if run.rc != 0:
        t.kill()
        CURRENT.details = run.details()
        raise CaseFail("the good dump failed: rc %s: %s" % (run.rc, run.err.strip()))
    if wait_spawned(t.pid, 5) is None or not wait_gone(t.pid):
        raise CaseFail("dumped target %d still exists" % t.pid)
    BASE.update(dir=img, pid=t.pid, target=t)
    return BASE


def restore_must_fail(name, mutate, *needles, any_of=None, allowed=(), detach=True,
                      extra=(), prefix=()):
    """Copy the base images, change them, restore: it must fail with one
    line and leave nothing behind."""
    b = base_dump()
    d = case_dir(name)
    img = os.path.join(d, "img")
    if os.path.exists(img):
        shutil.rmtree(img)
    shutil.copytree(b["dir"], img)
    info = mutate(img)
    if alive(b["pid"]) and b["pid"] not in allowed:
        raise CaseFail("pid %d is taken before the restore (%s)"
                       % (b["pid"], read("/proc/%d/cmdline" % b["pid"])))
    kids_before = {p for p, _ in my_children()}
    marked_before = set(marked_processes())
    run = criu(["restore", "-D", img] + (["-d"] if detach else []) + list(extra) +
               ["--pidfile", os.path.join(d, "pidfile")], log=os.path.join(d, "restore.log"),
               prefix=prefix)
    try:
        line = expect_failure(run, *needles, any_of=any_of)
    finally:
        left = leftovers(b["pid"], kids_before, marked_before, allowed)
        if left:
            kill_everything_new(kids_before, marked_before, allowed, b["pid"])
    if left:
        raise CaseFail("left behind: " + "; ".join(left))
    return line, info


def leftovers(dumped_pid, kids_before, marked_before, allowed):
    """What a failed restore left, after a short grace period."""
    time.sleep(0.05)
    end = time.monotonic() + 0.5
    while True:
        left = []
        if alive(dumped_pid) and dumped_pid not in allowed:
            ps = proc_ppid_state(dumped_pid)
            left.append("dumped pid %d (state %s, parent %s)" %
                        (dumped_pid, ps and ps[1], ps and ps[0]))
        for p, st in my_children():
            if p not in kids_before and p not in allowed and p != dumped_pid:
                left.append("orphan %d handed to the runner (state %s)" % (p, st))
        for p in marked_processes():
            if p not in marked_before and p not in allowed and p != dumped_pid:
                left.append("process %d with the test's command line" % p)
        if not left or time.monotonic() > end:
            return left
        time.sleep(0.05)


def kill_everything_new(kids_before, marked_before, allowed, dumped_pid):
    victims = {p for p, _ in my_children()} - kids_before
    victims |= set(marked_processes()) - marked_before
    if alive(dumped_pid):
        victims.add(dumped_pid)
    for p in victims - set(allowed):
        kill_tree(p)
    for p in victims - set(allowed):
        wait_gone(p, 2)


# 7. corrupted images -----------------------------------------------------------

IMAGE_KINDS = ["inventory.img", "pstree.img", "core-*.img", "mm-*.img", "pagemap-*.img",
               "fdinfo-*.img", "files.img", "fs-*.img", "ids-*.img"]


def image_file(img, pattern):
    m = sorted(glob.glob(os.path.join(img, pattern)))
    if not m:
        raise CaseFail("the good dump has no %s" % pattern)
    return m[0]


def entries(data, name):
    """(offset of the u32 length, payload length) of each entry."""
    off = 4 if name == "inventory.img" else 8
    out = []
    while off + 4 <= len(data):
        n = struct.unpack_from("<I", data, off)[0]
        out.append((off, n))
        off += 4 + n
    return out


def corrupt(pattern, how):
    def mutate(img):
        path = image_file(img, pattern)
        name = os.path.basename(path)
        with open(path, "rb") as f:
            data = bytearray(f.read())
        ents = entries(data, name)
        if not ents and how != "magic":
            raise CaseFail("%s has no entries" % name)
        if how == "magic":
            data[0:4] = b"\xde\xad\xbe\xef"
        elif how == "magic2":
            data[4:8] = b"\xde\xad\xbe\xef"
        else:
            off, n = max(ents, key=lambda e: e[1])   # the largest entry
            if how == "trunc":
                del data[off + 4 + n // 2:]
            elif how == "garbage":
                # 0xff bytes: every varint runs on past the entry's end
                data[off + 4:off + 4 + n] = b"\xff" * n
        with open(path, "wb") as f:
            f.write(data)
        return name
    return mutate


def corrupt_case(pattern, how):
    def run_case():
        b = base_dump()
        name = os.path.basename(image_file(b["dir"], pattern))
        restore_must_fail("corrupt-%s-%s" % (name, how), corrupt(pattern, how), name)
    return run_case


for _p in IMAGE_KINDS:
    _short = _p.split("-")[0].split(".")[0]
    for _how in ("magic", "magic2", "trunc", "garbage"):
        if _how == "magic2" and _p == "inventory.img":
            continue
        case("restore.corrupt.%s.%s" % (_short, _how))(corrupt_case(_p, _how))


# 7b. file locks in the images, restored without --file-locks -----------------

def pb_varint(n):
    n &= (1 << 64) - 1
    out = b""
    while True:
        out += bytes([(n & 0x7f) | (0x80 if n > 0x7f else 0)])
        n >>= 7
        if not n:
            return out


@case("restore.lock.no-option")
def _():
    def m(img):
        # file_lock_entry: flock (flag 2), shared (type 0), on fd 0 of the root
        fields = [(1, 2), (2, 0), (3, BASE["pid"]), (4, 0), (5, 0), (6, 0)]
        msg = b"".join(pb_varint(num << 3) + pb_varint(v) for num, v in fields)
        with open(os.path.join(img, "filelocks.img"), "wb") as f:
            f.write(struct.pack("<III", 0x54564319, 0x54323616, len(msg)) + msg)
    restore_must_fail("lock-no-option", m, "--file-locks")


# 7c. mm images that PR_SET_MM_MAP would refuse --------------------------------
# Each is refused before the tree is forked, naming the field and its value.

TASK_SIZE = 0x7ffffffff000
PR_GET_AUXV = 0x41555856


def crit_entries(path, fn):
    """Decode an image with crit, let fn change the entries, encode it back."""
    j = path + ".json"
    r = subprocess.run(["crit", "decode", "-i", path, "-o", j], capture_output=True, text=True)
    if r.returncode:
        raise CaseFail("crit decode %s: %s" % (path, r.stderr.strip()))
    with open(j) as f:
        d = json.load(f)
    info = fn(d["entries"])
    with open(j, "w") as f:
        json.dump(d, f)
    r = subprocess.run(["crit", "encode", "-i", j, "-o", path], capture_output=True, text=True)
    if r.returncode:
        raise CaseFail("crit encode %s: %s" % (path, r.stderr.strip()))
    os.unlink(j)
    return info


def mm_img(img):
    return os.path.join(img, "mm-%d.img" % BASE["pid"])


def mm_case(name, edit, *needles, prefix=(), prepare=None):
    """edit(mm entry, img) changes the mm entry; the line must name mm-PID.img."""
    def run_case():
        b = base_dump()

        def m(img):
            if prepare:
                prepare(img)
            crit_entries(mm_img(img), lambda ents: edit(ents[0], img))
        restore_must_fail("mm-" + name, m, "mm-%d.img" % b["pid"], *needles, prefix=prefix)
    case("restore.mm." + name)(run_case)


def free_addr(mm):
    """An address well below the lowest VMA: in no VMA."""
    a = min(v["start"] for v in mm["vmas"]) - 0x100000
    if a < mmap_min_addr():
        raise CaseFail("no room below the lowest VMA %x" % (a + 0x100000))
    return a


def mmap_min_addr():
    return int(read("/proc/sys/vm/mmap_min_addr"))


def kernel_auxv_words():
    n = libc.prctl(PR_GET_AUXV, 0, 0, 0, 0)
    return (n if n > 0 else 448) // 8


def set_fields(**kw):
    def edit(mm, img):
        for k, v in kw.items():
            mm[k] = v(mm) if callable(v) else v
    return edit


def add_file_entry(img, path):
    """A new regular file entry for path in files.img, as a copy of the exe's; its id."""
    mm = crit_entries(mm_img(img), lambda ents: ents[0])
    st = os.stat(path)

    def add(ents):
        exe = next(e for e in ents if e["id"] == mm["exe_file_id"])
        new = json.loads(json.dumps(exe))
        new["id"] = new["reg"]["id"] = max(e["id"] for e in ents) + 1
        new["reg"]["name"] = path
        new["reg"].pop("build_id", None)   # a file of ours, not the dumped exe
        new["reg"]["size"] = st.st_size
        new["reg"]["mode"] = st.st_mode
        ents.append(new)
        return new["id"]
    return crit_entries(os.path.join(img, "files.img"), add)


def exe_case(name, make_file, *needles):
    def run_case():
        b = base_dump()

        def m(img):
            fid = add_file_entry(img, make_file(img))
            crit_entries(mm_img(img), lambda ents: ents[0].update(exe_file_id=fid))
        restore_must_fail("mm-" + name, m, "mm-%d.img" % b["pid"], "exe", *needles)
    case("restore.mm." + name)(run_case)


def not_executable(img):
    p = os.path.join(os.path.dirname(img), "plain-file")
    with open(p, "w") as f:
        f.write("not a program\n")
    os.chmod(p, 0o644)
    return p


def on_noexec_mount(img):
    mnt = os.path.join(os.path.dirname(img), "noexec")
    os.makedirs(mnt, exist_ok=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "noexec,size=4m", "tmpfs", mnt]).returncode:
        raise CaseSkip("cannot mount a noexec tmpfs")
    MOUNTS.append(mnt)
    p = os.path.join(mnt, "prog")
    shutil.copy("/bin/true", p)
    os.chmod(p, 0o755)
    return p


mm_case("addr-low", set_fields(mm_start_code=0), "mm_start_code", "0x0", "mmap_min_addr")
mm_case("addr-high", set_fields(mm_env_end=TASK_SIZE), "mm_env_end",
        "0x%x" % TASK_SIZE, "TASK_SIZE")
mm_case("code-order", set_fields(mm_end_code=lambda mm: mm["mm_start_code"]), "mm_end_code",
        "not above", "mm_start_code")
mm_case("data-order", set_fields(mm_end_data=lambda mm: mm["mm_start_data"] - 0x1000),
        "mm_end_data", "below", "mm_start_data")
mm_case("brk-order", set_fields(mm_brk=lambda mm: mm["mm_start_brk"] - 0x1000),
        "mm_brk", "below mm_start_brk")
mm_case("arg-order", set_fields(mm_arg_end=lambda mm: mm["mm_arg_start"] - 1),
        "mm_arg_end", "below mm_arg_start")
mm_case("env-order", set_fields(mm_env_end=lambda mm: mm["mm_env_start"] - 1),
        "mm_env_end", "below mm_env_start")
# criu's RLIMIT_DATA is what the task has at PR_SET_MM_MAP
mm_case("data-rlimit", set_fields(mm_brk=lambda mm: mm["mm_start_brk"] + (256 << 20)),
        "RLIMIT_DATA", str(64 << 20),
        prefix=("prlimit", "--data=%d:unlimited" % (64 << 20), "--"))
mm_case("stack-outside", set_fields(mm_start_stack=free_addr), "mm_start_stack", "not inside")
mm_case("arg-outside", set_fields(mm_arg_start=free_addr,
                                  mm_arg_end=lambda mm: mm["mm_arg_start"] + 0x100),
        "mm_arg_start..mm_arg_end", "not inside")
mm_case("env-outside", set_fields(mm_env_start=free_addr,
                                  mm_env_end=lambda mm: mm["mm_env_start"] + 0x10),
        "mm_env_start..mm_env_end", "not inside")
mm_case("auxv-odd", set_fields(mm_saved_auxv=lambda mm: mm["mm_saved_auxv"][:-1]),
        "mm_saved_auxv", "pairs")
# accepted by the kernel, but the task would keep criu's own vector
mm_case("auxv-empty", lambda mm, img: mm.pop("mm_saved_auxv"), "mm_saved_auxv", "empty")
mm_case("auxv-long",
        set_fields(mm_saved_auxv=lambda mm: [6, 4096] * (kernel_auxv_words() // 2 + 1)),
        "mm_saved_auxv", "larger than")
def exe_is_root(mm, img):
    fs = glob.glob(os.path.join(img, "fs-*.img"))[0]
    mm["exe_file_id"] = crit_entries(fs, lambda ents: ents[0]["root_id"])


mm_case("exe-dir", exe_is_root, "exe", "not a regular file")
exe_case("exe-noperm", not_executable, "no execute permission")
exe_case("exe-noexec-mount", on_noexec_mount, "noexec mount")
# the exe link needs CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN (root loses both at exec)
mm_case("exe-nocap", lambda mm, img: None, "CAP_CHECKPOINT_RESTORE",
        prefix=("setpriv", "--bounding-set=-sys_admin,-checkpoint_restore", "--"))


# 7d. seccomp.img with filters the kernel could not take ----------------------

def seccomp_img(img, filters):
    """seccomp.img with one seccomp_entry of (filter bytes, prev or None)."""
    entry = b""
    for data, prev in filters:
        f = pb_varint(1 << 3 | 2) + pb_varint(len(data)) + data
        if prev is not None:
            f += pb_varint(2 << 3) + pb_varint(prev)
        entry += pb_varint(1 << 3 | 2) + pb_varint(len(f)) + f
    with open(os.path.join(img, "seccomp.img"), "wb") as fh:
        fh.write(struct.pack("<III", 0x54564319, 0x64413049, len(entry)) + entry)


ALLOW = struct.pack("<HBBI", 0x06, 0, 0, 0x7fff0000)    # return SECCOMP_RET_ALLOW


@case("restore.seccomp.bad-length")
def _():
    restore_must_fail("seccomp-bad-length", lambda img: seccomp_img(img, [(ALLOW + b"xyzab",
                                                                             None)]),
                      "seccomp.img", "filter 0", "13 bytes")


@case("restore.seccomp.bad-prev")
def _():
    restore_must_fail("seccomp-bad-prev", lambda img: seccomp_img(img, [(ALLOW, None),
                                                                          (ALLOW, 7)]),
                      "seccomp.img", "filter 1", "prev 7")


@case("restore.seccomp.cycle")
def _():
    restore_must_fail("seccomp-cycle", lambda img: seccomp_img(img, [(ALLOW, None),
                                                                       (ALLOW, 2), (ALLOW, 1)]),
                      "seccomp.img", "filter 1", "cycle")


# 8. pages --------------------------------------------------------------------

@case("restore.pages.missing")
def _():
    def m(img):
        p = image_file(img, "pages-*.img")
        os.unlink(p)
        return os.path.basename(p)
    restore_must_fail("pages-missing", m, "pages-")


@case("restore.pstree.edited-pid")
def _():
    """The root's pid (and leader tid) changed in pstree.img: the line must
    say that the images do not match, not that it was a shell job."""
    new_pid = []

    def m(img):
        path = os.path.join(img, "pstree.img")
        data = open(path, "rb").read()
        n = struct.unpack_from("<I", data, 8)[0]
        # pstree_entry is all varints (threads not packed in our images)
        fields = [(f, v) for f, wt, v in pb_fields(data[12:12 + n]) if wt == 0]
        pid = dict(fields)[1]
        new_pid.append(pid + 1)
        msg = b"".join(pb_varint(f << 3) + pb_varint(v + 1 if f == 1 or (f == 5 and v == pid)
                                                      else v) for f, v in fields)
        with open(path, "wb") as f:
            f.write(data[:8] + struct.pack("<I", len(msg)) + msg + data[12 + n:])
        return "pid %d -> %d" % (pid, pid + 1)
    line, _ = restore_must_fail("pstree-edited", m, "pstree.img", "core-")
    if str(new_pid[0]) not in line or "shell" in line:
        raise CaseFail("the line does not name pid %d, or blames a shell job: %r"
                       % (new_pid[0], line))


def truncate_pages(img):
    p = image_file(img, "pages-*.img")
    os.truncate(p, os.path.getsize(p) // 2 - 100)
    return os.path.basename(p)


@case("restore.pages.truncated")
def _():
    restore_must_fail("pages-truncated", truncate_pages, "pages-", "claims")


@case("restore.pages.truncated-foreground")
def _():
    # the same without -d: criu waits for the tree it restores
    restore_must_fail("pages-truncated-fg", truncate_pages, "pages-", "claims", detach=False)


# 9. the pid is in use ---------------------------------------------------------

@case("restore.pid-in-use")
def _():
    d = case_dir("pid-in-use")
    t = Target("inuse-target", "--mem", "1")
    try:
        t.ping()
        before = snapshot(t.pid)
        img = os.path.join(d, "img")
        run = criu(["dump", "-t", str(t.pid), "-D", img, "--leave-running"],
                   log=os.path.join(d, "dump.log"))
        if run.rc != 0:
            CURRENT.details = run.details()
            raise CaseFail("the --leave-running dump failed: " + run.err.strip())
        bad = compare(t.pid, before)
        if bad:
            raise CaseFail("the good --leave-running dump changed the target: "
                           + "; ".join(bad))
        t.ping()
        before = snapshot(t.pid)
        kids_before = {p for p, _ in my_children()}
        marked_before = set(marked_processes())
        run = criu(["restore", "-D", img, "-d", "--pidfile", os.path.join(d, "pidfile")],
                   log=os.path.join(d, "restore.log"))
        try:
            expect_failure(run, "already in use", str(t.pid))
        finally:
            left = leftovers(t.pid, kids_before, marked_before, (t.pid,))
            if left:
                kill_everything_new(kids_before, marked_before, (t.pid,), t.pid)
        if left:
            raise CaseFail("left behind: " + "; ".join(left))
        bad = compare(t.pid, before, "original")
        if bad:
            raise CaseFail("; ".join(bad))
        t.ping()
    finally:
        t.kill()


# 10. the executable is gone -----------------------------------------------------

@case("restore.exe-gone")
def _():
    d = case_dir("exe-gone")
    exe = os.path.join(d, "sleep-" + MARKER)
    shutil.copy2(shutil.which("sleep"), exe)
    pid = spawn([exe, "1000"])
    time.sleep(0.1)
    img = os.path.join(d, "img")
    run = criu(["dump", "-t", str(pid), "-D", img], log=os.path.join(d, "dump.log"))
    if run.rc != 0:
        kill_tree(pid)
        CURRENT.details = run.details()
        raise CaseFail("the dump failed: " + run.err.strip())
    if wait_spawned(pid, 5) is None or not wait_gone(pid):
        raise CaseFail("dumped pid %d still exists" % pid)
    os.unlink(exe)
    kids_before = {p for p, _ in my_children()}
    marked_before = set(marked_processes())
    run = criu(["restore", "-D", img, "-d"], log=os.path.join(d, "restore.log"))
    try:
        expect_failure(run, exe)
    finally:
        left = leftovers(pid, kids_before, marked_before, ())
        if left:
            kill_everything_new(kids_before, marked_before, (), pid)
    if left:
        raise CaseFail("left behind: " + "; ".join(left))


# SysV shared memory in the host's IPC namespace -------------------------------

SHM_TARGET = r"""
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
key, rmid, out = int(sys.argv[1], 0), sys.argv[2] == "rmid", sys.argv[3]
sid = libc.shmget(key, 8192, 0o1600)
p = libc.shmat(sid, None, 0)
if sid < 0 or p in (None, 2**64 - 1):
    sys.exit(1)
ctypes.memset(p, 0x5a, 8192)
if rmid and libc.shmctl(sid, 0, None):
    sys.exit(1)
with open(out + ".tmp", "w") as f:
    f.write(str(sid))
os.rename(out + ".tmp", out)
while True:
    time.sleep(1)
"""


def shm_ids():
    ids = set()
    for line in read("/proc/sysvipc/shm").splitlines()[1:]:
        f = line.split()
        if len(f) > 1:
            ids.add(int(f[1]))
    return ids


def shm_rmid(sid):
    libc.shmctl(sid, 0, None)


def shm_dump(d, key, rmid):
    """Dump (and so kill) a python holding a segment; its id."""
    out = os.path.join(d, "shmid")
    if os.path.exists(out):
        os.unlink(out)
    pid = spawn([PYTHON, "-c", SHM_TARGET, hex(key), "rmid" if rmid else "keep", out, MARKER])
    end = time.monotonic() + 5
    while not os.path.exists(out):
        if time.monotonic() > end:
            kill_tree(pid)
            raise CaseFail("the SysV target did not start")
        time.sleep(0.02)
    sid = int(read(out))
    img = os.path.join(d, "img")
    run = criu(["dump", "-t", str(pid), "-D", img], log=os.path.join(d, "dump.log"))
    if run.rc != 0:
        kill_tree(pid)
        shm_rmid(sid)
        CURRENT.details = run.details()
        raise CaseFail("the dump failed: " + run.err.strip())
    if wait_spawned(pid, 5) is None or not wait_gone(pid):
        raise CaseFail("dumped pid %d still exists" % pid)
    return pid, sid, img


def shm_restore_must_fail(d, pid, img, *needles):
    before = shm_ids()
    kids_before = {p for p, _ in my_children()}
    marked_before = set(marked_processes())
    run = criu(["restore", "-D", img, "-d"], log=os.path.join(d, "restore.log"))
    try:
        expect_failure(run, *needles)
    finally:
        left = leftovers(pid, kids_before, marked_before, ())
        if left:
            kill_everything_new(kids_before, marked_before, (), pid)
    if left:
        raise CaseFail("left behind: " + "; ".join(left))
    extra = shm_ids() - before
    if extra:
        for sid in extra:
            shm_rmid(sid)
        raise CaseFail("SysV segments left behind: %s" % sorted(extra))


@case("restore.sysv-shm.changed")
def _():
    d = case_dir("sysv-changed")
    key = 0x5a460000 | (os.getpid() & 0xffff)
    pid, sid, img = shm_dump(d, key, False)
    try:
        # the keyed segment outlives the tree; someone writes to it
        libc.shmat.restype = ctypes.c_void_p
        libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
        p = libc.shmat(sid, None, 0)
        if p in (None, 2**64 - 1):
            raise CaseFail("cannot attach segment %d" % sid)
        ctypes.memset(p + 100, 0x11, 1)
        libc.shmdt(ctypes.c_void_p(p))
        shm_restore_must_fail(d, pid, img, str(sid), "%#x" % key, "changed")
        if sid not in shm_ids():
            raise CaseFail("the changed segment %d is gone" % sid)
    finally:
        shm_rmid(sid)


@case("restore.sysv-shm.id-taken")
def _():
    d = case_dir("sysv-taken")
    pid, sid, img = shm_dump(d, 0, True)
    if sid in shm_ids():
        raise CaseFail("the segment %d marked for removal outlived its tree" % sid)
    # another segment at the dumped id
    with open("/proc/sys/kernel/shm_next_id", "w") as f:
        f.write(str(sid))
    other = libc.shmget(0, 100, 0o1600)
    try:
        if other != sid:
            raise CaseFail("could not put another segment at id %d (got %d)" % (sid, other))
        shm_restore_must_fail(d, pid, img, str(sid), "taken")
    finally:
        shm_rmid(other)


# what restore must refuse before it makes anything ------------------------------

def pb_fields(msg):
    """The fields of a protobuf message: [(number, wire type, value)], the
    value an int for varints, bytes otherwise."""
    out, i = [], 0
    while i < len(msg):
        tag, i = pb_read_varint(msg, i)
        num, wt = tag >> 3, tag & 7
        if wt == 0:
            v, i = pb_read_varint(msg, i)
        elif wt == 2:
            n, i = pb_read_varint(msg, i)
            v, i = bytes(msg[i:i + n]), i + n
        elif wt in (1, 5):
            n = 8 if wt == 1 else 4
            v, i = bytes(msg[i:i + n]), i + n
        else:
            raise CaseFail("wire type %d in a message" % wt)
        out.append((num, wt, v))
    return out


def pb_read_varint(b, i):
    v = s = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7f) << s
        s += 7
        if not c & 0x80:
            return v, i


def pb_pack(fields):
    out = b""
    for num, wt, v in fields:
        out += pb_varint(num << 3 | wt)
        if wt == 0:
            out += pb_varint(v)
        elif wt == 2:
            out += pb_varint(len(v)) + v
        else:
            out += v
    return out


def edit_pagemap(path, how):
    """Drop the middle run of a pagemap, or take one page off its longest
    run (nr_pages in both of its fields); the run's vaddr and pages."""
    with open(path, "rb") as f:
        data = bytearray(f.read())
    runs = entries(data, os.path.basename(path))[1:]      # after the head
    if not runs:
        raise CaseFail("%s has no runs" % os.path.basename(path))

    def count(e):
        return dict((n, v) for n, _, v in pb_fields(data[e[0] + 4:e[0] + 4 + e[1]])).get(2, 0)
    if how == "drop":
        off, n = runs[len(runs) // 2]
        f = dict((k, v) for k, _, v in pb_fields(data[off + 4:off + 4 + n]))
        del data[off:off + 4 + n]
    elif how == "swap":
        if len(runs) < 2:
            raise CaseFail("%s has one run" % os.path.basename(path))
        (o1, n1), (o2, n2) = runs[len(runs) // 2 - 1], runs[len(runs) // 2]
        a, b = bytes(data[o1:o1 + 4 + n1]), bytes(data[o2:o2 + 4 + n2])
        data[o1:o2 + 4 + n2] = b + a
        f = dict((k, v) for k, _, v in pb_fields(b[4:]))
    elif isinstance(how, int):
        # the last run moved to address how
        off, n = runs[-1]
        fields = pb_fields(data[off + 4:off + 4 + n])
        f = dict((k, v) for k, _, v in fields)
        msg = pb_pack([(k, wt, how if k == 1 else v) for k, wt, v in fields])
        data[off:off + 4 + n] = struct.pack("<I", len(msg)) + msg
    else:
        off, n = max(runs, key=count)
        fields = pb_fields(data[off + 4:off + 4 + n])
        f = dict((k, v) for k, _, v in fields)
        if f.get(2, 0) < 2:
            raise CaseFail("no run of 2 pages or more in %s" % os.path.basename(path))
        msg = pb_pack([(k, wt, v - 1 if k in (2, 5) else v) for k, wt, v in fields])
        data[off:off + 4 + n] = struct.pack("<I", len(msg)) + msg
    with open(path, "wb") as fo:
        fo.write(data)
    return f.get(1), f.get(2)


@case("restore.pagemap.drop-entry")
def _():
    def m(img):
        return edit_pagemap(image_file(img, "pagemap-[0-9]*.img"), "drop")
    line, _ = restore_must_fail("pagemap-drop", m, "pages-1.img", "pagemap-", "claims")
    if not re.search(r"holds \d+ bytes \((\d+) pages\).*claims (\d+) pages", line):
        raise CaseFail("the line does not give both page counts: %r" % line)


@case("restore.pagemap.nr-pages")
def _():
    def m(img):
        return edit_pagemap(image_file(img, "pagemap-[0-9]*.img"), "nr")
    restore_must_fail("pagemap-nr", m, "pages-1.img", "pagemap-", "claims")


@case("restore.pagemap.out-of-order")
def _():
    def m(img):
        return edit_pagemap(image_file(img, "pagemap-[0-9]*.img"), "swap")
    restore_must_fail("pagemap-order", m, "pagemap-", "sorted and disjoint")


@case("restore.pagemap.outside-vmas")
def _():
    """The last run moved above every VMA (still in order)."""
    def m(img):
        mm = image_file(img, "mm-*.img")
        if not CRIT:
            raise CaseSkip("no crit")
        r = subprocess.run([CRIT, "decode", "-i", mm], capture_output=True, text=True)
        if r.returncode:
            raise CaseFail("crit decode %s: %s" % (mm, r.stderr.strip()))
        # the user address space's top VMA: [vsyscall] lies above the task size
        top = max(int(str(v["end"]), 0) for v in json.loads(r.stdout)["entries"][0]["vmas"]
                  if int(str(v["start"]), 0) < 1 << 47)
        return edit_pagemap(image_file(img, "pagemap-[0-9]*.img"), top + (16 << 20))
    restore_must_fail("pagemap-outside", m, "pagemap-", "outside every", "mm-")


@case("restore.pages.short-by-a-page")
def _():
    def m(img):
        p = image_file(img, "pages-*.img")
        os.truncate(p, os.path.getsize(p) - 4096)
    restore_must_fail("pages-short", m, "pages-1.img", "pagemap-", "claims")


SHMEM_TARGET = r"""
import mmap, os, sys, time
m = mmap.mmap(-1, 64 * 4096)            # MAP_SHARED | MAP_ANONYMOUS
for i in range(64):
    m[i * 4096:i * 4096 + 8] = b"page%04d" % i
open(sys.argv[1] + ".tmp", "w").close()
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    time.sleep(1)
"""


@case("restore.pagemap-shmem.nr-pages")
def _():
    """Shared anonymous memory has its own pagemap (pagemap-shmem-ID.img)
    and pages file, checked the same way."""
    d = case_dir("pagemap-shmem")
    ready = os.path.join(d, "ready")
    pid = spawn([PYTHON, "-c", SHMEM_TARGET, ready, MARKER])
    img = os.path.join(d, "img")
    try:
        end = time.monotonic() + 5
        while not os.path.exists(ready):
            if time.monotonic() > end:
                raise CaseFail("the shared memory target did not start")
            time.sleep(0.02)
        run = criu(["dump", "-t", str(pid), "-D", img], log=os.path.join(d, "dump.log"))
        if run.rc != 0:
            CURRENT.details = run.details()
            raise CaseFail("the dump failed: " + run.err.strip())
        if wait_spawned(pid, 5) is None or not wait_gone(pid):
            raise CaseFail("dumped pid %d still exists" % pid)
    finally:
        kill_tree(pid)
    pm = image_file(img, "pagemap-shmem-*.img")
    edit_pagemap(pm, "nr")
    kids_before = {p for p, _ in my_children()}
    marked_before = set(marked_processes())
    run = criu(["restore", "-D", img, "-d"], log=os.path.join(d, "restore.log"))
    try:
        expect_failure(run, os.path.basename(pm), "claims", "pages-")
    finally:
        left = leftovers(pid, kids_before, marked_before, ())
        if left:
            kill_everything_new(kids_before, marked_before, (), pid)
    if left:
        raise CaseFail("left behind: " + "; ".join(left))


# the CPU --------------------------------------------------------------------------

CRIT = shutil.which("crit")

# xsave components the kernel names in /proc/cpuinfo flags: (flag, bits)
XFEATURE_FLAGS = [("avx512f", (5, 6, 7)), ("mpx", (3, 4)), ("ospke", (9,))]


def missing_xfeatures():
    """xsave components this CPU lacks, by /proc/cpuinfo: AVX-512 if it can."""
    flags = set()
    for line in read("/proc/cpuinfo").splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    for flag, bits in XFEATURE_FLAGS:
        if flag not in flags:
            return flag, bits
    raise CaseSkip("this CPU has AVX-512, MPX and PKU: no xsave feature to take away")


def crit_edit(path, edit):
    """Decode an image with crit, change its JSON, encode it back."""
    if not CRIT:
        raise CaseSkip("no crit")
    js = path + ".json"
    for args in (["decode", "-i", path, "--pretty", "-o", js],):
        r = subprocess.run([CRIT] + args, capture_output=True, text=True)
        if r.returncode:
            raise CaseFail("crit decode %s: %s" % (path, r.stderr.strip()))
    with open(js) as f:
        j = json.load(f)
    edit(j)
    with open(js, "w") as f:
        json.dump(j, f)
    r = subprocess.run([CRIT, "encode", "-i", js, "-o", path], capture_output=True, text=True)
    if r.returncode:
        raise CaseFail("crit encode %s: %s" % (path, r.stderr.strip()))


XFEATURE_NAMES = {3: "mpx_bndregs", 4: "mpx_bndcsr", 5: "avx512_opmask",
                  6: "avx512_zmm_hi256", 7: "avx512_hi16_zmm", 9: "pkru"}


@case("restore.cpu.xstate")
def _():
    """A thread's xstate_bv with components this CPU has not (AVX-512 on a
    CPU without it): the kernel would refuse the frame and the restorer
    die (signal 11 in a remote syscall); criu refuses first."""
    flag, bits = missing_xfeatures()

    def m(img):
        def edit(j):
            xs = j["entries"][0]["thread_info"]["fpregs"]["xsave"]
            for b in bits:
                xs["xstate_bv"] |= 1 << b
        core = image_file(img, "core-%d.img" % BASE["pid"])
        crit_edit(core, edit)
        return os.path.basename(core)
    line, core = restore_must_fail("cpu-xstate", m, "xsave features", "lacks",
                                   *[XFEATURE_NAMES[b] for b in bits])
    if core not in line:
        raise CaseFail("the line does not name %s: %r" % (core, line))


def add_xfeatures(bits):
    def edit(j):
        for b in bits:
            j["entries"][0]["x86_entry"][0]["xfeatures_mask"] |= 1 << b
    return edit


@case("restore.cpu.cpuinfo-xfeatures")
def _():
    """cpuinfo.img from a CPU with an xsave feature this one lacks: refused
    by default (--cpu-cap fpu), restored with --cpu-cap=none."""
    flag, bits = missing_xfeatures()

    def m(img):
        crit_edit(os.path.join(img, "cpuinfo.img"), add_xfeatures(bits))
    restore_must_fail("cpu-cpuinfo", m, "cpuinfo.img", "lacks",
                      *[XFEATURE_NAMES[b] for b in bits])


# instruction-set features this CPU may lack: (cpuinfo flag, word, bit)
INS_FLAGS = [("avx512pf", 9, 26), ("xop", 6, 11), ("fma4", 6, 16), ("avx512er", 9, 27),
             ("sse4a", 6, 6)]


@case("cpuinfo.dump-check")
def _():
    """criu cpuinfo dump, then check, on this machine: exit 0; the base
    dump's own cpuinfo.img too; one with an instruction set this CPU lacks:
    check exits non-zero naming it, and restore --cpu-cap=ins refuses."""
    d = case_dir("cpuinfo")
    run = criu(["cpuinfo", "dump", "-D", d], log=os.path.join(d, "dump.log"))
    if run.rc != 0 or not os.path.exists(os.path.join(d, "cpuinfo.img")):
        CURRENT.details = run.details()
        raise CaseFail("cpuinfo dump: rc %s: %s" % (run.rc, run.err.strip()))
    for where in (d, base_dump()["dir"]):
        run = criu(["cpuinfo", "check", "-D", where], log=os.path.join(d, "check.log"))
        if run.rc != 0:
            CURRENT.details = run.details()
            raise CaseFail("cpuinfo check of %s: rc %s: %s" % (where, run.rc, run.err.strip()))
    flags = set()
    for line in read("/proc/cpuinfo").splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    lacking = [f for f in INS_FLAGS if f[0] not in flags]
    if not lacking:
        raise CaseSkip("this CPU has every instruction set we would take away")
    name, word, bit = lacking[0]

    def edit(j):
        j["entries"][0]["x86_entry"][0]["capability"][word] |= 1 << bit
    crit_edit(os.path.join(d, "cpuinfo.img"), edit)
    run = criu(["cpuinfo", "check", "-D", d], log=os.path.join(d, "check2.log"))
    expect_failure(run, name, "lacks")

    def m(img):
        crit_edit(os.path.join(img, "cpuinfo.img"), edit)
    restore_must_fail("cpu-ins", m, name, "lacks", extra=["--cpu-cap=ins"])


# a changed executable or library ----------------------------------------------------

PROG_C = r"""
#include <unistd.h>
volatile int tag = TAG;
int main(void) { for (;;) sleep(1 + tag * 0); }
"""
LIB_C = r"""
volatile int lib_tag = TAG;
int lib_get(void) { return lib_tag; }
"""


def build_pair(d, name, src, shared):
    """Two builds of src differing in TAG, padded to one size; their paths."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise CaseSkip("no C compiler")
    with open(os.path.join(d, name + ".c"), "w") as f:
        f.write(src)
    out = []
    for tag in (1, 2):
        o = os.path.join(d, "%s-%d" % (name, tag))
        args = [cc, "-O2", "-DTAG=%d" % tag, "-o", o, os.path.join(d, name + ".c")]
        if shared:
            args[1:1] = ["-shared", "-fPIC"]
        r = subprocess.run(args, capture_output=True, text=True)
        if r.returncode:
            raise CaseFail("cc: %s" % r.stderr.strip())
        out.append(o)
    size = max(os.path.getsize(o) for o in out)
    for o in out:
        with open(o, "ab") as f:
            f.write(b"\0" * (size - os.path.getsize(o)))
    with open(out[0], "rb") as a, open(out[1], "rb") as b:
        if a.read() == b.read():
            raise CaseFail("the two builds are the same")
    return out


def replace_file(src, dst):
    tmp = dst + ".new"
    shutil.copyfile(src, tmp)
    os.chmod(tmp, 0o755)
    os.rename(tmp, dst)


def changed_file_case(name, shared):
    def run_case():
        d = case_dir("changed-" + name)
        one, two = build_pair(d, name, LIB_C if shared else PROG_C, shared)
        path = os.path.join(d, "%s-%s%s" % (name, MARKER, ".so" if shared else ""))
        replace_file(one, path)
        st = os.stat(path)
        if shared:
            # a program of ours (it takes the marker as an argument) with it preloaded
            exe = build_pair(d, "prog", PROG_C, False)[0]
            pid = spawn([exe, MARKER], env=dict(os.environ, LD_PRELOAD=path))
        else:
            pid = spawn([path, MARKER])
        img = os.path.join(d, "img")
        try:
            time.sleep(0.2)
            if path not in (read("/proc/%d/maps" % pid) or ""):
                raise CaseFail("the target does not map %s" % path)
            run = criu(["dump", "-t", str(pid), "-D", img], log=os.path.join(d, "dump.log"))
            if run.rc != 0:
                CURRENT.details = run.details()
                raise CaseFail("the dump failed: " + run.err.strip())
            if wait_spawned(pid, 5) is None or not wait_gone(pid):
                raise CaseFail("dumped pid %d still exists" % pid)
        finally:
            kill_tree(pid)
        replace_file(two, path)            # another build, the same size
        kids_before = {p for p, _ in my_children()}
        marked_before = set(marked_processes())
        run = criu(["restore", "-D", img, "-d"], log=os.path.join(d, "restore.log"))
        try:
            line = expect_failure(run, path, "changed", "build-id")
        finally:
            left = leftovers(pid, kids_before, marked_before, ())
            if left:
                kill_everything_new(kids_before, marked_before, (), pid)
        if left:
            raise CaseFail("left behind: " + "; ".join(left))
        if "size" in line:
            raise CaseFail("the size did not change, yet the line says so: %r" % line)
        # the dumped build back, with its mtime: it restores and runs again
        replace_file(one, path)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        run = criu(["restore", "-D", img, "-d"], log=os.path.join(d, "restore2.log"))
        try:
            if run.rc != 0:
                CURRENT.details = run.details()
                raise CaseFail("the unchanged file did not restore: %s" % run.err.strip())
            time.sleep(0.2)
            ps = proc_ppid_state(pid)
            if not ps or ps[1] not in "SR":
                raise CaseFail("the restored pid %d is %s" % (pid, ps))
            if path not in (read("/proc/%d/maps" % pid) or ""):
                raise CaseFail("the restored pid %d does not map %s" % (pid, path))
        finally:
            kill_tree(pid)
            wait_gone(pid)
    return run_case


case("restore.changed.exe")(changed_file_case("prog", False))
case("restore.changed.library")(changed_file_case("lib", True))


# an unfinished dump --------------------------------------------------------------------

def restore_refuses_incomplete(d, img, pid):
    if os.path.exists(os.path.join(img, "inventory.img")):
        raise CaseFail("the unfinished dump left an inventory.img")
    kids_before = {p for p, _ in my_children()}
    marked_before = set(marked_processes())
    run = criu(["restore", "-D", img, "-d"], log=os.path.join(d, "restore.log"))
    try:
        expect_failure(run, img, "incomplete dump", "inventory.img")
    finally:
        left = leftovers(pid, kids_before, marked_before, ())
        if left:
            kill_everything_new(kids_before, marked_before, (), pid)
    if left:
        raise CaseFail("left behind: " + "; ".join(left))


@case("dump.interrupted")
def _():
    """criu SIGKILLed while it writes 512 MiB of pages: the directory does
    not pass for a dump."""
    d = case_dir("interrupted")
    img = os.path.join(d, "img")
    t = Target("interrupted-target", "--mem", "512")
    try:
        p = subprocess.Popen([CRIU, "dump", "-t", str(t.pid), "-D", img, "-o",
                              os.path.join(d, "dump.log"), "-v4"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        end, written = time.monotonic() + 20, 0
        while time.monotonic() < end and p.poll() is None:
            written = sum(os.path.getsize(f) for f in glob.glob(os.path.join(img, "pages-*.img")))
            if written >= 64 << 20:
                break
            time.sleep(0.005)
        p.kill()
        p.wait()
        if p.returncode != -signal.SIGKILL:
            raise CaseFail("criu ended by itself (rc %s) before it was killed" % p.returncode)
        CURRENT.note = "killed after %d MiB of pages" % (written >> 20)
    finally:
        t.kill()
    restore_refuses_incomplete(d, img, t.pid)


@case("dump.failed-over-old")
def _():
    """A dump that fails (an unsupported fd) into a directory that holds a
    complete dump: the old inventory.img goes, restore refuses."""
    d = case_dir("failed-over-old")
    img = os.path.join(d, "img")
    t = Target("old-dump-target", "--mem", "1")
    run = criu(["dump", "-t", str(t.pid), "-D", img], log=os.path.join(d, "dump1.log"))
    if run.rc != 0:
        t.kill()
        CURRENT.details = run.details()
        raise CaseFail("the first dump failed: " + run.err.strip())
    wait_spawned(t.pid, 5)
    bad = Target("failing-target", "--fd", "fanotify")
    try:
        run = criu(["dump", "-t", str(bad.pid), "-D", img], log=os.path.join(d, "dump2.log"))
        expect_failure(run, "unsupported")
    finally:
        bad.kill()
    restore_refuses_incomplete(d, img, t.pid)


# restoring twice ------------------------------------------------------------------

@case("restore.twice")
def _():
    b = base_dump()
    t = b["target"]
    d = case_dir("twice")
    img = os.path.join(d, "img")
    if os.path.exists(img):
        shutil.rmtree(img)
    shutil.copytree(b["dir"], img)
    if alive(b["pid"]):
        raise CaseFail("pid %d is taken before the restore" % b["pid"])
    run = criu(["restore", "-D", img, "-d", "--pidfile", os.path.join(d, "pid1")],
               log=os.path.join(d, "restore1.log"))
    try:
        if run.rc != 0:
            CURRENT.details = run.details()
            raise CaseFail("the first restore failed: rc %s: %s" % (run.rc, run.err.strip()))
        pid = int(read(os.path.join(d, "pid1")))
        if pid != b["pid"]:
            raise CaseFail("restored as pid %d, not %d" % (pid, b["pid"]))
        t.ticks = -1
        t.ping(pid)
        before = snapshot(pid)
        kids_before = {p for p, _ in my_children()}
        marked_before = set(marked_processes())
        run = criu(["restore", "-D", img, "-d", "--pidfile", os.path.join(d, "pid2")],
                   log=os.path.join(d, "restore2.log"))
        try:
            expect_failure(run, "already in use", str(pid))
        finally:
            left = leftovers(pid, kids_before, marked_before, (pid,))
            if left:
                kill_everything_new(kids_before, marked_before, (pid,), pid)
        if left:
            raise CaseFail("left behind: " + "; ".join(left))
        bad = compare(pid, before, "restored")
        if bad:
            raise CaseFail("; ".join(bad))
        t.ping(pid)
    finally:
        if alive(b["pid"]):
            kill_tree(b["pid"])
            # it was our child once, so reap_orphans() leaves its zombie to us
            try:
                os.waitpid(b["pid"], 0)
            except ChildProcessError:
                pass
            wait_gone(b["pid"])


# --------------------------------------------------------------------------

MOUNTS = []


sys.path.insert(0, HERE)
import faults  # noqa: E402
faults.register(sys.modules[__name__])


class Current:
    def __init__(self):
        self.details = []
        self.note = ""


def main():
    global CRIU, TMP, MARKER, CURRENT
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--criu", default=os.path.join(REPO, "build", "criu", "criu"))
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    ap.add_argument("-t", "--only", action="append",
                    help="run cases matching this glob (repeatable)")
    ap.add_argument("-l", "--list", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="show criu's stderr for passing cases too")
    a = ap.parse_args()
    if a.list:
        for n, _ in CASES:
            print(n)
        return 0
    CRIU = os.path.abspath(a.criu)
    if not os.access(CRIU, os.X_OK):
        sys.exit("no criu at %s" % CRIU)
    if os.geteuid() != 0:
        sys.exit("run as root")
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0):
        sys.exit("prctl(PR_SET_CHILD_SUBREAPER) failed")
    TMP = tempfile.mkdtemp(prefix="criu-failures-")
    MARKER = "crfail%d" % MYPID
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

    passed = failed = skipped = 0
    t0 = time.monotonic()
    try:
        for name, fn in CASES:
            if a.only and not any(fnmatch.fnmatch(name, p) or p in name for p in a.only):
                continue
            CURRENT = Current()
            try:
                fn()
            except CaseSkip as e:
                print("SKIP %s: %s" % (name, e), flush=True)
                skipped += 1
            except CaseFail as e:
                print("FAIL %s: %s" % (name, str(e).replace("\n", " | ")), flush=True)
                for l in CURRENT.details:
                    print("    " + l, file=sys.stderr, flush=True)
                failed += 1
            except Exception as e:      # a bug in this runner counts too
                print("FAIL %s: runner error %r" % (name, e), flush=True)
                failed += 1
            else:
                print("PASS %s%s" % (name, " (%s)" % CURRENT.note if CURRENT.note else ""),
                      flush=True)
                if a.verbose:
                    for l in CURRENT.details:
                        if l.startswith("stderr"):
                            print("    " + l, file=sys.stderr, flush=True)
                passed += 1
            reap_orphans()
    finally:
        kill_everything()
        for m in MOUNTS:
            subprocess.run(["umount", "-l", m], capture_output=True)
        if a.keep:
            print("work dir kept: %s" % TMP, file=sys.stderr)
        else:
            shutil.rmtree(TMP, ignore_errors=True)
    print("%d passed, %d failed%s" % (passed, failed,
                                      ", %d skipped" % skipped if skipped else ""))
    print("(%.1fs)" % (time.monotonic() - t0), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
