"""Failure cases of run.py: cgroup restores that must fail cleanly."""

import json
import os
import subprocess

import lib  # noqa: E402
from lib import *  # noqa: F401,F403

from cases_images import *  # noqa: F401,F403

# 11. cgroups ------------------------------------------------------------------

def cg_hier():
    """A hierarchy of criu's to test with: v1 pids, else v2; its mount and our path."""
    with open("/proc/self/cgroup") as f:
        own = dict(l.rstrip("\n").split(":", 2)[1:] for l in f)
    name = "pids" if "pids" in own else ""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            a, b = line.split(" - ")
            root, mnt = a.split()[3:5]
            typ, _, sup = b.split()[:3]
            if root == "/" and ((name == "" and typ == "cgroup2") or
                                (name and typ == "cgroup" and name in sup.split(","))):
                return name, mnt, own[name]
    raise CaseSkip("no cgroup hierarchy mounted")


def cg_image(cg_path):
    """A mutate: the base dump's task (set 1) in cgroup cg_path, with a pids.max."""
    def mutate(img):
        name, mnt, _ = cg_hier()
        ent = {"sets": [{"id": 1, "ctls": [{"name": name, "path": cg_path}]}],
               "controllers": [{"cnames": [name], "dirs": [{
                   "dir_name": cg_path.lstrip("/"),
                   "dir_perms": {"mode": 0o40755, "uid": 0, "gid": 0},
                   "properties": [{"name": "pids.max" if name else "cgroup.max.depth",
                                   "value": "17"}]}]}]}
        js = os.path.join(img, "cgroup.json")
        with open(js, "w") as f:
            json.dump({"magic": "CGROUP", "entries": [ent]}, f)
        subprocess.run(["crit", "encode", "-i", js, "-o", os.path.join(img, "cgroup.img")],
                       check=True)
        return mnt + cg_path
    return mutate


@case("restore.cgroup.none-missing")
def _():
    """--manage-cgroups=none needs the cgroup: refused naming it and the mode."""
    path = "/cg-fail-missing-%d" % MYPID
    line, d = restore_must_fail("restore.cgroup.none-missing", cg_image(path),
                                "does not exist", path, "--manage-cgroups=none",
                                extra=["--manage-cgroups=none"])
    if os.path.exists(d):
        raise CaseFail("%s was made" % d)


@case("restore.cgroup.strict-exists")
def _():
    """--manage-cgroups=strict refuses a cgroup that is there, and leaves it alone."""
    path = "/cg-fail-exists-%d" % MYPID
    d = cg_hier()[1] + path
    os.mkdir(d)
    try:
        restore_must_fail("restore.cgroup.strict-exists", cg_image(path), "already exists",
                          path, "strict", extra=["--manage-cgroups=strict"])
        if not os.path.isdir(d):
            raise CaseFail("%s was removed" % d)
    finally:
        os.rmdir(d)


@case("restore.cgroup.made-then-failed")
def _():
    """A restore that fails after making the task's cgroup removes it again."""
    path = "/cg-fail-made-%d" % MYPID
    line, d = restore_must_fail("restore.cgroup.made-then-failed", cg_image(path),
                                "premap", prefix=("env", "CRIU_FAULT=premap:1"))
    if os.path.exists(d):
        os.rmdir(d)
        raise CaseFail("%s is left" % d)
