"""The commands that act on a living container: ps, pause/resume, update, events and exec.

Every expectation was checked against runc 1.1.5; the error texts are runc's.  A test leaves a
paused container resumed before it ends, so that the fixture's cleanup can kill it."""
import json
import os
import signal
import subprocess
import tempfile
import time

import pytest

from harness import ConsoleReceiver, alive, cgroup_controller_path, read_file, wait_for

MiB = 1024 * 1024


def started(rt, bundle, *args):
    return rt.started(bundle.set_args(*(args or ("sleep", "1000"))))


def stopped(rt, bundle):
    """A container whose init was killed and reaped, still there (not deleted)."""
    cid, pid = started(rt, bundle)
    rt.kill(cid, "KILL").ok()
    rt.wait_exit(pid)
    wait_for(lambda: rt.status(cid) == "stopped", what="stopped")
    return cid


def cg_value(pid, controller, v1name, v2name):
    version, d = cgroup_controller_path(pid, controller)
    return version, read_file(os.path.join(d, v1name if version == "v1" else v2name)).strip()


def frozen(pid):
    version, d = cgroup_controller_path(pid, "freezer")
    if version == "v1":
        return read_file(os.path.join(d, "freezer.state")).strip() == "FROZEN"
    return read_file(os.path.join(d, "cgroup.freeze")).strip() == "1"


# --------------------------------------------------------------------------------------------
# ps

@pytest.mark.parity
def test_ps_json(rt, bundle):
    cid, pid = started(rt, bundle)
    r = rt("ps", "--format", "json", cid).ok()
    assert r.out == f"[{pid}]\n" and r.err == ""   # go-runc merges stderr into the JSON
    assert rt("ps", "-f=json", cid).ok().out == f"[{pid}]\n"


@pytest.mark.parity
def test_ps_table_default_is_ps_ef(rt, bundle):
    cid, pid = started(rt, bundle)
    lines = rt("ps", cid).ok().out.splitlines()
    header = lines[0].split()
    assert header[:3] == ["UID", "PID", "PPID"], lines
    rows = lines[1:]
    assert len(rows) == 1 and int(rows[0].split()[1]) == pid, lines
    assert "sleep 1000" in rows[0]


@pytest.mark.parity
def test_ps_table_passes_the_ps_options(rt, bundle):
    cid, pid = started(rt, bundle)
    lines = rt("ps", cid, "-o", "pid,comm").ok().out.splitlines()
    assert lines[0].split() == ["PID", "COMMAND"]
    assert [line.split() for line in lines[1:]] == [[str(pid), "sleep"]]


@pytest.mark.parity
def test_ps_errors(rt, bundle):
    cid, _ = started(rt, bundle)
    rt("ps", "--format", "xml", cid).fails(1, "invalid format option")
    rt("ps", cid, "-o", "comm").fails(1, "couldn't find PID field in ps output")
    rt("ps", cid, "-o", "bogus").fails(1, "exit status 1: ")
    rt("ps", "--format", "json", "nonexistent").fails(1, "container does not exist")


@pytest.mark.parity
def test_ps_stopped_container_is_null(rt, bundle):
    cid = stopped(rt, bundle)
    assert rt("ps", "--format", "json", cid).ok().out == "null\n"


# --------------------------------------------------------------------------------------------
# pause / resume

@pytest.mark.parity
def test_pause_and_resume(rt, bundle):
    cid, pid = started(rt, bundle)
    rt("pause", cid).ok()
    assert rt.status(cid) == "paused"
    assert frozen(pid)
    assert rt("list", "--format", "json").ok().out.count('"status":"paused"') == 1
    rt("resume", cid).ok()
    assert rt.status(cid) == "running"
    assert not frozen(pid)


@pytest.mark.parity
def test_pause_resume_wrong_state(rt, bundle):
    cid, pid = started(rt, bundle)
    rt("resume", cid).fails(1, "container not paused")
    rt("pause", cid).ok()
    try:
        rt("pause", cid).fails(1, "container not running")
    finally:
        rt("resume", cid).ok()
    rt("pause", "nonexistent").fails(1, "container does not exist")
    rt("resume", "nonexistent").fails(1, "container does not exist")


@pytest.mark.parity
def test_pause_resume_stopped(rt, bundle):
    cid = stopped(rt, bundle)
    rt("pause", cid).fails(1, "container not running")
    rt("resume", cid).fails(1, "container not paused")


@pytest.mark.parity
def test_pause_created_container(rt, bundle):
    # runc pauses a created container too; its init is then frozen.
    cid = rt.create(bundle.set_args("sleep", "1000")).ok().cid
    pid = rt.state(cid)["pid"]
    rt("pause", cid).ok()
    assert frozen(pid)
    rt("resume", cid).ok()
    assert not frozen(pid)
    assert rt.status(cid) == "created"


@pytest.mark.parity
def test_delete_paused_container(rt, bundle):
    cid, pid = started(rt, bundle)
    rt("pause", cid).ok()
    rt.delete(cid).fails(1, f"cannot delete container {cid} that is not stopped: paused")
    r = rt.delete(cid, "--force").ok()
    assert r.elapsed < 5
    rt.wait_exit(pid)
    rt.state_raw(cid).fails(1, "container does not exist")


# --------------------------------------------------------------------------------------------
# update

def limited_bundle(bundle):
    r = bundle.resources()
    r["memory"] = {"limit": 64 * MiB}
    r["pids"] = {"limit": 100}
    r["cpu"] = {"quota": 50000, "period": 100000}
    return bundle


def cpu_quota(pid):
    version, value = cg_value(pid, "cpu", "cpu.cfs_quota_us", "cpu.max")
    return value if version == "v1" else value.split()[0]


def cpu_period(pid):
    version, value = cg_value(pid, "cpu", "cpu.cfs_period_us", "cpu.max")
    return value if version == "v1" else value.split()[1]


@pytest.mark.parity
def test_update_flags(rt, bundle):
    cid, pid = started(rt, limited_bundle(bundle))
    r = rt("update", "--memory", "96M", "--pids-limit", "50", "--cpu-quota", "20000", cid).ok()
    assert r.out == "" and r.err == ""
    assert cg_value(pid, "memory", "memory.limit_in_bytes", "memory.max")[1] == str(96 * MiB)
    assert cg_value(pid, "pids", "pids.max", "pids.max")[1] == "50"
    assert cpu_quota(pid) == "20000"
    assert cpu_period(pid) == "100000"
    # flags after the id, memory sizes with binary units in any spelling
    rt("update", cid, "--memory=100m").ok()
    assert cg_value(pid, "memory", "memory.limit_in_bytes", "memory.max")[1] == str(100 * MiB)
    rt("update", "--memory", "131072KiB", cid).ok()
    assert cg_value(pid, "memory", "memory.limit_in_bytes", "memory.max")[1] == str(128 * MiB)


@pytest.mark.parity
def test_update_period_alone_keeps_the_quota(rt, bundle):
    cid, pid = started(rt, limited_bundle(bundle))
    rt("update", "--cpu-period", "200000", cid).ok()
    assert cpu_period(pid) == "200000"
    assert cpu_quota(pid) == "50000"


@pytest.mark.parity
def test_update_resources_file_ignores_other_flags(rt, bundle, scratch):
    cid, pid = started(rt, limited_bundle(bundle))
    f = scratch / "resources.json"
    f.write_text(json.dumps({"memory": {"limit": 80 * MiB}, "pids": {"limit": 30}}))
    rt("update", "--resources", f, "--pids-limit", "7", cid).ok()
    assert cg_value(pid, "memory", "memory.limit_in_bytes", "memory.max")[1] == str(80 * MiB)
    assert cg_value(pid, "pids", "pids.max", "pids.max")[1] == "30"


@pytest.mark.parity
def test_update_resources_from_stdin(rt, bundle):
    cid, pid = started(rt, limited_bundle(bundle))
    with tempfile.TemporaryFile() as stdin:   # go-runc's `update --resources=- ID`
        stdin.write(json.dumps({"pids": {"limit": 42}}).encode())
        stdin.seek(0)
        rt("update", "--resources=-", cid, stdin=stdin).ok()
    assert cg_value(pid, "pids", "pids.max", "pids.max")[1] == "42"


@pytest.mark.parity
def test_update_created_container(rt, bundle):
    cid = rt.create(limited_bundle(bundle).set_args("sleep", "1000")).ok().cid
    pid = rt.state(cid)["pid"]
    rt("update", "--pids-limit", "20", cid).ok()
    assert cg_value(pid, "pids", "pids.max", "pids.max")[1] == "20"


@pytest.mark.parity
def test_update_errors(rt, bundle, scratch):
    cid, _ = started(rt, limited_bundle(bundle))
    rt("update", "--memory", "64X", cid).fails(1, "invalid value for memory: invalid size: '64X'")
    rt("update", "--cpu-period", "abc", cid).fails(
        1, 'invalid value for cpu-period: strconv.ParseUint: parsing "abc": invalid syntax')
    rt("update", "--cpu-quota", "1.5", cid).fails(
        1, 'invalid value for cpu-quota: strconv.ParseInt: parsing "1.5": invalid syntax')
    rt("update", "--blkio-weight", "abc", cid).fails(
        1, 'invalid value "abc" for flag -blkio-weight: parse error')
    rt("update", "--resources", scratch / "missing.json", cid).fails(1)
    bad = scratch / "bad.json"
    bad.write_text('{"memory":')
    rt("update", "--resources", bad, cid).fails(1)
    bad.write_text('{"memory": {"limit": "x"}}')
    rt("update", "--resources", bad, cid).fails(1)
    rt("update", "--pids-limit", "5", "nonexistent").fails(1, "container does not exist")


@pytest.mark.parity
def test_update_intel_rdt_absent(rt, bundle):
    if os.path.exists("/sys/fs/resctrl/info"):
        pytest.skip("this host has Intel RDT")
    cid, _ = started(rt, bundle)
    rt("update", "--l3-cache-schema", "L3:0=f", cid).fails(
        1, "Intel RDT/CAT: l3 cache schema is not enabled")
    rt("update", "--mem-bw-schema", "MB:0=50", cid).fails(
        1, "Intel RDT/MBA: memory bandwidth schema is not enabled")


@pytest.mark.parity
def test_update_kernel_memory_is_ignored_with_a_warning(rt, bundle):
    cid, pid = started(rt, limited_bundle(bundle))
    r = rt("update", "--kernel-memory", "32M", "--pids-limit", "60", cid).ok()
    assert "Kernel memory settings are ignored" in r.err
    assert cg_value(pid, "pids", "pids.max", "pids.max")[1] == "60"


@pytest.mark.parity
def test_update_minus_one_is_unlimited(rt, bundle):
    # runc's bats form: the id first, then a flag whose value is -1 (urfave moves the pair in
    # front of the id, and Go's flag package takes "-1" as the value).
    limited_bundle(bundle).resources()["memory"]["swap"] = 128 * MiB
    cid, pid = started(rt, bundle)
    rt("update", cid, "--memory-swap", "-1").ok()
    swap = cg_value(pid, "memory", "memory.memsw.limit_in_bytes", "memory.swap.max")[1]
    assert swap in ("max", "9223372036854771712"), swap  # v1 reads its largest value back
    rt("update", cid, "--cpu-quota", "-1").ok()
    assert cpu_quota(pid) in ("-1", "max")
    assert cpu_period(pid) == "100000"
    rt("update", cid, "--cpu-quota", "-1", "--cpu-period", "200000").ok()
    assert cpu_quota(pid) in ("-1", "max") and cpu_period(pid) == "200000"
    rt("update", cid, "--pids-limit", "-1").ok()
    assert cg_value(pid, "pids", "pids.max", "pids.max")[1] == "max"


@pytest.mark.parity
def test_update_stopped_container(rt, bundle):
    cid = stopped(rt, bundle)
    rt("update", "--pids-limit", "5", cid).fails(1, "container not running")


def cpu_burst(pid):
    return cg_value(pid, "cpu", "cpu.cfs_burst_us", "cpu.max.burst")[1]


def cpu_idle(pid):
    return cg_value(pid, "cpu", "cpu.idle", "cpu.idle")[1]


def needs_cpu_files(pid, *names):
    """Skips where the kernel lacks a cpu file (burst: Linux 5.14, idle: 5.15)."""
    _, d = cgroup_controller_path(pid, "cpu")
    for name in names:
        if not os.path.exists(os.path.join(d, name)):
            pytest.skip(f"this kernel has no {name}")


@pytest.mark.mkrun_only
def test_update_cpu_burst_and_idle(rt, bundle):
    # runc 1.2+ update.go: --cpu-burst (cpu.cfs_burst_us / cpu.max.burst) and --cpu-idle
    # (cpu.idle, v1 and v2); 0 is written, to clear them.
    cid, pid = started(rt, limited_bundle(bundle))
    needs_cpu_files(pid, "cpu.idle")
    rt("update", cid, "--cpu-burst", "10000", "--cpu-idle", "1").ok()
    assert (cpu_burst(pid), cpu_idle(pid)) == ("10000", "1")
    rt("update", cid, "--cpu-burst=0", "--cpu-idle=0").ok()
    assert (cpu_burst(pid), cpu_idle(pid)) == ("0", "0")
    with tempfile.TemporaryFile() as stdin:
        stdin.write(json.dumps({"cpu": {"burst": 20000, "idle": 1}}).encode())
        stdin.seek(0)
        rt("update", "-r", "-", cid, stdin=stdin).ok()
    assert (cpu_burst(pid), cpu_idle(pid)) == ("20000", "1")
    with open(rt.root / cid / "config.json") as f:
        cpu = json.load(f)["linux"]["resources"]["cpu"]
    assert cpu == {"quota": 50000, "burst": 20000, "period": 100000, "idle": 1}
    # An update without them leaves them alone.
    rt("update", cid, "--pids-limit", "90").ok()
    assert (cpu_burst(pid), cpu_idle(pid)) == ("20000", "1")


@pytest.mark.mkrun_only
def test_update_cpu_burst_and_idle_errors(rt, bundle):
    cid, pid = started(rt, limited_bundle(bundle))
    needs_cpu_files(pid, "cpu.idle")
    rt("update", "--cpu-burst", "abc", cid).fails(
        1, 'invalid value for cpu-burst: strconv.ParseUint: parsing "abc": invalid syntax')
    rt("update", "--cpu-idle", "x", cid).fails(
        1, 'invalid value for cpu-idle: strconv.ParseInt: parsing "x": invalid syntax')
    # The kernel's refusals name the file and the value: idle is 0 or 1, a burst at most the
    # quota.
    r = rt("update", "--cpu-idle", "2", cid).fails(1)
    assert "cpu.idle` (value 2): invalid argument" in r.err, r
    r = rt("update", "--cpu-burst", "60000", cid).fails(1)
    assert "(value 60000): invalid argument" in r.err, r
    assert (cpu_burst(pid), cpu_idle(pid)) == ("0", "0")


@pytest.mark.mkrun_only
def test_create_with_cpu_burst_and_idle(rt, bundle):
    # runc 1.2+ applies linux.resources.cpu.burst and idle at create.
    limited_bundle(bundle).resources()["cpu"].update({"burst": 30000, "idle": 1})
    cid, pid = started(rt, bundle)
    needs_cpu_files(pid, "cpu.idle")
    assert (cpu_burst(pid), cpu_idle(pid)) == ("30000", "1")


def a_disk():
    """"major:minor" of a real block device of this host (the kernel throttles only those)."""
    for name in sorted(os.listdir("/sys/block")):
        if not name.startswith(("loop", "ram", "zram")):
            return read_file(f"/sys/block/{name}/dev").strip()
    pytest.skip("this host has no disk")


def throttles(pid, v1name, v2key):
    """{device: limit} of one throttle, "max" (v2) or absent meaning unlimited."""
    version, d = cgroup_controller_path(pid, "blkio")  # v2: the unified directory
    if version == "v1":
        lines = read_file(os.path.join(d, v1name)).split("\n")
        return dict(line.split() for line in lines if line.strip())
    limits = {}
    for line in read_file(os.path.join(d, "io.max")).splitlines():
        device, *keys = line.split()
        limits[device] = dict(k.split("=") for k in keys)[v2key]
    return limits


@pytest.mark.mkrun_only
def test_update_resources_block_io_device_limits(rt, bundle):
    # runc 1.5 update.go: -r applies blockIO's per-device throttles (and weights), replacing the
    # limit of a device already listed.
    disk = a_disk()
    major, minor = map(int, disk.split(":"))
    cid, pid = started(rt, bundle)

    def update(**block_io):
        with tempfile.TemporaryFile() as stdin:
            stdin.write(json.dumps({"blockIO": block_io}).encode())
            stdin.seek(0)
            return rt("update", "-r", "-", cid, stdin=stdin)

    update(throttleReadBpsDevice=[{"major": major, "minor": minor, "rate": MiB}],
           throttleWriteIOPSDevice=[{"major": major, "minor": minor, "rate": 100}]).ok()
    assert throttles(pid, "blkio.throttle.read_bps_device", "rbps")[disk] == str(MiB)
    assert throttles(pid, "blkio.throttle.write_iops_device", "wiops")[disk] == "100"
    update(throttleReadBpsDevice=[{"major": major, "minor": minor, "rate": 2 * MiB}]).ok()
    assert throttles(pid, "blkio.throttle.read_bps_device", "rbps")[disk] == str(2 * MiB)
    assert throttles(pid, "blkio.throttle.write_iops_device", "wiops")[disk] == "100"
    with open(rt.root / cid / "config.json") as f:
        block_io = json.load(f)["linux"]["resources"]["blockIO"]
    assert block_io == {
        "throttleReadBpsDevice": [{"major": major, "minor": minor, "rate": 2 * MiB}],
        "throttleWriteIOPSDevice": [{"major": major, "minor": minor, "rate": 100}]}
    # The kernel refuses a device that is not a disk; the error names the file and the value.
    r = update(throttleReadBpsDevice=[{"major": 1, "minor": 3, "rate": MiB}]).fails(1)
    assert f"(value 1:3 {MiB})" in r.err or f"(value 1:3 rbps={MiB})" in r.err, r


@pytest.mark.mkrun_only
def test_update_is_kept_in_the_config_snapshot(rt, bundle):
    # mkrun's <root>/<id>/config.json is what later commands (exec, events) read.
    cid, _ = started(rt, limited_bundle(bundle))
    rt("update", "--memory", "96M", "--cpu-period", "200000", cid).ok()
    with open(rt.root / cid / "config.json") as f:
        resources = json.load(f)["linux"]["resources"]
    assert resources["memory"]["limit"] == 96 * MiB
    assert resources["cpu"] == {"quota": 50000, "period": 200000}
    assert resources["pids"] == {"limit": 100}
    assert resources["devices"], "the device rules stay"


# --------------------------------------------------------------------------------------------
# events

STATS_KEYS = {"cpu", "cpuset", "memory", "pids", "blkio", "hugetlb", "intel_rdt",
              "network_interfaces"}


@pytest.mark.parity
def test_events_stats(rt, bundle):
    cid, pid = started(rt, limited_bundle(bundle))
    r = rt("events", "--stats", cid).ok()
    assert r.out.endswith("\n") and r.out.count("\n") == 1 and r.err == ""
    event = json.loads(r.out)
    assert list(event) == ["type", "id", "data"]
    assert event["type"] == "stats" and event["id"] == cid
    data = event["data"]
    assert list(data) == ["cpu", "cpuset", "memory", "pids", "blkio", "hugetlb", "intel_rdt",
                          "network_interfaces"]
    assert data["intel_rdt"] == {} and data["network_interfaces"] is None
    usage = data["cpu"]["usage"]
    assert "kernel" in usage and "user" in usage
    assert usage.get("total", 0) > 0
    assert isinstance(data["cpu"]["throttling"], dict)
    memory = data["memory"]
    assert memory["usage"]["limit"] == 64 * MiB
    assert memory["usage"]["usage"] > 0 and "failcnt" in memory["usage"]
    assert {"usage", "swap", "kernel", "kernelTCP"} <= set(memory)
    assert isinstance(memory["raw"], dict) and memory["raw"]
    assert data["pids"]["current"] >= 1 and data["pids"]["limit"] == 100
    assert isinstance(data["blkio"], dict) and isinstance(data["hugetlb"], dict)
    cpuset = data["cpuset"]
    assert "cpu_exclusive" in cpuset and "sched_relax_domain_level" in cpuset
    if cgroup_controller_path(pid, "cpuset")[0] == "v1":
        assert cpuset["cpus"] and cpuset["mems"]


@pytest.mark.parity
def test_events_follows_update(rt, bundle):
    cid, _ = started(rt, limited_bundle(bundle))
    rt("update", "--memory", "96M", "--pids-limit", "50", cid).ok()
    data = json.loads(rt("events", "--stats", cid).ok().out)["data"]
    assert data["memory"]["usage"]["limit"] == 96 * MiB
    assert data["pids"]["limit"] == 50


@pytest.mark.parity
def test_events_errors(rt, bundle):
    rt("events", "--stats", "nonexistent").fails(1, "container does not exist")
    rt("events", "nonexistent").fails(1, "container does not exist")
    cid = stopped(rt, bundle)
    rt("events", "--stats", cid).fails(1, f"container with id {cid} is not running")
    rt("events", cid).fails(1, f"container with id {cid} is not running")
    rt("events", "--interval", "0s", cid).fails(1, "duration interval must be greater than 0")
    rt("events", "--interval", "abc", cid).fails(
        1, 'invalid value "abc" for flag -interval: parse error')


def event_lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f.read().splitlines() if line.strip()]


@pytest.mark.parity
def test_events_stream_stats_and_oom(rt, bundle, scratch):
    # The container waits for a signal file, then runs a child far larger than its memory limit
    # (swap included) and stays up after the kernel kills that child.
    bundle.resources()["memory"] = {"limit": 16 * MiB, "swap": 16 * MiB}
    go = bundle.rootfs / "tmp" / "go"
    cid, pid = started(rt, bundle, "sh", "-c",
                       "while [ ! -e /tmp/go ]; do sleep 0.05; done; "
                       "dd if=/dev/zero of=/dev/null bs=64M count=1; sleep 1000")
    out = scratch / "events.out"
    with open(out, "w") as f:
        p = subprocess.Popen([rt.binary, "--root", rt.root, "events", "--interval", "200ms", cid],
                             stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: len(event_lines(out)) >= 2, timeout=10, what="two stats events")
        t0 = time.monotonic()
        events = event_lines(out)
        assert all(e["type"] == "stats" and e["id"] == cid for e in events), events
        go.write_text("")
        wait_for(lambda: any(e["type"] == "oom" for e in event_lines(out)), timeout=10,
                 what="an oom event")
        oom = next(e for e in event_lines(out) if e["type"] == "oom")
        assert oom == {"type": "oom", "id": cid}
        assert time.monotonic() - t0 < 10
        # runc ends the stream once the cgroup is gone, mkrun already when the init exits.
        rt.kill(cid, "KILL").ok()
        rt.wait_exit(pid)
        rt.delete(cid).ok()
        assert p.wait(timeout=10) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


# --------------------------------------------------------------------------------------------
# exec

def pid_file_value(path):
    text = path.read_text()
    assert text.isdigit(), f"pid file {text!r}: bare digits, no newline"
    return int(text)


@pytest.mark.parity
def test_exec_output_and_status(rt, bundle):
    cid, _ = started(rt, bundle)
    r = rt("exec", cid, "echo", "hello", "from", "exec").ok()
    assert r.out == "hello from exec\n"
    assert rt("exec", cid, "sh", "-c", "exit 3").rc == 3
    assert rt("exec", cid, "false").rc == 1


@pytest.mark.parity
def test_exec_command_keeps_its_flags(rt, bundle):
    cid, _ = started(rt, bundle)
    # everything after the id belongs to the process, even what looks like exec's flags
    assert rt("exec", cid, "sh", "-c", "echo $0 $1", "-t", "--env").ok().out == "-t --env\n"


@pytest.mark.parity
def test_exec_env_cwd_user(rt, bundle):
    cid, _ = started(rt, bundle)
    r = rt("exec", "-e", "FOO=bar", "-e", "BAZ=qux", "--cwd", "/tmp", "-u", "1000:1001",
           cid, "sh", "-c", 'echo "$FOO $BAZ $(pwd) $(id -u):$(id -g)"').ok()
    assert r.out == "bar qux /tmp 1000:1001\n"
    # the container's own environment is kept, -e adds to it
    assert "PATH=" in rt("exec", cid, "env").ok().out
    assert rt("exec", "-u", "1000", cid, "id", "-g").ok().out == "0\n"


@pytest.mark.parity
def test_exec_additional_gids(rt, bundle):
    cid, _ = started(rt, bundle)
    out = rt("exec", "-g", "10", "-g", "20", cid, "sh", "-c",
             "grep ^Groups: /proc/self/status").ok().out
    assert out.split()[1:] == ["10", "20"], out


@pytest.mark.parity
def test_exec_detach_pid_file(rt, bundle):
    cid, pid = started(rt, bundle)
    pid_file = rt.workdir / "exec.pid"
    r = rt("exec", "-d", "--pid-file", pid_file, cid, "sleep", "999").ok()
    assert r.out == "" and r.err == ""
    exec_pid = pid_file_value(pid_file)
    rt.pids.add(exec_pid)
    assert alive(exec_pid)
    # runc may return while its process is still inside execve (cmdline empty for a moment)
    wait_for(lambda: "sleep 999" in open(f"/proc/{exec_pid}/cmdline", "rb").read()
             .replace(b"\0", b" ").decode(), what="the exec'd process runs sleep 999")
    # in the container's cgroup: ps lists it with the init
    pids = json.loads(rt("ps", "--format", "json", cid).ok().out)
    assert sorted(pids) == sorted([pid, exec_pid])
    lines = rt("ps", cid).ok().out.splitlines()
    assert sorted(int(line.split()[1]) for line in lines[1:]) == sorted([pid, exec_pid])
    os.kill(exec_pid, signal.SIGKILL)
    rt.wait_exit(exec_pid)


@pytest.mark.parity
def test_exec_process_file(rt, bundle, scratch):
    cid, _ = started(rt, bundle)
    process = {"args": ["sh", "-c", "echo $X; pwd"], "env": ["X=from-file", "PATH=/bin"],
               "cwd": "/tmp", "user": {"uid": 0, "gid": 0}}
    f = scratch / "process.json"
    f.write_text(json.dumps(process))
    # with -p the command-line settings are not used
    assert rt("exec", "-p", f, "-e", "X=flag", cid).ok().out == "from-file\n/tmp\n"


@pytest.mark.parity
def test_exec_tty_console_socket(rt, bundle, scratch):
    cid, _ = started(rt, bundle)
    console = ConsoleReceiver(scratch / "console.sock")
    try:
        pid_file = rt.workdir / "exec.pid"
        rt("exec", "-t", "-d", "--console-socket", console.path, "--pid-file", pid_file,
           cid, "sh", "-c", "tty; echo done").ok()
        exec_pid = pid_file_value(pid_file)
        rt.pids.add(exec_pid)
        assert console.got_fd.wait(5), "no pty master received"
        assert console.error is None, console.error
        assert len(console.fds) == 1
        assert console.done.wait(10), "exec output did not end"
        rt.wait_exit(exec_pid)
        lines = console.output.decode().replace("\r", "").splitlines()
        assert lines[-1] == "done" and lines[0].startswith("/dev/pts/"), lines
    finally:
        console.close()


@pytest.mark.parity
def test_exec_into_created_container(rt, bundle):
    cid = rt.create(bundle.set_args("sleep", "1000")).ok().cid
    assert rt("exec", cid, "echo", "early").ok().out == "early\n"
    assert rt.status(cid) == "created"


@pytest.mark.parity
def test_exec_errors(rt, bundle):
    rt("exec", "nonexistent", "true").fails(255, "exec failed: container does not exist")
    cid, _ = started(rt, bundle)
    rt("exec", cid).fails(255, "exec failed: process args cannot be empty")
    rt("exec", cid, "nonexistent-cmd").fails(255, "executable file not found in $PATH")
    rt("exec", "-u", "abc", cid, "true").fails(
        255, 'parsing abc as int for uid failed: strconv.Atoi: parsing "abc": invalid syntax')
    rt("exec", "-g", "-1", cid, "true").fails(255, "additional-gids must be a positive number -1")
    rt("exec", "--cgroup", "a:b:c", cid, "true").fails(255, "invalid --cgroup argument: a:b:c")
    rt("exec", "--cgroup", "a", "--cgroup", "b", cid, "true").fails(
        255, "invalid --cgroup argument: a (missing <controller>: prefix)")
    # runc 1.1.5's exec.bats: a path out of the container's cgroup
    rt("exec", "--cgroup", "..", cid, "true").fails(255, " .. is not a sub cgroup path")
    rt("exec", "--cgroup", "pids:../x", cid, "true").fails(255, " ../x is not a sub cgroup path")
    rt("exec", "--cgroup", "whaaat:/", cid, "true").fails(255, "unknown controller ")
    # "/" is the container's own cgroup
    assert rt("exec", "--cgroup", "/", cid, "cat", "/proc/self/cgroup").ok().out == \
        rt("exec", cid, "cat", "/proc/self/cgroup").ok().out
    # ... and a sub-cgroup that does not exist, for every controller or for one
    for sub in ("nonexistent", "pids:nonexistent"):
        r = rt("exec", "--cgroup", sub, cid, "true").fails(255, " adding pid ")
        assert "/nonexistent/cgroup.procs: no such file " in r.err, r
    rt("exec", "--console-socket", "/nonexistent.sock", cid, "true").fails(
        255, "cannot use console socket if")
    # a flag error is a usage error: exit 1
    rt("exec", "-g", "abc", cid, "true").fails(
        1, 'invalid value "abc" for flag -g: strconv.ParseInt: parsing "abc": invalid syntax')


@pytest.mark.parity
def test_exec_joins_one_sub_cgroup_in_every_hierarchy(rt, bundle):
    cid, pid = started(rt, bundle)
    hierarchies = [l.split(":", 2) for l in read_file(f"/proc/{pid}/cgroup").splitlines()]
    for _, controllers, _ in hierarchies:
        directory = cgroup_controller_path(pid, controllers.split(",")[0])[1]
        os.makedirs(os.path.join(directory, "s"), exist_ok=True)
        for name in ("cpuset.cpus", "cpuset.mems"):  # a new v1 cpuset starts empty: no tasks
            if os.path.exists(os.path.join(directory, name)):
                with open(os.path.join(directory, "s", name), "w") as f:
                    f.write(read_file(os.path.join(directory, name)))
    out = rt("exec", "--cgroup", "s", cid, "cat", "/proc/self/cgroup").ok().out
    assert sorted(out.splitlines()) == sorted(f"{h}:{c}:{p}/s" for h, c, p in hierarchies)


@pytest.mark.parity
def test_exec_joins_a_sub_cgroup_per_controller(rt, bundle):
    cid, pid = started(rt, bundle)
    memory = cgroup_controller_path(pid, "memory")[1]
    pids = cgroup_controller_path(pid, "pids")[1]
    os.mkdir(os.path.join(memory, "m"))
    os.mkdir(os.path.join(pids, "p"))
    out = rt("exec", "--cgroup", "memory:m", "--cgroup", "pids:p", cid,
             "cat", "/proc/self/cgroup").ok().out
    paths = {ctrl: path for _, ctrls, path in (l.split(":", 2) for l in out.splitlines())
             for ctrl in ctrls.split(",")}
    init = {ctrl: path for _, ctrls, path in
            (l.split(":", 2) for l in read_file(f"/proc/{pid}/cgroup").splitlines())
            for ctrl in ctrls.split(",")}
    assert paths["memory"] == init["memory"] + "/m" and paths["pids"] == init["pids"] + "/p", out
    assert paths["cpu"] == init["cpu"], out  # the other controllers: the container's own


@pytest.mark.parity
def test_exec_paused_container(rt, bundle):
    cid, _ = started(rt, bundle)
    rt("pause", cid).ok()
    try:
        rt("exec", cid, "true").fails(
            255, "exec failed: cannot exec in a paused container (use --ignore-paused to override)")
        # the state error comes before the flag values are read
        rt("exec", "-u", "abc", cid, "true").fails(255, "cannot exec in a paused container")
    finally:
        rt("resume", cid).ok()


@pytest.mark.parity
def test_exec_stopped_container(rt, bundle):
    cid = stopped(rt, bundle)
    rt("exec", cid, "true").fails(255, "exec failed: cannot exec in a stopped container")
    rt("exec", cid).fails(255, "cannot exec in a stopped container")


@pytest.mark.mkrun_only  # runc 1.5; runc 1.1 writes the period first and fails
def test_update_realtime_period_below_the_current_runtime(rt, bundle):
    # runc 1.5's "update rt period and runtime": a new period smaller than the current runtime
    # is refused by the kernel until the new runtime is in; both must end up written.
    if not os.path.exists("/sys/fs/cgroup/cpu/cpu.rt_runtime_us"):
        pytest.skip("no realtime group scheduling (CONFIG_RT_GROUP_SCHED) on cgroup v1")
    bundle.resources()["cpu"] = {"realtimePeriod": 1000000, "realtimeRuntime": 600001}
    cid, pid = started(rt, bundle)
    _, directory = cgroup_controller_path(pid, "cpu")

    def rt_values():
        return [read_file(os.path.join(directory, f)).strip()
                for f in ("cpu.rt_period_us", "cpu.rt_runtime_us")]

    assert rt_values() == ["1000000", "600001"]
    rt("update", "--cpu-rt-period", "10000", "--cpu-rt-runtime", "3000", cid).ok()
    assert rt_values() == ["10000", "3000"]
