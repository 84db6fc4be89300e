"""The runtime's own binary is out of the container's reach (the CVE-2019-5736 class).

A container process that gets hold of the executable of a process mkrun forked (the waiting init,
or an exec'd process before its execve) must not be able to write mkrun's binary, not even after
every mkrun process has exited.

`mkrun` is a launcher (cli/launcher/) that executes the runtime, `mkrun-runtime` beside it, from a
detached read-only image for the commands that start container processes; the runtime started
directly protects itself.
"""
import dataclasses
import errno
import os
import shutil
import subprocess
import time

import pytest


def runtime_beside(rt):
    """The same runtime fixture, running the runtime file that the launcher executes."""
    return dataclasses.replace(rt, binary=os.path.join(os.path.dirname(rt.binary), "mkrun-runtime"))


def same_file(a, b):
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


@pytest.mark.mkrun_only
@pytest.mark.parametrize("started", ["launcher", "runtime"])
def test_init_image_is_not_writable(rt, bundle, started):
    runtime_file = os.stat(runtime_beside(rt).binary)
    if started == "runtime":
        rt = runtime_beside(rt)
    r = rt.create(bundle.set_args("sleep", "100")).ok()
    pid = rt.state(r.cid)["pid"]
    exe = os.open(f"/proc/{pid}/exe", os.O_PATH)
    try:
        assert os.statvfs(f"/proc/self/fd/{exe}").f_flag & os.ST_RDONLY, \
            "the init runs mkrun from a read-only mount"
        assert same_file(os.stat(f"/proc/self/fd/{exe}"), runtime_file), \
            "a read-only view of the runtime's own file, not a copy"
        rt("delete", "--force", r.cid).ok()
        with pytest.raises(OSError) as refused:
            os.close(os.open(f"/proc/self/fd/{exe}", os.O_WRONLY))
        assert refused.value.errno == errno.EROFS
    finally:
        os.close(exe)


@pytest.mark.mkrun_only
def test_no_mount_is_left_for_the_protected_image(rt, bundle):
    before = open("/proc/self/mountinfo").read().count(os.path.basename(rt.binary))
    rt.run(bundle.set_args("true")).ok()
    after = open("/proc/self/mountinfo").read().count(os.path.basename(rt.binary))
    assert after == before


@pytest.mark.mkrun_only
def test_the_launcher_runs_other_commands_from_the_runtime_file_itself(rt, bundle):
    """No protected image where no container process starts (`events` stays to be looked at)."""
    r = rt.create(bundle.set_args("sleep", "100")).ok()
    runtime_file = os.stat(runtime_beside(rt).binary)
    events = subprocess.Popen([rt.binary, "--root", str(rt.root), "events", "--interval", "1s", r.cid],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not os.readlink(f"/proc/{events.pid}/exe").endswith("mkrun-runtime"):
            assert time.monotonic() < deadline, "the launcher never executed the runtime"
            time.sleep(0.01)
        exe = f"/proc/{events.pid}/exe"
        assert same_file(os.stat(exe), runtime_file)
        assert os.statvfs(exe).f_flag & os.ST_RDONLY == os.statvfs(rt.binary).f_flag & os.ST_RDONLY
    finally:
        events.kill()
        events.wait()


@pytest.mark.mkrun_only
def test_a_launcher_without_its_runtime_says_which_file_is_missing(rt, bundle):
    lonely = rt.workdir / "bin" / "mkrun"
    lonely.parent.mkdir()
    shutil.copy(rt.binary, lonely)
    res = dataclasses.replace(rt, binary=str(lonely)).create(bundle)
    assert res.rc == 1
    assert res.err == f"mkrun: execute the runtime {lonely.parent}/mkrun-runtime: no such file or directory\n"
