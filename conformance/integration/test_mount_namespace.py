"""A container without a mount namespace of its own: none in the spec (it shares the caller's)
or one joined by `path`. runtime-spec: "If a namespace type is not specified in the namespaces
array, the container MUST inherit the runtime namespace of that type", and a `path` is joined.
runc then makes the container's mounts in that namespace and enters the rootfs with chroot; it
leaves those mounts behind (and makes the caller's `/` a slave), so these tests do not run it:
mkrun removes the mounts at delete and leaves `/` as it was."""
import os
import subprocess
import time

import pytest

from harness import assert_nothing_left


def without_mount_namespace(bundle):
    linux = bundle.linux
    linux["namespaces"] = [ns for ns in linux["namespaces"] if ns["type"] != "mount"]
    for key in ("maskedPaths", "readonlyPaths"):
        linux.pop(key, None)
    bundle.config["root"]["readonly"] = False
    return bundle


def mounts_below(rootfs, pid="self"):
    with open(f"/proc/{pid}/mountinfo") as f:
        points = [line.split()[4] for line in f]
    return [p for p in points if p == str(rootfs) or p.startswith(f"{rootfs}/")]


def root_mount_line():
    with open("/proc/self/mountinfo") as f:
        return next(line.split(" - ")[0].split()[4:] for line in f if line.split()[4] == "/")


@pytest.fixture
def holder():
    """A process in a private mount namespace of its own, for a container to join."""
    p = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sleep", "1000"])
    deadline = time.monotonic() + 10
    while os.readlink(f"/proc/{p.pid}/ns/mnt") == os.readlink("/proc/self/ns/mnt"):
        assert time.monotonic() < deadline, "unshare -m did not make a namespace"
        time.sleep(0.01)
    yield p.pid
    p.kill()
    p.wait()


@pytest.mark.parity
def test_masks_need_a_private_mount_namespace(rt, bundle):
    bundle.linux["namespaces"] = [ns for ns in bundle.linux["namespaces"] if ns["type"] != "mount"]
    bundle.linux["maskedPaths"] = ["/proc/kcore"]
    r = rt.run(bundle.set_args("true"))
    r.fails(1, "unable to restrict sys entries without a private MNT namespace")
    assert_nothing_left(rt, r.cid, bundle)


@pytest.mark.mkrun_only
def test_without_a_mount_namespace_the_container_shares_the_callers(rt, bundle):
    root_before = root_mount_line()
    without_mount_namespace(bundle).set_args("sleep", "1000")
    cid, pid = rt.started(bundle)
    assert os.readlink(f"/proc/{pid}/ns/mnt") == os.readlink("/proc/self/ns/mnt")
    assert os.readlink(f"/proc/{pid}/root") == str(bundle.rootfs)  # a chroot
    assert f"{bundle.rootfs}/proc" in mounts_below(bundle.rootfs)
    # exec goes into the same root, and sees the container's /proc and /dev
    out = rt("exec", cid, "sh", "-c", "ls /bin/busybox; ls /dev/null; cat /proc/1/comm").ok().out
    assert out.split() == ["/bin/busybox", "/dev/null", "sleep"], out
    rt.kill(cid, "KILL").ok()
    rt.wait_exit(pid)
    rt.delete(cid).ok()
    assert mounts_below(bundle.rootfs) == []
    assert root_mount_line() == root_before, "the caller's / keeps its propagation"


@pytest.mark.mkrun_only
def test_a_failed_create_without_a_mount_namespace_leaves_no_mount(rt, bundle, scratch):
    without_mount_namespace(bundle).set_args("true")
    bundle.add_mount("/mnt", "bind", str(scratch / "missing"), ["rbind"])
    r = rt.run(bundle)
    assert r.rc != 0, r
    assert mounts_below(bundle.rootfs) == []
    assert_nothing_left(rt, r.cid, bundle)


@pytest.mark.mkrun_only
def test_a_mount_namespace_joined_by_path_gets_the_mounts(rt, bundle, holder):
    without_mount_namespace(bundle).set_args("sleep", "1000")
    bundle.linux["namespaces"].append({"type": "mount", "path": f"/proc/{holder}/ns/mnt"})
    cid, pid = rt.started(bundle)
    assert os.readlink(f"/proc/{pid}/ns/mnt") == os.readlink(f"/proc/{holder}/ns/mnt")
    assert f"{bundle.rootfs}/proc" in mounts_below(bundle.rootfs, holder)
    assert mounts_below(bundle.rootfs) == [], "nothing in mkrun's own namespace"
    assert rt("exec", cid, "ls", "/bin/busybox").ok().out == "/bin/busybox\n"
    rt.delete(cid, "--force").ok()
    assert mounts_below(bundle.rootfs, holder) == []


@pytest.mark.mkrun_only
def test_settings_that_would_change_a_shared_namespace_are_refused(rt, bundle):
    without_mount_namespace(bundle).set_args("true")
    bundle.linux["rootfsPropagation"] = "private"
    r = rt.run(bundle)
    r.fails(1, "without a mount namespace of its own: ")
    assert_nothing_left(rt, r.cid, bundle)


@pytest.mark.mkrun_only  # runc 1.5 ("host mount ns + hooks"): runc's spec has root.readonly
def test_a_read_only_root_in_a_shared_namespace_is_a_bind_of_its_own(rt, bundle):
    root_before = root_mount_line()
    without_mount_namespace(bundle).set_args("sh", "-c", "touch /x 2>&1; sleep 1000")
    bundle.config["root"]["readonly"] = True
    cid, pid = rt.started(bundle)
    assert str(bundle.rootfs) in mounts_below(bundle.rootfs), "the rootfs bound onto itself"
    out = rt("exec", cid, "sh", "-c", "touch /y 2>&1; echo done").ok().out
    assert "Read-only file system" in out, out
    assert not (bundle.rootfs / "y").exists()
    rt.delete(cid, "--force").ok()
    assert mounts_below(bundle.rootfs) == []
    assert root_mount_line() == root_before
    (bundle.rootfs / "z").write_text("the directory itself stays writable")
