#!/usr/bin/env python3
"""Iterative dumps with write tracking (criu pre-dump, dump --prev-images-dir
--track-mem) checked byte for byte.  See test/predump/README.md.

Usage: test/predump/run.py [--criu PATH] [-f h|rootless]... [--keep]   (as root)

Prints `PASS case flavor`, `FAIL case flavor: why` or `SKIP ...` per case and
exits non-zero if any case failed.  Whatever still runs with the work
directory in its command line (targets, keepers) is killed at the end.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PY = '/usr/bin/python3'
CRIT = '/usr/bin/crit'
NOBODY = 65534
MIB = 1 << 20
TIMEOUT = 30


class Fail(Exception):
    pass


class Skip(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def wait_for(what, cond, timeout=TIMEOUT):
    end = time.time() + timeout
    while time.time() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.02)
    raise Fail('timed out waiting for ' + what)


def read(path, default=None):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def alive(pid):
    st = read('/proc/%d/stat' % pid)
    return st is not None and st.rsplit(')', 1)[1].split()[0] != 'Z'


def reap(pid):
    """Wait until pid is gone, reaping it if it is our child (or we are init)."""
    def gone():
        try:
            os.waitpid(-1 if os.getpid() == 1 else pid, os.WNOHANG)
        except ChildProcessError:
            pass
        return not os.path.exists('/proc/%d' % pid) or None
    wait_for('pid %d to exit' % pid, gone)


def fd_table(pid):
    d = '/proc/%d/fd' % pid
    out = {}
    for fd in os.listdir(d):
        try:
            out[fd] = os.readlink(os.path.join(d, fd))
        except OSError:
            pass
    return out


def task_view(pid):
    return fd_table(pid), read('/proc/%d/maps' % pid)


class Scenario:
    def __init__(self, criu, work):
        self.criu = criu
        self.work = work
        self.target = os.path.join(work, 'target')
        self.pid = None
        self.proc = None

    def criu_run(self, *args, ok=True, env=None):
        log = args[args.index('-D') + 1] if '-D' in args else self.work
        cmd = [self.criu] + list(args) + ['-v4', '-o', args[0] + '.log']
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=TIMEOUT,
                           env=dict(os.environ, **(env or {})))
        if ok and p.returncode:
            tail = (read(os.path.join(log, args[0] + '.log'), '') or '').splitlines()[-8:]
            raise Fail('%s failed (%d): %s\n  %s' % (' '.join(args[:1]), p.returncode,
                       p.stdout.decode(errors='replace').strip(), '\n  '.join(tail)))
        return p

    def start(self, name, mib, busy=False):
        self.tdir = os.path.join(self.work, name)
        os.mkdir(self.tdir)
        out = open(os.path.join(self.tdir, 'out'), 'wb')
        self.proc = subprocess.Popen([self.target, self.tdir, str(mib)] +
                                     (['busy'] if busy else []),
                                     stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                     start_new_session=True)
        self.pid = self.proc.pid
        self.round = 0
        self.wait_round(0)

    def wait_round(self, r):
        wait_for('round %d of the target' % r,
                 lambda: read(os.path.join(self.tdir, 'round')) == str(r))

    def next_round(self):
        self.round += 1
        os.kill(self.pid, signal.SIGUSR1)
        self.wait_round(self.round)

    def img(self, d):
        return os.path.join(self.tdir, d)

    def pre_dump(self, d, prev=None):
        before = task_view(self.pid)
        args = ['pre-dump', '-t', str(self.pid), '-D', self.img(d)]
        if prev:
            args += ['--prev-images-dir', '../' + prev]
        self.criu_run(*args)
        after = task_view(self.pid)
        check(before[0] == after[0], 'pre-dump changed the fd table: %s -> %s' %
              (before[0], after[0]))
        check(before[1] == after[1], 'pre-dump changed the mappings:\n%s\n%s' %
              (before[1], after[1]))
        check(alive(self.pid), 'the target does not run after pre-dump')

    def dump(self, d, prev):
        self.criu_run('dump', '-t', str(self.pid), '-D', self.img(d),
                      '--prev-images-dir', '../' + prev, '--track-mem')
        self.proc.wait(timeout=TIMEOUT)

    def restore_and_check(self, d, expect='PASS'):
        res = os.path.join(self.tdir, 'result')
        if os.path.exists(res):
            os.unlink(res)
        self.criu_run('restore', '-D', self.img(d), '-d')
        wait_for('the restored target', lambda: alive(self.pid))
        os.kill(self.pid, signal.SIGUSR2)
        got = wait_for('the target\'s check', lambda: read(res))
        reap(self.pid)
        check(got.startswith(expect), 'the restored target says %r, expected %s' %
              (got.strip(), expect))

    def pages_size(self, d):
        return sum(os.path.getsize(os.path.join(self.img(d), f))
                   for f in os.listdir(self.img(d)) if f.startswith('pages-'))

    def parent_runs(self, d):
        f = [x for x in os.listdir(self.img(d))
             if x.startswith('pagemap-') and 'shmem' not in x]
        n = 0
        for x in f:
            p = subprocess.run([CRIT, 'show', os.path.join(self.img(d), x)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            check(p.returncode == 0, 'crit cannot decode %s: %s' % (x, p.stderr.decode()))
            for e in json.loads(p.stdout)['entries'][1:]:
                if 'PE_PARENT' in str(e.get('flags', '')):
                    n += 1
        return n


def case_chain(s):
    """pre-dump, pre-dump, dump: each later image holds only what changed."""
    s.start('chain', 256)
    s.pre_dump('d1')
    s.next_round()
    s.pre_dump('d2', 'd1')
    s.next_round()
    s.dump('d3', 'd2')
    full, d2, d3 = s.pages_size('d1'), s.pages_size('d2'), s.pages_size('d3')
    # a round writes 1/16 of 256 MiB plus 12 MiB of new mappings
    changed = 16 * MIB + 12 * MIB
    for name, size in (('d2', d2), ('d3', d3)):
        check(size < full // 4, '%s holds %d MiB of pages: not only the changed ones (the '
              'full dump is %d MiB)' % (name, size // MIB, full // MIB))
        check(size >= changed * 9 // 10, '%s holds %d MiB of pages: fewer than the %d MiB '
              'written' % (name, size // MIB, changed // MIB))
    check(os.readlink(os.path.join(s.img('d3'), 'parent')) == '../d2', 'd3/parent is wrong')
    check(s.parent_runs('d3') > 0, 'd3 has no PE_PARENT runs')
    s.restore_and_check('d3')
    # the control: a page of the grandparent spoiled must be found
    with open(os.path.join(s.img('d1'), 'pages-1.img'), 'r+b') as f:
        f.seek(128 * MIB)
        f.write(b'\xa5' * MIB)
    s.restore_and_check('d3', expect='FAIL')
    return 'full %d MiB, then %d and %d MiB' % (full // MIB, d2 // MIB, d3 // MIB)


def case_lost(s):
    """The keeper is gone: the dump copies everything and says so."""
    s.start('lost', 64)
    s.pre_dump('d1')
    me = os.getpid()
    keepers = []
    for p in os.listdir('/proc'):
        if p.isdigit() and int(p) not in (me, s.pid):
            cl = read('/proc/%s/cmdline' % p, '') or ''
            if s.img('d1') in cl and 'pre-dump' in cl:
                keepers.append(int(p))
    check(len(keepers) == 1, 'expected one keeper, found %s' % keepers)
    check(not (set(fd_table(keepers[0]).values()) & set(fd_table(s.pid).values()) -
               {'/dev/null'}), 'the keeper holds a file of the target')
    os.kill(keepers[0], signal.SIGKILL)
    s.next_round()
    s.dump('d2', 'd1')
    check(s.pages_size('d2') >= 64 * MIB, 'without tracking d2 holds only %d MiB' %
          (s.pages_size('d2') // MIB))
    check('write tracking lost' in (read(os.path.join(s.img('d2'), 'dump.log')) or ''),
          'the dump did not log the lost tracking')
    s.restore_and_check('d2')


def case_leave(s):
    """dump -R --track-mem keeps tracking for the next dump, as pre-dump does."""
    s.start('leave', 128)
    s.criu_run('dump', '-t', str(s.pid), '-D', s.img('d1'), '-R', '--track-mem')
    check(os.path.exists(os.path.join(s.img('d1'), 'track-sock')), 'dump -R left no track-sock')
    s.next_round()
    s.dump('d2', 'd1')
    full, d2 = s.pages_size('d1'), s.pages_size('d2')
    check(d2 < full // 4, 'd2 holds %d MiB of pages of %d' % (d2 // MIB, full // MIB))
    s.restore_and_check('d2')
    return 'full %d MiB, then %d MiB' % (full // MIB, d2 // MIB)


def case_busy(s):
    """A thread writes all the time, also while a pre-dump copies."""
    s.start('busy', 128, busy=True)
    s.pre_dump('d1')
    s.next_round()
    s.pre_dump('d2', 'd1')
    s.next_round()
    s.dump('d3', 'd2')
    full, d3 = s.pages_size('d1'), s.pages_size('d3')
    check(d3 < full, 'd3 holds all %d MiB' % (full // MIB))
    check(s.parent_runs('d3') > 0, 'd3 has no PE_PARENT runs')
    s.restore_and_check('d3')
    return 'full %d MiB, then %d MiB' % (full // MIB, d3 // MIB)


def others_with(s, d):
    me = os.getpid()
    return [int(p) for p in os.listdir('/proc') if p.isdigit() and int(p) not in (me, s.pid)
            and d in (read('/proc/%s/cmdline' % p, '') or '')]


def case_faults(s):
    """A pre-dump failing at any injected point leaves the target as it was."""
    s.start('faults', 16)
    count = os.path.join(s.tdir, 'count')
    s.criu_run('pre-dump', '-t', str(s.pid), '-D', s.img('c'), env={'CRIU_FAULT_COUNT': count})
    passes = {}
    for line in read(count, '').splitlines():
        name, n = line.split()
        if int(n):
            passes[name] = int(n)
    for k in others_with(s, s.img('c')):
        os.kill(k, signal.SIGKILL)
    tried, scratch_left = 0, []
    for name, n in sorted(passes.items()):
        for i in range(1, min(n, 6) + 1):
            d = s.img('f-%s-%d' % (name, i))
            before = task_view(s.pid)
            p = s.criu_run('pre-dump', '-t', str(s.pid), '-D', d, ok=False,
                           env={'CRIU_FAULT': '%s:%d' % (name, i)})
            tried += 1
            after = task_view(s.pid)
            check(alive(s.pid), 'the target is gone after %s:%d' % (name, i))
            check(after[0] == before[0], 'after %s:%d the fd table changed: %s -> %s' %
                  (name, i, before[0], after[0]))
            # infect.c's limit, not ours: a failed munmap of its scratch area
            if 'cannot unmap the scratch area' in (read(os.path.join(d, 'pre-dump.log')) or ''):
                scratch_left.append('%s:%d' % (name, i))
            else:
                check(after[1] == before[1], 'after %s:%d the maps changed' % (name, i))
            if p.returncode:
                check(not others_with(s, d), 'a failed pre-dump (%s:%d) left a keeper' %
                      (name, i))
            else:
                for k in others_with(s, d):
                    os.kill(k, signal.SIGKILL)
    # the memory is still right, and tracking still works from a fresh start
    s.pre_dump('d1')
    s.next_round()
    s.dump('d2', 'd1')
    s.restore_and_check('d2')
    return '%d injected faults%s' % (tried, '; scratch area left by %s' % ' '.join(scratch_left)
                                     if scratch_left else '')


CASES = [('chain', case_chain), ('lost', case_lost), ('leave', case_leave), ('busy', case_busy),
         ('faults', case_faults)]


def kill_tagged(work):
    me = os.getpid()
    for p in os.listdir('/proc'):
        if p.isdigit() and int(p) != me and work in (read('/proc/%s/cmdline' % p, '') or ''):
            try:
                os.kill(int(p), signal.SIGKILL)
            except OSError:
                pass


def run_cases(criu, work, flavor):
    failed = 0
    for name, fn in CASES:
        s = Scenario(criu, work)
        try:
            t0 = time.time()
            info = fn(s)
            print('PASS %s %s (%.1f s)%s' % (name, flavor, time.time() - t0,
                                           ': ' + info if info else ''), flush=True)
        except Skip as e:
            print('SKIP %s %s: %s' % (name, flavor, e), flush=True)
        except Exception as e:
            failed += 1
            print('FAIL %s %s: %s' % (name, flavor, e), flush=True)
        finally:
            kill_tagged(work)
    return failed


def inner(args):
    return run_cases(args.criu, args.work, args.flavor)


def outer(args):
    if os.getuid() != 0:
        print('run as root')
        return 2
    criu = os.path.abspath(args.criu)
    if subprocess.run([criu, 'check', '--feature', 'mem_dirty_track'],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode:
        print('SKIP all: criu check --feature mem_dirty_track says no')
        return 0
    failed = 0
    for flavor in args.flavor or ['h', 'rootless']:
        work = tempfile.mkdtemp(prefix='predump-%s-' % flavor)
        os.chmod(work, 0o777)
        subprocess.run(['cc', '-O2', '-Wall', '-pthread', '-o', os.path.join(work, 'target'),
                        os.path.join(HERE, 'target.c')], check=True)
        if flavor == 'h':
            failed += run_cases(criu, work, flavor)
        else:
            cmd = ['setpriv', '--reuid=%d' % NOBODY, '--regid=%d' % NOBODY, '--clear-groups',
                   '--', 'unshare', '--user', '--map-root-user', '--pid', '--fork',
                   '--kill-child', '--mount-proc', '--mount', '--uts', '--ipc',
                   PY, os.path.abspath(__file__), '_inner', '--criu', criu,
                   '--work', work, '--flavor', flavor]
            p = subprocess.run(cmd, cwd=work, timeout=120)
            failed += p.returncode != 0
        kill_tagged(work)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print('kept', work)
    print('%s' % ('all passed' if not failed else '%d failed' % failed))
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('mode', nargs='?', default='outer')
    ap.add_argument('--criu', default=os.path.join(REPO, 'build/criu/criu'))
    ap.add_argument('-f', '--flavor', action='append')
    ap.add_argument('--work')
    ap.add_argument('--keep', action='store_true')
    args = ap.parse_args()
    if args.mode == '_inner':
        args.flavor = args.flavor[0]
        return 1 if inner(args) else 0
    return outer(args)


if __name__ == '__main__':
    sys.exit(main())
