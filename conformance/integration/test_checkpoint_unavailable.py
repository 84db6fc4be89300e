"""checkpoint where criu cannot work (the development host: no criu binary, and its kernel would
fail `criu check` anyway): a clear error, exit 1, and the container keeps running. The guest
suite checkpoints and restores for real (conformance/guest/test_checkpoint.py)."""
import shutil
import subprocess

import pytest

from harness import alive


def criu_works() -> bool:
    if shutil.which("criu") is None:
        return False
    return subprocess.run(["criu", "check"], capture_output=True).returncode == 0


pytestmark = [pytest.mark.mkrun_only,
              pytest.mark.skipif(criu_works(), reason="criu works here: the guest suite's case")]


def test_checkpoint_without_working_criu_fails_and_leaves_the_container_running(rt, bundle):
    cid, pid = rt.started(bundle.sh("sleep 1000"))
    images = rt.workdir / "images"
    r = rt("checkpoint", "--image-path", images, cid)
    assert r.rc == 1, str(r)
    if shutil.which("criu") is None:
        assert "CRIU version check failed" in r.err and "criu" in r.err, r.err
    else:
        assert "criu failed: type DUMP" in r.err and "dump.log" in r.err, r.err
    assert alive(pid)
    assert rt.status(cid) == "running"
    rt("--criu", "/nonexistent/criu", "checkpoint", "--image-path", images, cid).fails(
        1, "CRIU version check failed: run `/nonexistent/criu`: no such file or directory")
    rt.kill(cid, "KILL").ok()
    rt.wait_exit(pid)
    rt.delete(cid).ok()


def test_restore_without_working_criu_fails_and_leaves_nothing(rt, bundle):
    images = rt.workdir / "images"
    images.mkdir()
    cid = rt.new_id()
    r = rt("--criu", "/nonexistent/criu", "restore", "-d", "--image-path", images, "-b",
           bundle.path, cid)
    assert r.rc == 1 and "CRIU version check failed" in r.err, str(r)
    assert rt("state", cid).rc == 1
