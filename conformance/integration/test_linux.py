"""Linux plumbing around the container: the loopback of a new network namespace, linux.netDevices,
user namespaces (id maps as root and rootless, device nodes), NOTIFY_SOCKET, LISTEN_FDS and
idmapped mounts.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from harness import assert_nothing_left, wait_for

NOBODY = 65534
IFF_UP = 0x1


# --------------------------------------------------------------------------------------------
# helpers

def run_quietly(*argv: str) -> None:
    subprocess.run(list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def with_user_namespace(bundle, host_id: int = 100000, size: int = 65536):
    bundle.linux["namespaces"].append({"type": "user"})
    bundle.linux["uidMappings"] = [{"containerID": 0, "hostID": host_id, "size": size}]
    bundle.linux["gidMappings"] = [{"containerID": 0, "hostID": host_id, "size": size}]
    return bundle


def mount_points(mountinfo: str) -> list[str]:
    return [line.split()[4] for line in mountinfo.splitlines() if len(line.split()) > 4]


def fd_numbers(listing: str) -> list[int]:
    """`ls -l /proc/self/fd` -> fd numbers, without the directory fd ls itself opened."""
    fds = []
    for line in listing.splitlines():
        m = re.search(r"\s(\d+) -> (.*)$", line)
        if m and not re.fullmatch(r"/proc/(self|\d+)/fd", m.group(2)):
            fds.append(int(m.group(1)))
    return sorted(fds)


@pytest.fixture
def netns():
    """A named network namespace (/run/netns/<name>), deleted at the end."""
    name = f"mkrun-{secrets.token_hex(4)}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    yield name
    run_quietly("ip", "netns", "del", name)


@pytest.fixture
def veth():
    """A veth pair on the host; yields the end to move. Deleting either end deletes both, and a
    moved end dies with the container's network namespace."""
    name = f"mkv{secrets.token_hex(3)}"
    subprocess.run(["ip", "link", "add", name, "type", "veth", "peer", "name", name + "p"],
                   check=True)
    yield name
    run_quietly("ip", "link", "del", name + "p")
    run_quietly("ip", "link", "del", name)


def link_exists(name: str) -> bool:
    return os.path.exists(f"/sys/class/net/{name}")


# --------------------------------------------------------------------------------------------
# loopback

@pytest.mark.parity
def test_loopback_is_up_in_a_new_network_namespace(rt, bundle):
    flags = int(rt.output(bundle, "cat", "/sys/class/net/lo/flags"), 16)
    assert flags & IFF_UP


@pytest.mark.parity
def test_loopback_of_a_joined_network_namespace_is_left_alone(rt, bundle, netns):
    # Its owner set it up (or not); runc only brings up the loopback of a namespace it made.
    for ns in bundle.linux["namespaces"]:
        if ns["type"] == "network":
            ns["path"] = f"/run/netns/{netns}"
    flags = int(rt.output(bundle, "cat", "/sys/class/net/lo/flags"), 16)
    assert not flags & IFF_UP


# --------------------------------------------------------------------------------------------
# linux.netDevices (runc 1.3; runc 1.1 ignores the field)

@pytest.mark.mkrun_only
def test_net_device_is_moved_renamed_and_keeps_its_address(rt, bundle, veth):
    subprocess.run(["ip", "addr", "add", "10.213.90.1/24", "dev", veth], check=True)
    subprocess.run(["ip", "link", "set", veth, "mtu", "1400"], check=True)
    bundle.linux["netDevices"] = {veth: {"name": "ctr0"}}
    out = rt.output(bundle, "sh", "-c",
                    "cat /sys/class/net/ctr0/mtu /sys/class/net/ctr0/flags; ip addr show dev ctr0")
    mtu, flags, addresses = out.split("\n", 2)
    assert mtu == "1400"
    assert int(flags, 16) & IFF_UP
    assert "inet 10.213.90.1/24" in addresses, out
    # The container's network namespace is gone, and a virtual device with it (both ends).
    wait_for(lambda: not link_exists(veth + "p"), what=f"{veth} pair to disappear")


@pytest.mark.mkrun_only
def test_net_device_keeps_its_name_when_none_is_given(rt, bundle, veth):
    bundle.linux["netDevices"] = {veth: {}}
    assert rt.output(bundle, "cat", f"/sys/class/net/{veth}/ifindex").strip().isdigit()


@pytest.mark.mkrun_only
def test_net_device_in_a_joined_namespace_stays_there_after_delete(rt, bundle, veth, netns):
    # runc: the network namespace's owner controls the interface's lifecycle.
    for ns in bundle.linux["namespaces"]:
        if ns["type"] == "network":
            ns["path"] = f"/run/netns/{netns}"
    bundle.linux["netDevices"] = {veth: {"name": "ctr0"}}
    rt.output(bundle, "true")
    assert not link_exists(veth)
    r = subprocess.run(["ip", "-n", netns, "link", "show", "dev", "ctr0"], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr


@pytest.mark.mkrun_only
def test_missing_net_device_fails_create_and_leaves_nothing(rt, bundle):
    bundle.linux["netDevices"] = {"mkrunnosuchdev": {"name": "ctr0"}}
    r = rt.create(bundle)
    r.fails(msg="mkrunnosuchdev")
    assert_nothing_left(rt, r.cid, bundle)


@pytest.mark.mkrun_only
def test_net_devices_need_a_private_network_namespace(rt, bundle, veth):
    bundle.linux["namespaces"] = [ns for ns in bundle.linux["namespaces"]
                                  if ns["type"] != "network"]
    bundle.linux["netDevices"] = {veth: {}}
    r = rt.create(bundle)
    r.fails(msg="unable to move network devices without a private NET namespace")
    assert link_exists(veth)


# --------------------------------------------------------------------------------------------
# user namespaces

@pytest.mark.parity
def test_user_namespace_maps_are_written_and_groups_allowed(rt, bundle):
    with_user_namespace(bundle)
    out = rt.output(bundle, "cat", "/proc/self/uid_map", "/proc/self/gid_map",
                    "/proc/self/setgroups")
    uid_map, gid_map, setgroups = out.splitlines()
    assert uid_map.split() == ["0", "100000", "65536"]
    assert gid_map.split() == ["0", "100000", "65536"]
    assert setgroups == "allow"


@pytest.mark.parity
def test_devices_are_bind_mounted_in_a_user_namespace(rt, bundle):
    # mknod is refused there: the host's nodes are bind-mounted instead, and work.
    with_user_namespace(bundle)
    out = rt.output(bundle, "sh", "-c",
                    "cat /proc/self/mountinfo; echo ---; echo x > /dev/null && "
                    "head -c 4 /dev/zero | wc -c; stat -c %t,%T /dev/null")
    mountinfo, checks = out.split("---\n")
    points = mount_points(mountinfo)
    for device in ("null", "zero", "full", "random", "urandom", "tty"):
        assert f"/dev/{device}" in points, mountinfo
    assert checks.split() == ["4", "1,3"]


@pytest.mark.parity
def test_devices_are_made_without_a_user_namespace(rt, bundle):
    out = rt.output(bundle, "sh", "-c",
                    "cat /proc/self/mountinfo; echo ---; stat -c %t,%T /dev/null")
    mountinfo, device = out.split("---\n")
    assert "/dev/null" not in mount_points(mountinfo)
    assert device.strip() == "1,3"


@pytest.mark.parity
def test_a_fifo_device_with_a_major_and_minor_is_made(rt, bundle):
    # mknod ignores a fifo's device number; runc accepts one in linux.devices (runc 1.1.5's
    # dev.bats), and the container gets a fifo at the path.
    bundle.linux["devices"] = [{"type": "p", "path": "/dev/myfifo", "major": 1, "minor": 2,
                                "fileMode": 0o640, "uid": 0, "gid": 0}]
    out = rt.output(bundle, "stat", "-c", "%F %a", "/dev/myfifo")
    assert out.strip() == "fifo 640"


@pytest.mark.mkrun_only  # runc 1.1 wants maps in the config even then ("no uid mappings found")
def test_a_container_joins_another_containers_user_namespace(rt, bundle, make_bundle):
    # runc 1.5's "userns join other container userns": the second container has no maps of its
    # own, sets itself up as root of the joined namespace, and runs there.
    with_user_namespace(bundle)
    target, target_pid = rt.started(bundle.set_args("sleep", "1000"))
    joiner = make_bundle("joiner")
    joiner.linux["namespaces"].append({"type": "user", "path": f"/proc/{target_pid}/ns/user"})
    out = rt.output(joiner.set_args("sh", "-c", "cat /proc/self/uid_map; id -u; ls /dev/pts"))
    assert out.splitlines()[0].split() == ["0", "100000", "65536"], out
    assert out.splitlines()[1] == "0", out
    rt.delete(target, "--force").ok()
    rt.wait_exit(target_pid)


@pytest.mark.mkrun_only  # runc 1.5's "userns join external namespaces [wrong userns owner]"
def test_a_joined_user_namespace_with_a_network_namespace_it_does_not_own(
        rt, bundle, make_bundle, netns):
    # The host's network namespace (a named one here) is not the joined user namespace's: it
    # can be joined only before that one, with the host's privileges.
    with_user_namespace(bundle)
    target, target_pid = rt.started(bundle.set_args("sleep", "1000"))
    joiner = make_bundle("joiner")
    namespaces = [ns for ns in joiner.linux["namespaces"] if ns["type"] != "network"]
    joiner.linux["namespaces"] = namespaces + [
        {"type": "user", "path": f"/proc/{target_pid}/ns/user"},
        {"type": "network", "path": f"/run/netns/{netns}"}]
    # No sysfs of its own without rights in that network namespace: the host's, bound.
    for mount in joiner.config["mounts"]:
        if mount["destination"] == "/sys":
            mount.update(type="bind", source="/sys",
                         options=["rbind", "nosuid", "noexec", "nodev", "ro"])
    out = rt.output(joiner.set_args("sh", "-c", "id -u; readlink /proc/self/ns/net"))
    assert out.split()[0] == "0", out
    assert out.split()[1] == f"net:[{os.stat(f'/run/netns/{netns}').st_ino}]", out
    rt.delete(target, "--force").ok()
    rt.wait_exit(target_pid)


@pytest.mark.parity
def test_bind_source_the_user_namespace_cannot_reach(rt, bundle, scratch):
    # Host root's 0700 directory: the container's root (host uid 100000) may not walk into it,
    # the runtime must still bind what is inside (the state dir's notify/ is such a source).
    hidden = scratch / "hidden"
    hidden.mkdir(mode=0o700)
    (hidden / "shared").mkdir(mode=0o755)
    (hidden / "shared" / "file").write_text("reached\n")
    with_user_namespace(bundle)
    (bundle.rootfs / "mnt").mkdir(exist_ok=True)
    bundle.add_mount("/mnt", "bind", hidden / "shared", ["bind", "ro"])
    assert rt.output(bundle, "cat", "/mnt/file") == "reached\n"


@pytest.fixture
def rootless_root(rt):
    """A runtime root owned by nobody, and a way to run the runtime as nobody in it."""
    root = rt.workdir / "rootless-root"
    root.mkdir(mode=0o700)
    os.chown(root, NOBODY, NOBODY)
    return root


def as_nobody(rt, root: Path, *args, timeout: float = 60):
    """`<runtime> --root <root> args...` as uid/gid 65534 with no supplementary groups."""
    argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
            "env", f"XDG_RUNTIME_DIR={root}", "HOME=/", rt.binary, "--root", str(root), *args]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        rc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                            timeout=timeout).returncode
        out.seek(0)
        err.seek(0)
        return rc, out.read().decode(errors="replace"), err.read().decode(errors="replace")


@pytest.mark.parity
def test_rootless_maps_its_own_ids_and_denies_setgroups(rt, make_bundle, rootless_root):
    bundle = rootless_bundle(rt, make_bundle, "rootless",
                             ["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map "
                              "/proc/self/setgroups; id -u; id -g"])
    cid = rt.new_id("rl")
    try:
        rc, out, err = as_nobody(rt, rootless_root, "run", "--bundle", str(bundle.path), cid)
        assert rc == 0, f"rc={rc}\nstdout: {out!r}\nstderr: {err!r}"
        uid_map, gid_map, setgroups, uid, gid = out.splitlines()
        assert uid_map.split() == ["0", str(NOBODY), "1"]
        assert gid_map.split() == ["0", str(NOBODY), "1"]
        assert setgroups == "deny"
        assert (uid, gid) == ("0", "0")
    finally:
        as_nobody(rt, rootless_root, "delete", "--force", cid)
    assert os.listdir(rootless_root) == []


def rootless_bundle(rt, make_bundle, hint: str, args: list[str]):
    """What `spec --rootless` makes, with nobody's ids: only its own uid and gid, as root."""
    bundle = make_bundle(hint)
    (bundle.path / "config.json").unlink()
    rt.raw("spec", "--rootless", cwd=bundle.path, timeout=30).ok()
    config = json.loads((bundle.path / "config.json").read_text())
    config["root"]["path"] = "rootfs"
    config["root"]["readonly"] = False
    config["process"]["terminal"] = False
    config["process"]["args"] = args
    for m in config["linux"]["uidMappings"] + config["linux"]["gidMappings"]:
        m["hostID"] = NOBODY
    # Without a cgroup of its own (nobody may not make one), there is nothing to mount there.
    config["mounts"] = [m for m in config["mounts"] if m["type"] != "cgroup"]
    bundle.config = config
    bundle.save()
    return bundle


@pytest.mark.parity
def test_rootless_limits_without_a_cgroup_fail_and_leave_nothing(rt, make_bundle, rootless_root):
    # Nobody may not make the container's cgroup: a limit could not hold, so create refuses it.
    bundle = rootless_bundle(rt, make_bundle, "rootless-limits", ["true"])
    bundle.config["linux"]["resources"] = {"pids": {"limit": 10}}
    bundle.save()
    cid = rt.new_id("rl")
    try:
        rc, out, err = as_nobody(rt, rootless_root, "run", "--bundle", str(bundle.path), cid)
        assert rc == 1, f"rc={rc}\nstdout: {out!r}\nstderr: {err!r}"
        assert "cannot set pids limit: container could not join or create cgroup" in err, err
    finally:
        as_nobody(rt, rootless_root, "delete", "--force", cid)
    assert os.listdir(rootless_root) == []


# --------------------------------------------------------------------------------------------
# NOTIFY_SOCKET

class NotifyListener:
    """The host's NOTIFY_SOCKET (systemd's, podman's)."""

    def __init__(self, path: Path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))

    def received(self, quiet: float = 0.5) -> list[bytes]:
        """Every datagram, until none came for `quiet` seconds."""
        got = []
        self.sock.settimeout(quiet)
        try:
            while True:
                msg, ancillary, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(64))
                for level, kind, data in ancillary:  # close any fd passed along
                    if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                        for i in range(0, len(data) - len(data) % 4, 4):
                            os.close(int.from_bytes(data[i:i + 4], "little"))
                got.append(msg)
        except socket.timeout:
            return got

    def close(self):
        self.sock.close()


@pytest.fixture
def notify_listener(scratch):
    listener = NotifyListener(scratch / "host-notify.sock")
    yield listener
    listener.close()


def in_background(argv: list[str], env: dict):
    """`start` and `run` block until READY= (or the init's death) when NOTIFY_SOCKET is set."""
    out = tempfile.TemporaryFile()
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    proc.output_file = out
    return proc


def start_in_background(rt, cid: str, env: dict):
    return in_background([rt.binary, "--root", str(rt.root), "start", cid], env)


def finish(proc, timeout: float = 10) -> tuple[int, str]:
    try:
        rc = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"start still waiting after {timeout}s")
    proc.output_file.seek(0)
    return rc, proc.output_file.read().decode(errors="replace")


def send_datagram(path: Path, payload: bytes) -> None:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.sendto(payload, str(path))
    finally:
        s.close()


def notify_ready(proc, container_socket: Path) -> tuple[int, str]:
    """Sends READY=1 once the container's notify socket is bound, then waits for `proc`."""
    try:
        wait_for(lambda: container_socket.exists(), what="the container's notify socket")
        send_datagram(container_socket, b"READY=1")
        return finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parity
def test_notify_socket_ready_is_forwarded_with_mainpid(rt, bundle, notify_listener):
    env = dict(os.environ, NOTIFY_SOCKET=str(notify_listener.path))
    bundle.sh("{ echo $NOTIFY_SOCKET; test -S /run/notify/notify.sock && echo socket; "
              "grep ' /run/notify ' /proc/self/mountinfo; } > /notify.txt; exec sleep 30")
    r = rt.create(bundle, None, env=env).ok()
    pid = rt.state(r.cid)["pid"]
    assert os.path.isdir(rt.root / r.cid / "notify")
    start = start_in_background(rt, r.cid, env)
    try:
        container_socket = rt.root / r.cid / "notify" / "notify.sock"
        wait_for(lambda: container_socket.exists(), what="the container's notify socket")
        report = bundle.rootfs / "notify.txt"
        wait_for(lambda: report.exists() and report.read_text().count("\n") >= 3,
                 what="the container's report")
        time.sleep(0.2)
        assert start.poll() is None, "start must wait for READY="
        send_datagram(container_socket, b"STATUS=starting")
        send_datagram(container_socket, b"READY=1\nSTATUS=serving")
        rc, output = finish(start)
    finally:
        if start.poll() is None:
            start.kill()
            start.wait()
    assert rc == 0, output
    assert notify_listener.received() == [b"READY=1\n", f"MAINPID={pid}\n".encode()]
    env_line, socket_line, mount_line = report.read_text().splitlines()
    assert env_line == "/run/notify/notify.sock"
    assert socket_line == "socket"
    assert "ro" in mount_line.split()[5].split(","), mount_line


@pytest.mark.parity
def test_notify_socket_in_a_user_namespace(rt, bundle, notify_listener):
    # The notify directory lies in the runtime's 0700 state root, out of the user namespace's reach.
    env = dict(os.environ, NOTIFY_SOCKET=str(notify_listener.path))
    with_user_namespace(bundle)
    (bundle.rootfs / "run" / "notify").mkdir(parents=True)  # host root's rootfs: made for it
    bundle.set_args("sleep", "30")
    r = rt.create(bundle, None, env=env).ok()
    pid = rt.state(r.cid)["pid"]
    start = start_in_background(rt, r.cid, env)
    rc, output = notify_ready(start, rt.root / r.cid / "notify" / "notify.sock")
    assert rc == 0, output
    assert notify_listener.received() == [b"READY=1\n", f"MAINPID={pid}\n".encode()]


@pytest.mark.parity
def test_notify_socket_foreground_run_sends_its_own_pid(rt, bundle, notify_listener):
    # A foreground `run` stays the service's main process (runc: os.Getpid()).
    env = dict(os.environ, NOTIFY_SOCKET=str(notify_listener.path))
    bundle.set_args("sleep", "2")
    bundle.save()
    cid = rt.new_id()
    run = in_background([rt.binary, "--root", str(rt.root), "run", "--bundle", str(bundle.path),
                         cid], env)
    rc, output = notify_ready(run, rt.root / cid / "notify" / "notify.sock")
    assert rc == 0, output
    assert notify_listener.received() == [b"READY=1\n", f"MAINPID={run.pid}\n".encode()]


@pytest.mark.parity
def test_notify_socket_start_gives_up_when_the_init_dies(rt, bundle, notify_listener):
    env = dict(os.environ, NOTIFY_SOCKET=str(notify_listener.path))
    bundle.set_args("true")
    r = rt.create(bundle, None, env=env).ok()
    pid = rt.state(r.cid)["pid"]
    start = start_in_background(rt, r.cid, env)
    try:
        # The init is ours to reap (we are the subreaper); runc waits until it is reaped.
        rt.wait_exit(pid)
        rc, output = finish(start)
    finally:
        if start.poll() is None:
            start.kill()
            start.wait()
    assert rc == 0, output
    assert notify_listener.received(0.2) == []


# --------------------------------------------------------------------------------------------
# LISTEN_FDS

def run_socket_activated(rt, bundle, cid: str, files: list[Path], listen_fds: int,
                         preserve_fds: int, listen_pid: str = "$$"):
    """`run` with fds 3.. open on `files` and LISTEN_PID set to the runtime's own pid (the shell
    execs it, so $$ is its pid), as systemd starts a socket-activated service."""
    bundle.save()
    redirections = " ".join(f"{3 + i}<{shlex.quote(str(f))}" for i, f in enumerate(files))
    script = (f'export LISTEN_FDS={listen_fds} LISTEN_PID={listen_pid}; '
              f'exec "$@" {redirections}')
    argv = ["/bin/sh", "-c", script, "sh", rt.binary, "--root", str(rt.root), "run",
            "--preserve-fds", str(preserve_fds), "--bundle", str(bundle.path), cid]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        rc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                            timeout=60).returncode
        out.seek(0)
        err.seek(0)
        return rc, out.read().decode(errors="replace"), err.read().decode(errors="replace")


@pytest.mark.parity
def test_listen_fds_come_first_then_the_preserved_ones(rt, bundle, scratch):
    files = []
    for name in ("listen", "preserved-a", "preserved-b"):
        (scratch / name).write_text(name + "\n")
        files.append(scratch / name)
    bundle.sh("cat <&3; cat <&4; cat <&5; env | grep ^LISTEN_ | sort; "
              "ls -l /proc/self/fd")
    bundle.process["env"] = ["PATH=/bin:/usr/bin"]
    rc, out, err = run_socket_activated(rt, bundle, rt.new_id(), files, 1, 2)
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[:5] == ["listen", "preserved-a", "preserved-b", "LISTEN_FDS=1", "LISTEN_PID=1"]
    assert fd_numbers(out) == [0, 1, 2, 3, 4, 5], out


@pytest.mark.parity
def test_listen_fds_for_another_pid_are_not_passed(rt, bundle, scratch):
    (scratch / "listen").write_text("listen\n")
    bundle.sh("env | grep ^LISTEN_ || true; ls -l /proc/self/fd")
    rc, out, err = run_socket_activated(rt, bundle, rt.new_id(), [scratch / "listen"], 1, 0,
                                        listen_pid="1")
    assert rc == 0, err
    assert "LISTEN_" not in out
    assert fd_numbers(out) == [0, 1, 2], out


# --------------------------------------------------------------------------------------------
# idmapped mounts (runc 1.2; runc 1.1 has none)

def host_root_file(scratch: Path) -> Path:
    """A directory holding a file host root owns, for a container in a user namespace."""
    shared = scratch / "shared"
    shared.mkdir(mode=0o755)
    (shared / "file").write_text("x")
    os.chown(shared / "file", 0, 0)
    return shared


@pytest.mark.mkrun_only
def test_idmapped_mount_shows_host_root_files_as_container_root(rt, bundle, scratch):
    shared = host_root_file(scratch)
    with_user_namespace(bundle)
    # Host root owns the rootfs: the container's root (host uid 100000) cannot make these.
    (bundle.rootfs / "idmapped").mkdir()
    (bundle.rootfs / "plain").mkdir()
    mapping = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    bundle.config.setdefault("mounts", []).extend([
        {"destination": "/idmapped", "type": "bind", "source": str(shared),
         "options": ["bind"], "uidMappings": mapping, "gidMappings": mapping},
        {"destination": "/plain", "type": "bind", "source": str(shared), "options": ["bind"]},
    ])
    out = rt.output(bundle, "stat", "-c", "%u:%g", "/idmapped/file", "/plain/file")
    assert out.split() == ["0:0", f"{NOBODY}:{NOBODY}"]


@pytest.mark.mkrun_only  # runc 1.3+ (idmap.bats "[no userns]"); runc 1.1 has no idmapped mounts
def test_a_mounts_own_mappings_need_no_user_namespace(rt, bundle, scratch):
    # A host file root owns shows as owned by hostID 100000 to the container's processes.
    shared = host_root_file(scratch)
    (bundle.rootfs / "idmapped").mkdir()
    mapping = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    bundle.config.setdefault("mounts", []).append(
        {"destination": "/idmapped", "type": "bind", "source": str(shared),
         "options": ["bind"], "uidMappings": mapping, "gidMappings": mapping})
    out = rt.output(bundle, "stat", "-c", "%u:%g", "/idmapped/file")
    assert out.split() == ["100000:100000"], out
    # "idmap" without mappings of its own takes the container's: none without a user namespace.
    bundle.config["mounts"][-1] = {"destination": "/idmapped", "type": "bind",
                                   "source": str(shared), "options": ["bind", "idmap"]}
    rt.run(bundle.set_args("true")).fails(1, "an idmapped mount needs uidMappings and gidMappings")


@pytest.mark.mkrun_only
def test_idmap_option_takes_the_container_maps(rt, bundle, scratch):
    # runc 1.2: "idmap" without mappings on the mount uses the container's user namespace maps.
    shared = host_root_file(scratch)
    with_user_namespace(bundle)
    (bundle.rootfs / "idmapped").mkdir()
    bundle.add_mount("/idmapped", "bind", shared, ["bind", "idmap"])
    assert rt.output(bundle, "stat", "-c", "%u:%g", "/idmapped/file").split() == ["0:0"]


@pytest.mark.mkrun_only
@pytest.mark.parametrize("option", ["idmap", "ridmap"])
def test_only_ridmap_idmaps_the_submounts_of_an_rbind(rt, bundle, scratch, option):
    # runtime-spec 1.2: "ridmap" is MOUNT_ATTR_IDMAP with AT_RECURSIVE, "idmap" the top mount only
    shared = host_root_file(scratch)
    submount = shared / "sub"
    submount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", str(submount)], check=True)
    try:
        (submount / "file").write_text("y")  # host root's, on the submount
        with_user_namespace(bundle)
        (bundle.rootfs / "idmapped").mkdir()
        bundle.add_mount("/idmapped", "bind", shared, ["rbind", option])
        out = rt.output(bundle, "stat", "-c", "%u:%g", "/idmapped/file", "/idmapped/sub/file")
    finally:
        subprocess.run(["umount", "-l", str(submount)], check=False)
    submount_owner = "0:0" if option == "ridmap" else f"{NOBODY}:{NOBODY}"
    assert out.split() == ["0:0", submount_owner]


@pytest.mark.mkrun_only
def test_idmapped_mount_of_a_non_bind_mount_is_refused(rt, bundle):
    mapping = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    with_user_namespace(bundle)
    bundle.config.setdefault("mounts", []).append(
        {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["idmap"],
         "uidMappings": mapping, "gidMappings": mapping})
    r = rt.create(bundle)
    r.fails(msg="idmapped mounts are only supported for bind mounts")
    assert_nothing_left(rt, r.cid, bundle)


# ---- time namespace (runtime-spec 1.1's "time" and linux.timeOffsets; runc 1.2+) ----------------

OFFSETS = {"monotonic": {"secs": 7881, "nanosecs": 2718281},
           "boottime": {"secs": 1337, "nanosecs": 3141519}}
OFFSETS_TEXT = "monotonic       7881    2718281\nboottime        1337    3141519\n"


def offsets_of(text: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split()[1:] for line in text.splitlines() if line.strip()}


def with_time_namespace(bundle, offsets=None):
    bundle.linux["namespaces"].append({"type": "time"})
    if offsets is not None:
        bundle.linux["timeOffsets"] = offsets
    return bundle


@pytest.mark.mkrun_only  # runc 1.1 knows no time namespace
@pytest.mark.parametrize("offsets", [None, OFFSETS], ids=["no offsets", "offsets"])
def test_time_namespace_with_a_pid_namespace(rt, bundle, offsets):
    # The init is pid 1 of its pid namespace and lives in the time namespace with its offsets.
    with_time_namespace(bundle, offsets)
    out = rt.output(bundle.sh("echo $$; cat /proc/self/timens_offsets"))
    pid, _, offsets_text = out.partition("\n")
    assert pid == "1"
    expected = offsets_of(OFFSETS_TEXT) if offsets else {"monotonic": ["0", "0"],
                                                         "boottime": ["0", "0"]}
    assert offsets_of(offsets_text) == expected


@pytest.mark.mkrun_only  # runc 1.1 knows no time namespace
def test_time_namespace_with_offsets_in_a_new_user_namespace(rt, bundle):
    with_time_namespace(with_user_namespace(bundle), OFFSETS)
    out = rt.output(bundle.set_args("cat", "/proc/self/timens_offsets"))
    assert offsets_of(out) == offsets_of(OFFSETS_TEXT)


@pytest.mark.mkrun_only  # runc 1.1 knows no time namespace
def test_exec_joins_the_time_namespace(rt, bundle):
    with_time_namespace(bundle, OFFSETS)
    cid, pid = rt.started(bundle.set_args("sleep", "1000"))
    out = rt("exec", cid, "cat", "/proc/self/timens_offsets").ok().out
    assert offsets_of(out) == offsets_of(OFFSETS_TEXT)
    rt.delete(cid, "--force").ok()
    rt.wait_exit(pid)


@pytest.mark.mkrun_only  # runc 1.5: offsets without a time namespace are an error
def test_time_offsets_without_a_time_namespace_are_refused(rt, bundle):
    bundle.linux["timeOffsets"] = OFFSETS
    r = rt.run(bundle.set_args("true"))
    assert r.rc != 0 and "time" in r.err, r
