"""Failure cases of run.py: restores from a good dump that must fail cleanly,
corrupted images, mm and seccomp images the kernel would refuse."""

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

# restore failures -----------------------------------------------------------

BASE = {}   # "dir", "pid", "target"


def base_dump():
    """One good dump of a small target, made once; restore cases copy it."""
    if BASE:
        return BASE
    t = Target("base-target", "--mem", "1")
    t.ping()
    img = os.path.join(lib.TMP, "base-img")
    run = criu(["dump", "-t", str(t.pid), "-D", img], log=os.path.join(lib.TMP, "base-dump.log"))
    if run.rc != 0:
        t.kill()
        lib.CURRENT.details = run.details()
        raise CaseFail("the good dump failed: rc %s: %s" % (run.rc, run.err.strip()))
    if wait_spawned(t.pid, 5) is None or not wait_gone(t.pid):
        raise CaseFail("dumped target %d still exists" % t.pid)
    BASE.update(dir=img, pid=t.pid, target=t)
    return BASE


def restore_must_fail(name, mutate, *needles, any_of=None, allowed=(), detach=True,
                      extra=(), prefix=()):
    """Copy the base images, change them, restore: it must fail with one
    line and leave nothing behind."""
    b = base_dump()
    d = case_dir(name)
    img = os.path.join(d, "img")
    if os.path.exists(img):
        shutil.rmtree(img)
    shutil.copytree(b["dir"], img)
    info = mutate(img)
    if alive(b["pid"]) and b["pid"] not in allowed:
        raise CaseFail("pid %d is taken before the restore (%s)"
                       % (b["pid"], read("/proc/%d/cmdline" % b["pid"])))
    kids_before = {p for p, _ in my_children()}
    marked_before = set(marked_processes())
    run = criu(["restore", "-D", img] + (["-d"] if detach else []) + list(extra) +
               ["--pidfile", os.path.join(d, "pidfile")], log=os.path.join(d, "restore.log"),
               prefix=prefix)
    try:
        line = expect_failure(run, *needles, any_of=any_of)
    finally:
        left = leftovers(b["pid"], kids_before, marked_before, allowed)
        if left:
            kill_everything_new(kids_before, marked_before, allowed, b["pid"])
    if left:
        raise CaseFail("left behind: " + "; ".join(left))
    return line, info


# 7. corrupted images -----------------------------------------------------------

IMAGE_KINDS = ["inventory.img", "pstree.img", "core-*.img", "mm-*.img", "pagemap-*.img",
               "fdinfo-*.img", "files.img", "fs-*.img", "ids-*.img"]


def image_file(img, pattern):
    m = sorted(glob.glob(os.path.join(img, pattern)))
    if not m:
        raise CaseFail("the good dump has no %s" % pattern)
    return m[0]


def entries(data, name):
    """(offset of the u32 length, payload length) of each entry."""
    off = 4 if name == "inventory.img" else 8
    out = []
    while off + 4 <= len(data):
        n = struct.unpack_from("<I", data, off)[0]
        out.append((off, n))
        off += 4 + n
    return out


def corrupt(pattern, how):
    def mutate(img):
        path = image_file(img, pattern)
        name = os.path.basename(path)
        with open(path, "rb") as f:
            data = bytearray(f.read())
        ents = entries(data, name)
        if not ents and how != "magic":
            raise CaseFail("%s has no entries" % name)
        if how == "magic":
            data[0:4] = b"\xde\xad\xbe\xef"
        elif how == "magic2":
            data[4:8] = b"\xde\xad\xbe\xef"
        else:
            off, n = max(ents, key=lambda e: e[1])   # the largest entry
            if how == "trunc":
                del data[off + 4 + n // 2:]
            elif how == "garbage":
                # 0xff bytes: every varint runs on past the entry's end
                data[off + 4:off + 4 + n] = b"\xff" * n
        with open(path, "wb") as f:
            f.write(data)
        return name
    return mutate


def corrupt_case(pattern, how):
    def run_case():
        b = base_dump()
        name = os.path.basename(image_file(b["dir"], pattern))
        restore_must_fail("corrupt-%s-%s" % (name, how), corrupt(pattern, how), name)
    return run_case


for _p in IMAGE_KINDS:
    _short = _p.split("-")[0].split(".")[0]
    for _how in ("magic", "magic2", "trunc", "garbage"):
        if _how == "magic2" and _p == "inventory.img":
            continue
        case("restore.corrupt.%s.%s" % (_short, _how))(corrupt_case(_p, _how))


# 7b. file locks in the images, restored without --file-locks -----------------

def pb_varint(n):
    n &= (1 << 64) - 1
    out = b""
    while True:
        out += bytes([(n & 0x7f) | (0x80 if n > 0x7f else 0)])
        n >>= 7
        if not n:
            return out


@case("restore.lock.no-option")
def _():
    def m(img):
        # file_lock_entry: flock (flag 2), shared (type 0), on fd 0 of the root
        fields = [(1, 2), (2, 0), (3, BASE["pid"]), (4, 0), (5, 0), (6, 0)]
        msg = b"".join(pb_varint(num << 3) + pb_varint(v) for num, v in fields)
        with open(os.path.join(img, "filelocks.img"), "wb") as f:
            f.write(struct.pack("<III", 0x54564319, 0x54323616, len(msg)) + msg)
    restore_must_fail("lock-no-option", m, "--file-locks")


# 7c. mm images that PR_SET_MM_MAP would refuse --------------------------------
# Each is refused before the tree is forked, naming the field and its value.

TASK_SIZE = 0x7ffffffff000
PR_GET_AUXV = 0x41555856


def crit_entries(path, fn):
    """Decode an image with crit, let fn change the entries, encode it back."""
    j = path + ".json"
    r = subprocess.run(["crit", "decode", "-i", path, "-o", j], capture_output=True, text=True)
    if r.returncode:
        raise CaseFail("crit decode %s: %s" % (path, r.stderr.strip()))
    with open(j) as f:
        d = json.load(f)
    info = fn(d["entries"])
    with open(j, "w") as f:
        json.dump(d, f)
    r = subprocess.run(["crit", "encode", "-i", j, "-o", path], capture_output=True, text=True)
    if r.returncode:
        raise CaseFail("crit encode %s: %s" % (path, r.stderr.strip()))
    os.unlink(j)
    return info


def mm_img(img):
    return os.path.join(img, "mm-%d.img" % BASE["pid"])


def mm_case(name, edit, *needles, prefix=(), prepare=None):
    """edit(mm entry, img) changes the mm entry; the line must name mm-PID.img."""
    def run_case():
        b = base_dump()

        def m(img):
            if prepare:
                prepare(img)
            crit_entries(mm_img(img), lambda ents: edit(ents[0], img))
        restore_must_fail("mm-" + name, m, "mm-%d.img" % b["pid"], *needles, prefix=prefix)
    case("restore.mm." + name)(run_case)


def free_addr(mm):
    """An address well below the lowest VMA: in no VMA."""
    a = min(v["start"] for v in mm["vmas"]) - 0x100000
    if a < mmap_min_addr():
        raise CaseFail("no room below the lowest VMA %x" % (a + 0x100000))
    return a


def mmap_min_addr():
    return int(read("/proc/sys/vm/mmap_min_addr"))


def kernel_auxv_words():
    n = libc.prctl(PR_GET_AUXV, 0, 0, 0, 0)
    return (n if n > 0 else 448) // 8


def set_fields(**kw):
    def edit(mm, img):
        for k, v in kw.items():
            mm[k] = v(mm) if callable(v) else v
    return edit


def add_file_entry(img, path):
    """A new regular file entry for path in files.img, as a copy of the exe's; its id."""
    mm = crit_entries(mm_img(img), lambda ents: ents[0])
    st = os.stat(path)

    def add(ents):
        exe = next(e for e in ents if e["id"] == mm["exe_file_id"])
        new = json.loads(json.dumps(exe))
        new["id"] = new["reg"]["id"] = max(e["id"] for e in ents) + 1
        new["reg"]["name"] = path
        new["reg"].pop("build_id", None)   # a file of ours, not the dumped exe
        new["reg"]["size"] = st.st_size
        new["reg"]["mode"] = st.st_mode
        ents.append(new)
        return new["id"]
    return crit_entries(os.path.join(img, "files.img"), add)


def exe_case(name, make_file, *needles):
    def run_case():
        b = base_dump()

        def m(img):
            fid = add_file_entry(img, make_file(img))
            crit_entries(mm_img(img), lambda ents: ents[0].update(exe_file_id=fid))
        restore_must_fail("mm-" + name, m, "mm-%d.img" % b["pid"], "exe", *needles)
    case("restore.mm." + name)(run_case)


def not_executable(img):
    p = os.path.join(os.path.dirname(img), "plain-file")
    with open(p, "w") as f:
        f.write("not a program\n")
    os.chmod(p, 0o644)
    return p


def on_noexec_mount(img):
    mnt = os.path.join(os.path.dirname(img), "noexec")
    os.makedirs(mnt, exist_ok=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "noexec,size=4m", "tmpfs", mnt]).returncode:
        raise CaseSkip("cannot mount a noexec tmpfs")
    lib.MOUNTS.append(mnt)
    p = os.path.join(mnt, "prog")
    shutil.copy("/bin/true", p)
    os.chmod(p, 0o755)
    return p


mm_case("addr-low", set_fields(mm_start_code=0), "mm_start_code", "0x0", "mmap_min_addr")
mm_case("addr-high", set_fields(mm_env_end=TASK_SIZE), "mm_env_end",
        "0x%x" % TASK_SIZE, "TASK_SIZE")
mm_case("code-order", set_fields(mm_end_code=lambda mm: mm["mm_start_code"]), "mm_end_code",
        "not above", "mm_start_code")
mm_case("data-order", set_fields(mm_end_data=lambda mm: mm["mm_start_data"] - 0x1000),
        "mm_end_data", "below", "mm_start_data")
mm_case("brk-order", set_fields(mm_brk=lambda mm: mm["mm_start_brk"] - 0x1000),
        "mm_brk", "below mm_start_brk")
mm_case("arg-order", set_fields(mm_arg_end=lambda mm: mm["mm_arg_start"] - 1),
        "mm_arg_end", "below mm_arg_start")
mm_case("env-order", set_fields(mm_env_end=lambda mm: mm["mm_env_start"] - 1),
        "mm_env_end", "below mm_env_start")
# criu's RLIMIT_DATA is what the task has at PR_SET_MM_MAP
mm_case("data-rlimit", set_fields(mm_brk=lambda mm: mm["mm_start_brk"] + (256 << 20)),
        "RLIMIT_DATA", str(64 << 20),
        prefix=("prlimit", "--data=%d:unlimited" % (64 << 20), "--"))
mm_case("stack-outside", set_fields(mm_start_stack=free_addr), "mm_start_stack", "not inside")
mm_case("arg-outside", set_fields(mm_arg_start=free_addr,
                                  mm_arg_end=lambda mm: mm["mm_arg_start"] + 0x100),
        "mm_arg_start..mm_arg_end", "not inside")
mm_case("env-outside", set_fields(mm_env_start=free_addr,
                                  mm_env_end=lambda mm: mm["mm_env_start"] + 0x10),
        "mm_env_start..mm_env_end", "not inside")
mm_case("auxv-odd", set_fields(mm_saved_auxv=lambda mm: mm["mm_saved_auxv"][:-1]),
        "mm_saved_auxv", "pairs")
# accepted by the kernel, but the task would keep criu's own vector
mm_case("auxv-empty", lambda mm, img: mm.pop("mm_saved_auxv"), "mm_saved_auxv", "empty")
mm_case("auxv-long",
        set_fields(mm_saved_auxv=lambda mm: [6, 4096] * (kernel_auxv_words() // 2 + 1)),
        "mm_saved_auxv", "larger than")
def exe_is_root(mm, img):
    fs = glob.glob(os.path.join(img, "fs-*.img"))[0]
    mm["exe_file_id"] = crit_entries(fs, lambda ents: ents[0]["root_id"])


mm_case("exe-dir", exe_is_root, "exe", "not a regular file")
exe_case("exe-noperm", not_executable, "no execute permission")
exe_case("exe-noexec-mount", on_noexec_mount, "noexec mount")
# the exe link needs CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN (root loses both at exec)
mm_case("exe-nocap", lambda mm, img: None, "CAP_CHECKPOINT_RESTORE",
        prefix=("setpriv", "--bounding-set=-sys_admin,-checkpoint_restore", "--"))


# 7d. seccomp.img with filters the kernel could not take ----------------------

def seccomp_img(img, filters):
    """seccomp.img with one seccomp_entry of (filter bytes, prev or None)."""
    entry = b""
    for data, prev in filters:
        f = pb_varint(1 << 3 | 2) + pb_varint(len(data)) + data
        if prev is not None:
            f += pb_varint(2 << 3) + pb_varint(prev)
        entry += pb_varint(1 << 3 | 2) + pb_varint(len(f)) + f
    with open(os.path.join(img, "seccomp.img"), "wb") as fh:
        fh.write(struct.pack("<III", 0x54564319, 0x64413049, len(entry)) + entry)


ALLOW = struct.pack("<HBBI", 0x06, 0, 0, 0x7fff0000)    # return SECCOMP_RET_ALLOW


@case("restore.seccomp.bad-length")
def _():
    restore_must_fail("seccomp-bad-length", lambda img: seccomp_img(img, [(ALLOW + b"xyzab",
                                                                             None)]),
                      "seccomp.img", "filter 0", "13 bytes")


@case("restore.seccomp.bad-prev")
def _():
    restore_must_fail("seccomp-bad-prev", lambda img: seccomp_img(img, [(ALLOW, None),
                                                                          (ALLOW, 7)]),
                      "seccomp.img", "filter 1", "prev 7")


@case("restore.seccomp.cycle")
def _():
    restore_must_fail("seccomp-cycle", lambda img: seccomp_img(img, [(ALLOW, None),
                                                                       (ALLOW, 2), (ALLOW, 1)]),
                      "seccomp.img", "filter 1", "cycle")


