#!/usr/bin/python3
"""The RPC of `criu swrk` and `criu service`, spoken by a client as runc and
go-criu speak it: criu_req / criu_resp over a SOCK_SEQPACKET socketpair
(messages from Debian's pycriu, generated from CRIU's rpc.proto).

Every request type is sent once; a dump and a restore go through the whole
notification sequence (notify_scripts); a refused notification, an
unsupported option and an unsupported request must each fail with a
cr_errmsg naming them, and leave the target running.  One line per case,
then `N passed, N failed`.  Run as root: test/rpc/run.py [--criu PATH].
"""
import argparse
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, "/usr/lib/python3/dist-packages")
from pycriu import rpc_pb2 as rpc  # noqa: E402

CRIU = None
TMP = None
RESULTS = []


class Fail(Exception):
    pass


def case(fn):
    try:
        note = fn()
        RESULTS.append(True)
        print("PASS %s%s" % (fn.__name__, " (%s)" % note if note else ""), flush=True)
    except Fail as e:
        RESULTS.append(False)
        print("FAIL %s: %s" % (fn.__name__, e), flush=True)


class Swrk:
    """criu swrk on one end of a socketpair, as runc starts it."""

    def __init__(self):
        self.sk, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.p = subprocess.Popen([CRIU, "swrk", str(theirs.fileno())],
                                  pass_fds=[theirs.fileno()], stderr=subprocess.PIPE)
        theirs.close()

    def send(self, req):
        self.sk.send(req.SerializeToString())

    def recv(self):
        data = self.sk.recv(1 << 20)
        if not data:
            raise Fail("criu closed the socket (stderr: %r)" % self.finish()[1])
        r = rpc.criu_resp()
        r.ParseFromString(data)
        return r

    def call(self, req, answer=lambda name: True):
        """Send req; answer notifications; return (final resp, [notify names])."""
        self.send(req)
        seen = []
        while True:
            r = self.recv()
            if r.type != rpc.NOTIFY:
                return r, seen
            seen.append((r.notify.script, r.notify.pid))
            a = rpc.criu_req(type=rpc.NOTIFY, notify_success=answer(r.notify.script))
            self.send(a)

    def finish(self):
        self.sk.close()
        try:
            _, err = self.p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            _, err = self.p.communicate()
        return self.p.returncode, err.decode(errors="replace")


def start_target(name, pre=None):
    out = os.path.join(TMP, name + ".count")
    p = subprocess.Popen(["/bin/sh", "-c",
                          'i=0; while :; do i=$((i+1)); echo $i > "$0"; sleep 0.05; done', out],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True, preexec_fn=pre)
    end = time.time() + 5
    while not os.path.exists(out) and time.time() < end:
        time.sleep(0.02)
    return p, out


def count(path):
    with open(path) as f:
        return int(f.read().strip() or 0)


def advancing(path, timeout=5.0):
    """The counter moves on within timeout (a loaded machine is slow)."""
    a = count(path)
    end = time.time() + timeout
    while time.time() < end:
        time.sleep(0.05)
        if count(path) > a:
            return True
    return False


def reap_all(timeout=3.0):
    """Reap what the dumped tree left us (its sleep children, soon gone)."""
    end = time.time() + timeout
    while time.time() < end:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                time.sleep(0.02)
        except ChildProcessError:
            return


def opts_for(imgdir, pid=None, **kw):
    fd = os.open(imgdir, os.O_RDONLY | os.O_DIRECTORY)
    o = rpc.criu_opts(images_dir_fd=fd, log_file="rpc.log", log_level=4, **kw)
    if pid:
        o.pid = pid
    return o, fd


def case_version():
    s = Swrk()
    r, _ = s.call(rpc.criu_req(type=rpc.VERSION))
    s.finish()
    if not r.success or (r.version.major_number, r.version.minor_number) < (3, 0):
        raise Fail("VERSION: %s" % r)
    return "%d.%d %s" % (r.version.major_number, r.version.minor_number, r.version.gitid)


def case_feature_check():
    s = Swrk()
    f = rpc.criu_features(mem_track=True, lazy_pages=True)
    r, _ = s.call(rpc.criu_req(type=rpc.FEATURE_CHECK, features=f))
    s.finish()
    works = subprocess.run([CRIU, "check", "--feature", "mem_dirty_track"],
                           stdout=subprocess.DEVNULL).returncode == 0
    if not r.success or not r.features.HasField("mem_track") or \
            r.features.mem_track != works or r.features.lazy_pages:
        raise Fail("FEATURE_CHECK: %s (criu check --feature mem_dirty_track: %s)" %
                   (r, works))
    return "mem_track %s, lazy_pages %s" % (r.features.mem_track, r.features.lazy_pages)


def case_check():
    s = Swrk()
    r, _ = s.call(rpc.criu_req(type=rpc.CHECK))
    s.finish()
    if not r.success:
        raise Fail("CHECK failed: %s" % r.cr_errmsg)


def case_cpuinfo():
    img = tempfile.mkdtemp(dir=TMP)
    for t in (rpc.CPUINFO_DUMP, rpc.CPUINFO_CHECK):
        o, fd = opts_for(img)
        s = Swrk()
        r, _ = s.call(rpc.criu_req(type=t, opts=o))
        s.finish()
        os.close(fd)
        if not r.success:
            raise Fail("%s failed: %s" % (rpc.criu_req_type.Name(t), r.cr_errmsg))
    if not os.path.exists(os.path.join(img, "cpuinfo.img")):
        raise Fail("CPUINFO_DUMP wrote no cpuinfo.img")


def refused(req_type, expect, **kw):
    p, out = start_target("refused-%s" % expect)
    img = tempfile.mkdtemp(dir=TMP)
    try:
        o, fd = opts_for(img, p.pid, **kw)
        s = Swrk()
        r, _ = s.call(rpc.criu_req(type=req_type, opts=o))
        rc, err = s.finish()
        os.close(fd)
        if r.success or expect not in r.cr_errmsg:
            raise Fail("not refused naming %s: success=%s errmsg=%r" %
                       (expect, r.success, r.cr_errmsg))
        if not advancing(out):
            raise Fail("the target stopped after the refused request")
        return r.cr_errmsg
    finally:
        p.kill()
        p.wait()


def case_unsupported_option():
    return refused(rpc.DUMP, "tcp_skip_in_flight", tcp_skip_in_flight=True)


def case_unsupported_request():
    return refused(rpc.SINGLE_PRE_DUMP, "SINGLE_PRE_DUMP")


def case_pre_dump():
    """PRE_DUMP, then DUMP with parent_img and track_mem, then RESTORE."""
    p, out = start_target("pre-dump")
    pid = p.pid
    d1, d2 = os.path.join(TMP, "pre-d1"), os.path.join(TMP, "pre-d2")
    os.mkdir(d1)
    os.mkdir(d2)
    try:
        o, fd = opts_for(d1, pid)
        s = Swrk()
        r, _ = s.call(rpc.criu_req(type=rpc.PRE_DUMP, opts=o))
        s.finish()
        os.close(fd)
        if not r.success:
            raise Fail("PRE_DUMP failed: %s (log %s/rpc.log)" % (r.cr_errmsg, d1))
        if not advancing(out):
            raise Fail("the target does not run after PRE_DUMP")
        o, fd = opts_for(d2, pid, parent_img="../pre-d1", track_mem=True)
        s = Swrk()
        r, _ = s.call(rpc.criu_req(type=rpc.DUMP, opts=o))
        s.finish()
        os.close(fd)
        p.wait()
        reap_all()
        if not r.success:
            raise Fail("DUMP failed: %s (log %s/rpc.log)" % (r.cr_errmsg, d2))
        if os.readlink(os.path.join(d2, "parent")) != "../pre-d1":
            raise Fail("no parent link in the dump")
        before = count(out)
        o, fd = opts_for(d2, rst_sibling=True)
        s = Swrk()
        r, _ = s.call(rpc.criu_req(type=rpc.RESTORE, opts=o))
        s.finish()
        os.close(fd)
        if not r.success:
            raise Fail("RESTORE failed: %s (log %s/rpc.log)" % (r.cr_errmsg, d2))
        if not advancing(out) or count(out) <= before:
            raise Fail("the restored counter does not go on from %d" % before)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return "pages %d then %d bytes" % (
        sum(os.path.getsize(os.path.join(d1, f)) for f in os.listdir(d1) if f.startswith("pages-")),
        sum(os.path.getsize(os.path.join(d2, f)) for f in os.listdir(d2) if f.startswith("pages-")))


CG_HIERS = ("pids", "freezer", "cpu", "memory", "")   # v1 controllers and v2, if there


def cg_paths(pid):
    """{controller: path} from /proc/PID/cgroup, split as runc splits it."""
    out = {}
    with open("/proc/%d/cgroup" % pid) as f:
        for line in f:
            _, names, path = line.rstrip("\n").split(":", 2)
            for n in names.split(","):
                out[n] = path
    return out


def cg_mounts():
    """{controller: mount point} of the hierarchies whose root is mounted."""
    out = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            a, b = line.split(" - ")
            root, mnt = a.split()[3:5]
            typ, _, sup = b.split()[:3]
            if root != "/":
                continue
            if typ == "cgroup2":
                out[""] = mnt
            elif typ == "cgroup":
                for o in sup.split(","):
                    out.setdefault(o, mnt)
    return out


def cg_make(name):
    """A container's cgroups, as runc makes them: NAME below criu's own, per hierarchy."""
    mnts, own, made = cg_mounts(), cg_paths(os.getpid()), {}
    for c in CG_HIERS:
        if c not in mnts or c not in own:
            continue
        path = own[c].rstrip("/") + "/" + name
        os.makedirs(mnts[c] + path, exist_ok=True)
        made[c] = (mnts[c], path)
    return made


def cg_enter(made, pid):
    for mnt, path in made.values():
        with open(mnt + path + "/cgroup.procs", "w") as f:
            f.write(str(pid))


def cg_remove(made):
    for mnt, path in made.values():
        for _ in range(100):
            try:
                os.rmdir(mnt + path)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.02)


def cg_case_end(pid, *cgroups):
    """The restored target killed, its cgroups removed."""
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass
    reap_all()
    for made in cgroups:
        cg_remove(made)


def cg_request(req_type, img, pid=None, before=None, **kw):
    """One DUMP or RESTORE of the cgroup cases; before(swrk, opts) runs first."""
    o, fd = opts_for(img, pid, **kw)
    s = Swrk()
    if before:
        before(s, o)
    r, _ = s.call(rpc.criu_req(type=req_type, opts=o))
    s.finish()
    os.close(fd)
    if not r.success:
        raise Fail("%s failed: %s (log %s/rpc.log)" %
                   (rpc.criu_req_type.Name(req_type), r.cr_errmsg, img))
    return r


def case_cgroups_runc():
    """As runc 1.1.5 on this host: DUMP with freeze_cgroup and manage_cgroups_mode
    DEFAULT; RESTORE with criu put in the new container's cgroups first and
    cg_root naming them: the target comes back in the new cgroups."""
    old, new = cg_make("cg-rpc-ct1"), cg_make("cg-rpc-ct2")
    # the whole tree in the container's cgroups, as runc starts it
    p, out = start_target("cgroups", pre=lambda: cg_enter(old, 0))
    pid = p.pid
    img = tempfile.mkdtemp(dir=TMP)
    try:
        if not old:
            raise Fail("no cgroup hierarchy to test with")
        kw = dict(manage_cgroups=True, manage_cgroups_mode=rpc.DEFAULT)
        fz = dict(freeze_cgroup=old["freezer"][0] + old["freezer"][1]) if "freezer" in old else {}
        cg_request(rpc.DUMP, img, pid, **kw, **fz)
        p.wait()
        reap_all()

        def apply_cgroups(s, o):                # criuApplyCgroups(criu's pid)
            cg_enter(new, s.p.pid)
            for ctrl, path in cg_paths(s.p.pid).items():
                o.cg_root.add(ctrl=ctrl, path=path)
        r = cg_request(rpc.RESTORE, img, before=apply_cgroups, rst_sibling=True, **kw)
        now = cg_paths(r.restore.pid)
        bad = ["%s:%s" % (c, now.get(c)) for c, (_, path) in new.items() if now.get(c) != path]
        if bad:
            raise Fail("restored pid %d is in %s, not in cg-rpc-ct2" % (r.restore.pid, bad))
        if not advancing(out):
            raise Fail("the restored target does not run")
        return "%d hierarchies%s" % (len(new), ", frozen by its freezer" if "freezer" in old else "")
    finally:
        cg_case_end(pid, old, new)


def case_cgroups_ignore():
    """manage_cgroups_mode IGNORE (0, the field's default value) with manage_cgroups
    true, as runc --manage-cgroups-mode ignore sends it: the dump saves the sets
    only, the restore leaves the target in criu's cgroups."""
    old = cg_make("cg-rpc-ign")
    p, out = start_target("cgroups-ignore", pre=lambda: cg_enter(old, 0))
    pid = p.pid
    img = tempfile.mkdtemp(dir=TMP)
    kw = dict(manage_cgroups=True, manage_cgroups_mode=rpc.IGNORE)
    try:
        if not old:
            raise Fail("no cgroup hierarchy to test with")
        cg_request(rpc.DUMP, img, pid, **kw)
        p.wait()
        reap_all()
        js = subprocess.run(["crit", "show", os.path.join(img, "cgroup.img")],
                            capture_output=True, text=True).stdout
        if '"sets"' not in js or '"dirs"' in js:
            raise Fail("cgroup.img should have the sets and no dirs: %s" % js[:200])
        cg_remove(old)
        r = cg_request(rpc.RESTORE, img, rst_sibling=True, **kw)
        now, own = cg_paths(r.restore.pid), cg_paths(os.getpid())
        bad = [c for c in old if now.get(c) != own.get(c)]
        if bad:
            raise Fail("restored pid %d is not in criu's cgroups of %s" % (r.restore.pid, bad))
        if not advancing(out):
            raise Fail("the restored target does not run")
    finally:
        cg_case_end(pid, old)


def case_notify_refused():
    p, out = start_target("notify-refused")
    img = tempfile.mkdtemp(dir=TMP)
    try:
        o, fd = opts_for(img, p.pid, notify_scripts=True)
        s = Swrk()
        r, seen = s.call(rpc.criu_req(type=rpc.DUMP, opts=o),
                         answer=lambda n: n != "post-dump")
        s.finish()
        if r.success:
            raise Fail("the dump succeeded although post-dump was refused")
        if not advancing(out):
            raise Fail("the target does not run after the failed dump")
        return r.cr_errmsg
    finally:
        p.kill()
        p.wait()


def case_dump_restore():
    p, out = start_target("dump-restore")
    img = tempfile.mkdtemp(dir=TMP)
    pid = p.pid
    o, fd = opts_for(img, pid, notify_scripts=True, shell_job=False)
    s = Swrk()
    r, seen = s.call(rpc.criu_req(type=rpc.DUMP, opts=o))
    s.finish()
    os.close(fd)
    p.wait()
    reap_all()
    names = [n for n, _ in seen]
    if not r.success:
        raise Fail("DUMP failed: %s (log %s/rpc.log)" % (r.cr_errmsg, img))
    for want in ("pre-dump", "network-lock", "post-dump"):
        if want not in names:
            raise Fail("no %s notification in %s" % (want, names))
    before = count(out)
    o, fd = opts_for(img, rst_sibling=True, notify_scripts=True)
    s = Swrk()
    r, seen = s.call(rpc.criu_req(type=rpc.RESTORE, opts=o))
    s.finish()
    os.close(fd)
    names2 = [n for n, _ in seen]
    if not r.success:
        raise Fail("RESTORE failed: %s (log %s/rpc.log)" % (r.cr_errmsg, img))
    try:
        if r.restore.pid != pid:
            raise Fail("restored as pid %d, not %d" % (r.restore.pid, pid))
        for want in ("pre-restore", "setup-namespaces", "post-restore", "pre-resume",
                     "post-resume", "network-unlock"):
            if want not in names2:
                raise Fail("no %s notification in %s" % (want, names2))
        post = dict(seen)["post-restore"]
        if post != pid:
            raise Fail("post-restore names pid %d, not %d" % (post, pid))
        if not advancing(out) or count(out) <= before:
            raise Fail("the restored counter does not go on from %d" % before)
        # rst_sibling: the restored root is our child, as it is runc's
        wp, _ = os.waitpid(pid, os.WNOHANG)
        os.kill(pid, signal.SIGKILL)
        wp, st = os.waitpid(pid, 0)
        if wp != pid:
            raise Fail("the restored root is not our child")
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return "dump: %s; restore: %s" % (" ".join(names), " ".join(names2))


def case_service():
    addr = os.path.join(TMP, "criu.sock")
    p = subprocess.Popen([CRIU, "service", "--address", addr], stderr=subprocess.DEVNULL)
    try:
        end = time.time() + 5
        while not os.path.exists(addr) and time.time() < end:
            time.sleep(0.02)
        sk = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        while True:     # the file exists a moment before listen()
            try:
                sk.connect(addr)
                break
            except ConnectionRefusedError:
                if time.time() > end:
                    raise
                time.sleep(0.02)
        sk.send(rpc.criu_req(type=rpc.VERSION).SerializeToString())
        r = rpc.criu_resp()
        r.ParseFromString(sk.recv(1 << 20))
        sk.close()
        if not r.success or r.type != rpc.VERSION:
            raise Fail("service VERSION: %s" % r)
    finally:
        p.kill()
        p.wait()


def main():
    global CRIU, TMP
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--criu", default=os.path.join(here, "..", "..", "build", "criu", "criu"))
    a = ap.parse_args()
    CRIU = os.path.abspath(a.criu)
    # the dumped shells' sleep children become ours, so their pids are freed
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    TMP = tempfile.mkdtemp(prefix="criu-rpc-")
    try:
        for c in (case_version, case_feature_check, case_check, case_cpuinfo,
                  case_unsupported_option,
                  case_unsupported_request, case_notify_refused, case_dump_restore,
                  case_pre_dump, case_cgroups_runc, case_cgroups_ignore,
                  case_service):
            case(c)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    print("%d passed, %d failed" % (RESULTS.count(True), RESULTS.count(False)))
    return 0 if all(RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())
