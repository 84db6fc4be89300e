"""The runtime's own binary is out of the container's reach (the CVE-2019-5736 class).

A container process that gets hold of the executable of a process mkrun forked (the waiting init,
or an exec'd process before its execve) must not be able to write mkrun's binary, not even after
every mkrun process has exited.
"""
import errno
import os

import pytest


@pytest.mark.mkrun_only
def test_init_image_is_not_writable(rt, bundle):
    r = rt.create(bundle.set_args("sleep", "100")).ok()
    pid = rt.state(r.cid)["pid"]
    exe = os.open(f"/proc/{pid}/exe", os.O_PATH)
    try:
        assert os.statvfs(f"/proc/self/fd/{exe}").f_flag & os.ST_RDONLY, \
            "the init runs mkrun from a read-only mount"
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
