"""Fault injection cases for run.py: every injection point of criu
(CRIU_FAULT=CLASS:N, see criu/include/fault.h) made to fail once, in a
dump and in a restore.

A count run (CRIU_FAULT_COUNT) first says how often a good dump and a good
restore pass each point; then each pass is failed in turn (all of them up
to MAX_PER_CLASS per class, else that many spread evenly, first and last
included).  An injected failure must give what every failure case asserts
(run.py's docstring): exit non-zero, one line on stderr, the target as it
was after a failed dump (dumps run with -R, so it keeps running), nothing
left after a failed restore.  A point whose failure criu tolerates (it
exits 0) passes with a note, and a restored tree is checked and killed.
"""

import os
import shutil
import time

MAX_PER_CLASS = 6


def counts(m, args, name):
    path = os.path.join(m.TMP, "fault-count-" + name)
    os.environ["CRIU_FAULT_COUNT"] = path
    try:
        run = m.criu(args, log=os.path.join(m.TMP, "fault-count-%s.log" % name))
    finally:
        del os.environ["CRIU_FAULT_COUNT"]
    if run.rc != 0:
        m.CURRENT.details = run.details()
        raise m.CaseFail("the counting %s failed: rc %s" % (name, run.rc))
    out = {}
    for line in m.read(path).splitlines():
        cls, n = line.split()
        out[cls] = int(n)
    return out


def points(n):
    if n <= MAX_PER_CLASS:
        return list(range(1, n + 1))
    step = (n - 1) / (MAX_PER_CLASS - 1)
    return sorted({1 + round(i * step) for i in range(MAX_PER_CLASS)})


def with_fault(spec, fn):
    os.environ["CRIU_FAULT"] = spec
    try:
        return fn()
    finally:
        del os.environ["CRIU_FAULT"]


def dump_faults(m):
    t = m.Target("fault-dump-target", "--mem", "4", "--fd", "eventfd")
    try:
        t.ping()
        d = m.case_dir("fault.dump")
        img = os.path.join(d, "count-img")
        n = counts(m, ["dump", "-R", "-t", str(t.pid), "-D", img], "dump")
        t.ping()
        bad, tolerated, tried = [], [], 0
        for cls, total in sorted(n.items()):
            for k in points(total):
                spec = "%s:%d" % (cls, k)
                img = os.path.join(d, "img")
                shutil.rmtree(img, ignore_errors=True)
                before = m.snapshot(t.pid)
                run = with_fault(spec, lambda: m.criu(
                    ["dump", "-R", "-t", str(t.pid), "-D", img],
                    log=os.path.join(d, "dump.log")))
                tried += 1
                if run.rc == 0:
                    tolerated.append(spec)
                else:
                    try:
                        m.expect_failure(run)
                    except m.CaseFail as e:
                        bad.append("%s: %s" % (spec, e))
                        continue
                problems = m.compare(t.pid, before)
                if problems:
                    bad.append("%s: %s" % (spec, "; ".join(problems)))
                    return tried, tolerated, bad
                t.ping()
        return tried, tolerated, bad
    finally:
        t.kill()


def end_restored(m, pid):
    """Kill a restored tree; as a subreaper we reap what it leaves."""
    m.kill_tree(pid)
    # the pid was spawned by us once, so reap_orphans() leaves it alone
    for _ in range(200):
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                break
        except ChildProcessError:
            break
        time.sleep(0.01)
    m.wait_gone(pid)
    m.reap_orphans()


def restore_faults(m):
    b = m.base_dump()
    d = m.case_dir("fault.restore")
    img = os.path.join(d, "img")

    def fresh():
        shutil.rmtree(img, ignore_errors=True)
        shutil.copytree(b["dir"], img)

    def restore():
        return m.criu(["restore", "-D", img, "-d", "--pidfile", os.path.join(d, "pidfile")],
                      log=os.path.join(d, "restore.log"))

    fresh()
    os.environ["CRIU_FAULT_COUNT"] = os.path.join(d, "count")
    try:
        run = restore()
    finally:
        del os.environ["CRIU_FAULT_COUNT"]
    if run.rc != 0:
        m.CURRENT.details = run.details()
        raise m.CaseFail("the counting restore failed: rc %s" % run.rc)
    b["target"].ping(b["pid"])
    end_restored(m, b["pid"])
    n = dict(l.split() for l in m.read(os.path.join(d, "count")).splitlines())
    bad, tolerated, tried = [], [], 0
    for cls, total in sorted(n.items()):
        for k in points(int(total)):
            spec = "%s:%d" % (cls, k)
            fresh()
            kids = {p for p, _ in m.my_children()}
            marked = set(m.marked_processes())
            run = with_fault(spec, restore)
            tried += 1
            if run.rc == 0:
                tolerated.append(spec)
                try:
                    b["target"].ping(b["pid"])
                except m.CaseFail as e:
                    bad.append("%s: tolerated, but %s" % (spec, e))
                end_restored(m, b["pid"])
                continue
            try:
                m.expect_failure(run)
            except m.CaseFail as e:
                bad.append("%s: %s" % (spec, e))
            left = m.leftovers(b["pid"], kids, marked, ())
            if left:
                m.kill_everything_new(kids, marked, (), b["pid"])
                bad.append("%s: left behind: %s" % (spec, "; ".join(left)))
    return tried, tolerated, bad


def register(m):
    def report(result):
        tried, tolerated, bad = result
        m.CURRENT.note = "%d points, %d tolerated%s" % (
            tried, len(tolerated), (": " + " ".join(tolerated[:6])) if tolerated else "")
        if bad:
            m.CURRENT.details = bad
            raise m.CaseFail("%d of %d points: %s" % (len(bad), tried, bad[0]))

    @m.case("fault.dump.every-point")
    def _():
        report(dump_faults(m))

    @m.case("fault.restore.every-point")
    def _():
        report(restore_faults(m))
