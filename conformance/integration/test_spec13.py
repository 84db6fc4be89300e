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
