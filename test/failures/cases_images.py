"""Failure cases of run.py: pages and pagemaps, pids in use, a gone or changed
executable, SysV shm, the CPU, unfinished dumps, restoring twice."""

import argparse
import ctypes
import errno
import fnmatch
import glob
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

import lib  # noqa: E402
from lib import *  # noqa: F401,F403

from cases_dump import *  # noqa: F401,F403
from cases_restore import *  # noqa: F401,F403

# 8. pages --------------------------------------------------------------------

@case("restore.pages.missing")
def _():
    def m(img):
        p = image_file(img, "pages-*.img")
        os.unlink(p)
        return os.path.basename(p)
    restore_must_fail("pages-missing", m, "pages-")


@case("restore.pstree.edited-pid")
def _():
    """The root's pid (and leader tid) changed in pstree.img: the line must
    say that the images do not match, not that it was a shell job."""
    new_pid = []

    def m(img):
        path = os.path.join(img, "pstree.img")
        data = open(path, "rb").read()
        n = struct.unpack_from("<I", data, 8)[0]
        # pstree_entry is all varints (threads not packed in our images)
        fields = [(f, v) for f, wt, v in pb_fields(data[12:12 + n]) if wt == 0]
        pid = dict(fields)[1]
        new_pid.append(pid + 1)
        msg = b"".join(pb_varint(f << 3) + pb_varint(v + 1 if f == 1 or (f == 5 and v == pid)
                                                      else v) for f, v in fields)
        with open(path, "wb") as f:
            f.write(data[:8] + struct.pack("<I", len(msg)) + msg + data[12 + n:])
        return "pid %d -> %d" % (pid, pid + 1)
    line, _ = restore_must_fail("pstree-edited", m, "pstree.img", "core-")
    if str(new_pid[0]) not in line or "shell" in line:
        raise CaseFail("the line does not name pid %d, or blames a shell job: %r"
                       % (new_pid[0], line))


def truncate_pages(img):
    p = image_file(img, "pages-*.img")
    os.truncate(p, os.path.getsize(p) // 2 - 100)
    return os.path.basename(p)


@case("restore.pages.truncated")
def _():
    restore_must_fail("pages-truncated", truncate_pages, "pages-", "claims")


@case("restore.pages.truncated-foreground")
def _():
    # the same without -d: criu waits for the tree it restores
    restore_must_fail("pages-truncated-fg", truncate_pages, "pages-", "claims", detach=False)


# 9. the pid is in use ---------------------------------------------------------

@case("restore.pid-in-use")
def _():
    d = case_dir("pid-in-use")
    t = Target("inuse-target", "--mem", "1")
    try:
        t.ping()
        before = snapshot(t.pid)
        img = os.path.join(d, "img")
        run = criu(["dump", "-t", str(t.pid), "-D", img, "--leave-running"],
                   log=os.path.join(d, "dump.log"))
        if run.rc != 0:
            lib.CURRENT.details = run.details()
            raise CaseFail("the --leave-running dump failed: " + run.err.strip())
        bad = compare(t.pid, before)
        if bad:
            raise CaseFail("the good --leave-running dump changed the target: "
                           + "; ".join(bad))
        t.ping()
        before = snapshot(t.pid)
        kids_before = {p for p, _ in my_children()}
        marked_before = set(marked_processes())
        run = criu(["restore", "-D", img, "-d", "--pidfile", os.path.join(d, "pidfile")],
                   log=os.path.join(d, "restore.log"))
        try:
            expect_failure(run, "already in use", str(t.pid))
        finally:
            left = leftovers(t.pid, kids_before, marked_before, (t.pid,))
            if left:
                kill_everything_new(kids_before, marked_before, (t.pid,), t.pid)
        if left:
            raise CaseFail("left behind: " + "; ".join(left))
        bad = compare(t.pid, before, "original")
        if bad:
            raise CaseFail("; ".join(bad))
        t.ping()
    finally:
        t.kill()


# 10. the executable is gone -----------------------------------------------------

@case("restore.exe-gone")
def _():
    d = case_dir("exe-gone")
    exe = os.path.join(d, "sleep-" + lib.MARKER)
    shutil.copy2(shutil.which("sleep"), exe)
    pid = spawn([exe, "1000"])
    time.sleep(0.1)
    img = os.path.join(d, "img")
    run = criu(["dump", "-t", str(pid), "-D", img], log=os.path.join(d, "dump.log"))
    if run.rc != 0:
        kill_tree(pid)
        lib.CURRENT.details = run.details()
        raise CaseFail("the dump failed: " + run.err.strip())
    if wait_spawned(pid, 5) is None or not wait_gone(pid):
        raise CaseFail("dumped pid %d still exists" % pid)
    os.unlink(exe)
    kids_before = {p for p, _ in my_children()}
    marked_before = set(marked_processes())
    run = criu(["restore", "-D", img, "-d"], log=os.path.join(d, "restore.log"))
    try:
        expect_failure(run, exe)
    finally:
        left = leftovers(pid, kids_before, marked_before, ())
        if left:
            kill_everything_new(kids_before, marked_before, (), pid)
    if left:
        raise CaseFail("left behind: " + "; ".join(left))


# SysV shared memory in the host's IPC namespace -------------------------------

SHM_TARGET = r"""
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
key, rmid, out = int(sys.argv[1], 0), sys.argv[2] == "rmid", sys.argv[3]
sid = libc.shmget(key, 8192, 0o1600)
p = libc.shmat(sid, None, 0)
if sid < 0 or p in (None, 2**64 - 1):
    sys.exit(1)
ctypes.memset(p, 0x5a, 8192)
if rmid and libc.shmctl(sid, 0, None):
    sys.exit(1)
with open(out + ".tmp", "w") as f:
    f.write(str(sid))
os.rename(out + ".tmp", out)
while True:
    time.sleep(1)
"""


def shm_ids():
    ids = set()
    for line in read("/proc/sysvipc/shm").splitlines()[1:]:
        f = line.split()
        if len(f) > 1:
            ids.add(int(f[1]))
    return ids


def shm_rmid(sid):
    libc.shmctl(sid, 0, None)


def shm_dump(d, key, rmid):
    """Dump (and so kill) a python holding a segment; its id."""
    out = os.path.join(d, "shmid")
    if os.path.exists(out):
        os.unlink(out)
    pid = spawn([PYTHON, "-c", SHM_TARGET, hex(key), "rmid" if rmid else "keep", out, lib.MARKER])
    end = time.monotonic() + 5
    while not os.path.exists(out):
        if time.monotonic() > end:
            kill_tree(pid)
            raise CaseFail("the SysV target did not start")
        time.sleep(0.02)
    sid = int(read(out))
    img = os.path.join(d, "img")
    run = criu(["dump", "-t", str(pid), "-D", img], log=os.path.join(d, "dump.log"))
    if run.rc != 0:
        kill_tree(pid)
        shm_rmid(sid)
        lib.CURRENT.details = run.details()
        raise CaseFail("the dump failed: " + run.err.strip())
    if wait_spawned(pid, 5) is None or not wait_gone(pid):
        raise CaseFail("dumped pid %d still exists" % pid)
    return pid, sid, img


def shm_restore_must_fail(d, pid, img, *needles):
    before = shm_ids()
    kids_before = {p for p, _ in my_children()}
    marked_before = set(marked_processes())
    run = criu(["restore", "-D", img, "-d"], log=os.path.join(d, "restore.log"))
    try:
        expect_failure(run, *needles)
    finally:
        left = leftovers(pid, kids_before, marked_before, ())
        if left:
            kill_everything_new(kids_before, marked_before, (), pid)
    if left:
        raise CaseFail("left behind: " + "; ".join(left))
    extra = shm_ids() - before
    if extra:
        for sid in extra:
            shm_rmid(sid)
        raise CaseFail("SysV segments left behind: %s" % sorted(extra))


@case("restore.sysv-shm.changed")
def _():
    d = case_dir("sysv-changed")
    key = 0x5a460000 | (os.getpid() & 0xffff)
    pid, sid, img = shm_dump(d, key, False)
    try:
        # the keyed segment outlives the tree; someone writes to it
        libc.shmat.restype = ctypes.c_void_p
        libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
        p = libc.shmat(sid, None, 0)
        if p in (None, 2**64 - 1):
            raise CaseFail("cannot attach segment %d" % sid)
        ctypes.memset(p + 100, 0x11, 1)
        libc.shmdt(ctypes.c_void_p(p))
        shm_restore_must_fail(d, pid, img, str(sid), "%#x" % key, "changed")
        if sid not in shm_ids():
            raise CaseFail("the changed segment %d is gone" % sid)
    finally:
        shm_rmid(sid)


@case("restore.sysv-shm.id-taken")
def _():
    d = case_dir("sysv-taken")
    pid, sid, img = shm_dump(d, 0, True)
    if sid in shm_ids():
        raise CaseFail("the segment %d marked for removal outlived its tree" % sid)
    # another segment at the dumped id
    with open("/proc/sys/kernel/shm_next_id", "w") as f:
        f.write(str(sid))
    other = libc.shmget(0, 100, 0o1600)
    try:
        if other != sid:
            raise CaseFail("could not put another segment at id %d (got %d)" % (sid, other))
        shm_restore_must_fail(d, pid, img, str(sid), "taken")
    finally:
        shm_rmid(other)


# what restore must refuse before it makes anything ------------------------------

def pb_fields(msg):
    """The fields of a protobuf message: [(number, wire type, value)], the
    value an int for varints, bytes otherwise."""
    out, i = [], 0
    while i < len(msg):
        tag, i = pb_read_varint(msg, i)
        num, wt = tag >> 3, tag & 7
        if wt == 0:
            v, i = pb_read_varint(msg, i)
        elif wt == 2:
            n, i = pb_read_varint(msg, i)
            v, i = bytes(msg[i:i + n]), i + n
        elif wt in (1, 5):
            n = 8 if wt == 1 else 4
            v, i = bytes(msg[i:i + n]), i + n
        else:
            raise CaseFail("wire type %d in a message" % wt)
        out.append((num, wt, v))
    return out


def pb_read_varint(b, i):
    v = s = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7f) << s
        s += 7
        if not c & 0x80:
            return v, i


def pb_pack(fields):
    out = b""
    for num, wt, v in fields:
        out += pb_varint(num << 3 | wt)
        if wt == 0:
            out += pb_varint(v)
        elif wt == 2:
            out += pb_varint(len(v)) + v
        else:
            out += v
    return out


def edit_pagemap(path, how):
    """Drop the middle run of a pagemap, or take one page off its longest
    run (nr_pages in both of its fields); the run's vaddr and pages."""
    with open(path, "rb") as f:
        data = bytearray(f.read())
    runs = entries(data, os.path.basename(path))[1:]      # after the head
    if not runs:
        raise CaseFail("%s has no runs" % os.path.basename(path))

    def count(e):
        return dict((n, v) for n, _, v in pb_fields(data[e[0] + 4:e[0] + 4 + e[1]])).get(2, 0)
    if how == "drop":
        off, n = runs[len(runs) // 2]
        f = dict((k, v) for k, _, v in pb_fields(data[off + 4:off + 4 + n]))
        del data[off:off + 4 + n]
    elif how == "swap":
        if len(runs) < 2:
            raise CaseFail("%s has one run" % os.path.basename(path))
        (o1, n1), (o2, n2) = runs[len(runs) // 2 - 1], runs[len(runs) // 2]
        a, b = bytes(data[o1:o1 + 4 + n1]), bytes(data[o2:o2 + 4 + n2])
        data[o1:o2 + 4 + n2] = b + a
        f = dict((k, v) for k, _, v in pb_fields(b[4:]))
    elif isinstance(how, int):
        # the last run moved to address how
        off, n = runs[-1]
        fields = pb_fields(data[off + 4:off + 4 + n])
        f = dict((k, v) for k, _, v in fields)
        msg = pb_pack([(k, wt, how if k == 1 else v) for k, wt, v in fields])
        data[off:off + 4 + n] = struct.pack("<I", len(msg)) + msg
    else:
        off, n = max(runs, key=count)
        fields = pb_fields(data[off + 4:off + 4 + n])
        f = dict((k, v) for k, _, v in fields)
        if f.get(2, 0) < 2:
            raise CaseFail("no run of 2 pages or more in %s" % os.path.basename(path))
        msg = pb_pack([(k, wt, v - 1 if k in (2, 5) else v) for k, wt, v in fields])
        data[off:off + 4 + n] = struct.pack("<I", len(msg)) + msg
    with open(path, "wb") as fo:
        fo.write(data)
    return f.get(1), f.get(2)


@case("restore.pagemap.drop-entry")
def _():
    def m(img):
        return edit_pagemap(image_file(img, "pagemap-[0-9]*.img"), "drop")
    line, _ = restore_must_fail("pagemap-drop", m, "pages-1.img", "pagemap-", "claims")
    if not re.search(r"holds \d+ bytes \((\d+) pages\).*claims (\d+) pages", line):
        raise CaseFail("the line does not give both page counts: %r" % line)


@case("restore.pagemap.nr-pages")
def _():
    def m(img):
        return edit_pagemap(image_file(img, "pagemap-[0-9]*.img"), "nr")
    restore_must_fail("pagemap-nr", m, "pages-1.img", "pagemap-", "claims")


@case("restore.pagemap.out-of-order")
def _():
    def m(img):
        return edit_pagemap(image_file(img, "pagemap-[0-9]*.img"), "swap")
    restore_must_fail("pagemap-order", m, "pagemap-", "sorted and disjoint")


@case("restore.pagemap.outside-vmas")
def _():
    """The last run moved above every VMA (still in order)."""
    def m(img):
        mm = image_file(img, "mm-*.img")
        if not CRIT:
            raise CaseSkip("no crit")
        r = subprocess.run([CRIT, "decode", "-i", mm], capture_output=True, text=True)
        if r.returncode:
            raise CaseFail("crit decode %s: %s" % (mm, r.stderr.strip()))
        # the user address space's top VMA: [vsyscall] lies above the task size
        top = max(int(str(v["end"]), 0) for v in json.loads(r.stdout)["entries"][0]["vmas"]
                  if int(str(v["start"]), 0) < 1 << 47)
        return edit_pagemap(image_file(img, "pagemap-[0-9]*.img"), top + (16 << 20))
    restore_must_fail("pagemap-outside", m, "pagemap-", "outside every", "mm-")


@case("restore.pages.short-by-a-page")
def _():
    def m(img):
        p = image_file(img, "pages-*.img")
        os.truncate(p, os.path.getsize(p) - 4096)
    restore_must_fail("pages-short", m, "pages-1.img", "pagemap-", "claims")


SHMEM_TARGET = r"""
import mmap, os, sys, time
m = mmap.mmap(-1, 64 * 4096)            # MAP_SHARED | MAP_ANONYMOUS
for i in range(64):
    m[i * 4096:i * 4096 + 8] = b"page%04d" % i
open(sys.argv[1] + ".tmp", "w").close()
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    time.sleep(1)
"""


@case("restore.pagemap-shmem.nr-pages")
def _():
    """Shared anonymous memory has its own pagemap (pagemap-shmem-ID.img)
    and pages file, checked the same way."""
    d = case_dir("pagemap-shmem")
    ready = os.path.join(d, "ready")
    pid = spawn([PYTHON, "-c", SHMEM_TARGET, ready, lib.MARKER])
    img = os.path.join(d, "img")
    try:
        end = time.monotonic() + 5
        while not os.path.exists(ready):
            if time.monotonic() > end:
                raise CaseFail("the shared memory target did not start")
            time.sleep(0.02)
        run = criu(["dump", "-t", str(pid), "-D", img], log=os.path.join(d, "dump.log"))
        if run.rc != 0:
            lib.CURRENT.details = run.details()
            raise CaseFail("the dump failed: " + run.err.strip())
        if wait_spawned(pid, 5) is None or not wait_gone(pid):
            raise CaseFail("dumped pid %d still exists" % pid)
    finally:
        kill_tree(pid)
    pm = image_file(img, "pagemap-shmem-*.img")
    edit_pagemap(pm, "nr")
    kids_before = {p for p, _ in my_children()}
    marked_before = set(marked_processes())
    run = criu(["restore", "-D", img, "-d"], log=os.path.join(d, "restore.log"))
    try:
        expect_failure(run, os.path.basename(pm), "claims", "pages-")
    finally:
        left = leftovers(pid, kids_before, marked_before, ())
        if left:
            kill_everything_new(kids_before, marked_before, (), pid)
    if left:
        raise CaseFail("left behind: " + "; ".join(left))


# the CPU --------------------------------------------------------------------------

CRIT = shutil.which("crit")

# xsave components the kernel names in /proc/cpuinfo flags: (flag, bits)
XFEATURE_FLAGS = [("avx512f", (5, 6, 7)), ("mpx", (3, 4)), ("ospke", (9,))]


def missing_xfeatures():
    """xsave components this CPU lacks, by /proc/cpuinfo: AVX-512 if it can."""
    flags = set()
    for line in read("/proc/cpuinfo").splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    for flag, bits in XFEATURE_FLAGS:
        if flag not in flags:
            return flag, bits
    raise CaseSkip("this CPU has AVX-512, MPX and PKU: no xsave feature to take away")


def crit_edit(path, edit):
    """Decode an image with crit, change its JSON, encode it back."""
    if not CRIT:
        raise CaseSkip("no crit")
    js = path + ".json"
    for args in (["decode", "-i", path, "--pretty", "-o", js],):
        r = subprocess.run([CRIT] + args, capture_output=True, text=True)
        if r.returncode:
            raise CaseFail("crit decode %s: %s" % (path, r.stderr.strip()))
    with open(js) as f:
        j = json.load(f)
    edit(j)
    with open(js, "w") as f:
        json.dump(j, f)
    r = subprocess.run([CRIT, "encode", "-i", js, "-o", path], capture_output=True, text=True)
    if r.returncode:
        raise CaseFail("crit encode %s: %s" % (path, r.stderr.strip()))


XFEATURE_NAMES = {3: "mpx_bndregs", 4: "mpx_bndcsr", 5: "avx512_opmask",
                  6: "avx512_zmm_hi256", 7: "avx512_hi16_zmm", 9: "pkru"}


@case("restore.cpu.xstate")
def _():
    """A thread's xstate_bv with components this CPU has not (AVX-512 on a
    CPU without it): the kernel would refuse the frame and the restorer
    die (signal 11 in a remote syscall); criu refuses first."""
    flag, bits = missing_xfeatures()

    def m(img):
        def edit(j):
            xs = j["entries"][0]["thread_info"]["fpregs"]["xsave"]
            for b in bits:
                xs["xstate_bv"] |= 1 << b
        core = image_file(img, "core-%d.img" % BASE["pid"])
        crit_edit(core, edit)
        return os.path.basename(core)
    line, core = restore_must_fail("cpu-xstate", m, "xsave features", "lacks",
                                   *[XFEATURE_NAMES[b] for b in bits])
    if core not in line:
        raise CaseFail("the line does not name %s: %r" % (core, line))


def add_xfeatures(bits):
    def edit(j):
        for b in bits:
            j["entries"][0]["x86_entry"][0]["xfeatures_mask"] |= 1 << b
    return edit


@case("restore.cpu.cpuinfo-xfeatures")
def _():
    """cpuinfo.img from a CPU with an xsave feature this one lacks: refused
    by default (--cpu-cap fpu), restored with --cpu-cap=none."""
    flag, bits = missing_xfeatures()

    def m(img):
        crit_edit(os.path.join(img, "cpuinfo.img"), add_xfeatures(bits))
    restore_must_fail("cpu-cpuinfo", m, "cpuinfo.img", "lacks",
                      *[XFEATURE_NAMES[b] for b in bits])


# instruction-set features this CPU may lack: (cpuinfo flag, word, bit)
INS_FLAGS = [("avx512pf", 9, 26), ("xop", 6, 11), ("fma4", 6, 16), ("avx512er", 9, 27),
             ("sse4a", 6, 6)]


@case("cpuinfo.dump-check")
def _():
    """criu cpuinfo dump, then check, on this machine: exit 0; the base
    dump's own cpuinfo.img too; one with an instruction set this CPU lacks:
    check exits non-zero naming it, and restore --cpu-cap=ins refuses."""
    d = case_dir("cpuinfo")
    run = criu(["cpuinfo", "dump", "-D", d], log=os.path.join(d, "dump.log"))
    if run.rc != 0 or not os.path.exists(os.path.join(d, "cpuinfo.img")):
        lib.CURRENT.details = run.details()
        raise CaseFail("cpuinfo dump: rc %s: %s" % (run.rc, run.err.strip()))
    for where in (d, base_dump()["dir"]):
        run = criu(["cpuinfo", "check", "-D", where], log=os.path.join(d, "check.log"))
        if run.rc != 0:
            lib.CURRENT.details = run.details()
            raise CaseFail("cpuinfo check of %s: rc %s: %s" % (where, run.rc, run.err.strip()))
    flags = set()
    for line in read("/proc/cpuinfo").splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    lacking = [f for f in INS_FLAGS if f[0] not in flags]
    if not lacking:
        raise CaseSkip("this CPU has every instruction set we would take away")
    name, word, bit = lacking[0]

    def edit(j):
        j["entries"][0]["x86_entry"][0]["capability"][word] |= 1 << bit
    crit_edit(os.path.join(d, "cpuinfo.img"), edit)
    run = criu(["cpuinfo", "check", "-D", d], log=os.path.join(d, "check2.log"))
    expect_failure(run, name, "lacks")

    def m(img):
        crit_edit(os.path.join(img, "cpuinfo.img"), edit)
    restore_must_fail("cpu-ins", m, name, "lacks", extra=["--cpu-cap=ins"])


# a changed executable or library ----------------------------------------------------

PROG_C = r"""
#include <unistd.h>
volatile int tag = TAG;
int main(void) { for (;;) sleep(1 + tag * 0); }
"""
LIB_C = r"""
volatile int lib_tag = TAG;
int lib_get(void) { return lib_tag; }
"""


def build_pair(d, name, src, shared):
    """Two builds of src differing in TAG, padded to one size; their paths."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise CaseSkip("no C compiler")
    with open(os.path.join(d, name + ".c"), "w") as f:
        f.write(src)
    out = []
    for tag in (1, 2):
        o = os.path.join(d, "%s-%d" % (name, tag))
        args = [cc, "-O2", "-DTAG=%d" % tag, "-o", o, os.path.join(d, name + ".c")]
        if shared:
            args[1:1] = ["-shared", "-fPIC"]
        r = subprocess.run(args, capture_output=True, text=True)
        if r.returncode:
            raise CaseFail("cc: %s" % r.stderr.strip())
        out.append(o)
    size = max(os.path.getsize(o) for o in out)
    for o in out:
        with open(o, "ab") as f:
            f.write(b"\0" * (size - os.path.getsize(o)))
    with open(out[0], "rb") as a, open(out[1], "rb") as b:
        if a.read() == b.read():
            raise CaseFail("the two builds are the same")
    return out


def replace_file(src, dst):
    tmp = dst + ".new"
    shutil.copyfile(src, tmp)
    os.chmod(tmp, 0o755)
    os.rename(tmp, dst)


def changed_file_case(name, shared):
    def run_case():
        d = case_dir("changed-" + name)
        one, two = build_pair(d, name, LIB_C if shared else PROG_C, shared)
        path = os.path.join(d, "%s-%s%s" % (name, lib.MARKER, ".so" if shared else ""))
        replace_file(one, path)
        st = os.stat(path)
        if shared:
            # a program of ours (it takes the marker as an argument) with it preloaded
            exe = build_pair(d, "prog", PROG_C, False)[0]
            pid = spawn([exe, lib.MARKER], env=dict(os.environ, LD_PRELOAD=path))
        else:
            pid = spawn([path, lib.MARKER])
        img = os.path.join(d, "img")
        try:
            time.sleep(0.2)
            if path not in (read("/proc/%d/maps" % pid) or ""):
                raise CaseFail("the target does not map %s" % path)
            run = criu(["dump", "-t", str(pid), "-D", img], log=os.path.join(d, "dump.log"))
            if run.rc != 0:
                lib.CURRENT.details = run.details()
                raise CaseFail("the dump failed: " + run.err.strip())
            if wait_spawned(pid, 5) is None or not wait_gone(pid):
                raise CaseFail("dumped pid %d still exists" % pid)
        finally:
            kill_tree(pid)
        replace_file(two, path)            # another build, the same size
        kids_before = {p for p, _ in my_children()}
        marked_before = set(marked_processes())
        run = criu(["restore", "-D", img, "-d"], log=os.path.join(d, "restore.log"))
        try:
            line = expect_failure(run, path, "changed", "build-id")
        finally:
            left = leftovers(pid, kids_before, marked_before, ())
            if left:
                kill_everything_new(kids_before, marked_before, (), pid)
        if left:
            raise CaseFail("left behind: " + "; ".join(left))
        if "size" in line:
            raise CaseFail("the size did not change, yet the line says so: %r" % line)
        # the dumped build back, with its mtime: it restores and runs again
        replace_file(one, path)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        run = criu(["restore", "-D", img, "-d"], log=os.path.join(d, "restore2.log"))
        try:
            if run.rc != 0:
                lib.CURRENT.details = run.details()
                raise CaseFail("the unchanged file did not restore: %s" % run.err.strip())
            time.sleep(0.2)
            ps = proc_ppid_state(pid)
            if not ps or ps[1] not in "SR":
                raise CaseFail("the restored pid %d is %s" % (pid, ps))
            if path not in (read("/proc/%d/maps" % pid) or ""):
                raise CaseFail("the restored pid %d does not map %s" % (pid, path))
        finally:
            kill_tree(pid)
            wait_gone(pid)
    return run_case


case("restore.changed.exe")(changed_file_case("prog", False))
case("restore.changed.library")(changed_file_case("lib", True))


# an unfinished dump --------------------------------------------------------------------

def restore_refuses_incomplete(d, img, pid):
    if os.path.exists(os.path.join(img, "inventory.img")):
        raise CaseFail("the unfinished dump left an inventory.img")
    kids_before = {p for p, _ in my_children()}
    marked_before = set(marked_processes())
    run = criu(["restore", "-D", img, "-d"], log=os.path.join(d, "restore.log"))
    try:
        expect_failure(run, img, "incomplete dump", "inventory.img")
    finally:
        left = leftovers(pid, kids_before, marked_before, ())
        if left:
            kill_everything_new(kids_before, marked_before, (), pid)
    if left:
        raise CaseFail("left behind: " + "; ".join(left))


@case("dump.interrupted")
def _():
    """criu SIGKILLed while it writes 512 MiB of pages: the directory does
    not pass for a dump."""
    d = case_dir("interrupted")
    img = os.path.join(d, "img")
    t = Target("interrupted-target", "--mem", "512")
    try:
        p = subprocess.Popen([lib.CRIU, "dump", "-t", str(t.pid), "-D", img, "-o",
                              os.path.join(d, "dump.log"), "-v4"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        end, written = time.monotonic() + 20, 0
        while time.monotonic() < end and p.poll() is None:
            written = sum(os.path.getsize(f) for f in glob.glob(os.path.join(img, "pages-*.img")))
            if written >= 64 << 20:
                break
            time.sleep(0.005)
        p.kill()
        p.wait()
        if p.returncode != -signal.SIGKILL:
            raise CaseFail("criu ended by itself (rc %s) before it was killed" % p.returncode)
        lib.CURRENT.note = "killed after %d MiB of pages" % (written >> 20)
    finally:
        t.kill()
    restore_refuses_incomplete(d, img, t.pid)


@case("dump.failed-over-old")
def _():
    """A dump that fails (an unsupported fd) into a directory that holds a
    complete dump: the old inventory.img goes, restore refuses."""
    d = case_dir("failed-over-old")
    img = os.path.join(d, "img")
    t = Target("old-dump-target", "--mem", "1")
    run = criu(["dump", "-t", str(t.pid), "-D", img], log=os.path.join(d, "dump1.log"))
    if run.rc != 0:
        t.kill()
        lib.CURRENT.details = run.details()
        raise CaseFail("the first dump failed: " + run.err.strip())
    wait_spawned(t.pid, 5)
    bad = Target("failing-target", "--fd", "fanotify")
    try:
        run = criu(["dump", "-t", str(bad.pid), "-D", img], log=os.path.join(d, "dump2.log"))
        expect_failure(run, "unsupported")
    finally:
        bad.kill()
    restore_refuses_incomplete(d, img, t.pid)


# restoring twice ------------------------------------------------------------------

@case("restore.twice")
def _():
    b = base_dump()
    t = b["target"]
    d = case_dir("twice")
    img = os.path.join(d, "img")
    if os.path.exists(img):
        shutil.rmtree(img)
    shutil.copytree(b["dir"], img)
    if alive(b["pid"]):
        raise CaseFail("pid %d is taken before the restore" % b["pid"])
    run = criu(["restore", "-D", img, "-d", "--pidfile", os.path.join(d, "pid1")],
               log=os.path.join(d, "restore1.log"))
    try:
        if run.rc != 0:
            lib.CURRENT.details = run.details()
            raise CaseFail("the first restore failed: rc %s: %s" % (run.rc, run.err.strip()))
        pid = int(read(os.path.join(d, "pid1")))
        if pid != b["pid"]:
            raise CaseFail("restored as pid %d, not %d" % (pid, b["pid"]))
        t.ticks = -1
        t.ping(pid)
        before = snapshot(pid)
        kids_before = {p for p, _ in my_children()}
        marked_before = set(marked_processes())
        run = criu(["restore", "-D", img, "-d", "--pidfile", os.path.join(d, "pid2")],
                   log=os.path.join(d, "restore2.log"))
        try:
            expect_failure(run, "already in use", str(pid))
        finally:
            left = leftovers(pid, kids_before, marked_before, (pid,))
            if left:
                kill_everything_new(kids_before, marked_before, (pid,), pid)
        if left:
            raise CaseFail("left behind: " + "; ".join(left))
        bad = compare(pid, before, "restored")
        if bad:
            raise CaseFail("; ".join(bad))
        t.ping(pid)
    finally:
        if alive(b["pid"]):
            kill_tree(b["pid"])
            # it was our child once, so reap_orphans() leaves its zombie to us
            try:
                os.waitpid(b["pid"], 0)
            except ChildProcessError:
                pass
            wait_gone(b["pid"])


