#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""zdtm: run the static test programs under checkpoint/restore.

Each test program (test/zdtm/static/NAME.c, built into
<build>/test/zdtm/static/NAME) sets up one piece of state, writes its
pidfile and waits for SIGTERM; then it checks the state and writes PASS
or FAIL into its outfile.  For each test and flavor this runner:

  1. starts the test in a fresh work dir, test/zdtm/out/NAME/FLAVOR/,
     as uid/gid 65534 unless the test's NAME.desc says "root": true;
  2. captures /proc of every process of the tree (maps, stat, auxv, exe,
     cmdline, environ, status, comm, threads) and its memory;
  3. runs `criu dump`;
  4. checks the images: each one must decode with crit, and what they say
     must match the capture (pstree, core, mm, vmas, auxv, creds, pages);
  5. in dump-only mode (criu dump --leave-running) checks the tree was
     left as it was; in full mode restores it and checks /proc again;
  6. sends SIGTERM and requires PASS.

Flavors:
  h         the host: the test runs in the runner's namespaces.
  ns        `unshare -pf --mount-proc -m -u -i --time ...`: the test is
            the init (pid 1) of new pid, mount, UTS and IPC namespaces,
            and in a time namespace (TIMENS_OFFSETS).  The test
            library does not fork when it is pid 1, so the dumped tree's
            root is the namespace's init.
  uns       the same plus a new user namespace (unshare -Urpf ...), set up
            by root; the test runs as the namespace's root (host root).
  rootless  everything, criu included, runs as uid 65534 inside a user
            (and pid, mount, UTS, IPC) namespace that uid created itself:
            the runner starts itself as the init of that namespace
            (setpriv + unshare -Urpf, with /usr/bin/python3) and that inner
            runner starts the test, runs criu and does the checks.

A test's optional test/zdtm/static/NAME.desc holds JSON: "flavors" (where
it runs, default all four), "root" (run it as root, default false),
"opts" (extra criu options), "dump_opts" and "restore_opts" (for one
action only; {wd} is the test's work dir), "compare_mounts" (false: a
tree whose mounts were dumped whole may come back with other mount roots,
as an external mount bound from another path), "root_pipes" (N pipes made by root, passed
to the test, see ROOT_PIPES_ENV), "restore_mem" (false: no memory comparison
after a restore, for tests that run code when their restored syscall
returns EINTR) and "reason" (why).  See test/zdtm/README.md.

The runner is a child subreaper: daemonized tests and trees restored with
`criu restore -d` become its children, so it can reap them and read their
exit status, and nothing is left behind.
"""

import argparse
import bisect
import ctypes
import fcntl
import hashlib
import json
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'test', 'interchange'))
import criu_images  # noqa: E402  (what CRIU relies on in our images)
ZDTM_DIR = os.path.join(REPO, 'test', 'zdtm')
STATIC_DIR = os.path.join(ZDTM_DIR, 'static')
OUT_DIR = os.path.join(ZDTM_DIR, 'out')

ALL_FLAVORS = ('h', 'ns', 'uns', 'rootless')
# Flavors run when --flavor is not given.  Add 'ns', 'uns' and 'rootless'
# here once criu has namespace support.
DEFAULT_FLAVORS = ('h',)
# Mode when neither --dump-only nor --full is given: full (dump, restore,
# compare) since `criu restore` works; True makes dump-only the default.
DEFAULT_DUMP_ONLY = False

# Extra criu options per flavor (added to both dump and restore).
FLAVOR_CRIU_OPTS = {
    'h': [],
    'ns': [],
    'uns': [],
    'rootless': ['--unprivileged'],
}

TEST_UID = 65534
TEST_GID = 65534
CRIT = '/usr/bin/crit'
# Debian's python: crit needs it, and uid 65534 can run it (the rootless
# flavor's inner runner runs on it).
SYS_PYTHON = '/usr/bin/python3'
PAGE = 4096
ZERO_PAGE = bytes(PAGE)

TEST_ENV = {
    'PATH': '/usr/sbin:/usr/bin:/sbin:/bin',
    'LANG': 'C',
    'HOME': '/',
}

START_TIMEOUT = 10.0
CRIU_TIMEOUT = 120.0
EXIT_TIMEOUT = 10.0
ROOTLESS_TIMEOUT = 300.0
SIGTERM_REPEAT = 1.0

# Images stored without a CRIU header: not for crit.
RAW_IMAGES = re.compile(r'^(pages-\d+|tmpfs-dev-\d+\.tar\.gz)\.img$')

# Pagemap entry flags (images/pagemap.proto).
PE_PARENT = 1 << 0
PE_LAZY = 1 << 1
PE_PRESENT = 1 << 2

# /proc/PID/pagemap bits.
PM_PRESENT = 1 << 63
PM_SWAPPED = 1 << 62
PM_FILE = 1 << 61

# /proc/PID/stat fields (1-based) that criu's mm image must reproduce.
MM_STAT_FIELDS = {
    'mm_start_code': 26,
    'mm_end_code': 27,
    'mm_start_stack': 28,
    'mm_start_data': 45,
    'mm_end_data': 46,
    'mm_start_brk': 47,
    'mm_arg_start': 48,
    'mm_arg_end': 49,
    'mm_env_start': 50,
    'mm_env_end': 51,
}
STAT_FIELDS = sorted(MM_STAT_FIELDS.values())

# /proc/PID/status lines compared after a restore.
STATUS_KEYS = ('SigBlk', 'SigCgt', 'SigIgn', 'CapInh', 'CapPrm', 'CapEff',
               'CapBnd', 'CapAmb', 'NoNewPrivs', 'Seccomp', 'Seccomp_filters',
               'Uid', 'Gid', 'Groups')

# VMAs never read or compared by content.
NO_CONTENT = ('[vsyscall]', '[vvar]', '[vvar_vclock]')

VERBOSE = False


class TestFailure(Exception):
    """A test failed; the message says why, log names the log to read."""

    def __init__(self, msg, log=None):
        super().__init__(msg)
        self.log = log



# ns and uns put the test in a time namespace whose clocks are far from
# the host's (seconds), so a restore outside of it shows
TIMENS_OFFSETS = ['--monotonic', '86400', '--boottime', '172800']

def vlog(msg):
    if VERBOSE:
        print('  [%8.3f] %s' % (time.monotonic() % 100000, msg),
              file=sys.stderr, flush=True)


# ---------------------------------------------------------------------
# Tests and their descriptions

# A test whose .desc asks for "root_pipes": N gets N pipes made by the
# outer runner as root (so their inodes belong to uid 0, which a rootless
# criu may not reopen), both ends of each, named in this variable as
# "r0,w0,r1,w1,...".  The runner keeps its copies open until the end.
ROOT_PIPES_ENV = 'ZDTM_ROOT_PIPES'


def root_pipes(r, env):
    """The fds to pass for a test's root pipes (made here or inherited)."""
    n = r.desc['root_pipes']
    if not n:
        return []
    if r.inner:
        fds = [int(x) for x in os.environ[ROOT_PIPES_ENV].split(',')]
    else:
        fds = []
        for _ in range(n):
            fds.extend(os.pipe())
        r.own_fds.extend(fds)
    env[ROOT_PIPES_ENV] = ','.join(str(fd) for fd in fds)
    return fds


def list_tests():
    return sorted(f[:-2] for f in os.listdir(STATIC_DIR) if f.endswith('.c'))


def load_desc(name):
    desc = {'flavors': list(ALL_FLAVORS), 'root': False, 'opts': [],
            'reason': '', 'restore_mem': True, 'pause': 0, 'root_pipes': 0,
            'dump_only': True, 'dump_only_reason': '', 'criu_images': False,
            'cgroups': '', 'freeze_cgroup': False, 'compare_mounts': True}
    path = os.path.join(STATIC_DIR, name + '.desc')
    if os.path.exists(path):
        with open(path) as f:
            desc.update(json.load(f))
    return desc


# ---------------------------------------------------------------------
# Reading /proc

def read_bytes(path):
    with open(path, 'rb') as f:
        return f.read()


def read_text(path):
    return read_bytes(path).decode('utf-8', 'replace')


def parse_status(text):
    st = {}
    for line in text.splitlines():
        key, _, val = line.partition(':')
        st[key] = val.strip()
    return st


def parse_stat(text):
    """Returns {field number: int} for fields 3 and up (see proc(5))."""
    rest = text[text.rindex(')') + 2:].split()
    fields = {}
    for i, v in enumerate(rest):
        try:
            fields[i + 3] = int(v)
        except ValueError:
            fields[i + 3] = v
    return fields


MAPS_RE = re.compile(r'^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) '
                     r'(\S+) (\d+)\s*(.*)$')


def parse_maps(text):
    vmas = []
    for line in text.splitlines():
        m = MAPS_RE.match(line)
        if not m:
            raise TestFailure('odd maps line: %r' % line)
        vmas.append({
            'start': int(m.group(1), 16),
            'end': int(m.group(2), 16),
            'perms': m.group(3),
            'offset': int(m.group(4), 16),
            'dev': m.group(5),
            'inode': int(m.group(6)),
            'path': m.group(7),
        })
    return vmas


def prot_of(perms):
    return ((1 if perms[0] == 'r' else 0) | (2 if perms[1] == 'w' else 0) |
            (4 if perms[2] == 'x' else 0))


def last_id(st, key, fallback):
    """The innermost namespace's id from NSpid-style status lines."""
    val = st.get(key)
    if not val:
        return fallback
    return int(val.split()[-1])


def children_of_all():
    kids = {}
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            stat = parse_stat(read_text('/proc/%s/stat' % d))
        except (OSError, ValueError):
            continue
        kids.setdefault(stat[4], []).append(int(d))
    return kids


def tree_pids(root):
    kids = children_of_all()
    order, todo = [], [root]
    while todo:
        pid = todo.pop(0)
        order.append(pid)
        todo.extend(sorted(kids.get(pid, [])))
    return order


def thread_activity(root):
    """{tid: (state, context switches)} for every thread of the tree."""
    act = {}
    for pid in tree_pids(root):
        try:
            tids = os.listdir('/proc/%d/task' % pid)
        except OSError:
            continue
        for tid in tids:
            try:
                st = parse_status(read_text('/proc/%d/task/%s/status' %
                                            (pid, tid)))
            except OSError:
                continue
            act[int(tid)] = (st['State'][0], st['voluntary_ctxt_switches'],
                             st['nonvoluntary_ctxt_switches'])
    return act


def wait_idle(root, timeout=5.0):
    """Waits until every thread of the tree sleeps and stays asleep.

    A test is ready once it has written its pidfile, but it may still run
    a little (and a restored one returns into its wait); its memory must
    not change while it is captured and dumped.
    """
    deadline = time.monotonic() + timeout
    prev = None
    while time.monotonic() < deadline:
        act = thread_activity(root)
        if act == prev and all(a[0] in 'SDZT' for a in act.values()):
            return True
        prev = act
        time.sleep(0.03)
    vlog('the tree of %d did not settle: %s' % (root, prev))
    return False


def proc_state(pid):
    """The state letter of pid, or None if it is gone."""
    try:
        return parse_stat(read_text('/proc/%d/stat' % pid))[3]
    except (OSError, ValueError, IndexError):
        return None


# ---------------------------------------------------------------------
# Memory capture
#
# A VMA's content is kept as {page address: bytes} for its non-zero
# pages; zero pages are left out, so a never-touched anonymous page and a
# present page of zeroes compare equal.  Anonymous private pages are read
# only where pagemap says present (reading the others would fault pages
# in and change what criu sees); everything else readable is read whole.

class Masks:
    """Bytes the kernel itself rewrites, left out of comparisons.

    glibc registers an rseq area for every thread, and the kernel writes
    the current CPU (and node and memory-map concurrency id) into it
    whenever the thread returns to user space after moving: running the
    dumper's code in the task is enough.  The areas are found through the
    rseq registrations criu recorded.
    """

    def __init__(self):
        self.ranges = {}    # page address -> [(offset, length)]

    def add(self, addr, length):
        while length > 0:
            page = addr & ~(PAGE - 1)
            n = min(length, page + PAGE - addr)
            self.ranges.setdefault(page, []).append((addr - page, n))
            addr += n
            length -= n

    def add_rseq(self, ptr, size):
        self.add(ptr, 8)                # cpu_id_start, cpu_id
        if size > 20:
            self.add(ptr + 20, size - 20)   # node_id, mm_cid, ...

    def apply(self, addr, data):
        r = self.ranges.get(addr)
        if not r or data is None:
            return data
        b = bytearray(data)
        for off, n in r:
            b[off:off + n] = bytes(n)
        return bytes(b)


NO_MASKS = Masks()


class VmaMem:
    def __init__(self, vma):
        self.vma = vma
        self.pages = {}
        self.unreadable = set()
        self.anon_present = set()   # private pages with their own copy

    def sha256(self):
        h = hashlib.sha256()
        for addr in sorted(self.pages):
            h.update(struct.pack('<Q', addr))
            h.update(self.pages[addr])
        for addr in sorted(self.unreadable):
            h.update(struct.pack('<Qx', addr))
        return h.hexdigest()

    def content(self, addr, masks=NO_MASKS):
        if addr in self.unreadable:
            return None
        return masks.apply(addr, self.pages.get(addr, ZERO_PAGE))


def read_pagemap(fd, start, end):
    n = (end - start) // PAGE
    data = os.pread(fd, n * 8, (start // PAGE) * 8)
    if len(data) != n * 8:
        raise OSError('short pagemap read')
    return struct.unpack('<%dQ' % n, data)


def read_pages(fd, mem, addr, n):
    """Reads n pages at addr into mem, page by page after an error."""
    try:
        data = os.pread(fd, n * PAGE, addr)
    except OSError:
        data = b''
    if len(data) == n * PAGE:
        for i in range(n):
            page = data[i * PAGE:(i + 1) * PAGE]
            if page != ZERO_PAGE:
                mem.pages[addr + i * PAGE] = page
        return
    for i in range(n):
        a = addr + i * PAGE
        try:
            page = os.pread(fd, PAGE, a)
        except OSError:
            page = b''
        if len(page) != PAGE:
            mem.unreadable.add(a)
        elif page != ZERO_PAGE:
            mem.pages[a] = page


def zero_fill(vma):
    """Whether pages of the VMA that are not present read as zeroes."""
    path = vma['path']
    return vma['perms'][3] == 'p' and vma['inode'] == 0 and \
        (path in ('', '[heap]', '[stack]') or path.startswith('[anon:'))


def capture_vma(memfd, pmfd, vma):
    mem = VmaMem(vma)
    private = vma['perms'][3] == 'p'
    anon = zero_fill(vma)
    start, end = vma['start'], vma['end']
    pm = read_pagemap(pmfd, start, end)
    if private:
        for i, e in enumerate(pm):
            if e & (PM_PRESENT | PM_SWAPPED) and not e & PM_FILE:
                mem.anon_present.add(start + i * PAGE)
    if not anon:
        chunk = 256
        for a in range(start, end, chunk * PAGE):
            read_pages(memfd, mem, a, min(chunk, (end - a) // PAGE))
        return mem
    # Anonymous: read runs of present pages only.
    i, n = 0, len(pm)
    while i < n:
        if not pm[i] & (PM_PRESENT | PM_SWAPPED):
            i += 1
            continue
        j = i
        while j < n and pm[j] & (PM_PRESENT | PM_SWAPPED):
            j += 1
        read_pages(memfd, mem, start + i * PAGE, j - i)
        i = j
    return mem


def capture_mem(base, maps):
    mems = []
    memfd = os.open(base + '/mem', os.O_RDONLY)
    pmfd = os.open(base + '/pagemap', os.O_RDONLY)
    try:
        for vma in maps:
            if vma['path'] in NO_CONTENT:
                continue
            if vma['perms'][0] != 'r' and not zero_fill(vma):
                continue
            mems.append(capture_vma(memfd, pmfd, vma))
    finally:
        os.close(memfd)
        os.close(pmfd)
    return mems


# ---------------------------------------------------------------------
# Process tree capture

def capture_thread(pid, tid):
    base = '/proc/%d/task/%d' % (pid, tid)
    st = parse_status(read_text(base + '/status'))
    return {
        'tid': tid,
        'vtid': last_id(st, 'NSpid', tid),
        'SigBlk': st.get('SigBlk'),
        'seccomp': (st.get('Seccomp'), st.get('Seccomp_filters')),
        'comm': read_text(base + '/comm').rstrip('\n'),
    }


def capture_fds(base):
    fds = {}
    for name in os.listdir(base + '/fd'):
        try:
            target = os.readlink('%s/fd/%s' % (base, name))
            info = parse_status(read_text('%s/fdinfo/%s' % (base, name)))
        except OSError:
            continue    # closed meanwhile
        fds[int(name)] = {'target': target, 'pos': int(info['pos']),
                          'flags': int(info['flags'], 8), 'fdinfo': info}
    return fds


def live_threads(pid, tids):
    """The threads of pid but its leader that have not exited."""
    live = []
    for t in tids:
        if t == pid:
            continue
        try:
            if parse_stat(read_text('/proc/%d/task/%d/stat' % (pid, t)))[3] \
                    not in 'ZX':
                live.append(t)
        except (OSError, ValueError, IndexError):
            pass
    return live


def mounts_view(base):
    """mountinfo without mount ids and devices, peer groups renumbered."""
    out, groups = [], {}
    for line in read_text(base + '/mountinfo').splitlines():
        f = line.split()
        sep = f.index('-')
        tags = []
        for t in f[6:sep]:
            k, _, v = t.partition(':')
            if k in ('shared', 'master', 'propagate_from'):
                t = '%s:G%d' % (k, groups.setdefault(v, len(groups)))
            tags.append(t)
        out.append(' '.join(f[3:6] + tags + f[sep:]))
    return out


def capture_proc(pid, with_mem):
    base = '/proc/%d' % pid
    st = parse_status(read_text(base + '/status'))
    tids = sorted(int(t) for t in os.listdir(base + '/task'))
    # A leader that exited while other threads run on is a zombie thread of
    # a live process: its mm, files and so on are reached through a thread.
    live = live_threads(pid, tids) if st['State'][0] == 'Z' else []
    pbase = '%s/task/%d' % (base, live[0]) if live else base
    p = {
        'pid': pid,
        'ppid': int(st['PPid']),
        'vpid': last_id(st, 'NSpid', pid),
        'vpgid': last_id(st, 'NSpgid', None),
        'vsid': last_id(st, 'NSsid', None),
        'status': {k: st.get(k) for k in STATUS_KEYS + ('State',
                                                        'TracerPid')},
        'stat': parse_stat(read_text(pbase + '/stat')),
        'comm': read_text(base + '/comm').rstrip('\n'),
        'zombie': st['State'][0] == 'Z' and not live,
        'leader_exited': bool(live),
    }
    if p['vpgid'] is None:
        p['vpgid'] = p['stat'][5]
        p['vsid'] = p['stat'][6]
    p['threads'] = [capture_thread(pid, t) for t in tids]
    if p['zombie']:
        return p    # nothing else is left of it
    if live:
        p['leader_stat'] = parse_stat(read_text(base + '/stat'))
    auxv = read_bytes(pbase + '/auxv')
    p.update({
        'maps': parse_maps(read_text(pbase + '/maps')),
        'auxv': list(struct.unpack('<%dQ' % (len(auxv) // 8), auxv)),
        'exe': os.readlink(pbase + '/exe'),
        'cmdline': read_bytes(pbase + '/cmdline'),
        'environ': read_bytes(pbase + '/environ'),
        'cwd': os.readlink(pbase + '/cwd'),
        'root': os.readlink(pbase + '/root'),
        'umask': int(parse_status(read_text(pbase + '/status'))['Umask'], 8),
        # /proc/PID belongs to root while the task is not dumpable.
        'proc_owner': '%d:%d' % (os.stat(pbase).st_uid, os.stat(pbase).st_gid),
        'fds': capture_fds(pbase),
        'mounts': mounts_view(pbase),
    })
    p['mem'] = capture_mem(pbase, p['maps']) if with_mem else []
    return p


def capture_tree(root, with_mem=True):
    try:
        procs = [capture_proc(pid, with_mem) for pid in tree_pids(root)]
    except (OSError, KeyError, ValueError) as e:
        raise TestFailure('cannot capture the tree of %d: %s' % (root, e))
    vpids = {p['pid']: p['vpid'] for p in procs}
    for p in procs:
        p['vppid'] = vpids.get(p['ppid'], 0)
    return {'root': root, 'procs': procs}


def capture_summary(cap):
    """A JSON-friendly view of a capture, for the work dir."""
    out = []
    for p in cap['procs']:
        q = {k: v for k, v in p.items() if k not in ('mem', 'cmdline',
                                                     'environ')}
        if p['zombie']:
            out.append(q)
            continue
        q['cmdline'] = p['cmdline'].decode('utf-8', 'replace')
        q['environ'] = p['environ'].decode('utf-8', 'replace')
        q['mem'] = [{'start': '%x' % m.vma['start'],
                     'end': '%x' % m.vma['end'],
                     'path': m.vma['path'],
                     'pages': len(m.pages),
                     'sha256': m.sha256()} for m in p['mem']]
        out.append(q)
    return {'root': cap['root'], 'procs': out}


def _json_field(key, val):
    """'"key": val' with a list one element a line: json's C encoder
    only runs without indent, and the pure Python one is slow on
    tens of thousands of VMAs."""
    k = json.dumps(key)
    if not isinstance(val, list) or not val:
        return '  %s: %s' % (k, json.dumps(val, default=str))
    return '  %s: [\n%s\n  ]' % (k, ',\n'.join(
        '   ' + json.dumps(x, default=str) for x in val))


def save_capture(cap, path):
    s = capture_summary(cap)
    procs = [' {\n%s\n }' % ',\n'.join(_json_field(k, v)
                                         for k, v in p.items())
             for p in s['procs']]
    with open(path, 'w') as f:
        f.write('{"root": %s, "procs": [\n%s\n]}\n' %
                (json.dumps(s['root'], default=str), ',\n'.join(procs)))


# ---------------------------------------------------------------------
# Comparing two captures (before the dump, and after --leave-running or
# after the restore)

def vma_key(v, deleted_ok=True):
    inode = v['inode']
    if deleted_ok and v['path'].endswith('(deleted)'):
        inode = None    # a restored deleted file is a new inode
    return (v['start'], v['end'], v['perms'], v['offset'], v['dev'], inode,
            v['path'])


def fmt_vma(v):
    return '%x-%x %s %x %s %s %s' % (v['start'], v['end'], v['perms'],
                                     v['offset'], v['dev'], v['inode'],
                                     v['path'])


def diff_maps(a, b, errs, who):
    ka = [vma_key(v) for v in a]
    kb = [vma_key(v) for v in b]
    if ka == kb:
        return
    sa, sb = set(ka), set(kb)
    gone = [fmt_vma(v) for v in a if vma_key(v) not in sb]
    new = [fmt_vma(v) for v in b if vma_key(v) not in sa]
    errs.append('%s: maps differ; before only: %s; after only: %s' %
                (who, gone[:4], new[:4]))


def describe_diff(addr, was, now):
    """'ADDR+OFF: NOW, was WAS' for the first differing bytes."""
    if was is None or now is None:
        return '%x (%s)' % (addr, 'unreadable before' if was is None
                            else 'unreadable now')
    off = next(j for j in range(PAGE) if was[j] != now[j])
    return '%x+%x: %s, was %s' % (addr, off, now[off:off + 8].hex(),
                                  was[off:off + 8].hex())


def diff_mem(a, b, errs, who, masks):
    bm = {(m.vma['start'], m.vma['end']): m for m in b}
    for ma in a:
        key = (ma.vma['start'], ma.vma['end'])
        mb = bm.get(key)
        if mb is None:
            continue    # the maps comparison reports it
        addrs = sorted(set(ma.pages) | set(mb.pages) | ma.unreadable |
                       mb.unreadable)
        bad = [x for x in addrs
               if ma.content(x, masks) != mb.content(x, masks)]
        if not bad:
            continue
        first = describe_diff(bad[0], ma.content(bad[0], masks),
                              mb.content(bad[0], masks))
        errs.append('%s: memory of %x-%x %s differs in %d pages, first %s' %
                    (who, key[0], key[1], ma.vma['path'] or '[anon]',
                     len(bad), first))


ANON_OBJ = re.compile(r'^(pipe|socket|anon_inode:[^\[]*|user|pid|mnt|uts|ipc|net|cgroup|time)'
                      r'(?::)?\[(\d+)\]$')


def fd_view(fds):
    """fds with pipe, socket and namespace inode numbers replaced by labels in order
    of appearance: a restored pipe is a new inode, but the fds that shared
    one must still share one."""
    labels, view = {}, {}
    for fd in sorted(fds):
        f = fds[fd]
        target = f['target']
        m = ANON_OBJ.match(target)
        if m:
            key = (m.group(1), m.group(2))
            labels.setdefault(key, len(labels))
            target = '%s#%d' % (m.group(1), labels[key])
        view[fd] = (target, f['pos'], '%o' % f['flags'])
    return view


# /proc/PID/stat field 52: the exit code, in waitpid()'s encoding.
STAT_EXIT_CODE = 52


def compare_zombies(pa, pb, root, who, errs):
    if not (pa['zombie'] and pb['zombie']):
        errs.append('%s: state %s -> %s' %
                    (who, pa['status']['State'], pb['status']['State']))
        return
    for k in ('vppid', 'vpgid', 'vsid', 'comm'):
        if pa[k] != pb[k] and not (k == 'vppid' and pa['pid'] == root):
            errs.append('%s: %s %r -> %r' % (who, k, pa[k], pb[k]))
    ea = pa['stat'].get(STAT_EXIT_CODE)
    eb = pb['stat'].get(STAT_EXIT_CODE)
    if ea != eb:
        errs.append('%s: zombie exit code %s -> %s' % (who, ea, eb))


def compare_captures(pre, post, what, masks, mem=True, mounts=False):
    errs = []
    a = {p['vpid']: p for p in pre['procs']}
    b = {p['vpid']: p for p in post['procs']}
    if sorted(a) != sorted(b):
        raise TestFailure('%s: the tree is %s, was %s' %
                          (what, sorted(b), sorted(a)))
    for vpid, pa in sorted(a.items()):
        pb = b[vpid]
        who = '%s: pid %d' % (what, vpid)
        if pa['zombie'] or pb['zombie']:
            compare_zombies(pa, pb, pre['root'], who, errs)
            continue
        if pa['leader_exited'] != pb['leader_exited']:
            errs.append('%s: leader exited %s -> %s' %
                        (who, pa['leader_exited'], pb['leader_exited']))
            continue
        if pa['leader_exited']:
            # the leader's own exit code, as /proc/PID/stat shows it
            ea = pa['leader_stat'].get(STAT_EXIT_CODE)
            eb = pb['leader_stat'].get(STAT_EXIT_CODE)
            if ea != eb or pb['status']['State'][0] != 'Z':
                errs.append('%s: exited leader %s with code %s -> %s with %s' %
                            (who, pa['status']['State'], ea,
                             pb['status']['State'], eb))
        for k in ('vppid', 'vpgid', 'vsid', 'exe', 'comm', 'cmdline',
                  'environ', 'auxv', 'cwd', 'root', 'umask', 'proc_owner'):
            if pa[k] != pb[k] and not (k == 'vppid' and pa['pid'] ==
                                       pre['root']):
                errs.append('%s: %s %r -> %r' % (who, k, pa[k], pb[k]))
        fa, fb = fd_view(pa['fds']), fd_view(pb['fds'])
        if fa != fb:
            diff = sorted(set(fa) | set(fb))
            errs.append('%s: fds differ: %s' % (who, [
                (fd, fa.get(fd), fb.get(fd)) for fd in diff
                if fa.get(fd) != fb.get(fd)][:4]))
        ta = [(t['vtid'], t['SigBlk'], t['seccomp'], t['comm'])
              for t in pa['threads']]
        tb = [(t['vtid'], t['SigBlk'], t['seccomp'], t['comm'])
              for t in pb['threads']]
        if ta != tb:
            errs.append('%s: threads %s -> %s' % (who, ta, tb))
        for n in STAT_FIELDS:
            if pa['stat'].get(n) != pb['stat'].get(n):
                errs.append('%s: stat field %d %s -> %s' %
                            (who, n, pa['stat'].get(n), pb['stat'].get(n)))
        sa, sb = pa['status']['State'][0], pb['status']['State'][0]
        if (sa == 'T') != (sb == 'T'):
            errs.append('%s: state %s -> %s' % (who, pa['status']['State'],
                                                pb['status']['State']))
        for k in STATUS_KEYS:
            if pa['status'].get(k) != pb['status'].get(k):
                errs.append('%s: status %s %r -> %r' %
                            (who, k, pa['status'].get(k),
                             pb['status'].get(k)))
        if mounts and pa.get('mounts') != pb.get('mounts'):
            ma, mb = pa.get('mounts') or [], pb.get('mounts') or []
            errs.append('%s: mounts differ: %s' % (who, [
                (x, y) for x, y in zip(ma + [None] * len(mb), mb + [None] * len(ma))
                if x != y][:3]))
        diff_maps(pa['maps'], pb['maps'], errs, who)
        if mem:
            diff_mem(pa['mem'], pb['mem'], errs, who, masks)
    if errs:
        raise TestFailure('; '.join(errs[:6]) +
                          ('; ...' if len(errs) > 6 else ''))


# ---------------------------------------------------------------------
# Checking the images against a capture

def decode_images(imgdir):
    """Decodes every image but the raw ones with crit, in parallel."""
    procs = {}
    for name in sorted(os.listdir(imgdir)):
        if not (name.endswith('.img') or name.startswith('stats-')) or \
                RAW_IMAGES.match(name):
            continue
        procs[name] = subprocess.Popen(
            [CRIT, 'decode', '-i', os.path.join(imgdir, name)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    imgs, errs = {}, []
    for name, p in procs.items():
        out, err = p.communicate(timeout=120)
        if p.returncode:
            lines = err.decode('utf-8', 'replace').strip().splitlines()
            errs.append('crit cannot decode %s: %s' %
                        (name, lines[-1] if lines else 'exit %d' %
                         p.returncode))
            continue
        try:
            imgs[name] = json.loads(out)
        except ValueError as e:
            errs.append('crit output for %s is not JSON: %s' % (name, e))
    if errs:
        raise TestFailure('; '.join(errs[:4]))
    return imgs


def entries(imgs, name, magic=None):
    img = imgs.get(name)
    if img is None:
        raise TestFailure('no %s in the images' % name)
    if magic and img.get('magic') != magic:
        raise TestFailure('%s has magic %s, not %s' %
                          (name, img.get('magic'), magic))
    return img.get('entries', [])


def as_int(v):
    if isinstance(v, str):
        return int(v, 0)
    return v


def status_ids(st, key):
    return [int(x) for x in st[key].split()]


def check_pstree(imgs, cap, errs):
    pst = entries(imgs, 'pstree.img', 'PSTREE')
    by_pid = {e.get('pid'): e for e in pst}
    want = {p['vpid']: p for p in cap['procs']}
    if sorted(by_pid) != sorted(want):
        errs.append('pstree has pids %s, the tree is %s' %
                    (sorted(by_pid), sorted(want)))
    for vpid, p in want.items():
        e = by_pid.get(vpid)
        if e is None:
            continue
        ppid = e.get('ppid', 0)
        if p['pid'] == cap['root']:
            if ppid not in (0, p['vppid']):
                errs.append('pstree: root %d has ppid %d' % (vpid, ppid))
        elif ppid != p['vppid']:
            errs.append('pstree: %d has ppid %d, not %d' %
                        (vpid, ppid, p['vppid']))
        for k, want_v in (('pgid', p['vpgid']), ('sid', p['vsid'])):
            if e.get(k, 0) != want_v:
                errs.append('pstree: %d has %s %s, not %s' %
                            (vpid, k, e.get(k), want_v))
        threads = sorted(e.get('threads', []))
        vtids = sorted(t['vtid'] for t in p['threads'])
        if threads != vtids:
            errs.append('pstree: %d has threads %s, not %s' %
                        (vpid, threads, vtids))


def check_creds(creds, st, who, errs):
    uids = status_ids(st, 'Uid')
    gids = status_ids(st, 'Gid')
    for i, k in enumerate(('uid', 'euid', 'suid', 'fsuid')):
        if k in creds and creds[k] != uids[i]:
            errs.append('%s: creds %s %d, /proc says %d' %
                        (who, k, creds[k], uids[i]))
    for i, k in enumerate(('gid', 'egid', 'sgid', 'fsgid')):
        if k in creds and creds[k] != gids[i]:
            errs.append('%s: creds %s %d, /proc says %d' %
                        (who, k, creds[k], gids[i]))
    if 'uid' not in creds or 'gid' not in creds:
        errs.append('%s: creds without uid/gid' % who)


def check_sigset(val, sigblk, who, errs):
    if val is None:
        return False
    if as_int(val) != int(sigblk, 16):
        errs.append('%s: blk_sigset %x, SigBlk %s' %
                    (who, as_int(val), sigblk))
    return True


def check_zombie_core(imgs, p, errs):
    name = 'core-%d.img' % p['vpid']
    core = entries(imgs, name, 'CORE')
    tc = core[0].get('tc', {}) if core else {}
    # CRIU's images call a zombie's state TASK_DEAD (2).
    if tc.get('task_state') != 2:
        errs.append('%s: task_state %s for a zombie' %
                    (name, tc.get('task_state')))
    if tc.get('exit_code', 0) != p['stat'].get(STAT_EXIT_CODE):
        errs.append('%s: exit_code %s, stat says %s' %
                    (name, tc.get('exit_code'),
                     p['stat'].get(STAT_EXIT_CODE)))


def check_core(imgs, p, errs):
    if p['zombie']:
        check_zombie_core(imgs, p, errs)
        return
    for t in p['threads']:
        name = 'core-%d.img' % t['vtid']
        who = name
        core = entries(imgs, name, 'CORE')
        if len(core) != 1:
            errs.append('%s has %d entries' % (name, len(core)))
            continue
        core = core[0]
        tc = core.get('tc')
        thc = core.get('thread_core', {})
        is_main = t['tid'] == p['pid']
        found = check_sigset(thc.get('blk_sigset'), t['SigBlk'], who, errs)
        if is_main:
            if tc is None:
                errs.append('%s: no task core' % who)
                continue
            if tc.get('comm') != p['comm']:
                errs.append('%s: comm %r, /proc says %r' %
                            (who, tc.get('comm'), p['comm']))
            # (crit knows no leader_exited: CRIU has no such field)
            if p['leader_exited'] and tc.get('exit_code', 0) != \
                    p['leader_stat'].get(STAT_EXIT_CODE):
                errs.append('%s: exit_code %s of the exited leader, stat says %s'
                            % (who, tc.get('exit_code'),
                               p['leader_stat'].get(STAT_EXIT_CODE)))
            state = tc.get('task_state')
            want = ((3, 'Stopped') if p['status']['State'][0] == 'T' else
                    (1, 'Alive', None))
            if state not in want:
                errs.append('%s: task_state %s' % (who, state))
            found |= check_sigset(tc.get('blk_sigset'), t['SigBlk'], who,
                                  errs)
        elif 'comm' in thc and thc['comm'] != t['comm']:
            errs.append('%s: comm %r, /proc says %r' %
                        (who, thc['comm'], t['comm']))
        if not found:
            errs.append('%s: no blk_sigset' % who)
        creds = thc.get('creds')
        if creds is None and is_main and 'creds-%d.img' % p['vpid'] in imgs:
            creds = entries(imgs, 'creds-%d.img' % p['vpid'])[0]
        if creds is not None:
            check_creds(creds, p['status'], who, errs)
        elif is_main:
            errs.append('%s: no creds' % who)


O_CLOEXEC = 0o2000000


def file_entries(imgs):
    return {e['id']: e for e in entries(imgs, 'files.img', 'FILES')}


def file_name(files, fid):
    f = files.get(fid)
    if f is None:
        return None
    return f.get('reg', {}).get('name')


def check_files(imgs, p, errs):
    """fds, cwd, root, umask and exe against the files images."""
    ids = entries(imgs, 'ids-%d.img' % p['vpid'], 'IDS')[0]
    files = file_entries(imgs)
    name = 'fdinfo-%d.img' % ids.get('files_id', 0)
    fdinfo = {e['fd']: e for e in entries(imgs, name, 'FDINFO')}
    if sorted(fdinfo) != sorted(p['fds']):
        errs.append('%s: fds %s, /proc says %s' %
                    (name, sorted(fdinfo), sorted(p['fds'])))
    for fd, e in sorted(fdinfo.items()):
        pf = p['fds'].get(fd)
        f = files.get(e.get('id'))
        if pf is None:
            continue
        who = '%s: fd %d' % (name, fd)
        if f is None:
            errs.append('%s: file id %s not in files.img' %
                        (who, e.get('id')))
            continue
        if bool(e.get('flags', 0) & 1) != bool(pf['flags'] & O_CLOEXEC):
            errs.append('%s: close-on-exec differs' % who)
        check_file(f, pf, who, errs)
    fs = entries(imgs, 'fs-%d.img' % p['vpid'], 'FS')[0]
    for k, want in (('cwd_id', p['cwd']), ('root_id', p['root'])):
        got = file_name(files, fs.get(k))
        if got != want:
            errs.append('fs-%d.img: %s names %r, /proc says %r' %
                        (p['vpid'], k, got, want))
    if fs.get('umask') != p['umask']:
        errs.append('fs-%d.img: umask %s, /proc says %o' %
                    (p['vpid'], fs.get('umask'), p['umask']))


def check_file(f, pf, who, errs):
    flags = pf['flags'] & ~O_CLOEXEC
    kind = f.get('type')
    if kind == 'REG':
        r = f.get('reg', {})
        if not pf['target'].endswith(' (deleted)') and \
                r.get('name') != pf['target']:
            errs.append('%s: name %r, /proc says %r' %
                        (who, r.get('name'), pf['target']))
        if r.get('pos', 0) != pf['pos'] or r.get('flags', 0) != flags:
            errs.append('%s: pos %s flags %o, /proc says %d %o' %
                        (who, r.get('pos'), r.get('flags', 0), pf['pos'],
                         flags))
    elif kind == 'PIPE':
        pe = f.get('pipe', {})
        m = ANON_OBJ.match(pf['target'])
        if not m or int(m.group(2)) != pe.get('pipe_id'):
            errs.append('%s: pipe_id %s, /proc says %s' %
                        (who, pe.get('pipe_id'), pf['target']))
        if pe.get('flags', 0) != flags:
            errs.append('%s: flags %o, /proc says %o' %
                        (who, pe.get('flags', 0), flags))
    elif kind == 'UNIXSK':
        u = f.get('usk', {})
        m = ANON_OBJ.match(pf['target'])
        if not m or m.group(1) != 'socket' or int(m.group(2)) != u.get('ino'):
            errs.append('%s: usk.ino %s, /proc says %s' %
                        (who, u.get('ino'), pf['target']))
        if img_int(u.get('flags')) != flags:
            errs.append('%s: usk.flags %o, /proc says %o' %
                        (who, img_int(u.get('flags')), flags))
    elif kind in ANON_CHECKS:
        check_anon_file(f, pf, flags, who, errs)


def img_int(v):
    """crit shows fields marked hex in CRIU's .proto as '0x...' strings."""
    return int(v, 0) if isinstance(v, str) else int(v or 0)


def fdinfo_pair(v):
    """'(sec, nsec)' of timerfd fdinfo, in ns."""
    sec, nsec = v.strip('()').split(',')
    return int(sec) * 10**9 + int(nsec)


# eventfd, signalfd, timerfd: (file_entry field, checks of the entry
# against fdinfo: (field, fdinfo value as the image should hold it, op))
ANON_CHECKS = {
    'EVENTFD': ('efd', [('counter', lambda i: int(i['eventfd-count'], 16),
                         '==')]),
    'SIGNALFD': ('sgfd', [('sigmask', lambda i: int(i['sigmask'], 16),
                           '==')]),
    # ticks only grow: the dump brings them up to date after the capture
    'TIMERFD': ('tfd', [('clockid', lambda i: int(i['clockid']), '=='),
                        ('settime_flags',
                         lambda i: int(i['settime flags'], 8), '=='),
                        ('ticks', lambda i: int(i['ticks']), '>=')]),
}


def check_anon_file(f, pf, flags, who, errs):
    field, checks = ANON_CHECKS[f['type']]
    e, info = f.get(field, {}), pf.get('fdinfo', {})
    if img_int(e.get('flags')) != flags:
        errs.append('%s: %s flags %o, /proc says %o' %
                    (who, field, img_int(e.get('flags')), flags))
    if f['type'] == 'TIMERFD':
        intv = img_int(e.get('isec')) * 10**9 + img_int(e.get('insec'))
        if intv != fdinfo_pair(info['it_interval']):
            errs.append('%s: interval %d ns, /proc says %s' %
                        (who, intv, info['it_interval']))
    for name, want, op in checks:
        got, w = img_int(e.get(name)), want(info)
        if not (got == w if op == '==' else got >= w):
            errs.append('%s: %s.%s %d, /proc says %d' %
                        (who, field, name, got, w))


def check_exe(imgs, mm, p, errs):
    if p['exe'].endswith(' (deleted)'):
        return
    got = file_name(file_entries(imgs), mm.get('exe_file_id'))
    if got != p['exe']:
        errs.append('mm-%d.img: exe_file_id names %r, /proc says %r' %
                    (p['vpid'], got, p['exe']))


def norm_auxv(words):
    """Up to the AT_NULL pair (criu leaves it out, as CRIU can hold only 44
    words), at most 44 words."""
    for i in range(0, len(words) - 1, 2):
        if words[i] == 0:
            return list(words[:min(i, 44)])
    return list(words[:44])


def page_align(x):
    return (x + PAGE - 1) & ~(PAGE - 1)


def check_mm(imgs, p, errs):
    name = 'mm-%d.img' % p['vpid']
    mm = entries(imgs, name, 'MM')
    if len(mm) != 1:
        errs.append('%s has %d entries' % (name, len(mm)))
        return
    mm = mm[0]
    for k, n in MM_STAT_FIELDS.items():
        if as_int(mm.get(k, 0)) != p['stat'][n]:
            errs.append('%s: %s %x, stat field %d is %x' %
                        (name, k, as_int(mm.get(k, 0)), n, p['stat'][n]))
    brk = as_int(mm.get('mm_brk', 0))
    heap = [v for v in p['maps'] if v['path'] == '[heap]']
    if heap and page_align(brk) != heap[0]['end']:
        errs.append('%s: mm_brk %x, [heap] ends at %x' %
                    (name, brk, heap[0]['end']))
    if brk < as_int(mm.get('mm_start_brk', 0)):
        errs.append('%s: mm_brk %x below mm_start_brk' % (name, brk))
    auxv = [as_int(x) for x in mm.get('mm_saved_auxv', [])]
    if norm_auxv(auxv) != norm_auxv(p['auxv']):
        errs.append('%s: mm_saved_auxv differs from /proc/PID/auxv' % name)
    check_vmas(name, mm.get('vmas', []), p['maps'], errs)
    check_exe(imgs, mm, p, errs)


def check_vmas(name, img_vmas, maps, errs):
    want = [(v['start'], v['end'], prot_of(v['perms']), v['perms'][3] == 's')
            for v in maps]
    have = []
    for v in img_vmas:
        flags = as_int(v.get('flags', 0))
        have.append((as_int(v.get('start', 0)), as_int(v.get('end', 0)),
                     as_int(v.get('prot', 0)), bool(flags & 1)))
    if sorted(have) == want:
        return
    sw, sh = set(want), set(have)
    fmt = lambda x: '%x-%x prot %d%s' % (x[0], x[1], x[2],
                                         ' shared' if x[3] else '')
    errs.append('%s: vmas differ from maps; missing %s; extra %s' %
                (name, [fmt(x) for x in want if x not in sh][:4],
                 [fmt(x) for x in sorted(have) if x not in sw][:4]))


class MemIndex:
    """Finds the captured VMA holding an address."""

    def __init__(self, mems):
        self.mems = sorted(mems, key=lambda m: m.vma['start'])
        self.starts = [m.vma['start'] for m in self.mems]

    def find(self, addr):
        i = bisect.bisect_right(self.starts, addr) - 1
        if i >= 0 and addr < self.mems[i].vma['end']:
            return self.mems[i]
        return None


class MapsIndex:
    """Whether an address is in some VMA, by binary search (maps are sorted)."""

    def __init__(self, maps):
        self.maps = sorted(maps, key=lambda v: v['start'])
        self.starts = [v['start'] for v in self.maps]

    def __contains__(self, addr):
        i = bisect.bisect_right(self.starts, addr) - 1
        return i >= 0 and addr < self.maps[i]['end']


class ParentPages:
    """The pages of one task in the chain of parent dumps (PE_PARENT runs)."""

    def __init__(self, imgdir, vpid):
        self.levels = []
        d = imgdir
        while os.path.islink(os.path.join(d, 'parent')) and len(self.levels) < 64:
            d = os.path.realpath(os.path.join(d, 'parent'))
            self.levels.append(self.load(d, vpid))

    @staticmethod
    def load(d, vpid):
        out = subprocess.run([CRIT, 'decode', '-i',
                              os.path.join(d, 'pagemap-%d.img' % vpid)],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        if out.returncode:
            return None
        pm = json.loads(out.stdout)['entries']
        with open(os.path.join(d, 'pages-%d.img' % pm[0]['pages_id']), 'rb') as f:
            data = f.read()
        runs, pos = [], 0
        for e in pm[1:]:
            vaddr, nr = as_int(e.get('vaddr', 0)), e.get('nr_pages', 0)
            flags = e.get('flags', PE_PRESENT)
            if flags & PE_PARENT:
                runs.append((vaddr, nr, None))
            elif flags & PE_PRESENT:
                runs.append((vaddr, nr, pos))
                pos += nr * PAGE
        return runs, data

    def get(self, addr, level=0):
        if level >= len(self.levels) or self.levels[level] is None:
            return None
        runs, data = self.levels[level]
        for vaddr, nr, pos in runs:
            if vaddr <= addr < vaddr + nr * PAGE:
                if pos is None:
                    return self.get(addr, level + 1)
                off = pos + addr - vaddr
                return data[off:off + PAGE]
        return None


def check_pages(imgs, imgdir, p, errs, masks):
    name = 'pagemap-%d.img' % p['vpid']
    pm = entries(imgs, name, 'PAGEMAP')
    if not pm or 'pages_id' not in pm[0]:
        errs.append('%s: no header with pages_id' % name)
        return
    pages_name = 'pages-%d.img' % pm[0]['pages_id']
    try:
        with open(os.path.join(imgdir, pages_name), 'rb') as f:
            data = f.read()
    except OSError as e:
        errs.append('%s: %s' % (pages_name, e))
        return
    index = MemIndex(p['mem'])
    in_maps = MapsIndex(p['maps'])
    pos, last_end, dumped = 0, 0, set()
    bad, unverified = [], 0
    parent = None
    for e in pm[1:]:
        vaddr, nr = as_int(e.get('vaddr', 0)), e.get('nr_pages', 0)
        flags = e.get('flags')
        if flags is None:
            in_parent = e.get('in_parent', False)
            has_data = not in_parent
        else:
            in_parent = bool(flags & PE_PARENT)
            has_data = bool(flags & PE_PRESENT)
        if vaddr % PAGE or nr <= 0 or vaddr < last_end:
            errs.append('%s: entry %x+%d out of order or odd' %
                        (name, vaddr, nr))
            return
        last_end = vaddr + nr * PAGE
        if not has_data and not in_parent:
            continue
        if in_parent and parent is None:
            parent = ParentPages(imgdir, p['vpid'])
        for i in range(nr):
            addr = vaddr + i * PAGE
            dumped.add(addr)
            if in_parent:
                # what the chain of parent dumps holds must be memory now
                got = parent.get(addr)
                if got is None:
                    errs.append('%s: page %x is in no parent dump' % (name, addr))
                    return
            else:
                got = data[pos:pos + PAGE]
                pos += PAGE
            if len(got) != PAGE:
                errs.append('%s ends before page %x' % (pages_name, addr))
                return
            if addr not in in_maps:
                bad.append('%x (not in any vma)' % addr)
                continue
            m = index.find(addr)
            want = m.content(addr, masks) if m else None
            got = masks.apply(addr, got)
            if want is None:
                unverified += 1
            elif got != want:
                bad.append('%s (%s)' % (describe_diff(addr, want, got),
                                        m.vma['path'] or 'anon'))
    if pos != len(data):
        errs.append('%s has %d bytes, pagemap accounts for %d' %
                    (pages_name, len(data), pos))
    if bad:
        errs.append('%s: %d dumped pages differ from memory: %s' %
                    (pages_name, len(bad), bad[:4]))
    missing = []
    for m in p['mem']:
        for addr in sorted(m.anon_present):
            if addr not in dumped and m.content(addr) not in (None,
                                                             ZERO_PAGE):
                missing.append('%x (%s)' % (addr, m.vma['path'] or 'anon'))
    if missing:
        errs.append('%s: %d pages with data were not dumped: %s' %
                    (name, len(missing), missing[:4]))
    vlog('%s: %d pages checked, %d not verifiable' %
         (name, len(dumped), unverified))


def rseq_masks(imgs):
    masks = Masks()
    for name, img in imgs.items():
        if not name.startswith('core-'):
            continue
        for e in img.get('entries', []):
            rs = e.get('thread_core', {}).get('rseq_entry')
            if rs and as_int(rs.get('rseq_abi_pointer', 0)):
                masks.add_rseq(as_int(rs['rseq_abi_pointer']),
                               rs.get('rseq_abi_size', 32))
    return masks


def check_images(imgdir, cap, rewritten=False):
    """Checks the images against the capture; returns the masks.
    rewritten: they were put in CRIU's form before the restore."""
    imgs = decode_images(imgdir)
    vlog('decoded %d images' % len(imgs))
    masks = rseq_masks(imgs)
    errs = []
    entries(imgs, 'inventory.img', 'INVENTORY')
    check_pstree(imgs, cap, errs)
    errs.extend(criu_images.check(imgdir, imgs, cap, rewritten))
    for p in cap['procs']:
        try:
            check_core(imgs, p, errs)
            if p['zombie']:
                continue
            check_mm(imgs, p, errs)
            check_files(imgs, p, errs)
            check_pages(imgs, imgdir, p, errs, masks)
        except TestFailure as e:
            errs.append(str(e))
    if errs:
        raise TestFailure('images: ' + '; '.join(errs[:6]) +
                          ('; ...' if len(errs) > 6 else ''))
    return masks


# ---------------------------------------------------------------------
# Processes

def set_subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_CHILD_SUBREAPER = 36
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0):
        print('warning: cannot become a child subreaper', file=sys.stderr)


def try_reap(pid):
    """Returns the wait status, None while running, -1 if gone unseen."""
    try:
        ret, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        state = proc_state(pid)
        return -1 if state in (None, 'Z', 'X') else None
    return status if ret == pid else None


def kill_quiet(pid, sig):
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def reap_orphans():
    """Kills and reaps whatever was left to the runner."""
    me = os.getpid()
    for _ in range(50):
        kids = children_of_all().get(me, [])
        for pid in kids:
            kill_quiet(pid, signal.SIGKILL)
        while True:
            try:
                ret, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if ret == 0:
                break
        if not kids:
            return
        time.sleep(0.02)


class Run:
    """One test in one flavor: paths, processes, and the result."""

    def __init__(self, name, flavor, opts, inner=False):
        self.name = name
        self.flavor = flavor
        self.opts = opts
        self.inner = inner
        self.desc = load_desc(name)
        self.wd = os.path.join(opts.out, name, flavor)
        self.imgdir = os.path.join(self.wd, 'img')
        self.pidfile = os.path.join(self.wd, 'test.pid')
        self.outfile = os.path.join(self.wd, 'test.out')
        self.scratch = os.path.join(self.wd, 'test.file')
        self.binary = os.path.join(opts.build, 'test', 'zdtm', 'static',
                                   name)
        self.launcher = None
        self.root = None
        self.known = set()
        self.log = self.wd
        self.own_fds = []

    def criu_opts(self):
        mc = ['--manage-cgroups=' + self.opts.manage_cgroups] \
            if getattr(self.opts, 'manage_cgroups', None) else []
        return FLAVOR_CRIU_OPTS.get(self.flavor, []) + mc + self.desc['opts']

    # -- cgroups a test made (test/zdtm/static/cgroup_util.h)

    def cg_note(self, suffix):
        try:
            with open(self.scratch + '.' + suffix) as f:
                return [l.rstrip('\n') for l in f if l.strip()]
        except OSError:
            return []

    def cg_between(self):
        """Between dump and restore: remove or spoil what the test made."""
        if self.desc['cgroups'] == 'remove':
            self.cg_remove()
        elif self.desc['cgroups'] == 'spoil':
            for line in self.cg_note('spoil'):
                path, value = line.rsplit(' ', 1)
                vlog('spoil %s = %s' % (path, value))
                with open(path, 'w') as f:
                    f.write(value)

    def cg_remove(self):
        for d in reversed(self.cg_note('cgroups')):
            for _ in range(100):
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)    # a killed task still leaving it

    # -- work dir

    def setup_wd(self):
        if not self.inner:
            shutil.rmtree(self.wd, ignore_errors=True)
            os.makedirs(self.imgdir)
            # The test's host uid: the uns flavor's test is its namespace's
            # root, which is host root; rootless runs as the user whatever the desc says.
            as_root = (self.desc['root'] and self.flavor != 'rootless') or self.flavor == 'uns'
            uid = 0 if as_root else TEST_UID
            gid = 0 if as_root else TEST_GID
            for d in (self.wd, self.imgdir):
                os.chown(d, uid, gid)
        elif not os.path.isdir(self.imgdir):
            os.makedirs(self.imgdir)

    # -- starting the test

    def test_argv(self):
        return [self.binary, '--pidfile=' + self.pidfile,
                '--outfile=' + self.outfile, '--filename=' + self.scratch]

    def launch_cmd(self):
        drop = ['setpriv', '--reuid=%d' % TEST_UID,
                '--regid=%d' % TEST_GID, '--clear-groups', '--']
        if self.inner or self.desc['root']:
            drop = []
        ns = ['unshare', '--pid', '--fork', '--mount-proc', '--mount',
              '--uts', '--ipc', '--time'] + TIMENS_OFFSETS
        if self.flavor == 'ns':
            return ns + drop + self.test_argv()
        if self.flavor == 'uns':
            return ns[:1] + ['--user', '--map-root-user'] + ns[1:] + \
                self.test_argv()
        return drop + self.test_argv()

    def ns_init(self):
        """Whether the test is a pid namespace's init (ns, uns)."""
        return self.flavor in ('ns', 'uns') and not self.inner

    def start(self):
        env = dict(TEST_ENV, ZDTM_TEST=self.name, ZDTM_FLAVOR=self.flavor)
        cmd = self.launch_cmd()
        vlog('start: ' + ' '.join(cmd))
        fds = root_pipes(self, env)
        with open(os.path.join(self.wd, 'launch.log'), 'wb') as log:
            self.launcher = subprocess.Popen(
                cmd, cwd=self.wd, env=env, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, pass_fds=fds)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            rc = self.launcher.poll()
            if rc is not None and rc != 0:
                raise TestFailure('test did not start (exit %d): %s%s' %
                                  (rc, self.outfile_text(),
                                   self.launch_log_tail()),
                                  self.outfile + '.log')
            ready = os.path.exists(self.pidfile)
            if ready and (rc == 0 or self.ns_init()):
                break
            time.sleep(0.005)
        else:
            raise TestFailure('test did not get ready in %ds' %
                              START_TIMEOUT)
        self.root = self.find_root()
        self.known.update(tree_pids(self.root))
        vlog('test ready, root pid %d' % self.root)

    def find_root(self):
        with open(self.pidfile) as f:
            pid = int(f.read().strip())
        if not self.ns_init():
            return pid
        kids = children_of_all().get(self.launcher.pid, [])
        if len(kids) != 1:
            raise TestFailure('unshare has children %s' % kids)
        st = parse_status(read_text('/proc/%d/status' % kids[0]))
        if last_id(st, 'NSpid', 0) != pid:
            raise TestFailure('pid %d is %s inside, the pidfile says %d' %
                              (kids[0], st.get('NSpid'), pid))
        return kids[0]

    def launch_log_tail(self):
        try:
            with open(os.path.join(self.wd, 'launch.log'),
                      errors='replace') as f:
                lines = [l.strip() for l in f if l.strip()]
        except OSError:
            return ''
        return ' [launch.log: %s]' % lines[-1][:200] if lines else ''

    def outfile_text(self):
        try:
            with open(self.outfile) as f:
                return f.read().strip().replace('\n', ' | ')
        except OSError:
            return '(no outfile)'

    # -- criu

    def criu(self, action, args, log):
        # "dump_opts"/"restore_opts" of the desc: per action, {wd} the work dir
        own = [o.replace('{wd}', self.wd)
               for o in self.desc.get(action.replace('-', '_') + '_opts', [])]
        cmd = [self.opts.criu, action] + args + \
            ['-o', log, '-v4'] + self.criu_opts() + own
        self.log = os.path.join(self.imgdir, log)
        vlog(' '.join(cmd))
        with open(os.path.join(self.wd, 'criu-%s.out' % action), 'wb') as o:
            p = subprocess.Popen(cmd, cwd=self.wd, stdin=subprocess.DEVNULL,
                                 stdout=o, stderr=subprocess.STDOUT)
            try:
                rc = p.wait(timeout=CRIU_TIMEOUT)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                raise TestFailure('criu %s timed out' % action, self.log)
        if rc:
            raise TestFailure('criu %s failed (exit %d)%s' %
                              (action, rc, self.log_tail()), self.log)

    def log_tail(self):
        """The last error line of the current log, if there is one."""
        for path in (self.log, os.path.join(self.wd, 'criu-dump.out'),
                     os.path.join(self.wd, 'criu-restore.out')):
            try:
                with open(path, errors='replace') as f:
                    lines = [l.strip() for l in f if l.strip()]
            except OSError:
                continue
            errs = [l for l in lines if 'rror' in l]
            errs = errs or [l for l in lines if 'fail' in l] or lines
            if errs:
                return ': ' + errs[-1][:300]
        return ''

    def dump(self):
        args = ['-t', str(self.root), '-D', self.imgdir]
        # --pre N: N pre-dumps chained, then the dump on top of the last one
        prev = None
        for i in range(self.opts.pre):
            pargs = ['-t', str(self.root), '-D', os.path.join(self.wd, 'pre%d' % i)]
            if prev:
                pargs += ['--prev-images-dir', '../' + prev]
            self.criu('pre-dump', pargs, 'pre-dump.log')
            prev = 'pre%d' % i
        if prev:
            args += ['--prev-images-dir', '../' + prev, '--track-mem']
        if self.opts.dump_only:
            args.append('--leave-running')
        if self.desc['freeze_cgroup']:
            args += ['--freeze-cgroup'] + self.cg_note('freezer')[:1]
        if not self.opts.page_server:
            self.criu('dump', args, 'dump.log')
            return
        # --page-server: the pages go through a page server into the same dir
        ps, port = self.start_page_server()
        try:
            self.criu('dump', args + ['--page-server', '--address', '127.0.0.1',
                                      '--port', str(port)], 'dump.log')
            rc = ps.wait(timeout=CRIU_TIMEOUT)
        finally:
            if ps.poll() is None:
                ps.kill()
                ps.wait()
        if rc:
            raise TestFailure('criu page-server failed (exit %d)' % rc,
                              os.path.join(self.imgdir, 'ps.log'))

    def start_page_server(self):
        s = socket.socket()
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
        s.close()
        r, w = os.pipe()
        with open(os.path.join(self.wd, 'criu-page-server.out'), 'wb') as o:
            ps = subprocess.Popen([self.opts.criu, 'page-server', '-D', self.imgdir,
                                   '--port', str(port), '--status-fd', str(w),
                                   '-o', 'ps.log', '-v4'], cwd=self.wd,
                                  stdin=subprocess.DEVNULL, stdout=o,
                                  stderr=subprocess.STDOUT, pass_fds=(w,))
        os.close(w)
        ready = select.select([r], [], [], CRIU_TIMEOUT)[0] and os.read(r, 1)
        os.close(r)
        if ready != b'\0':
            ps.kill()
            ps.wait()
            raise TestFailure('criu page-server did not start',
                              os.path.join(self.imgdir, 'ps.log'))
        return ps, port

    def criu_form(self):
        """The images as CRIU writes them: runs merged across VMAs, no
        ns_flags (see test/interchange/criu_images.py)."""
        try:
            n = criu_images.rewrite(self.imgdir)
        except (OSError, ValueError, subprocess.CalledProcessError) as e:
            raise TestFailure('cannot rewrite the images as CRIU would: %s' % e)
        if not n:
            raise TestFailure('no pagemap run to merge across a VMA boundary')
        vlog('images rewritten as CRIU would: %d runs across VMAs' % n)

    def restore(self):
        pidfile = os.path.join(self.wd, 'restore.pid')
        self.criu('restore', ['-D', self.imgdir, '-d', '--pidfile', pidfile],
                  'restore.log')
        try:
            with open(pidfile) as f:
                self.root = int(f.read().strip())
        except (OSError, ValueError) as e:
            raise TestFailure('no pid from criu restore: %s' % e, self.log)
        self.known.update(tree_pids(self.root))
        vlog('restored, root pid %d' % self.root)

    # -- waiting

    def wait_gone(self, pids, what):
        deadline = time.monotonic() + EXIT_TIMEOUT
        while time.monotonic() < deadline:
            alive = [p for p in pids if try_reap(p) is None]
            if not alive:
                return
            time.sleep(0.01)
        raise TestFailure('%s: processes %s still there' % (what, alive))

    def check_running(self, cap, pre):
        stopped = {p['pid'] for p in pre['procs']
                   if p['status']['State'][0] == 'T'}
        for p in cap['procs']:
            st = p['status']
            if p['zombie']:
                continue
            # a task stopped before the dump stays stopped, untraced
            bad = 'tZX' if p['pid'] in stopped else 'tTZX'
            if p['leader_exited']:
                bad = 'tTX'     # the leader is a zombie thread
            if st['State'][0] in bad or st['TracerPid'] != '0':
                raise TestFailure('after dump: pid %d is %s, tracer %s' %
                                  (p['pid'], st['State'], st['TracerPid']))

    def finish(self):
        """SIGTERM the test until it exits; require PASS."""
        self.log = self.outfile + '.log'
        deadline = time.monotonic() + EXIT_TIMEOUT
        next_kill, status = 0.0, None
        while time.monotonic() < deadline:
            now = time.monotonic()
            if now >= next_kill:
                kill_quiet(self.root, signal.SIGTERM)
                next_kill = now + SIGTERM_REPEAT
            status = try_reap(self.root)
            if status is not None:
                break
            time.sleep(0.005)
        else:
            raise TestFailure('test did not exit after SIGTERM', self.log)
        if status == -1 and self.launcher and self.ns_init():
            # The namespace's init was unshare's child: ask unshare.
            try:
                rc = self.launcher.wait(timeout=EXIT_TIMEOUT)
                status = -rc if rc < 0 else rc << 8
            except subprocess.TimeoutExpired:
                pass
        out = self.outfile_text()
        if out != 'PASS':
            raise TestFailure('test says: %s' % out, self.log)
        if status > 0:
            raise TestFailure('test exit status %#x' % status, self.log)

    def cleanup(self):
        pids = set(self.known)
        if self.root and proc_state(self.root):
            pids.update(tree_pids(self.root))
        for pid in pids:
            kill_quiet(pid, signal.SIGKILL)
        if self.launcher and self.launcher.poll() is None:
            self.launcher.kill()
        if self.launcher:
            try:
                self.launcher.wait(timeout=EXIT_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        for fd in self.own_fds:
            os.close(fd)
        self.own_fds = []
        reap_orphans()
        self.cg_remove()

    # -- the sequence

    def run(self):
        self.setup_wd()
        self.start()
        wait_idle(self.root)
        pre = capture_tree(self.root)
        save_capture(pre, os.path.join(self.wd, 'capture-pre.json'))
        self.dump()
        if self.opts.dump_only:
            self.check_running(capture_tree(self.root, with_mem=False), pre)
        else:
            self.wait_gone([p['pid'] for p in pre['procs']], 'after dump')
            if self.launcher and self.ns_init():
                self.launcher.wait(timeout=EXIT_TIMEOUT)
            time.sleep(self.desc['pause'])
            self.cg_between()
            if self.desc['criu_images']:
                self.criu_form()
            self.restore()
        wait_idle(self.root)
        post = capture_tree(self.root)
        save_capture(post, os.path.join(self.wd, 'capture-post.json'))
        self.log = os.path.join(self.imgdir, 'dump.log')
        masks = check_images(self.imgdir, pre, self.desc['criu_images'] and
                             not self.opts.dump_only)
        # a mount namespace dumped whole (mountpoints-ID.img) must come back as it was
        mounts = self.desc['compare_mounts'] and any(
            n.startswith('mountpoints-') for n in os.listdir(self.imgdir))
        if self.opts.dump_only:
            compare_captures(pre, post, 'after dump', masks, mounts=mounts)
        else:
            self.log = os.path.join(self.imgdir, 'restore.log')
            compare_captures(pre, post, 'after restore', masks,
                             self.desc['restore_mem'], mounts)
        self.finish()


def run_rootless(r):
    """Starts the inner runner as the init of a user-owned namespace."""
    r.setup_wd()
    result = os.path.join(r.wd, 'result.json')
    cmd = ['setpriv', '--reuid=%d' % TEST_UID, '--regid=%d' % TEST_GID,
           '--clear-groups', '--',
           'unshare', '--user', '--map-root-user', '--pid', '--fork',
           '--kill-child', '--mount-proc', '--mount', '--uts', '--ipc',
           SYS_PYTHON, os.path.abspath(__file__), '_inner',
           '-t', r.name, '--criu', r.opts.criu, '--build', r.opts.build,
           '--out', r.opts.out]
    if r.opts.dump_only:
        cmd.append('--dump-only')
    if r.opts.pre:
        cmd += ['--pre', str(r.opts.pre)]
    if r.opts.page_server:
        cmd.append('--page-server')
    if r.opts.manage_cgroups:
        cmd += ['--manage-cgroups', r.opts.manage_cgroups]
    if VERBOSE:
        cmd.append('-v')
    vlog('rootless: ' + ' '.join(cmd))
    env = dict(TEST_ENV)
    fds = root_pipes(r, env)
    with open(os.path.join(r.wd, 'inner.log'), 'wb') as log:
        p = subprocess.Popen(cmd, cwd=r.wd, env=env,
                             stdin=subprocess.DEVNULL, stdout=log,
                             stderr=subprocess.STDOUT, pass_fds=fds)
        try:
            p.wait(timeout=ROOTLESS_TIMEOUT)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise TestFailure('the rootless runner timed out',
                              os.path.join(r.wd, 'inner.log'))
    try:
        with open(result) as f:
            res = json.load(f)
    except (OSError, ValueError):
        raise TestFailure('the rootless runner left no result (exit %d)' %
                          p.returncode, os.path.join(r.wd, 'inner.log'))
    if not res['ok']:
        raise TestFailure(res['reason'], res.get('log'))


def run_one(name, flavor, opts, inner=False):
    """Returns (ok, reason, log)."""
    r = Run(name, flavor, opts, inner)
    try:
        if flavor == 'rootless' and not inner:
            run_rootless(r)
        else:
            r.run()
        return True, '', None
    except TestFailure as e:
        return False, str(e), e.log or r.log
    except (OSError, subprocess.SubprocessError) as e:
        return False, '%s: %s' % (type(e).__name__, e), r.log
    finally:
        if not (flavor == 'rootless' and not inner):
            r.cleanup()
        else:
            for fd in r.own_fds:
                os.close(fd)
            reap_orphans()


# ---------------------------------------------------------------------
# Command line

def parse_list(values, allowed=None):
    out = []
    for v in values or []:
        for x in v.split(','):
            x = x.strip()
            if not x:
                continue
            if allowed is not None and x not in allowed:
                raise SystemExit('unknown value %r (choose from %s)' %
                                 (x, ', '.join(allowed)))
            out.append(x)
    return out


def check_setup(opts):
    if os.geteuid() != 0:
        raise SystemExit('zdtm.py must run as root')
    if not os.access(opts.criu, os.X_OK):
        raise SystemExit('no criu at %s (build it, or pass --criu)' %
                         opts.criu)
    if not os.access(CRIT, os.X_OK):
        raise SystemExit('no %s (Debian package criu)' % CRIT)


def lock_out_dir(out):
    """One run per out dir: a second one would remove the first one's
    work dirs under it.  Waits for the other run to finish."""
    os.makedirs(out, exist_ok=True)
    fd = os.open(os.path.join(out, '.lock'), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print('zdtm: another run uses %s; waiting for it (or use --out)' %
              out, file=sys.stderr, flush=True)
        fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def cmd_run(opts):
    tests = parse_list(opts.test) or list_tests()
    known = set(list_tests())
    for t in tests:
        if t not in known:
            raise SystemExit('no such test: %s' % t)
    excl = set(parse_list(opts.exclude))
    tests = [t for t in tests if t not in excl]
    flavors = parse_list(opts.flavor, ALL_FLAVORS) or list(DEFAULT_FLAVORS)
    check_setup(opts)
    for t in tests:
        b = os.path.join(opts.build, 'test', 'zdtm', 'static', t)
        if not os.access(b, os.X_OK):
            raise SystemExit('%s is not built (ninja -C %s)' %
                             (b, opts.build))
    lock_out_dir(opts.out)
    set_subreaper()
    passed = failed = skipped = 0
    print('zdtm: %s mode, criu %s' %
          ('dump-only' if opts.dump_only else 'full', opts.criu), flush=True)
    for t in tests:
        desc = load_desc(t)
        for fl in flavors:
            if fl not in desc['flavors']:
                skipped += 1
                print('SKIP %s %s: %s' % (t, fl, desc['reason'] or
                                          'flavor excluded'), flush=True)
                continue
            if opts.dump_only and not desc['dump_only']:
                skipped += 1
                print('SKIP %s %s: %s' % (t, fl, desc['dump_only_reason'] or
                                          'no dump-only mode'), flush=True)
                continue
            t0 = time.monotonic()
            ok, reason, log = run_one(t, fl, opts)
            dt = time.monotonic() - t0
            if ok:
                passed += 1
                print('PASS %s %s (%.1fs)' % (t, fl, dt), flush=True)
                continue
            failed += 1
            print('FAIL %s %s: %s (log: %s)' % (t, fl, reason, log),
                  flush=True)
            if not opts.keep_going:
                break
        if failed and not opts.keep_going:
            break
    line = '%d passed, %d failed' % (passed, failed)
    if skipped:
        line += ', %d skipped' % skipped
    print(line, flush=True)
    return 1 if failed else 0


def cmd_inner(opts):
    """The rootless flavor's runner, inside the user's own namespaces."""
    name = parse_list(opts.test)[0]
    ok, reason, log = run_one(name, 'rootless', opts, inner=True)
    wd = os.path.join(opts.out, name, 'rootless')
    with open(os.path.join(wd, 'result.json'), 'w') as f:
        json.dump({'ok': ok, 'reason': reason, 'log': log}, f)
    print('%s %s rootless: %s' % ('PASS' if ok else 'FAIL', name, reason))
    return 0


def cmd_list(opts):
    for t in list_tests():
        desc = load_desc(t)
        print('%-20s %s%s' % (t, ','.join(desc['flavors']),
                              ' (root)' if desc['root'] else ''))
    return 0


def main(argv):
    global VERBOSE
    ap = argparse.ArgumentParser(description='Run zdtm tests under criu.')
    sub = ap.add_subparsers(dest='cmd', required=True)

    def common(p):
        p.add_argument('-t', '--test', action='append',
                       help='test name(s), comma-separated or repeated; '
                       'default: all')
        p.add_argument('--criu', default=os.path.join(REPO, 'build', 'criu',
                                                      'criu'),
                       help='the criu binary (default: build/criu/criu)')
        p.add_argument('--build', default=os.path.join(REPO, 'build'),
                       help='the meson build dir (default: build)')
        mode = p.add_mutually_exclusive_group()
        mode.add_argument('--dump-only', dest='dump_only',
                          action='store_true', default=DEFAULT_DUMP_ONLY,
                          help='dump with --leave-running, check images, '
                          'no restore%s' %
                          (' (default)' if DEFAULT_DUMP_ONLY else ''))
        mode.add_argument('--full', dest='dump_only', action='store_false',
                          help='dump, restore and compare%s' %
                          ('' if DEFAULT_DUMP_ONLY else ' (default)'))
        p.add_argument('--out', default=OUT_DIR,
                       help='where the work dirs go (default: '
                       'test/zdtm/out)')
        p.add_argument('-v', '--verbose', action='store_true')
        p.add_argument('--pre', type=int, default=0,
                       help='pre-dumps before each dump (iterative, --track-mem)')
        p.add_argument('--manage-cgroups', metavar='MODE',
                       help='pass --manage-cgroups=MODE to every criu dump and restore')
        p.add_argument('--page-server', action='store_true',
                       help='dump through a criu page-server on 127.0.0.1 '
                       'writing into the same image dir')

    run = sub.add_parser('run', help='run tests')
    common(run)
    run.add_argument('-x', '--exclude', action='append',
                     help='test name(s) to leave out')
    run.add_argument('-f', '--flavor', action='append',
                     help='flavors, comma-separated, from %s (default: %s)' %
                     (','.join(ALL_FLAVORS), ','.join(DEFAULT_FLAVORS)))
    run.add_argument('-k', '--keep-going', action='store_true',
                     help='go on after a failure')
    run.set_defaults(func=cmd_run)

    lst = sub.add_parser('list', help='list tests and their flavors')
    lst.set_defaults(func=cmd_list)

    inner = sub.add_parser('_inner', help=argparse.SUPPRESS)
    common(inner)
    inner.set_defaults(func=cmd_inner)

    opts = ap.parse_args(argv)
    VERBOSE = getattr(opts, 'verbose', False)
    if hasattr(opts, 'criu'):
        opts.criu = os.path.abspath(opts.criu)
        opts.build = os.path.abspath(opts.build)
        opts.out = os.path.abspath(opts.out)
    return opts.func(opts)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
