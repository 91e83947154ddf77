#!/usr/bin/env python3
"""Frozen time of the final dump after pre-dumps, for a process that keeps
dirtying memory.  See bench/README.md ("pre-dump").

Usage: sudo bench/predump.py [--size-mib 1024] [--rate-mib 10] [--runs 3]
                             [--interval 1.0] [--dir /var/tmp] [--criu PATH]

Each run: start the dirtier, pre-dump (d1), wait INTERVAL, pre-dump (d2,
--prev-images-dir ../d1), wait INTERVAL, dump (d3, --prev-images-dir ../d2
--track-mem).  For comparison, a plain `dump --leave-running` of a second
dirtier of the same size.  Prints frozen times (stats-dump) and pages
written, medians and every run.  Figures only, never a verdict.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def stats(d):
    p = subprocess.run(['crit', 'show', os.path.join(d, 'stats-dump')],
                       stdout=subprocess.PIPE, check=True)
    return json.loads(p.stdout)['entries'][0]['dump']


def criu(a, *args):
    d = args[args.index('-D') + 1]
    p = subprocess.run([a.criu] + list(args) + ['-v4', '-o', args[0] + '.log'],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode:
        log = open(os.path.join(d, args[0] + '.log')).read().splitlines()[-10:]
        sys.exit('criu %s failed: %s\n%s' % (args[0], p.stdout.decode(), '\n'.join(log)))


def start(a, work, name):
    ready = os.path.join(work, name + '.ready')
    p = subprocess.Popen([os.path.join(work, 'dirtier'), str(a.size_mib), str(a.rate_mib),
                          ready], start_new_session=True)
    while not os.path.exists(ready):
        time.sleep(0.05)
    return p


def prep(a, base, mib):
    """As bench.py before a timed step: flush, then write and unlink a file
    so the dump's page cache gets pages freed a moment ago, not pages the
    VM gave back to the host (each costs a host fault when touched again)."""
    os.sync()
    if not a.prep_mib:
        return
    path = os.path.join(base, 'prep.bin')
    buf = b'\x5a' * (16 << 20)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(mib // 16):
            os.write(fd, buf)
    finally:
        os.close(fd)
        os.unlink(path)


def one_run(a, work, i):
    base = os.path.join(work, 'run%d' % i)
    os.makedirs(base)
    p = start(a, work, 'run%d' % i)
    d = lambda n: os.path.join(base, n)
    criu(a, 'pre-dump', '-t', str(p.pid), '-D', d('d1'))
    time.sleep(a.interval)
    criu(a, 'pre-dump', '-t', str(p.pid), '-D', d('d2'), '--prev-images-dir', '../d1')
    t0 = time.monotonic()
    prep(a, base, a.prep_mib)
    time.sleep(max(0.0, a.interval - (time.monotonic() - t0)))
    criu(a, 'dump', '-t', str(p.pid), '-D', d('d3'), '--prev-images-dir', '../d2',
         '--track-mem')
    p.wait()
    r = {n: stats(d(n)) for n in ('d1', 'd2', 'd3')}
    q = start(a, work, 'full%d' % i)
    prep(a, base, a.size_mib + a.prep_mib)
    criu(a, 'dump', '-t', str(q.pid), '-D', d('full'), '--leave-running')
    q.kill()
    q.wait()
    r['full'] = stats(d('full'))
    shutil.rmtree(base, ignore_errors=True)
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--size-mib', type=int, default=1024)
    ap.add_argument('--rate-mib', type=int, default=10)
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--interval', type=float, default=1.0)
    ap.add_argument('--dir', default='/var/tmp')
    ap.add_argument('--criu', default=os.path.join(REPO, 'build/criu/criu'))
    ap.add_argument('--prep-mib', type=int, default=512,
                    help='file written and unlinked before the final dumps '
                    '(untimed; 0: none)')
    ap.add_argument('--json', metavar='FILE', help='also write the figures to FILE')
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix='predump-bench-', dir=a.dir)
    try:
        subprocess.run(['cc', '-O2', '-o', os.path.join(work, 'dirtier'),
                        os.path.join(HERE, 'dirtier.c')], check=True)
        print('pre-dump bench: %d MiB, %d MiB/s dirtied, %.1f s between steps, %d runs, '
              'load %s' % (a.size_mib, a.rate_mib, a.interval, a.runs,
                           open('/proc/loadavg').read().split()[0]))
        runs = [one_run(a, work, i) for i in range(a.runs)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print('%-34s %10s %10s  %s' % ('step', 'frozen ms', 'MiB saved', 'every run (frozen ms)'))
    for key, label in (('d1', 'pre-dump'), ('d2', 'pre-dump, after the first'),
                       ('d3', 'final dump, after the pre-dumps'),
                       ('full', 'plain dump --leave-running')):
        fz = [r[key]['frozen_time'] / 1000 for r in runs]
        mb = [r[key]['pages_written'] * 4096 / (1 << 20) for r in runs]
        print('%-34s %10.1f %10.1f  %s' % (label, statistics.median(fz), statistics.median(mb),
                                           ' '.join('%.1f' % x for x in fz)))
    if a.json:
        with open(a.json, 'w') as f:
            json.dump({'size_mib': a.size_mib, 'rate_mib': a.rate_mib, 'runs': runs}, f)


if __name__ == '__main__':
    main()
