#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Images in CRIU's form: what our restore takes and what it refuses.

Runs the zdtm test criu_images00 (host flavor: dump, images rewritten as
CRIU writes them, restore, the test checks its memory), then restores
copies of its images edited the way CRIU's other dumps look, each of which
must be refused with a one-line reason and nothing left running:

  parent:  a pagemap entry with PE_PARENT (a dump on top of a pre-dump)
           in a directory with no parent link;
  lazy:    a pagemap entry with PE_LAZY but no PE_PRESENT (a lazy dump
           whose pages stayed with a page server).

One line per case, PASS or FAIL, then `N passed, N failed`.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import criu_images  # noqa: E402

TEST = 'criu_images00'
IMGDIR = os.path.join(REPO, 'test', 'zdtm', 'out', TEST, 'h', 'img')


def run_zdtm(criu):
    p = subprocess.run([sys.executable, os.path.join(REPO, 'test', 'zdtm.py'),
                        'run', '-t', TEST, '-f', 'h', '--criu', criu],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.decode('utf-8', 'replace').strip().splitlines()
    lines = [l for l in out if l.startswith(('PASS', 'FAIL', 'SKIP'))]
    return p.returncode == 0, lines[-1] if lines else (out[-1] if out else '')


def edit_first_entry(imgdir, flags):
    for name in sorted(os.listdir(imgdir)):
        if name.startswith('pagemap-') and not name.startswith(
                'pagemap-shmem-') and name.endswith('.img'):
            path = os.path.join(imgdir, name)
            pm = criu_images.crit_json(path)
            pm['entries'][1]['flags'] = flags
            criu_images.crit_encode(pm, path)
            return int(criu_images.num(pm['entries'][1]['vaddr']))
    raise RuntimeError('no pagemap image in %s' % imgdir)


def pids_of(imgdir):
    ps = criu_images.crit_json(os.path.join(imgdir, 'pstree.img'))
    return [e['pid'] for e in ps['entries']]


def refused(criu, imgdir, flags, want):
    """Restores a copy with the first entry's flags set; must be refused."""
    tmp = tempfile.mkdtemp(prefix='criu-interchange-')
    try:
        copy = os.path.join(tmp, 'img')
        shutil.copytree(imgdir, copy)
        addr = edit_first_entry(copy, flags)
        p = subprocess.run([criu, 'restore', '-D', copy, '-d', '-o',
                            'restore.log', '-v4'],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60)
        err = p.stderr.decode('utf-8', 'replace').strip().splitlines()
        if p.returncode == 0:
            return 'restore succeeded'
        if len(err) != 1 or want not in err[0] or '%x' % addr not in err[0]:
            return 'stderr is %r, not one line with %r and %x' % (err, want,
                                                                 addr)
        left = [pid for pid in pids_of(copy)
                if os.path.exists('/proc/%d' % pid)]
        if left:
            return 'pids %s exist after the failed restore' % left
        return None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--criu', default=os.path.join(REPO, 'build', 'criu',
                                                    'criu'))
    args = ap.parse_args()
    criu = os.path.abspath(args.criu)
    results = []
    ok, line = run_zdtm(criu)
    results.append(('restore of CRIU-form images (%s)' % TEST,
                    None if ok else line))
    if ok:
        errs = []
        criu_images.check_explore(IMGDIR, errs)
        results.append(('crit x on CRIU-form images', '; '.join(errs) or None))
        results.append(('parent', refused(criu, IMGDIR, 'PE_PARENT',
                                          'is in the parent image, but the parent '
                                          'link cannot be opened')))
        results.append(('lazy', refused(criu, IMGDIR, 'PE_LAZY',
                                        'are not in the image')))
    failed = 0
    for name, why in results:
        if why:
            failed += 1
            print('FAIL %s: %s' % (name, why))
        else:
            print('PASS %s' % name)
    print('%d passed, %d failed' % (len(results) - failed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
