#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Fixed costs of criu dump and restore: many threads, many processes, a
sparse mapping and a small process.  See bench/README.md ("tasks.py").

For each case and run, bench/manytasks makes the target; `criu dump` (which
kills it) and `criu restore -d` are timed from spawn to exit, and the
restored tree is checked (thread or process count, memory pattern).  With
--base the same is done with a second binary in the same run, alternating
which goes first.  Needs root.  Prints figures, no verdict.
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

CASES = {
    'threads': lambda a: ['threads', str(a.tasks)],
    'procs': lambda a: ['procs', str(a.tasks)],
    'sparse': lambda a: ['sparse', str(a.sparse_gib), str(a.sparse_pages)],
    'small': lambda a: ['small', str(a.small_mib)],
}


def tree(pid):
    out = [pid]
    try:
        with open('/proc/%d/task/%d/children' % (pid, pid)) as f:
            kids = f.read().split()
    except FileNotFoundError:
        return out
    for c in kids:
        out += tree(int(c))
    return out


def reap_all(pids, what):
    """Kill what is left of pids and reap everything that is ours."""
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
        time.sleep(0.005)
    if left:
        sys.exit('tasks.py: %s: pids %s did not go away' % (what, sorted(left)[:10]))


def run_criu(binary, args, logdir):
    t0 = time.monotonic()
    p = subprocess.Popen([binary] + args, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    _, status, ru = os.wait4(p.pid, 0)
    secs = time.monotonic() - t0
    out = p.stdout.read().decode(errors='replace')
    p.stdout.close()
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode:
        sys.exit('tasks.py: %s %s failed: %s (logs in %s)' % (binary, args[0], out, logdir))
    return secs, ru.ru_utime + ru.ru_stime


def wait_file(path, proc=None, secs=30):
    deadline = time.monotonic() + secs
    while not os.path.exists(path):
        if proc is not None and proc.poll() is not None:
            sys.exit('tasks.py: manytasks exited with %d' % proc.returncode)
        if time.monotonic() > deadline:
            sys.exit('tasks.py: no %s' % path)
        time.sleep(0.005)


def check(case, a, pid, work):
    """The restored tree: same shape, memory intact."""
    if case == 'threads':
        n = len(os.listdir('/proc/%d/task' % pid))
        return 'PASS' if n == a.tasks else 'FAIL threads=%d' % n
    if case == 'procs':
        n = len(tree(pid))
        return 'PASS' if n == a.tasks else 'FAIL procs=%d' % n
    res = os.path.join(work, 'pid.res')
    if os.path.exists(res):
        os.unlink(res)
    os.kill(pid, signal.SIGUSR1)
    wait_file(res)
    with open(res) as f:
        return f.read().strip()


def one(case, a, binary, work):
    img = tempfile.mkdtemp(prefix='img-', dir=work)
    pidfile = os.path.join(work, 'pid')
    for f in (pidfile, pidfile + '.res'):
        if os.path.exists(f):
            os.unlink(f)
    target = subprocess.Popen([a.manytasks] + CASES[case](a) + [pidfile],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    wait_file(pidfile, target)
    time.sleep(0.05)
    pids = tree(target.pid)
    subprocess.run(['sync'])
    dump = run_criu(binary, ['dump', '-t', str(target.pid), '-D', img, '-o', 'dump.log',
                             '-v%d' % a.verbosity], img)
    target.wait()
    reap_all(pids, 'dumped tree')
    subprocess.run(['sync'])
    rst = run_criu(binary, ['restore', '-d', '-D', img, '-o', 'restore.log',
                            '-v%d' % a.verbosity], img)
    verdict = check(case, a, target.pid, work)
    reap_all(tree(target.pid), 'restored tree')
    if a.keep:
        print('kept', img)
    else:
        shutil.rmtree(img, ignore_errors=True)
    return dump, rst, verdict


def fmt(xs):
    return '%8.3f %8.3f' % (statistics.median(xs), min(xs))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--criu', default=os.path.join(ROOT, 'build/criu/criu'))
    ap.add_argument('--base', help='a second criu, measured in the same run')
    ap.add_argument('--manytasks', default=os.path.join(ROOT, 'build/bench/manytasks'))
    ap.add_argument('--cases', default='threads,procs,sparse,small')
    ap.add_argument('--tasks', type=int, default=400)
    ap.add_argument('--sparse-gib', type=int, default=64)
    ap.add_argument('--sparse-pages', type=int, default=256)
    ap.add_argument('--small-mib', type=int, default=16)
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--dir', default='/var/tmp')
    ap.add_argument('--keep', action='store_true')
    ap.add_argument('-v', '--verbosity', type=int, default=4, help="criu's log level")
    a = ap.parse_args()

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    os.nice(-10)
    bins = [('new', a.criu)] + ([('base', a.base)] if a.base else [])
    work = tempfile.mkdtemp(prefix='tasks-bench-', dir=a.dir)
    res = {}
    try:
        for case in a.cases.split(','):
            for run in range(a.runs):
                order = bins if run % 2 == 0 else bins[::-1]
                for name, binary in order:
                    res.setdefault((case, name), []).append(one(case, a, binary, work))
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    print('load %s; %d runs; -v%d; tasks %d, sparse %d GiB/%d pages, small %d MiB' %
          (open('/proc/loadavg').read().split()[0], a.runs, a.verbosity, a.tasks,
           a.sparse_gib, a.sparse_pages, a.small_mib))
    print('%-8s %-4s | %-17s %-8s | %-17s %-8s | %s' %
          ('case', 'bin', 'dump med/min s', 'dump CPU', 'restore med/min s', 'rst CPU',
           'check'))
    for (case, name), r in res.items():
        print('%-8s %-4s | %s %8.3f | %s %8.3f | %s' %
              (case, name, fmt([x[0][0] for x in r]), statistics.median(x[0][1] for x in r),
               fmt([x[1][0] for x in r]), statistics.median(x[1][1] for x in r),
               ','.join(sorted(set(x[2] for x in r)))))
        print('    every run: dump %s; restore %s' %
              (' '.join('%.3f' % x[0][0] for x in r), ' '.join('%.3f' % x[1][0] for x in r)))


if __name__ == '__main__':
    main()
