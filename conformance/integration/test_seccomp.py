"""linux.seccomp with SCMP_ACT_NOTIFY: the runtime hands the filter's listener fd, with the
container's state, to the agent listening on linux.seccomp.listenerPath (runtime-spec
config-linux.md, "seccomp"; runc 1.1's sendContainerProcessState).

The agent here is a thread of the test: it accepts one connection per container process,
receives the state JSON and the listener fd (SCM_RIGHTS), and answers the notified syscalls
through SECCOMP_IOCTL_NOTIF_RECV/SEND.
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import select
import socket
import struct
import threading

import pytest

# <linux/seccomp.h>: struct seccomp_notif is 80 bytes, struct seccomp_notif_resp 24.
SECCOMP_IOCTL_NOTIF_RECV = 0xC0502100
SECCOMP_IOCTL_NOTIF_SEND = 0xC0182101
SECCOMP_USER_NOTIF_FLAG_CONTINUE = 1
NOTIF_SIZE = 80
MKDIR_SYSCALLS = {83, 258}  # x86_64 mkdir, mkdirat

NOTIFY_MKDIR = [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]

pytestmark = pytest.mark.skipif(os.uname().machine != "x86_64",
                                reason="the agent decodes x86_64 syscall numbers")


class Agent:
    """A seccomp agent: for each connection, the state and the listener fd it received, and
    the syscalls it answered. mkdir fails with `answer_errno`; everything else continues."""

    def __init__(self, path, answer_errno=errno.ENOMEDIUM, serve=True):
        self.path = str(path)
        self.answer_errno = answer_errno
        self.serve = serve
        self.received = []  # (state dict, number of fds)
        self.answered = []  # syscall numbers
        self.errors = []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(8)
        self.stop_r, self.stop_w = os.pipe()
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    def close(self):
        os.write(self.stop_w, b"x")
        self.thread.join(10)
        self.server.close()
        os.close(self.stop_r)
        os.close(self.stop_w)
        assert not self.errors, self.errors

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _accept_loop(self):
        listeners = []
        try:
            while True:
                ready, _, _ = select.select([self.server, self.stop_r, *listeners], [], [])
                if self.stop_r in ready:
                    return
                if self.server in ready:
                    listener = self._receive()
                    if listener is not None:
                        listeners.append(listener)
                for fd in [fd for fd in listeners if fd in ready]:
                    if not self._answer(fd):
                        listeners.remove(fd)
                        os.close(fd)
        except Exception as e:  # reported by close()
            self.errors.append(repr(e))
        finally:
            for fd in listeners:
                os.close(fd)

    def _receive(self):
        conn, _ = self.server.accept()
        with conn:
            data, fds, _, _ = socket.recv_fds(conn, 65536, 4)
        self.received.append((json.loads(data), len(fds)))
        for extra in fds[1:]:
            os.close(extra)
        if not fds:
            return None
        if not self.serve:  # the agent goes away: notified syscalls fail with ENOSYS
            os.close(fds[0])
            return None
        return fds[0]

    def _answer(self, fd):
        notif = ctypes.create_string_buffer(NOTIF_SIZE)
        try:
            fcntl.ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, notif)
        except OSError as e:
            return e.errno in (errno.EINTR, errno.ENOENT)  # ENOENT: the caller was killed
        notif_id, _pid, _flags, nr = struct.unpack_from("=QIIi", notif.raw)
        self.answered.append(nr)
        if nr in MKDIR_SYSCALLS:
            resp = struct.pack("=QqiI", notif_id, 0, -self.answer_errno, 0)
        else:
            resp = struct.pack("=QqiI", notif_id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE)
        try:
            fcntl.ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, bytearray(resp))
        except OSError as e:
            if e.errno != errno.ENOENT:
                raise
        return True


def notify_seccomp(bundle, listener_path, syscalls=None, metadata="meta", nnp=False):
    bundle.process["noNewPrivileges"] = nnp
    bundle.linux["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": str(listener_path),
        "listenerMetadata": metadata,
        "architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_X86_64"],
        "syscalls": NOTIFY_MKDIR if syscalls is None else syscalls,
    }
    return bundle


def check_process_state(message, cid, bundle, pid, status, init_pid):
    state, nfds = message
    assert nfds == 1
    assert state["fds"] == ["seccompFd"]
    assert state["pid"] == pid
    assert state["metadata"] == "meta"
    inner = state["state"]
    assert state["ociVersion"] and state["ociVersion"] == inner["ociVersion"]
    assert inner["id"] == cid
    assert inner["status"] == status
    assert inner["pid"] == init_pid
    assert inner["bundle"] == str(bundle.path)
    assert inner["annotations"] == {"org.example.seccomp": "agent"}


@pytest.mark.parity
@pytest.mark.parametrize("nnp", [False, True], ids=["privileged", "no-new-privileges"])
def test_notify_hands_listener_and_state_to_agent(rt, bundle, scratch, nnp):
    bundle.config["annotations"] = {"org.example.seccomp": "agent"}
    notify_seccomp(bundle, scratch / "agent.sock", nnp=nnp)
    bundle.sh("mkdir /tmp/made; echo mkdir=$?; test -d /tmp/made || echo absent")
    with Agent(scratch / "agent.sock") as agent:
        cid = rt.create(bundle).ok().cid
        init_pid = rt.state(cid)["pid"]
        # create returns once the agent has the listener.
        assert len(agent.received) == 1
        check_process_state(agent.received[0], cid, bundle, init_pid, "creating", init_pid)
        rt.start(cid).ok()
        assert rt.wait_exit(init_pid) == 0
    assert set(agent.answered) & MKDIR_SYSCALLS


@pytest.mark.parity
def test_notified_syscall_gets_the_agents_answer(rt, bundle, scratch):
    notify_seccomp(bundle, scratch / "agent.sock")
    bundle.sh("mkdir /tmp/made")
    with Agent(scratch / "agent.sock"):
        r = rt.run(bundle)
    assert r.rc == 1, r
    assert "No medium found" in r.out + r.err, r


@pytest.mark.parity
def test_notified_syscall_fails_with_enosys_without_agent(rt, bundle, scratch):
    notify_seccomp(bundle, scratch / "agent.sock")
    bundle.sh("mkdir /tmp/made")
    with Agent(scratch / "agent.sock", serve=False) as agent:
        r = rt.run(bundle)
        assert len(agent.received) == 1
    assert r.rc == 1, r
    assert "Function not implemented" in r.out + r.err, r


@pytest.mark.parity
@pytest.mark.parametrize("nnp", [False, True], ids=["privileged", "no-new-privileges"])
def test_exec_hands_its_own_listener_to_agent(rt, bundle, scratch, nnp):
    bundle.config["annotations"] = {"org.example.seccomp": "agent"}
    notify_seccomp(bundle, scratch / "agent.sock", nnp=nnp)
    bundle.set_args("sleep", "100")
    with Agent(scratch / "agent.sock") as agent:
        cid, init_pid = rt.started(bundle)
        pid_file = scratch / "exec.pid"
        r = rt("exec", "--pid-file", pid_file, cid, "sh", "-c",
               "mkdir /tmp/x 2>&1; echo rc=$?")
        assert r.rc == 0, r
        assert "No medium found" in r.out and "rc=1" in r.out, r
        assert len(agent.received) == 2
        exec_pid = int(pid_file.read_text())
        check_process_state(agent.received[1], cid, bundle, exec_pid, "running", init_pid)
        rt.kill(cid, "KILL").ok()
        rt.wait_exit(init_pid)


@pytest.mark.parity
def test_notify_with_important_syscalls_runs(rt, bundle, scratch):
    """The agent continues the syscalls the runtime itself makes after loading the filter."""
    notify_seccomp(bundle, scratch / "agent.sock", syscalls=[
        {"names": ["execve", "openat", "open", "read", "close"], "action": "SCMP_ACT_NOTIFY"}])
    bundle.set_args("/bin/true")
    with Agent(scratch / "agent.sock"):
        rt.run(bundle).ok()


@pytest.mark.parity
def test_listener_path_is_ignored_without_notify(rt, bundle, scratch):
    notify_seccomp(bundle, scratch / "nobody.sock", syscalls=[])
    bundle.set_args("/bin/true")
    rt.run(bundle).ok()


@pytest.mark.parity
def test_notify_without_listener_path_fails(rt, bundle):
    notify_seccomp(bundle, "")
    bundle.set_args("/bin/true")
    rt.run(bundle).fails(1, "listenerPath is not set")


@pytest.mark.parity
def test_notify_without_agent_fails(rt, bundle, scratch):
    notify_seccomp(bundle, scratch / "nobody.sock")
    bundle.set_args("/bin/true")
    rt.run(bundle).fails(1, "failed to connect with seccomp agent specified in the seccomp profile")


@pytest.mark.parity
def test_notify_on_write_is_refused(rt, bundle, scratch):
    notify_seccomp(bundle, scratch / "agent.sock",
                   syscalls=[{"names": ["write"], "action": "SCMP_ACT_NOTIFY"}])
    bundle.set_args("/bin/true")
    with Agent(scratch / "agent.sock"):
        rt.run(bundle).fails(1, "SCMP_ACT_NOTIFY cannot be used for the write syscall")


@pytest.mark.parity
def test_notify_as_default_action_is_refused(rt, bundle, scratch):
    notify_seccomp(bundle, scratch / "agent.sock", syscalls=[])
    bundle.linux["seccomp"]["defaultAction"] = "SCMP_ACT_NOTIFY"
    bundle.set_args("/bin/true")
    with Agent(scratch / "agent.sock"):
        rt.run(bundle).fails(1, "SCMP_ACT_NOTIFY cannot be used as default action")


@pytest.mark.parity
def test_features_list_notify(rt):
    features = json.loads(rt.raw("features").ok().out)
    assert "SCMP_ACT_NOTIFY" in features["linux"]["seccomp"]["actions"]


@pytest.mark.parity
def test_start_container_hook_gets_no_listener(rt, bundle, scratch):
    notify_seccomp(bundle, scratch / "agent.sock")
    bundle.set_args("/bin/true")
    bundle.add_hook("startContainer", "/bin/sh",
                    ["sh", "-c", "ls /proc/self/fd > /hook-fds"])
    with Agent(scratch / "agent.sock"):
        rt.run(bundle).ok()
    # stdin (the state), stdout, stderr, and the directory ls reads.
    assert (bundle.rootfs / "hook-fds").read_text().split() == ["0", "1", "2", "3"]


# runc 1.5 (seccomp.bats "SECCOMP_FILTER_FLAG_*", seccomp-notify.bats): no flags at all means
# SPEC_ALLOW, an empty list none; the flags a filter is loaded with are in the debug log.
@pytest.mark.mkrun_only
@pytest.mark.parametrize("flags, value", [
    (None, 4), ([], 0), (["SECCOMP_FILTER_FLAG_TSYNC"], 0), (["SECCOMP_FILTER_FLAG_LOG"], 2),
    (["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"], 6)],
    ids=["absent", "empty", "tsync", "log", "log+spec-allow"])
def test_seccomp_filter_flags(rt, bundle, flags, value):
    bundle.linux["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}
    if flags is not None:
        bundle.linux["seccomp"]["flags"] = flags
    bundle.save()
    r = rt("--debug", "run", "--bundle", str(bundle.path), rt.new_id("flags"))
    assert f'msg="seccomp filter flags: {value}"' in r.err, r


@pytest.mark.mkrun_only
def test_a_listener_waits_killable_with_wait_killable_recv(rt, bundle, scratch):
    notify_seccomp(bundle, scratch / "agent.sock")
    bundle.linux["seccomp"]["flags"] = ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]
    bundle.sh("mkdir /tmp/made")
    with Agent(scratch / "agent.sock"):
        r = rt("--debug", "run", "--bundle", str(bundle.save().path), rt.new_id("killable"))
    assert 'msg="seccomp filter flags: 40"' in r.err, r  # NEW_LISTENER 8 + WAIT_KILLABLE_RECV 32
    assert "No medium found" in r.out + r.err, r
