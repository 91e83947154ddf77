#!/usr/bin/env python3
"""crun, built with CRIU support against our libcriu, checkpointing and
restoring containers through our criu (run.py's cases, with a crun of ours).

Debian 12's crun has no CRIU support, so build-crun.sh builds Debian's crun
source with our libcriu into BUILD/crun/crun (it is run here when that is
missing).  A wrapper named `crun` first in PATH sets LD_LIBRARY_PATH to our
lib/c (crun dlopens libcriu.so.2) and PATH with our criu first (libcriu runs
`criu swrk`, crun sets no service binary) and runs that crun; podman gets the
wrapper as --runtime.  The container and its checks are run.py's: a shell
appending "PID N" to a bind-mounted /data/count and keeping /tmp/keep in a
tmpfs; after restore the counter goes on from the number it was frozen at,
under the same pid inside, and the tmpfs file holds its content.

Cases:
  crun                crun checkpoint / restore --detach
  crun-leave-running  checkpoint --leave-running, the container killed, restored
  crun-predump        checkpoint --pre-dump, then --parent-path ../PRE (crun 1.8
                      has no --auto-dedup): the checkpoint takes pages from PRE
  crun-cgroups-full   --manage-cgroups-mode=full
  (both: the restored tasks are in the cgroups the container had)
  crun-tcp            --tcp-established: ticks through a TCP connection inside
                      the container go on through it after restore
  crun-terminal       terminal: true, --console-socket: the console pty is an
                      orphan pts; the new master reaches the restore's socket
  podman-crun         podman container checkpoint / restore --runtime OURCRUN
  podman-crun-export  the same with --export / rm / restore --import
  podman-crun-terminal, podman-crun-network
                      podman run -t (the restored console reaches podman logs),
                      --network bridge (restored into podman's net namespace)

Usage: test/containers/crun.py [--criu build/criu/criu] [-t GLOB]... [-x GLOB]...
                               [--keep] [-l]   (as root)
Prints PASS/FAIL per case and "N passed, N failed"; exits 1 if any failed.
Every container, bundle, image and path carries "crun-h"; only those are removed.
"""

import argparse
import fnmatch
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run as R  # noqa: E402  (run.py's container, checks and runtime glue)

R.TAG = "crun-h"
CRUN = None


def check_in_parent(img):
    """The checkpoint after a pre-dump links its parent and takes pages from it."""
    if not os.path.islink(os.path.join(img, "parent")):
        raise R.CaseFail("the checkpoint has no parent link to the pre-dump")
    for pm in sorted(f for f in os.listdir(img) if f.startswith("pagemap-")):
        _, out = R.sh(["crit", "show", os.path.join(img, pm)])
        if "PE_PARENT" in out or '"in_parent": true' in out:
            return pm
    raise R.CaseFail("no pagemap entry of the checkpoint is in the parent pre-dump")


def cgroups(pid):
    """The task's cgroup lines, the v2 mount's ("0::") left out when hidden."""
    with open("/proc/%d/cgroup" % pid) as f:
        return sorted(l for l in f.read().splitlines() if not l.startswith("0::"))


def own_case(name, mode):
    """A case run.py's runtime_case() lacks: "predump" (crun 1.8 has --pre-dump
    and --parent-path, not --auto-dedup; the checkpoint must take pages from
    the pre-dump) or "cg-full" (--manage-cgroups-mode=full).  Either way the
    restored tasks must be in the cgroups the container had; run.py's checks."""
    rt = R.Runtime("crun")
    cid = "ct-crun-h-" + name
    bundle = R.make_bundle(name, R.SCRIPT)
    data = os.path.join(bundle, "data")
    img, work, pre = (os.path.join(R.TMP, name + x) for x in ("-img", "-work", "-pre"))
    for d in (img, work, pre):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    try:
        R.start(rt, cid, bundle, R.Drain())
        pid_inside = R.read_count(data)[-1][0]
        cg = cgroups(rt.pid(cid))
        if not any(cid in l for l in cg):
            raise R.CaseFail("the container has no cgroup of its own: %s" % cg)
        extra, what = ["--manage-cgroups-mode=full"], "same cgroups"
        if mode == "predump":
            R.checkpoint(rt, cid, pre, work, "--pre-dump")
            R.wait_count(data, len(R.read_count(data)) + 2, "after pre-dump")
            extra = ["--parent-path", "../%s-pre" % name]
        low = R.read_count(data)[-1][1] + 1
        R.checkpoint(rt, cid, img, work, *extra)
        high = R.read_count(data)[-1][1] + 1
        if mode == "predump":
            what = "%s has pages in the pre-dump, same cgroups" % check_in_parent(img)
        time.sleep(0.5)
        if R.read_count(data)[-1][1] + 1 != high:
            raise R.CaseFail("the container went on counting after checkpoint")
        rt.run("delete", "-f", cid, check=False)
        before = len(R.read_count(data))
        d = R.restore(rt, cid, bundle, img, work)
        first = R.check_continues(data, before, low, high, pid_inside)
        hostpid = rt.pid(cid)
        R.check_tmpfs(hostpid, "hello-%d" % pid_inside)
        R.wait_ticks(d, first, "crun restore")
        if cgroups(hostpid) != cg:
            raise R.CaseFail("restored in cgroups %s, not %s" % (cgroups(hostpid), cg))
        return "counter on at %d (frozen at %d..%d), %s" % (first, low - 1, high - 1, what)
    finally:
        if not R.KEEP:
            rt.cleanup(cid)


def podman_export_case():
    R.podman("rm", "-f", "ct-crun-h-podman-crun-export", check=False)
    return R.podman_case("podman-crun-export", os.path.join(R.BIN, "crun"), export=True)


CASES = [
    ("crun", lambda: R.runtime_case("crun", "crun")),
    ("crun-leave-running", lambda: R.runtime_case("crun-lr", "crun", "leave-running")),
    ("crun-predump", lambda: own_case("crun-pre", "predump")),
    ("crun-cgroups-full", lambda: own_case("crun-cg", "cg-full")),
    ("crun-tcp", lambda: R.runtime_case("crun-tcp", "crun", "tcp")),
    ("crun-terminal", lambda: R.runtime_case("crun-tty", "crun", "terminal")),
    ("podman-crun", lambda: R.podman_case("podman-crun", os.path.join(R.BIN, "crun"))),
    ("podman-crun-export", podman_export_case),
    ("podman-crun-terminal", lambda: R.podman_case("podman-crun-tty", os.path.join(R.BIN, "crun"),
                                                   terminal=True)),
    ("podman-crun-network", lambda: R.podman_case("podman-crun-net", os.path.join(R.BIN, "crun"),
                                                  network="bridge")),
]


def build_crun(build):
    """BUILD/crun/crun, built by build-crun.sh when missing; must say +CRIU."""
    crun = os.path.join(build, "crun", "crun")
    if not os.path.exists(crun):
        t0 = time.time()
        p = subprocess.run([os.path.join(HERE, "build-crun.sh"), build],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if p.returncode:
            raise R.CaseFail("build-crun.sh failed: %s" %
                             p.stdout.decode(errors="replace").strip()[-600:])
        print("built %s in %.0f s" % (crun, time.time() - t0), flush=True)
    out = subprocess.run([crun, "--version"], stdout=subprocess.PIPE).stdout.decode()
    if "+CRIU" not in out:
        raise R.CaseFail("%s has no +CRIU: %s" % (crun, out.strip().splitlines()[-1:]))
    return crun


def make_bin(crun):
    """TMP/bin: our criu, and `crun` setting our libcriu and criu for the real one."""
    os.makedirs(R.BIN, exist_ok=True)
    if not os.path.exists(os.path.join(R.BIN, "criu")):
        os.symlink(R.CRIU, os.path.join(R.BIN, "criu"))
    w = os.path.join(R.BIN, "crun")
    with open(w, "w") as f:
        f.write('#!/bin/sh\nexport LD_LIBRARY_PATH=%s\nexport PATH=%s:"$PATH"\n'
                'exec %s "$@"\n' % (R.LIBDIR, R.BIN, crun))
    os.chmod(w, 0o755)
    # Runtime() looks crun up in our own PATH
    os.environ["PATH"] = R.BIN + ":" + os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")


def run_case(name, fn):
    """crun 1.8 refuses this host's hybrid cgroups: the case runs in a mount
    namespace of its own without the v2 mount, as crun.py --inner NAME."""
    return R.hidden_unified(name, fn, os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--criu", default=os.path.join(R.REPO, "build/criu/criu"))
    ap.add_argument("-t", action="append", default=[])
    ap.add_argument("-x", action="append", default=[])
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("-l", action="store_true")
    ap.add_argument("--inner", help=argparse.SUPPRESS)
    ap.add_argument("--tmp", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.l:
        print("\n".join(c[0] for c in CASES))
        return 0
    R.CRIU = os.path.abspath(a.criu)
    R.KEEP = a.keep
    build = os.path.dirname(os.path.dirname(R.CRIU))
    R.LIBDIR = os.path.join(build, "lib", "c")
    if a.inner:
        R.TMP, R.BIN = a.tmp, os.path.join(a.tmp, "bin")
        os.environ["PATH"] = R.BIN + ":" + os.environ.get("PATH", "/usr/bin:/bin")
        try:
            print("INNER-PASS " + dict(CASES)[a.inner]())
        except R.CaseFail as e:
            print("INNER-FAIL %s" % e)
        return 0
    R.TMP = tempfile.mkdtemp(prefix="crun-h-ct-", dir="/tmp")
    os.chmod(R.TMP, 0o755)
    R.BIN = os.path.join(R.TMP, "bin")
    failed = passed = 0
    try:
        make_bin(build_crun(build))
    except R.CaseFail as e:
        print("FAIL build-crun: %s" % e)
        print("0 passed, 1 failed")
        return 1
    for name, fn in CASES:
        if a.t and not any(fnmatch.fnmatch(name, g) for g in a.t):
            continue
        if any(fnmatch.fnmatch(name, g) for g in a.x):
            continue
        t0 = time.time()
        try:
            what = run_case(name, fn)
            print("PASS %s (%.1f s): %s" % (name, time.time() - t0, what), flush=True)
            passed += 1
        except R.CaseFail as e:
            print("FAIL %s: %s" % (name, e), flush=True)
            failed += 1
    print("%d passed, %d failed" % (passed, failed))
    if not R.KEEP:
        shutil.rmtree(R.TMP, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
