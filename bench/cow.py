#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Restore time and memory of a copy-on-write tree, for two criu binaries.

bench/cowtree (a parent and --children readers sharing --size-mib MiB) is
dumped once with --criu, then restored with -d by --criu and by --base in
turn, --runs times each (alternating which goes first).  After each
restore: criu's wall time, the tree's summed Pss (smaps_rollup) and how
much MemAvailable fell.  Needs root.  Prints figures, no verdict.
"""

import argparse
import ctypes
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PR_SET_CHILD_SUBREAPER = 36


def meminfo(key):
    with open('/proc/meminfo') as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1])
    raise KeyError(key)


def tree(pid):
    out = [pid]
    with open('/proc/%d/task/%d/children' % (pid, pid)) as f:
        for c in f.read().split():
            out += tree(int(c))
    return out


def pss_kb(pids):
    total = 0
    for p in pids:
        with open('/proc/%d/smaps_rollup' % p) as f:
            for line in f:
                if line.startswith('Pss:'):
                    total += int(line.split()[1])
    return total


def cpu_secs(pids):
    """utime + stime of each task: what it spent restoring itself."""
    total = 0
    for p in pids:
        with open('/proc/%d/stat' % p) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf('SC_CLK_TCK')


def kill_tree(pids):
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    left = set(pids)
    deadline = time.monotonic() + 30
    while left and time.monotonic() < deadline:
        try:
            got, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            got = 0
        if got:
            left.discard(got)
            continue
        left = {p for p in left if os.path.exists('/proc/%d' % p)}
        time.sleep(0.01)
    if left:
        sys.exit('cow.py: pids %s did not go away' % sorted(left))


def criu(binary, args, logdir):
    t0 = time.monotonic()
    r = subprocess.run([binary] + args, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    secs = time.monotonic() - t0
    if r.returncode:
        sys.exit('cow.py: %s %s failed: %s (logs in %s)' %
                 (binary, args[0], r.stdout.decode(errors='replace'), logdir))
    return secs


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--criu', default=os.path.join(ROOT, 'build/criu/criu'))
    ap.add_argument('--base', required=True, help='the criu to compare with')
    ap.add_argument('--cowtree', default=os.path.join(ROOT, 'build/bench/cowtree'))
    ap.add_argument('--size-mib', type=int, default=256)
    ap.add_argument('--children', type=int, default=4)
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--dir', default='/var/tmp')
    ap.add_argument('-v', '--verbosity', type=int, default=2, help="criu's log level")
    a = ap.parse_args()

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    work = tempfile.mkdtemp(prefix='cow-bench-', dir=a.dir)
    img = os.path.join(work, 'img')
    os.mkdir(img)
    try:
        pidfile = os.path.join(work, 'pid')
        avail0 = meminfo('MemAvailable')
        target = subprocess.Popen([a.cowtree, '--size', str(a.size_mib), '--children',
                                   str(a.children), '--pidfile', pidfile],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        while not os.path.exists(pidfile):
            if target.poll() is not None:
                sys.exit('cow.py: cowtree exited with %d' % target.returncode)
            time.sleep(0.02)
        time.sleep(0.1)
        pids = tree(target.pid)
        print('dumped tree: %d processes, Pss %d MiB, MemAvailable fell by %d MiB' %
              (len(pids), pss_kb(pids) // 1024, (avail0 - meminfo('MemAvailable')) // 1024))
        criu(a.criu, ['dump', '-t', str(target.pid), '-D', img, '-o', 'dump.log'], img)
        target.wait()
        kill_tree(pids)     # the killed children, now ours to reap
        res = {a.base: [], a.criu: []}
        for run in range(a.runs):
            order = [a.base, a.criu] if run % 2 == 0 else [a.criu, a.base]
            for binary in order:
                subprocess.run(['sync'])
                avail0 = meminfo('MemAvailable')
                secs = criu(binary, ['restore', '-d', '-D', img, '-o',
                                      'restore-%s.log' % ('new' if binary == a.criu else 'base'),
                                      '-v%d' % a.verbosity], img)
                pids = tree(pids[0])
                res[binary].append((secs, pss_kb(pids), avail0 - meminfo('MemAvailable'),
                                    cpu_secs(pids)))
                kill_tree(pids)
        for name, binary in (('base', a.base), ('new', a.criu)):
            r = res[binary]
            print('%-4s %s: restore %s s (median %.3f), CPU of the tasks %s s, '
                  'tree Pss %s MiB, MemAvailable fell by %s MiB' %
                  (name, binary, ' '.join('%.3f' % x[0] for x in r),
                   statistics.median(x[0] for x in r),
                   ' '.join('%.2f' % x[3] for x in r),
                   ' '.join('%d' % (x[1] // 1024) for x in r),
                   ' '.join('%d' % (x[2] // 1024) for x in r)))
    finally:
        if not os.environ.get('COW_KEEP'):
            shutil.rmtree(work, ignore_errors=True)
        else:
            print('kept', work)


if __name__ == '__main__':
    main()
