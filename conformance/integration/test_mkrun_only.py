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


@pytest.mark.parametrize("argv", [["checkpoint", "--help"], ["restore", "--bundle", ".", "x"]])
def test_checkpointing_is_refused_clearly(rt, argv):
    # runc checkpoints through CRIU; mkrun does not, and says so. `checkpoint --help` must fail
    # too: Podman offers checkpointing only when it exits 0.
    r = rt(*argv)
    assert r.rc == 1, r
    assert r.out == ""
    assert f"{argv[0]} is not supported by mkrun: checkpoint/restore through CRIU" in r.err


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
