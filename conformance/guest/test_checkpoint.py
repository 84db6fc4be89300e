"""checkpoint and restore through Debian's criu (3.17), in the guest: the development host's kernel
cannot run criu. A busybox counter keeps its count in a shell variable and appends each value to
a file in its rootfs, so a restored container shows whether it went on from its memory (the
checkpointed value + 1) or started again (1). mkrun only: the parity variants would need runc's
own criu setup checked first."""
import os
import shutil
import subprocess
import time

import pytest

from harness import alive, cgroup_controller_path, read_file, wait_for

pytestmark = [pytest.mark.mkrun_only,
              pytest.mark.skipif(shutil.which("criu") is None, reason="criu is not installed")]

# Its own stdio are files of the container: criu cannot save the host's temp files the harness
# gives a detached container (outside the container's mounts, and already unlinked).
COUNTER = ("exec </dev/null >/tmp/out 2>&1; i=0; "
           "while :; do i=$((i+1)); echo $i >>/tmp/count; sleep 0.2; done")


def counts(bundle) -> list[int]:
    text = read_file(bundle.rootfs / "tmp" / "count")
    return [int(line) for line in text.split()]


def start_counter(rt, bundle) -> tuple[str, int]:
    cid = rt.new_id()
    bundle.sh(COUNTER)
    rt.run(bundle, cid, "--detach").ok()
    wait_for(lambda: os.path.exists(bundle.rootfs / "tmp" / "count") and len(counts(bundle)) >= 3,
             timeout=30, what="the counter's first values")
    return cid, rt.state(cid)["pid"]


def assert_stopped_counting(bundle) -> int:
    last = counts(bundle)[-1]
    time.sleep(1)
    assert counts(bundle)[-1] == last, "the counter went on after the checkpoint"
    return last


def assert_counts_on_from(bundle, last: int) -> None:
    wait_for(lambda: counts(bundle)[-1] >= last + 3, timeout=30, what="counting after restore")
    values = counts(bundle)
    after = values[values.index(last) + 1:]
    # In order, from where it was: a counter started again would write 1, 2, ...
    assert after[:3] == [last + 1, last + 2, last + 3], values[-20:]


def assert_gone(rt, cid: str, cgroup_dir: str) -> None:
    r = rt("state", cid)
    assert r.rc == 1 and "does not exist" in r.err, str(r)
    assert not os.path.exists(rt.root / cid)
    assert not os.path.exists(cgroup_dir), cgroup_dir


def test_checkpoint_stops_and_restore_continues_the_count(rt, bundle):
    cid, pid = start_counter(rt, bundle)
    _, cgroup_dir = cgroup_controller_path(pid, "pids")
    images = rt.workdir / "images"
    t0 = time.monotonic()
    r = rt("checkpoint", "--image-path", images, cid)
    assert r.rc == 0, f"{r}\n{read_file(images / 'dump.log')[-3000:] if (images / 'dump.log').exists() else ''}"
    print(f"checkpoint took {time.monotonic() - t0:.1f} s")
    # As runc: the container is gone once its image is saved.
    rt.wait_exit(pid)
    assert_gone(rt, cid, cgroup_dir)
    assert (images / "dump.log").exists() and (images / "descriptors.json").exists()
    assert any(name.startswith("pages-") for name in os.listdir(images))
    last = assert_stopped_counting(bundle)

    t0 = time.monotonic()
    r = rt("restore", "--detach", "--image-path", images, "--bundle", bundle.path, cid)
    restore_log = images / "restore.log"
    assert r.rc == 0, f"{r}\n{read_file(restore_log)[-3000:] if restore_log.exists() else ''}"
    print(f"restore took {time.monotonic() - t0:.1f} s")
    assert_counts_on_from(bundle, last)

    state = rt.state(cid)
    assert state["status"] == "running"
    new_pid = state["pid"]
    rt.pids.add(new_pid)
    assert alive(new_pid)
    # The restored processes are in the container's new cgroup, which `delete` removes.
    _, new_cgroup = cgroup_controller_path(new_pid, "pids")
    assert cid in new_cgroup, new_cgroup
    assert str(new_pid) in read_file(os.path.join(new_cgroup, "cgroup.procs")).split()

    rt.kill(cid, "KILL").ok()
    rt.wait_exit(new_pid)
    wait_for(lambda: rt.status(cid) == "stopped", what="stopped after kill")
    rt.delete(cid).ok()
    assert_gone(rt, cid, new_cgroup)


def test_leave_running_keeps_counting(rt, bundle):
    cid, pid = start_counter(rt, bundle)
    images = rt.workdir / "images"
    r = rt("checkpoint", "--leave-running", "--image-path", images, cid)
    assert r.rc == 0, f"{r}\n{read_file(images / 'dump.log')[-3000:]}"
    assert alive(pid)
    assert rt.status(cid) == "running"
    before = counts(bundle)[-1]
    wait_for(lambda: counts(bundle)[-1] >= before + 2, timeout=30, what="counting on")
    rt.delete(cid, "--force").ok()
    rt.wait_exit(pid)


def test_image_and_work_path_and_the_default_image_path(rt, bundle):
    cid, pid = start_counter(rt, bundle)
    work = rt.workdir / "work"
    # Without --image-path: `checkpoint` in the caller's directory, as runc.
    r = rt("checkpoint", "--leave-running", "--work-path", work, cid, cwd=rt.workdir)
    assert r.rc == 0, str(r)
    images = rt.workdir / "checkpoint"
    assert (images / "descriptors.json").exists()
    assert any(name.endswith(".img") for name in os.listdir(images))
    # The log goes to the work path, not next to the images.
    assert (work / "dump.log").exists()
    assert not (images / "dump.log").exists()
    assert "Dumping finished successfully" in read_file(work / "dump.log")
    rt.delete(cid, "--force").ok()
    rt.wait_exit(pid)

    # restore from the default path too, its log in the work path
    r = rt("restore", "-d", "--work-path", work, "-b", bundle.path, cid, cwd=rt.workdir)
    assert r.rc == 0, f"{r}\n{read_file(work / 'restore.log')[-3000:]}"
    assert (work / "restore.log").exists()
    new_pid = rt.state(cid)["pid"]
    rt.pids.add(new_pid)
    rt.delete(cid, "--force").ok()
    rt.wait_exit(new_pid)


def test_restore_of_an_existing_id_or_without_image_fails_cleanly(rt, bundle):
    cid, pid = start_counter(rt, bundle)
    images = rt.workdir / "images"
    rt("checkpoint", "--leave-running", "--image-path", images, cid).ok()
    r = rt("restore", "-d", "--image-path", images, "-b", bundle.path, cid)
    assert r.rc == 1 and "already exists" in r.err, str(r)
    assert alive(pid)
    other = rt.new_id("none")
    r = rt("restore", "-d", "--image-path", rt.workdir / "missing", "-b", bundle.path, other)
    assert r.rc == 1 and "missing" in r.err, str(r)
    assert rt("state", other).rc == 1
    rt.delete(cid, "--force").ok()
    rt.wait_exit(pid)


def test_checkpoint_refuses_a_created_container(rt, bundle):
    cid = rt.new_id()
    rt.create(bundle.sh("sleep 100"), cid).ok()
    r = rt("checkpoint", "--image-path", rt.workdir / "images", cid)
    assert r.rc == 1 and "Container cannot be checkpointed in created state" in r.err, str(r)
    rt.delete(cid, "--force").ok()


def test_criu_check(rt):
    """What criu says of this kernel, for the record (criu check --all lists optional features)."""
    r = subprocess.run(["criu", "check"], capture_output=True, text=True)
    print(r.stdout, r.stderr)
    assert r.returncode == 0, r.stderr
