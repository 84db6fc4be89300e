"""Container lifecycle: create/start/kill/delete/run, their exit codes and error messages."""
import json
import os
import signal
import subprocess

import pytest

from harness import alive, wait_for

pytestmark = pytest.mark.parity


def test_create_start_kill_delete(rt, bundle):
    bundle.set_args("sleep", "1000")
    cid = rt.create(bundle).ok().cid
    st = rt.state(cid)
    assert st["status"] == "created"
    pid = st["pid"]
    assert isinstance(pid, int) and pid > 0
    assert alive(pid), f"init {pid} of a created container must be alive"
    # the created container does not run the user program yet
    assert "sleep" not in open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")

    rt.start(cid).ok()
    st = rt.state(cid)
    assert st["status"] == "running" and st["pid"] == pid
    wait_for(lambda: b"sleep" in open(f"/proc/{pid}/cmdline", "rb").read(), what="exec of sleep")

    rt.kill(cid, "KILL").ok()
    assert rt.wait_exit(pid) in (-signal.SIGKILL, None)
    st = rt.state(cid)
    assert st["status"] == "stopped"
    assert st["pid"] == 0

    r = rt.delete(cid).ok()
    assert r.out == "" and r.err == ""
    rt.state_raw(cid).fails(1, "container does not exist")


def test_run_exit_code(rt, bundle):
    r = rt.run(bundle.sh("exit 7"))
    assert r.rc == 7, r
    rt.state_raw(r.cid).fails(1, "container does not exist")


def test_run_killed_by_signal(rt, bundle, scratch):
    # pid 1 of a pid namespace ignores SIGKILL sent from inside it, so kill it from outside.
    bundle.set_args("sleep", "1000")
    bundle.save()
    cid = rt.new_id()
    with open(scratch / "out", "wb") as out:
        p = subprocess.Popen([rt.binary, "--root", rt.root, "run", "--bundle", bundle.path, cid],
                             stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: rt("state", cid).rc == 0 and rt.status(cid) == "running", what="running")
        pid = rt.state(cid)["pid"]
        rt.kill(cid, "KILL").ok()
        assert p.wait(timeout=10) == 137
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    rt.state_raw(cid).fails(1, "container does not exist")
    assert not alive(pid)


def test_run_stdout(rt, bundle):
    r = rt.run(bundle.sh("echo hello; echo to-stderr >&2")).ok()
    assert r.out == "hello\n"
    assert r.err == "to-stderr\n"


def test_run_detach_pid_file(rt, bundle, scratch):
    pidfile = scratch / "pid"
    r = rt.run(bundle.set_args("sleep", "1000"), None, "--detach", "--pid-file", pidfile).ok()
    assert r.out == "" and r.err == ""
    raw = pidfile.read_bytes()
    assert raw.isdigit(), f"pid file must be bare digits, no newline: {raw!r}"
    st = rt.state(r.cid)
    assert st["status"] == "running"
    assert int(raw) == st["pid"]
    assert alive(st["pid"])


def test_run_detach_short_flag(rt, bundle):
    r = rt.run(bundle.set_args("sleep", "1000"), None, "-d").ok()
    assert rt.status(r.cid) == "running"


def test_create_pid_file(rt, bundle, scratch):
    pidfile = scratch / "sub" / ".." / "pid"
    (scratch / "sub").mkdir()
    r = rt.create(bundle.set_args("sleep", "1000"), None, "--pid-file", pidfile).ok()
    raw = (scratch / "pid").read_bytes()
    assert raw.isdigit(), f"pid file must be bare digits, no newline: {raw!r}"
    assert int(raw) == rt.state(r.cid)["pid"]
    assert sorted(os.listdir(scratch)) == ["pid", "sub"], "the pid file's temp file must be gone"


def test_delete_running_refused(rt, bundle):
    cid, pid = rt.started(bundle.set_args("sleep", "1000"))
    rt.delete(cid).fails(1, f"cannot delete container {cid} that is not stopped: running")
    assert rt.status(cid) == "running"
    assert alive(pid)


def test_delete_created_kills_init(rt, bundle):
    cid = rt.create(bundle.set_args("sleep", "1000")).ok().cid
    pid = rt.state(cid)["pid"]
    rt.delete(cid).ok()
    rt.wait_exit(pid, 10)
    rt.state_raw(cid).fails(1, "container does not exist")


def test_delete_force_running(rt, bundle):
    cid, pid = rt.started(bundle.set_args("sleep", "1000"))
    r = rt.delete(cid, "--force").ok()
    assert r.out == "" and r.err == ""
    rt.wait_exit(pid, 10)
    rt.state_raw(cid).fails(1, "container does not exist")


def test_delete_force_short_flag_after_id(rt, bundle):
    # urfave/cli reorders flags that follow positionals: `delete ID -f` works.
    cid, pid = rt.started(bundle.set_args("sleep", "1000"))
    rt("delete", cid, "-f").ok()
    rt.wait_exit(pid, 10)
    rt.state_raw(cid).fails(1, "container does not exist")


def test_delete_flag_after_id(rt, bundle):
    cid, pid = rt.started(bundle.set_args("sleep", "1000"))
    rt("delete", cid, "--force").ok()
    rt.wait_exit(pid, 10)
    rt.state_raw(cid).fails(1, "container does not exist")


def test_delete_unknown(rt):
    rt("delete", "no-such-container").fails(1, "container does not exist")


def test_delete_force_unknown(rt):
    r = rt("delete", "--force", "no-such-container")
    assert r.rc == 0 and r.out == "" and r.err == "", r


def test_start_twice(rt, bundle):
    cid, _ = rt.started(bundle.set_args("sleep", "1000"))
    rt.start(cid).fails(1, "cannot start an already running container")
    assert rt.status(cid) == "running"


def test_start_stopped(rt, bundle):
    cid, pid = rt.started(bundle.set_args("true"))
    assert rt.wait_exit(pid) in (0, None)
    assert rt.status(cid) == "stopped"
    rt.start(cid).fails(1, "cannot start a container that has stopped")


def test_start_unknown(rt):
    rt.start("no-such-container").fails(1, "container does not exist")


def test_kill_stopped(rt, bundle):
    cid, pid = rt.started(bundle.set_args("true"))
    rt.wait_exit(pid)
    rt.kill(cid, "KILL").fails(1, "container not running")
    r = rt("kill", "--all", cid, "KILL")
    assert r.rc == 0, r
    r = rt("kill", cid, "9", "--all")   # flags after positionals are accepted
    assert r.rc == 0, r


def test_kill_default_signal_is_term(rt, bundle):
    bundle.sh("trap 'echo TERM > /got; exit 3' TERM; echo > /ready; while :; do sleep 0.05; done")
    cid, pid = rt.started(bundle)
    wait_for(lambda: (bundle.rootfs / "ready").exists(), what="trap installed")
    rt.kill(cid).ok()
    assert rt.wait_exit(pid) in (3, None)
    assert (bundle.rootfs / "got").read_text() == "TERM\n"


def test_kill_signal_names(rt, bundle):
    bundle.sh("trap 'echo USR1 >> /log' USR1; echo > /ready; while :; do sleep 0.05; done")
    cid, pid = rt.started(bundle)
    log = bundle.rootfs / "log"
    wait_for(lambda: (bundle.rootfs / "ready").exists(), what="trap installed")
    for n, sig in enumerate(["SIGUSR1", "usr1", "10", "USR1", "SigUsr1"], start=1):
        rt.kill(cid, sig).ok()
        wait_for(lambda: log.exists() and log.read_text().count("USR1") == n, what=f"signal {sig}")
    assert alive(pid)


def test_kill_signal_zero(rt, bundle):
    # kill(2)'s null signal sends nothing; runc's kill.bats sends it with --all once stopped.
    cid, pid = rt.started(bundle.set_args("sleep", "1000"))
    rt.kill(cid, "0").ok()
    rt("kill", "--all", cid, "0").ok()
    assert alive(pid) and rt.status(cid) == "running"
    rt.kill(cid, "KILL").ok()
    rt.wait_exit(pid)
    wait_for(lambda: rt.status(cid) == "stopped", what="stopped")
    rt("kill", "-a", cid, "0").ok()
    rt.kill(cid, "0").fails(1, "container not running")
    rt.delete(cid).ok()


def test_kill_unknown_signal(rt, bundle):
    cid, _ = rt.started(bundle.set_args("sleep", "1000"))
    rt.kill(cid, "FOO").fails(1, 'unknown signal "FOO"')
    assert rt.status(cid) == "running"


def test_kill_unknown_container(rt):
    rt.kill("no-such-container", "KILL").fails(1, "container does not exist")


def test_kill_created_container(rt, bundle):
    cid = rt.create(bundle.set_args("sleep", "1000")).ok().cid
    pid = rt.state(cid)["pid"]
    rt.kill(cid, "KILL").ok()
    rt.wait_exit(pid)
    assert rt.status(cid) == "stopped"
    rt.delete(cid).ok()


def test_run_keep(rt, bundle):
    r = rt.run(bundle.sh("exit 0"), None, "--keep").ok()
    st = rt.state(r.cid)
    assert st["status"] == "stopped" and st["pid"] == 0
    assert r.cid in rt("list", "-q").ok().out.split()
    rt.delete(r.cid).ok()
    rt.state_raw(r.cid).fails(1, "container does not exist")


def test_run_without_keep_removes(rt, bundle):
    r = rt.run(bundle.set_args("true")).ok()
    assert rt("list", "-q").ok().out == ""
    rt.state_raw(r.cid).fails(1, "container does not exist")


def test_duplicate_id(rt, bundle):
    cid = rt.create(bundle.set_args("sleep", "1000")).ok().cid
    pid = rt.state(cid)["pid"]
    rt.create(bundle, cid).fails(1, "container with given ID already exists")
    st = rt.state(cid)
    assert st["status"] == "created" and st["pid"] == pid and alive(pid)


@pytest.mark.parametrize("bad", ["../x", "a/b", "..", "a b", "x:y"])
def test_invalid_id(rt, bundle, bad):
    bundle.save()
    rt("create", "--bundle", bundle.path, bad).fails(1, "invalid container ID format")
    assert not rt.root.exists() or os.listdir(rt.root) == []
    assert not (rt.workdir / "x").exists()


def test_state_unknown(rt):
    r = rt("state", "no-such-container").fails(1, "container does not exist")
    assert r.out == ""


def test_state_without_id(rt):
    r = rt("state")
    assert r.rc == 1, r


def test_start_of_dead_created_container_fails(rt, bundle):
    # init died before start (killed from outside): start must fail and not hang.
    cid = rt.create(bundle.set_args("sleep", "1000")).ok().cid
    pid = rt.state(cid)["pid"]
    os.kill(pid, signal.SIGKILL)
    rt.wait_exit(pid)
    assert rt.status(cid) == "stopped"
    r = rt.start(cid)
    assert r.rc == 1, r
    rt.delete(cid).ok()


def run_hello(rt, bundle, *global_flags):
    """`<rt> <global flags> run` of echo, in the foreground; its stdout must be only the echo."""
    bundle.set_args("echo", "hello").save()
    cid = rt.new_id()
    r = rt(*global_flags, "run", "--bundle", bundle.path, cid).ok()
    assert r.out == "hello\n", r
    return r


# The setup steps runc's debug log names and runc's debug.bats looks for.
RUNC_DEBUG_STEPS = ("nsexec container setup", "child process in init()",
                    "init: closing the pipe to signal completion")


def test_debug_logs_to_stderr(rt, bundle):
    r = run_hello(rt, bundle, "--debug")
    assert "level=debug" in r.err, r
    assert all(step in r.err for step in RUNC_DEBUG_STEPS), r


def test_debug_exec_names_runcs_setup_steps(rt, bundle):
    cid = rt.create(bundle.set_args("sleep", "1000")).ok().cid
    r = rt("--debug", "exec", cid, "true").ok()
    for step in ("nsexec container setup", "child process in init()", "setns_init: about to exec"):
        assert step in r.err, r
    rt.delete(cid, "--force").ok()


def test_no_debug_lines_without_debug(rt, bundle, scratch):
    log = scratch / "log.out"
    r = run_hello(rt, bundle, "--log", log)
    assert "level=debug" not in r.err + log.read_text(), r


@pytest.mark.parametrize("log_format", ["default", "text", "json"])
def test_debug_logs_to_the_log_file(rt, bundle, scratch, log_format):
    # runc's debug.bats: with --log the debug lines go to the file only, in its format.
    log = scratch / "log.out"
    flags = ["--log", log] + ([] if log_format == "default" else ["--log-format", log_format])
    r = run_hello(rt, bundle, *flags, "--debug")
    assert r.err == "", r
    lines = log.read_text().splitlines()
    if log_format == "json":
        assert any(json.loads(line)["level"] == "debug" for line in lines), lines
        # runc adds its Go caller ("func", "file") to every line under --debug; mkrun does not.
        assert all({"level", "msg", "time"} <= set(json.loads(line)) for line in lines), lines
    else:
        assert any(" level=debug msg=" in line for line in lines), lines
    assert all(step in "\n".join(lines) for step in RUNC_DEBUG_STEPS), lines
