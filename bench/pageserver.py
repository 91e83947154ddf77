#!/usr/bin/env python3
"""Dump through a page server on loopback against a local dump, same run.

    sudo python3 bench/pageserver.py [--size-mib 1024] [--runs 3] [--dir /var/tmp]

One memhog (bench/memhog.c) of --size-mib MiB is dumped with
--leave-running, --runs times each way, alternating which goes first:
locally (`criu dump -R -D A`) and through `criu page-server -D B` on
127.0.0.1 (`criu dump -R -D C --page-server`).  Wall time of criu dump from
spawn to exit; the page server's dump waits for the server's final status,
which comes after the server has synced its images, as the local dump
syncs its own before writing inventory.img.  `sync` runs (untimed) before
every step.  After the last run memhog is killed and restored from B (C's
other images copied in) and must answer PASS.  Prints figures only.
"""
import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def run(argv):
    t0 = time.monotonic()
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if p.returncode:
        sys.exit("%s failed: %s" % (" ".join(argv[:2]), p.stderr.strip()))
    return time.monotonic() - t0


def verify(pid, result):
    if os.path.exists(result):
        os.unlink(result)
    os.kill(pid, signal.SIGUSR1)
    end = time.monotonic() + 120
    while not os.path.exists(result):
        if time.monotonic() > end:
            sys.exit("memhog %d wrote no result" % pid)
        time.sleep(0.05)
    return open(result).read().strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", default="/var/tmp")
    ap.add_argument("--criu", default=os.path.join(REPO, "build", "criu", "criu"))
    ap.add_argument("--memhog", default=os.path.join(REPO, "build", "bench", "memhog"))
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="criu-psbench.", dir=a.dir)
    pidfile, result = os.path.join(work, "hog.pid"), os.path.join(work, "hog.result")
    hog = subprocess.Popen([a.memhog, "hog", "--size", str(a.size_mib), "--seed", "7",
                            "--pidfile", pidfile, "--result", result])
    try:
        while not os.path.exists(pidfile):
            time.sleep(0.05)
        pid = hog.pid
        times = {"local": [], "page server": []}
        for i in range(a.runs):
            order = ["local", "page server"] if i % 2 == 0 else ["page server", "local"]
            for how in order:
                d = os.path.join(work, "%s-%d" % (how.replace(" ", ""), i))
                os.sync()
                dump = [a.criu, "dump", "-R", "-t", str(pid), "-D", d, "-v4", "-o", "dump.log"]
                if how == "local":
                    times[how].append(run(dump))
                else:
                    srv = os.path.join(d, "srv")
                    os.makedirs(srv)
                    port = free_port()
                    r, w = os.pipe()
                    ps = subprocess.Popen([a.criu, "page-server", "-D", srv, "--port",
                                           str(port), "--status-fd", str(w), "-v4", "-o",
                                           "ps.log"], pass_fds=(w,))
                    os.close(w)
                    os.read(r, 1)
                    os.close(r)
                    times[how].append(run(dump + ["--page-server", "--address", "127.0.0.1",
                                                  "--port", str(port)]))
                    if ps.wait():
                        sys.exit("page server failed")
                check = verify(pid, result)
                if not check.startswith("PASS"):
                    sys.exit("memhog after the %s dump: %s" % (how, check))
                if i < a.runs - 1 or how == "local":
                    shutil.rmtree(d)
        # restore the last page server dump
        last = [x for x in os.listdir(work) if x.startswith("pageserver-")][0]
        d = os.path.join(work, last)
        srv = os.path.join(d, "srv")
        for f in os.listdir(d):
            if f.endswith(".img"):
                shutil.copy(os.path.join(d, f), srv)
        hog.kill()
        hog.wait()
        run([a.criu, "restore", "-D", srv, "-d", "-v4", "-o", "restore.log"])
        check = verify(pid, result)
        os.kill(pid, signal.SIGKILL)
        print("criu dump -R of a %d MiB memhog, %d runs, load average at the end %s" %
              (a.size_mib, a.runs, open("/proc/loadavg").read().split()[0]))
        for how, t in times.items():
            print("  %-12s median %.3f s  min %.3f s  every run %s" %
                  (how, statistics.median(t), min(t), " ".join("%.3f" % x for x in t)))
        print("  ratio page server / local: %.2f (medians)" %
              (statistics.median(times["page server"]) / statistics.median(times["local"])))
        print("  restore from the page server's images: memhog %s" % check)
    finally:
        if hog.poll() is None:
            hog.kill()
            hog.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
