"""cgroup v2 controllers, the eBPF device filter, freezing and linux.resources.unified, read from
the host side. Written for the guest (pure cgroup v2 under systemd); the tests that do not depend
on the layout also run on v1 and hybrid hosts, where the same verdicts come from v1 controllers."""
import os
import subprocess

import pytest

from harness import cgroup_controller_path, read_file, wait_for

pytestmark = pytest.mark.parity

UNIFIED = subprocess.run(["stat", "-fc", "%T", "/sys/fs/cgroup"], capture_output=True,
                         text=True).stdout.strip() == "cgroup2fs"
needs_v2 = pytest.mark.skipif(not UNIFIED, reason="needs a pure cgroup v2 host (the guest suite)")


def v2_dir(pid):
    version, d = cgroup_controller_path(pid, "memory")
    assert version == "v2", d
    return d


def v2_read(pid, name):
    return read_file(os.path.join(v2_dir(pid), name)).strip()


def created(rt, bundle, cid=None):
    """create of `sleep 1000` with an absolute cgroupsPath named after the id; (id, init pid)."""
    cid = cid or rt.new_id()
    bundle.linux["cgroupsPath"] = f"/mkrun-test-{cid}"
    rt.create(bundle.set_args("sleep", "1000"), cid).ok()
    return cid, rt.state(cid)["pid"]


def block_device(readable=False):
    """(path, major, minor) of a whole disk of this machine (the guest's is /dev/vda). With
    `readable`, one this test process can read itself, so that only the container's device
    cgroup can be what refuses it (some sandboxed hosts refuse even root)."""
    for name in sorted(os.listdir("/sys/block")):
        if name.startswith(("loop", "ram", "zram", "nbd", "sr")):
            continue
        try:
            major, minor = read_file(f"/sys/block/{name}/dev").strip().split(":")
            if readable:
                os.close(os.open(f"/dev/{name}", os.O_RDONLY))
        except OSError:
            continue
        return f"/dev/{name}", int(major), int(minor)
    pytest.skip("no block device" + (" that this host lets root read" if readable else ""))


@needs_v2
def test_v2_memory_pids_cpu_cpuset_files(rt, bundle):
    r = bundle.resources()
    r["memory"] = {"limit": 64 << 20, "reservation": 32 << 20, "swap": 96 << 20}
    r["pids"] = {"limit": 100}
    r["cpu"] = {"shares": 2048, "quota": 25000, "period": 50000, "cpus": "0", "mems": "0"}
    cid, pid = created(rt, bundle)
    assert v2_read(pid, "memory.max") == str(64 << 20)
    assert v2_read(pid, "memory.low") == str(32 << 20)
    if os.path.exists(os.path.join(v2_dir(pid), "memory.swap.max")):
        assert v2_read(pid, "memory.swap.max") == str(32 << 20)  # v1's memory+swap, minus memory
    assert v2_read(pid, "pids.max") == "100"
    assert v2_read(pid, "cpu.weight") == str(1 + (2048 - 2) * 9999 // 262142)
    assert v2_read(pid, "cpu.max") == "25000 50000"
    assert v2_read(pid, "cpuset.cpus") == "0"
    assert v2_read(pid, "cpuset.mems") == "0"
    # the limits hold for the running program too
    rt.start(cid).ok()
    assert v2_read(pid, "pids.max") == "100"


@needs_v2
def test_v2_io_limits(rt, bundle):
    _, major, minor = block_device()
    bundle.resources()["blockIO"] = {
        "weight": 500,
        "throttleReadBpsDevice": [{"major": major, "minor": minor, "rate": 1 << 20}],
        "throttleWriteIOPSDevice": [{"major": major, "minor": minor, "rate": 100}],
    }
    _, pid = created(rt, bundle)
    io_max = v2_read(pid, "io.max")
    assert f"{major}:{minor} rbps={1 << 20} wbps=max riops=max wiops=100" in io_max.splitlines()
    d = v2_dir(pid)
    if os.path.exists(os.path.join(d, "io.bfq.weight")):
        assert "default 500" in v2_read(pid, "io.bfq.weight")
    elif os.path.exists(os.path.join(d, "io.weight")):
        # runc's ConvertBlkIOToIOWeightValue: 1 + (500 - 10) * 9999 / 990
        assert v2_read(pid, "io.weight").splitlines()[0] == f"default {1 + (500 - 10) * 9999 // 990}"


@needs_v2
def test_v2_memory_limit_enforced(rt, bundle):
    cid = rt.new_id()
    bundle.linux["cgroupsPath"] = f"/mkrun-test-{cid}"
    bundle.resources()["memory"] = {"limit": 16 << 20, "swap": 16 << 20}  # and no swap
    # dd's 48 MB buffer cannot fit: the kernel's OOM killer ends dd inside the cgroup
    r = rt.run(bundle.sh("dd if=/dev/zero of=/dev/null bs=48M count=1 2>/dev/null; echo rc=$?"),
               cid, timeout=300)
    assert r.rc == 0 and r.out.strip() == "rc=137", r


@needs_v2
def test_unified_keys_override(rt, bundle):
    r = bundle.resources()
    r["pids"] = {"limit": 100}
    r["unified"] = {"pids.max": "42", "memory.high": str(48 << 20), "cpu.weight": "123"}
    _, pid = created(rt, bundle)
    assert v2_read(pid, "pids.max") == "42"  # unified wins over pids.limit
    assert v2_read(pid, "memory.high") == str(48 << 20)
    assert v2_read(pid, "cpu.weight") == "123"


@needs_v2
def test_unified_key_without_controller_fails(rt, bundle):
    cid = rt.new_id()
    bundle.linux["cgroupsPath"] = f"/mkrun-test-{cid}"
    bundle.resources()["unified"] = {"nosuchcontroller.max": "1"}
    r = rt.create(bundle, cid)
    assert r.rc == 1, r
    assert "nosuchcontroller" in r.err, r


@needs_v2
def test_relative_path_goes_under_the_parent_of_the_callers_cgroup(rt, bundle):
    # runc's fs2: the caller's own cgroup holds processes (the caller), so a child of it could not
    # get domain controllers; the container goes beside it instead
    cid = rt.create(bundle.set_args("sleep", "1000")).ok().cid
    pid = rt.state(cid)["pid"]
    _, mine = cgroup_controller_path(os.getpid(), "memory")
    _, theirs = cgroup_controller_path(pid, "memory")
    assert theirs == os.path.join(os.path.dirname(mine), cid), (mine, theirs)
    # and it gets the controllers the limits need
    assert "memory" in read_file(os.path.join(theirs, "cgroup.controllers")).split()


def device_bundle(bundle, allow_rules, readable=False):
    """The default spec's device rules ("deny all"), a node for the disk, and `allow_rules`."""
    path, major, minor = block_device(readable)
    bundle.linux.setdefault("devices", []).append(
        {"path": "/dev/testdisk", "type": "b", "major": major, "minor": minor,
         "fileMode": 0o660, "uid": 0, "gid": 0})
    rules = bundle.resources().setdefault("devices", [{"allow": False, "access": "rwm"}])
    rules.extend({**rule, "major": major, "minor": minor} for rule in allow_rules)
    return bundle


def test_device_filter_denies_what_is_not_allowed(rt, bundle):
    # No rule for the disk: reading it is refused by the device cgroup (v2: the eBPF program)
    device_bundle(bundle, [])
    r = rt.run(bundle.sh("head -c 1 /dev/testdisk >/dev/null; echo rc=$?"))
    assert r.rc == 0, r
    assert "rc=1" in r.out and "Operation not permitted" in r.err, r


def test_device_filter_allows_listed_access_only(rt, bundle):
    device_bundle(bundle, [{"allow": True, "type": "b", "access": "r"}], readable=True)
    # `cat /dev/null` writes nothing: only the open for writing is tried (not with ':', a special
    # built-in: its failed redirection would end the shell)
    r = rt.run(bundle.sh("head -c 512 /dev/testdisk | wc -c; cat /dev/null >>/dev/testdisk; "
                         "echo rc=$?"))
    assert r.rc == 0, r
    lines = r.out.split()
    assert lines[0] == "512" and lines[1] != "rc=0", r
    assert "Operation not permitted" in r.err, r


def test_device_filter_keeps_runc_default_devices(rt, bundle):
    # deny-all plus runc's default allow list: /dev/null, zero, full, random, urandom, tty, ptmx
    r = rt.run(bundle.sh("echo x >/dev/null && head -c 4 /dev/zero | wc -c && "
                         "head -c 4 /dev/urandom | wc -c && echo x >/dev/full; echo rc=$?"))
    assert r.out.split() == ["4", "4", "rc=1"], r  # /dev/full: ENOSPC, not EPERM
    assert "No space left on device" in r.err, r


def test_device_filter_privileged_allows_disk(rt, bundle):
    device_bundle(bundle, [], readable=True)
    bundle.resources()["devices"] = [{"allow": True, "access": "rwm"}]
    r = rt.run(bundle.sh("head -c 512 /dev/testdisk | wc -c"))
    assert r.rc == 0 and r.out.strip() == "512", r


def has_command(rt, name):
    return rt.raw("--help").out.find(f"\n   {name} ") >= 0


@needs_v2
def test_pause_resume_use_cgroup_freeze(rt, bundle):
    if not has_command(rt, "pause"):
        pytest.skip(f"{rt.name} has no pause command yet")
    cid, pid = created(rt, bundle)
    rt.start(cid).ok()
    rt("pause", cid).ok()
    assert rt.status(cid) == "paused"
    assert v2_read(pid, "cgroup.freeze") == "1"
    wait_for(lambda: "frozen 1" in v2_read(pid, "cgroup.events"), what="frozen 1")
    rt("resume", cid).ok()
    assert rt.status(cid) == "running"
    assert v2_read(pid, "cgroup.freeze") == "0"
