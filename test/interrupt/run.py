#!/usr/bin/env python3
"""criu killed or interrupted in the middle of a dump: the tree must go on.

    test/interrupt/run.py [--criu build/criu/criu] [--target PATH] [-t GLOB]...
                       [-v] [--keep] [--all-steps]

Run as root.  The target (fault-target, built from target.c) is a tree of
two processes: a parent with memory holding a pattern, SIGUSR2 blocked and
pending, SIGHUP ignored, a SIGUSR1 handler, a thread that checks r12, r13
and xmm7 after each of its raw nanosleep calls and a thread blocked in
read(); and a child with its own handler.

Each case starts `criu dump` (with and without -R) and ends it early:

  timed.SIG.MODE.MS   SIG sent to criu MS ms after it started (50, 100,
                      150 and two random moments), 512 MiB target;
  step.SIG.MODE       criu sends SIG to itself at step N of the dump
                      (CRIU_FAULT_STEP), for every step with SIGKILL and
                      for a spread of steps with SIGTERM and SIGINT, on a
                      small target.

SIG is KILL, TERM or INT.  After each run:
  - criu ended: killed (SIGKILL), or exit status 1 with exactly one line
    on stderr that says it was interrupted (SIGTERM, SIGINT; killed by it
    only if it came before criu logged that its handlers were in place);
    exit 0 only
    if the dump had already finished (then without -R the tree is gone,
    which ends the case);
  - both processes alive, every thread neither stopped nor traced, and
    SigPnd, ShdPnd, SigBlk, SigIgn, SigCgt of every thread unchanged;
  - /proc/PID/maps unchanged; after SIGKILL only the scratch area criu
    logged ("remote area at A-B") may remain, and nothing else;
  - on SIGUSR1 each process answers: the parent's memory checksum, its
    checking thread's registers and its read() thread are intact.
Output: `PASS name` or `FAIL name: why` per case, then a count; exit 1 if
anything failed.
"""

import argparse
import fnmatch
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SIGS = {"KILL": signal.SIGKILL, "TERM": signal.SIGTERM, "INT": signal.SIGINT}
STATUS_FIELDS = ("SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt")


class CaseFail(Exception):
    pass


class Target:
    """The two-process tree of fault-target."""

    def __init__(self, exe, work, mib):
        self.dir = tempfile.mkdtemp(prefix="target-", dir=work)
        self.proc = subprocess.Popen([exe, self.dir, str(mib)], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        ready = os.path.join(self.dir, "ready")
        deadline = time.time() + 60
        while not os.path.exists(ready):
            if time.time() > deadline or self.proc.poll() is not None:
                raise CaseFail("the target did not start")
            time.sleep(0.02)
        self.pid, self.child = [int(x) for x in open(ready).read().split()]
        os.kill(self.pid, signal.SIGUSR2)  # blocked: stays pending
        self.sum = None
        self.sum = self.ask()

    def pids(self):
        return (self.pid, self.child)

    def alive(self):
        return not self.dead()

    def dead(self):
        """Why the tree is not all alive, or None."""
        for p in self.pids():
            try:
                st = open("/proc/%d/stat" % p).read()
            except OSError:
                rc = self.proc.poll() if p == self.pid else None
                return "pid %d is gone (status %s)" % (p, rc)
            if st.rsplit(")", 1)[1].split()[0] in "ZX":
                rc = self.proc.poll() if p == self.pid else None
                return "pid %d is a zombie (status %s)" % (p, rc)
        return None

    def ask(self):
        """SIGUSR1 to both; their replies (the parent's checksum)."""
        for p in self.pids():
            try:
                os.unlink(os.path.join(self.dir, "reply-%d" % p))
            except FileNotFoundError:
                pass
            os.kill(p, signal.SIGUSR1)
        sums = {}
        for p in self.pids():
            path = os.path.join(self.dir, "reply-%d" % p)
            deadline = time.time() + 10
            while not os.path.exists(path):
                if time.time() > deadline:
                    raise CaseFail("pid %d does not answer SIGUSR1 (its handler did not run)" % p)
                time.sleep(0.01)
            line = open(path).read().strip()
            if not line.startswith("ok"):
                raise CaseFail("pid %d: %s" % (p, line))
            m = re.search(r"sum=(\w+)", line)
            if m:
                sums[p] = m.group(1)
        if self.sum is not None and sums.get(self.pid) != self.sum:
            raise CaseFail("memory checksum %s, was %s" % (sums.get(self.pid), self.sum))
        return sums.get(self.pid)

    def kill(self):
        for p in self.pids():
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        # the child was reparented to us (subreaper) or to init
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


def thread_states(pid):
    out = {}
    for tid in sorted(os.listdir("/proc/%d/task" % pid)):
        st = {}
        for line in open("/proc/%d/task/%s/status" % (pid, tid)):
            k, _, v = line.partition(":")
            st[k] = v.strip()
        out[tid] = st
    return out


def snapshot(t):
    snap = {}
    for p in t.pids():
        snap[p] = {
            "threads": {tid: {k: st[k] for k in STATUS_FIELDS}
                        for tid, st in thread_states(p).items()},
            "maps": open("/proc/%d/maps" % p).read().splitlines(),
        }
    return snap


def parse_maps(lines):
    out = []
    for line in lines:
        f = line.split(None, 5)
        a, b = (int(x, 16) for x in f[0].split("-"))
        out.append([a, b] + f[1:5] + [f[5] if len(f) > 5 else ""])
    return out


def without(maps, ranges):
    """The mappings with the given ranges cut out (adjacent ones may have merged)."""
    out = []
    for m in maps:
        pieces = [(m[0], m[1])]
        for lo, hi in ranges:
            nxt = []
            for a, b in pieces:
                if b <= lo or a >= hi:
                    nxt.append((a, b))
                    continue
                if a < lo:
                    nxt.append((a, lo))
                if b > hi:
                    nxt.append((hi, b))
            pieces = nxt
        for a, b in pieces:
            out.append((a, b) + tuple(m[2:]))
    return out


def merged(maps):
    """Adjacent anonymous pieces with the same attributes as one (for comparing)."""
    out = []
    for m in sorted(maps):
        if out and out[-1][1] == m[0] and out[-1][2:] == m[2:] and not m[6]:
            out[-1] = (out[-1][0], m[1]) + tuple(m[2:])
        else:
            out.append(tuple(m))
    return out


def areas(log):
    got = {}
    try:
        text = open(log, errors="replace").read()
    except FileNotFoundError:
        return got
    for m in re.finditer(r"pid (\d+): remote area at ([0-9a-f]+)-([0-9a-f]+)", text):
        got.setdefault(int(m.group(1)), []).append((int(m.group(2), 16), int(m.group(3), 16)))
    return got


def wait_untraced(t, timeout=5):
    deadline = time.time() + timeout
    while True:
        bad = []
        for p in t.pids():
            for tid, st in thread_states(p).items():
                if st["State"][0] in "tT" or st["TracerPid"] != "0":
                    bad.append("tid %s: %s, tracer %s" % (tid, st["State"], st["TracerPid"]))
        if not bad:
            return
        if time.time() > deadline:
            raise CaseFail("; ".join(bad))
        time.sleep(0.02)


def check_tree(t, before, killed, log):
    """Compare with the snapshot; threads detached by a dying criu may need a moment."""
    deadline = time.time() + 3
    while True:
        try:
            compare_tree(t, before, killed, log)
            break
        except CaseFail:
            if time.time() > deadline:
                raise
            time.sleep(0.02)
    t.ask()


def compare_tree(t, before, killed, log):
    if t.dead():
        raise CaseFail("the target died: %s" % t.dead())
    wait_untraced(t)
    after = snapshot(t)
    left = areas(log) if killed else {}
    for p in t.pids():
        b, a = before[p], after[p]
        if set(b["threads"]) != set(a["threads"]):
            raise CaseFail("pid %d: threads %s, were %s" % (p, sorted(a["threads"]),
                                                            sorted(b["threads"])))
        for tid, st in b["threads"].items():
            for k in STATUS_FIELDS:
                if a["threads"][tid][k] != st[k]:
                    raise CaseFail("tid %s: %s %s, was %s" % (tid, k, a["threads"][tid][k],
                                                             st[k]))
        mb = merged(without(parse_maps(b["maps"]), left.get(p, [])))
        ma = merged(without(parse_maps(a["maps"]), left.get(p, [])))
        if mb != ma:
            extra = [m for m in ma if m not in mb] + ["-" + str(m) for m in mb if m not in ma]
            raise CaseFail("pid %d: maps changed: %s" % (p, extra[:4]))


class Runner:
    def __init__(self, args):
        self.args = args
        self.work = tempfile.mkdtemp(prefix="criu-interrupt-")
        self.passed = self.failed = 0
        self.targets = {}

    def target(self, mib):
        t = self.targets.get(mib)
        if t is None or not t.alive():
            if t:
                t.kill()
            t = self.targets[mib] = Target(self.args.target, self.work, mib)
        return t

    def wanted(self, name):
        return not self.args.t or any(fnmatch.fnmatch(name, g) or g in name for g in self.args.t)

    def criu_dump(self, t, leave_running, env=None):
        img = tempfile.mkdtemp(prefix="img-", dir=self.work)
        cmd = [self.args.criu, "dump", "-t", str(t.pid), "-D", img, "-o", "dump.log", "-v4"]
        if leave_running:
            cmd.append("-R")
        e = dict(os.environ)
        e.update(env or {})
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=e)
        return p, img

    def finish(self, name, t, p, img, sig, leave_running, before):
        """Judge one run; returns False when the tree is gone (a finished dump)."""
        try:
            out, err = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            raise CaseFail("criu hung")
        log = os.path.join(img, "dump.log")
        lines = err.decode(errors="replace").splitlines()
        rc = p.returncode
        try:
            if rc == 0:
                if leave_running:
                    check_tree(t, before, False, log)
                    return True
                deadline = time.time() + 10
                while t.alive() and time.time() < deadline:
                    time.sleep(0.02)
                if t.alive():
                    raise CaseFail("the dump finished but the tree still runs")
                return False
            if rc == -signal.SIGKILL and not leave_running and "frozen for" in (
                    open(log, errors="replace").read() if os.path.exists(log) else ""):
                # killed after it had killed the dumped tree: the dump was done
                deadline = time.time() + 10
                while t.alive() and time.time() < deadline:
                    time.sleep(0.02)
                if t.alive():
                    raise CaseFail("the dump killed the tree, but it still runs")
                return False
            if sig == signal.SIGKILL:
                if rc != -signal.SIGKILL:
                    raise CaseFail("criu ended with %d, not by SIGKILL: %s" % (rc, lines))
                check_tree(t, before, True, log)
                return True
            text = open(log, errors="replace").read() if os.path.exists(log) else ""
            if rc == -sig and "now roll the dump back" not in text:
                # the signal beat criu's handlers: nothing was frozen yet
                check_tree(t, before, False, log)
                return True
            if rc != 1 or len(lines) != 1 or "interrupted by SIG" not in lines[0]:
                raise CaseFail("criu exit %d, stderr %s" % (rc, lines))
            check_tree(t, before, False, log)
            return True
        except CaseFail:
            if self.args.keep:
                print("  kept %s" % img, file=sys.stderr)
            raise
        finally:
            if not self.args.keep:
                shutil.rmtree(img, ignore_errors=True)

    def report(self, name, why=None, info=""):
        if why is None:
            self.passed += 1
            print("PASS %s%s" % (name, info), flush=True)
        else:
            self.failed += 1
            print("FAIL %s: %s" % (name, why), flush=True)

    def timed(self):
        for signame, sig in SIGS.items():
            for leave in (False, True):
                mode = "R" if leave else "dump"
                for ms in (50, 100, 150, "rand1", "rand2"):
                    name = "timed.%s.%s.%s" % (signame, mode, ms)
                    if not self.wanted(name):
                        continue
                    delay = random.uniform(0.0, 1.5) if isinstance(ms, str) else ms / 1000
                    try:
                        t = self.target(512)
                        before = snapshot(t)
                        p, img = self.criu_dump(t, leave)
                        time.sleep(delay)
                        p.send_signal(sig)
                        if not self.finish(name, t, p, img, sig, leave, before):
                            t.kill()
                        self.report(name, info=" (after %.0f ms)" % (delay * 1000))
                    except CaseFail as e:
                        self.report(name, str(e))

    def count_steps(self, t, leave):
        p, img = self.criu_dump(t, True, {"CRIU_FAULT_STEP": "1000000000"})
        p.communicate(timeout=60)
        text = open(os.path.join(img, "dump.log"), errors="replace").read()
        shutil.rmtree(img, ignore_errors=True)
        m = re.search(r"the dump took (\d+) steps", text)
        if p.returncode or not m:
            raise CaseFail("the counting dump failed (exit %d)" % p.returncode)
        return int(m.group(1))

    def stepped(self):
        for signame, sig in SIGS.items():
            for leave in (False, True):
                mode = "R" if leave else "dump"
                name = "step.%s.%s" % (signame, mode)
                if not self.wanted(name):
                    continue
                try:
                    t = self.target(8)
                    n = self.count_steps(t, leave)
                    if sig == signal.SIGKILL or self.args.all_steps:
                        steps = list(range(1, n + 1))
                    else:
                        steps = sorted(set([1, 2, n // 2, n - 1, n] +
                                           random.sample(range(1, n + 1), min(n, 12))))
                    for s in steps:
                        t = self.target(8)
                        before = snapshot(t)
                        p, img = self.criu_dump(t, leave, {"CRIU_FAULT_STEP": str(s),
                                                           "CRIU_FAULT_SIGNAL": str(int(sig))})
                        try:
                            if not self.finish(name, t, p, img, sig, leave, before):
                                t.kill()
                        except CaseFail as e:
                            raise CaseFail("step %d of %d: %s" % (s, n, e))
                    self.report(name, info=" (%d of %d steps)" % (len(steps), n))
                except CaseFail as e:
                    self.report(name, str(e))

    def cleanup(self):
        for t in self.targets.values():
            t.kill()
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--criu", default=os.path.join(REPO, "build/criu/criu"))
    ap.add_argument("--target", default=os.path.join(REPO, "build/test/interrupt/fault-target"))
    ap.add_argument("-t", action="append", default=[])
    ap.add_argument("-v", action="store_true")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--all-steps", action="store_true")
    args = ap.parse_args()
    args.criu = os.path.abspath(args.criu)
    args.target = os.path.abspath(args.target)
    if os.geteuid():
        sys.exit("run as root")
    r = Runner(args)
    t0 = time.time()
    try:
        r.timed()
        r.stepped()
    finally:
        r.cleanup()
    print("%d passed, %d failed (%.0f s)" % (r.passed, r.failed, time.time() - t0))
    sys.exit(1 if r.failed else 0)


if __name__ == "__main__":
    main()
