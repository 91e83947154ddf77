#!/usr/bin/env python3
"""Back-to-back dump/restore cycles of one process.

    test/soak/run.py [--criu build/criu/criu] [-n 50] [--keep]

Run as root.  A counter process appends 1, 2, 3, ... to a file, one line
every few ms.  Each cycle dumps it (the dump kills it), restores it
detached, lets it run a little and dumps it again.  At the end:
  - the file holds 1..N with no gap and no repeat;
  - criu ends every dump and restore with only stdio (and copies of it) and
    its log open, the same number each time ("criu CMD ends with N fds
    open", and one line per fd), and its peak RSS does not grow;
  - the restored process has the same number of mappings and fds as the
    original had (nothing of criu stays in it);
  - nothing was left in /tmp (a private tmpfs for the run), and each image
    dir holds only images and logs.
Output: PASS or FAIL lines, then a count; exit 1 if anything failed.
"""

import argparse
import ctypes
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PR_SET_CHILD_SUBREAPER = 36
CLONE_NEWNS = 0x00020000
MS_REC = 0x4000
MS_BIND = 0x1000
MS_PRIVATE = 1 << 18

COUNTER = r"""
import os, sys, time
path = sys.argv[1]
fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
i = 0
while True:
    i += 1
    os.write(fd, b"%d\n" % i)
    time.sleep(0.003)
"""


class Fail(Exception):
    pass


def reap(pid, timeout=10):
    """Wait for pid (ours, or handed to us as subreaper) to be gone."""
    end = time.time() + timeout
    while time.time() < end:
        try:
            got, _ = os.waitpid(pid, os.WNOHANG)
            if got == pid:
                return
        except ChildProcessError:
            if not os.path.exists("/proc/%d" % pid):
                return
        time.sleep(0.005)
    raise Fail("pid %d still there after the dump" % pid)


def reap_any():
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def logged(log, what):
    """criu's fd count and peak RSS at exit; fails on an fd that is not
    stdio, a copy of it, or the log itself."""
    text = open(log, errors="replace").read()
    m = re.search(r"criu %s ends with (\d+) fds open, peak RSS (-?\d+) kB" % what, text)
    if not m:
        raise Fail("%s: no fd count in the log" % log)
    fds = dict(re.findall(r"criu %s ends with fd (\d+) open: (.*)" % what, text))
    ok = {fds.get(str(i)) for i in range(3)} | {os.path.realpath(log)}
    leaked = ["%s -> %s" % (fd, link) for fd, link in fds.items() if link not in ok]
    if leaked:
        raise Fail("criu %s ended with fds open: %s" % (what, leaked))
    return int(m.group(1)), int(m.group(2))


def criu(args, log):
    r = subprocess.run([ARGS.criu] + args + ["-o", log, "-v4"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if r.returncode:
        raise Fail("criu %s: exit %d: %s" % (args[0], r.returncode,
                                             r.stderr.decode(errors="replace").strip()))


def counts(pid):
    return (len(open("/proc/%d/maps" % pid).read().splitlines()),
            len(os.listdir("/proc/%d/fd" % pid)))


def check_sequence(path):
    nums = [int(x) for x in open(path).read().split()]
    for i, n in enumerate(nums):
        if n != i + 1:
            kind = "repeat" if n <= i else "gap"
            raise Fail("%s at line %d: %d after %s" % (kind, i + 1, n,
                                                      nums[i - 1] if i else "nothing"))
    return len(nums)


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--criu", default=os.path.join(REPO, "build/criu/criu"))
    ap.add_argument("-n", type=int, default=50)
    ap.add_argument("--keep", action="store_true")
    ARGS = ap.parse_args()
    ARGS.criu = os.path.abspath(ARGS.criu)
    if os.geteuid():
        sys.exit("run as root")
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    # a /tmp of our own (in a mount namespace of our own): whatever appears
    # there during the run is criu's or the counter's
    # a checkout under /tmp (CI may clone there) stays reachable: bound back
    # into the new /tmp at its own path
    keep = sorted({p for p in (REPO, os.path.dirname(os.path.realpath(ARGS.criu)))
                   if p.startswith("/tmp/")})
    if libc.unshare(CLONE_NEWNS) or libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None):
        sys.exit("cannot make a mount namespace: %s" % os.strerror(ctypes.get_errno()))
    # opened in the new namespace: a bind takes its source from there only
    keep_fds = [os.open(p, os.O_PATH | os.O_DIRECTORY) for p in keep]
    if libc.mount(b"soak-tmp", b"/tmp", b"tmpfs", 0, b"mode=1777"):
        sys.exit("cannot set up a private /tmp: %s" % os.strerror(ctypes.get_errno()))
    for path, fd in zip(keep, keep_fds):
        os.makedirs(path, exist_ok=True)
        if libc.mount(b"/proc/self/fd/%d" % fd, path.encode(), None, MS_BIND | MS_REC, None):
            sys.exit("cannot bind %s into the private /tmp: %s" %
                     (path, os.strerror(ctypes.get_errno())))
        os.close(fd)

    work = tempfile.mkdtemp(prefix="criu-soak-", dir="/var/tmp")
    tmp_before = set(os.listdir("/tmp"))
    out = os.path.join(work, "counter.txt")
    t0 = time.time()
    failed = 0
    pid = None
    try:
        p = subprocess.Popen([sys.executable, "-c", COUNTER, out], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
        pid = p.pid
        time.sleep(0.3)
        first = counts(pid)
        fds = {}
        rss = []
        for i in range(ARGS.n):
            img = os.path.join(work, "img%02d" % i)
            criu(["dump", "-t", str(pid), "-D", img], "dump.log")
            reap(pid)
            fds.setdefault("dump", set()).add(logged(os.path.join(img, "dump.log"), "dump")[0])
            rss.append(logged(os.path.join(img, "dump.log"), "dump")[1])
            criu(["restore", "-D", img, "-d"], "restore.log")
            fds.setdefault("restore", set()).add(
                logged(os.path.join(img, "restore.log"), "restore")[0])
            time.sleep(0.05 + 0.1 * (i % 3))
            now = counts(pid)
            if now != first:
                raise Fail("cycle %d: %d mappings and %d fds, were %d and %d" %
                           (i, now[0], now[1], first[0], first[1]))
            stray = [f for f in os.listdir(img)
                     if not (f.endswith(".img") or f.startswith("stats-") or
                             f in ("dump.log", "restore.log"))]
            if stray:
                raise Fail("cycle %d: stray files in the image dir: %s" % (i, stray))
            if not ARGS.keep and i:
                shutil.rmtree(os.path.join(work, "img%02d" % (i - 1)))
        for cmd, seen in fds.items():
            if len(seen) != 1:
                raise Fail("criu %s ended with different fd counts: %s" % (cmd, sorted(seen)))
        print("PASS soak.fds (dump %s, restore %s fds at exit)" % (
            fds["dump"].pop(), fds["restore"].pop()))
        half = len(rss) // 2
        if max(rss[half:]) > max(rss[:half]) + 1024:
            raise Fail("criu's peak RSS grew: %s" % rss)
        print("PASS soak.memory (criu peak RSS %d-%d kB; target %d mappings, %d fds)" % (
            min(rss), max(rss), first[0], first[1]))
        os.kill(pid, signal.SIGSTOP)
        n = check_sequence(out)
        print("PASS soak.sequence (%d cycles, 1..%d, no gap or repeat)" % (ARGS.n, n))
        os.kill(pid, signal.SIGKILL)
        reap(pid)
        pid = None
        stray = sorted(set(os.listdir("/tmp")) - tmp_before)
        if stray:
            raise Fail("new files in /tmp: %s" % stray)
        print("PASS soak.tmp")
    except (Fail, subprocess.TimeoutExpired) as e:
        failed = 1
        print("FAIL soak: %s" % e)
    finally:
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        reap_any()
        if not ARGS.keep:
            shutil.rmtree(work, ignore_errors=True)
    print("%d failed (%.0f s)" % (failed, time.time() - t0))
    sys.exit(failed)


if __name__ == "__main__":
    main()
