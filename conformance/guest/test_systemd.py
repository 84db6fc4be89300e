"""--systemd-cgroup with systemd running: the container's cgroup is a transient scope systemd
knows (delegated, with the limits as unit properties, so a daemon-reload keeps them), and delete
stops it. Needs systemd as PID 1: the guest suite (pure v2, or GUEST_CGROUP=hybrid); skipped
elsewhere."""
import os
import signal
import subprocess

import pytest

from harness import cgroup_controller_path, read_file

pytestmark = [pytest.mark.parity,
              pytest.mark.skipif(not os.path.isdir("/run/systemd/system"),
                                 reason="needs systemd as PID 1 (the guest suite)")]

UNIFIED = os.path.exists("/sys/fs/cgroup/cgroup.subtree_control")


def show(unit, *props):
    out = subprocess.run(["systemctl", "show", unit, *(f"--property={p}" for p in props)],
                         capture_output=True, text=True, check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def unified_path(pid):
    """The pid's path in the unified hierarchy, from its "0::" line."""
    for line in read_file(f"/proc/{pid}/cgroup").splitlines():
        if line.startswith("0::"):
            return line[3:]
    raise AssertionError(f"no unified line in /proc/{pid}/cgroup")


def cg_read(pid, controller, v1name, v2name):
    version, d = cgroup_controller_path(pid, controller)
    return read_file(os.path.join(d, v1name if version == "v1" else v2name)).strip()


def limits(pid):
    return (cg_read(pid, "memory", "memory.limit_in_bytes", "memory.max"),
            cg_read(pid, "pids", "pids.max", "pids.max"))


def systemd_create(rt, bundle, cid):
    """create with the global --systemd-cgroup, as containerd's shim and podman pass it."""
    bundle.save()
    rt.ids.append(cid)
    r = rt("--systemd-cgroup", "create", "--bundle", bundle.path, cid)
    if r.rc == 0:
        rt.pids.add(rt.state(cid)["pid"])
    return r


def limited_bundle(bundle, cid):
    bundle.linux["cgroupsPath"] = f"system.slice:mkrun-test:{cid}"
    r = bundle.resources()
    r["memory"] = {"limit": 64 << 20}
    r["pids"] = {"limit": 50}
    r["cpu"] = {"shares": 512, "quota": 50000, "period": 100000}
    return bundle.set_args("sleep", "1000")


def assert_unit_gone(unit, dirs):
    assert show(unit, "LoadState")["LoadState"] == "not-found"
    for d in dirs:
        assert not os.path.exists(d), d


def test_scope_is_a_delegated_systemd_unit_with_the_limits(rt, bundle):
    cid = rt.new_id()
    systemd_create(rt, limited_bundle(bundle, cid), cid).ok()
    pid = rt.state(cid)["pid"]
    unit = f"mkrun-test-{cid}.scope"
    props = show(unit, "LoadState", "ActiveState", "Delegate", "Slice", "ControlGroup",
                 "MemoryMax", "MemoryLimit", "TasksMax", "CPUWeight", "CPUShares",
                 "CPUQuotaPerSecUSec")
    assert props["LoadState"] == "loaded", props
    assert props["ActiveState"] == "active", props
    assert props["Delegate"] == "yes", props
    assert props["Slice"] == "system.slice", props
    assert props["ControlGroup"] == f"/system.slice/{unit}", props
    assert props["TasksMax"] == "50", props
    assert props["CPUQuotaPerSecUSec"] == "500ms", props
    if UNIFIED:  # runc's v2 properties
        assert props["MemoryMax"] == str(64 << 20), props
        assert props["CPUWeight"] == str(1 + (512 - 2) * 9999 // 262142), props
    else:  # and its v1 ones
        assert props["MemoryLimit"] == str(64 << 20), props
        assert props["CPUShares"] == "512", props
    assert unified_path(pid) == f"/system.slice/{unit}"
    assert limits(pid) == (str(64 << 20), "50")
    version, cpu_dir = cgroup_controller_path(pid, "cpu")
    if version == "v2":
        assert read_file(f"{cpu_dir}/cpu.max").strip() == "50000 100000"
    else:
        assert read_file(f"{cpu_dir}/cpu.cfs_quota_us").strip() == "50000"
    dirs = {cgroup_controller_path(pid, c)[1] for c in ("memory", "pids", "cpu")}

    # systemd re-applies what it knows on daemon-reload: the limits must survive it
    subprocess.run(["systemctl", "daemon-reload"], check=True)
    assert limits(pid) == (str(64 << 20), "50")

    rt.start(cid).ok()
    rt.kill(cid, "KILL").ok()
    assert rt.wait_exit(pid) in (-signal.SIGKILL, None)
    # podman and containerd delete without --systemd-cgroup: the driver comes from the state
    rt.delete(cid).ok()
    assert_unit_gone(unit, dirs)


def test_delete_force_stops_the_scope(rt, bundle):
    cid = rt.new_id()
    systemd_create(rt, limited_bundle(bundle, cid), cid).ok()
    pid = rt.state(cid)["pid"]
    dirs = {cgroup_controller_path(pid, c)[1] for c in ("memory", "pids")}
    unit = f"mkrun-test-{cid}.scope"
    rt.start(cid).ok()
    assert show(unit, "ActiveState")["ActiveState"] == "active"
    rt.delete(cid, "--force").ok()
    assert_unit_gone(unit, dirs)


def test_default_path_is_a_scope_in_system_slice(rt, bundle):
    # no cgroupsPath: system.slice, scope <prefix>-<id>.scope (the prefix is the runtime's name)
    cid = rt.new_id()
    systemd_create(rt, bundle.set_args("sleep", "1000"), cid).ok()
    path = unified_path(rt.state(cid)["pid"])
    assert path.startswith("/system.slice/") and path.endswith(f"-{cid}.scope"), path
    unit = path.rsplit("/", 1)[1]
    assert show(unit, "ActiveState", "Delegate") == {"ActiveState": "active", "Delegate": "yes"}
    rt.delete(cid, "--force").ok()
    assert show(unit, "LoadState")["LoadState"] == "not-found"


@pytest.mark.skipif(not UNIFIED, reason="a delegated subtree a container can write: cgroup v2")
def test_container_can_make_sub_cgroups_in_its_delegated_scope(rt, bundle):
    cid = rt.new_id()
    bundle.linux["cgroupsPath"] = f"system.slice:mkrun-test:{cid}"
    if not any(n["type"] == "cgroup" for n in bundle.linux["namespaces"]):  # runc's v2 spec has it
        bundle.linux["namespaces"].append({"type": "cgroup"})
    # the default spec mounts /sys/fs/cgroup read-only; give the container a writable one
    bundle.config["mounts"] = [m for m in bundle.config["mounts"]
                               if m["destination"] != "/sys/fs/cgroup"]
    bundle.add_mount("/sys/fs/cgroup", "cgroup", "cgroup", ["nosuid", "noexec", "nodev", "rw"])
    bundle.sh("mkdir /sys/fs/cgroup/child && echo ok")
    bundle.save()
    rt.ids.append(cid)
    r = rt("--systemd-cgroup", "run", "--bundle", bundle.path, cid)
    assert r.rc == 0 and r.out.strip() == "ok", r
    assert show(f"mkrun-test-{cid}.scope", "LoadState")["LoadState"] == "not-found"
