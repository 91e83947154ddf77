#!/usr/bin/env python3
# A target process for test/failures/run.py.
#
#   target.py WORKDIR MARKER [--mem MIB] [--fd KIND] [--churn] [--seccomp]
#
# It sets up some state, writes WORKDIR/ready (JSON: pid, fd numbers), then
# loops, counting ticks.  On SIGUSR1 it checks its own state and writes
# WORKDIR/reply (JSON: ok, ticks, problems).  MARKER only puts the run's
# name on the command line, so leftovers can be found.
#
# State it keeps and checks:
#   - a bytearray of --mem MiB filled with a known pattern (hash compared);
#   - SIGUSR2 blocked, SIGHUP ignored, SIGUSR1 caught;
#   - with --fd KIND one descriptor of that kind, with state in it, that
#     must still work: eventfd, socket (socketpair with an fd in flight),
#     socket-listen (a unix listener with a connection not accepted from a client
#     outside the tree), dgram-ext (a unix datagram client connected to a
#     server outside the tree, which answers),
#     tcp-established (a loopback connection, bytes unread both ways),
#     tcp-listen (a TCP listener with a connection not accepted),
#     tcp-close-wait (an end whose peer closed), epoll (whose one
#     target only a process outside the tree holds), signalfd, timerfd,
#     inotify (with a watch on a deleted, still open file), pidfd (of the
#     parent), nsfd (a foreign net namespace), fanotify, netlink (a route
#     socket bound to a port of its own, in group 1), packet (AF_PACKET),
#     vsock (AF_VSOCK); or a file holding a
#     lock: flock, posix-lock, ofd-lock (the lock must still be held), or
#     map-flock: an exclusive flock held only through a shared mapping of
#     the file, its fd closed (as the JVM keeps its hsperfdata file);
#   - with --churn, it keeps forking children that exit after 0-30 ms and
#     reaps them;
#   - with --seccomp, a seccomp filter that makes getppid() fail with EPERM
#     (checked: getppid still fails so, and /proc/self/status says Seccomp 2).
import ctypes
import fcntl
import hashlib
import json
import mmap
import os
import random
import select
import signal
import socket
import struct
import sys
import time

workdir = sys.argv[1]
args = sys.argv[3:]
mem_mib = 0
kind = None
churn = False
use_seccomp = False
i = 0
while i < len(args):
    if args[i] == "--mem":
        mem_mib = int(args[i + 1])
        i += 2
    elif args[i] == "--fd":
        kind = args[i + 1]
        i += 2
    elif args[i] == "--churn":
        churn = True
        i += 1
    elif args[i] == "--seccomp":
        use_seccomp = True
        i += 1
    else:
        sys.exit("target.py: bad argument " + args[i])

libc = ctypes.CDLL(None, use_errno=True)

signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR2])
signal.signal(signal.SIGHUP, signal.SIG_IGN)

# memory: a pattern that is not all one byte, touched page by page
mem = bytearray(mem_mib << 20)
if mem_mib:
    block = hashlib.sha256(b"criu-failures").digest() * 128  # 4 KiB
    for off in range(0, len(mem), len(block)):
        mem[off:off + len(block)] = block
    mem_hash = hashlib.sha256(mem).hexdigest()
else:
    mem_hash = None

fds = {}
state = {}


F_OFD_GETLK, F_OFD_SETLK = 36, 37


def flock_struct(ltype, start, length):
    # struct flock on x86_64: type, whence, start, len, pid
    return struct.pack("hh4xqqi4x", ltype, os.SEEK_SET, start, length, 0)


def lock_held():
    """Whether our lock still stands in the way of another description."""
    q = state["query"]
    if kind in ("flock", "map-flock"):
        try:
            fcntl.flock(q, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(q, fcntl.LOCK_UN)
        return False
    got = fcntl.fcntl(q, F_OFD_GETLK, flock_struct(fcntl.F_WRLCK, 0, 0))
    ltype, _, start, length, _ = struct.unpack("hh4xqqi4x", got)
    return ltype == fcntl.F_WRLCK and start == 10 and length == 100


def sigset_of(*sigs):
    buf = bytearray(128)
    for s in sigs:
        buf[(s - 1) // 8] |= 1 << ((s - 1) % 8)
    return (ctypes.c_char * 128).from_buffer(buf)


if kind == "eventfd":
    fd = os.eventfd(0)
    os.eventfd_write(fd, 5)
    fds["eventfd"] = [fd]
elif kind == "socket":
    # a socketpair with a descriptor in flight (SCM_RIGHTS) in a queue
    a, b = socket.socketpair()
    r, w = os.pipe()
    a.sendmsg([b"hello"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", r))])
    state["sock"] = (a, b)
    state["sock_pipe"] = (r, w)
    fds["socket"] = [a.fileno(), b.fileno()]
elif kind == "socket-listen":
    # a listening unix socket with a connection not yet accepted, from a
    # client only a process outside the tree holds (a grandchild handed to
    # the runner, alive as long as we are)
    path = os.path.join(workdir, "listen.sock")
    if os.path.exists(path):
        os.unlink(path)
    lsk = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsk.bind(path)
    lsk.listen(4)
    life_r, life_w = os.pipe()
    if os.fork() == 0:
        if os.fork() == 0:
            os.close(life_w)
            csk = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            csk.connect(path)
            os.read(life_r, 1)
        os._exit(0)
    os.wait()
    os.close(life_r)
    while not select.select([lsk], [], [], 0.01)[0]:
        pass
    state["listen"] = (lsk, life_w)
    fds["socket-listen"] = [lsk.fileno()]
elif kind in ("tcp-established", "tcp-repair-undo"):
    # a loopback TCP connection with bytes unread both ways; for
    # tcp-repair-undo, then (at higher fds) an end in CLOSE_WAIT, refused
    # after the connection was put in repair mode
    tl = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tl.bind(("127.0.0.1", 0))
    tl.listen(1)
    tc = socket.create_connection(tl.getsockname())
    ts, _ = tl.accept()
    tc.sendall(b"to-server")
    ts.sendall(b"to-client")
    state["tcp"] = (tl, tc, ts)
    fds[kind] = [tc.fileno(), ts.fileno()]
    if kind == "tcp-repair-undo":
        wl = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        wl.bind(("127.0.0.1", 0))
        wl.listen(1)
        wc = socket.create_connection(wl.getsockname())
        ws, _ = wl.accept()
        wc.close()
        state["tcpw"] = (wl, ws)
elif kind == "tcp-close-wait":
    # the accepted end of a connection its peer closed (CLOSE_WAIT)
    tl = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tl.bind(("127.0.0.1", 0))
    tl.listen(1)
    tc = socket.create_connection(tl.getsockname())
    ts, _ = tl.accept()
    tc.close()
    state["tcpw"] = (tl, ts)
    fds["tcp-close-wait"] = [ts.fileno()]
elif kind == "tcp-listen":
    # a TCP listener with a connection not yet accepted
    tl = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    tl.bind(("::1", 0))
    tl.listen(4)
    tc = socket.create_connection(tl.getsockname()[:2])
    state["tcpl"] = (tl, tc)
    fds["tcp-listen"] = [tl.fileno()]
elif kind == "dgram-ext":
    # a datagram client connected to a server outside the tree (a grandchild
    # handed to the runner) that answers each datagram; it quits on "quit",
    # or after a minute
    spath = os.path.join(workdir, "server.sock")
    cpath = os.path.join(workdir, "client.sock")
    for p_ in (spath, cpath):
        if os.path.exists(p_):
            os.unlink(p_)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind(spath)
    rd_r, rd_w = os.pipe()
    if os.fork() == 0:
        if os.fork() == 0:
            os.setsid()  # out of our group: a restore takes our pid, a pgid too
            os.write(rd_w, b"%d\n" % os.getpid())
            srv.settimeout(60)
            try:
                while True:
                    data, addr = srv.recvfrom(64)
                    if data == b"quit":
                        break
                    if addr:
                        srv.sendto(b"re:" + data, addr)
            except OSError:
                pass
            os._exit(0)
        os._exit(0)
    os.wait()
    srv.close()
    state["server_pid"] = int(os.read(rd_r, 32))
    os.close(rd_r)
    os.close(rd_w)
    csk = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    csk.bind(cpath)
    csk.connect(spath)
    state["dgram"] = csk
    fds["dgram-ext"] = [csk.fileno()]
    fds["server"] = [state["server_pid"]]
elif kind == "epoll":
    # its one target is a pipe end only a process outside the tree holds
    # (a grandchild handed to the runner, alive as long as we are)
    ep = select.epoll()
    r, w = os.pipe()
    life_r, life_w = os.pipe()
    if os.fork() == 0:
        if os.fork() == 0:
            os.close(life_w)
            os.read(life_r, 1)
        os._exit(0)
    os.wait()
    os.close(life_r)
    ep.register(r, select.EPOLLIN)
    os.close(r)
    state["epoll"] = ep
    state["epoll_w"] = (w, life_w)
    fds["epoll"] = [ep.fileno()]
elif kind == "signalfd":
    fd = libc.signalfd(-1, sigset_of(signal.SIGUSR2), 0)
    if fd < 0:
        sys.exit("signalfd: errno %d" % ctypes.get_errno())
    fds["signalfd"] = [fd]
elif kind in ("timerfd", "timerfd-alarm"):
    fd = libc.timerfd_create(9 if kind == "timerfd-alarm" else 1, 0)  # BOOTTIME_ALARM, MONOTONIC
    if fd < 0:
        sys.exit("timerfd_create: errno %d" % ctypes.get_errno())
    fds[kind] = [fd]
elif kind == "inotify":
    fd = libc.inotify_init1(0)
    if fd < 0:
        sys.exit("inotify_init1: errno %d" % ctypes.get_errno())
    watch = os.path.join(workdir, "watched")
    os.makedirs(watch, exist_ok=True)
    if libc.inotify_add_watch(fd, watch.encode(), 0x100) < 0:  # IN_CREATE
        sys.exit("inotify_add_watch: errno %d" % ctypes.get_errno())
    # and a watch on a file that is deleted but still open: not dumpable
    gone = os.path.join(workdir, "gone")
    state["gone"] = os.open(gone, os.O_CREAT | os.O_RDWR, 0o600)
    if libc.inotify_add_watch(fd, gone.encode(), 0x2) < 0:  # IN_MODIFY
        sys.exit("inotify_add_watch: errno %d" % ctypes.get_errno())
    os.unlink(gone)
    while select.select([fd], [], [], 0)[0]:  # the unlink's IN_ATTRIB
        os.read(fd, 4096)
    state["watch"] = watch
    fds["inotify"] = [fd]
elif kind == "pidfd":
    # a task outside the dumped tree: our parent, the runner
    fd = os.pidfd_open(os.getppid())
    fds["pidfd"] = [fd]
elif kind in ("flock", "posix-lock", "ofd-lock"):
    path = os.path.join(workdir, "locked")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    if kind == "flock":
        fcntl.flock(fd, fcntl.LOCK_EX)
    elif kind == "posix-lock":
        fcntl.lockf(fd, fcntl.LOCK_EX, 100, 10)     # bytes 10-109
    else:
        fcntl.fcntl(fd, F_OFD_SETLK, flock_struct(fcntl.F_WRLCK, 10, 100))
    # asked through another description, never closed: closing any fd of
    # the file would drop our own POSIX lock
    state["query"] = os.open(path, os.O_RDONLY)
    fds[kind] = [fd]
elif kind == "map-flock":
    path = os.path.join(workdir, "locked")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    os.ftruncate(fd, 4096)
    fcntl.flock(fd, fcntl.LOCK_EX)
    # libc's mmap: Python's mmap object would keep a dup of the fd
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]
    addr = libc.mmap(None, 4096, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd, 0)
    if addr in (None, ctypes.c_void_p(-1).value):
        sys.exit("mmap: errno %d" % ctypes.get_errno())
    os.close(fd)                    # the mapping keeps the description, and the lock
    state["query"] = os.open(path, os.O_RDONLY)
    fds[kind] = []
elif kind == "nsfd":
    # a network namespace the target is not in, made by a child that then exits
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        ok = libc.unshare(0x40000000) == 0  # CLONE_NEWNET
        os.write(w, b"y" if ok else b"n")
        time.sleep(30)
        os._exit(0)
    if os.read(r, 1) != b"y":
        sys.exit("unshare(CLONE_NEWNET) failed in the child")
    fd = os.open("/proc/%d/ns/net" % child, os.O_RDONLY)
    os.kill(child, signal.SIGKILL)
    os.waitpid(child, 0)
    os.close(r)
    os.close(w)
    state["nsino"] = os.fstat(fd).st_ino
    fds["nsfd"] = [fd]
elif kind == "fanotify":
    fd = libc.fanotify_init(0, os.O_RDONLY)  # FAN_CLASS_NOTIF
    if fd < 0:
        sys.exit("fanotify_init: errno %d" % ctypes.get_errno())
    marked = os.path.join(workdir, "marked")
    open(marked, "w").close()
    libc.fanotify_mark.argtypes = [ctypes.c_int, ctypes.c_uint, ctypes.c_uint64,
                                   ctypes.c_int, ctypes.c_char_p]
    if libc.fanotify_mark(fd, 1, 0x20, -100, marked.encode()) < 0:  # ADD, FAN_OPEN
        sys.exit("fanotify_mark: errno %d" % ctypes.get_errno())
    state["marked"] = marked
    fds["fanotify"] = [fd]
elif kind == "netlink":
    # a route socket bound to a port of its own choosing, in RTMGRP_LINK
    nlsk = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)  # NETLINK_ROUTE
    for _ in range(50):
        try:
            nlsk.bind((0x50000000 + random.getrandbits(24), 1))
            break
        except OSError:
            pass
    state["nlport"] = nlsk.getsockname()[0]
    fds["netlink"] = [nlsk.fileno()]
elif kind == "packet":
    # a packet socket (needs CAP_NET_RAW: the runner is root)
    psk = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))  # ETH_P_ALL
    fds["packet"] = [psk.fileno()]
elif kind == "vsock":
    vsk = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
    fds["vsock"] = [vsk.fileno()]
elif kind is not None:
    sys.exit("target.py: unknown fd kind " + kind)

SYS_getppid = 110


def install_seccomp():
    """A filter: getppid() fails with EPERM on x86_64, all else passes."""
    ld_abs, jeq, ret = 0x20, 0x15, 0x06
    insns = [(ld_abs, 0, 0, 4),                    # load seccomp_data.arch
             (jeq, 1, 0, 0xc000003e),              # AUDIT_ARCH_X86_64
             (ret, 0, 0, 0x7fff0000),              # SECCOMP_RET_ALLOW
             (ld_abs, 0, 0, 0),                    # load seccomp_data.nr
             (jeq, 0, 1, SYS_getppid),
             (ret, 0, 0, 0x00050000 | 1),          # SECCOMP_RET_ERRNO | EPERM
             (ret, 0, 0, 0x7fff0000)]
    code = b"".join(struct.pack("HBBI", *i) for i in insns)
    buf = ctypes.create_string_buffer(code, len(code))
    prog = struct.pack("H6xQ", len(insns), ctypes.addressof(buf))
    pbuf = ctypes.create_string_buffer(prog, len(prog))
    # prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog): as root, no no_new_privs
    if libc.prctl(22, 2, pbuf, 0, 0) != 0:
        sys.exit("target.py: cannot install the seccomp filter: errno %d" % ctypes.get_errno())
    state["seccomp"] = (buf, pbuf)


def seccomp_problems():
    bad = []
    ctypes.set_errno(0)
    if libc.syscall(SYS_getppid) != -1 or ctypes.get_errno() != 1:
        bad.append("getppid() no longer fails with EPERM")
    with open("/proc/self/status") as f:
        mode = [ln.split()[1] for ln in f if ln.startswith("Seccomp:")]
    if mode != ["2"]:
        bad.append("Seccomp is %s, not 2" % mode)
    return bad


if use_seccomp:
    install_seccomp()

ticks = 0
pings = 0
children = set()


def check():
    """Problems with our own state, as a list of strings."""
    bad = []
    if mem_hash and hashlib.sha256(mem).hexdigest() != mem_hash:
        bad.append("memory pattern changed")
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    if blocked != {signal.SIGUSR2}:
        bad.append("blocked signals are %s" % sorted(int(s) for s in blocked))
    if signal.getsignal(signal.SIGHUP) != signal.SIG_IGN:
        bad.append("SIGHUP is no longer ignored")
    if use_seccomp:
        bad += seccomp_problems()
    try:
        if kind == "eventfd":
            fd = fds["eventfd"][0]
            v = os.eventfd_read(fd)
            if v != 5:
                bad.append("eventfd counter %d, not 5" % v)
            os.eventfd_write(fd, 5)
        elif kind == "socket":
            a, b = state["sock"]
            got = b.recv(16, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            if got != b"hello":
                bad.append("socket holds %r, not b'hello'" % got)
            b.sendall(b"ping")
            got = a.recv(16)
            if got != b"ping":
                bad.append("socket round trip gave %r" % got)
        elif kind == "socket-listen":
            lsk, _ = state["listen"]
            if not select.select([lsk], [], [], 0)[0]:
                bad.append("the listener has no connection waiting")
        elif kind == "dgram-ext":
            csk = state["dgram"]
            csk.settimeout(2.0)
            try:
                csk.send(b"ping")
                if csk.recv(64) != b"re:ping":
                    bad.append("the outside server answered something else")
            except OSError as e:
                bad.append("no answer from the outside server: %s" % e)
        elif kind in ("tcp-established", "tcp-repair-undo"):
            tl, tc, ts = state["tcp"]
            ts.settimeout(1.0)
            tc.settimeout(1.0)
            if ts.recv(9, socket.MSG_PEEK) != b"to-server" or \
                    tc.recv(9, socket.MSG_PEEK) != b"to-client":
                bad.append("the TCP queues changed")
            # a round trip, then the queue as it was for the next check
            tc.sendall(b"ping")
            got = b""
            while len(got) < 13:
                got += ts.recv(13 - len(got))
            if got != b"to-serverping":
                bad.append("the TCP connection carried %r" % got)
            tc.sendall(b"to-server")
        elif kind == "tcp-close-wait":
            tl, ts = state["tcpw"]
            if ts.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b"":
                bad.append("the closed connection does not read as ended")
        elif kind == "tcp-listen":
            tl, tc = state["tcpl"]
            tl.settimeout(1.0)
            c, _ = tl.accept()
            tc.sendall(b"ping")
            if c.recv(16) != b"ping":
                bad.append("the accepted TCP connection does not carry data")
            c.close()
            tc.close()
            tc = socket.create_connection(tl.getsockname()[:2])
            state["tcpl"] = (tl, tc)
        elif kind == "epoll":
            ep = state["epoll"]
            r, w = os.pipe()
            ep.register(r, select.EPOLLIN)
            os.write(w, b"x")
            ev = ep.poll(1.0)
            ep.unregister(r)
            os.close(r)
            os.close(w)
            if not ev:
                bad.append("epoll reported nothing")
        elif kind == "signalfd":
            os.kill(os.getpid(), signal.SIGUSR2)
            info = os.read(fds["signalfd"][0], 128)
            if struct.unpack_from("I", info)[0] != signal.SIGUSR2:
                bad.append("signalfd read signal %d" % struct.unpack_from("I", info)[0])
        elif kind in ("timerfd", "timerfd-alarm"):
            its = (ctypes.c_long * 4)(0, 0, 0, 1000000)  # fire once, in 1 ms
            if libc.timerfd_settime(fds[kind][0], 0, its, None) < 0:
                bad.append("timerfd_settime: errno %d" % ctypes.get_errno())
            else:
                n = struct.unpack("Q", os.read(fds[kind][0], 8))[0]
                if n < 1:
                    bad.append("timerfd read %d" % n)
        elif kind == "inotify":
            name = os.path.join(state["watch"], "f%d" % pings)
            open(name, "w").close()
            ev = os.read(fds["inotify"][0], 4096)
            if len(ev) < 16 or not (struct.unpack_from("iIII", ev)[1] & 0x100):
                bad.append("inotify gave no IN_CREATE event")
        elif kind == "pidfd":
            signal.pidfd_send_signal(fds["pidfd"][0], 0)
        elif kind in ("flock", "posix-lock", "ofd-lock", "map-flock"):
            if not lock_held():
                bad.append("the %s is no longer held" % kind)
        elif kind == "nsfd":
            if os.fstat(fds["nsfd"][0]).st_ino != state["nsino"]:
                bad.append("the namespace fd changed")
        elif kind == "netlink":
            if nlsk.getsockname() != (state["nlport"], 1):
                bad.append("the netlink socket is at %r, not (%d, 1)" %
                           (nlsk.getsockname(), state["nlport"]))
        elif kind == "packet":
            if psk.getsockopt(socket.SOL_SOCKET, socket.SO_DOMAIN) != socket.AF_PACKET:
                bad.append("the packet socket is not one any more")
        elif kind == "vsock":
            if vsk.getsockopt(socket.SOL_SOCKET, socket.SO_DOMAIN) != socket.AF_VSOCK:
                bad.append("the vsock socket is not one any more")
        elif kind == "fanotify":
            os.close(os.open(state["marked"], os.O_RDONLY))
            ev = os.read(fds["fanotify"][0], 4096)
            # fanotify_event_metadata: len, vers, reserved, metadata_len, mask, fd, pid
            _, _, _, _, mask, efd, _ = struct.unpack_from("IBBHQii", ev)
            if efd >= 0:
                os.close(efd)
            if not mask & 0x20:
                bad.append("fanotify gave no FAN_OPEN event")
    except OSError as e:
        bad.append("%s fd: %s" % (kind, e))
    return bad


def on_usr1(signum, frame):
    global pings
    pings += 1
    rep = {"ok": False, "ticks": ticks, "pings": pings, "problems": []}
    rep["problems"] = check()
    rep["ok"] = not rep["problems"]
    tmp = os.path.join(workdir, "reply.tmp")
    with open(tmp, "w") as f:
        json.dump(rep, f)
    os.replace(tmp, os.path.join(workdir, "reply"))


signal.signal(signal.SIGUSR1, on_usr1)

tmp = os.path.join(workdir, "ready.tmp")
with open(tmp, "w") as f:
    json.dump({"pid": os.getpid(), "fds": fds}, f)
os.replace(tmp, os.path.join(workdir, "ready"))

last_fork = 0.0
while True:
    if churn:
        now = time.monotonic()
        if now - last_fork > 0.01:
            last_fork = now
            pid = os.fork()
            if pid == 0:
                time.sleep((os.getpid() % 31) / 1000.0)
                os._exit(0)
            children.add(pid)
        for c in list(children):
            try:
                p, _ = os.waitpid(c, os.WNOHANG)
            except ChildProcessError:
                p = c
            if p:
                children.discard(c)
        time.sleep(0.002)
    else:
        time.sleep(0.05)
    ticks += 1
