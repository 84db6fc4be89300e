"""Attacks on the state root and the bundle: ids that climb out of --root, symlinks planted in the
root or in a container's state directory, a rootfs that is a symlink (to `/`), and a container
cgroup that someone froze beforehand.

Every probe only detects: the victims are scratch directories under the test's workdir, compared
by stat identity and marker files before and after; none of them is a real host directory.
"""
import contextlib
import json
import os
import shutil
import secrets

import pytest

from harness import CGROUP_ROOT, assert_nothing_left, cgroup_dirs_matching, remove_cgroup_tree

INVALID = "invalid container ID format"
EMPTY = "container id cannot be empty"
MISSING = "container does not exist"


# --------------------------------------------------------------------------------------------
# helpers

def plant(directory, state_json: str) -> dict:
    """Puts a copied state.json and a marker in `directory`; returns what probe() compares."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "state.json").write_text(state_json)
    (directory / "marker").write_text("untouched")
    return probe(directory)


def probe(directory) -> dict:
    st = os.stat(directory, follow_symlinks=False)
    return {
        "identity": (st.st_dev, st.st_ino),
        "entries": sorted(os.listdir(directory)),
        "marker": (directory / "marker").read_text(),
    }


def running_victim(rt, bundle) -> tuple[str, int, str]:
    """A real running container whose state.json gets copied into the victim directories: any
    command that reached a copy would act on this container (kill, pause, delete it)."""
    cid, pid = rt.started(bundle.set_args("sleep", "1000"))
    state_json = (rt.root / cid / "state.json").read_text()
    return cid, pid, state_json


def every_command(cid: str, bundle) -> list[tuple[tuple, int, str]]:
    """(argv, runc's exit code, runc's message prefix) for every command that takes an id."""
    return [
        (("state", cid), 1, ""),
        (("start", cid), 1, ""),
        (("kill", cid, "KILL"), 1, ""),
        (("kill", "--all", cid, "KILL"), 1, ""),
        (("pause", cid), 1, ""),
        (("resume", cid), 1, ""),
        (("ps", cid), 1, ""),
        (("events", cid), 1, ""),
        (("events", "--stats", cid), 1, ""),
        (("update", "--pids-limit", "10", cid), 1, ""),
        (("exec", cid, "true"), 255, "exec failed: "),
        (("delete", cid), 1, ""),
        (("delete", "--force", cid), 1, ""),
    ]


def creating_commands(cid: str, bundle) -> list[tuple[tuple, int, str]]:
    return [
        (("create", "--bundle", bundle.path, cid), 1, ""),
        (("run", "--bundle", bundle.path, cid), 1, ""),
    ]


def assert_refused_everywhere(rt, commands, message, victim, before, live_cid):
    for argv, rc, prefix in commands:
        r = rt(*argv, timeout=20)
        r.fails(rc, prefix + message)
        assert probe(victim) == before, f"{argv} changed {victim}\n{r}"
        assert rt.status(live_cid) == "running", f"{argv} acted on the copied state\n{r}"


# --------------------------------------------------------------------------------------------
# 1. ids that climb out of the root


@pytest.mark.parity
@pytest.mark.parametrize("cid", ["../victim", "a/b", "..", ".", ""],
                         ids=["dotdot-victim", "slash", "dotdot", "dot", "empty"])
def test_bad_id_is_refused_by_every_command(rt, bundle, cid):
    live_cid, _, state_json = running_victim(rt, bundle)
    # Where each id would lead from <root>: a scratch dir with a copied state.json and a marker.
    victim = {
        "../victim": rt.workdir / "victim",
        "a/b": rt.root / "a" / "b",
        "..": rt.workdir,
        ".": rt.root,
        "": rt.root,
    }[cid]
    before = plant(victim, state_json)
    message = EMPTY if cid == "" else INVALID
    try:
        assert_refused_everywhere(rt, every_command(cid, bundle) + creating_commands(cid, bundle),
                                  message, victim, before, live_cid)
        assert rt("list", "-q").ok().out.split() == [live_cid]
    finally:
        if victim == rt.root / "a" / "b":
            shutil.rmtree(rt.root / "a")
        else:
            for name in ("state.json", "marker"):
                (victim / name).unlink(missing_ok=True)


@pytest.mark.parity
def test_symlink_in_root_is_no_container(rt, bundle):
    """<root>/evil -> a scratch dir outside the root that holds a copied state.json: no command
    reads it or acts on it; delete --force removes the link, never what it points to."""
    live_cid, _, state_json = running_victim(rt, bundle)
    outside = rt.workdir / "outside"
    before = plant(outside, state_json)
    link = rt.root / "evil"
    link.symlink_to(outside)
    try:
        commands = [c for c in every_command("evil", bundle) if c[0][:2] != ("delete", "--force")]
        assert_refused_everywhere(rt, commands, MISSING, outside, before, live_cid)
        assert "evil" not in rt("list", "-q").ok().out.split()
        assert "evil" not in rt("list", "--format", "json").ok().out
        rt("delete", "--force", "evil", timeout=20).ok()
        assert not os.path.lexists(link)
        assert probe(outside) == before
        assert rt.status(live_cid) == "running"
    finally:
        if os.path.lexists(link):
            os.unlink(link)


@pytest.mark.mkrun_only
def test_symlink_in_root_cannot_be_created_over(rt, bundle):
    """runc 1.1 resolves the link inside the root and creates <root>/<target path> instead; mkrun
    refuses the name, which is taken."""
    outside = rt.workdir / "outside"
    before = plant(outside, "{}")
    link = rt.root / "evil"
    rt.root.mkdir(exist_ok=True)
    link.symlink_to(outside)
    try:
        for argv, rc, prefix in creating_commands("evil", bundle):
            bundle.save()
            rt(*argv, timeout=20).fails(rc, "container with given ID already exists")
            assert probe(outside) == before
        assert os.readlink(link) == str(outside)
    finally:
        os.unlink(link)


@pytest.mark.parity
def test_delete_does_not_follow_symlinks_in_the_state_dir(rt, bundle):
    """A symlink inside a container's state directory (to a directory, and to a file) outside it
    is removed as a link: what it points to stays."""
    cid = rt.create(bundle.set_args("sleep", "1000")).ok().cid
    outside = rt.workdir / "outside"
    before = plant(outside, "{}")
    (rt.root / cid / "to-dir").symlink_to(outside)
    (rt.root / cid / "to-file").symlink_to(outside / "marker")
    rt.delete(cid, "--force").ok()
    assert not os.path.lexists(rt.root / cid)
    assert probe(outside) == before


# --------------------------------------------------------------------------------------------
# 2. the rootfs


def set_root(bundle, path: str):
    bundle.config["root"]["path"] = path
    return bundle


@pytest.mark.parity
@pytest.mark.parametrize("target", ["/", "rootfs"], ids=["to-host-root", "to-sibling"])
def test_rootfs_symlink_is_refused(rt, bundle, target):
    os.symlink(target, bundle.path / "link")
    r = rt.run(set_root(bundle, "link"), timeout=20)
    r.fails(1, "invalid rootfs: not an absolute path, or a symlink")
    assert_nothing_left(rt, r.cid, bundle)


@pytest.mark.parity
def test_rootfs_under_a_symlink_is_refused(rt, bundle):
    """root.path is cleaned lexically, as runc's filepath.Join does, and must then be its own
    symlink-resolved form: `up/<bundle name>/rootfs` with up -> the bundle's parent resolves
    elsewhere."""
    os.symlink(bundle.path.parent, bundle.path / "up")
    r = rt.run(set_root(bundle, f"up/{bundle.path.name}/rootfs"), timeout=20)
    r.fails(1, "invalid rootfs: not an absolute path, or a symlink")
    assert_nothing_left(rt, r.cid, bundle)


@pytest.mark.parity
def test_rootfs_with_dotdot_that_is_no_symlink_runs(rt, bundle):
    (bundle.path / "sub").mkdir()
    set_root(bundle, "sub/../rootfs").set_args("true")
    rt.run(bundle, timeout=20).ok()


@pytest.mark.parity
def test_bundle_reached_through_a_symlink_runs(rt, bundle):
    link = rt.workdir / "bundle-link"
    link.symlink_to(bundle.path)
    bundle.set_args("true").save()
    cid = rt.new_id()
    rt("run", "--bundle", link, cid, timeout=20).ok()


@pytest.mark.parity
def test_missing_rootfs_is_refused(rt, bundle):
    r = rt.run(set_root(bundle, "missing"), timeout=20)
    r.fails(1, f"invalid rootfs: stat {bundle.path}/missing: no such file or directory")
    assert_nothing_left(rt, r.cid, bundle)


@pytest.mark.mkrun_only
def test_host_root_as_rootfs_is_refused(rt, bundle):
    """runc 1.1 accepts root.path "/" and fails later, inside the container's setup."""
    r = rt.run(set_root(bundle, "/"), timeout=20)
    r.fails(1, "invalid rootfs: `/` is the host's root directory")
    assert_nothing_left(rt, r.cid, bundle)


# --------------------------------------------------------------------------------------------
# 3. a cgroup frozen before the container joins it

FROZEN = "container's cgroup unexpectedly frozen"


def cgroup_name() -> str:
    return f"mkrun-frozen-{secrets.token_hex(3)}"


def thaw_and_remove(name: str):
    """Thaws and removes the test's cgroup in every hierarchy, whoever made it there."""
    paths = cgroup_dirs_matching([name])
    for path in paths:
        for file, value in (("freezer.state", "THAWED"), ("cgroup.freeze", "0")):
            try:
                with open(os.path.join(path, file), "w") as f:
                    f.write(value)
            except OSError:
                pass
    for path in sorted(paths, key=len, reverse=True):
        if os.path.isdir(path):
            remove_cgroup_tree(path)


@contextlib.contextmanager
def frozen_v1_cgroup(freezer: str):
    """A v1 freezer cgroup of the test's, frozen; thawed and removed afterwards."""
    name = cgroup_name()
    path = os.path.join(freezer, name)
    os.mkdir(path)
    try:
        with open(os.path.join(path, "freezer.state"), "w") as f:
            f.write("FROZEN")
        yield name, path
    finally:
        thaw_and_remove(name)


def assert_refused_frozen(rt, bundle, cgroups_path: str, name: str, made: list):
    bundle.linux["cgroupsPath"] = cgroups_path
    bundle.set_args("sleep", "1000")
    r = rt.run(bundle, None, "-d", timeout=20)
    r.fails(1, FROZEN)
    assert_nothing_left(rt, r.cid, bundle)
    # Only what the test made: the runtime created no cgroup of its own, and removed none.
    assert sorted(cgroup_dirs_matching([name])) == sorted(made)


@pytest.mark.parity
def test_run_refuses_a_frozen_v1_cgroup(rt, bundle):
    freezer = os.path.join(CGROUP_ROOT, "freezer")
    if not os.path.exists(os.path.join(freezer, "freezer.state")) and \
            not os.path.isdir(freezer):
        pytest.skip("no v1 freezer hierarchy")
    with frozen_v1_cgroup(freezer) as (name, path):
        assert_refused_frozen(rt, bundle, f"/{name}", name, [path])
        assert open(os.path.join(path, "freezer.state")).read().strip() == "FROZEN"


@pytest.mark.mkrun_only
def test_run_refuses_a_cgroup_under_a_frozen_v1_parent(rt, bundle):
    """The container's own cgroup does not exist yet, its parent is frozen: it would be too."""
    freezer = os.path.join(CGROUP_ROOT, "freezer")
    if not os.path.isdir(freezer):
        pytest.skip("no v1 freezer hierarchy")
    with frozen_v1_cgroup(freezer) as (name, path):
        assert_refused_frozen(rt, bundle, f"/{name}/child", name, [path])


@pytest.mark.mkrun_only
def test_run_refuses_a_frozen_unified_cgroup(rt, bundle):
    """On this hybrid host the init is cloned into the unified hierarchy too. runc 1.1 checks
    the v1 freezer only, and hangs here."""
    unified = os.path.join(CGROUP_ROOT, "unified")
    if not os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers")) and \
            not os.path.isdir(unified):
        pytest.skip("no unified hierarchy")
    if os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers")):
        unified = CGROUP_ROOT
    name = cgroup_name()
    path = os.path.join(unified, name)
    os.mkdir(path)
    try:
        if not os.path.exists(os.path.join(path, "cgroup.freeze")):
            pytest.skip("the unified hierarchy has no cgroup.freeze")
        with open(os.path.join(path, "cgroup.freeze"), "w") as f:
            f.write("1")
        assert_refused_frozen(rt, bundle, f"/{name}", name, [path])
        assert open(os.path.join(path, "cgroup.freeze")).read().strip() == "1"
    finally:
        thaw_and_remove(name)


@pytest.mark.mkrun_only
def test_exec_and_delete_end_when_the_unified_cgroup_is_frozen_behind_their_back(rt, bundle):
    """Frozen through the unified hierarchy, which `state` does not report as paused on this
    hybrid host: exec's process is cloned frozen and never answers. exec must give up (bounded)
    rather than wait forever, and delete --force must still kill and remove the container."""
    unified = os.path.join(CGROUP_ROOT, "unified")
    if not os.path.isdir(unified) or os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers")):
        pytest.skip("not a hybrid host")
    name = cgroup_name()
    bundle.linux["cgroupsPath"] = f"/{name}"
    try:
        cid, pid = rt.started(bundle.set_args("sleep", "1000"))
        freeze = os.path.join(unified, name, "cgroup.freeze")
        if not os.path.exists(freeze):
            pytest.skip("the unified hierarchy has no cgroup.freeze")
        with open(freeze, "w") as f:
            f.write("1")
        r = rt("exec", cid, "true", timeout=30)
        r.fails(255, FROZEN)
        rt("delete", "--force", cid, timeout=30).ok()
        assert rt.wait_exit(pid) is not None or not os.path.exists(f"/proc/{pid}")
    finally:
        thaw_and_remove(name)
