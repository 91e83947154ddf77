#!/usr/bin/env python3
"""Failure-path tests for criu: dumps and restores that must fail cleanly.

Each case runs criu where it has to fail (or, for races, either fail or
succeed cleanly) and checks the real outcome:

  dump:    non-zero exit, exactly one line on stderr naming the cause, and
           the target left as it was: after a moment not stopped or traced,
           the same signal masks and pending sets, the same maps, and still
           working (the target checks its own state when sent SIGUSR1).
  restore: non-zero exit, exactly one line on stderr naming the cause, and
           no process left behind: no dumped pid, no process carrying this
           run's marker on its command line, no orphan handed to us.

One line per case, `PASS name` or `FAIL name: why`, then `N passed, N
failed`; details of failures (criu's stderr, the log's errors) go to
stderr.  Exit status 1 if anything failed.  See README.md.
"""

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

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lib  # noqa: E402
from lib import *  # noqa: F401,F403,E402
import cases_dump  # noqa: F401,E402
import cases_restore  # noqa: F401,E402
import cases_images  # noqa: F401,E402
import cases_cgroup  # noqa: F401,E402
import faults  # noqa: E402


class AllCases:
    """What faults.py sees as one module: lib's live globals first."""

    def __getattr__(self, name):
        for mod in (lib, cases_cgroup, cases_images, cases_restore, cases_dump):
            if hasattr(mod, name):
                return getattr(mod, name)
        raise AttributeError(name)


faults.register(AllCases())


class Current:
    def __init__(self):
        self.details = []
        self.note = ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--criu", default=os.path.join(REPO, "build", "criu", "criu"))
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    ap.add_argument("-t", "--only", action="append",
                    help="run cases matching this glob (repeatable)")
    ap.add_argument("-l", "--list", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="show criu's stderr for passing cases too")
    a = ap.parse_args()
    if a.list:
        for n, _ in lib.CASES:
            print(n)
        return 0
    lib.CRIU = os.path.abspath(a.criu)
    if not os.access(lib.CRIU, os.X_OK):
        sys.exit("no criu at %s" % lib.CRIU)
    if os.geteuid() != 0:
        sys.exit("run as root")
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0):
        sys.exit("prctl(PR_SET_CHILD_SUBREAPER) failed")
    lib.TMP = tempfile.mkdtemp(prefix="criu-failures-")
    lib.MARKER = "crfail%d" % MYPID
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

    passed = failed = skipped = 0
    t0 = time.monotonic()
    try:
        for name, fn in lib.CASES:
            if a.only and not any(fnmatch.fnmatch(name, p) or p in name for p in a.only):
                continue
            lib.CURRENT = Current()
            try:
                fn()
            except CaseSkip as e:
                print("SKIP %s: %s" % (name, e), flush=True)
                skipped += 1
            except CaseFail as e:
                print("FAIL %s: %s" % (name, str(e).replace("\n", " | ")), flush=True)
                for l in lib.CURRENT.details:
                    print("    " + l, file=sys.stderr, flush=True)
                failed += 1
            except Exception as e:      # a bug in this runner counts too
                print("FAIL %s: runner error %r" % (name, e), flush=True)
                failed += 1
            else:
                print("PASS %s%s" % (name, " (%s)" % lib.CURRENT.note if lib.CURRENT.note else ""),
                      flush=True)
                if a.verbose:
                    for l in lib.CURRENT.details:
                        if l.startswith("stderr"):
                            print("    " + l, file=sys.stderr, flush=True)
                passed += 1
            reap_orphans()
    finally:
        kill_everything()
        for m in lib.MOUNTS:
            subprocess.run(["umount", "-l", m], capture_output=True)
        if a.keep:
            print("work dir kept: %s" % lib.TMP, file=sys.stderr)
        else:
            shutil.rmtree(lib.TMP, ignore_errors=True)
    print("%d passed, %d failed%s" % (passed, failed,
                                      ", %d skipped" % skipped if skipped else ""))
    print("(%.1fs)" % (time.monotonic() - t0), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
