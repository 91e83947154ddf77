"""The rootless half of test/ns/run.py: runs as pid 1 of a user's own
`unshare -Urpf --mount-proc`, as that user, and does one job there.

Usage: /usr/bin/python3 inner.py JOBFILE TAG

JOBFILE is JSON written by run.py:
  mode     "dump-restore": start tree.py, dump it, restore it here;
           "restore": restore the images (a fresh namespace);
           "restore-fail": restore images that must be refused.
  criu, python, tree, state, images, result: paths.

It collects facts (exit codes, output, pids, the tree's own reports) and
writes them to `result` as JSON; run.py decides what passes.  It asserts
nothing itself, and before it exits it kills whatever it started: when pid 1
of a pid namespace exits, the kernel kills the rest of it anyway.
"""
import json
import os
import signal
import subprocess
import sys
import time

job = json.load(open(sys.argv[1]))
TAG = sys.argv[2]
facts = {'mode': job['mode'], 'uid_map': open('/proc/self/uid_map').read()}


def reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def alive(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


def cmdline(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            return f.read().replace(b'\0', b' ').decode(errors='replace').strip()
    except OSError:
        return None


def children(pid):
    kids = []
    try:
        for tid in os.listdir('/proc/%d/task' % pid):
            with open('/proc/%d/task/%s/children' % (pid, tid)) as f:
                kids += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return kids


def tree_of(root):
    """[{pid, ppid, cmdline}] of root and its descendants, root first."""
    out, todo = [], [(root, None)]
    while todo:
        pid, ppid = todo.pop(0)
        out.append({'pid': pid, 'ppid': ppid, 'cmdline': cmdline(pid)})
        todo += [(k, pid) for k in sorted(children(pid))]
    return out


def tagged():
    """Every process here (but this one) whose command line has TAG."""
    me = os.getpid()
    return sorted(p for p in (int(n) for n in os.listdir('/proc')
                              if n.isdigit())
                  if p != me and alive(p) and TAG in (cmdline(p) or ''))


def reports(pids, wait=5.0):
    """SIGUSR1 to every pid; the reports tree.py writes, by role."""
    state = job['state']
    for name in os.listdir(state):
        if name.startswith('report-'):
            os.unlink(os.path.join(state, name))
    for pid in pids:
        try:
            os.kill(pid, signal.SIGUSR1)
        except OSError:
            pass
    deadline = time.monotonic() + wait
    got = {}
    while time.monotonic() < deadline:
        for name in os.listdir(state):
            if name.startswith('report-') and name.endswith('.json'):
                role = name[len('report-'):-len('.json')]
                if role not in got:
                    try:
                        got[role] = json.load(open(os.path.join(state, name)))
                    except (OSError, ValueError):
                        pass
        if len(got) >= len(pids):
            break
        time.sleep(0.02)
    return got


def run_criu(args, timeout=10):
    try:
        p = subprocess.run([job['criu']] + args, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=timeout)
        res = {'rc': p.returncode, 'stdout': p.stdout, 'stderr': p.stderr}
    except subprocess.TimeoutExpired as e:
        res = {'rc': None, 'stdout': str(e.stdout), 'stderr': '(criu hung: killed after %ds)' % timeout}
    reap()
    return res


def log_tail(name, n=25):
    try:
        with open(os.path.join(job['images'], name)) as f:
            return f.read().splitlines()[-n:]
    except OSError as e:
        return ['(no log: %s)' % e]


def kill_all():
    for _ in range(50):
        left = tagged()
        if not left:
            return
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.05)
        reap()


def start_tree():
    # Push the pid counter on, so that in a fresh namespace criu and its
    # helpers (which come first there) cannot hold the tree's pids.
    for _ in range(30):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            fd = os.open('/dev/null', os.O_RDWR)
            for i in range(3):
                os.dup2(fd, i)
            os.closerange(3, 65536)
            os.execv(job['python'], [job['python'], job['tree'],
                                     job['state'], TAG])
        finally:
            os._exit(127)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if os.path.exists(os.path.join(job['state'], 'ready')):
            return pid
        time.sleep(0.02)
    return pid


def observe(root):
    """The tree under root and two rounds of its reports."""
    tree = tree_of(root)
    pids = [t['pid'] for t in tree]
    first = reports(pids)
    time.sleep(0.2)
    second = reports(pids)
    return {'root': root, 'tree': tree, 'reports': first, 'reports2': second}


def restore(pidfile):
    res = run_criu(['restore', '-D', job['images'], '-d', '--pidfile',
                    pidfile, '-o', 'restore.log', '-v4'])
    try:
        res['pidfile'] = open(pidfile).read().strip()
    except OSError as e:
        res['pidfile'] = None
    res['log'] = log_tail('restore.log')
    return res


def main():
    mode = job['mode']
    pidfile = os.path.join(job['state'], 'restored.pid')
    if mode == 'dump-restore':
        root = start_tree()
        facts['before'] = observe(root)
        old = [t['pid'] for t in facts['before']['tree']]
        facts['dump'] = run_criu(['dump', '-t', str(root), '-D',
                                  job['images'], '-o', 'dump.log', '-v4'])
        facts['dump']['log'] = log_tail('dump.log')
        if facts['dump']['rc'] != 0:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(alive(p) for p in old):
            reap()
            time.sleep(0.02)
        facts['left_after_dump'] = [p for p in old if alive(p)]
    facts['restore'] = restore(pidfile)
    if mode == 'restore-fail':
        time.sleep(0.3)
        reap()
        me = os.getpid()
        facts['procs'] = {p: cmdline(p) for p in
                          (int(n) for n in os.listdir('/proc') if n.isdigit())
                          if p != me and alive(p)}
        facts['tagged'] = tagged()
        return
    try:
        root = int(facts['restore']['pidfile'])
    except (TypeError, ValueError):
        return
    facts['after'] = observe(root)


try:
    main()
except Exception as e:  # reported to run.py, which fails the case
    facts['error'] = '%s: %s' % (type(e).__name__, e)
finally:
    kill_all()
    with open(job['result'] + '.tmp', 'w') as f:
        json.dump(facts, f)
    os.rename(job['result'] + '.tmp', job['result'])
