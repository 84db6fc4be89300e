"""Containers on McKernel (io.mkrun.kernel=mckernel), against the test-only IHK emulator.

Every test gets its own emulated node (mckernel_node.py): 8 CPUs on 2 NUMA nodes, 8G per node,
an installation whose libihk.so, mcexec and ihkconfig are the emulator's, and a host
configuration (MKRUN_MCKERNEL_CONF) that lets mkrun take CPUs 1-7 and 4G per node.  At teardown
every container is force-deleted and the node must be exactly as it was: same records, no claim,
no /dev/mcos* node, sysfs's online CPUs back.
"""
from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import json
import os
import shutil
import signal
import stat
import struct
import subprocess
import tempfile
from pathlib import Path

import pytest

import harness
from harness import alive, children_of, wait_for
from mckernel_node import EMULATOR, GIB, LWK_INIT, Node, chunks, cpus, existing_mcos_nodes
from test_linux import NOBODY, as_nobody, rootless_bundle

pytestmark = pytest.mark.mkrun_only


@pytest.fixture
def node_lock():
    """One emulated node per host at a time: /dev/mcos<N> is host-wide, as with real IHK, so
    concurrent test runs take turns."""
    with open("/run/mkrun-ihk-emulator-tests.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@pytest.fixture
def node(rt, monkeypatch, node_lock):
    missing = [p for p in (EMULATOR / "libihk.so", EMULATOR / "mcexec", EMULATOR / "ihkconfig",
                           LWK_INIT) if not p.exists()]
    if missing:
        pytest.fail(f"the IHK emulator is not built: {missing} (meson compile -C <build>)")
    if os.path.exists("/dev/mcd0"):
        pytest.skip("a real IHK is loaded on this host: the emulator would shadow it")
    if existing_mcos_nodes():
        pytest.skip(f"/dev has McKernel instance nodes already: {existing_mcos_nodes()}")
    n = Node(Path(tempfile.mkdtemp(prefix="ihk-", dir=rt.workdir))).build()
    monkeypatch.setenv("MKRUN_MCKERNEL_CONF", str(n.conf_path))
    monkeypatch.setenv("MKRUN_IHK_EMULATOR_STATE", str(n.state_path))
    yield n
    # Delete the containers while the node is still there, then compare.
    for cid in list(rt.ids):
        r = rt("state", cid)
        if r.rc == 0:
            pid = json.loads(r.out).get("pid", 0)
            if pid and alive(pid):
                os.kill(pid, signal.SIGKILL)
                rt.wait_exit(pid)
            rt("delete", "--force", cid)
    after = n.snapshot()
    n.remove_device_nodes()
    assert after == n.initial, f"the emulated node is not as it was:\n{after}\n!=\n{n.initial}"


def assert_no_container(rt, cid: str) -> None:
    """A refused create left no state (other containers of the test may still exist)."""
    rt.state_raw(cid).fails(1, "container does not exist")
    assert cid not in rt("list", "-q").ok().out.split()


def boot_calls(n: Node, cpus: str, mem: str, kargs: str = "hidos dump_level=24",
               ikc: str | None = None) -> list[str]:
    calls = [f"ihk_reserve_mem(0, {mem}) = 0", f"ihk_reserve_cpu(0, {cpus}) = 0",
             "ihk_create_os(0) = 0", f"ihk_os_assign_cpu(0, {cpus}) = 0"]
    if ikc:
        calls.append(f"ihk_os_set_ikc_map(0, {ikc}) = 0")
    calls += [f"ihk_os_assign_mem(0, {mem}) = 0", f"ihk_os_load(0, {n.image}) = 0",
              f'ihk_os_kargs(0, "{kargs}") = 0', "ihk_os_boot(0) = 0"]
    return calls


def teardown_calls(cpus: str, mem: str, booted: bool = True) -> list[str]:
    # A shutdown gives the instance's CPUs and memory back to IHK's pool itself; only an
    # instance that never booted has them released by hand.
    calls = (["ihk_os_shutdown(0) = 0"] if booted else
             [f"ihk_os_release_cpu(0, {cpus}) = 0", f"ihk_os_release_mem(0, {mem}) = 0"])
    return calls + ["ihk_destroy_os(0, 0) = 0", f"ihk_release_cpu(0, {cpus}) = 0",
                    f"ihk_release_mem(0, {mem}) = 0"]


@contextlib.contextmanager
def files_renamed_into(directory: Path):
    """The names renamed into `directory` meanwhile, one per rename (inotify's IN_MOVED_TO): a
    claim is written to a temporary file and renamed, so each record of it is one. IN_MOVED_FROM
    is watched too, so that two renames to one name are two events (inotify merges an event
    with an identical one still unread right before it)."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
    assert fd >= 0, ctypes.get_errno()
    names: list[str] = []
    try:
        moved_from, moved_to = 0x40, 0x80
        assert libc.inotify_add_watch(fd, str(directory).encode(), moved_from | moved_to) >= 0
        yield names
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            data = b""
        while data:
            _, mask, _, length = struct.unpack_from("iIII", data)
            if mask & moved_to:
                names.append(data[16:16 + length].rstrip(b"\0").decode())
            data = data[16 + length:]
    finally:
        os.close(fd)


# ---- running on McKernel -------------------------------------------------------------------

def test_run_returns_the_applications_exit_status(rt, node, bundle):
    r = rt.run(node.bundle(bundle.sh("echo on-lwk; exit 7"), ncpus="2", mem="1G"))
    assert r.rc == 7, r
    assert r.out == "on-lwk\n"
    assert "mcexec: os=0 options= program=sh" in r.err
    rt.state_raw(r.cid).fails(1, "container does not exist")
    assert node.snapshot() == node.initial


def test_exact_ihk_calls_for_create_and_delete(rt, node, bundle):
    # 2 CPUs NUMA-compact from the pool 1-7: node 1 has 4 free (4-7), node 0 three: 6,7.
    cid = rt.create(node.bundle(bundle.set_args("true"), ncpus="2", mem="1G")).ok().cid
    mem = f"{GIB}@1"
    assert node.mutating_calls() == boot_calls(node, "6,7", mem)
    node.clear_log()
    rt.delete(cid, "--force").ok()
    assert node.mutating_calls() == teardown_calls("6,7", mem)
    assert node.snapshot() == node.initial


def test_the_launch_inside_the_container(rt, node, bundle):
    script = ("cat /proc/self/personality; cat /proc/1/cmdline | tr '\\0' ' '; echo;"
              "stat -c '%F %t:%T %a %u' /dev/mcos0; ls /dev | grep -c mcd;"
              f"grep -c ' {node.mcexec} ' /proc/self/mountinfo;"
              "grep -q ' /sys sysfs' /proc/mounts && echo sysfs")
    r = rt.run(node.bundle(bundle.sh(script), ncpus="1"))
    assert r.rc == 0, r
    lines = r.out.splitlines()
    assert lines[0] == "00040000"  # ADDR_NO_RANDOMIZE, set by mkrun before seccomp
    assert lines[1] == f"{LWK_INIT} {node.mcexec} 0 sh -c {script} "
    assert lines[2] == f"character special file {node.major:x}:0 600 0"
    assert lines[3] == "0"  # /dev/mcd0 is never exposed
    assert lines[4] == "1"
    assert lines[5] == "sysfs"


def test_personality_is_set_before_a_docker_like_seccomp_profile(rt, node, bundle):
    # Docker's default profile refuses personality(ADDR_NO_RANDOMIZE): mkrun sets it before the
    # filter, so neither mkrun nor mcexec has to call it under the filter.
    bundle.linux["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 0, "value": 0x40000, "op": "SCMP_CMP_EQ"}]}]}
    r = rt.run(node.bundle(bundle.sh("cat /proc/self/personality"), ncpus="1"))
    assert r.rc == 0, r
    assert r.out == "00040000\n"


def test_mcexec_is_read_only_in_the_container(rt, node, bundle):
    before = hashlib.sha256(node.mcexec.read_bytes()).hexdigest()
    script = (f"echo x > {node.mcexec} || echo refused;"
              f"cp /bin/busybox {node.mcexec} 2>/dev/null || echo refused;"
              "echo x > /proc/1/exe 2>/dev/null || echo refused;"
              f"mount -o remount,rw {node.mcexec} 2>/dev/null || echo refused")
    r = rt.run(node.bundle(bundle.sh(script), ncpus="1"))
    assert r.rc == 0, r
    assert r.out.splitlines() == ["refused"] * 4
    assert "Read-only file system" in r.err
    assert hashlib.sha256(node.mcexec.read_bytes()).hexdigest() == before


def test_device_cgroup_allows_the_instance(rt, node, bundle):
    cid, pid = rt.started(node.bundle(bundle.set_args("sleep", "100"), ncpus="1"))
    version, path = harness.cgroup_controller_path(pid, "devices")
    if version != "v1":
        pytest.skip("device rules are a BPF program on cgroup v2")
    rules = harness.read_file(os.path.join(path, "devices.list")).splitlines()
    assert f"c {node.major}:0 rwm" in rules


# ---- signals and exit statuses --------------------------------------------------------------

def test_kill_reaches_the_application(rt, node, bundle):
    # mkrun kill -> mkrun's init (PID 1) -> mcexec -> the application, which traps it.
    bundle.sh("trap 'exit 42' TERM; touch /tmp/ready; while :; do sleep 0.05; done")
    cid, pid = rt.started(node.bundle(bundle, ncpus="1"))
    wait_for(lambda: (bundle.rootfs / "tmp" / "ready").exists(), what="the application")
    rt.kill(cid, "TERM").ok()
    assert rt.wait_exit(pid) == 42


def test_death_by_signal_is_128_plus_signal_with_a_pid_namespace(rt, node, bundle):
    # mcexec re-raises the application's signal on itself; mkrun's init (PID 1) reports it.
    cid, pid = rt.started(node.bundle(bundle.set_args("sleep", "100"), ncpus="1"))
    assert "mkrun-lwk-init" in harness.cmdline(pid)
    rt.kill(cid, "TERM").ok()
    assert rt.wait_exit(pid) == 128 + signal.SIGTERM
    assert rt.status(cid) == "stopped"


def test_death_by_signal_without_a_pid_namespace(rt, node, bundle):
    bundle.linux["namespaces"] = [ns for ns in bundle.linux["namespaces"] if ns["type"] != "pid"]
    cid, pid = rt.started(node.bundle(bundle.set_args("sleep", "100"), ncpus="1"))
    assert harness.cmdline(pid).startswith(str(node.mcexec))  # mcexec is the first process
    rt.kill(cid, "TERM").ok()
    assert rt.wait_exit(pid) == -signal.SIGTERM


def test_run_foreground_signal_status(rt, node, bundle):
    r = rt.run(node.bundle(bundle.sh("kill -KILL $$"), ncpus="1"))
    assert r.rc == 128 + signal.SIGKILL, r


# ---- state -------------------------------------------------------------------------------------

def test_state_reports_the_instance(rt, node, bundle):
    cid = rt.create(node.bundle(bundle.set_args("true"), ncpus="2", mem="1G")).ok().cid
    ann = rt.state(cid)["annotations"]
    assert {k: v for k, v in ann.items() if k.startswith("io.mkrun.lwk.")} == {
        "io.mkrun.lwk.kernel": "mckernel", "io.mkrun.lwk.mode": "dedicated",
        "io.mkrun.lwk.os": "0", "io.mkrun.lwk.device": f"{node.major}:0",
        "io.mkrun.lwk.cpus": "6-7", "io.mkrun.lwk.mem": "1G@1",
        "io.mkrun.lwk.step": "running", "io.mkrun.lwk.status": "RUNNING"}
    assert ann["io.mkrun.mckernel.ncpus"] == "2"  # what the container asked stays as it was
    node.set_status(0, "PANIC", "McKernel: PANIC: emulated page fault in kernel\n")
    state = rt.state(cid)
    assert state["status"] == "stopped"  # a created container dies with its instance too
    ann = state["annotations"]
    assert ann["io.mkrun.lwk.status"] == "PANIC"
    assert "PANIC: emulated page fault in kernel" in ann["io.mkrun.lwk.kmsg"]
    listed = json.loads(rt("list", "--format", "json").ok().out)
    assert [s["annotations"]["io.mkrun.lwk.status"] for s in listed if s["id"] == cid] == ["PANIC"]


def test_events_report_the_instance(rt, node, bundle):
    cid, _ = rt.started(node.bundle(bundle.set_args("sleep", "100"), ncpus="1"))
    event = json.loads(rt("events", "--stats", cid).ok().out)
    assert event["type"] == "stats" and "memory" in event["data"]
    lwk = event["data"]["annotations"]  # the same entries as state's annotations
    assert {k: lwk[k] for k in ("io.mkrun.lwk.os", "io.mkrun.lwk.cpus", "io.mkrun.lwk.status")} \
        == {"io.mkrun.lwk.os": "0", "io.mkrun.lwk.cpus": "7", "io.mkrun.lwk.status": "RUNNING"}


def test_features_list_the_mckernel_annotations(rt):
    annotations = json.loads(rt.raw("features").ok().out)["annotations"]
    assert annotations["io.mkrun.kernel"] == "linux (default) | mckernel"
    assert sorted(k for k in annotations if k.startswith("io.mkrun.mckernel.")) == sorted(
        "io.mkrun.mckernel." + k for k in ("instance", "cpus", "ncpus", "mem", "ikc_map", "kargs",
                                           "mcexec_args", "image", "boot_timeout"))
    assert "4-7,12" in annotations["io.mkrun.mckernel.cpus"]  # each with its grammar


def test_features_call_the_kernel_annotations_potentially_unsafe(rt):
    # runtime-spec 1.2: annotations that change what the runtime does (here: take host CPUs and
    # memory, boot a kernel), so that an engine can refuse them from untrusted users
    features = json.loads(rt.raw("features").ok().out)
    unsafe = features["potentiallyUnsafeConfigAnnotations"]
    mkrun_annotations = sorted(k for k in features["annotations"] if k.startswith("io.mkrun."))
    assert sorted(unsafe) == mkrun_annotations and "io.mkrun.kernel" in unsafe


# ---- the instance fails while the container runs ------------------------------------------------

def watchers(cid: str) -> list[int]:
    """mkrun's kernel watchers for container `cid` (a fork of its create: same command line)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and alive(int(entry)):
            try:
                comm = harness.read_file(f"/proc/{entry}/comm").strip()
            except OSError:
                continue
            if comm == "mkrun-watch" and cid in harness.cmdline(int(entry)).split():
                found.append(int(entry))
    return found


@pytest.mark.parametrize("status", ["PANIC", "HUNGUP"])
def test_a_failed_instance_stops_the_container_unasked(rt, node, bundle, status):
    # Nobody calls mkrun: the watcher forked at create sees the status and kills the container.
    cid, pid = rt.started(node.bundle(bundle.set_args("sleep", "100"), ncpus="1"))
    assert len(watchers(cid)) == 1
    node.set_status(0, status, f"McKernel: {status}: emulated failure\n")
    rt.wait_exit(pid, timeout=10)
    wait_for(lambda: not watchers(cid), what="the watcher to exit with the container")
    state = rt.state(cid)
    assert state["status"] == "stopped" and state["pid"] == 0
    assert state["annotations"]["io.mkrun.lwk.status"] == status
    assert f"{status}: emulated failure" in state["annotations"]["io.mkrun.lwk.kmsg"]
    rt("events", "--stats", cid).fails(
        1, f"container with id {cid} is not running: McKernel instance 0 failed: status {status}; "
           f"McKernel's last messages:\\nMcKernel: {status}: emulated failure")
    r = rt.delete(cid).ok()
    assert f"{status}: emulated failure" in r.err  # the warning: why the application died
    assert node.snapshot() == node.initial


def test_a_paused_container_dies_with_its_instance(rt, node, bundle):
    cid, pid = rt.started(node.bundle(bundle.set_args("sleep", "100"), ncpus="1"))
    rt("pause", cid).ok()
    node.set_status(0, "PANIC", "McKernel: PANIC: while frozen\n")
    rt.wait_exit(pid, timeout=10)  # thawed so that SIGKILL lands
    assert rt.status(cid) == "stopped"


def test_state_stops_a_failed_instances_container_itself(rt, node, bundle):
    # Without the watcher (killed here), the next look at the container stops it.
    bundle.linux["namespaces"] = [ns for ns in bundle.linux["namespaces"] if ns["type"] != "pid"]
    bundle.sh("sleep 100 & sleep 100")  # two processes: the init and one more in the cgroup
    cid, pid = rt.started(node.bundle(bundle, ncpus="1"))
    for watcher in watchers(cid):
        os.kill(watcher, signal.SIGKILL)
    wait_for(lambda: not watchers(cid), what="the watcher to die")
    assert rt.status(cid) == "running"
    _, cgroup = harness.cgroup_controller_path(pid, "pids")
    procs = os.path.join(cgroup, "cgroup.procs")
    wait_for(lambda: len(harness.read_file(procs).split()) >= 2, what="the second process")
    node.set_status(0, "HUNGUP", "McKernel: emulated hang\n")
    assert rt.status(cid) == "stopped"
    assert not alive(pid)
    assert [p for p in harness.read_file(procs).split() if alive(int(p))] == []
    rt.kill(cid, "TERM").fails(1, "container not running")


def test_events_stream_ends_with_the_instances_messages(rt, node, bundle):
    cid, pid = rt.started(node.bundle(bundle.set_args("sleep", "100"), ncpus="1"))
    events = subprocess.Popen([rt.binary, "--root", rt.root, "events", "--interval", "100ms", cid],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert '"type":"stats"' in events.stdout.readline()  # streaming, not refused at once
        node.set_status(0, "PANIC", "McKernel: PANIC: emulated\n")
        _, err = events.communicate(timeout=20)
    finally:
        if events.poll() is None:
            events.kill()
            events.wait()
    assert events.returncode == 1, err
    assert "McKernel instance 0 failed: status PANIC" in err and "PANIC: emulated" in err
    rt.wait_exit(pid)


def test_run_reports_why_the_instance_killed_the_application(rt, node, bundle):
    bundle.sh("touch /tmp/ready; sleep 100")
    node.bundle(bundle, ncpus="1").save()
    cid = rt.new_id()
    with tempfile.TemporaryFile(mode="w+") as err:
        run = subprocess.Popen([rt.binary, "--root", rt.root, "run", "--bundle", bundle.path, cid],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        try:
            wait_for(lambda: (bundle.rootfs / "tmp" / "ready").exists(), what="the application")
            node.set_status(0, "PANIC", "McKernel: PANIC: emulated in run\n")
            rc = run.wait(timeout=20)
        finally:
            if run.poll() is None:
                run.kill()
                run.wait()
        err.seek(0)
        message = err.read()
    assert rc == 128 + signal.SIGKILL, message
    assert "McKernel instance 0 failed: status PANIC" in message
    assert "PANIC: emulated in run" in message
    rt.state_raw(cid).fails(1, "container does not exist")
    assert node.snapshot() == node.initial


# ---- resources -------------------------------------------------------------------------------

def test_two_containers_never_share_cpus(rt, node, make_bundle):
    a = rt.create(node.bundle(make_bundle().set_args("true"), ncpus="3", mem="1G")).ok().cid
    b = rt.create(node.bundle(make_bundle().set_args("true"), ncpus="3", mem="1G")).ok().cid
    cpus_a = rt.state(a)["annotations"]["io.mkrun.lwk.cpus"]
    cpus_b = rt.state(b)["annotations"]["io.mkrun.lwk.cpus"]
    assert (cpus_a, cpus_b) == ("5-7", "1-3")
    assert sorted(node.instances()) == [0, 1]
    r = rt.create(node.bundle(make_bundle().set_args("true"), ncpus="2"))
    r.fails(1, "CPUs busy or offline: 2 CPUs asked for McKernel, 1 free (4)")
    assert_no_container(rt, r.cid)
    r = rt.create(node.bundle(make_bundle().set_args("true"), cpus="4,7"))
    r.fails(1, "CPU 7 is held by another container")
    assert_no_container(rt, r.cid)


def test_concurrent_creates_take_turns(rt, node, make_bundle):
    # Two creates at once, 4 CPUs each, 7 in the pool: the host lock serializes them, so one
    # gets its CPUs and the other is refused; never an overlap.
    bundles = [node.bundle(make_bundle().set_args("true"), ncpus="4", mem="1G").save()
               for _ in range(2)]
    ids = [rt.new_id(str(i)) for i in range(2)]
    # stderr to files, not pipes: the created init inherits it and would hold a pipe open.
    errs = [tempfile.TemporaryFile(mode="w+") for _ in ids]
    procs = [subprocess.Popen([rt.binary, "--root", rt.root, "create", "--bundle", b.path, cid],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
             for b, cid, err in zip(bundles, ids, errs)]
    results = []
    for p, err in zip(procs, errs):
        rc = p.wait(timeout=60)
        err.seek(0)
        results.append((rc, err.read()))
        err.close()
    assert sorted(rc for rc, _ in results) == [0, 1], results
    assert any("CPUs busy or offline" in err for _, err in results), results
    winner = ids[[rc for rc, _ in results].index(0)]
    rt.pids.add(rt.state(winner)["pid"])
    assert rt.state(winner)["annotations"]["io.mkrun.lwk.cpus"] == "4-7"
    assert [os_["cpus"] for os_ in node.instances().values()] == ["4-7"]


def test_memory_pool_is_shared_out(rt, node, make_bundle):
    rt.create(node.bundle(make_bundle().set_args("true"), cpus="5", mem="3G@1")).ok()
    r = rt.create(node.bundle(make_bundle().set_args("true"), cpus="6", mem="2G@1"))
    r.fails(1, "memory not reservable: 2G asked on NUMA node 1, the pool has 1G left there")
    assert_no_container(rt, r.cid)


def test_cpuset_and_memory_limit_give_the_defaults(rt, node, bundle):
    # The real host's CPUs 0-1: McKernel takes 1, the container keeps 0 for mcexec's proxy.
    bundle.resources()["cpu"] = {"cpus": "0-1"}
    bundle.resources()["memory"] = {"limit": 256 << 20}
    cid, pid = rt.started(node.bundle(bundle.set_args("sleep", "100")))
    assert node.mutating_calls() == boot_calls(node, "1", f"{256 << 20}@0", ikc="1:0")
    _, cpuset = harness.cgroup_controller_path(pid, "cpuset")
    assert harness.read_file(os.path.join(cpuset, "cpuset.cpus")).strip() == "0"


def test_ikc_map_annotation(rt, node, bundle):
    # LWK CPUs 4 and 5 (renumbered 0 and 1 by IHK) both route to Linux CPU 1.
    rt.create(node.bundle(bundle.set_args("true"), cpus="4-5", mem="1G@1", ikc_map="4-5:1")).ok()
    assert node.mutating_calls() == boot_calls(node, "4,5", f"{GIB}@1", ikc="4:1+5:1")
    r = rt.create(node.bundle(bundle.set_args("true"), cpus="6-7", ikc_map="6:1"))
    r.fails(1, "io.mkrun.mckernel.ikc_map must route every McKernel CPU (6-7")
    assert_no_container(rt, r.cid)


def test_kernel_flag_selects_mckernel(rt, node, bundle):
    bundle.process["env"] = bundle.process.get("env", []) + [
        f"MKRUN_IHK_EMULATOR_STATE={node.state_path}"]
    bundle.add_mount(str(node.dir), "bind", str(node.dir), ["rbind", "ro"])
    bundle.set_args("true").save()
    cid = rt.new_id()
    rt("--kernel", "mckernel", "run", "--bundle", bundle.path, cid).ok()
    assert node.mutating_calls()[:2] == [f"ihk_reserve_mem(0, {512 << 20}@1) = 0",
                                         "ihk_reserve_cpu(0, 7) = 0"]


def test_kargs_and_mcexec_options(rt, node, bundle):
    r = rt.run(node.bundle(bundle.set_args("true"), ncpus="1",
                           kargs="allow_oversubscribe dump_level=8",
                           mcexec_args="-t 4 --mpol-no-stack"))
    assert r.rc == 0, r
    assert "mcexec: os=0 options=-t4 --mpol-no-stack program=true" in r.err
    # A repeated name replaces the earlier value: mcreboot.sh's dump_level=24 gives way.
    assert 'ihk_os_kargs(0, "hidos allow_oversubscribe dump_level=8") = 0' in node.calls()


# ---- attaching to an administrator's instance ------------------------------------------------

def admin_instance_5(node) -> None:
    """The administrator booted instance 5 on CPU 3 (mcreboot.sh style); attaching allowed."""
    node.set("reserved", "3")
    node.set("linux_mem", f"{8 * GIB}@0,{8 * GIB}@1")
    node.set("os", f"5 RUNNING cpus=3 mem={GIB}@0 loaded=1 ikc= kargs=hidos kmsg=")
    os.mknod("/dev/mcos5", 0o600 | 0o020000, os.makedev(node.major, 5))
    (node.sysfs / "devices/system/cpu/online").write_text("0-2,4-7\n")  # CPU 3 is IHK's
    node.write_conf(attach="5")
    node.initial = node.snapshot()


def test_attach_to_an_admin_instance(rt, node, make_bundle):
    admin_instance_5(node)
    try:
        r = rt.run(node.bundle(make_bundle().sh("echo attached"), instance="attach:5"))
        assert r.rc == 0 and r.out == "attached\n", r
        assert "mcexec: os=5" in r.err
        assert node.mutating_calls() == []  # nothing booted, nothing released
        # containers with pid namespaces of their own cannot share it (both have a pid 2)
        cid = rt.create(node.bundle(make_bundle().set_args("true"), instance="attach:5")).ok().cid
        r = rt.create(node.bundle(make_bundle().set_args("true"), instance="attach:5"))
        r.fails(1, f"McKernel instance 5 is in use by container {cid} in another pid namespace")
        rt.delete(cid).ok()
        r = rt.create(node.bundle(make_bundle().set_args("true"), instance="attach:4"))
        r.fails(1, "attaching to McKernel instance 4 is not allowed on this host")
        assert node.instances()[5]["status"] == "RUNNING"
    finally:
        for cid in list(rt.ids):
            rt("delete", "--force", cid)
        os.unlink("/dev/mcos5")
        node.initial["dev"] = existing_mcos_nodes()


def without_pid_namespace(bundle):
    bundle.linux["namespaces"] = [ns for ns in bundle.linux["namespaces"] if ns["type"] != "pid"]
    return bundle


def in_new_pid_namespace(*argv) -> tuple[subprocess.Popen, int]:
    """`unshare -p -f argv`: (the unshare process, its child: pid 1 of the new namespace)."""
    p = subprocess.Popen(["unshare", "-p", "-f", *argv])
    wait_for(lambda: children_of(p.pid))
    return p, children_of(p.pid)[0]


def stop(process: subprocess.Popen, child: int) -> None:
    """Kills the namespace's pid 1; `unshare -f` reaps it and exits (killing unshare first would
    leave its child a zombie for the host's slow PID 1)."""
    try:
        os.kill(child, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def without_pid_namespace(bundle):
    bundle.linux["namespaces"] = [ns for ns in bundle.linux["namespaces"] if ns["type"] != "pid"]
    return bundle


def test_attach_to_a_missing_instance_is_refused(rt, node, bundle):
    node.write_conf(attach="5")
    node.initial = node.snapshot()
    r = rt.create(node.bundle(bundle.set_args("true"), instance="attach:5"))
    r.fails(1, "there is no McKernel instance 5 to attach to")
    assert_no_container(rt, r.cid)
    assert not [c for c in node.calls() if c.startswith("ihk_os_")], node.calls()
    assert node.snapshot() == node.initial


def test_an_attach_writes_its_claim_once(rt, node, bundle):
    admin_instance_5(node)
    node.claims.mkdir(mode=0o755)
    try:
        with files_renamed_into(node.claims) as renamed:
            cid = rt.create(node.bundle(bundle.set_args("true"), instance="attach:5")).ok().cid
        token = node.claims_of(cid)
        assert renamed == [f"{token}.claim"], renamed
        claim = (node.claims / f"{token}.claim").read_text().splitlines()
        info = os.stat("/dev/mcos5")
        assert f"device-node={os.major(info.st_rdev)}:{os.minor(info.st_rdev)}" in claim
        assert "step=attached" in claim
        rt.delete(cid).ok()
        assert os.listdir(node.claims) == []
    finally:
        for cid in list(rt.ids):
            rt("delete", "--force", cid)
        os.unlink("/dev/mcos5")
        node.initial["dev"] = existing_mcos_nodes()


def test_ranks_in_one_pid_namespace_share_an_attached_instance(rt, node, make_bundle):
    """An MPI job's ranks on one node: several containers on the job's instance, as several
    mcexecs on one instance without containers. They share the host's pid namespace, or one
    joined by path, so McKernel's pid keys do not collide."""
    admin_instance_5(node)
    holder, job_init = in_new_pid_namespace("sleep", "1000")
    try:
        ranks = [rt.started(node.bundle(without_pid_namespace(make_bundle()).set_args(
            "sleep", "1000"), instance="attach:5", mcexec_args="-n 4")) for _ in range(4)]
        assert {rt.status(cid) for cid, _ in ranks} == {"running"}
        # a container with a pid namespace of its own is refused while they run
        r = rt.create(node.bundle(make_bundle().set_args("true"), instance="attach:5"))
        r.fails(1, "in another pid namespace")
        for cid, _ in ranks:
            rt.delete(cid, "--force").ok()
        # containers that join one pid namespace by path share the instance too
        for _ in range(2):
            b = without_pid_namespace(make_bundle()).set_args("sleep", "1000")
            b.linux["namespaces"].append({"type": "pid", "path": f"/proc/{job_init}/ns/pid"})
            cid, pid = rt.started(node.bundle(b, instance="attach:5"))
            assert os.readlink(f"/proc/{pid}/ns/pid") == os.readlink(f"/proc/{job_init}/ns/pid")
        assert node.mutating_calls() == []
        assert node.instances()[5]["status"] == "RUNNING"
    finally:
        for cid in list(rt.ids):
            rt("delete", "--force", cid)
        stop(holder, job_init)
        os.unlink("/dev/mcos5")
        node.initial["dev"] = existing_mcos_nodes()


def test_attach_with_a_missing_pid_namespace_is_refused_before_ihk(rt, node, make_bundle):
    admin_instance_5(node)
    try:
        b = without_pid_namespace(make_bundle()).set_args("true")
        b.linux["namespaces"].append({"type": "pid", "path": "/nonexistent/ns/pid"})
        r = rt.create(node.bundle(b, instance="attach:5"))
        r.fails(1, "stat the pid namespace `/nonexistent/ns/pid`: no such file or directory")
        harness.assert_nothing_left(rt, r.cid)
        assert node.mutating_calls() == []
        assert node.instances()[5]["status"] == "RUNNING"
    finally:
        os.unlink("/dev/mcos5")
        node.initial["dev"] = existing_mcos_nodes()


def test_the_emulated_mcexec_catches_colliding_pids(node, make_bundle):
    """The emulator is as strict as McKernel here: two mcexecs with one pid on one instance (pid
    1 of two pid namespaces, as two containers of their own would have) collide."""
    admin_instance_5(node)
    node.bundle(make_bundle(), instance="attach:5")  # makes the shared directory
    env = {"MCEXEC_EMULATOR_PROCS": str(node.dir / "procs"),
           "MKRUN_IHK_EMULATOR_STATE": str(node.state_path), "PATH": os.environ["PATH"]}
    mcexec = ["setarch", "x86_64", "-R", str(EMULATOR / "mcexec"), "5"]
    first, first_init = None, 0
    try:
        first = subprocess.Popen(["unshare", "-p", "-f", *mcexec, "sleep", "1000"], env=env)
        wait_for(lambda: (node.dir / "procs" / "5.1").exists())
        first_init = children_of(first.pid)[0]
        second = subprocess.run(["unshare", "-p", "-f", *mcexec, "true"], env=env,
                                capture_output=True, text=True, timeout=30)
        assert second.returncode == 70, second
        assert "already runs a process for pid 1" in second.stderr, second
    finally:
        if first:
            stop(first, first_init)
        os.unlink("/dev/mcos5")
        node.initial["dev"] = existing_mcos_nodes()


# ---- unprivileged attach: an ordinary user's rootless mkrun -------------------------------------

def user_instance_5(node, owner: int = NOBODY, attach_users: str = "nobody") -> None:
    """The administrator booted instance 5 and gave its node to `owner` (mcreboot.sh -o), and
    the host configuration lets `attach_users` attach to it."""
    admin_instance_5(node)
    os.chown("/dev/mcos5", owner, owner)
    node.write_conf(attach="5", attach_users=attach_users)


@pytest.fixture
def nobody_root(rt, node):
    """A runtime root owned by nobody; the /dev/mcos5 the test made is removed after it."""
    root = rt.workdir / "nobody-root"
    root.mkdir(mode=0o700)
    os.chown(root, NOBODY, NOBODY)
    yield root
    as_nobody(rt, root, "delete", "--force", "nobody-lwk")
    if os.path.exists("/dev/mcos5"):
        os.unlink("/dev/mcos5")
        node.initial["dev"] = existing_mcos_nodes()


def user_bundle(rt, node, make_bundle, script: str, **annotations):
    """What `spec --rootless` makes for nobody, on McKernel: no pid namespace of its own (an
    unprivileged attach runs mcexec in the host's), so the host's /proc is bound, not mounted."""
    bundle = rootless_bundle(rt, make_bundle, rt.new_id("lwk-user"), ["sh", "-c", script])
    without_pid_namespace(bundle)
    bundle.config["mounts"] = [m for m in bundle.config["mounts"] if m["destination"] != "/proc"]
    bundle.add_mount("/proc", "bind", "/proc", ["rbind", "nosuid", "noexec", "nodev"])
    node.bundle(bundle, **annotations)
    return bundle.save()


def as_user(rt, root, bundle, *command):
    rc, out, err = as_nobody(rt, root, *command, "--bundle", str(bundle.path), "nobody-lwk")
    return subprocess.CompletedProcess(command, rc, out, err)


def started_as_nobody(rt, root, bundle) -> int:
    """Creates and starts nobody's container; its init's pid."""
    assert as_user(rt, root, bundle, "create").returncode == 0
    rc, _, err = as_nobody(rt, root, "start", "nobody-lwk")
    assert rc == 0, err
    rc, out, _ = as_nobody(rt, root, "state", "nobody-lwk")
    return json.loads(out)["pid"]


def test_a_user_attaches_to_an_instance_the_host_lets_it_use(rt, node, make_bundle, nobody_root):
    user_instance_5(node)
    bundle = user_bundle(rt, node, make_bundle, "echo attached; stat -c '%u %a' /dev/mcos5",
                         instance="attach:5")
    p = as_user(rt, nobody_root, bundle, "run")
    assert p.returncode == 0, p
    # the node as McKernel's tools left it for the user: nobody's (0 inside the user namespace)
    assert p.stdout == "attached\n0 600\n", p
    assert "mcexec: os=5" in p.stderr
    assert os.stat("/dev/mcos5").st_uid == NOBODY and stat.S_IMODE(os.stat("/dev/mcos5").st_mode) == 0o600
    # while it runs, state asks the instance's own node (the user may not read /dev/mcd0)
    rc, _, err = as_nobody(rt, nobody_root, "create", "--bundle", str(bundle.path), "nobody-lwk")
    assert rc == 0, err
    rc, out, err = as_nobody(rt, nobody_root, "state", "nobody-lwk")
    assert rc == 0, err
    annotations = json.loads(out)["annotations"]
    assert annotations["io.mkrun.lwk.status"] == "RUNNING"
    assert annotations["io.mkrun.lwk.mode"] == "attach"
    # nothing is recorded in root's registry, nothing changed in IHK
    assert not node.claims.exists() or os.listdir(node.claims) == []
    rc, _, err = as_nobody(rt, nobody_root, "delete", "--force", "nobody-lwk")
    assert rc == 0, err
    assert node.mutating_calls() == []
    assert node.instances()[5]["status"] == "RUNNING"
    assert os.listdir(nobody_root) == []


def test_an_unprivileged_containers_watcher_sees_a_panic(rt, node, make_bundle, nobody_root):
    """The kernel watcher of an unprivileged attach cannot list IHK's instances (/dev/mcd0 is
    root's): it asks the instance's own node, and still stops the container when McKernel
    panics."""
    user_instance_5(node)
    bundle = user_bundle(rt, node, make_bundle, "sleep 1000", instance="attach:5")
    pid = started_as_nobody(rt, nobody_root, bundle)
    node.set_status(5, "PANIC", "McKernel: PANIC: emulated failure\n")
    wait_for(lambda: not alive(pid), timeout=10, what="the container's end")
    rc, out, err = as_nobody(rt, nobody_root, "state", "nobody-lwk")
    assert rc == 0, err
    state = json.loads(out)
    assert state["status"] == "stopped"
    assert state["annotations"]["io.mkrun.lwk.status"] == "PANIC"
    rc, _, err = as_nobody(rt, nobody_root, "delete", "nobody-lwk")
    assert rc == 0 and "PANIC: emulated failure" in err, err
    assert node.mutating_calls() == []
    # the administrator's instance keeps its panic (and its messages): theirs to reboot
    node.initial["records"] = node.snapshot()["records"]


def test_root_acts_on_no_forged_mckernel_record(rt, node, make_bundle, nobody_root):
    """A user writes its container's state (a shared --root, as Slurm's): root's `delete` and
    `state` on it must not release another container's instance by naming its claim, nor load a
    libihk.so from a configuration of the user's."""
    user_instance_5(node)
    victim = rt.create(node.bundle(make_bundle().set_args("true"), ncpus="1")).ok().cid
    token = node.claims_of(victim)
    bundle = user_bundle(rt, node, make_bundle, "sleep 1000", instance="attach:5")
    assert as_user(rt, nobody_root, bundle, "create").returncode == 0
    state_file = nobody_root / "nobody-lwk" / "state.json"
    honest = state_file.read_text()
    # the user's own installation: the emulated library, which would answer RUNNING if loaded
    mine = rt.workdir / "mine"
    mine.mkdir()
    shutil.copy2(EMULATOR / "libihk.so", mine / "libihk.so")
    (mine / "mckernel.conf").write_text(node.conf_path.read_text() + f"libihk = {mine}/libihk.so\n")
    for path in (mine, mine / "libihk.so", mine / "mckernel.conf"):
        os.chown(path, NOBODY, NOBODY)
    try:
        record = json.loads(honest)
        journal = record["kernel_journal"]
        journal.update({"mckernel.token": token, "mckernel.mode": "dedicated",
                        "mckernel.unprivileged": "", "mckernel.key": "forged",
                        "mckernel.cpus": "7", "mckernel.step": "running"})
        state_file.write_text(json.dumps(record))
        node.clear_log()
        r = rt.raw("--root", nobody_root, "delete", "--force", "nobody-lwk")
        assert r.rc == 1, r
        assert (f"is not the one the host registered for {token} (its key differs): "
                "nothing released") in r.err, r
        journal.update({"mckernel.token": "nobody-lwk.0", "mckernel.config": str(mine / "mckernel.conf")})
        state_file.write_text(json.dumps(record))
        state = json.loads(rt.raw("--root", nobody_root, "state", "nobody-lwk").ok().out)
        assert state["annotations"]["io.mkrun.lwk.status"] == "UNKNOWN"  # not loaded
        assert node.mutating_calls() == []
        assert rt.state(victim)["annotations"]["io.mkrun.lwk.status"] == "RUNNING"
    finally:
        state_file.write_text(honest)
    rt.delete(victim, "--force").ok()


@pytest.mark.parametrize("case,message", [
    ("not-listed", "user nobody (uid 65534) may not attach to McKernel instances on this host: "
                   "neither the user nor one of its groups is in attach_users in {conf}"),
    ("dedicated", "McKernel needs real root to boot an instance"),
    ("own-conf", "an unprivileged mkrun reads only a host configuration that is root's "
                 "({own}): `{own}` is owned by uid 65534"),
    ("writable-conf", "`{conf}` is writable by others than root"),
    ("node-not-given", "this user cannot use McKernel instance 5: `/dev/mcos5` (its owner and "
                       "mode decide who may run mcexec on it"),
    ("own-pid-namespace", "its containers must run mcexec in the host's pid namespace"),
    ("not-allowed-instance", "attaching to McKernel instance 4 is not allowed on this host"),
])
def test_unprivileged_refusals_leave_ihk_untouched(rt, node, make_bundle, nobody_root, monkeypatch,
                                                    case, message):
    denied = case in ("not-listed", "own-conf")
    user_instance_5(node, owner=0 if case == "node-not-given" else NOBODY,
                    attach_users="root @0" if denied else "nobody")
    annotations = {"instance": "attach:4" if case == "not-allowed-instance" else "attach:5"}
    if case == "dedicated":
        annotations = {"ncpus": "1"}
    own = rt.workdir / "mine" / "mckernel.conf"
    if case == "own-conf":
        own.parent.mkdir()
        os.chown(own.parent, NOBODY, NOBODY)
        # the user's own policy, letting itself attach: refused, not read
        own.write_text(node.conf_path.read_text().replace("attach_users = root @0",
                                                          "attach_users = nobody"))
        os.chown(own, NOBODY, NOBODY)
        monkeypatch.setenv("MKRUN_MCKERNEL_CONF", str(own))
    if case == "writable-conf":
        node.conf_path.chmod(0o666)
    bundle = user_bundle(rt, node, make_bundle, "true", **annotations)
    if case == "own-pid-namespace":
        bundle.linux["namespaces"].append({"type": "pid"})
        bundle.config["mounts"] = [m for m in bundle.config["mounts"]
                                   if m["destination"] != "/proc"]
        bundle.add_mount("/proc", "proc", "proc").save()
    try:
        p = as_user(rt, nobody_root, bundle, "create")
    finally:
        node.conf_path.chmod(0o644)
    assert p.returncode == 1, p
    assert message.format(conf=node.conf_path, own=own) in p.stderr, p.stderr
    assert "no such file or directory" not in p.stderr.lower()
    assert node.mutating_calls() == []
    assert node.instances()[5]["status"] == "RUNNING"
    assert os.listdir(nobody_root) == []


def test_root_on_an_instance_users_may_use_shares_their_pid_namespace(rt, node, make_bundle):
    """Unprivileged attaches leave no claim, so root's containers on such an instance must run
    mcexec where theirs do: in the host's pid namespace."""
    user_instance_5(node)
    try:
        r = rt.create(node.bundle(make_bundle().set_args("true"), instance="attach:5"))
        r.fails(1, "its containers must run mcexec in the host's pid namespace")
        r = rt.run(node.bundle(without_pid_namespace(make_bundle()).sh("echo shared"),
                               instance="attach:5"))
        assert r.rc == 0 and r.out == "shared\n", r
        assert node.mutating_calls() == []
    finally:
        os.unlink("/dev/mcos5")
        node.initial["dev"] = existing_mcos_nodes()


def test_emulator_unprivileged_callers_get_what_ihk_gives_them(rt, node):
    """As strict as IHK: /dev/mcd0 is root's (device calls: EACCES); an instance's node given to
    the user answers its status, but the calls that change it are EPERM (the driver's euid check);
    a node not given is EACCES."""
    user_instance_5(node)
    probe = ("import ctypes, sys; lib = ctypes.CDLL(sys.argv[1]); "
             "print(lib.ihk_get_num_os_instances(0), lib.ihk_os_get_status(5), "
             "lib.ihk_os_shutdown(5), lib.ihk_reserve_cpu(0, None, 0))")
    argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
            "/usr/bin/python3", "-c", probe, str(EMULATOR / "libihk.so")]
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p
        running = 2  # IHK_STATUS_RUNNING
        assert p.stdout.split() == ["-13", str(running), "-1", "-13"], p
        os.chown("/dev/mcos5", 0, 0)
        p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        assert p.stdout.split() == ["-13", "-13", "-13", "-13"], p
        assert node.instances()[5]["status"] == "RUNNING"
    finally:
        os.unlink("/dev/mcos5")
        node.initial["dev"] = existing_mcos_nodes()


# ---- a job's instance: mkrun-lwk boot | shutdown | status -----------------------------------------

MKRUN_LWK = EMULATOR.parent.parent / "lwk" / "mkrun-lwk"


def mkrun_lwk(*args, user: int | None = None) -> subprocess.CompletedProcess:
    argv = [str(MKRUN_LWK), *args]
    if user is not None:
        argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


@pytest.fixture
def job(node, nobody_root):
    """Job 42 of nobody, booted as a prolog would; shut down after the test in any case."""
    p = mkrun_lwk("boot", "--job", "42", "--user", "nobody", "--ncpus", "2", "--mem", "1G")
    assert p.returncode == 0, p
    yield p
    p = mkrun_lwk("shutdown", "--job", "42")
    assert p.returncode == 0, p


def cpu_ids(text: str) -> list[int]:
    ids = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        ids += range(int(first), int(last or first) + 1)
    return ids


def statuses() -> list[str]:
    p = mkrun_lwk("status")
    assert p.returncode == 0, p
    return p.stdout.splitlines()


def test_a_job_instance_boots_serves_its_user_and_shuts_down(rt, node, make_bundle, nobody_root,
                                                              job):
    mem = f"{GIB}@1"
    assert job.stdout == "job 42: McKernel instance 0 on CPUs 6-7, memory 1G@1, for uid 65534\n"
    assert node.mutating_calls() == boot_calls(node, "6,7", mem)
    info = os.stat("/dev/mcos0")
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (NOBODY, NOBODY, 0o600)
    assert statuses() == ["job 42 mode=job os=0 cpus=6-7 mem=1G@1 step=running user=65534 "
                          "status=RUNNING"]
    # the job's step, as the job's user, finds the instance by its job
    node.clear_log()
    bundle = user_bundle(rt, node, make_bundle, "echo step", instance="job")
    p = as_user(rt, nobody_root, bundle, "run")
    assert p.returncode == 0 and p.stdout == "step\n", p
    assert "mcexec: os=0" in p.stderr
    # a root container meanwhile gets other CPUs than the job's
    cid = rt.create(node.bundle(make_bundle().set_args("true"), ncpus="2")).ok().cid
    assert not {6, 7} & set(cpu_ids(rt.state(cid)["annotations"]["io.mkrun.lwk.cpus"]))
    rt.delete(cid, "--force").ok()
    node.clear_log()
    p = mkrun_lwk("shutdown", "--job", "42")
    assert p.returncode == 0, p
    assert node.mutating_calls() == teardown_calls("6,7", mem)
    assert node.snapshot() == node.initial  # every CPU and chunk back, no claim, no node
    # again (an epilog retried): nothing to do, nothing done
    node.clear_log()
    assert mkrun_lwk("shutdown", "--job", "42").returncode == 0
    assert node.mutating_calls() == []
    assert statuses() == []


def test_shutdown_releases_a_job_whose_step_crashed(rt, node, make_bundle, nobody_root, job):
    bundle = user_bundle(rt, node, make_bundle, "sleep 1000", instance="job")
    pid = started_as_nobody(rt, nobody_root, bundle)
    # the step crashed (Slurm killed its processes): its container was never deleted
    for process in [pid, *children_of(pid)]:
        os.kill(process, signal.SIGKILL)
        wait_for(lambda: not alive(process), what="the step's death")
    p = mkrun_lwk("shutdown", "--job", "42")
    assert p.returncode == 0, p
    assert node.snapshot() == node.initial
    # the step's leftover state is deleted later without touching IHK
    node.clear_log()
    rc, _, err = as_nobody(rt, nobody_root, "delete", "--force", "nobody-lwk")
    assert rc == 0, err
    assert node.mutating_calls() == []


def test_a_job_instance_is_its_users_only(rt, node, make_bundle, nobody_root):
    assert mkrun_lwk("boot", "--job", "7", "--user", "12345", "--ncpus", "1").returncode == 0
    try:
        bundle = user_bundle(rt, node, make_bundle, "true", instance="job")
        p = as_user(rt, nobody_root, bundle, "create")
        assert p.returncode == 1, p
        assert "no McKernel instance was booted for a job of uid 65534 on this node" in p.stderr
        bundle = user_bundle(rt, node, make_bundle, "true", instance="attach:0")
        p = as_user(rt, nobody_root, bundle, "create")
        assert p.returncode == 1, p
        assert "McKernel instance 0 was booted for job 7 of uid 12345, not for uid 65534" in p.stderr
        p = mkrun_lwk("boot", "--job", "7", "--user", "12345")
        assert p.returncode == 1
        assert "job 7 already has a McKernel instance (step running)" in p.stderr
        p = mkrun_lwk("shutdown", "--job", "7", user=NOBODY)
        assert p.returncode == 1 and "McKernel needs real root" in p.stderr, p
        assert node.instances()[0]["status"] == "RUNNING"
    finally:
        assert mkrun_lwk("shutdown", "--job", "7").returncode == 0
    assert node.snapshot() == node.initial


@pytest.mark.parametrize("function,when", [
    ("ihk_reserve_cpu", "after"), ("ihk_create_os", "after"), ("ihk_os_assign_mem", "before"),
    ("ihk_os_boot", "after")])
def test_a_job_boot_killed_at_any_step_is_shut_down(rt, node, function, when):
    node.set("crash", f"{function} {when}")
    p = mkrun_lwk("boot", "--job", "9", "--user", "nobody", "--ncpus", "1")
    assert p.returncode == -signal.SIGKILL, p
    assert [l for l in statuses() if l.startswith("job 9 ")]
    p = mkrun_lwk("shutdown", "--job", "9")
    assert p.returncode == 0, p
    assert node.snapshot() == node.initial


def test_a_failed_job_boot_releases_what_it_took(rt, node):
    node.set("boot_result", "PANIC")
    p = mkrun_lwk("boot", "--job", "3", "--user", "nobody", "--ncpus", "1")
    assert p.returncode == 1 and "McKernel instance 0 failed to boot" in p.stderr, p
    assert statuses() == []
    assert node.snapshot() == node.initial


# ---- the packaged prolog sizes a job's instance from its Slurm allocation ---------------------------

PROLOG = harness.REPO / "packaging" / "snippets" / "mkrun-lwk-prolog"

# What `scontrol show job -d` and `scontrol show hostnames` answer, for the prolog: the job's
# allocation as Slurm 22.05 prints it, hostlists expanded as Slurm does for these simple forms.
FAKE_SCONTROL = r"""#!/usr/bin/python3
import os, re, sys
args = sys.argv[1:]
if args[:3] == ["show", "job", "-d"]:
    if not os.path.exists(os.environ["FAKE_JOB_DETAIL"]):
        sys.exit("slurm_load_jobs error: Invalid job id specified")
    print(open(os.environ["FAKE_JOB_DETAIL"]).read(), end="")
elif args[:2] == ["show", "hostnames"]:
    for item in re.findall(r"[^,\[]+(?:\[[^\]]*\])?", args[2]):
        m = re.fullmatch(r"(.*)\[(.*)\]", item)
        if not m:
            print(item)
            continue
        for part in m.group(2).split(","):
            first, _, last = part.partition("-")
            for i in range(int(first), int(last or first) + 1):
                print(f"{m.group(1)}{i:0{len(first)}d}")
else:
    sys.exit(f"fake scontrol: unexpected {args}")
"""


def job_detail(*node_lines: str) -> str:
    return ("JobId=51 JobName=ranks\n   UserId=nobody(65534) GroupId=nogroup(65534)\n"
            "   NodeList=n[1-3]\n   NumNodes=3 NumCPUs=10 NumTasks=3 CPUs/Task=1\n"
            + "".join(f"     {line}\n" for line in node_lines) +
            "   MinCPUsNode=1 MinMemoryNode=0 MinTmpDiskNode=0\n")


@pytest.fixture
def prolog(tmp_path):
    """Runs the packaged prolog for job 51 of nobody on node NODE, with `scontrol` answering
    DETAIL (None: no such job); the job's instance is shut down after the test in any case."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "scontrol").write_text(FAKE_SCONTROL)
    (bin_dir / "scontrol").chmod(0o755)

    def run(detail: str | None, node_name: str, boot_args: str = "") -> subprocess.CompletedProcess:
        detail_file = tmp_path / "detail"
        if detail is not None:
            detail_file.write_text(detail)
        defaults = tmp_path / "defaults"
        defaults.write_text(f"MKRUN_LWK_BOOT_ARGS='{boot_args}'\n")
        env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", SLURM_JOB_ID="51",
                   SLURM_JOB_UID=str(NOBODY), SLURMD_NODENAME=node_name, SLURM_JOB_PARTITION="mck",
                   MKRUN_LWK=str(MKRUN_LWK), MKRUN_LWK_DEFAULTS=str(defaults),
                   FAKE_JOB_DETAIL=str(detail_file))
        return subprocess.run([str(PROLOG)], env=env, capture_output=True, text=True, timeout=60)

    yield run
    p = mkrun_lwk("shutdown", "--job", "51")
    assert p.returncode == 0, p


def test_the_prolog_boots_the_jobs_cpus_and_memory_on_this_node(node, prolog):
    detail = job_detail("Nodes=n[1-2] CPU_IDs=4-7 Mem=1024 GRES=", "Nodes=n3 CPU_IDs=0-1 Mem=0 GRES=")
    p = prolog(detail, "n2")
    # Slurm's ids 4-7 are Linux's here (no thread siblings); CPU 4 stays with Linux for mcexec
    # and takes McKernel's interrupts; the job's 1024 MB go to McKernel on its NUMA node
    assert p.returncode == 0, p
    assert p.stdout == "job 51: McKernel instance 0 on CPUs 5-7, memory 1G@1, for uid 65534\n"
    assert node.mutating_calls() == boot_calls(node, "5,6,7", f"{GIB}@1", ikc="5:4+6:4+7:4")
    assert mkrun_lwk("shutdown", "--job", "51").returncode == 0
    assert node.snapshot() == node.initial
    # on n3 the job has CPUs 0-1 and no memory tracked: CPU 1, and the host's default memory
    node.clear_log()
    p = prolog(detail, "n3")
    assert p.returncode == 0, p
    assert p.stdout == "job 51: McKernel instance 0 on CPUs 1, memory 512M@0, for uid 65534\n"


def test_the_prolog_caps_the_jobs_memory_at_the_pool(node, prolog):
    p = prolog(job_detail("Nodes=n1 CPU_IDs=2-7 Mem=65536 GRES="), "n1")
    assert p.returncode == 0, p
    # McKernel's CPUs 3-7 span both NUMA nodes: 4G of the pool on each
    assert p.stdout == "job 51: McKernel instance 0 on CPUs 3-7, memory 4G@0,4G@1, for uid 65534\n"
    assert ("warning: the job's memory on this node (64G) is more than McKernel may have on its "
            "CPUs (memory = 4G@0,4G@1 in") in p.stderr
    assert ": McKernel gets 8G" in p.stderr


def test_the_prolog_refuses_a_job_whose_cpus_leave_none_for_mckernel(node, prolog):
    p = prolog(job_detail("Nodes=n1 CPU_IDs=0 Mem=100 GRES="), "n1")
    assert p.returncode == 1
    assert ("mkrun-lwk: error: the job's CPUs on this node (0) leave none for McKernel: CPU 0 "
            "stays with Linux for mcexec, and McKernel may only have CPUs 1-7") in p.stderr
    p = prolog(job_detail("Nodes=n1 CPU_IDs=6-8 Mem=100 GRES="), "n1")
    assert p.returncode == 1
    assert "Slurm CPU id 8 is not on this node: it has 8 online CPUs (0-7)" in p.stderr
    assert node.mutating_calls() == []
    assert node.snapshot() == node.initial


def test_malformed_allocations_and_resets_are_refused_and_take_nothing(node, prolog, tmp_path):
    cases = [
        (["--slurm-cpus", ""], "the job has no CPUs on this node"),
        (["--slurm-cpus", "-1"], "--slurm-cpus: invalid CPU list"),
        (["--slurm-cpus", "0-99999999"], "--slurm-cpus: invalid CPU list"),
        (["--slurm-cpus", "3,3"], "a CPU is listed twice"),
        (["--slurm-cpus", "2-3", "--slurm-mem", "99999999999999999999M"], "--slurm-mem: "),
        (["--slurm-cpus", "2-3", "--slurm-mem", "-1G"], "--slurm-mem: "),
    ]
    for args, message in cases:
        p = mkrun_lwk("boot", "--job", "51", "--user", "nobody", *args)
        assert p.returncode != 0 and message in p.stderr, (args, p)
    # a line Slurm never prints, with a pattern the shell must not expand against file names
    (tmp_path / "0-1").write_text("")
    (tmp_path / "star").write_text(job_detail("Nodes=n1 CPU_IDs=0-? Mem=0 GRES="))
    p = subprocess.run(["sh", "-c", f"cd {tmp_path} && exec {PROLOG}"], capture_output=True,
                       text=True, timeout=60, env=dict(
                           os.environ, PATH=f"{tmp_path / 'bin'}:{os.environ['PATH']}",
                           SLURM_JOB_ID="51", SLURM_JOB_UID=str(NOBODY), SLURMD_NODENAME="n1",
                           MKRUN_LWK=str(MKRUN_LWK), MKRUN_LWK_DEFAULTS="/nonexistent",
                           FAKE_JOB_DETAIL=str(tmp_path / "star")))
    assert p.returncode == 1, p
    assert "--slurm-cpus: invalid CPU list \"0-?\"" in p.stderr, p
    # a reset names a pool instance: a container's or a job's claim, or a path, is left alone
    assert mkrun_lwk("boot", "--job", "51", "--user", "nobody", "--ncpus", "1").returncode == 0
    node.clear_log()
    for token in ["job.51", "../job.51", "pool.0", ""]:
        p = mkrun_lwk("pool", "reset", "--instance", token)
        assert p.returncode == 0, (token, p)
    assert node.mutating_calls() == []
    # and without privilege nothing is even looked at
    p = mkrun_lwk("pool", "reset", "--instance", "pool.0", user=NOBODY)
    assert p.returncode == 1 and "McKernel needs real root" in p.stderr, p
    assert mkrun_lwk("shutdown", "--job", "51").returncode == 0
    assert node.snapshot() == node.initial


def test_the_prolog_without_an_allocation_or_with_a_fixed_size(node, prolog):
    # a fixed size in /etc/default/mkrun-lwk: Slurm is not asked (its job is unknown here)
    p = prolog(None, "n1", boot_args="--ncpus 2 --mem 1G")
    assert p.returncode == 0, p
    assert p.stdout == "job 51: McKernel instance 0 on CPUs 6-7, memory 1G@1, for uid 65534\n"
    assert mkrun_lwk("shutdown", "--job", "51").returncode == 0
    # no line for this node: the host's defaults, with a warning
    p = prolog(job_detail("Nodes=n1 CPU_IDs=4-7 Mem=1024 GRES="), "n9")
    assert p.returncode == 0, p
    assert "warning: no allocation of job 51 on this node" in p.stderr
    assert p.stdout == "job 51: McKernel instance 0 on CPUs 7, memory 512M@1, for uid 65534\n"


# ---- a warm pool: mkrun-lwk pool fill | drain | status ---------------------------------------------

def pool_lines() -> list[str]:
    p = mkrun_lwk("pool", "status")
    assert p.returncode == 0, p
    return p.stdout.splitlines()


def is_boot(call: str) -> bool:
    return call.startswith(("ihk_create_os", "ihk_os_boot", "ihk_reserve_"))


@pytest.fixture
def pool(node):
    """Two instances of 2 CPUs and 1G booted ahead; drained after the test (before the node's
    teardown deletes the test's containers, whose lent instances are then released)."""
    node.write_conf(pool="2", pool_ncpus="2", pool_memory="1G")
    p = mkrun_lwk("pool", "fill")
    assert p.returncode == 0, p
    yield p
    p = mkrun_lwk("pool", "drain")
    assert p.returncode == 0, p


def test_pool_fill_boots_ahead_and_drain_gives_everything_back(rt, node, pool):
    assert pool.stdout.splitlines() == [
        f"pool.0 os=0 cpus=6-7 mem=1G@1 step=running status=RUNNING free",
        f"pool.1 os=1 cpus=2-3 mem=1G@0 step=running status=RUNNING free"]
    assert [i["status"] for i in node.instances().values()] == ["RUNNING", "RUNNING"]
    assert [c for c in node.mutating_calls() if c.startswith("ihk_os_boot")] == [
        "ihk_os_boot(0) = 0", "ihk_os_boot(1) = 0"]
    # a full pool is left alone
    node.clear_log()
    assert mkrun_lwk("pool", "fill").returncode == 0
    assert node.mutating_calls() == []
    p = mkrun_lwk("pool", "drain")
    assert p.returncode == 0, p
    assert node.snapshot() == node.initial  # every CPU and chunk back, no claim, no node
    assert pool_lines() == []


def test_a_container_takes_a_pooled_instance_without_booting(rt, node, pool, bundle):
    node.clear_log()
    cid = rt.create(node.bundle(bundle.sh("echo pooled"))).ok().cid
    assert not [c for c in node.mutating_calls()], node.mutating_calls()
    ann = rt.state(cid)["annotations"]
    assert (ann["io.mkrun.lwk.os"], ann["io.mkrun.lwk.cpus"], ann["io.mkrun.lwk.step"]) == (
        "0", "6-7", "pooled")
    assert pool_lines()[0].endswith(f"free") is False
    assert pool_lines()[0].endswith(f"lent={cid}")
    node_before = os.stat("/dev/mcos0").st_ino
    # the instance's node was given to the container's user only while it is lent
    rt.start(cid).ok()
    rt.wait_exit(rt.state(cid)["pid"])
    node.clear_log()
    rt.delete(cid).ok()
    # reset: shut down, released, booted again with the pool's size; free again
    calls = node.mutating_calls()
    assert calls[0] == "ihk_os_shutdown(0) = 0" and "ihk_os_boot(0) = 0" in calls, calls
    assert os.stat("/dev/mcos0").st_ino != node_before
    assert [l.split()[-1] for l in pool_lines()] == ["free", "free"]
    assert [i["status"] for i in node.instances().values()] == ["RUNNING", "RUNNING"]


def test_a_pooled_create_writes_its_claim_once(rt, node, pool, bundle):
    # The take is the container's only claim write: the instance's node numbers go with it.
    with files_renamed_into(node.claims) as renamed:
        cid = rt.create(node.bundle(bundle.set_args("true"))).ok().cid
    token = node.claims_of(cid)
    assert renamed == [f"{token}.claim"], renamed
    claim = (node.claims / f"{token}.claim").read_text().splitlines()
    info = os.stat("/dev/mcos0")
    assert f"device-node={os.major(info.st_rdev)}:{os.minor(info.st_rdev)}" in claim
    assert "step=pooled" in claim and "pool=pool.0" in claim
    device = rt.state(cid)["annotations"]["io.mkrun.lwk.device"]
    assert device == f"{os.major(info.st_rdev)}:{os.minor(info.st_rdev)}"


def test_run_on_a_pooled_instance(rt, node, pool, bundle):
    r = rt.run(node.bundle(bundle.sh("echo on-pool; exit 3")))
    assert r.rc == 3 and r.out == "on-pool\n", r
    assert "mcexec: os=0 " in r.err
    assert [l.split()[-1] for l in pool_lines()] == ["free", "free"]


def pooled_and_done(rt, node, bundle) -> str:
    """A container on pool instance 0 whose program has run: its delete is left to the caller."""
    cid = rt.create(node.bundle(bundle.set_args("true"))).ok().cid
    assert rt.state(cid)["annotations"]["io.mkrun.lwk.os"] == "0"
    rt.start(cid).ok()
    rt.wait_exit(rt.state(cid)["pid"])
    return cid


@pytest.fixture
def slow_boots(node):
    """McKernel boots in seconds: each emulated boot takes 3 s during the test (long enough
    that a check right after a command returns cannot miss a boot still under way)."""
    node.set("boot_delay_ms", "3000")
    yield
    with node.locked():
        kept = [l for l in node.lines() if not l.startswith("boot_delay_ms ")]
        node.state_path.write_text("\n".join(kept) + "\n")


def test_a_background_reset_boots_after_the_delete(rt, node, pool, bundle, slow_boots):
    node.write_conf(pool_reset="background", mkrun_lwk=str(MKRUN_LWK))
    cid = pooled_and_done(rt, node, bundle)
    node.clear_log()
    rt.delete(cid).ok()
    # the delete shut the instance down and released it; the boot is not the delete's
    calls = node.mutating_calls()
    assert calls[:2] == ["ihk_os_shutdown(0) = 0", "ihk_destroy_os(0, 0) = 0"], calls
    assert "ihk_os_boot(0) = 0" not in calls, calls
    # the detached `mkrun-lwk pool reset` boots it again with the pool's size
    wait_for(lambda: pool_lines()[0].endswith("step=running status=RUNNING free"), timeout=30,
             what="the background reset")
    assert "ihk_os_boot(0) = 0" in node.mutating_calls()
    assert [i["status"] for i in node.instances().values()] == ["RUNNING", "RUNNING"]


def test_a_pool_instance_awaiting_its_reset_is_never_lent_and_drains(rt, node, pool, bundle):
    # a reset that cannot start leaves the instance released and waiting, with a warning
    node.write_conf(pool_reset="background", mkrun_lwk="/nonexistent/mkrun-lwk")
    cid = pooled_and_done(rt, node, bundle)
    r = rt("delete", cid)
    assert r.rc == 0, r
    assert ("reset pool.0: start `/nonexistent/mkrun-lwk`: no such file or directory: the pool "
            "is one instance short until `mkrun-lwk pool fill`") in r.err
    assert pool_lines()[0] == "pool.0 os=- cpus= mem= step= status=- resetting"
    # meanwhile a container takes the other instance
    other = rt.create(node.bundle(bundle.set_args("true"))).ok().cid
    assert rt.state(other)["annotations"]["io.mkrun.lwk.os"] == "1"
    rt.delete(other, "--force").ok()
    # the reset run by hand boots it; a second one finds nothing to do
    p = mkrun_lwk("pool", "reset", "--instance", "pool.0")
    assert p.returncode == 0, p
    assert pool_lines()[0].endswith("step=running status=RUNNING free")
    node.clear_log()
    assert mkrun_lwk("pool", "reset", "--instance", "pool.0").returncode == 0
    assert node.mutating_calls() == []
    # waiting again, then drained: a reset that comes after the drain boots nothing
    rt("delete", pooled_and_done(rt, node, bundle))
    assert pool_lines()[0].endswith("resetting")
    assert mkrun_lwk("pool", "drain").returncode == 0
    node.clear_log()
    assert mkrun_lwk("pool", "reset", "--instance", "pool.0").returncode == 0
    assert node.mutating_calls() == []
    assert node.snapshot() == node.initial
    # and `pool fill` repairs one that waits
    assert mkrun_lwk("pool", "fill").returncode == 0
    rt("delete", pooled_and_done(rt, node, bundle))
    assert mkrun_lwk("pool", "fill").returncode == 0
    assert [l.split()[-1] for l in pool_lines()] == ["free", "free"]


def test_concurrent_creates_take_different_pool_instances(rt, node, pool, make_bundle):
    bundles = [node.bundle(make_bundle().set_args("true")).save() for _ in range(2)]
    ids = [rt.new_id(str(i)) for i in range(2)]
    node.clear_log()
    errs = [tempfile.TemporaryFile(mode="w+") for _ in ids]
    procs = [subprocess.Popen([rt.binary, "--root", rt.root, "create", "--bundle", b.path, cid],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
             for b, cid, err in zip(bundles, ids, errs)]
    for p, err in zip(procs, errs):
        err.seek(0)
        assert p.wait(timeout=60) == 0, err.read()
    for cid in ids:
        rt.pids.add(rt.state(cid)["pid"])
    assert sorted(rt.state(c)["annotations"]["io.mkrun.lwk.os"] for c in ids) == ["0", "1"]
    assert node.mutating_calls() == []
    assert sorted(l.split()[-1] for l in pool_lines()) == sorted(f"lent={c}" for c in ids)
    # the pool is empty: a third container boots its own, on CPUs no pool instance has
    cid = rt.create(node.bundle(make_bundle().set_args("true"))).ok().cid
    assert any(is_boot(c) for c in node.mutating_calls())
    assert rt.state(cid)["annotations"]["io.mkrun.lwk.step"] == "running"
    assert set(cpu_ids(rt.state(cid)["annotations"]["io.mkrun.lwk.cpus"])).isdisjoint({2, 3, 6, 7})
    # and with boot = no, it is refused with the reason
    node.write_conf(boot="no")
    r = rt.create(node.bundle(make_bundle().set_args("true")))
    r.fails(1, "boot = no in")
    assert "no instance of its pool is free or fits" in r.err
    assert_no_container(rt, r.cid)


def test_a_request_that_does_not_fit_the_pool_boots(rt, node, pool, bundle):
    node.clear_log()
    cid = rt.create(node.bundle(bundle.set_args("true"), ncpus="3")).ok().cid
    assert any(is_boot(c) for c in node.mutating_calls())
    assert rt.state(cid)["annotations"]["io.mkrun.lwk.step"] == "running"
    assert [l.split()[-1] for l in pool_lines()] == ["free", "free"]


def test_a_create_killed_before_the_take_leaves_the_pool_whole(rt, node, pool, bundle):
    node.set("crash", "ihk_os_get_status after")
    r = rt.create(node.bundle(bundle.set_args("true")))
    assert r.rc == -signal.SIGKILL or r.rc == 137, r
    assert [l.split()[-1] for l in pool_lines()] == ["free", "free"]
    rt("delete", "--force", r.cid)
    assert [l.split()[-1] for l in pool_lines()] == ["free", "free"]


@pytest.mark.parametrize("function", ["ihk_destroy_os", "ihk_create_os", "ihk_os_boot"])
def test_a_delete_killed_mid_reset_never_lends_a_bad_instance(rt, node, pool, make_bundle,
                                                              function):
    cid = rt.create(node.bundle(make_bundle().set_args("true"))).ok().cid
    rt.pids.add(rt.state(cid)["pid"])
    node.set("crash", f"{function} after")
    r = rt("delete", "--force", cid)
    assert r.rc in (-signal.SIGKILL, 137), r
    # until the pool is repaired no container gets the half-reset instance
    other = rt.create(node.bundle(make_bundle().set_args("true"))).ok().cid
    assert rt.state(other)["annotations"]["io.mkrun.lwk.os"] == "1"
    rt.delete(other, "--force").ok()
    rt.delete(cid, "--force").ok()
    # killed after its boot began, the reset is not redone by the retried delete: `pool status`
    # says the instance is not ready (a killed destroy is redone, from the old instance)
    if function != "ihk_destroy_os":
        assert pool_lines()[0].endswith(" unready"), pool_lines()
    assert mkrun_lwk("pool", "fill").returncode == 0
    assert [l.split()[-1] for l in pool_lines()] == ["free", "free"]
    assert [l.split()[5] for l in pool_lines()] == ["status=RUNNING", "status=RUNNING"]


def test_drain_while_lent_releases_at_delete(rt, node, pool, bundle):
    cid = rt.create(node.bundle(bundle.set_args("true"))).ok().cid
    rt.pids.add(rt.state(cid)["pid"])
    p = mkrun_lwk("pool", "drain")
    assert p.returncode == 0 and f"lent to container {cid}" in p.stderr, p
    assert pool_lines()[0].endswith(f"lent={cid} retiring")
    rt.delete(cid, "--force").ok()
    assert node.snapshot() == node.initial


# ---- failures: clear errors, nothing left -------------------------------------------------------

@pytest.mark.parametrize("setup,annotations,message", [
    ({"fail": "ihk_reserve_cpu 16 1"}, {"ncpus": "1"},
     "CPUs busy or offline: IHK could not take CPUs 7 from Linux: ihk_reserve_cpu(0, 7): "
     "device or resource busy"),
    ({"linux_mem": f"{GIB}@0,{GIB // 2}@1"}, {"cpus": "5", "mem": "1G@1"},
     "memory not reservable: IHK could not take 1G@1 from Linux"),
    ({"boot_result": "PANIC", "boot_message": "PANIC:\\semulated\\sboot\\sfailure"},
     {"ncpus": "1"}, "failed to boot (ihk_os_boot(0): invalid argument): status PANIC; "
                     "McKernel's last messages:\\nIHK/McKernel (emulated) booting on 1 CPUs\\n"
                     "PANIC: emulated boot failure"),
    ({"boot_result": "BOOTING"}, {"ncpus": "1", "boot_timeout": "300ms"},
     "boot timeout: McKernel instance 0 did not reach RUNNING within 0.3 s: status BOOTING; "
     "McKernel's last messages:\\nIHK/McKernel (emulated) booting on 1 CPUs"),
    ({"loaded": "0"}, {"ncpus": "1"}, "IHK is not loaded: /dev/mcd0 is missing"),
    ({"offline": "7"}, {"cpus": "7"}, "CPUs busy or offline: CPU 7 is offline"),
    ({}, {"mcexec_args": "-e LD_PRELOAD=/x"}, 'mcexec option \\"-e\\" is not allowed'),
    ({"reserved": "5"}, {"cpus": "5"},
     "CPUs busy or offline: CPU 5 is reserved in IHK by someone else"),
    ({}, {"cpus": "3", "mem": "5G@0"},
     "memory not reservable: 5G asked on NUMA node 0, the pool has 4G left there"),
    ({}, {"cpus": "0-1"}, "CPU 0 is never given to McKernel"),
    ({}, {"image": "/tmp/evil.img"}, "is not one this host allows"),
], ids=["cpus-busy", "memory", "panic", "boot-timeout", "not-loaded", "offline",
        "mcexec-option", "reserved-by-others", "memory-pool", "cpu0", "image"])
def test_failures_explain_and_leave_nothing(rt, node, bundle, setup, annotations, message):
    for key, value in setup.items():
        node.set(key, value)
    if "offline" in setup:
        (node.sysfs / "devices/system/cpu/online").write_text("0-6\n")
    if "reserved" in setup:  # IHK took CPU 5 from Linux
        (node.sysfs / "devices/system/cpu/online").write_text("0-4,6-7\n")
    node.initial = node.snapshot()
    r = rt.create(node.bundle(bundle.set_args("true"), **annotations))
    r.fails(1, message)
    harness.assert_nothing_left(rt, r.cid)
    assert node.snapshot() == node.initial


# ---- what McKernel does not honour (lwk/README.md) -----------------------------------------------

@pytest.mark.parametrize("where,setting,message", [
    ("process", {"scheduler": {"policy": "SCHED_FIFO", "priority": 5}},
     "process.scheduler (SCHED_FIFO) cannot be honoured on McKernel"),
    ("linux", {"memoryPolicy": {"mode": "MPOL_INTERLEAVE", "nodes": "0-1"}},
     "linux.memoryPolicy mode MPOL_INTERLEAVE cannot be honoured on McKernel"),
    ("linux", {"memoryPolicy": {"mode": "MPOL_BIND", "nodes": "0",
                                "flags": ["MPOL_F_RELATIVE_NODES"]}},
     "linux.memoryPolicy flag MPOL_F_RELATIVE_NODES cannot be honoured on McKernel"),
], ids=["scheduler", "interleave", "relative-nodes"])
def test_settings_mckernel_cannot_honour_are_refused_before_ihk(rt, node, bundle, where,
                                                                setting, message):
    node.bundle(bundle.set_args("true"), ncpus="1", mem="1G")
    (bundle.process if where == "process" else bundle.linux).update(setting)
    bundle.save()
    r = rt.create(bundle)
    r.fails(1, message)
    harness.assert_nothing_left(rt, r.cid)
    assert node.snapshot() == node.initial
    assert node.mutating_calls() == [], "IHK is not touched"


def test_rlimits_and_io_priority_on_mckernel_are_warnings(rt, node, bundle):
    node.bundle(bundle.set_args("true"), ncpus="1", mem="1G")
    bundle.process["rlimits"] = [{"type": "RLIMIT_AS", "hard": 1 << 40, "soft": 1 << 40}]
    bundle.process["ioPriority"] = {"class": "IOPRIO_CLASS_BE", "priority": 4}
    bundle.save()
    r = rt.run(bundle).ok()
    assert "process.rlimits (RLIMIT_AS) hold for mcexec" in r.err, r
    assert "does not enforce rlimits" in r.err, r
    assert "process.ioPriority (IOPRIO_CLASS_BE) holds for mcexec" in r.err, r
    assert node.snapshot() == node.initial


@pytest.mark.parametrize("conf,message", [
    ({"libihk": "/nonexistent/libihk.so"},
     "IHK is not installed (libihk = /nonexistent/libihk.so in {conf}): the library is missing"),
    ({"build_id": "other-build"}, 'build-id mismatch: the loaded IHK reports \\"emulated-build-1\\"'),
    ({"boot": "no", "attach": "3"}, "this host does not let mkrun boot McKernel instances"),
    ({"boot": "no"}, "McKernel is disabled on this host: {conf} lets mkrun neither boot"),
    ({"init": "/nonexistent/init"}, "mkrun's McKernel init (init in {conf}) `/nonexistent/init` is missing"),
    ({"prefix": "/nonexistent", "libihk": None}, "IHK is not installed (libihk = /nonexistent/lib64"),
    ({"bogus": "1"}, 'unknown key \\"bogus\\"'),
], ids=["no-libihk", "build-id", "boot-no", "disabled", "no-init", "no-prefix", "bad-conf"])
def test_host_configuration_errors(rt, node, bundle, conf, message):
    node.write_conf(**conf)
    r = rt.create(node.bundle(bundle.set_args("true"), ncpus="1"))
    r.fails(1, message.format(conf=node.conf_path))
    # Engines read ENOENT's text as a missing executable (exit 127): never for a configuration.
    assert "no such file or directory" not in r.err.lower()
    harness.assert_nothing_left(rt, r.cid)


def test_no_host_configuration(rt, node, bundle, monkeypatch):
    missing = node.dir / "missing.conf"
    monkeypatch.setenv("MKRUN_MCKERNEL_CONF", str(missing))
    r = rt.create(node.bundle(bundle.set_args("true")))
    r.fails(1, f"McKernel is not configured on this host: {missing} is missing")
    assert "no such file or directory" not in r.err.lower()
    harness.assert_nothing_left(rt, r.cid)


def test_the_packaged_configuration_keeps_mckernel_off(rt, node, bundle, monkeypatch):
    # lwk/mckernel.conf is what the Debian package installs as /etc/mkrun/mckernel.conf.
    packaged = Path(__file__).resolve().parents[2] / "lwk" / "mckernel.conf"
    monkeypatch.setenv("MKRUN_MCKERNEL_CONF", str(packaged))
    r = rt.create(node.bundle(bundle.set_args("true")))
    r.fails(1, f"McKernel is disabled on this host: {packaged} lets mkrun neither boot")
    harness.assert_nothing_left(rt, r.cid)
    assert node.calls() == []


def test_delete_and_state_need_no_environment(rt, node, bundle, monkeypatch):
    # Engines run `delete` and `state` with an environment of their own (Podman passes only
    # XDG_RUNTIME_DIR): mkrun reads the configuration create read, and the (emulated) IHK is
    # found as the real one is.
    cid = rt.create(node.bundle(bundle.set_args("true"), ncpus="1")).ok().cid
    monkeypatch.setenv("MKRUN_MCKERNEL_CONF", str(node.dir / "missing.conf"))
    monkeypatch.delenv("MKRUN_IHK_EMULATOR_STATE")
    state = json.loads(rt("state", cid).ok().out)
    assert state["annotations"]["io.mkrun.lwk.status"] == "RUNNING"
    node.clear_log()
    rt.delete(cid, "--force").ok()
    assert node.mutating_calls() == teardown_calls("7", "536870912@1")
    assert node.snapshot() == node.initial


def test_matching_build_id_is_accepted(rt, node, bundle):
    node.write_conf(build_id="emulated-build-1")
    assert rt.run(node.bundle(bundle.set_args("true"), ncpus="1")).rc == 0


def test_rootless_is_refused(rt, node, bundle):
    # IHK's calls check the host's uid 0: mkrun refuses before touching anything.
    node.bundle(bundle.set_args("true")).save()
    root = rt.workdir / "nobody-root"
    root.mkdir()
    root.chmod(0o777)
    argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", rt.binary,
            "--root", str(root), "create", "--bundle", str(bundle.path), "nobody-lwk"]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert p.returncode == 1, p
    assert "McKernel needs real root" in p.stderr
    assert node.calls() == []


def test_destroy_is_retried_while_busy(rt, node, bundle):
    cid = rt.create(node.bundle(bundle.set_args("true"), ncpus="1")).ok().cid
    node.set("fail", "ihk_destroy_os 16 3")
    rt.delete(cid, "--force").ok()
    destroys = [c for c in node.calls() if c.startswith("ihk_destroy_os")]
    assert destroys == ["ihk_destroy_os(0, 0) = -16"] * 3 + ["ihk_destroy_os(0, 0) = 0"]


def test_failed_release_keeps_the_state_for_another_delete(rt, node, bundle):
    cid = rt.create(node.bundle(bundle.set_args("true"), ncpus="1")).ok().cid
    node.set("fail", "ihk_release_cpu 5 1")
    rt.delete(cid, "--force").fails(1, "give CPUs 7 back to Linux")
    assert rt.status(cid) == "stopped"
    rt.delete(cid, "--force").ok()
    assert node.snapshot() == node.initial


# ---- crashes: mkrun SIGKILLed at every step; delete --force restores the node ------------------

CREATE_STEPS = ["ihk_reserve_mem", "ihk_reserve_cpu", "ihk_get_num_os_instances", "ihk_create_os",
                "ihk_os_assign_cpu", "ihk_os_set_ikc_map", "ihk_os_assign_mem", "ihk_os_load",
                "ihk_os_kargs", "ihk_os_boot"]


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("function", CREATE_STEPS)
def test_create_killed_at_any_step(rt, node, bundle, function, when):
    bundle.resources()["cpu"] = {"cpus": "0-1"}  # so the IKC map is set too
    node.set("crash", f"{function} {when}")
    r = rt.create(node.bundle(bundle.set_args("true")))
    assert r.rc == -signal.SIGKILL, r
    assert f"{function}(" in node.calls()[-1] and node.calls()[-1].endswith("= CRASH")
    rt.delete(r.cid, "--force").ok()
    rt.state_raw(r.cid).fails(1, "container does not exist")
    assert node.snapshot() == node.initial


DELETE_STEPS = ["ihk_os_shutdown", "ihk_destroy_os", "ihk_release_cpu", "ihk_release_mem"]


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("function", DELETE_STEPS)
def test_delete_killed_at_any_step(rt, node, bundle, function, when):
    cid = rt.create(node.bundle(bundle.set_args("true"), ncpus="2", mem="1G")).ok().cid
    node.set("crash", f"{function} {when}")
    r = rt.delete(cid, "--force")
    assert r.rc == -signal.SIGKILL, r
    assert node.calls()[-1].startswith(f"{function}(") and node.calls()[-1].endswith("= CRASH")
    rt.delete(cid, "--force").ok()
    assert node.snapshot() == node.initial


# ---- true to IHK: the driver's rules, in mkrun and in the emulator --------------------------

EINVAL, ENOENT, EBUSY, EIO = 22, 2, 16, 5


def boot_directly(node: Node, lib, cpu: int, size: int, numa: int) -> int:
    """An instance booted through the emulated library, as a test's own IHK client."""
    assert lib.ihk_reserve_mem(0, *chunks((size, numa))) == 0
    assert lib.ihk_reserve_cpu(0, *cpus(cpu)) == 0
    os_index = lib.ihk_create_os(0)
    assert os_index >= 0
    assert lib.ihk_os_assign_cpu(os_index, *cpus(cpu)) == 0
    assert lib.ihk_os_assign_mem(os_index, *chunks((size, numa))) == 0
    assert lib.ihk_os_load(os_index, str(node.image).encode()) == 0
    assert lib.ihk_os_kargs(os_index, b"hidos") == 0
    assert lib.ihk_os_boot(os_index) == 0
    return os_index


def test_emulator_shutdown_gives_the_instance_back_to_ihks_pool(rt, node):
    lib = node.library()
    os_index = boot_directly(node, lib, 3, GIB, 0)
    assert lib.ihk_os_shutdown(os_index) == 0
    # smp_ihk_os_shutdown: the CPUs and chunks go back to IHK's pool, not to Linux
    assert lib.ihk_os_get_num_assigned_cpus(os_index) == 0
    assert lib.ihk_os_get_num_assigned_mem_chunks(os_index) == 0
    assert node.get("reserved") == "3" and node.get("pool_mem") == f"{GIB}@0"
    assert lib.ihk_os_release_cpu(os_index, *cpus(3)) == -EINVAL
    assert lib.ihk_os_release_mem(os_index, *chunks((GIB, 0))) == -EINVAL
    assert lib.ihk_destroy_os(0, os_index) == 0
    assert lib.ihk_release_cpu(0, *cpus(3)) == 0
    assert lib.ihk_release_mem(0, *chunks((GIB, 0))) == 0


def test_emulator_destroy_loses_what_a_never_booted_instance_holds(rt, node):
    initial = node.state_path.read_text()
    lib = node.library()
    assert lib.ihk_reserve_mem(0, *chunks((GIB, 0))) == 0
    assert lib.ihk_reserve_cpu(0, *cpus(3)) == 0
    os_index = lib.ihk_create_os(0)
    assert lib.ihk_os_assign_cpu(os_index, *cpus(3)) == 0
    assert lib.ihk_os_assign_mem(os_index, *chunks((GIB, 0))) == 0
    assert lib.ihk_os_shutdown(os_index) == 0  # never booted: nothing to shut down
    assert lib.ihk_os_get_num_assigned_cpus(os_index) == 1
    assert lib.ihk_destroy_os(0, os_index) == 0
    assert node.get("leaked") == f"cpus=3 mem={GIB}@0"
    assert lib.ihk_release_cpu(0, *cpus(3)) == -EBUSY
    with node.locked():  # only a reload of IHK's modules would bring them back
        node.state_path.write_text(initial)
    (node.sysfs / "devices/system/cpu/online").write_text("0-7\n")
    node.remove_device_nodes()


def test_delete_releases_nothing_the_shutdown_gave_back(rt, node, bundle):
    cid = rt.create(node.bundle(bundle.set_args("true"), ncpus="2", mem="1G")).ok().cid
    node.clear_log()
    rt.delete(cid, "--force").ok()
    calls = node.calls()
    assert "ihk_os_get_num_assigned_cpus(0) = 0" in calls
    assert not [c for c in calls if c.startswith(("ihk_os_release_cpu", "ihk_os_release_mem"))]
    assert not [c for c in calls if c.endswith(" = -22")], calls
    assert node.snapshot() == node.initial


def test_emulator_reservation_comes_back_in_chunks_released_only_whole(rt, node):
    node.set("linux_max_chunk", str(GIB // 2))
    lib = node.library()
    assert lib.ihk_reserve_mem(0, *chunks((GIB, 0))) == 0
    assert lib.ihk_get_num_reserved_mem_chunks(0) == 2
    assert node.get("pool_mem") == f"{GIB // 2}@0,{GIB // 2}@0"
    assert lib.ihk_release_mem(0, *chunks((GIB, 0))) == -EINVAL
    assert lib.ihk_release_mem(0, *chunks((GIB // 4, 0))) == -EINVAL
    assert lib.ihk_release_mem(0, *chunks((GIB // 2, 0), (GIB // 2, 0))) == 0


def test_a_reservation_in_chunks_is_released_chunk_by_chunk(rt, node, bundle):
    node.set("linux_max_chunk", str(GIB // 2))
    cid = rt.create(node.bundle(bundle.set_args("true"), ncpus="2", mem="1536M")).ok().cid
    half = GIB // 2
    assert node.instances()[0]["mem"] == f"{half}@1,{half}@1,{half}@1"
    node.clear_log()
    rt.delete(cid, "--force").ok()
    assert node.mutating_calls()[-1] == f"ihk_release_mem(0, {half}@1,{half}@1,{half}@1) = 0"
    assert node.snapshot() == node.initial


def test_release_gives_back_no_more_memory_than_the_container_took(rt, node, bundle):
    lib = node.library()
    assert lib.ihk_reserve_mem(0, *chunks((GIB // 4, 1))) == 0  # someone else's, in the pool
    cid = rt.create(node.bundle(bundle.set_args("true"), ncpus="2", mem="1G")).ok().cid
    rt.delete(cid, "--force").ok()
    assert node.get("pool_mem") == f"{GIB // 4}@1"
    assert lib.ihk_release_mem(0, *chunks((GIB // 4, 1))) == 0


def test_a_retried_delete_leaves_another_containers_instance_alone(rt, node, make_bundle):
    a = rt.create(node.bundle(make_bundle().set_args("true"), ncpus="1")).ok().cid
    node.set("fail", "ihk_release_mem 22 1")
    rt.delete(a, "--force").fails(1, "back to Linux")  # instance 0 destroyed, memory kept
    b = rt.create(node.bundle(make_bundle().set_args("sleep", "100"), ncpus="1")).ok().cid
    assert list(node.instances()) == [0]  # IHK gave b the index a had
    node.clear_log()
    r = rt.delete(a, "--force").ok()
    assert "McKernel instance 0 is not the one this container created" in r.err, r.err
    assert "left alone" in r.err
    assert node.instances()[0]["status"] == "RUNNING"
    assert not [c for c in node.mutating_calls() if "(0)" in c or c.startswith("ihk_destroy_os")]
    assert rt.state(b)["annotations"]["io.mkrun.lwk.status"] == "RUNNING"
    rt.delete(b, "--force").ok()
    assert node.snapshot() == node.initial


def test_emulator_status_of_a_missing_instance_is_enoent(rt, node):
    lib = node.library()
    assert lib.ihk_os_get_status(5) == -ENOENT
    assert lib.ihk_os_get_num_assigned_cpus(5) == -ENOENT
    assert lib.ihk_os_shutdown(5) == -ENOENT


def test_state_asks_the_instance_its_status_only(rt, node, bundle):
    # The node's identity says the instance is there (and still the container's): no list of
    # the instances first, one status call for `state`'s failure check and one for its report.
    cid, _ = rt.started(node.bundle(bundle.set_args("sleep", "100"), ncpus="1"))
    node.clear_log()
    assert rt.state(cid)["annotations"]["io.mkrun.lwk.status"] == "RUNNING"
    assert node.calls() == ["ihk_os_get_status(0) = 2"] * 2
    rt.delete(cid, "--force").ok()
    assert node.snapshot() == node.initial


def test_ihk_unloaded_under_a_container(rt, node, bundle):
    cid, _ = rt.started(node.bundle(bundle.set_args("sleep", "100"), ncpus="1"))
    node.set("loaded", "0")  # its nodes stay in the emulated /dev; real IHK's go with it
    try:
        lib = node.library()
        assert lib.ihk_os_get_status(0) == -ENOENT
        assert lib.ihk_os_get_num_assigned_cpus(0) == -ENOENT
        assert rt.state(cid)["annotations"]["io.mkrun.lwk.status"] == "UNKNOWN"
    finally:
        node.set("loaded", "1")
    assert rt.state(cid)["annotations"]["io.mkrun.lwk.status"] == "RUNNING"
    rt.delete(cid, "--force").ok()
    assert node.snapshot() == node.initial


def test_emulator_queries_leave_the_node_as_it_was(rt, node):
    # A query is an ioctl that changes nothing in the driver: the emulated node's file is
    # replaced (by a rename) only by a call that changes the node, or that consumes an injected
    # fault. A hard link keeps the current file's inode from being reused by the next one.
    lib = node.library()
    os_index = boot_directly(node, lib, 3, GIB, 0)
    kept = node.dir / "state.kept"

    def replaced_by(call) -> bool:
        os.link(node.state_path, kept)
        try:
            call()
            return not os.path.samefile(node.state_path, kept)
        finally:
            kept.unlink()

    def queries():
        assert lib.ihk_os_get_status(os_index) == 2  # RUNNING
        assert lib.ihk_get_num_os_instances(0) == 1
        assert lib.ihk_get_num_reserved_cpus(0) == 1
        assert lib.ihk_os_get_status(7) == -ENOENT

    assert not replaced_by(queries)
    assert node.calls()[-4:] == ["ihk_os_get_status(0) = 2", "ihk_get_num_os_instances(0) = 1",
                                 "ihk_get_num_reserved_cpus(0) = 1",
                                 f"ihk_os_get_status(7) = -{ENOENT}"]
    node.set("fail", f"ihk_os_get_status {EIO} 1")
    assert replaced_by(lambda: lib.ihk_os_get_status(os_index))  # the fault is used up
    assert node.get("fail") == "" and lib.ihk_os_get_status(os_index) == 2
    assert replaced_by(lambda: lib.ihk_os_shutdown(os_index))
    assert node.instances()[os_index]["status"] == "INACTIVE"
    assert lib.ihk_destroy_os(0, os_index) == 0
    assert lib.ihk_release_cpu(0, *cpus(3)) == 0
    assert lib.ihk_release_mem(0, *chunks((GIB, 0))) == 0


def test_no_status_is_asked_of_a_missing_instance(rt, node, bundle):
    cid, _ = rt.started(node.bundle(bundle.set_args("sleep", "100"), ncpus="1"))
    lib = node.library()
    assert lib.ihk_destroy_os(0, 0) == 0  # an administrator destroyed it under the container
    node.clear_log()
    annotations = rt.state(cid)["annotations"]
    assert annotations["io.mkrun.lwk.status"] == "UNKNOWN"
    rt.delete(cid, "--force").ok()
    asked = [c for c in node.calls() if c.startswith("ihk_os_")]
    assert not [c for c in asked if c.endswith(f" = -{ENOENT}")], asked
    assert node.snapshot() == node.initial
