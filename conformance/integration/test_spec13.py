"""runtime-spec 1.3 (what runc 1.5 implements): ociVersion 1.3.x, pids.limit 0, memoryPolicy,
the init's CPU affinity and the 1.3 fields of `features`."""
import json
import os

import pytest

from harness import cgroup_controller_path, read_file


# ---- ociVersion ----------------------------------------------------------------------------------

@pytest.mark.parity
@pytest.mark.parametrize("version", ["1.3.0", "1.3.9"])
def test_oci_version_1_3_is_accepted(rt, bundle, version):
    bundle.config["ociVersion"] = version
    assert rt.output(bundle, "echo", "ran") == "ran\n"


# ---- pids.limit ----------------------------------------------------------------------------------

def pids_max(pid):
    _, directory = cgroup_controller_path(pid, "pids")
    return read_file(os.path.join(directory, "pids.max")).strip()


@pytest.mark.mkrun_only  # runc 1.1 takes 0 as "not set"; runc 1.5 writes it as 1
def test_pids_limit_zero_is_a_limit(rt, bundle):
    # config-linux.md (1.3): "`0` is a valid limit value for the `pids` cgroup controller from
    # the kernel's perspective and SHOULD be treated as such by runtimes."
    bundle.resources()["pids"] = {"limit": 0}
    cid, pid = rt.started(bundle.set_args("sleep", "1000"))
    assert pids_max(pid) == "1"  # runc 1.5's value for 0 (systemd refuses TasksMax=0)
    rt.delete(cid, "--force").ok()
    rt.wait_exit(pid)


@pytest.mark.mkrun_only  # see above
def test_pids_limit_zero_forbids_forking(rt, bundle):
    bundle.resources()["pids"] = {"limit": 0}
    r = rt.run(bundle.sh("echo in; /bin/true; echo after"))
    assert r.out.startswith("in\n"), r
    assert "fork" in r.err, r


@pytest.mark.parity
@pytest.mark.parametrize("pids", [{}, None])
def test_pids_without_a_limit_sets_nothing(rt, bundle, pids):
    bundle.resources()["pids"] = pids
    cid, pid = rt.started(bundle.set_args("sleep", "1000"))
    assert pids_max(pid) == "max"
    rt.delete(cid, "--force").ok()
    rt.wait_exit(pid)
