"""cgroup.kill on v2: delete --force ends every process of the container's cgroup. Not a parity
test: runc 1.1 tries to remove the cgroup before the test (their subreaper) can reap the killed
processes, and when that fails it only logs it and leaves the cgroup behind."""
import os

import pytest

from harness import cgroup_controller_path, read_file, wait_for

pytestmark = [pytest.mark.mkrun_only,
              pytest.mark.skipif(not os.path.exists("/sys/fs/cgroup/cgroup.subtree_control"),
                                 reason="needs a pure cgroup v2 host (the guest suite)")]


def test_delete_force_kills_every_process_of_the_cgroup(rt, bundle):
    cid = rt.new_id()
    bundle.linux["cgroupsPath"] = f"/mkrun-test-{cid}"
    # no pid namespace: the background sleeps outlive the init unless the cgroup is killed
    bundle.linux["namespaces"] = [n for n in bundle.linux["namespaces"] if n["type"] != "pid"]
    rt.create(bundle.sh("sleep 1000 & sleep 1000 & exec sleep 1000"), cid).ok()
    pid = rt.state(cid)["pid"]
    rt.start(cid).ok()
    version, d = cgroup_controller_path(pid, "pids")
    assert version == "v2", d
    wait_for(lambda: len(read_file(os.path.join(d, "cgroup.procs")).split()) == 3, what="3 procs")
    procs = [int(p) for p in read_file(os.path.join(d, "cgroup.procs")).split()]
    rt.delete(cid, "--force").ok()
    for p in procs:
        rt.wait_exit(p)
    assert not os.path.exists(d)
