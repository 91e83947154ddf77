# SPDX-License-Identifier: GPL-2.0-only
"""What CRIU relies on in our images, and CRIU's way of writing them.

check(imgdir, imgs, cap) returns a list of errors: the invariants CRIU's
restore and crit rely on, checked on the images of one dump (imgs: every
image decoded by crit, as zdtm.py's decode_images gives them; cap: the
runner's capture of the tree before the dump):

  - inventory.img: root_ids are criu's own ids, not the root's (CRIU
    refuses a root whose files_id equals them), and they differ from the
    root's namespace ids exactly for the namespaces our ns_flags extension
    names (CRIU makes a new namespace where they differ);
  - mm-PID.img: every VMA has the status bits CRIU sets ([vsyscall] only
    VMA_AREA_VSYSCALL | VMA_ANON_PRIVATE, every other one VMA_AREA_REGULAR,
    anonymous private ones VMA_ANON_PRIVATE and MAP_ANONYMOUS, the vDSO
    VMA_AREA_VDSO, [vvar] VMA_AREA_VVAR), fdflags on each; [vsyscall] is
    there when /proc showed it; auxv is at most 44 words (CRIU's
    AT_VECTOR_SIZE on x86_64);
  - pagemap-PID.img: PE_PRESENT on every entry with data; PE_LAZY exactly
    on the pages of private anonymous VMAs (not locked, not the vDSO) but
    the pages holding a thread's stack pointer; every page of the vDSO
    saved, none of [vvar];
  - `crit x DIR ps|fds|mems|rss` work (only ps for a tree with zombies:
    crit's other explorers want images CRIU does not write for a zombie).

rewrite(imgdir) turns our images into what CRIU would write for the same
state where that differs in form: pagemap runs that go on across a VMA
boundary are merged (CRIU's page pipe does not stop at VMAs), and the
inventory loses our ns_flags extension (CRIU's images have none; restore
must take the namespaces from root_ids).  It returns how many entries were
merged across a VMA boundary.
"""

import json
import os
import subprocess

CRIT = '/usr/bin/crit'
PAGE = 4096
AUXV_MAX_WORDS = 44

VMA_AREA_REGULAR = 1 << 0
VMA_AREA_VSYSCALL = 1 << 2
VMA_AREA_VDSO = 1 << 3
VMA_FILE_PRIVATE = 1 << 6
VMA_FILE_SHARED = 1 << 7
VMA_ANON_SHARED = 1 << 8
VMA_ANON_PRIVATE = 1 << 9
VMA_AREA_VVAR = 1 << 12

MAP_SHARED = 0x01
MAP_PRIVATE = 0x02
MAP_ANONYMOUS = 0x20
MAP_LOCKED = 0x2000

PE_PARENT = 1 << 0
PE_LAZY = 1 << 1
PE_PRESENT = 1 << 2
PE_GUARD = 1 << 7
PE_NAMES = {'PE_PARENT': PE_PARENT, 'PE_LAZY': PE_LAZY,
            'PE_PRESENT': PE_PRESENT}

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWTIME = 0x00000080
NS_BITS = {'pid_ns_id': CLONE_NEWPID, 'net_ns_id': CLONE_NEWNET,
           'ipc_ns_id': CLONE_NEWIPC, 'uts_ns_id': CLONE_NEWUTS,
           'mnt_ns_id': CLONE_NEWNS, 'user_ns_id': CLONE_NEWUSER,
           'time_ns_id': CLONE_NEWTIME}
KOBJ_IDS = ('vm_id', 'files_id', 'fs_id', 'sighand_id')

INVENTORY_MAGIC = 0x58313116
NS_FLAGS_FIELD = 1001


def num(v):
    """crit shows hex fields as '0x...' strings."""
    return int(v, 0) if isinstance(v, str) else (v or 0)


def pe_flags(e):
    """pagemap_entry flags as a number (crit shows names joined by |)."""
    f = e.get('flags')
    if f is None:
        return PE_PARENT if e.get('in_parent') else PE_PRESENT
    if isinstance(f, int):
        return f
    out = 0
    for part in f.split('|'):
        part = part.strip()
        out |= PE_NAMES[part] if part in PE_NAMES else int(part, 0)
    return out


# --- raw protobuf, for the fields crit does not know ---

def varint(buf, i):
    v, shift = 0, 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7f) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def put_varint(v):
    out = bytearray()
    while True:
        b = v & 0x7f
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def pb_fields(msg):
    """[(number, wire type, raw bytes of the whole field)] of a message."""
    out, i = [], 0
    while i < len(msg):
        start = i
        key, i = varint(msg, i)
        wt = key & 7
        if wt == 0:
            _, i = varint(msg, i)
        elif wt == 1:
            i += 8
        elif wt == 2:
            n, i = varint(msg, i)
            i += n
        elif wt == 5:
            i += 4
        else:
            raise ValueError('wire type %d' % wt)
        out.append((key >> 3, wt, msg[start:i]))
    return out


def read_inventory_raw(imgdir):
    with open(os.path.join(imgdir, 'inventory.img'), 'rb') as f:
        data = f.read()
    if int.from_bytes(data[:4], 'little') != INVENTORY_MAGIC:
        raise ValueError('inventory.img: bad magic')
    n = int.from_bytes(data[4:8], 'little')
    return data[:4], data[8:8 + n]


def ns_flags_of(imgdir):
    """Our ns_flags extension (field 1001) of inventory.img, None if absent."""
    _, msg = read_inventory_raw(imgdir)
    for number, wt, raw in pb_fields(msg):
        if number == NS_FLAGS_FIELD and wt == 0:
            key_len = len(put_varint(number << 3))
            return varint(raw, key_len)[0]
    return None


def drop_ns_flags(imgdir):
    magic, msg = read_inventory_raw(imgdir)
    kept = b''.join(raw for number, _, raw in pb_fields(msg)
                    if number != NS_FLAGS_FIELD)
    with open(os.path.join(imgdir, 'inventory.img'), 'wb') as f:
        f.write(magic + len(kept).to_bytes(4, 'little') + kept)


# --- checks ---

def entries(imgs, name):
    img = imgs.get(name)
    return img.get('entries', []) if img else None


def check_inventory(imgdir, imgs, root_vpid, errs, rewritten):
    inv = entries(imgs, 'inventory.img')[0]
    rid = inv.get('root_ids')
    ids = entries(imgs, 'ids-%d.img' % root_vpid)
    if not rid:
        errs.append('inventory.img: no root_ids')
        return
    if not ids:
        errs.append('no ids-%d.img for the root' % root_vpid)
        return
    ids = ids[0]
    same = [k for k in KOBJ_IDS if rid.get(k) == ids.get(k)]
    if same:
        errs.append('inventory.img: root_ids share %s with the root task '
                    '(CRIU: "Image corruption on kIDs data")' % same)
    nsf = ns_flags_of(imgdir)
    if nsf is None:
        if not rewritten:
            errs.append('inventory.img: no ns_flags')
        return
    for k, bit in NS_BITS.items():
        if k not in ids or k not in rid:
            continue
        if (ids[k] != rid[k]) != bool(nsf & bit):
            errs.append('inventory.img: root_ids.%s %d, the root has %d, but '
                        'ns_flags %#x says %s' %
                        (k, rid[k], ids[k], nsf,
                         'own' if nsf & bit else 'shared'))
    for k in ('img_version', 'fdinfo_per_id', 'ns_per_id', 'lsmtype'):
        if k not in inv:
            errs.append('inventory.img: no %s' % k)


def vma_can_be_lazy(v):
    fl, st = num(v.get('flags')), num(v.get('status'))
    return bool(fl & MAP_ANONYMOUS and fl & MAP_PRIVATE and
                not fl & MAP_LOCKED and
                not st & (VMA_AREA_VDSO | VMA_AREA_VSYSCALL))


def check_vma(name, v, errs):
    st, fl = num(v.get('status')), num(v.get('flags'))
    where = '%s: vma %x-%x status %#x flags %#x' % (
        name, num(v.get('start')), num(v.get('end')), st, fl)
    if 'fdflags' not in v:
        errs.append(where + ': no fdflags')
    if st & VMA_AREA_VSYSCALL:
        if st != VMA_AREA_VSYSCALL | VMA_ANON_PRIVATE or \
                fl != MAP_PRIVATE | MAP_ANONYMOUS:
            errs.append(where + ': [vsyscall] is not as CRIU writes it')
        return
    if not st & VMA_AREA_REGULAR:
        errs.append(where + ': no VMA_AREA_REGULAR')
    kinds = st & (VMA_FILE_PRIVATE | VMA_FILE_SHARED | VMA_ANON_SHARED |
                  VMA_ANON_PRIVATE)
    if bin(kinds).count('1') != 1:
        errs.append(where + ': not exactly one of file/anon private/shared')
    if st & (VMA_ANON_PRIVATE | VMA_ANON_SHARED) and not fl & MAP_ANONYMOUS:
        errs.append(where + ': anonymous without MAP_ANONYMOUS')
    # MAP_DROPPABLE (0x08, map type of its own) is private memory CRIU cannot map;
    # Documentation/images.md lists it among the differences
    if st & VMA_ANON_PRIVATE and not fl & MAP_PRIVATE and (fl & 0x0f) != 0x08:
        errs.append(where + ': private status, shared flags')


def check_mm(imgs, p, errs):
    name = 'mm-%d.img' % p['vpid']
    mm = entries(imgs, name)[0]
    vmas = mm.get('vmas', [])
    for v in vmas:
        check_vma(name, v, errs)
    by_start = {num(v.get('start')): v for v in vmas}
    for m in p['maps']:
        v = by_start.get(m['start'])
        want = {'[vsyscall]': VMA_AREA_VSYSCALL, '[vdso]': VMA_AREA_VDSO,
                '[vvar]': VMA_AREA_VVAR,
                '[vvar_vclock]': VMA_AREA_VVAR}.get(m['path'])
        if want and (v is None or not num(v.get('status')) & want):
            errs.append('%s: %s at %x is missing or lacks status %#x' %
                        (name, m['path'], m['start'], want))
    n = len(mm.get('mm_saved_auxv', []))
    if n > AUXV_MAX_WORDS:
        errs.append('%s: %d auxv words, CRIU takes at most %d' %
                    (name, n, AUXV_MAX_WORDS))
    return vmas


def thread_sps(imgs, p):
    sps = set()
    tids = [p['vpid']]
    for e in entries(imgs, 'pstree.img') or []:
        if e.get('pid') == p['vpid']:
            tids = e.get('threads', tids)
    for tid in tids:
        core = entries(imgs, 'core-%d.img' % tid)
        if core:
            regs = core[0].get('thread_info', {}).get('gpregs', {})
            sps.add(num(regs.get('sp')) & ~(PAGE - 1))
    return sps


def check_pagemap(imgs, p, vmas, errs):
    name = 'pagemap-%d.img' % p['vpid']
    pm = entries(imgs, name)[1:]
    sps = thread_sps(imgs, p)
    starts = sorted(vmas, key=lambda v: num(v.get('start')))
    vi, vdso_pages, bad = 0, {}, []
    for e in pm:
        fl, addr = pe_flags(e), num(e.get('vaddr'))
        if fl & PE_GUARD:
            continue
        # a run left to the parent dump: CRIU writes PE_PARENT alone (page-xfer.c)
        parent = bool(fl & PE_PARENT)
        if parent and fl != PE_PARENT:
            bad.append('%x: PE_PARENT with flags %#x' % (addr, fl))
        if not parent and not fl & PE_PRESENT:
            bad.append('%x: no PE_PRESENT' % addr)
        for i in range(e.get('nr_pages', 0)):
            a = addr + i * PAGE
            while vi < len(starts) and num(starts[vi].get('end')) <= a:
                vi += 1
            if vi == len(starts) or num(starts[vi].get('start')) > a:
                bad.append('%x: in no VMA' % a)
                break
            v = starts[vi]
            st = num(v.get('status'))
            if st & VMA_AREA_VVAR:
                bad.append('%x: a [vvar] page is saved' % a)
            if st & VMA_AREA_VDSO:
                vdso_pages[num(v.get('start'))] = \
                    vdso_pages.get(num(v.get('start')), 0) + 1
            lazy = vma_can_be_lazy(v) and a not in sps
            if not parent and bool(fl & PE_LAZY) != lazy:
                bad.append('%x: PE_LAZY %s, CRIU would %s' %
                           (a, 'set' if fl & PE_LAZY else 'unset',
                            'set it' if lazy else 'not'))
    for v in vmas:
        st = num(v.get('status'))
        if st & VMA_AREA_VDSO:
            want = (num(v.get('end')) - num(v.get('start'))) // PAGE
            if vdso_pages.get(num(v.get('start')), 0) != want:
                bad.append('vDSO at %x: %d of %d pages saved' %
                           (num(v.get('start')),
                            vdso_pages.get(num(v.get('start')), 0), want))
    if bad:
        errs.append('%s: %d entries not as CRIU writes them: %s' %
                    (name, len(bad), bad[:4]))


def crit_lacks_types(imgs):
    """Debian's crit (3.17) predates some fd types (PIDFD): it decodes such
    fdinfo entries without 'type', and `crit x fds` cannot name them."""
    return any('type' not in e for name, img in (imgs or {}).items()
               if name.startswith('fdinfo-') for e in img.get('entries', []))


def check_explore(imgdir, errs, imgs=None, zombies=False):
    """zombies: the tree has some; crit's fds, mems and rss then look for
    the ids, mm and pagemap images CRIU does not write for them either."""
    what = ('ps',) if zombies else ('ps', 'fds', 'mems', 'rss')
    procs = {w: subprocess.Popen([CRIT, 'x', imgdir, w],
                                 stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE)
             for w in what}
    for w, pr in procs.items():
        _, err = pr.communicate(timeout=120)
        if pr.returncode and w == 'fds' and crit_lacks_types(imgs):
            continue
        if pr.returncode:
            lines = err.decode('utf-8', 'replace').strip().splitlines()
            errs.append('crit x %s: %s' % (w, lines[-1] if lines else
                                           'exit %d' % pr.returncode))


def check(imgdir, imgs, cap, rewritten=False):
    """rewritten: the images went through rewrite() (no ns_flags)."""
    errs = []
    root = [p for p in cap['procs'] if p['pid'] == cap['root']]
    try:
        if root:
            check_inventory(imgdir, imgs, root[0]['vpid'], errs, rewritten)
        for p in cap['procs']:
            if p.get('zombie'):
                continue
            vmas = check_mm(imgs, p, errs)
            check_pagemap(imgs, p, vmas, errs)
    except (KeyError, IndexError, TypeError, ValueError) as e:
        errs.append('images not as CRIU reads them: %r' % e)
    check_explore(imgdir, errs, imgs,
                  any(p.get('zombie') for p in cap['procs']))
    return errs


# --- CRIU's form ---

def crit_json(path):
    return json.loads(subprocess.check_output([CRIT, 'decode', '-i', path]))


def crit_encode(obj, path):
    subprocess.run([CRIT, 'encode', '-o', path], input=json.dumps(obj).encode(),
                   check=True)


def merge_runs(pm, vmas):
    """Merges contiguous entries of equal flags; counts VMA-crossing ones."""
    bounds = set(num(v.get('start')) for v in vmas)
    out, crossing = [pm[0]], 0
    for e in pm[1:]:
        last = out[-1] if len(out) > 1 else None
        if last is not None and last.get('flags') == e.get('flags') and \
                num(last['vaddr']) + last['nr_pages'] * PAGE == \
                num(e['vaddr']) and pe_flags(e) & PE_PRESENT:
            crossing += num(e['vaddr']) in bounds
            last['nr_pages'] += e['nr_pages']
            continue
        out.append(dict(e))
    return out, crossing


def rewrite(imgdir):
    crossing = 0
    for name in sorted(os.listdir(imgdir)):
        if not (name.startswith('pagemap-') and name.endswith('.img')) or \
                name.startswith('pagemap-shmem-'):
            continue
        pid = name[len('pagemap-'):-len('.img')]
        mm = crit_json(os.path.join(imgdir, 'mm-%s.img' % pid))
        pm = crit_json(os.path.join(imgdir, name))
        pm['entries'], n = merge_runs(pm['entries'],
                                      mm['entries'][0].get('vmas', []))
        crossing += n
        crit_encode(pm, os.path.join(imgdir, name))
    drop_ns_flags(imgdir)
    return crossing
