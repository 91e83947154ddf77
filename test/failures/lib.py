"""Shared machinery of the failure tests (run.py): the processes we start,
the targets, running criu, and the case registry."""

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
    """Problems between a snapshot and now, after letting pid settle.
    A signal queued while the tree was traced (SIGCHLD of a child that
    exited meanwhile) stays pending until the resumed thread runs, which on
    a loaded machine may take a moment: differences get 1 s to go away."""
    end = time.monotonic() + 1.0
    while True:
        bad = compare_once(pid, before, what)
        if not bad or time.monotonic() > end:
            return bad
        time.sleep(0.05)


def compare_once(pid, before, what):
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


MOUNTS = []

