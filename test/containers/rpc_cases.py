#!/usr/bin/python3
"""RPC cases of test/containers/run.py (Debian's pycriu needs the system python).

orphan-pts: a console as runc and crun give one: a pty whose slave is the
tree's controlling terminal and stdio, whose master only the client holds.
Dumped over the RPC with orphan_pts_master, the tree is restored over the
RPC; criu makes the pair again (same number) and sends its master in the
"orphan-pts-master" notification (SCM_RIGHTS).  The check: a line written
to that master reaches the restored shell, which answers through the file
it writes, and the shell's controlling terminal is the same pts.

config-file: a DUMP whose config_file says "leave-running" leaves the tree
running although the request does not ask for it (the file wins, as in
CRIU); a config_file that does not exist is no error (runc names
/etc/criu/runc.conf either way) and the tree is killed as asked.

Usage: rpc_cases.py CASE CRIU TMPDIR; prints one line, exits 1 on failure.
"""
import array
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, "/usr/lib/python3/dist-packages")
from pycriu import rpc_pb2 as rpc  # noqa: E402


class Fail(Exception):
    pass


def call(criu, req):
    """criu swrk on a socketpair; answer every notification; the fds that came."""
    sk, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    p = subprocess.Popen([criu, "swrk", str(theirs.fileno())], pass_fds=[theirs.fileno()])
    theirs.close()
    sk.send(req.SerializeToString())
    fds = []
    try:
        while True:
            data, anc, _, _ = sk.recvmsg(1 << 20, socket.CMSG_SPACE(16))
            if not data:
                raise Fail("criu closed the socket")
            r = rpc.criu_resp()
            r.ParseFromString(data)
            for level, kind, raw in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    a = array.array("i")
                    a.frombytes(raw[:len(raw) - len(raw) % a.itemsize])
                    fds += [(r.notify.script, fd) for fd in a]
            if r.type != rpc.NOTIFY:
                return r, fds
            sk.send(rpc.criu_req(type=rpc.NOTIFY, notify_success=True).SerializeToString())
    finally:
        sk.close()
        p.wait(timeout=60)


def tty_nr(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[4])


def wait_for(path, text, timeout=5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(path) and text in open(path).read():
            return
        time.sleep(0.05)
    raise Fail("%r never reached %s (%r)" % (text, path, open(path).read()
                                             if os.path.exists(path) else ""))


def config_file(criu, tmp):
    img = os.path.join(tmp, "config-img")
    conf = os.path.join(tmp, "criu.conf")
    with open(conf, "w") as f:
        f.write("# as runc's /etc/criu/runc.conf would say it\nleave-running\n")
    os.makedirs(img, exist_ok=True)
    dfd = os.open(img, os.O_DIRECTORY)
    p = subprocess.Popen(["setsid", "sleep", "1000"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        for path, alive in ((conf, True), (os.path.join(tmp, "none.conf"), False)):
            opts = rpc.criu_opts(images_dir_fd=dfd, pid=p.pid, log_level=4,
                                 log_file="dump.log", config_file=path)
            r, _ = call(criu, rpc.criu_req(type=rpc.DUMP, opts=opts))
            if not r.success:
                raise Fail("dump with config_file %s: %s" % (path, r.cr_errmsg))
            time.sleep(0.3)
            if (p.poll() is None) != alive:
                raise Fail("config_file %s: the tree %s" % (
                    path, "was killed (leave-running not read)" if alive else
                    "still runs (a missing file changed something)"))
        return "leave-running read from config_file; a missing one ignored"
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()


def orphan_pts(criu, tmp):
    img = os.path.join(tmp, "orphan-img")
    out = os.path.join(tmp, "orphan-out")
    os.makedirs(img, exist_ok=True)
    m, s = os.openpty()
    p = subprocess.Popen(["setsid", "-c", "sh", "-c",
                          "while read l; do echo \"got $l\" >> %s; done" % out],
                         stdin=s, stdout=s, stderr=s)
    os.close(s)
    try:
        os.write(m, b"one\n")
        wait_for(out, "got one")
        nr = tty_nr(p.pid)
        dfd = os.open(img, os.O_DIRECTORY)
        opts = rpc.criu_opts(images_dir_fd=dfd, pid=p.pid, log_level=4, log_file="dump.log",
                             orphan_pts_master=True, notify_scripts=True)
        r, _ = call(criu, rpc.criu_req(type=rpc.DUMP, opts=opts))
        if not r.success:
            raise Fail("dump: %s" % r.cr_errmsg)
        p.wait(timeout=10)
        os.close(m)     # the old pair goes away with its last master
        time.sleep(0.3)
        opts = rpc.criu_opts(images_dir_fd=dfd, log_level=4, log_file="restore.log",
                             orphan_pts_master=True, notify_scripts=True)
        r, fds = call(criu, rpc.criu_req(type=rpc.RESTORE, opts=opts))
        if not r.success:
            raise Fail("restore: %s" % r.cr_errmsg)
        if [n for n, _ in fds] != ["orphan-pts-master"]:
            raise Fail("fds came with %s, not with one orphan-pts-master" % fds)
        m = fds[0][1]
        os.write(m, b"two\n")
        wait_for(out, "got two")
        if tty_nr(r.restore.pid) != nr:
            raise Fail("the restored shell's terminal is %#x, not %#x" %
                       (tty_nr(r.restore.pid), nr))
        return "the master came in orphan-pts-master; the restored shell read from it"
    finally:
        try:
            os.kill(p.pid, 9)
        except OSError:
            pass


if __name__ == "__main__":
    try:
        fn = {"orphan-pts": orphan_pts, "config-file": config_file}[sys.argv[1]]
        print("OK " + fn(sys.argv[2], sys.argv[3]))
    except (Fail, OSError, subprocess.SubprocessError) as e:
        print("FAIL %s" % e)
        sys.exit(1)
