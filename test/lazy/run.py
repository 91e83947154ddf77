#!/usr/bin/env python3
"""Lazy restore tests: criu restore --lazy-pages with criu lazy-pages.

  basic      a target with MIB MiB of patterned memory (and 8 MiB more) is
             dumped and restored lazily; at once (the daemon still pushing)
             it forks a child that checks every byte, writes and drops
             pages, moves a region, checks every byte from four threads;
             it must say PASS and that its memory was still registered
             (lazy=1); the daemon exits 0 with every page in.  The time of
             `criu restore -d` is printed.
  killed     the daemon is killed (SIGKILL) right after the restore: the
             target, touching its memory, dies of SIGBUS (never reads
             zeros), and the guard says so in the daemon's log.
  no-daemon  restore --lazy-pages with nothing listening: one line, exit 1,
             nothing left running.

One line per case, `PASS name` or `FAIL name: why`; exit status 1 if any
failed.  --mib N sets the size (default 1024); --time N,N,... only prints
the restore times of those sizes (bench/lazy.sh).
"""

import argparse
import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CRIU = None
TMP = None


class CaseFail(Exception):
    pass


def build_target():
    exe = os.path.join(TMP, "target")
    subprocess.run(["cc", "-O2", "-pthread", "-o", exe, os.path.join(HERE, "target.c")],
                   check=True)
    return exe


def wait_file(path, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path) and os.path.getsize(path):
            return
        time.sleep(0.01)
    raise CaseFail("no %s" % path)


def criu(args, timeout=120):
    p = subprocess.run([CRIU] + args, stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=timeout)
    return p.returncode, p.stderr


def dumped(exe, d, mib):
    """A target, dumped into d; returns its pid (free again)."""
    os.makedirs(d)
    t = subprocess.Popen([exe, d, str(mib)], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    wait_file(os.path.join(d, "ready"))
    rc, err = criu(["dump", "-t", str(t.pid), "-D", d, "-o", "dump.log", "-v4"])
    if rc:
        t.kill()
        t.wait()
        raise CaseFail("dump failed: %s" % err.strip())
    t.wait()
    return t.pid


def start_daemon(d):
    r, w = os.pipe()
    lp = subprocess.Popen([CRIU, "lazy-pages", "-D", d, "--status-fd", str(w), "-o",
                           "lazy.log", "-v4"], stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          pass_fds=(w,))
    os.close(w)
    ok = os.read(r, 1)
    os.close(r)
    if ok != b"\0":
        lp.kill()
        raise CaseFail("criu lazy-pages did not start")
    return lp


def lazy_restore(d):
    """criu restore -d --lazy-pages; returns (pid, seconds)."""
    pidfile = os.path.join(d, "rst.pid")
    t0 = time.monotonic()
    rc, err = criu(["restore", "-d", "-D", d, "--lazy-pages", "--pidfile", pidfile,
                    "-o", "restore.log", "-v4"])
    took = time.monotonic() - t0
    if rc:
        raise CaseFail("restore failed: %s" % err.strip())
    with open(pidfile) as f:
        return int(f.read()), took


def reap(pid, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        p, st = os.waitpid(pid, os.WNOHANG)
        if p == pid:
            return st
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise CaseFail("pid %d did not exit" % pid)


def case_basic(exe, mib):
    d = os.path.join(TMP, "basic")
    dumped(exe, d, mib)
    lp = start_daemon(d)
    try:
        pid, took = lazy_restore(d)
        os.kill(pid, signal.SIGUSR1)
        st = reap(pid)
        rc = lp.wait(timeout=120)
    finally:
        if lp.poll() is None:
            lp.kill()
            lp.wait()
    with open(os.path.join(d, "result")) as f:
        res = f.read().strip()
    if not os.WIFEXITED(st) or os.WEXITSTATUS(st):
        raise CaseFail("target ended with status %#x" % st)
    if res != "PASS lazy=1":
        raise CaseFail("target says %r" % res)
    if rc:
        raise CaseFail("criu lazy-pages exited %d" % rc)
    print("  %d MiB: criu restore -d --lazy-pages took %.1f ms" % (mib, took * 1000))


def case_killed(exe, mib):
    d = os.path.join(TMP, "killed")
    dumped(exe, d, mib)
    lp = start_daemon(d)
    pid, _ = lazy_restore(d)
    lp.kill()
    lp.wait()
    os.kill(pid, signal.SIGUSR1)
    st = reap(pid)
    if not os.WIFSIGNALED(st) or os.WTERMSIG(st) != signal.SIGBUS:
        raise CaseFail("target ended with status %#x, not SIGBUS" % st)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with open(os.path.join(d, "lazy.log"), errors="replace") as f:
            m = re.search(r"(\d+) MiB not loaded are poisoned", f.read())
        if m and int(m.group(1)) > 0:
            print("  %s MiB poisoned when the daemon was killed" % m.group(1))
            return
        if m:
            raise CaseFail("the daemon was killed after every page was in")
        time.sleep(0.05)
    raise CaseFail("the daemon's log does not say the pages were poisoned")


def case_no_daemon(exe, mib):
    d = os.path.join(TMP, "nodaemon")
    pid = dumped(exe, d, 16)
    rc, err = criu(["restore", "-d", "-D", d, "--lazy-pages", "-o", "restore.log"])
    lines = [l for l in err.splitlines() if l.strip()]
    if rc != 1 or len(lines) != 1 or "lazy-pages" not in lines[0]:
        raise CaseFail("expected one line and exit 1, got %d: %r" % (rc, err))
    if os.path.exists("/proc/%d" % pid):
        raise CaseFail("pid %d runs after the failed restore" % pid)


def eager_restore(d):
    pidfile = os.path.join(d, "eager.pid")
    t0 = time.monotonic()
    rc, err = criu(["restore", "-d", "-D", d, "--pidfile", pidfile, "-o", "eager.log"])
    took = time.monotonic() - t0
    if rc:
        raise CaseFail("eager restore failed: %s" % err.strip())
    with open(pidfile) as f:
        return int(f.read()), took


def time_only(exe, sizes):
    """Per size: lazy restore time, all pages in, then an eager restore of
    the same images; each restored target checks its memory."""
    print("%8s %14s %18s %15s" % ("MiB", "lazy restore", "lazy: all in+chk", "eager restore"))
    for mib in sizes:
        d = os.path.join(TMP, "time%d" % mib)
        dumped(exe, d, mib)
        lp = start_daemon(d)
        t0 = time.monotonic()
        pid, took = lazy_restore(d)
        os.kill(pid, signal.SIGUSR1)
        st = reap(pid, 600)
        lp.wait(timeout=600)
        full = time.monotonic() - t0
        with open(os.path.join(d, "result")) as f:
            res = f.read().strip()
        os.unlink(os.path.join(d, "result"))
        pid, eager = eager_restore(d)
        os.kill(pid, signal.SIGUSR1)
        reap(pid, 600)
        with open(os.path.join(d, "result")) as f:
            res2 = f.read().strip()
        print("%8d %11.1f ms %16.2f s %12.1f ms   (%s; eager %s)" %
              (mib, took * 1000, full, eager * 1000, res, res2))
        shutil.rmtree(d)


def main():
    global CRIU, TMP
    ap = argparse.ArgumentParser()
    ap.add_argument("--criu", default=os.path.join(HERE, "..", "..", "build", "criu", "criu"))
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--time", help="sizes in MiB, comma-separated: print restore times")
    ap.add_argument("cases", nargs="*")
    a = ap.parse_args()
    CRIU = os.path.abspath(a.criu)
    TMP = tempfile.mkdtemp(prefix="lazy-test-")
    # restored processes become our children when criu -d exits
    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)
    failed = 0
    try:
        exe = build_target()
        if a.time:
            time_only(exe, [int(x) for x in a.time.split(",")])
            return 0
        cases = {"basic": case_basic, "killed": case_killed, "no-daemon": case_no_daemon}
        for name in a.cases or list(cases):
            try:
                cases[name](exe, a.mib)
                print("PASS %s" % name)
            except (CaseFail, OSError, subprocess.SubprocessError) as e:
                print("FAIL %s: %s" % (name, e))
                failed += 1
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
