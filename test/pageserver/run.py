#!/usr/bin/env python3
"""Page server tests (loopback only): criu dump --page-server into a
`criu page-server`, restore from what it wrote, and the ways that fails.

  basic      page-server -D DIR2, dump -D DIR1 --page-server; DIR1's other
             images copied into DIR2; restore from DIR2: the target checks
             every byte of its private, MAP_SHARED and memfd memory and its
             counter goes on; DIR1 holds no pagemap or pages image.
  same-dir   page server and dump on one -D: restore from it.
  killed     the page server is killed (SIGKILL) after 24 MiB of a 72 MiB dump:
             the dump fails with one line and the target runs on unharmed.
  ps-socket  --ps-socket on both sides, over a socketpair (PS_IOV_FORCE_CLOSE).
  refused    nothing listens on the port: one line, the target unharmed.
  bad-args   a bad address or port for dump and page-server: one line each.
  rpc        the same as basic through the RPC of `criu swrk`: a PAGE_SERVER
             request (answered with the server's pid and port), then a DUMP
             whose criu_opts.ps names it.

One line per case, `PASS name` or `FAIL name: why`; exit status 1 if any
failed.
"""

import argparse
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TARGET = os.path.join(HERE, "target.py")
CRIU = None
TMP = None
MARKER = "pageserver-test-%d" % os.getpid()
MIB = 64
VERBOSE = False


class CaseFail(Exception):
    pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def criu(args, timeout=60):
    p = subprocess.run([CRIU] + args, stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=timeout)
    return p.returncode, p.stderr


def one_line(err, what, *needles):
    lines = [l for l in err.splitlines() if l.strip()]
    if len(lines) != 1:
        raise CaseFail("%s: expected one line on stderr, got %d: %r" % (what, len(lines), err))
    for n in needles:
        if n not in lines[0]:
            raise CaseFail("%s: %r does not say %r" % (what, lines[0], n))
    if VERBOSE:
        print("  %s: %s" % (what.split()[0], lines[0]))


class Target:
    def __init__(self, d):
        self.dir = d
        os.makedirs(d, exist_ok=True)
        self.p = subprocess.Popen([sys.executable, TARGET, d, MARKER, str(MIB)],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
        self.pid = self.p.pid
        ready = os.path.join(d, "ready")
        end = time.monotonic() + 20
        while not os.path.exists(ready):
            if self.p.poll() is not None or time.monotonic() > end:
                raise CaseFail("target did not start")
            time.sleep(0.02)
        self.ticks = -1

    def ping(self, timeout=10):
        """The target checks itself; its counter must have gone on."""
        reply = os.path.join(self.dir, "reply")
        for _ in range(20):
            if os.path.exists(reply):
                os.unlink(reply)
            try:
                os.kill(self.pid, signal.SIGUSR1)
            except ProcessLookupError:
                raise CaseFail("target %d is gone" % self.pid)
            end = time.monotonic() + timeout
            while not os.path.exists(reply):
                if time.monotonic() > end:
                    raise CaseFail("target %d does not answer" % self.pid)
                time.sleep(0.02)
            r = json.load(open(reply))
            if r["ticks"] > self.ticks:
                break
            time.sleep(0.1)
        else:
            raise CaseFail("target %d made no progress" % self.pid)
        self.ticks = r["ticks"]
        if not r["ok"]:
            raise CaseFail("target reports: " + "; ".join(r["problems"]))

    def unharmed(self):
        st = open("/proc/%d/status" % self.pid).read()
        state = [l for l in st.splitlines() if l.startswith(("State:", "TracerPid:"))]
        if "T (stopped)" in st or "t (tracing stop)" in st or "TracerPid:\t0" not in st:
            raise CaseFail("target left stopped or traced: %s" % state)
        self.ping()

    def kill(self):
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if self.p.poll() is None:
            self.p.wait()


def start_page_server(d, port, extra=()):
    """criu page-server, waited for until it listens (--status-fd)."""
    r, w = os.pipe()
    p = subprocess.Popen([CRIU, "page-server", "-D", d, "--port", str(port),
                          "--status-fd", str(w), "-v4", "-o", "ps.log"] + list(extra),
                         stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         pass_fds=(w,))
    os.close(w)
    if os.read(r, 1) != b"\0":
        os.close(r)
        p.wait()
        raise CaseFail("page server did not start: %s" % p.stderr.read())
    os.close(r)
    return p


def dump_args(pid, d, port, addr="127.0.0.1"):
    return ["dump", "-t", str(pid), "-D", d, "-v4", "-o", "dump.log", "--page-server",
            "--address", addr, "--port", str(port)]


def restore_and_check(t, d):
    # the dumped process must be gone before its pid is taken again
    t.p.wait(timeout=10)
    rc, err = criu(["restore", "-D", d, "-d", "-v4", "-o", "restore.log"])
    if rc:
        raise CaseFail("restore failed: %s" % err.strip())
    t.ping()


def case_basic(name):
    d1, d2 = os.path.join(TMP, name, "d1"), os.path.join(TMP, name, "d2")
    os.makedirs(d2)
    t = Target(os.path.join(TMP, name, "w"))
    try:
        t.ping()
        port = free_port()
        ps = start_page_server(d2, port)
        rc, err = criu(dump_args(t.pid, d1, port))
        if rc:
            raise CaseFail("dump failed: %s" % err.strip())
        if ps.wait(timeout=30):
            raise CaseFail("page server exited with %d: %s" % (ps.returncode, ps.stderr.read()))
        local = [f for f in os.listdir(d1) if f.startswith(("pages-", "pagemap-"))]
        if local:
            raise CaseFail("the dump wrote %s locally" % local)
        got = sorted(os.path.basename(f) for f in glob.glob(os.path.join(d2, "page*.img")))
        if not any(f.startswith("pagemap-shmem-") for f in got) or \
                "pagemap-%d.img" % t.pid not in got:
            raise CaseFail("the page server wrote %s" % got)
        for f in os.listdir(d1):
            if f.endswith(".img"):
                shutil.copy(os.path.join(d1, f), d2)
        restore_and_check(t, d2)
    finally:
        t.kill()


def case_same_dir(name):
    d = os.path.join(TMP, name, "d")
    os.makedirs(d)
    t = Target(os.path.join(TMP, name, "w"))
    try:
        port = free_port()
        ps = start_page_server(d, port)
        rc, err = criu(dump_args(t.pid, d, port))
        if rc or ps.wait(timeout=30):
            raise CaseFail("dump %d, page server %s: %s" % (rc, ps.returncode, err.strip()))
        restore_and_check(t, d)
    finally:
        t.kill()


def case_ps_socket(name):
    d1, d2 = os.path.join(TMP, name, "d1"), os.path.join(TMP, name, "d2")
    os.makedirs(d2)
    t = Target(os.path.join(TMP, name, "w"))
    a, b = socket.socketpair()
    try:
        ps = subprocess.Popen([CRIU, "page-server", "-D", d2, "--ps-socket", str(b.fileno()),
                               "-v4", "-o", "ps.log"], pass_fds=(b.fileno(),),
                              stderr=subprocess.PIPE, text=True)
        b.close()
        p = subprocess.run([CRIU, "dump", "-t", str(t.pid), "-D", d1, "-v4", "-o", "dump.log",
                            "--page-server", "--ps-socket", str(a.fileno())],
                           pass_fds=(a.fileno(),), capture_output=True, text=True, timeout=60)
        a.close()
        if p.returncode:
            raise CaseFail("dump failed: %s" % p.stderr.strip())
        if ps.wait(timeout=30):
            raise CaseFail("page server exited with %d: %s" % (ps.returncode, ps.stderr.read()))
        for f in os.listdir(d1):
            if f.endswith(".img"):
                shutil.copy(os.path.join(d1, f), d2)
        restore_and_check(t, d2)
    finally:
        t.kill()


# A page server that answers like criu's, then dies by SIGKILL after 24 MiB.
DYING_SERVER = r'''
import os, signal, socket, struct, sys
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", int(sys.argv[1])))
l.listen(1)
os.write(int(sys.argv[2]), b"\0")
c, _ = l.accept()
got = 0


def take(n):
    global got
    out = b""
    while len(out) < n:
        b = c.recv(min(n - len(out), 1 << 20))
        if not b:
            sys.exit(1)
        out += b
        got += len(b)
        if got >= 24 << 20:
            os.kill(os.getpid(), signal.SIGKILL)
    return out


while True:
    cmd, nr, vaddr, dst = struct.unpack("<IIQQ", take(24))
    if cmd & 0xffff == 4:                       # PS_IOV_OPEN2
        c.send(b"\0")
    elif cmd & 0xffff == 6 and (cmd >> 16) & 4:  # PS_IOV_ADD_F, PE_PRESENT
        take(nr * 4096)
'''


def case_killed(name):
    d = os.path.join(TMP, name, "d")
    t = Target(os.path.join(TMP, name, "w"))
    try:
        t.ping()
        port = free_port()
        r, w = os.pipe()
        srv = subprocess.Popen([sys.executable, "-c", DYING_SERVER, str(port), str(w)],
                               pass_fds=(w,))
        os.close(w)
        os.read(r, 1)
        os.close(r)
        rc, err = criu(dump_args(t.pid, d, port))
        srv.wait(timeout=10)
        if srv.returncode != -signal.SIGKILL:
            raise CaseFail("the fake server was not killed mid-dump (%s)" % srv.returncode)
        if rc == 0:
            raise CaseFail("the dump succeeded")
        one_line(err, "dump", "page server at 127.0.0.1:%d" % port)
        if os.path.exists(os.path.join(d, "inventory.img")):
            raise CaseFail("the failed dump left an inventory.img")
        t.unharmed()
    finally:
        t.kill()


def case_refused(name):
    d = os.path.join(TMP, name, "d")
    t = Target(os.path.join(TMP, name, "w"))
    try:
        t.ping()
        rc, err = criu(dump_args(t.pid, d, free_port()))
        if rc == 0:
            raise CaseFail("the dump succeeded")
        one_line(err, "dump", "Connection refused")
        t.unharmed()
    finally:
        t.kill()


def case_bad_args(name):
    d = os.path.join(TMP, name, "d")
    os.makedirs(d)
    # nothing gets as far as freezing it
    sl = subprocess.Popen(["sleep", "60"])
    checks = [
        (dump_args(sl.pid, d, 80, addr="no.such.host.invalid"), "cannot resolve"),
        (dump_args(sl.pid, d, 99999), "bad port"),
        (["dump", "-t", str(sl.pid), "-D", d, "--page-server"], "needs --address and --port"),
        (["page-server", "-D", d], "needs --port"),
        (["page-server", "-D", d, "--port", "-3"], "bad port"),
        (["page-server", "-D", d, "--port", str(free_port()), "--address", "192.0.2.1"],
         "cannot listen"),
    ]
    try:
        for args, needle in checks:
            rc, err = criu(args)
            if rc == 0:
                raise CaseFail("%s succeeded" % " ".join(args))
            one_line(err, " ".join(args), needle)
        if sl.poll() is not None:
            raise CaseFail("the sleep process was harmed")
    finally:
        sl.kill()
        sl.wait()


def swrk_call(req):
    from pycriu import rpc_pb2 as rpc
    me, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    p = subprocess.Popen([CRIU, "swrk", str(theirs.fileno())], pass_fds=[theirs.fileno()],
                         stderr=subprocess.DEVNULL)
    theirs.close()
    me.send(req.SerializeToString())
    data = me.recv(1 << 20)
    me.close()
    p.wait(timeout=60)
    if not data:
        raise CaseFail("criu swrk closed the socket without an answer")
    r = rpc.criu_resp()
    r.ParseFromString(data)
    return r


def case_rpc(name):
    sys.path.insert(0, "/usr/lib/python3/dist-packages")
    from pycriu import rpc_pb2 as rpc
    d1, d2 = os.path.join(TMP, name, "d1"), os.path.join(TMP, name, "d2")
    os.makedirs(d1)
    os.makedirs(d2)
    t = Target(os.path.join(TMP, name, "w"))
    fd1 = os.open(d1, os.O_RDONLY | os.O_DIRECTORY)
    fd2 = os.open(d2, os.O_RDONLY | os.O_DIRECTORY)
    try:
        t.ping()
        o = rpc.criu_opts(images_dir_fd=fd2, log_file="ps.log", log_level=4)
        o.ps.address = "127.0.0.1"
        o.ps.port = 0
        r = swrk_call(rpc.criu_req(type=rpc.PAGE_SERVER, opts=o))
        if not r.success or not r.ps.port or not r.ps.pid:
            raise CaseFail("PAGE_SERVER: %s %s" % (r.success, r.cr_errmsg))
        o = rpc.criu_opts(images_dir_fd=fd1, log_file="dump.log", log_level=4, pid=t.pid)
        o.ps.address = "127.0.0.1"
        o.ps.port = r.ps.port
        server = r.ps.pid
        r = swrk_call(rpc.criu_req(type=rpc.DUMP, opts=o))
        if not r.success:
            raise CaseFail("DUMP: %s" % r.cr_errmsg)
        end = time.monotonic() + 10
        while os.path.exists("/proc/%d" % server) and \
                " Z " not in open("/proc/%d/stat" % server).read():
            if time.monotonic() > end:
                raise CaseFail("the page server %d did not exit after the dump" % server)
            time.sleep(0.02)
        for f in os.listdir(d1):
            if f.endswith(".img"):
                shutil.copy(os.path.join(d1, f), d2)
        restore_and_check(t, d2)
    finally:
        os.close(fd1)
        os.close(fd2)
        t.kill()


CASES = [("basic", case_basic), ("same-dir", case_same_dir), ("killed", case_killed),
         ("ps-socket", case_ps_socket),
         ("refused", case_refused), ("bad-args", case_bad_args), ("rpc", case_rpc)]


def main():
    global CRIU, TMP, VERBOSE
    ap = argparse.ArgumentParser()
    ap.add_argument("--criu", default=os.path.join(REPO, "build", "criu", "criu"))
    ap.add_argument("-t", "--test", action="append")
    ap.add_argument("-v", "--verbose", action="store_true", help="print the error lines")
    o = ap.parse_args()
    VERBOSE = o.verbose
    CRIU = os.path.abspath(o.criu)
    TMP = tempfile.mkdtemp(prefix="criu-pageserver-")
    failed = 0
    for name, fn in CASES:
        if o.test and name not in o.test:
            continue
        try:
            fn(name)
            print("PASS %s" % name, flush=True)
        except (CaseFail, subprocess.TimeoutExpired) as e:
            failed += 1
            print("FAIL %s: %s" % (name, e), flush=True)
    if not failed:
        shutil.rmtree(TMP, ignore_errors=True)
    else:
        print("work dirs kept in %s" % TMP, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
