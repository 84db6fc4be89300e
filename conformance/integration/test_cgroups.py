"""Cgroups, read from the host side while the container exists (v1, hybrid and unified hosts)."""
import os

import pytest

from harness import cgroup_controller_path, cgroup_dirs_matching, read_file

pytestmark = pytest.mark.parity

CONTROLLERS = ["memory", "pids", "cpu", "cpuset"]


def cg_read(pid, controller, v1name, v2name):
    version, d = cgroup_controller_path(pid, controller)
    return version, read_file(os.path.join(d, v1name if version == "v1" else v2name)).strip()


def test_kernel_memory_limit_is_ignored_with_a_warning(rt, bundle):
    bundle.resources()["memory"] = {"kernel": 32 << 20}
    r = rt.run(bundle.set_args("true")).ok()
    assert "level=warning msg=\"Kernel memory settings are ignored and will be removed\"" in r.err


def test_resource_limits(rt, bundle):
    r = bundle.resources()
    r["memory"] = {"limit": 64 * 1024 * 1024}
    r["pids"] = {"limit": 100}
    r["cpu"] = {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"}
    cid = rt.new_id()
    bundle.linux["cgroupsPath"] = f"/mkrun-test-{cid}"
    rt.create(bundle.set_args("sleep", "1000"), cid).ok()
    pid = rt.state(cid)["pid"]
    # the init is in its final cgroup as soon as create returns (shims read it right away)
    assert cg_read(pid, "memory", "memory.limit_in_bytes", "memory.max")[1] == str(64 * 1024 * 1024)
    assert cg_read(pid, "pids", "pids.max", "pids.max")[1] == "100"
    v, shares = cg_read(pid, "cpu", "cpu.shares", "cpu.weight")
    # v2: runc's shares -> weight conversion, 1 + ((shares - 2) * 9999) / 262142
    assert shares == ("512" if v == "v1" else str(1 + (512 - 2) * 9999 // 262142))
    if v == "v1":
        assert cg_read(pid, "cpu", "cpu.cfs_quota_us", "")[1] == "50000"
        assert cg_read(pid, "cpu", "cpu.cfs_period_us", "")[1] == "100000"
    else:
        assert cg_read(pid, "cpu", "", "cpu.max")[1] == "50000 100000"
    assert cg_read(pid, "cpuset", "cpuset.cpus", "cpuset.cpus")[1] == "0"
    # still in force once the container runs
    rt.start(cid).ok()
    assert cg_read(pid, "pids", "pids.max", "pids.max")[1] == "100"


def test_cgroups_path_honoured_and_removed(rt, bundle):
    cid = rt.new_id()
    path = f"/mkrun-test-{cid}"
    bundle.linux["cgroupsPath"] = path
    cid, pid = rt.started(bundle.set_args("sleep", "1000"), cid)
    dirs = []
    for c in CONTROLLERS:
        version, d = cgroup_controller_path(pid, c)
        assert d.endswith(path), (c, d)
        assert [int(x) for x in read_file(os.path.join(d, "cgroup.procs")).split()] == [pid]
        dirs.append(d)
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            hid, ctrls, p = line.rstrip("\n").split(":", 2)
            if any(c in ctrls.split(",") for c in CONTROLLERS):
                assert p == path, line
    rt.kill(cid, "KILL").ok()
    rt.wait_exit(pid)
    rt.delete(cid).ok()
    for d in dirs:
        assert not os.path.exists(d), f"{d} left after delete"
    assert cgroup_dirs_matching([cid]) == []


def test_default_cgroup_is_named_after_id(rt, bundle):
    assert "cgroupsPath" not in bundle.linux
    cid = rt.create(bundle.set_args("sleep", "1000")).ok().cid
    pid = rt.state(cid)["pid"]
    for c in ("memory", "pids"):
        _, mine = cgroup_controller_path(os.getpid(), c)
        _, theirs = cgroup_controller_path(pid, c)
        assert theirs == os.path.join(mine, cid), (c, mine, theirs)
    rt.delete(cid, "--force").ok()
    rt.wait_exit(pid)
    assert cgroup_dirs_matching([cid]) == []


def test_run_removes_cgroup(rt, bundle):
    cid = rt.new_id()
    bundle.linux["cgroupsPath"] = f"/mkrun-test-{cid}"
    # the path is seen from the host's cgroup namespace (`spec` adds a private one on pure v2)
    bundle.linux["namespaces"] = [ns for ns in bundle.linux["namespaces"] if ns["type"] != "cgroup"]
    out = rt.output(bundle, "cat", "/proc/self/cgroup")
    assert f"/mkrun-test-{cid}" in out
    assert cgroup_dirs_matching([cid]) == []


def test_pids_limit_enforced(rt, bundle):
    cid = rt.new_id()
    bundle.linux["cgroupsPath"] = f"/mkrun-test-{cid}"
    bundle.resources()["pids"] = {"limit": 5}
    # sh + 3 sleeps fit in 5 tasks; the loop then hits the limit and the shell gives up
    r = rt.run(bundle.sh("sleep 30 & sleep 30 & sleep 30 & echo ok; "
                         "for i in 1 2 3 4 5 6; do sleep 30 & done; echo not-reached"), cid)
    assert r.rc != 0, r
    assert r.out == "ok\n", r
    assert "fork" in r.err, r
    assert cgroup_dirs_matching([cid]) == []


# runc's AllowedDevices, as devices.list shows them once the container's cgroup has them.
DEFAULT_DEVICES = {"c *:* m", "b *:* m", "c 1:3 rwm", "c 1:8 rwm", "c 1:7 rwm", "c 5:0 rwm",
                   "c 1:5 rwm", "c 1:9 rwm", "c 136:* rwm", "c 5:2 rwm", "c 10:200 rwm"}


@pytest.mark.parametrize("linux", ["no-resources", "no-device-rules"])
def test_default_device_rules_without_device_resources(rt, bundle, linux):
    """A spec without linux.resources (or without devices rules in it) still gets runc's
    default: every device denied but the default ones."""
    if linux == "no-resources":
        bundle.linux.pop("resources", None)
    else:
        bundle.linux["resources"] = {"pids": {"limit": 100}}
    # A device outside the default set whose open() needs no capability.
    bundle.add_mount("/dev/loop-control", "bind", "/dev/loop-control", ["bind"])
    cid, pid = rt.started(bundle.set_args("sleep", "1000"))
    version, directory = cgroup_controller_path(pid, "devices") if os.path.exists(
        "/sys/fs/cgroup/devices") else ("v2", None)
    if version == "v1":
        assert set(read_file(os.path.join(directory, "devices.list")).split("\n")) - {""} \
            == DEFAULT_DEVICES
    # Seen from inside on any cgroup version: the default devices open, others do not.
    r = rt("exec", cid, "sh", "-c",
           "echo x > /dev/null && head -c1 /dev/zero >/dev/null && echo defaults-ok; "
           "( : < /dev/loop-control ); echo rc=$?")
    assert r.rc == 0, r
    assert "defaults-ok" in r.out and "rc=1" in r.out, r
    assert "Operation not permitted" in r.err, r
    rt.kill(cid, "KILL").ok()
    rt.wait_exit(pid)


def test_device_access_letters_other_than_rwm_are_ignored(rt, bundle):
    """runc's bats suite writes "rwa": runc reads the r and w and ignores the a."""
    bundle.resources()["devices"] = [
        {"allow": False, "access": "rwm"},
        {"allow": True, "type": "c", "major": 10, "minor": 237, "access": "rwa"},
        {"allow": False, "type": "c", "major": 1, "minor": 11, "access": "rwa"},
    ]
    # /dev/loop-control (10:237): outside the default devices, and open() needs no capability.
    bundle.add_mount("/dev/loop-control", "bind", "/dev/loop-control", ["bind"])
    cid, pid = rt.started(bundle.set_args("sleep", "1000"))
    if os.path.exists("/sys/fs/cgroup/devices"):
        version, directory = cgroup_controller_path(pid, "devices")
        assert version == "v1"
        listed = set(read_file(os.path.join(directory, "devices.list")).split("\n"))
        assert "c 10:237 rw" in listed, listed
    r = rt("exec", cid, "sh", "-c", "( : < /dev/loop-control ) && echo opened")
    assert r.rc == 0 and r.out == "opened\n", r
    rt.kill(cid, "KILL").ok()
    rt.wait_exit(pid)


def pure_cgroup_v2() -> bool:
    return os.path.exists("/sys/fs/cgroup/cgroup.controllers")


def test_a_cgroup_that_already_holds_processes_gives_a_warning(rt, bundle):
    # runc 1.1.5's cgroups.bats: a second container in the first one's cgroup is created, with
    # runc's warning (runc 1.2 and later refuse it).
    cid = rt.new_id()
    bundle.linux["cgroupsPath"] = f"/mkrun-test-{cid}"
    first, pid = rt.started(bundle.set_args("sleep", "1000"), cid)
    second = rt.create(bundle.set_args("sleep", "1000"), rt.new_id())
    second.ok()
    assert "container's cgroup is not empty: 1 process(es) found" in second.err, second
    for c in (second.cid, first):
        rt("delete", "--force", c).ok()


@pytest.mark.skipif(pure_cgroup_v2(), reason="the unified map is for pure cgroup v2 hosts")
def test_unified_resources_are_refused_unless_the_host_is_pure_v2(rt, bundle):
    # runc 1.1.5's cgroups.bats "cgroup v1 + unified resources should fail" (hybrid hosts too).
    cid = rt.new_id()
    bundle.linux["cgroupsPath"] = f"/mkrun-test-{cid}"
    bundle.resources()["unified"] = {"memory.min": "131072"}
    r = rt.create(bundle.set_args("sleep", "1000"), cid)
    r.fails(1, "invalid configuration")
    assert cgroup_dirs_matching([f"mkrun-test-{cid}"]) == []
