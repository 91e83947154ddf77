#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The bench table: criu dump/restore at several sizes against plain I/O.

Runs bench.py once per size (256 MiB, 1 GiB, 4 GiB by default) and at
16 MiB for the fixed cost, and predump.py at 1 GiB, each with its own
baselines measured in the same run; then prints one short table of
medians.  The full output of every script is kept in the work dir's
*.txt files (printed at the end).  Figures only: nothing fails on a time.
See bench/README.md.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MIB = 1 << 20
GIB = 1 << 30


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def loadavg():
    with open('/proc/loadavg') as f:
        return ' '.join(f.read().split()[:3])


def mem_available():
    with open('/proc/meminfo') as f:
        for line in f:
            if line.startswith('MemAvailable:'):
                return int(line.split()[1]) * 1024
    return 0


def room_for(size_mib, d):
    """Memory and disk for one bench.py run of size_mib: the target, the
    restored task, the baseline's buffer and page cache for the images,
    the baseline file and the prep file."""
    need = 3 * size_mib * MIB + 2 * GIB
    st = os.statvfs(d)
    disk = st.f_bavail * st.f_frsize
    mem = mem_available()
    if mem < need or disk < need:
        return 'needs %.1f GiB of memory and disk, has %.1f GiB available ' \
            'and %.1f GiB free' % (need / GIB, mem / GIB, disk / GIB)
    return None


def run_script(argv, out_path, what):
    log('%s: %s' % (what, ' '.join(argv)))
    t0 = time.monotonic()
    with open(out_path, 'w') as out:
        p = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT)
    log('  ... %.0f s, exit %d (output in %s)' % (time.monotonic() - t0,
                                                  p.returncode, out_path))
    return p.returncode


def med(v):
    return statistics.median(v) if v else None


def ms(v):
    return '-' if v is None else '%.1f ms' % (v * 1e3)


def secs(v):
    return '-' if v is None else '%.3f s' % v


def ratio(a, b):
    return '-' if a is None or not b else '%.2fx' % (a / b)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--sizes', default='256,1024,4096',
                    help='touched memory sizes in MiB (default 256,1024,4096)')
    ap.add_argument('--runs', type=int, default=3,
                    help='repetitions of each comparison (default 3)')
    ap.add_argument('--dir', default='/var/tmp',
                    help='where images and baseline files go (default /var/tmp)')
    ap.add_argument('--fixed-mib', type=int, default=16,
                    help='size of the fixed-cost dump (default 16)')
    ap.add_argument('--no-predump', action='store_true',
                    help='skip the final-dump-after-pre-dump row')
    ap.add_argument('--criu', default=os.path.join(ROOT, 'build/criu/criu'))
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit('bench: run as root')
    sizes = [int(x) for x in args.sizes.split(',') if x]
    p = subprocess.run(['ninja', '-C', os.path.join(ROOT, 'build'), 'bench/memhog'],
                       capture_output=True, text=True)
    if p.returncode:
        sys.stderr.write(p.stdout + p.stderr)
        raise SystemExit('bench: cannot build bench/memhog')
    work = tempfile.mkdtemp(prefix='criu-bench-table.', dir=args.dir)
    load0 = loadavg()
    t0 = time.monotonic()
    res, skipped, failed = {}, {}, []
    bench = [sys.executable, os.path.join(HERE, 'bench.py'), '--no-build',
             '--criu', args.criu, '--dir', args.dir]
    for size in [args.fixed_mib] + sizes:
        why = room_for(size, args.dir)
        if why:
            skipped[size] = why
            log('%d MiB: skipped: %s' % (size, why))
            continue
        js = os.path.join(work, 'bench-%d.json' % size)
        runs = max(args.runs, 5) if size == args.fixed_mib else args.runs
        rc = run_script(bench + ['--size-mib', str(size), '--runs', str(runs),
                                 '--json', js],
                        os.path.join(work, 'bench-%d.txt' % size), '%d MiB' % size)
        if os.path.exists(js):
            with open(js) as f:
                res[size] = json.load(f)
        if rc:
            failed.append('bench.py --size-mib %d exited %d' % (size, rc))
    pd = None
    if not args.no_predump:
        js = os.path.join(work, 'predump.json')
        rc = run_script([sys.executable, os.path.join(HERE, 'predump.py'),
                         '--size-mib', '1024', '--rate-mib', '10', '--runs',
                         str(args.runs), '--dir', args.dir, '--criu', args.criu,
                         '--json', js],
                        os.path.join(work, 'predump.txt'), 'pre-dump 1 GiB')
        if os.path.exists(js):
            with open(js) as f:
                pd = json.load(f)
        if rc:
            failed.append('predump.py exited %d' % rc)
    report(args, sizes, res, pd, skipped, failed, load0, time.monotonic() - t0, work)
    return 1 if failed else 0


def sample(res, size, key):
    r = res.get(size)
    return (r or {}).get('samples', {}).get(key, [])


def report(args, sizes, res, pd, skipped, failed, load0, took, work):
    w = 26
    print('criu-cr bench: medians of %d runs (fixed cost: %d or more); load %s at '
          'start, %s at end; %.0f s' % (args.runs, max(args.runs, 5), load0,
                                        loadavg(), took))
    print('each cell: criu / baseline (ratio), both measured in the same run\n')
    head = '%-34s' % 'row' + ''.join('%-*s' % (w, '%d MiB' % s if s < 1024 else
                                               '%g GiB' % (s / 1024)) for s in sizes)
    print(head + 'target')

    def line(name, cell, target):
        cells = []
        for s in sizes:
            if s in skipped:
                cells.append('skipped')
            elif s not in res:
                cells.append('-')
            else:
                cells.append(cell(s))
        print('%-34s' % name + ''.join('%-*s' % (w, c) for c in cells) + target)

    def vs(key, base):
        def cell(s):
            a, b = med(sample(res, s, key)), med(sample(res, s, base))
            return '%s / %s (%s)' % (secs(a), secs(b), ratio(a, b))
        return cell

    line('dump wall vs plain write', vs('dump', 'write-baseline'), '<= 1.1x')
    line('dump wall vs write+fdatasync', vs('dump', 'write-sync-baseline'), '(fair: both sync)')

    def frozen(s):
        a, b = med(sample(res, s, 'frozen_time')), med(sample(res, s, 'memcpy'))
        if a is None or b is None:
            return '-'
        return '%s / %s (+%.0f)' % (ms(a), ms(b), (a - b) * 1e3)
    line('dump -R frozen vs memcpy', frozen, '<= memcpy + 20 ms')
    line('eager restore vs read', vs('restore', 'read-baseline'), '<= 1.1x')

    def rss(s):
        d = sample(res, s, 'dump-rss')
        r = sample(res, s, 'restore-rss')
        if not d:
            return '-'
        return 'dump %.1f, rst %.1f MiB' % (max(d) / MIB, max(r or [0]) / MIB)
    line('criu peak RSS (max of runs)', rss, '<= 32 MiB')

    if pd and pd.get('runs'):
        fz = [r['d3']['frozen_time'] / 1e6 for r in pd['runs']]
        mb = [r['d3']['pages_written'] * 4096 / MIB for r in pd['runs']]
        cells = ['%s (%.1f MiB written)' % (ms(med(fz)), med(mb)) if s == 1024 else ''
                 for s in sizes]
        print('%-34s' % 'final dump frozen after pre-dump' +
              ''.join('%-*s' % (w, c) for c in cells) + '<= 50 ms')
    f = args.fixed_mib
    if f in res:
        a, b = med(sample(res, f, 'dump')), med(sample(res, f, 'write-baseline'))
        print('%-34s%s' % ('fixed cost: dump of %d MiB' % f,
                           '%s / %s write (criu %.1f ms more)' % (
                               ms(a), ms(b), (a - b) * 1e3)) +
              '   target <= 30 ms')
    elif f in skipped:
        print('fixed cost: skipped: %s' % skipped[f])

    print('\nspread (every run, criu then baseline):')
    for s in [f] + sizes:
        if s not in res:
            continue
        for key, base in (('dump', 'write-baseline'), ('frozen_time', 'memcpy'),
                          ('restore', 'read-baseline')):
            a, b = sample(res, s, key), sample(res, s, base)
            if a:
                print('  %5d MiB %-12s %s | %s' % (
                    s, key, ' '.join('%.3f' % x for x in a),
                    ' '.join('%.3f' % x for x in b)))
    if pd and pd.get('runs'):
        print('  final dump frozen (ms): %s; pre-dumps: %s' % (
            ' '.join('%.1f' % (r['d3']['frozen_time'] / 1e3) for r in pd['runs']),
            ' '.join('%.1f/%.1f' % (r['d1']['frozen_time'] / 1e3,
                                    r['d2']['frozen_time'] / 1e3) for r in pd['runs'])))
    print('\nbaselines: plain write = write() of a populated buffer in 64 MiB calls into the '
          'image dir,\n  no sync (write+fdatasync: the same, until fdatasync returns; '
          'a killing dump\n  syncs its images before inventory.img); memcpy = one memcpy '
          'between populated\n  buffers; read = read() of the pages image into fresh '
          'anonymous memory.')
    for s, why in skipped.items():
        print('note: %d MiB skipped: %s' % (s, why))
    for s in sizes:
        if s in res and res[s].get('failed'):
            print('note: %d MiB stopped early: %s' % (s, res[s]['failed']))
    for msg in failed:
        print('FAILED: ' + msg)
    print('full output of each script: %s/*.txt' % work)


if __name__ == '__main__':
    sys.exit(main())
