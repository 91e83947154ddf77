#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Measure criu dump/restore of a 1 GiB process against plain-I/O baselines.

Every figure comes from this one run: each comparison is made back to back
and repeated --runs times; the table gives median and min.  Nothing here
passes or fails on a time.  See bench/README.md.
"""

import argparse
import ctypes
import json
import os
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GIB = 1024 ** 3
MIB = 1024 ** 2
PR_SET_CHILD_SUBREAPER = 36


class BenchError(Exception):
    pass


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Bench:
    def __init__(self, args):
        self.args = args
        self.criu = args.criu
        self.memhog = args.memhog
        self.size = args.size_mib * MIB
        self.work = None
        self.live = set()       # pids of our children we must not leave behind
        self.samples = {}       # name -> [values]
        self.notes = []
        self.criu_id = None
        self.reaped = {}        # pid -> wait status, reaped in run_criu
        self.reaped_at = {}     # pid -> seconds after criu's start

    # ---- processes ------------------------------------------------------

    def spawn(self, argv, out_path):
        """posix_spawn argv with stdin /dev/null, stdout+stderr to out_path."""
        acts = [
            (os.POSIX_SPAWN_OPEN, 0, '/dev/null', os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, out_path,
             os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ]
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=acts)
        self.live.add(pid)
        return pid

    def wait(self, pid, timeout):
        """Reap our child pid; return (status, rusage) or None on timeout."""
        fd = os.pidfd_open(pid)
        try:
            r, _, _ = select.select([fd], [], [], timeout)
        finally:
            os.close(fd)
        if not r:
            return None
        _, status, ru = os.wait4(pid, 0)
        self.live.discard(pid)
        return status, ru

    def kill_and_reap(self, pid):
        if pid not in self.live:
            return
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        self.live.discard(pid)

    def run_criu(self, argv, logfile, what, reap=None):
        """Run criu, timed; return (seconds, rusage).  Raise on failure.

        reap: a child of ours (the dump target) to reap the moment it dies
        while criu runs, as an attentive parent would; its wait status is
        put in self.reaped[pid].
        """
        out = os.path.join(self.work, 'criu.out')
        rfd = os.pidfd_open(reap) if reap else None
        t0 = time.monotonic()
        pid = self.spawn([self.criu] + argv, out)
        cfd = os.pidfd_open(pid)
        res = None
        polling = False     # target exited but not yet reapable
        try:
            deadline = t0 + self.args.timeout
            while True:
                fds = [cfd] + ([rfd] if rfd is not None and not polling
                               else [])
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                r = select.select(fds, [], [],
                                  min(left, 0.005) if polling else left)[0]
                if rfd is not None and (polling or rfd in r):
                    # A dead task still ptraced is reaped by its tracer
                    # first; until criu lets go, waitpid gives nothing.
                    got, st = os.waitpid(reap, os.WNOHANG)
                    if got:
                        self.reaped[reap] = st
                        self.reaped_at[reap] = time.monotonic() - t0
                        self.live.discard(reap)
                        os.close(rfd)
                        rfd = None
                        polling = False
                    else:
                        polling = True
                if cfd in r:
                    _, status, ru = os.wait4(pid, 0)
                    self.live.discard(pid)
                    res = (status, ru)
                    break
        finally:
            t1 = time.monotonic()
            os.close(cfd)
            if rfd is not None:
                os.close(rfd)
        if res is None:
            self.kill_and_reap(pid)
            self.fail_log(logfile, out)
            raise BenchError('%s: criu did not finish in %d s (killed it)' %
                             (what, self.args.timeout))
        status, ru = res
        if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
            self.fail_log(logfile, out)
            raise BenchError('%s: criu %s' % (what, describe_status(status)))
        return t1 - t0, ru

    def fail_log(self, logfile, out):
        for path in (out, logfile):
            try:
                with open(path, errors='replace') as f:
                    lines = f.readlines()
            except OSError as e:
                log('  (cannot read %s: %s)' % (path, e))
                continue
            log('---- last %d lines of %s ----' % (min(40, len(lines)), path))
            for line in lines[-40:]:
                log('  ' + line.rstrip('\n'))

    # ---- memhog ---------------------------------------------------------

    def start_memhog(self, tag, seed):
        pidfile = os.path.join(self.work, tag + '.pid')
        result = os.path.join(self.work, tag + '.result')
        err = os.path.join(self.work, tag + '.err')
        argv = [self.memhog, 'hog', '--size', str(self.args.size_mib),
                '--seed', str(seed), '--pidfile', pidfile, '--result', result]
        pid = self.spawn(argv, err)
        deadline = time.monotonic() + 120
        while not os.path.exists(pidfile):
            res = os.waitpid(pid, os.WNOHANG)
            if res[0]:
                self.live.discard(pid)
                raise BenchError('memhog %s before it was ready; %s' %
                                 (describe_status(res[1]), read(err).strip()))
            if time.monotonic() > deadline:
                raise BenchError('memhog did not become ready in 120 s')
            time.sleep(0.02)
        if int(read(pidfile)) != pid:
            raise BenchError('memhog pidfile says %s, spawned %d' %
                             (read(pidfile).strip(), pid))
        return pid, result

    def verify_memhog(self, pid, result, what):
        """SIGUSR1 the memhog and return its PASS/FAIL line."""
        if os.path.exists(result):
            os.unlink(result)
        os.kill(pid, signal.SIGUSR1)
        deadline = time.monotonic() + 120
        while not os.path.exists(result):
            if time.monotonic() > deadline:
                raise BenchError('%s: memhog %d wrote no result in 120 s '
                                 'after SIGUSR1 (state: %s)' %
                                 (what, pid, proc_state(pid)))
            if not os.path.exists('/proc/%d' % pid):
                raise BenchError('%s: memhog %d is gone' % (what, pid))
            time.sleep(0.02)
        return read(result).strip()

    def stop_memhog(self, pid, what):
        os.kill(pid, signal.SIGTERM)
        res = self.wait(pid, 30)
        if res is None:
            self.kill_and_reap(pid)
            raise BenchError('%s: memhog %d ignored SIGTERM for 30 s (killed)'
                             % (what, pid))
        status = res[0]
        if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
            raise BenchError('%s: memhog %d %s on SIGTERM' %
                             (what, pid, describe_status(status)))

    def helper(self, *argv):
        """Run a memhog baseline mode; return (seconds, bytes)."""
        p = subprocess.run([self.memhog] + list(argv), capture_output=True,
                           text=True, timeout=600)
        if p.returncode != 0:
            raise BenchError('memhog %s failed: %s' % (argv[0], p.stderr))
        f = p.stdout.split()
        return float(f[0]), int(f[1]), (float(f[2]) if len(f) > 2 else 0.0)

    # ---- bookkeeping ----------------------------------------------------

    def add(self, name, value):
        self.samples.setdefault(name, []).append(value)

    def quiesce(self):
        # Untimed: flush dirty pages so a timed step does not pay for the
        # writeback of the step before it ...
        os.sync()
        # ... and put both sides on the same footing for page allocation:
        # write a file and unlink it, so the step allocates pages freed a
        # moment ago.  Pages left free for a while are given back to the
        # host (free page reporting) and cost a host fault each when touched
        # again, which alone moves a 1 GiB write between 0.2 s and 2.5 s.
        if self.args.prep_mib:
            p = subprocess.run(
                [self.memhog, 'write', '--file',
                 os.path.join(self.work, 'prep.bin'),
                 '--size', str(self.args.prep_mib)],
                capture_output=True, text=True, timeout=600)
            if p.returncode != 0:
                raise BenchError('memhog write (prep) failed: %s' % p.stderr)

    # ---- one repetition -------------------------------------------------

    def one_run(self, i):
        a = self.args
        run = os.path.join(self.work, 'run%d' % i)
        img = os.path.join(run, 'img')
        os.makedirs(img)
        criu_first = (i % 2 == 1)   # alternate the order to cancel drift

        # memcpy of the same size, for context
        secs, _, _ = self.helper('memcpy', '--size', str(a.size_mib))
        self.add('memcpy', secs)

        # ---- dump vs plain write ----
        pid, result = self.start_memhog('hog%d' % i, seed=1000 + i)
        pages_before = proc_rss(pid)

        def base_write():
            # The helper fills its buffer first, then the machine is settled
            # as for criu (whose target is already populated), then it times.
            p = subprocess.Popen(
                [self.memhog, 'write', '--wait-go',
                 '--file', os.path.join(img, 'baseline-write.bin'),
                 '--size', str(a.size_mib), '--chunk', str(a.chunk_mib),
                 '--fdatasync'],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True)
            try:
                ready = p.stdout.readline()
                if ready.strip() != 'ready':
                    p.kill()
                    raise BenchError('memhog write: %s' % p.stderr.read())
                self.quiesce()
                out, err = p.communicate('go\n', timeout=600)
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
            if p.returncode != 0:
                raise BenchError('memhog write failed: %s' % err)
            self.add('write-baseline', float(out.split()[0]))
            self.add('write-baseline-cpu', float(out.split()[2]))
            # the same write until fdatasync is done, as a killing dump
            # syncs its images before inventory.img
            self.add('write-sync-baseline', float(out.split()[3]))

        def dump():
            self.quiesce()
            secs, ru = self.run_criu(
                ['dump', '-t', str(pid), '-D', img, '-o', 'dump.log',
                 '-v%d' % a.verbosity], os.path.join(img, 'dump.log'),
                'dump run %d' % i, reap=pid)
            self.add('dump', secs)
            self.add('dump-cpu', ru.ru_utime + ru.ru_stime)
            self.add('dump-rss', ru.ru_maxrss * 1024)
            # criu killed the target, our child: reaped while criu ran or
            # now, so its pid is really free before restore.
            if pid in self.reaped:
                status = self.reaped.pop(pid)
                self.add('dump-reaped', self.reaped_at.pop(pid))
            else:
                res = self.wait(pid, 30)
                if res is None:
                    self.kill_and_reap(pid)
                    raise BenchError('dump run %d: criu exited 0 but target '
                                     '%d still runs 30 s later (killed it)'
                                     % (i, pid))
                status = res[0]
                self.notes.append('run %d: target %d died only after criu '
                                  'dump exited' % (i, pid))
            if not (os.WIFSIGNALED(status) and
                    os.WTERMSIG(status) == signal.SIGKILL):
                self.notes.append('run %d: dumped target %s (expected SIGKILL)'
                                  % (i, describe_status(status)))

        for step in ((dump, base_write) if criu_first else (base_write, dump)):
            step()

        pages = [f for f in os.listdir(img)
                 if f.startswith('pages-') and f.endswith('.img')]
        if not pages:
            raise BenchError('dump run %d: no pages-*.img in %s' % (i, img))
        pages_img = max((os.path.join(img, f) for f in pages),
                        key=os.path.getsize)
        img_bytes = sum(os.path.getsize(os.path.join(img, f)) for f in pages)
        self.add('image-bytes', img_bytes)
        self.add('target-rss', pages_before)
        stats = crit_stats(os.path.join(img, 'stats-dump'))
        for k in ('freezing_time', 'frozen_time', 'memdump_time',
                  'memwrite_time'):
            self.add('kill-' + k, stats.get(k, 0) / 1e6)

        # ---- restore vs read into fresh memory ----
        restored = {}

        def base_read():
            self.quiesce()
            secs, _, cpu = self.helper('read', '--file', pages_img,
                                       '--chunk', str(a.chunk_mib))
            self.add('read-baseline', secs)
            self.add('read-baseline-cpu', cpu)

        def restore():
            self.quiesce()
            pidfile = os.path.join(run, 'restored.pid')
            secs, ru = self.run_criu(
                ['restore', '-D', img, '-d', '-o', 'restore.log',
                 '-v%d' % a.verbosity, '--pidfile', pidfile],
                os.path.join(img, 'restore.log'), 'restore run %d' % i)
            self.add('restore', secs)
            self.add('restore-rss', ru.ru_maxrss * 1024)
            try:
                rpid = int(read(pidfile))
            except (OSError, ValueError) as e:
                raise BenchError('restore run %d: no pid in --pidfile: %s'
                                 % (i, e))
            # criu has exited, so the restored root was reparented to us
            # (child subreaper): it is ours to stop and reap.
            self.live.add(rpid)
            restored['pid'] = rpid
            # the restored task did its share of the restore (it is forked
            # by criu and fills its own memory): count its CPU time too
            self.add('restore-cpu', ru.ru_utime + ru.ru_stime +
                     proc_cpu(rpid))
            if rpid != pid:
                self.notes.append('run %d: restored pid %d, dumped pid %d'
                                  % (i, rpid, pid))
            ppid = proc_ppid(rpid)
            if ppid != os.getpid():
                self.notes.append('run %d: restored task %d has ppid %s, '
                                  'not the bench' % (i, rpid, ppid))

        for step in ((restore, base_read) if criu_first
                     else (base_read, restore)):
            step()

        rpid = restored['pid']
        self.add('restored-hwm', proc_status_kib(rpid, 'VmHWM') * 1024)
        verdict = self.verify_memhog(rpid, result, 'restore run %d' % i)
        self.add('verify-restore', verdict)
        self.stop_memhog(rpid, 'restore run %d' % i)
        if not a.keep:
            shutil.rmtree(run)

        # ---- frozen time: dump --leave-running on a fresh memhog ----
        img = os.path.join(run, 'img-lr')
        os.makedirs(img)
        pid, result = self.start_memhog('lr%d' % i, seed=2000 + i)
        self.quiesce()
        secs, ru = self.run_criu(
            ['dump', '-t', str(pid), '-D', img, '-o', 'dump.log',
             '-v%d' % a.verbosity, '--leave-running'],
            os.path.join(img, 'dump.log'), 'dump --leave-running run %d' % i)
        self.add('dump-lr', secs)
        stats = crit_stats(os.path.join(img, 'stats-dump'))
        for k in ('freezing_time', 'frozen_time', 'memdump_time',
                  'memwrite_time'):
            self.add(k, stats.get(k, 0) / 1e6)
        self.add('pages_written', stats.get('pages_written', 0))
        verdict = self.verify_memhog(pid, result,
                                     'leave-running run %d' % i)
        self.add('verify-lr', verdict)
        self.stop_memhog(pid, 'leave-running run %d' % i)
        if not a.keep:
            shutil.rmtree(run)

    # ---- driver ---------------------------------------------------------

    def main(self):
        a = self.args
        base = a.dir or '/var/tmp'
        self.work = tempfile.mkdtemp(prefix='criu-bench.', dir=base)
        failed = None
        try:
            self.header()
            for i in range(a.runs):
                log('run %d/%d ...' % (i + 1, a.runs))
                self.one_run(i)
        except BenchError as e:
            failed = str(e)
        except KeyboardInterrupt:
            failed = 'interrupted'
        finally:
            self.cleanup()
        if file_id(self.criu) != self.criu_id:
            self.notes.append('%s changed during the run (now %s)' %
                              (self.criu, file_id(self.criu)))
        if self.samples:
            self.report(failed)
        if a.json:
            with open(a.json, 'w') as f:
                json.dump({'size_mib': a.size_mib, 'runs': a.runs,
                           'failed': failed, 'samples': self.samples}, f)
        if failed:
            print('\nBENCH STOPPED: %s' % failed)
            return 1
        return 0

    def header(self):
        a = self.args
        st = os.statvfs(self.work)
        self.criu_id = file_id(self.criu)
        print('criu bench: %s (%s)' % (self.criu, self.criu_id))
        print('target: memhog, %d MiB anonymous, every page distinct and '
              'non-zero; %d runs; image dir under %s (%s)' %
              (a.size_mib, a.runs, os.path.dirname(self.work),
               fs_type(self.work)))
        print('criu log level -v%d; baseline I/O in %d MiB chunks' %
              (a.verbosity, a.chunk_mib))
        print('page cache: warm for both sides, never dropped. Both the '
              'baseline write and criu dump')
        print('  write into the page cache (neither fsyncs); both the '
              'baseline read and criu restore')
        print('  read the pages image just written, from the page cache. '
              'sync(2) runs, untimed,')
        print('  before every timed step so none pays for the writeback of '
              'the one before.')
        if a.prep_mib:
            print('page pool: right before every timed step (untimed, after '
                  'sync) a helper writes')
            print('  %d MiB to a file in the work dir and unlinks it, so '
                  'both sides allocate pages' % a.prep_mib)
            print('  freed a moment ago, not pages already given back to '
                  'the host (free page reporting).')
        else:
            print('page pool: no prep (--prep-mib 0): steps may pay host '
                  'faults unevenly.')
        print('order: baseline first on even runs, criu first on odd runs.')
        print('priority: the bench and everything it runs at nice %d '
              '(criu and baselines alike).' % os.getpriority(
                  os.PRIO_PROCESS, 0))
        print('CPU rows: user+sys seconds; criu\'s from wait4(), plus the '
              'restored task\'s own for restore')
        print('  (from /proc, 10 ms ticks); the baselines\' from getrusage '
              'over their timed part.')
        print('free: %.1f GiB on the image filesystem; %s' %
              (st.f_bavail * st.f_frsize / GIB, meminfo_line()))
        print('load average at start: %s (other work on this machine adds '
              'noise; see "every run")' % loadavg())
        sys.stdout.flush()

    def cleanup(self):
        for pid in list(self.live):
            self.kill_and_reap(pid)
        # Anything criu left behind was reparented to us (subreaper).
        for pid in proc_children():
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                self.notes.append('cleanup: killed stray child %d' % pid)
            except (ProcessLookupError, ChildProcessError):
                pass
        if self.work:
            if self.args.keep:
                log('kept %s' % self.work)
            else:
                shutil.rmtree(self.work, ignore_errors=True)

    def report(self, failed):
        s = self.samples
        n = len(s.get('restore', []))
        print('\n%d complete run(s)%s' %
              (n, '' if not failed else ' (stopped early)'))

        rows = []

        def row(name, key, unit, base=None):
            v = s.get(key)
            if not v:
                return
            b = s.get(base) if base else None
            rows.append((name, v, unit, b))

        row('dump (kills target), wall', 'dump', 's', 'write-baseline')
        row('  vs write + fdatasync', 'dump', 's', 'write-sync-baseline')
        row('  target reapable after', 'dump-reaped', 's')
        row('restore -d, wall', 'restore', 's', 'read-baseline')
        row('dump CPU (criu)', 'dump-cpu', 's', 'write-baseline-cpu')
        row('restore CPU (criu+task)', 'restore-cpu', 's',
            'read-baseline-cpu')
        row('dump --leave-running, wall', 'dump-lr', 's')
        row('  freezing_time', 'freezing_time', 'ms')
        row('  frozen_time', 'frozen_time', 'ms')
        row('  memdump_time', 'memdump_time', 'ms')
        row('  memwrite_time', 'memwrite_time', 'ms')
        row('memhog VmRSS before dump', 'target-rss', 'MiB')
        row('criu dump peak RSS', 'dump-rss', 'MiB')
        row('criu restore peak RSS', 'restore-rss', 'MiB')
        row('restored task VmHWM', 'restored-hwm', 'MiB')
        row('memcpy of the same size', 'memcpy', 's')

        line = '%-28s %11s %11s %11s %11s %7s %7s'
        print(line % ('name', 'median', 'min', 'base median', 'base min',
                      'ratio', 'min/min'))
        for name, v, unit, b in rows:
            med = statistics.median(v)
            if b:
                bmed = statistics.median(b)
                extra = (fmt(bmed, unit), fmt(min(b), unit),
                         '%.2fx' % (med / bmed), '%.2fx' % (min(v) / min(b)))
            else:
                extra = ('', '', '', '')
            print(line % ((name, fmt(med, unit), fmt(min(v), unit)) + extra))
        print('ratio = median / baseline median; min/min = min / baseline min')

        print('\nevery run, in order (seconds; odd runs ran criu first):')
        for key, what in (('dump', 'criu dump'),
                          ('write-baseline', 'plain write'),
                          ('write-sync-baseline', 'write+fdsync'),
                          ('restore', 'criu restore'),
                          ('read-baseline', 'plain read'),
                          ('dump-lr', 'dump -R'), ('memcpy', 'memcpy')):
            if s.get(key):
                print('  %-13s %s' % (what, ' '.join('%.3f' % x
                                                     for x in s[key])))

        print('\nbaselines: dump vs plain write of %d MiB into the image dir '
              'from a populated buffer;' % self.args.size_mib)
        print('  restore vs mmap of fresh memory + read() of the pages image '
              'into it. target ratio <= 1.5x.')
        size = self.size

        def tput(key, nbytes):
            v = s.get(key)
            if v:
                return '%.2f GiB/s' % (nbytes / GIB / statistics.median(v))
            return '-'
        img = statistics.median(s['image-bytes']) if s.get('image-bytes') \
            else size
        print('\nthroughput at median time:')
        print('  criu dump      %s  (pages images, %.1f MiB)' %
              (tput('dump', img), img / MIB))
        print('  plain write    %s' % tput('write-baseline', size))
        print('  criu restore   %s' % tput('restore', img))
        print('  plain read     %s' % tput('read-baseline', img))
        print('  memcpy         %s' % tput('memcpy', size))
        if s.get('pages_written'):
            print('  pages_written (--leave-running): %s' %
                  sorted(set(s['pages_written'])))
        if s.get('kill-frozen_time'):
            print('  killing dump stats, median ms: freezing %.1f, frozen '
                  '%.1f, memdump %.1f, memwrite %.1f' % tuple(
                      1e3 * statistics.median(s['kill-' + k]) for k in
                      ('freezing_time', 'frozen_time', 'memdump_time',
                       'memwrite_time')))

        print('\nmemory check (SIGUSR1 -> memhog re-derives every word):')
        for key, what in (('verify-restore', 'after restore'),
                          ('verify-lr', 'after dump --leave-running')):
            for j, v in enumerate(s.get(key, [])):
                print('  run %d %-27s %s' % (j, what, v))
        print('\n"target reapable after": seconds from criu dump\'s start '
              'until the bench, the target\'s parent,')
        print('  could reap the killed target (a task still ptraced is '
              'reaped by its tracer first).')
        print('\npeak RSS: "criu dump/restore peak RSS" is ru_maxrss from '
              'wait4() on criu: criu itself')
        print('  and any child criu reaped; the restored task is not in it '
              '(criu -d leaves it running).')
        print('  "restored task VmHWM" is the restored memhog\'s own peak, '
              'read from /proc after restore.')
        print('load average at end: %s' % loadavg())
        for note in self.notes:
            print('note: ' + note)


# ---- small helpers -------------------------------------------------------

def fmt(v, unit):
    if unit == 's':
        return '%.3f s' % v
    if unit == 'ms':
        return '%.1f ms' % (v * 1e3)
    if unit == 'MiB':
        return '%.1f MiB' % (v / MIB)
    return str(v)


def read(path):
    with open(path) as f:
        return f.read()


def describe_status(status):
    if os.WIFEXITED(status):
        return 'exited %d' % os.WEXITSTATUS(status)
    if os.WIFSIGNALED(status):
        return 'killed by signal %d' % os.WTERMSIG(status)
    return 'status 0x%x' % status


def proc_status_kib(pid, key):
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith(key + ':'):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def proc_cpu(pid):
    """utime + stime of pid in seconds (clock-tick resolution)."""
    try:
        stat = read('/proc/%d/stat' % pid)
    except OSError:
        return 0.0
    f = stat[stat.rindex(')') + 2:].split()
    return (int(f[11]) + int(f[12])) / os.sysconf('SC_CLK_TCK')


def proc_rss(pid):
    return proc_status_kib(pid, 'VmRSS') * 1024


def proc_ppid(pid):
    return proc_status_kib(pid, 'PPid')


def proc_state(pid):
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('State:'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        return 'gone'
    return '?'


def proc_children():
    pids = []
    me = os.getpid()
    try:
        for tid in os.listdir('/proc/%d/task' % me):
            with open('/proc/%d/task/%s/children' % (me, tid)) as f:
                pids += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return pids


def crit_stats(path):
    crit = shutil.which('crit') or '/usr/bin/crit'
    try:
        p = subprocess.run([crit, 'decode', '-i', path], capture_output=True,
                           text=True, timeout=60)
    except FileNotFoundError:
        raise BenchError('crit not found (Debian package criu)')
    if p.returncode != 0:
        raise BenchError('crit decode %s: %s' % (path, p.stderr.strip()))
    entries = json.loads(p.stdout).get('entries', [])
    if not entries or 'dump' not in entries[0]:
        raise BenchError('%s has no dump entry: %s' % (path, p.stdout))
    return entries[0]['dump']


def file_id(path):
    import hashlib
    try:
        with open(path, 'rb') as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:12]
        mtime = time.strftime('%Y-%m-%d %H:%M:%S',
                              time.localtime(os.stat(path).st_mtime))
        return 'built %s, sha256 %s' % (mtime, digest)
    except OSError as e:
        return 'unreadable: %s' % e


def loadavg():
    try:
        return ' '.join(read('/proc/loadavg').split()[:3])
    except OSError:
        return '?'


def fs_type(path):
    best, fstype = '', '?'
    path = os.path.realpath(path)
    with open('/proc/self/mounts') as f:
        for line in f:
            dev, mnt, typ = line.split()[:3]
            mnt = mnt.replace('\\040', ' ')
            if (path == mnt or path.startswith(mnt.rstrip('/') + '/')) and \
                    len(mnt) >= len(best):
                best, fstype = mnt, '%s on %s' % (typ, dev)
    return fstype


def meminfo_line():
    info = {}
    with open('/proc/meminfo') as f:
        for line in f:
            k, v = line.split(':', 1)
            info[k] = int(v.split()[0])
    return 'MemAvailable %.1f GiB, %d CPUs' % (
        info.get('MemAvailable', 0) / MIB, os.cpu_count())


def set_subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), 'prctl(PR_SET_CHILD_SUBREAPER)')


def close_inherited_fds():
    # fds handed to us (e.g. by a job runner) must not leak into memhog or
    # criu: a dumped memhog would carry them into its images.
    for name in os.listdir('/proc/self/fd'):
        fd = int(name)
        if fd > 2:
            try:
                os.set_inheritable(fd, False)
            except OSError:
                pass


def build(args):
    if args.no_build:
        return
    bdir = os.path.join(ROOT, 'build')
    if not os.path.exists(os.path.join(bdir, 'build.ninja')):
        subprocess.run(['meson', 'setup', bdir], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    # Only the helper: criu is whatever `ninja -C build` last produced.
    p = subprocess.run(['ninja', '-C', bdir, 'bench/memhog'],
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stdout + p.stderr)
        raise SystemExit('bench: build failed')


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--runs', type=int, default=3,
                    help='repetitions of each comparison (default 3)')
    ap.add_argument('--dir', help='parent of the temporary image dir '
                    '(default /var/tmp)')
    ap.add_argument('--size-mib', type=int, default=1024,
                    help='memhog size in MiB (default 1024)')
    ap.add_argument('--chunk-mib', type=int, default=64,
                    help='baseline read/write size per call (default 64)')
    ap.add_argument('--prep-mib', type=int, default=None,
                    help='file written and unlinked (untimed) right before '
                    'each timed step; 0: none (default size + 512)')
    ap.add_argument('--nice', type=int, default=-10,
                    help='nice value for the bench and all it runs, criu '
                    'and baselines alike (default -10; 0 leaves it)')
    ap.add_argument('-v', '--verbosity', type=int, default=4,
                    help='criu -vN (default 4)')
    ap.add_argument('--timeout', type=int, default=300,
                    help='seconds allowed for one criu run (default 300)')
    ap.add_argument('--criu', default=os.path.join(ROOT, 'build/criu/criu'))
    ap.add_argument('--memhog',
                    default=os.path.join(ROOT, 'build/bench/memhog'))
    ap.add_argument('--no-build', action='store_true',
                    help='do not run ninja for bench/memhog first')
    ap.add_argument('--json', metavar='FILE',
                    help='also write every sample to FILE (for table.py)')
    ap.add_argument('--keep', action='store_true',
                    help='keep the work dir (images, logs)')
    args = ap.parse_args()

    if args.prep_mib is None:
        args.prep_mib = args.size_mib + 512
    if os.geteuid() != 0:
        raise SystemExit('bench: run as root (sudo bench/run.sh)')
    if args.runs < 1 or args.size_mib < 1 or args.chunk_mib < 1:
        raise SystemExit('bench: --runs, --size-mib, --chunk-mib must be >= 1')
    build(args)
    for path in (args.criu, args.memhog):
        if not os.access(path, os.X_OK):
            raise SystemExit('bench: %s is not built' % path)
    set_subreaper()
    close_inherited_fds()
    if args.nice:
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)

    # SIGTERM/SIGHUP end the bench the way ^C does, so cleanup runs.
    def on_term(sig, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)

    return Bench(args).main()


if __name__ == '__main__':
    sys.exit(main())
