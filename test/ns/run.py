#!/usr/bin/env python3
"""Namespace tests: sandboxes made by `unshare`, dumped by root from the host
and restored; what must be refused; rootless dump and restore; hand-edited
rootless images that must not gain anything.  See test/ns/README.md.

Usage: test/ns/run.py [--criu PATH] [--keep] [-k SUBSTRING]... (as root)

Prints `PASS name`, `FAIL name: why` or `SKIP name: why` per case, then
`N passed, N failed` (and skipped), and exits non-zero if any case failed.
Everything it starts carries a tag in its command line; whatever still runs
with that tag is killed at the end, also after an error or a signal.
"""
import argparse
import ctypes
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TREE = os.path.join(HERE, 'tree.py')
INNER = os.path.join(HERE, 'inner.py')
PY = '/usr/bin/python3'   # readable by nobody, unlike a pyenv shim in /root
CRIT = '/usr/bin/crit'
NOBODY = 65534
ROLES = {'init', 'child0', 'child1', 'gchild'}
NS_KINDS = ['user', 'pid', 'mnt', 'uts', 'ipc', 'net', 'cgroup', 'time']
PR_SET_CHILD_SUBREAPER = 36
CRIU_TIMEOUT = 10     # a dump or restore here takes well under a second
BUDGET = 100          # seconds for the whole run; later cases fail unrun

TAG = 'nstest%d%04x' % (os.getpid(), random.getrandbits(16))
CRIU = None
BASE = None
STARTED = []          # Popen objects still to be killed and reaped


class Fail(Exception):
    pass


class Skip(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


# ---------------------------------------------------------------- processes

def read(path, default=None):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def cmdline(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            return f.read().replace(b'\0', b' ').decode(errors='replace').strip()
    except OSError:
        return None


def status(pid):
    out = {}
    for line in (read('/proc/%d/status' % pid) or '').splitlines():
        k, _, v = line.partition(':')
        out[k] = v.strip()
    return out


def state_of(pid):
    s = read('/proc/%d/stat' % pid)
    return s.rsplit(')', 1)[1].split()[0] if s else None


def alive(pid):
    return state_of(pid) not in (None, 'Z', 'X')


def children(pid):
    kids = []
    try:
        for tid in os.listdir('/proc/%d/task' % pid):
            kids += [int(x) for x in
                     (read('/proc/%d/task/%s/children' % (pid, tid)) or '').split()]
    except OSError:
        pass
    return kids


def nspid(pid):
    v = status(pid).get('NSpid', '').split()
    return [int(x) for x in v]


def reap():
    """Reap our zombie children that no live Popen is waiting for."""
    mine = {p.pid for p in STARTED if p.returncode is None}
    for pid in children(os.getpid()):
        if pid not in mine and state_of(pid) == 'Z':
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
    for p in STARTED:
        p.poll()


def tagged():
    me = os.getpid()
    return [p for p in (int(n) for n in os.listdir('/proc') if n.isdigit())
            if p != me and alive(p) and TAG in (cmdline(p) or '')]


def kill(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def sweep(timeout=10.0):
    """Kill everything this run started (found by tag) and reap it."""
    deadline = time.monotonic() + timeout
    while True:
        for p in STARTED:
            if p.poll() is None:
                kill([p.pid])
        left = tagged()
        kill(left)
        reap()
        if not left and all(p.poll() is not None for p in STARTED):
            break
        if time.monotonic() > deadline:
            print('warning: still running after cleanup: %s' %
                  ', '.join('%d %s' % (p, cmdline(p)) for p in left),
                  file=sys.stderr)
            break
        time.sleep(0.05)
    STARTED[:] = [p for p in STARTED if p.returncode is None]


def term_until_gone(pid, timeout=10.0):
    """SIGTERM a zdtm test until it exits: one SIGTERM can fall between its
    flag test and pause() (test/zdtm/lib/test.c), as zdtm.py knows too."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        if not wait_gone([pid], 0.5):
            return True
    return False


def wait_gone(pids, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reap()
        if not any(alive(p) for p in pids):
            return []
        time.sleep(0.02)
    return [p for p in pids if alive(p)]


def wait_file(path, timeout, popen=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            return True
        if popen is not None and popen.poll() is not None:
            return os.path.exists(path)
        time.sleep(0.02)
    return False


def start(cmd):
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    STARTED.append(p)
    return p


def run(cmd, timeout=30, **kw):
    try:
        return subprocess.run(cmd, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True,
                              timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        raise Fail('timed out after %ds: %s' % (timeout, ' '.join(cmd)))
    finally:
        reap()


def tail(path, n=12):
    lines = (read(path) or '(no log at %s)' % path).splitlines()
    return '\n'.join('    | ' + l for l in lines[-n:])


def criu_failed(what, res, log):
    return ('criu %s exited %s\n    stderr: %s\n    %s:\n%s' %
            (what, res.returncode, res.stderr.strip() or '(empty)', log,
             tail(log)))


# ------------------------------------------------------------ observation

def ns_link(pid, kind):
    try:
        return os.readlink('/proc/%s/ns/%s' % (pid, kind))
    except OSError:
        return None


def host_tree(root):
    """The tree under host pid root, as the host sees it, root first."""
    out, todo = [], [root]
    while todo:
        pid = todo.pop(0)
        st = status(pid)
        ns = nspid(pid)
        out.append({
            'host': pid,
            'inner': ns[-1] if ns else None,
            'hostppid': int(st.get('PPid', '0') or 0),
            'cmd': cmdline(pid),
            'state': state_of(pid),
            'tracer': st.get('TracerPid'),
            'uid': st.get('Uid'),
            'gid': st.get('Gid'),
            'groups': st.get('Groups'),
            'ns': {k: ns_link(pid, k) for k in NS_KINDS},
        })
        todo += sorted(children(pid))
    inner_of = {p['host']: p['inner'] for p in out}
    for p in out:
        p['pinner'] = inner_of.get(p['hostppid'])
    return out


def mounts(pid):
    """(mount point, fs type, source) of each mount pid sees, as a sorted
    list with repeats."""
    out = []
    for line in (read('/proc/%d/mountinfo' % pid) or '').splitlines():
        left, _, right = line.partition(' - ')
        f, r = left.split(), right.split()
        out.append((f[4], r[0], r[1] if len(r) > 1 else ''))
    return sorted(out)


def mount_diff(pid):
    mine, theirs = mounts(os.getpid()), mounts(pid)
    extra, missing = list(theirs), []
    for m in mine:
        if m in extra:
            extra.remove(m)
        else:
            missing.append(m)
    return {'extra': extra, 'missing': missing}


def links(pid):
    """{name: flags} of the net devices in pid's net namespace."""
    r = run(['nsenter', '-t', str(pid), '-n', 'ip', '-o', 'link', 'show'])
    check(r.returncode == 0, 'nsenter -n ip link: %s' % r.stderr.strip())
    out = {}
    for line in r.stdout.splitlines():
        parts = line.split()
        name = parts[1].rstrip(':').split('@')[0]
        out[name] = parts[2].strip('<>').split(',')
    return out


def inner_proc(pid):
    """Numeric entries of /proc in pid's pid and mount namespaces."""
    r = run(['nsenter', '-t', str(pid), '-p', '-m', 'ls', '/proc'])
    check(r.returncode == 0, 'nsenter -p -m ls /proc: %s' % r.stderr.strip())
    return sorted(int(x) for x in r.stdout.split() if x.isdigit())


def signal_reports(state, pids, timeout=5.0):
    """SIGUSR1 to every host pid; tree.py's reports, by role."""
    for name in os.listdir(state):
        if name.startswith('report-'):
            os.unlink(os.path.join(state, name))
    for pid in pids:
        try:
            os.kill(pid, signal.SIGUSR1)
        except OSError as e:
            raise Fail('cannot signal %d: %s' % (pid, e))
    got = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(got) < len(pids):
        for name in os.listdir(state):
            if name.startswith('report-') and name.endswith('.json'):
                role = name[7:-5]
                if role not in got:
                    try:
                        got[role] = json.load(open(os.path.join(state, name)))
                    except (OSError, ValueError):
                        pass
        time.sleep(0.02)
    check(len(got) == len(pids),
          'only %s answered SIGUSR1 within %.0fs (pids %s)' %
          (sorted(got), timeout, pids))
    return got


def snapshot(root, state):
    tree = host_tree(root)
    pids = [p['host'] for p in tree]
    own_net = tree[0]['ns']['net'] != ns_link('self', 'net')
    snap = {
        'tree': tree,
        'uid_map': (read('/proc/%d/uid_map' % root) or '').split(),
        'gid_map': (read('/proc/%d/gid_map' % root) or '').split(),
        'setgroups': (read('/proc/%d/setgroups' % root) or '').strip(),
        'ns_is_host': {k: tree[0]['ns'][k] == ns_link('self', k)
                       for k in NS_KINDS},
        'mounts': mount_diff(root),
        'links': links(root) if own_net else None,
        'proc': inner_proc(root),
    }
    snap['reports'] = signal_reports(state, pids)
    time.sleep(0.15)
    snap['reports2'] = signal_reports(state, pids)
    return snap


# ------------------------------------------------------ host sandbox cases

def sandbox_dir(name):
    d = os.path.join(BASE, name)
    st, img = os.path.join(d, 'state'), os.path.join(d, 'img')
    os.makedirs(st)
    os.makedirs(img)
    os.chmod(d, 0o755)
    os.chmod(st, 0o777)     # child0 may run as another uid
    return st, img


def start_sandbox(name, flags, setup='', drop=None, maps=None):
    """unshare FLAGS sh -c 'SETUP; exec tree.py'; returns (popen, root host
    pid, state, images)."""
    st, img = sandbox_dir(name)
    tree = [PY, TREE, st, TAG] + ([str(drop)] if drop is not None else [])
    script = ''
    if maps:
        # No map yet: wait for the runner to write one, then exec, which
        # gives the mapped root the namespace's capabilities.
        script += ('while [ -z "$(cat /proc/self/uid_map)" ]; do '
                   'sleep 0.02; done; ')
    if setup:
        script += setup + ' && '
    script += 'exec ' + ' '.join(tree)
    p = start(['unshare'] + flags + ['/bin/sh', '-c', script, TAG])
    if maps:
        deadline = time.monotonic() + 5
        kids = []
        while not kids and time.monotonic() < deadline:
            kids = children(p.pid)
            time.sleep(0.01)
        check(kids, 'unshare made no child')
        for f, v in (('uid_map', maps[0]), ('gid_map', maps[1])):
            with open('/proc/%d/%s' % (kids[0], f), 'w') as fh:
                fh.write(v)
    if not wait_file(os.path.join(st, 'ready'), 20, p):
        raise Fail('sandbox did not start (unshare exit %s): %s' %
                   (p.poll(), ' '.join(p.args)))
    kids = children(p.pid)
    check(len(kids) == 1, 'unshare has children %s' % kids)
    root = kids[0]
    check(nspid(root)[-1] == 1, 'the tree root is not pid 1 of its namespace: '
          'NSpid %s' % nspid(root))
    return p, root, st, img


def criu(args, log, watch=()):
    """Run criu; if it hangs, fail with its log and the state of watch."""
    p = subprocess.Popen([CRIU] + args, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    STARTED.append(p)      # killed with the rest if the run is stopped
    try:
        out, err = p.communicate(timeout=CRIU_TIMEOUT)
        return subprocess.CompletedProcess(p.args, p.returncode, out, err)
    except subprocess.TimeoutExpired:
        states = ', '.join('%d %s %s' % (x, state_of(x), (read(
            '/proc/%d/wchan' % x) or '').strip()) for x in
            list(watch) + [p.pid])
        p.kill()
        p.communicate()
        raise Fail('criu %s hung (killed after %ds)%s\n    %s:\n%s' %
                   (args[0], CRIU_TIMEOUT, '; the tree and criu (host pid, '
                    'state, wchan) then: ' + states, log, tail(log, 4)))
    finally:
        reap()


def dump(root, img, watch=()):
    return criu(['dump', '-t', str(root), '-D', img, '-o', 'dump.log',
                 '-v4'], os.path.join(img, 'dump.log'), watch)


def compare(before, after, root_inner):
    """Everything that must be the same after restore."""
    t0 = {p['inner']: p for p in before['tree']}
    t1 = {p['inner']: p for p in after['tree']}
    check(sorted(t0) == sorted(t1),
          'inner pids %s after restore, %s before' % (sorted(t1), sorted(t0)))
    for pid, p in t0.items():
        q = t1[pid]
        check(q['pinner'] == p['pinner'],
              'inner pid %d has parent %s, was %s' %
              (pid, q['pinner'], p['pinner']))
        check(q['cmd'] == p['cmd'], 'inner pid %d runs %r, ran %r' %
              (pid, q['cmd'], p['cmd']))
        for k in ('uid', 'gid', 'groups'):
            check(q[k] == p[k], 'inner pid %d %s %r, was %r' %
                  (pid, k, q[k], p[k]))
        check(q['state'] in ('R', 'S', 'D'),
              'inner pid %d is in state %s' % (pid, q['state']))
        check(q['tracer'] == '0', 'inner pid %d is traced by %s' %
              (pid, q['tracer']))
    for k in ('uid_map', 'gid_map', 'setgroups', 'ns_is_host', 'mounts',
              'links'):
        check(after[k] == before[k], '%s %r after restore, %r before' %
              (k, after[k], before[k]))
    root_ns = after['tree'][0]['ns']
    for p in after['tree']:
        diff = ['%s %s, root %s' % (k, p['ns'][k], root_ns[k])
                for k in NS_KINDS if p['ns'][k] != root_ns[k]]
        check(not diff, 'restored inner pid %s is not in the namespaces of '
              'the root: %s' % (p['inner'], '; '.join(diff)))
    inner = sorted(t1)
    for snap, when in ((before, 'before dump'), (after, 'after restore')):
        extra = [x for x in snap['proc'] if x not in inner]
        check(set(inner) <= set(snap['proc']) and len(extra) <= 1,
              '/proc in the namespace lists %s %s; the tree is %s (plus ls)'
              % (snap['proc'], when, inner))
    r0, r1, r2 = before['reports2'], after['reports'], after['reports2']
    check(set(r1) == ROLES, 'reports after restore from %s' % sorted(r1))
    for role in ROLES:
        a, b, c = r0[role], r1[role], r2[role]
        for k in ('pid', 'ppid', 'hostname', 'domainname', 'uid', 'gid'):
            check(b[k] == a[k], '%s: %s %r after restore, %r before' %
                  (role, k, b[k], a[k]))
        check(b['nspid'] == [b['pid']],
              '%s: NSpid in its own /proc is %s, not [%d]: /proc is not the '
              'namespace\'s own' % (role, b['nspid'], b['pid']))
        check(b['proc_pids'] == inner, '%s: its /proc lists %s, the tree is '
              '%s' % (role, b['proc_pids'], inner))
        check(b['nsig'] == a['nsig'] + 1,
              '%s: has had %d SIGUSR1 after restore, had %d before dump' %
              (role, b['nsig'], a['nsig']))
        check(b['counter'] >= a['counter'],
              '%s: counter %d after restore, %d at the last report before '
              'dump' % (role, b['counter'], a['counter']))
        check(c['counter'] > b['counter'],
              '%s: counter stuck at %d after restore' % (role, b['counter']))
        # A session or group led from outside the namespace (0 inside)
        # is led by the root after restore.
        for k in ('sid', 'pgid'):
            want = a[k] if a[k] != 0 else root_inner
            check(b[k] == want, '%s: %s %d after restore, %d before' %
                  (role, k, b[k], a[k]))


def sandbox_case(name, flags, setup='', hostname=None, domainname=None,
                 lo=None, drop=None, maps=None):
    p, root, st, img = start_sandbox(name, flags, setup, drop, maps)
    before = snapshot(root, st)
    r = before['reports2']['init']
    check(set(before['reports2']) == ROLES,
          'sandbox has %s, wanted %s' % (sorted(before['reports2']),
                                         sorted(ROLES)))
    if hostname:
        check(r['hostname'] == hostname, 'setup: hostname is %r, not %r' %
              (r['hostname'], hostname))
    if domainname:
        check(r['domainname'] == domainname, 'setup: domainname is %r' %
              r['domainname'])
    if lo is not None:
        check(('UP' in before['links']['lo']) == lo,
              'setup: lo flags %s' % before['links']['lo'])
    if drop is not None:
        check(before['reports2']['child0']['uid'] == [drop] * 3,
              'setup: child0 runs as %s' % before['reports2']['child0']['uid'])
    if maps:
        check(before['uid_map'] == maps[0].split(),
              'setup: uid_map %s' % before['uid_map'])
    old = [t['host'] for t in before['tree']]

    res = dump(root, img, old)
    check(res.returncode == 0,
          criu_failed('dump', res, os.path.join(img, 'dump.log')))
    left = wait_gone(old)
    check(not left, 'dumped tasks still alive: %s' % left)
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        raise Fail('unshare still running after its child was dumped')

    pidfile = os.path.join(BASE, name, 'restored.pid')
    res = criu(['restore', '-D', img, '-d', '--pidfile', pidfile, '-o',
                'restore.log', '-v4'], os.path.join(img, 'restore.log'))
    check(res.returncode == 0,
          criu_failed('restore', res, os.path.join(img, 'restore.log')))
    text = (read(pidfile) or '').strip()
    check(text.isdigit(), 'pidfile holds %r' % text)
    new = int(text)
    check(str(new) in res.stdout.replace(',', ' ').split(),
          'criu restore did not print the new host pid %d on stdout: %r' %
          (new, res.stdout))
    check(alive(new), 'the restored root (host pid %d) is not running' % new)
    check(nspid(new)[-1] == 1, 'the restored root has NSpid %s' % nspid(new))
    after = snapshot(new, st)
    compare(before, after, 1)


def cases_sandbox():
    yield ('host-userns', lambda n: sandbox_case(
        n, ['-Urpf', '--mount-proc']))
    yield ('host-userns-mnt', lambda n: sandbox_case(
        n, ['-Urpfm', '--mount-proc']))
    yield ('host-pidns-no-userns', lambda n: sandbox_case(
        n, ['-pf', '--mount-proc']))
    # a mount of the sandbox's own: the mount namespace is dumped whole
    yield ('host-userns-mnt-tmpfs', lambda n: sandbox_case(
        n, ['-Urpfm', '--mount-proc'],
        setup='mkdir -p %s/%s/mnt && mount -t tmpfs nstmp %s/%s/mnt' % (BASE, n, BASE, n)))
    yield ('host-userns-mnt-ipc-uts', lambda n: sandbox_case(
        n, ['-Urpfmiu', '--mount-proc'],
        setup='hostname ns-uts-box && domainname ns-uts-dom',
        hostname='ns-uts-box', domainname='ns-uts-dom'))
    yield ('host-all-ns-lo-up', lambda n: sandbox_case(
        n, ['-Urpfmiun', '--mount-proc'],
        setup='hostname ns-lo-up && domainname lo-up-dom && '
              'ip link set lo up',
        hostname='ns-lo-up', domainname='lo-up-dom', lo=True))
    yield ('host-all-ns-lo-down', lambda n: sandbox_case(
        n, ['-Urpfmiun', '--mount-proc'],
        setup='hostname ns-lo-down', hostname='ns-lo-down', lo=False))
    # A map with more than one range, setgroups left "allow", and one task
    # running as a uid other than 0 of the namespace (host uid 200999).
    yield ('host-userns-wide-map', lambda n: sandbox_case(
        n, ['-U', '-pf', '--mount-proc'], drop=1000,
        maps=('0 0 1\n1 200000 65535\n', '0 0 1\n1 200000 65535\n')))


# ------------------------------------------- inet sockets in a net namespace

def zdtm_in_sandbox(name, test, opts=()):
    """A zdtm test as pid 1 of a sandbox with its own user, pid, mount,
    UTS, IPC and net namespaces (lo up), dumped and restored from the host:
    its sockets are listed from inside the namespace and made again in the
    new one; the test checks them itself after SIGTERM."""
    st, img = sandbox_dir(name)
    binary = os.path.join(os.path.dirname(os.path.dirname(CRIU)), 'test', 'zdtm',
                          'static', test)
    out = os.path.join(st, 'out')
    script = 'ip link set lo up && exec %s --pidfile=%s --outfile=%s --filename=%s' % (
        binary, os.path.join(st, 'pid'), out, os.path.join(st, 'scratch'))
    p = start(['unshare', '-Urpfmiun', '--mount-proc', '/bin/sh', '-c', script, TAG])
    if not wait_file(os.path.join(st, 'pid'), 20, p):
        raise Fail('the test did not start: %s' % (read(out) or '').strip())
    time.sleep(0.2)
    kids = children(p.pid)
    check(len(kids) == 1, 'unshare has children %s' % kids)
    root = kids[0]
    res = criu(['dump', '-t', str(root), '-D', img, '-o', 'dump.log', '-v4'] + list(opts),
               os.path.join(img, 'dump.log'), [root])
    check(res.returncode == 0, criu_failed('dump', res, os.path.join(img, 'dump.log')))
    check(not wait_gone([root]), 'the dumped test is still alive')
    pidfile = os.path.join(BASE, name, 'restored.pid')
    res = criu(['restore', '-D', img, '-d', '--pidfile', pidfile, '-o', 'restore.log',
                '-v4'] + list(opts), os.path.join(img, 'restore.log'))
    check(res.returncode == 0, criu_failed('restore', res, os.path.join(img, 'restore.log')))
    new = int((read(pidfile) or '0').strip() or 0)
    check(new and alive(new), 'the restored test is not running')
    check(ns_link(new, 'net') != ns_link(os.getpid(), 'net'),
          'the restored test is in the host net namespace')
    check(term_until_gone(new), 'the restored test did not end')
    text = (read(out) or '').strip()
    check(text.endswith('PASS'), 'the test says %r' % text)


def cases_inet():
    yield ('host-netns-inet-listen', lambda n: zdtm_in_sandbox(n, 'sk_inet_listen00'))
    yield ('host-netns-inet-udp', lambda n: zdtm_in_sandbox(n, 'sk_inet_udp00'))
    yield ('host-netns-tcp-established', lambda n: zdtm_in_sandbox(
        n, 'sk_tcp_est00', ['--tcp-established']))


# ---------------------------------------------------------- refusal cases

def refuse_case(name, flags, setup, word, probe):
    p, root, st, img = start_sandbox(name, flags, setup)
    skip = read(os.path.join(st, 'skip'))
    if skip is not None:
        raise Skip(skip.strip() or 'setup failed')
    tree0 = host_tree(root)
    pids = [t['host'] for t in tree0]
    r0 = signal_reports(st, pids)
    present = probe(root)
    check(present, 'setup: the object to refuse is not there')

    res = dump(root, img, pids)
    log = os.path.join(img, 'dump.log')
    check(res.returncode != 0, 'dump succeeded (exit 0); it must refuse')
    lines = res.stderr.strip().splitlines()
    check(len(lines) == 1 and 'unsupported' in lines[0] and word in lines[0],
          'dump exit %d; want one stderr line with "unsupported" and %r, '
          'got %r\n    %s:\n%s' % (res.returncode, word, res.stderr, log,
                                   tail(log)))
    time.sleep(0.2)
    tree1 = host_tree(root)
    check([t['host'] for t in tree1] == pids,
          'the sandbox changed: host pids %s, were %s' %
          ([t['host'] for t in tree1], pids))
    for t in tree1:
        check(t['state'] in ('R', 'S', 'D'), 'host pid %d is in state %s '
              'after the refused dump' % (t['host'], t['state']))
        check(t['tracer'] == '0', 'host pid %d is still traced by %s' %
              (t['host'], t['tracer']))
    r1 = signal_reports(st, pids)
    for role in ROLES:
        check(r1[role]['nsig'] == r0[role]['nsig'] + 1 and
              r1[role]['counter'] > r0[role]['counter'] and
              r1[role]['pid'] == r0[role]['pid'],
              '%s after the refused dump: %s, before: %s' %
              (role, r1[role], r0[role]))
    check(probe(root) == present, 'the refused object changed: %r, was %r' %
          (probe(root), present))
    check(p.poll() is None, 'unshare exited')
    return lines[0]


def cases_refuse():
    def mnt_probe(d):
        return lambda root: [m for m in mounts(root) if m[0] == d]

    def dev_probe(dev):
        return lambda root: links(root).get(dev)

    def partial(n):
        # a bind of a directory of a tmpfs that is mounted nowhere whole:
        # there is nothing to fill it from (a whole tmpfs is dumped)
        d, part = os.path.join(BASE, n, 'mnt'), os.path.join(BASE, n, 'part')
        os.makedirs(d)
        os.makedirs(part)
        return refuse_case(n, ['-Urpfm', '--mount-proc'],
                           'mount -t tmpfs nstmp %s && mkdir %s/sub && '
                           'mount --bind %s/sub %s && umount %s' % (d, d, d, part, d),
                           'mount', mnt_probe(part))

    def netdev(kind, dev):
        def case(n):
            st = os.path.join(BASE, n, 'state')
            return refuse_case(
                n, ['-Urpfmn', '--mount-proc'],
                '{ ip link add %s type %s 2>%s/skip && rm %s/skip || '
                'sed -i "1s/^/the kernel refused a %s device: /" %s/skip; }'
                % (dev, kind, st, st, kind, st), dev, dev_probe(dev))
        return case
    yield ('refuse-partial-tmpfs-bind', partial)
    yield ('refuse-dummy-netdev', netdev('dummy', 'd0'))
    # The same with a device type this kernel has built in when it lacks
    # the dummy driver.
    yield ('refuse-bridge-netdev', netdev('bridge', 'br0'))


# --------------------------------------------------------- rootless cases

ROOTLESS = {}      # facts of the rootless dump, for the later cases


def nobody_cmd(cmd):
    return (['setpriv', '--reuid=%d' % NOBODY, '--regid=%d' % NOBODY,
             '--clear-groups', '--inh-caps=-all', 'unshare', '-Urpf',
             '--mount-proc'] + cmd)


def chown_tree(path):
    for d, dirs, files in os.walk(path):
        os.chown(d, NOBODY, NOBODY)
        for f in files:
            os.chown(os.path.join(d, f), NOBODY, NOBODY)


def run_inner(name, mode, images, state):
    job = os.path.join(BASE, name, 'job.json')
    result = os.path.join(BASE, name, 'result.json')
    with open(job, 'w') as f:
        json.dump({'mode': mode, 'criu': CRIU, 'python': PY, 'tree': TREE,
                   'state': state, 'images': images, 'result': result}, f)
    os.chmod(job, 0o644)
    p = start(nobody_cmd([PY, INNER, job, TAG]))
    try:
        p.wait(45)
    except subprocess.TimeoutExpired:
        raise Fail('the rootless namespace did not finish in 45s')
    check(not tagged(), 'processes left after the rootless namespace ended: '
          '%s' % ['%d %s' % (x, cmdline(x)) for x in tagged()])
    check(os.path.exists(result),
          'inner.py wrote no result (exit %s)' % p.returncode)
    facts = json.load(open(result))
    check('error' not in facts, 'inner.py: %s' % facts.get('error'))
    return facts


def rootless_dir(name):
    d = os.path.join(BASE, name)
    st, img = os.path.join(d, 'state'), os.path.join(d, 'img')
    os.makedirs(st)
    os.makedirs(img)
    chown_tree(d)
    return d, st, img


def inner_failed(what, res):
    return ('criu %s exited %s\n    stderr: %s\n    log tail:\n%s' %
            (what, res['rc'], res['stderr'].strip() or '(empty)',
             '\n'.join('    | ' + l for l in res['log'][-12:])))


def check_inner_restore(before, facts):
    """The tree restored inside the namespace is the one dumped."""
    res = facts['restore']
    check(res['rc'] == 0, inner_failed('restore', res))
    root = before['root']
    check(res['pidfile'] == str(root), 'pidfile holds %r, the dumped root '
          'was %d' % (res['pidfile'], root))
    after = facts.get('after')
    check(after, 'no observation after restore')
    t0 = sorted((t['pid'], t['ppid'], t['cmdline']) for t in before['tree'])
    t1 = sorted((t['pid'], t['ppid'], t['cmdline']) for t in after['tree'])
    check(t0 == t1, 'tree (pid, parent, command) %s after restore, %s '
          'before' % (t1, t0))
    inner = sorted([1] + [t[0] for t in t1])
    r0, r1, r2 = before['reports2'], after['reports'], after['reports2']
    check(set(r1) == ROLES, 'reports after restore from %s' % sorted(r1))
    for role in ROLES:
        a, b, c = r0[role], r1[role], r2[role]
        for k in ('pid', 'ppid', 'nspid', 'uid', 'gid', 'sid', 'pgid',
                  'hostname'):
            check(b[k] == a[k], '%s: %s %r after restore, %r before' %
                  (role, k, b[k], a[k]))
        check(b['proc_pids'] == inner, '%s: /proc lists %s, want %s' %
              (role, b['proc_pids'], inner))
        check(b['nsig'] == a['nsig'] + 1, '%s: %d SIGUSR1 after restore, '
              '%d before' % (role, b['nsig'], a['nsig']))
        check(b['counter'] >= a['counter'], '%s: counter %d after restore, '
              '%d before dump' % (role, b['counter'], a['counter']))
        check(c['counter'] > b['counter'], '%s: counter stuck at %d' %
              (role, b['counter']))


def rootless_ok():
    if int(read('/proc/sys/user/max_user_namespaces', '0')) == 0:
        raise Skip('user namespaces are disabled '
                   '(/proc/sys/user/max_user_namespaces is 0)')
    r = run(nobody_cmd(['/bin/true']))
    if r.returncode != 0:
        raise Skip('uid %d cannot unshare -Urpf: %s' %
                   (NOBODY, r.stderr.strip()))
    r = run(['setpriv', '--reuid=%d' % NOBODY, '--regid=%d' % NOBODY,
             '--clear-groups', '/bin/sh', '-c',
             'test -x "$0" && test -r "$1" && test -r "$2"', CRIU, TREE,
             INNER])
    check(r.returncode == 0, 'uid %d cannot execute %s or read %s' %
          (NOBODY, CRIU, HERE))


def rootless_dump_restore(name):
    rootless_ok()
    d, st, img = rootless_dir(name)
    facts = run_inner(name, 'dump-restore', img, st)
    check(facts['uid_map'].split() == ['0', str(NOBODY), '1'],
          'uid_map inside is %r' % facts['uid_map'])
    before = facts['before']
    check(set(before['reports2']) == ROLES, 'the tree has %s' %
          sorted(before['reports2']))
    check(before['reports2']['init']['uid'] == [0, 0, 0],
          'the tree runs as %s' % before['reports2']['init']['uid'])
    res = facts['dump']
    check(res['rc'] == 0, inner_failed('dump', res))
    check(not facts['left_after_dump'], 'dumped tasks still alive: %s' %
          facts['left_after_dump'])
    saved = os.path.join(BASE, 'rootless-images')
    shutil.copytree(img, saved)
    for log in ('dump.log', 'restore.log'):
        if os.path.exists(os.path.join(saved, log)):
            os.unlink(os.path.join(saved, log))
    ROOTLESS.update(images=saved, before=before, state=st)
    check_inner_restore(before, facts)


def need_rootless_images():
    if 'images' not in ROOTLESS:
        raise Fail('needs the images of rootless-dump-restore, which did '
                   'not produce them')


def copy_images(name):
    need_rootless_images()
    d = os.path.join(BASE, name)
    img = os.path.join(d, 'img')
    os.makedirs(d)
    shutil.copytree(ROOTLESS['images'], img)
    return d, img


def rootless_fresh(name):
    rootless_ok()
    d, img = copy_images(name)
    chown_tree(d)
    for f in os.listdir(ROOTLESS['state']):
        if f.startswith('report-'):
            os.unlink(os.path.join(ROOTLESS['state'], f))
    facts = run_inner(name, 'restore', img, ROOTLESS['state'])
    check(facts['uid_map'].split() == ['0', str(NOBODY), '1'],
          'uid_map inside is %r' % facts['uid_map'])
    check_inner_restore(ROOTLESS['before'], facts)


# ------------------------------------------------------ security cases

def crit(img, fname, edit):
    src = os.path.join(img, fname)
    js = src + '.json'
    r = run([CRIT, 'decode', '-i', src, '-o', js])
    check(r.returncode == 0, 'crit decode %s: %s' % (fname, r.stderr.strip()))
    with open(js) as f:
        data = json.load(f)
    edit(data)
    with open(js, 'w') as f:
        json.dump(data, f)
    r = run([CRIT, 'encode', '-i', js, '-o', src])
    check(r.returncode == 0, 'crit encode %s: %s' % (fname, r.stderr.strip()))
    os.unlink(js)


def leaf_pid():
    for t in ROOTLESS['before']['tree']:
        if not any(u['ppid'] == t['pid'] for u in ROOTLESS['before']['tree']) \
                and t['ppid'] is not None \
                and any(u['pid'] == t['ppid'] and u['ppid'] is not None
                        for u in ROOTLESS['before']['tree']):
            return t['pid']       # the grandchild
    raise Fail('no grandchild in the dumped tree')


def refused_restore(name, edit, words):
    """Restore edited images in a fresh rootless namespace: must fail with
    one clear line and leave nothing behind."""
    rootless_ok()
    d, img = copy_images(name)
    edit(img)
    chown_tree(d)
    st = os.path.join(d, 'state')
    os.makedirs(st)
    chown_tree(d)
    facts = run_inner(name, 'restore-fail', img, st)
    res = facts['restore']
    lines = res['stderr'].strip().splitlines()
    check(res['rc'] not in (0, None), 'restore exited %s; it must fail' %
          res['rc'])
    check(len(lines) == 1 and any(w in lines[0] for w in words),
          'want one stderr line naming %s, got %r\n    log tail:\n%s' %
          (' or '.join(words), res['stderr'],
           '\n'.join('    | ' + l for l in res['log'][-12:])))
    dumped = [t['pid'] for t in ROOTLESS['before']['tree']]
    procs = {int(k): v for k, v in facts['procs'].items()}
    check(not procs and not facts['tagged'],
          'left running in the namespace after the failed restore: %s '
          '(the tree was %s)' % (procs, dumped))
    check(not [p for p in dumped if p in procs], 'dumped pids alive')
    return lines[0]


def cases_security():
    def creds_of_leaf(edit):
        def f(img):
            crit(img, 'core-%d.img' % leaf_pid(),
                 lambda d: edit(d['entries'][0]['thread_core']['creds']))
        return f

    def uid1000(c):
        for k in ('uid', 'euid', 'suid', 'fsuid'):
            c[k] = 1000

    def eff_not_prm(c):
        # The effective set must be a subset of the permitted one: no task
        # can be in this state, and capset() refuses to make one.
        c['cap_prm'] = [0] * len(c['cap_prm'])
        c['cap_eff'] = [0xffffffff, (1 << (last_cap() + 1 - 32)) - 1]

    def exe_secret(img):
        secret = os.path.join(BASE, 'secret-exe')
        if not os.path.exists(secret):
            shutil.copy('/bin/true', secret)
            os.chmod(secret, 0o700)
        stt = os.stat(secret)
        new = {}

        root = ROOTLESS['before']['root']
        mm = {}
        crit(img, 'mm-%d.img' % root, lambda d: mm.update(d['entries'][0]))

        def add(d):
            # A copy of the exe's own entry, naming the secret file with
            # its true size and mode: only permission stands in the way.
            exe = [x for x in d['entries'] if x['id'] == mm['exe_file_id']]
            check(exe, 'files.img has no entry %d' % mm['exe_file_id'])
            ent = json.loads(json.dumps(exe[0]))
            ent['id'] = ent['reg']['id'] = 1 + max(x['id']
                                                    for x in d['entries'])
            ent['reg'].update(name=secret, size=stt.st_size,
                              mode=stt.st_mode)
            d['entries'].append(ent)
            new['id'] = ent['id']
        crit(img, 'files.img', add)
        crit(img, 'mm-%d.img' % root, lambda d: d['entries'][0].update(
            exe_file_id=new['id']))

    def rlimit_up(img):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY:
            raise Skip('RLIMIT_NOFILE has no hard limit here to exceed')

        def edit(d):
            lim = d['entries'][0]['tc']['rlimits']['rlimits']
            lim[resource.RLIMIT_NOFILE]['max'] = hard + 1
        crit(img, 'core-%d.img' % leaf_pid(), edit)

    yield ('rootless-evil-uid-unmapped', lambda n: refused_restore(
        n, creds_of_leaf(uid1000), ['uid', '1000']))
    yield ('rootless-evil-caps-eff-not-permitted', lambda n: refused_restore(
        n, creds_of_leaf(eff_not_prm), ['cap', 'Cap', 'CAP']))
    yield ('rootless-evil-exe-unreadable', lambda n: refused_restore(
        n, exe_secret, ['secret-exe', 'exe']))
    yield ('rootless-evil-rlimit-raised', lambda n: refused_restore(
        n, rlimit_up, ['CAP_SYS_RESOURCE']))


def last_cap():
    return int(read('/proc/sys/kernel/cap_last_cap', '40'))


# ------------------------------------------------------------------ main

def socket_inodes(pid):
    """The inodes of pid's socket fds."""
    out = set()
    for fd in os.listdir('/proc/%d/fd' % pid):
        link = read_link('/proc/%d/fd/%s' % (pid, fd))
        if link.startswith('socket:['):
            out.add(int(link[8:-1]))
    return out


def read_link(path):
    try:
        return os.readlink(path)
    except OSError:
        return ''


def netns_netlink(pid):
    """Inodes of the netlink sockets of pid's net namespace."""
    lines = (read('/proc/%d/net/netlink' % pid) or '').splitlines()[1:]
    return {int(l.split()[-1]) for l in lines if l.split()}


def netlink_case(name):
    """zdtm's sk_netlink00 in a net namespace of its own: its netlink
    sockets are made again in the new one, and pass the test's checks."""
    binary = os.path.join(os.path.dirname(os.path.dirname(CRIU)),
                          'test/zdtm/static/sk_netlink00')
    if not os.access(binary, os.X_OK):
        raise Skip('no %s' % binary)
    st, img = sandbox_dir(name)
    pidfile, out = os.path.join(st, 'test.pid'), os.path.join(st, 'test.out')
    scratch = os.path.join(st, TAG)    # puts the tag on its command line
    script = 'ip link set lo up && exec %s --pidfile=%s --outfile=%s --filename=%s' % (
        binary, pidfile, out, scratch)
    p = start(['unshare', '-Urpfmiun', '--mount-proc', '/bin/sh', '-c', script, TAG])
    check(wait_file(pidfile, 10, p), 'sk_netlink00 did not start')
    kids = children(p.pid)
    check(len(kids) == 1, 'unshare has children %s' % kids)
    root = kids[0]
    # /proc/PID/net/netlink lists bound sockets: all but the test's unbound one
    before = socket_inodes(root)
    check(len(before & netns_netlink(root)) == len(before) - 1,
          'setup: sockets %s, of which the namespace lists %s' %
          (sorted(before), sorted(before & netns_netlink(root))))
    res = dump(root, img, [root])
    check(res.returncode == 0, criu_failed('dump', res, os.path.join(img, 'dump.log')))
    check(not wait_gone([root]), 'the dumped test is still alive')
    rpid = os.path.join(BASE, name, 'restored.pid')
    res = criu(['restore', '-D', img, '-d', '--pidfile', rpid, '-o', 'restore.log', '-v4'],
               os.path.join(img, 'restore.log'))
    check(res.returncode == 0, criu_failed('restore', res, os.path.join(img, 'restore.log')))
    new = int((read(rpid) or '0').strip() or 0)
    check(new and alive(new), 'the restored test (host pid %s) is not running' % new)
    check(ns_link(new, 'net') != ns_link(os.getpid(), 'net'),
          'the restored test is in the host net namespace')
    after = socket_inodes(new)
    check(len(after) == len(before) and len(after & netns_netlink(new)) == len(after) - 1,
          'restored sockets %s, of which its namespace lists %s' %
          (sorted(after), sorted(after & netns_netlink(new))))
    host = netns_netlink(os.getpid())
    check(not (after & host), 'restored sockets %s are in the host namespace' %
          sorted(after & host))
    check(term_until_gone(new), 'the restored test did not exit on SIGTERM')
    verdict = (read(out) or '').strip()
    check(verdict == 'PASS', 'sk_netlink00 says %r (%s.log)' % (verdict, out))


def lo_events(path):
    return (read(path) or '').count(': lo: ')


def set_lo(pid, state):
    res = run(['nsenter', '-t', str(pid), '-U', '-n', 'ip', 'link', 'set', 'lo', state])
    check(res.returncode == 0, 'ip link set lo %s: %s' % (state, res.stderr.strip()))


def wait_events(path, n, timeout=5.0):
    deadline = time.monotonic() + timeout
    while lo_events(path) < n and time.monotonic() < deadline:
        time.sleep(0.02)
    return lo_events(path)


def ip_monitor_case(name):
    """`ip monitor link` (iproute2) as pid 1 of its own user, pid and net
    namespaces: after the restore it still prints the link events of its
    namespace, received through its restored RTMGRP_LINK socket."""
    st, img = sandbox_dir(name)
    out = os.path.join(st, 'monitor.out')
    ip = os.path.join(st, TAG)         # ip by a name that carries the tag
    os.symlink(shutil.which('ip'), ip)
    with open(out, 'w') as f:
        p = subprocess.Popen(['unshare', '-Urpfn', '--mount-proc', ip, 'monitor', 'link'],
                             stdin=subprocess.DEVNULL, stdout=f,
                             stderr=subprocess.STDOUT, start_new_session=True)
    STARTED.append(p)
    deadline = time.monotonic() + 5
    kids = []
    while not kids and time.monotonic() < deadline:
        kids = children(p.pid)
        time.sleep(0.02)
    check(len(kids) == 1, 'unshare has children %s' % kids)
    root = kids[0]
    time.sleep(0.3)                    # until it listens
    set_lo(root, 'up')
    check(wait_events(out, 1) == 1, 'setup: ip monitor printed %d lo events' % lo_events(out))
    res = dump(root, img, [root])
    check(res.returncode == 0, criu_failed('dump', res, os.path.join(img, 'dump.log')))
    check(not wait_gone([root]), 'the dumped ip monitor is still alive')
    rpid = os.path.join(BASE, name, 'restored.pid')
    res = criu(['restore', '-D', img, '-d', '--pidfile', rpid, '-o', 'restore.log', '-v4'],
               os.path.join(img, 'restore.log'))
    check(res.returncode == 0, criu_failed('restore', res, os.path.join(img, 'restore.log')))
    new = int((read(rpid) or '0').strip() or 0)
    check(new and alive(new), 'the restored ip monitor (host pid %s) is not running' % new)
    set_lo(new, 'down')
    set_lo(new, 'up')
    got = wait_events(out, 3)
    check(got == 3, 'ip monitor printed %d lo events, not 3 (1 before the dump, down and '
          'up after the restore):\n%s' % (got, read(out)))
    kill([new])


EPOLL_NETLINK = """
import select, socket, sys, time
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
s.bind((0, 1))
e = select.epoll()
e.register(s.fileno(), select.EPOLLIN)
open(sys.argv[1], 'w').write('%d %d' % (s.fileno(), e.fileno()))
while True:
    time.sleep(0.05)
"""


def epoll_netlink_case(name):
    """An epoll watching a netlink socket of the tree's own net namespace
    is refused at dump (criu adds epoll targets on its own anchors, before
    the namespace exists); the tree is left running as it was."""
    st, img = sandbox_dir(name)
    ready = os.path.join(st, 'ready')
    p = start(['unshare', '-Urpfn', '--mount-proc', PY, '-c', EPOLL_NETLINK, ready, TAG])
    check(wait_file(ready, 10, p), 'the python target did not start')
    root = children(p.pid)[0]
    sk, ep = map(int, read(ready).split())
    before = read('/proc/%d/fdinfo/%d' % (root, ep))
    res = dump(root, img, [root])
    lines = res.stderr.strip().splitlines()
    check(res.returncode != 0 and len(lines) == 1 and 'unsupported' in lines[0] and
          'epoll' in lines[0] and 'pid %d fd %d' % (root, sk) in lines[0],
          'dump exit %d; want one line naming pid %d fd %d and the epoll, got %r' %
          (res.returncode, root, sk, res.stderr))
    time.sleep(0.2)
    st_ = status(root)
    check(alive(root) and st_.get('TracerPid') == '0' and st_.get('State', 'T')[0] in 'RS',
          'the target is not running untraced after the refused dump: %s' % st_)
    check(read('/proc/%d/fdinfo/%d' % (root, ep)) == before,
          'the epoll changed after the refused dump')
    kill([root])
    return lines[0]


ROOTLESS_NETLINK = r"""
cd "$1"
unshare -n sh -c "ip link set lo up && exec $2 --pidfile=$1/pid --outfile=$1/out --filename=$1/$0" \
    </dev/null >/dev/null 2>&1
P=$(cat pid)
"$3" dump -t $P -D img -o dump.log -v4 --unprivileged 2>dump.err || { echo "dump failed"; exit 1; }
"$3" restore -D img -d -o restore.log -v4 --unprivileged 2>restore.err || { echo "restore failed"; exit 1; }
if [ "$(readlink /proc/$P/ns/net)" = "$(readlink /proc/self/ns/net)" ]; then
    echo "restored into the runner's net namespace"; exit 1
fi
kill -TERM $P
for i in $(seq 100); do [ -e /proc/$P ] || break; sleep 0.05; done
echo "verdict $(cat out)"
"""


def rootless_netlink_case(name):
    """Rootless: uid 65534 in a user namespace of its own dumps and
    restores sk_netlink00 running in a net namespace of its own (criu
    cannot go back to the host's net namespace, so sock_diag is asked from
    a child that entered the tree's)."""
    binary = os.path.join(os.path.dirname(os.path.dirname(CRIU)),
                          'test/zdtm/static/sk_netlink00')
    if not os.access(binary, os.X_OK):
        raise Skip('no %s' % binary)
    d = os.path.join(BASE, name)
    os.makedirs(os.path.join(d, 'img'))
    for x in (d, os.path.join(d, 'img')):
        os.chown(x, NOBODY, NOBODY)
    res = run(nobody_cmd(['/bin/bash', '-c', ROOTLESS_NETLINK, TAG, d, binary, CRIU]),
              timeout=60)
    out = res.stdout.strip()
    check(res.returncode == 0 and out.endswith('verdict PASS'),
          'rootless run: exit %d, %r %r\n    %s:\n%s\n    %s:\n%s' %
          (res.returncode, out, res.stderr, os.path.join(d, 'dump.log'),
           tail(os.path.join(d, 'img', 'dump.log'), 4), os.path.join(d, 'restore.log'),
           tail(os.path.join(d, 'img', 'restore.log'), 4)))


def all_cases():
    yield from cases_sandbox()
    yield from cases_inet()
    yield ('host-all-ns-netlink', netlink_case)
    yield ('host-all-ns-ip-monitor', ip_monitor_case)
    yield ('refuse-epoll-netlink-own-netns', epoll_netlink_case)
    yield ('rootless-netlink-own-netns', rootless_netlink_case)
    yield from cases_refuse()
    yield ('rootless-dump-restore', rootless_dump_restore)
    yield ('rootless-fresh-namespace', rootless_fresh)
    yield from cases_security()


def main():
    global CRIU, BASE
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--criu', default=os.path.join(REPO, 'build/criu/criu'))
    ap.add_argument('--keep', action='store_true',
                    help='keep the work directory even if all passed')
    ap.add_argument('-k', action='append', default=[],
                    help='run only cases whose name contains this')
    ap.add_argument('-v', action='store_true',
                    help='also print what criu said when it refused')
    args = ap.parse_args()
    CRIU = os.path.abspath(args.criu)
    if os.geteuid() != 0:
        print('test/ns/run.py must run as root', file=sys.stderr)
        return 2
    if not os.access(CRIU, os.X_OK):
        print('no criu at %s' % CRIU, file=sys.stderr)
        return 2
    for tool in ('unshare', 'nsenter', 'setpriv', 'ip', 'ipcmk', 'ipcs'):
        if not shutil.which(tool):
            print('missing tool: %s' % tool, file=sys.stderr)
            return 2
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print('cannot become a child subreaper', file=sys.stderr)
        return 2
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda s, f: sys.exit(128 + s))
    BASE = tempfile.mkdtemp(prefix='criu-ns-')
    os.chmod(BASE, 0o755)

    passed = failed = skipped = 0
    t0 = time.monotonic()
    try:
        for name, fn in all_cases():
            if args.k and not any(k in name for k in args.k):
                continue
            try:
                if time.monotonic() - t0 > BUDGET:
                    raise Fail('not run: the run used up its %ds' % BUDGET)
                said = fn(name)
            except Skip as e:
                skipped += 1
                print('SKIP %s: %s' % (name, e), flush=True)
            except Fail as e:
                failed += 1
                print('FAIL %s: %s' % (name, e), flush=True)
            except Exception:
                failed += 1
                print('FAIL %s: runner error:\n%s' %
                      (name, traceback.format_exc()), flush=True)
            else:
                passed += 1
                print('PASS %s' % name, flush=True)
                if args.v and said:
                    print('    stderr: %s' % said, flush=True)
            finally:
                sweep()
    except (KeyboardInterrupt, SystemExit):
        failed += 1
        print('FAIL interrupted: the run was stopped by a signal', flush=True)
    finally:
        sweep()
    print('%d passed, %d failed, %d skipped (%.1fs)' %
          (passed, failed, skipped, time.monotonic() - t0))
    if failed or args.keep:
        print('work directory kept: %s' % BASE)
    else:
        shutil.rmtree(BASE, ignore_errors=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
