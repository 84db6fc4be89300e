"""Console socket, --preserve-fds, and that nothing else leaks into the container."""
import os
import re
import subprocess
import tempfile

import pytest

from harness import ConsoleReceiver, assert_nothing_left, on_a_terminal, wait_for

pytestmark = pytest.mark.parity


@pytest.fixture
def console(scratch):
    rcv = ConsoleReceiver(scratch / "console.sock")
    yield rcv
    rcv.close()


def test_console_socket(rt, bundle, console):
    bundle.process["terminal"] = True
    bundle.process["consoleSize"] = {"height": 40, "width": 132}
    bundle.sh("tty; stty size; echo done")
    cid = rt.create(bundle, None, "--console-socket", console.path).ok().cid
    # the master was sent before create returned
    assert console.got_fd.wait(5), "no pty master received"
    assert console.error is None, console.error
    assert len(console.fds) == 1, f"exactly one fd expected, got {console.fds}"
    assert 0 < len(console.msg) < 4096
    assert console.extra == b""
    pid = rt.state(cid)["pid"]
    rt.start(cid).ok()
    assert console.done.wait(10), "container output did not end"
    assert rt.wait_exit(pid) in (0, None)
    lines = console.output.decode().replace("\r", "").splitlines()
    assert lines == ["/dev/pts/0", "40 132", "done"], console.output
    rt.delete(cid).ok()


def test_console_socket_run_detach(rt, bundle, console):
    bundle.process["terminal"] = True
    bundle.sh("tty; read line; echo got:$line")
    r = rt.run(bundle, None, "-d", "--console-socket", console.path).ok()
    assert console.got_fd.wait(5)
    assert console.master is not None, console.fds
    os.write(console.master, b"typed\n")
    assert console.done.wait(10)
    text = console.output.decode().replace("\r", "")
    assert "/dev/pts/0\n" in text and "got:typed\n" in text, text
    wait_for(lambda: rt.status(r.cid) == "stopped", what="stopped")


def terminal_bundle(bundle, script: str):
    bundle.process["terminal"] = True
    bundle.sh(script)
    return bundle.save()


def test_run_terminal_with_stdin_not_a_terminal(rt, bundle):
    # runc's tty.bats: the pty is proxied from whichever of stdio is a terminal.
    terminal_bundle(bundle, "test -t 0 && tty")
    r = on_a_terminal(rt, "run", "--bundle", bundle.path, rt.new_id())
    assert (r.rc, r.out) == (0, b"/dev/pts/0\n"), r


def test_run_terminal_without_any_terminal_fails(rt, bundle):
    terminal_bundle(bundle, "true")
    cid = rt.new_id()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.run([rt.binary, "--root", str(rt.root), "run", "--bundle",
                               str(bundle.path), cid], stdin=subprocess.DEVNULL, stdout=err,
                              stderr=err, start_new_session=True, timeout=30)
        err.seek(0)
        text = err.read().decode()
    assert proc.returncode == 1, text
    assert "open /dev/tty: no such device or address" in text
    assert_nothing_left(rt, cid, bundle)


def test_proxied_terminal_sends_plain_newlines(rt, bundle):
    # The pty the runtime proxies itself has ONLCR off: lines end in "\n", not "\r\n".
    terminal_bundle(bundle, "stty -a")
    r = on_a_terminal(rt, "run", "--bundle", bundle.path, rt.new_id())
    assert r.rc == 0, r
    assert "-onlcr" in r.out.decode().split(), r
    assert b"\r" not in r.out


def test_proxied_terminal_output_on_a_terminal(rt, bundle):
    # The runtime's own terminal stays in charge of output: one "\r\n" a line, not two, not none.
    terminal_bundle(bundle, "echo a; echo b")
    r = on_a_terminal(rt, "run", "--bundle", bundle.path, rt.new_id(), stdout_on_terminal=True)
    assert (r.rc, r.terminal) == (0, b"a\r\nb\r\n"), r


def test_terminal_belongs_to_the_process_user(rt, bundle, console):
    bundle.process["user"] = {"uid": 1000, "gid": 100}
    terminal_bundle(bundle, "stat -c %u:%g $(tty)")
    rt.run(bundle, None, "-d", "--console-socket", console.path).ok()
    assert console.done.wait(10), "container output did not end"
    # devpts's group (the spec's gid=5 mount option) stays; a pty sent away keeps ONLCR
    assert console.output == b"1000:5\r\n"


def test_exec_terminal_belongs_to_the_exec_user(rt, bundle, console):
    cid, _ = rt.started(bundle.set_args("sleep", "1000"))
    pid_file = rt.workdir / "exec.pid"
    rt("exec", "-t", "-d", "--console-socket", console.path, "--pid-file", pid_file,
       "--user", "1000:100", cid, "sh", "-c", "stat -c %u:%g $(tty)").ok()
    rt.wait_exit(int(pid_file.read_text()))
    assert console.done.wait(10), "exec output did not end"
    assert console.output == b"1000:5\r\n"


def test_terminal_create_without_console_socket(rt, bundle):
    bundle.process["terminal"] = True
    r = rt.create(bundle)
    r.fails(1, "console")


def test_console_socket_without_terminal(rt, bundle, console):
    bundle.process["terminal"] = False
    r = rt.create(bundle, None, "--console-socket", console.path)
    r.fails(1, "console")


def fd_listing(text):
    """`ls -l /proc/self/fd` -> {fd: target}, without the directory fd ls itself opened."""
    fds = {}
    for line in text.splitlines():
        m = re.search(r"\s(\d+) -> (.*)$", line)
        if m and not re.fullmatch(r"/proc/(self|\d+)/fd", m.group(2)):
            fds[int(m.group(1))] = m.group(2)
    return fds


def test_no_fd_leaks(rt, bundle, scratch):
    # the runtime is handed an extra fd 5 and must not pass it on
    extra = scratch / "extra"
    extra.write_text("x")
    bundle.set_args("ls", "-l", "/proc/self/fd")
    bundle.save()
    cid = rt.new_id()
    r = rt("run", "--bundle", bundle.path, cid, fds={5: extra}).ok()
    fds = fd_listing(r.out)
    assert sorted(fds) == [0, 1, 2], r.out


def test_no_fd_leaks_create_start(rt, bundle, scratch):
    extra = scratch / "extra"
    extra.write_text("x")
    bundle.sh("ls -l /proc/self/fd > /fds")
    bundle.save()
    cid = rt.new_id()
    rt("create", "--bundle", bundle.path, cid, fds={7: extra}).ok()
    pid = rt.state(cid)["pid"]
    rt.start(cid).ok()
    rt.wait_exit(pid)
    fds = fd_listing((bundle.rootfs / "fds").read_text())
    assert sorted(fds) == [0, 1, 2], fds


def test_preserve_fds(rt, bundle, scratch):
    (scratch / "three").write_text("three\n")
    (scratch / "four").write_text("four\n")
    bundle.sh("cat <&3; cat <&4; ls -l /proc/self/fd")
    bundle.save()
    cid = rt.new_id()
    r = rt("run", "--preserve-fds", "2", "--bundle", bundle.path, cid,
           fds={3: scratch / "three", 4: scratch / "four", 5: scratch / "three"}).ok()
    head, listing = r.out.split("\n", 2)[:2], r.out.split("\n", 2)[2]
    assert head == ["three", "four"]
    fds = fd_listing(listing)
    assert sorted(fds) == [0, 1, 2, 3, 4], r.out


def test_listen_fds_ignored_when_pid_does_not_match(rt, bundle, scratch):
    (scratch / "three").write_text("three\n")
    bundle.set_args("sh", "-c", "env | grep LISTEN_ || true; ls -l /proc/self/fd")
    bundle.save()
    cid = rt.new_id()
    env = dict(os.environ, LISTEN_FDS="1", LISTEN_PID="1")
    r = rt("run", "--bundle", bundle.path, cid, fds={3: scratch / "three"}, env=env).ok()
    assert "LISTEN_" not in r.out
    assert sorted(fd_listing(r.out)) == [0, 1, 2]


def test_detached_stdio_is_passed_as_is(rt, bundle):
    # create hands the caller's own stdio to the container (a shim relies on it): no pipes
    bundle.sh("for i in 0 1 2; do readlink /proc/self/fd/$i; done > /fds")
    cid, pid = rt.started(bundle)
    rt.wait_exit(pid)
    fd0, fd1, fd2 = (bundle.rootfs / "fds").read_text().splitlines()
    assert fd0 == "/dev/null"
    assert not fd1.startswith("pipe:") and not fd2.startswith("pipe:"), (fd1, fd2)


def test_foreground_run_output(rt, bundle):
    # runc proxies a foreground container's stdio through pipes; either way the bytes arrive
    r = rt.run(bundle.sh("echo out; echo err >&2; head -c 100000 /dev/zero | tr '\\0' y")).ok()
    assert r.out == "out\n" + "y" * 100000
    assert r.err == "err\n"
