#!/usr/bin/env python3
# A target for test/pageserver/run.py.
#
#   target.py WORKDIR MARKER MIB
#
# Keeps MIB MiB of private memory, 4 MiB of MAP_SHARED anonymous memory and
# a 4 MiB memfd mapping, each page with its own pattern (its index in it),
# writes WORKDIR/ready (JSON: pid) and loops, counting ticks.  On SIGUSR1 it
# compares every byte and writes WORKDIR/reply (JSON: ok, ticks, problems).
# MARKER only puts the run's name on the command line.
import hashlib
import json
import mmap
import os
import signal
import sys
import time

workdir, mib = sys.argv[1], int(sys.argv[3])
PAGE = 4096


def pattern(tag, npages):
    """npages pages, each one different: a hash of tag and its index."""
    out = bytearray(npages * PAGE)
    for i in range(npages):
        h = hashlib.sha256(b"%s-%d" % (tag, i)).digest()
        out[i * PAGE:(i + 1) * PAGE] = h * (PAGE // len(h))
    return out


priv = pattern(b"priv", mib * 256)
priv_hash = hashlib.sha256(priv).hexdigest()
shared_want = pattern(b"shared", 1024)
shared = mmap.mmap(-1, len(shared_want), mmap.MAP_SHARED)
shared[:] = shared_want
memfd = os.memfd_create("ps-target")
os.ftruncate(memfd, len(shared_want))
mfd_want = pattern(b"memfd", 1024)
mfd = mmap.mmap(memfd, len(mfd_want), mmap.MAP_SHARED)
mfd[:] = mfd_want
del shared_want, mfd_want

ticks = 0
asked = False


def on_usr1(sig, frame):
    global asked
    asked = True


def check():
    problems = []
    if hashlib.sha256(priv).hexdigest() != priv_hash:
        for i in range(len(priv) // PAGE):
            want = hashlib.sha256(b"priv-%d" % i).digest() * (PAGE // 32)
            if priv[i * PAGE:(i + 1) * PAGE] != want:
                problems.append("private memory differs, first at page %d" % i)
                break
    if shared[:] != pattern(b"shared", 1024):
        problems.append("MAP_SHARED anonymous memory differs")
    if mfd[:] != pattern(b"memfd", 1024):
        problems.append("memfd memory differs")
    if os.pread(memfd, 4096, 4096) != bytes(pattern(b"memfd", 2)[4096:]):
        problems.append("memfd contents through its fd differ")
    return problems


signal.signal(signal.SIGUSR1, on_usr1)
with open(os.path.join(workdir, "ready.tmp"), "w") as f:
    json.dump({"pid": os.getpid()}, f)
os.rename(os.path.join(workdir, "ready.tmp"), os.path.join(workdir, "ready"))
while True:
    time.sleep(0.05)
    ticks += 1
    if asked:
        asked = False
        p = check()
        with open(os.path.join(workdir, "reply.tmp"), "w") as f:
            json.dump({"ok": not p, "ticks": ticks, "problems": p}, f)
        os.rename(os.path.join(workdir, "reply.tmp"), os.path.join(workdir, "reply"))
