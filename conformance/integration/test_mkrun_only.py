"""mkrun behaviour that runc 1.1 does not share (see shared/design/runc-cli-contract.md §7).

Each test here is expected to FAIL against runc; run them against runc with
MKRUN=/usr/sbin/runc RUNTIMES=mkrun to see where runc differs."""
import json
import os

import pytest

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


def test_checkpoint_not_supported(rt):
    # Podman probes `<rt> checkpoint --help` and offers checkpointing when it exits 0.
    r = rt.raw("checkpoint", "--help")
    assert r.rc != 0, r


def make_copy_up_source(directory):
    """A directory tree with what a copy must keep: owners, modes, times, links, nesting."""
    directory.mkdir()
    (directory / "file").write_text("contents\n")
    os.chown(directory / "file", 1234, 5678)
    os.chmod(directory / "file", 0o4754)  # readable: the container's root has no DAC override
    os.utime(directory / "file", (1000000000, 1000000000))
    (directory / "sub" / "deeper").mkdir(parents=True)
    (directory / "sub" / "deeper" / "leaf").write_bytes(b"\0" * 100000)
    os.chmod(directory / "sub", 0o711)
    os.chown(directory / "sub", 42, 43)
    os.symlink("sub/deeper/leaf", directory / "link")
    os.lchown(directory / "link", 7, 8)
    os.mkfifo(directory / "fifo", 0o640)
    os.utime(directory / "sub", (1100000000, 1100000000))


def test_tmpcopyup_copies_the_rootfs_directory_into_the_tmpfs(rt, bundle):
    """tmpcopyup (crun's option, `podman run --tmpfs`): the new tmpfs starts with what the
    rootfs had at its mount point; writes stay in the tmpfs."""
    make_copy_up_source(bundle.rootfs / "data")
    bundle.add_mount("/data", "tmpfs", "tmpfs", ["tmpcopyup", "nosuid", "mode=755"])
    out = rt.output(bundle, "sh", "-c",
                    "grep ' /data ' /proc/self/mounts | cut -d' ' -f3; "
                    "stat -c '%n %u:%g %a %Y %F' /data/file /data/sub /data/link /data/fifo; "
                    "readlink /data/link; cat /data/file; wc -c < /data/link; "
                    "echo new > /data/new && rm /data/sub/deeper/leaf"
                    " && echo written")
    lines = out.splitlines()
    assert lines[0] == "tmpfs"
    assert lines[1] == "/data/file 1234:5678 4754 1000000000 regular file"
    assert lines[2] == "/data/sub 42:43 711 1100000000 directory"
    assert lines[3].startswith("/data/link 7:8 777 ") and lines[3].endswith("symbolic link")
    assert lines[4] == "/data/fifo 0:0 640 " + lines[4].split()[3] + " fifo"
    assert lines[5:] == ["sub/deeper/leaf", "contents", "100000", "written"]
    # The rootfs directory itself did not change.
    assert sorted(os.listdir(bundle.rootfs / "data")) == ["fifo", "file", "link", "sub"]
    assert (bundle.rootfs / "data" / "file").read_text() == "contents\n"
    assert (bundle.rootfs / "data" / "sub" / "deeper" / "leaf").stat().st_size == 100000


def test_tmpcopyup_of_a_missing_directory_mounts_an_empty_tmpfs(rt, bundle):
    bundle.add_mount("/nowhere", "tmpfs", "tmpfs", ["tmpcopyup", "ro"])
    out = rt.output(bundle, "sh", "-c", "grep ' /nowhere ' /proc/self/mounts; ls -A /nowhere")
    fields = out.split()
    assert fields[2] == "tmpfs" and "ro" in fields[3].split(","), out
    assert len(out.splitlines()) == 1, out


def test_tmpcopyup_keeps_a_read_only_tmpfs_read_only(rt, bundle):
    make_copy_up_source(bundle.rootfs / "data")
    bundle.add_mount("/data", "tmpfs", "tmpfs", ["tmpcopyup", "ro"])
    r = rt.run(bundle.set_args("sh", "-c", "cat /data/file; touch /data/x"))
    assert r.rc == 1 and "contents" in r.out and "Read-only file system" in r.err, r
