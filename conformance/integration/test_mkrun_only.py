"""mkrun behaviour that runc 1.1 does not share (see shared/design/runc-cli-contract.md §7).

Each test here is expected to FAIL against runc; run them against runc with
MKRUN=/usr/sbin/runc RUNTIMES=mkrun to see where runc differs."""
import json
import os
import signal

import pytest

from harness import (PidfdReceiver, alive, cgroup_controller_path, cgroup_dirs_matching,
                     on_a_terminal, pid_of_pidfd, read_file, wait_for)

pytestmark = pytest.mark.mkrun_only


def test_default_root_is_run_mkrun(rt, bundle):
    # Podman passes no --root: the default must be stable, and must not be runc's /run/runc.
    existed = os.path.isdir("/run/mkrun")
    cid = rt.new_id()
    bundle.set_args("sleep", "1000").save()
    pid = 0
    try:
        rt.raw("create", "--bundle", bundle.path, cid).ok()
        assert os.path.isdir(f"/run/mkrun/{cid}")
        assert cid in rt.raw("list", "-q").ok().out.split()
        pid = json.loads(rt.raw("state", cid).ok().out)["pid"]
    finally:
        rt.raw("delete", "--force", cid)
        if pid:
            rt.wait_exit(pid)
    assert not os.path.exists(f"/run/mkrun/{cid}")
    if not existed:
        try:
            os.rmdir("/run/mkrun")
        except OSError:
            pass


def test_tmpcopyup_keeps_times_and_special_files(rt, bundle):
    """Beyond runc (test_mounts.py): times are kept, and fifos are copied (runc 1.1 fails on a
    fifo: \"lchown ...: no such file or directory\")."""
    source = bundle.rootfs / "data"
    source.mkdir()
    (source / "file").write_text("x")
    os.utime(source / "file", (1000000000, 1000000000))
    (source / "sub").mkdir()
    os.utime(source / "sub", (1100000000, 1100000000))
    os.mkfifo(source / "fifo", 0o640)
    os.chown(source / "fifo", 3, 4)
    bundle.add_mount("/data", "tmpfs", "tmpfs", ["tmpcopyup"])
    out = rt.output(bundle, "stat", "-c", "%n %Y %F %a %u:%g", "/data/file", "/data/sub",
                    "/data/fifo")
    lines = out.splitlines()
    assert lines[0] == "/data/file 1000000000 regular file 644 0:0"
    assert lines[1] == "/data/sub 1100000000 directory 755 0:0"
    assert lines[2].startswith("/data/fifo ") and lines[2].endswith(" fifo 640 3:4"), lines[2]


# ---- --cgroup-manager (crun's flag; runc has only --systemd-cgroup) -----------------------------

def own_cgroups() -> str:
    with open("/proc/self/cgroup") as f:
        return f.read()


def cgroups_of(pid: int) -> str:
    with open(f"/proc/{pid}/cgroup") as f:
        return f.read()


def create_with_manager(rt, bundle, manager: str) -> tuple[str, int]:
    """create under --cgroup-manager=<manager>, with limits and a cgroupsPath of the container's
    own; returns (id, host pid of init). Later commands get no flag: the record names the peer."""
    cid = rt.new_id()
    bundle.linux["cgroupsPath"] = f"/mkrun-test-{cid}"
    bundle.resources()["memory"] = {"limit": 64 << 20}
    bundle.resources()["pids"] = {"limit": 100}
    bundle.set_args("sleep", "1000").save()
    rt.raw("--root", rt.root, f"--cgroup-manager={manager}", "create", "--bundle", bundle.path,
           cid).ok()
    pid = rt.state(cid)["pid"]
    rt.pids.add(pid)
    return cid, pid


def says_no_cgroup(r, action: str, rc: int = 1) -> None:
    assert r.rc == rc, r
    assert f"cannot {action}: the container has no cgroup (its cgroup manager is disabled)" in r.err


def test_cgroup_manager_disabled_makes_no_cgroup_and_applies_no_limit(rt, bundle):
    # crun's disabled manager: the container stays in the caller's cgroup in every hierarchy, so
    # its limits are not applied; that is not an error at create.
    cid, pid = create_with_manager(rt, bundle, "disabled")
    assert cgroups_of(pid) == own_cgroups()
    assert cgroup_dirs_matching([cid]) == []
    rt.start(cid).ok()
    assert rt.status(cid) == "running"
    rt("delete", "--force", cid).ok()
    rt.wait_exit(pid)
    assert cgroup_dirs_matching([cid]) == []


def test_cgroup_manager_disabled_refuses_what_needs_a_cgroup(rt, bundle):
    cid, pid = create_with_manager(rt, bundle, "disabled")
    rt.start(cid).ok()
    says_no_cgroup(rt("ps", cid), "list the container's processes")
    says_no_cgroup(rt("pause", cid), "pause the container")
    assert rt.status(cid) == "running"
    assert "container not paused" in rt("resume", cid).err
    says_no_cgroup(rt("update", "--memory", "96M", cid), "set limits")
    says_no_cgroup(rt("events", "--stats", cid), "read statistics")
    # exec fails as runc's does, with 255.
    says_no_cgroup(rt("exec", "--cgroup", "sub", cid, "true"), "join a sub-cgroup with --cgroup",
                   rc=255)
    # --all has no cgroup to list the processes from: the init is signalled.
    rt("kill", "--all", cid, "KILL").ok()
    assert rt.wait_exit(pid) is not None
    assert rt.status(cid) == "stopped"
    rt.delete(cid).ok()
    assert not (rt.root / cid).exists()


def test_cgroup_manager_cgroupfs_still_makes_the_cgroup(rt, bundle):
    cid, pid = create_with_manager(rt, bundle, "cgroupfs")
    assert cgroups_of(pid) != own_cgroups()
    dirs = cgroup_dirs_matching([f"mkrun-test-{cid}"])
    assert dirs, "no cgroup directory for the container"
    version, memory = cgroup_controller_path(pid, "memory")
    limit_file = "memory.limit_in_bytes" if version == "v1" else "memory.max"
    assert read_file(os.path.join(memory, limit_file)).strip() == str(64 << 20)
    rt("delete", "--force", cid).ok()
    rt.wait_exit(pid)
    assert not any(os.path.exists(d) for d in dirs)


def test_debug_names_mkruns_steps(rt, bundle, scratch):
    # Beyond the three steps runc names (test_lifecycle.py), mkrun's debug lines name its own.
    log = scratch / "log.out"
    bundle.set_args("sleep", "1000").save()
    cid = rt.new_id()
    debug = ["--log", log, "--log-format", "json", "--debug"]
    rt(*debug, "create", "--bundle", bundle.path, cid).ok()
    pid = rt.state(cid)["pid"]
    rt(*debug, "start", cid).ok()
    rt(*debug, "exec", cid, "true").ok()
    rt(*debug, "kill", cid, "KILL").ok()
    rt.wait_exit(pid)
    rt(*debug, "delete", cid).ok()
    steps = [json.loads(line) for line in log.read_text().splitlines()]
    assert all(step["level"] == "debug" for step in steps), steps
    messages = "\n".join(step["msg"] for step in steps)
    for expected in (f"create {cid}: bundle {bundle.path}",
                     f"container init {pid}: init: closing the pipe to signal completion",
                     f"create {cid}: created; init {pid} waits at exec.fifo for start",
                     f"start {cid}: init {pid} executed the container's process",
                     "exec process", "closed the sync socket",
                     f"kill {cid}: signal 9 to its init (running)",
                     f"delete {cid}: state directory removed"):
        assert expected in messages, messages


def test_proxied_exec_terminal_sends_plain_newlines(rt, bundle):
    # runc clears ONLCR only once the exec'd process runs: `stty -a` may see it still on.
    cid, _ = rt.started(bundle.set_args("sleep", "1000"))
    r = on_a_terminal(rt, "exec", "-t", cid, "stty", "-a")
    assert r.rc == 0, r
    assert "-onlcr" in r.out.decode().split(), r
    assert b"\r" not in r.out


def without_pid_namespace(bundle):
    bundle.linux["namespaces"] = [ns for ns in bundle.linux["namespaces"] if ns["type"] != "pid"]
    return bundle


def started_with_a_child(rt, bundle):
    """(id, init pid, host pid of a child the init forked) of a container in the host's pid
    namespace."""
    bundle.sh("sleep 1000 & echo $! > /child; wait")
    child_file = bundle.rootfs / "child"
    # a second container of the same bundle: not the first one's pid, nor the moment its shell
    # has truncated the file and not yet written it
    child_file.unlink(missing_ok=True)
    cid, pid = rt.started(without_pid_namespace(bundle))
    child = wait_for(lambda: child_file.exists() and child_file.read_text().strip(), what="the child")
    return cid, pid, int(child)


def test_sigkill_without_a_pid_namespace_kills_every_process(rt, bundle):
    # runc 1.5 Container.Signal: a SIGKILL to a container that shares a pid namespace goes to
    # its whole cgroup (runc 1.1 signals the init alone; the child outlives it until delete).
    cid, pid, child = started_with_a_child(rt, bundle)
    rt.kill(cid, "TERM").ok()  # other signals still go to the init alone
    rt.wait_exit(pid)
    assert alive(child)
    # The init is gone, the container is stopped, its child runs: runc 1.5 kills it too
    # ("kill KILL [host pidns + init gone]"; runc 1.1 refuses: "container not running").
    assert rt.state(cid)["status"] == "stopped"
    rt.kill(cid, "KILL").ok()
    wait_for(lambda: not alive(child), what="the child killed")
    rt.kill(cid, "TERM").fails(1, "container not running")  # other signals: the init alone

    cid, pid, child = started_with_a_child(rt, bundle)
    rt.kill(cid, "KILL").ok()
    rt.wait_exit(pid)
    wait_for(lambda: not alive(child), what="the child killed")


def move_out_of_v1_cgroups(pid):
    """Moves pid to the parent of each of its v1 cgroups (the unified one stays)."""
    with open(f"/proc/{pid}/cgroup") as f:
        hierarchies = [line.split(":")[1] for line in f if not line.startswith("0:")]
    for controllers in hierarchies:
        _, directory = cgroup_controller_path(pid, controllers.split(",")[0])
        with open(os.path.join(os.path.dirname(directory.rstrip("/")), "cgroup.procs"), "w") as f:
            f.write(str(pid))


def test_kill_all_uses_cgroup_kill_where_the_kernel_has_it(rt, bundle):
    # runc 1.5 signalAllProcesses: cgroup.kill in the unified hierarchy, on v2 and hybrid hosts.
    cid, pid, child = started_with_a_child(rt, bundle)
    version, unified = cgroup_controller_path(pid, "-")  # no controller: the unified directory
    if version != "v2" or not os.path.exists(os.path.join(unified, "cgroup.kill")):
        pytest.skip("no cgroup.kill for this container")
    try:
        # Hybrid: out of the container's v1 cgroups, the child is found by cgroup.kill alone.
        move_out_of_v1_cgroups(child)
        rt("kill", "--all", cid, "KILL").ok()
        rt.wait_exit(pid)
        wait_for(lambda: not alive(child), what="the child killed")
    finally:
        if alive(child):
            os.kill(child, signal.SIGKILL)


# runc 1.2+ --pidfd-socket (utils_linux.go setupPidfdSocket): a pidfd of the init or the exec'd
# process, in one message naming runc's init type, once it is set up and before it runs its
# program. runc's process sends its own; mkrun sends the same from the parent.

def test_create_sends_a_pidfd_of_the_init(rt, bundle, scratch):
    receiver = PidfdReceiver(scratch / "pidfd.sock")
    try:
        cid = rt.create(bundle.set_args("sleep", "1000"), None, "--pidfd-socket",
                        receiver.path).ok().cid
        pidfd = receiver.pidfd()
        assert receiver.msg == b"standard"
        pid = rt.state(cid)["pid"]
        assert pid_of_pidfd(pidfd) == pid
        rt.start(cid).ok()
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)  # what an engine does with it
        rt.wait_exit(pid)
        wait_for(lambda: rt.status(cid) == "stopped", what="stopped")
    finally:
        receiver.close()


def test_run_detached_sends_a_pidfd_of_the_init(rt, bundle, scratch):
    receiver = PidfdReceiver(scratch / "pidfd.sock")
    try:
        cid = rt.run(bundle.set_args("sleep", "1000"), None, "-d", "--pidfd-socket",
                     receiver.path).ok().cid
        assert pid_of_pidfd(receiver.pidfd()) == rt.state(cid)["pid"]
        assert receiver.msg == b"standard"
    finally:
        receiver.close()


def test_exec_sends_a_pidfd_of_the_process(rt, bundle, scratch):
    cid, init = rt.started(bundle.set_args("sleep", "1000"))
    receiver = PidfdReceiver(scratch / "pidfd.sock")
    try:
        pid_file = scratch / "exec.pid"
        rt("exec", "-d", "--pidfd-socket", receiver.path, "--pid-file", pid_file, cid,
           "sleep", "1000").ok()
        exec_pid = int(pid_file.read_text())
        rt.pids.add(exec_pid)
        pidfd = receiver.pidfd()
        assert receiver.msg == b"setns"
        assert pid_of_pidfd(pidfd) == exec_pid != init
        # Detached, it was handed to us (the subreaper): reaped now, or the init, dying, would
        # wait for it in zap_pid_ns_processes while the cleanup waits for the init.
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        rt.wait_exit(exec_pid)
    finally:
        receiver.close()


def test_pidfd_socket_nobody_listens_on(rt, bundle, scratch):
    path = scratch / "nobody.sock"
    r = rt.create(bundle.set_args("sleep", "1000"), None, "--pidfd-socket", path).fails(1)
    assert f"connect to pidfd socket `{path}`" in r.err, r
    rt.state_raw(r.cid).fails(1, "container does not exist")


# runc 1.5 ("mask paths [directories share tmpfs]"); runc 1.1 makes one each
def test_masked_directories_share_one_read_only_tmpfs(rt, bundle):
    for name in ("m1", "m2", "m3"):
        (bundle.rootfs / name).mkdir()
    bundle.linux["maskedPaths"] = ["/m1", "/m2", "/m3"]
    out = rt.output(bundle.sh("stat -c %d /m1 /m2 /m3; touch /m2/x 2>&1 || echo refused"))
    devices = out.split()[:3]
    assert len(set(devices)) == 1, out
    assert out.rstrip().endswith("refused"), out


# runc 1.5 ("mask paths [duplicate paths]"); runc 1.1 mounts twice
def test_a_path_masked_twice_is_mounted_once(rt, bundle):
    (bundle.rootfs / "md").mkdir()
    (bundle.rootfs / "mf").write_text("secret")
    bundle.linux["maskedPaths"] = ["/md", "/mf", "/md", "/mf"]
    out = rt.output(bundle.sh("grep -c ' /md ' /proc/self/mountinfo; "
                              "grep -c ' /mf ' /proc/self/mountinfo; cat /mf; echo end"))
    assert out.split() == ["1", "1", "end"], out


# runc 1.5 (runc#4971): a tmpfs's own mode= wins over the mode of the directory it covers;
# without one, the directory's mode is kept (runc 1.1 kept the directory's mode either way).
@pytest.mark.parametrize("options, expected", [(["mode=1500"], "1500"), ([], "710")])
def test_tmpfs_mode_option_wins_over_the_covered_directory(rt, bundle, options, expected):
    covered = bundle.rootfs / "tmpfs"
    covered.mkdir()
    covered.chmod(0o710)
    bundle.config["mounts"].append({"type": "tmpfs", "source": "tmpfs", "destination": "/tmpfs",
                                    "options": ["rw", "nodev", "nosuid"] + options})
    assert rt.output(bundle.set_args("stat", "-c", "%a", "/tmpfs")) == expected + "\n"
    assert oct(covered.stat().st_mode & 0o7777) == "0o710"  # the directory itself is unchanged


# runc 1.5 warns ("ambient caps not set in inheritable result in a warning"); runc 1.1 is silent,
# and the spec runc 1.1 and mkrun write has ambient capabilities that are not inheritable, so
# mkrun says it at --debug only.
def test_an_ambient_capability_that_cannot_be_raised_is_told_at_debug(rt, bundle):
    caps = bundle.config["process"]["capabilities"]
    caps["inheritable"] = ["CAP_KILL"]
    caps["ambient"] = ["CAP_KILL", "CAP_CHOWN"]
    bundle.set_args("grep", "CapAmb", "/proc/self/status")
    quiet = rt.run(bundle).ok()
    assert quiet.out.split() == ["CapAmb:", "0000000000000020"], quiet  # CAP_KILL (5) alone
    assert "ambient" not in quiet.err, quiet
    told = rt("--debug", "run", "--bundle", str(bundle.path), rt.new_id("amb")).ok()
    assert "can't raise ambient capability CAP_CHOWN: operation not permitted" in told.err, told
