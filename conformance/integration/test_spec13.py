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


@pytest.mark.mkrun_only  # runc 1.1's update takes 0 as "not set"; runc 1.5's writes it as 1
def test_update_pids_limit_zero_is_a_limit_and_other_updates_keep_it(rt, bundle, scratch):
    cid, pid = rt.started(bundle.set_args("sleep", "1000"))
    rt("update", "--pids-limit", "0", cid).ok()
    assert pids_max(pid) == "1"
    rt("update", "--pids-limit", "-1", cid).ok()
    assert pids_max(pid) == "max"
    rt("update", "--memory", "64M", cid).ok()  # no --pids-limit: pids.max stays
    assert pids_max(pid) == "max"
    resources = scratch / "r.json"
    resources.write_text(json.dumps({"pids": {"limit": 0}}))
    rt("update", "-r", str(resources), cid).ok()
    assert pids_max(pid) == "1"
    rt.delete(cid, "--force").ok()
    rt.wait_exit(pid)


@pytest.mark.parity
@pytest.mark.parametrize("pids", [{}, None])
def test_pids_without_a_limit_sets_nothing(rt, bundle, pids):
    bundle.resources()["pids"] = pids
    cid, pid = rt.started(bundle.set_args("sleep", "1000"))
    assert pids_max(pid) == "max"
    rt.delete(cid, "--force").ok()
    rt.wait_exit(pid)


# ---- memoryPolicy --------------------------------------------------------------------------------
# config-linux.md (1.3) "Memory policy": "`memoryPolicy` (object, OPTIONAL) sets the NUMA memory
# policy for the container." runc 1.1 does not know the field, hence mkrun_only. Node 0 exists on
# every host; /proc/self/numa_maps shows the task's policy for mappings without their own.

def task_policy(rt, bundle, policy):
    bundle.linux["memoryPolicy"] = policy
    return rt.output(bundle, "head", "-n", "1", "/proc/self/numa_maps").split()[1]


@pytest.mark.mkrun_only
@pytest.mark.parametrize("policy, shown", [
    ({"mode": "MPOL_BIND", "nodes": "0"}, "bind:0"),
    ({"mode": "MPOL_PREFERRED", "nodes": "0"}, "prefer:0"),
    ({"mode": "MPOL_INTERLEAVE", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]},
     "interleave=static:0"),
    ({"mode": "MPOL_LOCAL"}, "local"),
    ({"mode": "MPOL_DEFAULT"}, "default"),
])
def test_memory_policy_is_the_container_process_policy(rt, bundle, policy, shown):
    assert task_policy(rt, bundle, policy) == shown


@pytest.mark.mkrun_only
def test_memory_policy_applies_to_exec_too(rt, bundle):
    bundle.linux["memoryPolicy"] = {"mode": "MPOL_BIND", "nodes": "0"}
    cid, pid = rt.started(bundle.set_args("sleep", "1000"))
    r = rt("exec", cid, "head", "-n", "1", "/proc/self/numa_maps").ok()
    assert r.out.split()[1] == "bind:0"
    rt.delete(cid, "--force").ok()
    rt.wait_exit(pid)


@pytest.mark.mkrun_only
@pytest.mark.parametrize("policy, message", [
    ({"mode": "MPOL_SPREAD", "nodes": "0"},
     'linux.memoryPolicy.mode: invalid memory policy mode "MPOL_SPREAD"'),
    ({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_LAZY"]},
     'linux.memoryPolicy.flags: invalid memory policy flag "MPOL_F_LAZY"'),
    ({"mode": "MPOL_BIND", "nodes": "0-x"},
     'linux.memoryPolicy.nodes: invalid memory policy nodes "0-x": '
     '"0-x" is not a node or a range of nodes'),
    # "Others that there is at least one node, e.g. `MPOL_BIND` and `MPOL_INTERLEAVE`."
    ({"mode": "MPOL_BIND"},
     "linux.memoryPolicy.nodes: memory policy mode requires at least one node but got 0 "
     "(MPOL_BIND)"),
    # "Some modes require that there are no nodes, e.g. `MPOL_DEFAULT` and `MPOL_LOCAL`."
    ({"mode": "MPOL_LOCAL", "nodes": "0"},
     # runc 1.5's words, then which mode and nodes
     'linux.memoryPolicy.nodes: memory policy mode requires 0 nodes but got 1 (MPOL_LOCAL, "0")'),
])
def test_invalid_memory_policy_is_refused_by_name(rt, bundle, policy, message):
    bundle.linux["memoryPolicy"] = policy
    rt.run(bundle.set_args("true")).fails(1, message)


@pytest.mark.mkrun_only
def test_memory_policy_on_a_node_the_host_lacks_names_the_nodes(rt, bundle):
    # Valid for the spec, refused by the kernel: set_mempolicy(2) fails with EINVAL.
    missing = max(int(n[4:]) for n in os.listdir("/sys/devices/system/node")
                  if n.startswith("node") and n[4:].isdigit()) + 1
    bundle.linux["memoryPolicy"] = {"mode": "MPOL_BIND", "nodes": str(missing)}
    rt.run(bundle.set_args("true")).fails(1, f'set_mempolicy MPOL_BIND nodes "{missing}"')


# ---- CPU affinity --------------------------------------------------------------------------------
# runc 1.3.1 and later reset the affinity of the container's processes once they are in the
# cgroup ("the container process may inherit runc's CPU affinity" otherwise); runc 1.1 does not,
# hence mkrun_only. mkrun is started pinned to CPU 0, as `taskset -c 0 mkrun run` would.

def cpu_list(cpus):
    return ",".join(str(cpu) for cpu in sorted(cpus))


def allowed_cpus(status_text):
    line = next(l for l in status_text.splitlines() if l.startswith("Cpus_allowed_list:"))
    cpus = set()
    for part in line.split(":", 1)[1].strip().split(","):
        first, _, last = part.partition("-")
        cpus.update(range(int(first), int(last or first) + 1))
    return cpus


class PinnedToCpu0:
    def __enter__(self):
        self.saved = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {0})

    def __exit__(self, *exc):
        os.sched_setaffinity(0, self.saved)


needs_two_cpus = pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one CPU only")


@needs_two_cpus
@pytest.mark.mkrun_only
def test_the_init_does_not_inherit_mkruns_affinity(rt, bundle):
    expected = os.sched_getaffinity(0)
    with PinnedToCpu0():
        status = rt.output(bundle, "cat", "/proc/self/status")
    assert cpu_list(allowed_cpus(status)) == cpu_list(expected)


@needs_two_cpus
@pytest.mark.mkrun_only
def test_exec_does_not_inherit_mkruns_affinity(rt, bundle):
    expected = os.sched_getaffinity(0)
    cid, pid = rt.started(bundle.set_args("sleep", "1000"))
    with PinnedToCpu0():
        status = rt("exec", cid, "cat", "/proc/self/status").ok().out
    assert cpu_list(allowed_cpus(status)) == cpu_list(expected)
    rt.delete(cid, "--force").ok()
    rt.wait_exit(pid)


@needs_two_cpus
@pytest.mark.mkrun_only
def test_exec_cpu_affinity_still_wins_over_the_reset(rt, bundle):
    cid, pid = rt.started(bundle.set_args("sleep", "1000"))
    process = dict(bundle.process, args=["cat", "/proc/self/status"],
                   execCPUAffinity={"final": "1"})
    spec = rt.workdir / "process.json"
    spec.write_text(json.dumps(process))
    with PinnedToCpu0():
        status = rt("exec", "--process", spec, cid).ok().out
    assert allowed_cpus(status) == {1}
    rt.delete(cid, "--force").ok()
    rt.wait_exit(pid)


# ---- features ------------------------------------------------------------------------------------

def features_of(rt):
    r = rt.raw("features").ok()
    assert r.err == ""
    return json.loads(r.out)


# RUNTIME_SPEC_SCHEMA: the schema/ directory of runtime-spec v1.3.0 (`git archive v1.3.0 schema`),
# which this repository does not carry.
SCHEMA_DIR = os.environ.get("RUNTIME_SPEC_SCHEMA")


def schema_validator(jsonschema):
    """features-schema.json, whose $refs name its sibling files ("defs.json#/...")."""
    with open(os.path.join(SCHEMA_DIR, "features-schema.json")) as f:
        schema = json.load(f)
    # Debian's jsonschema 4.10 resolves them with a RefResolver, file:// URIs included.
    resolver = jsonschema.RefResolver(f"file://{os.path.abspath(SCHEMA_DIR)}/", schema)
    return jsonschema.Draft4Validator(schema, resolver=resolver)


@pytest.mark.parity
@pytest.mark.skipif(not SCHEMA_DIR, reason="RUNTIME_SPEC_SCHEMA is not set")
def test_features_validate_against_the_1_3_schema(rt):
    validator = schema_validator(pytest.importorskip("jsonschema"))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(features_of(rt))]
    assert errors == []


@pytest.mark.mkrun_only  # runc 1.1 knows runtime-spec 1.1's features only
def test_features_has_every_1_3_field(rt):
    # features-linux.md (1.3): memoryPolicy "modes" and "flags", intelRdt "schemata" and
    # "monitoring", netDevices "enabled"; every boolean a boolean, every list of strings sorted
    # where runc 1.5 sorts it.
    f = features_of(rt)
    assert f["ociVersionMin"] == "1.0.0" and f["ociVersionMax"] == "1.3.0"
    linux = f["linux"]
    assert linux["memoryPolicy"]["modes"] == [
        "MPOL_BIND", "MPOL_DEFAULT", "MPOL_INTERLEAVE", "MPOL_LOCAL", "MPOL_PREFERRED",
        "MPOL_PREFERRED_MANY", "MPOL_WEIGHTED_INTERLEAVE"]
    assert linux["memoryPolicy"]["flags"] == [
        "MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"]
    # What mkrun implements, whatever the host has (features-linux.md).
    assert linux["intelRdt"] == {"enabled": True, "schemata": True, "monitoring": True}
    assert linux["netDevices"] == {"enabled": True}
    assert linux["mountExtensions"] == {"idmap": {"enabled": True}}
    seccomp = linux["seccomp"]
    assert set(seccomp["supportedFlags"]) <= set(seccomp["knownFlags"])
    assert "SECCOMP_FILTER_FLAG_LOG" in seccomp["knownFlags"]
    for booleans in (linux["cgroup"], linux["apparmor"], linux["selinux"]):
        assert all(isinstance(v, bool) for v in booleans.values()), booleans
    unsafe = f["potentiallyUnsafeConfigAnnotations"]
    assert "io.mkrun.kernel" in unsafe
    assert set(unsafe) <= set(f["annotations"]) | {"io.mkrun.kernel"}
    assert "io.mkrun.kernel" in f["annotations"]


# ---- intelRdt ------------------------------------------------------------------------------------
# config-linux.md (1.3): "If no mounted `resctrl` pseudo-filesystem is available in the runtime
# mount namespace, the runtime MUST generate an error." No host of ours has Intel RDT: what
# mkrun does with a mounted resctrl is held by runtime/tests/resctrl_test.cpp.

no_resctrl = pytest.mark.skipif(os.path.exists("/sys/fs/resctrl/info"),
                                reason="this host has Intel RDT")


@no_resctrl
@pytest.mark.parity
@pytest.mark.parametrize("rdt, refusal", [
    ({"l3CacheSchema": "L3:0=f"},
     "intelRdt.l3CacheSchema is specified in config, but Intel RDT/CAT is not enabled"),
    ({"closID": "gold", "memBwSchema": "MB:0=20"},
     "intelRdt.memBwSchema is specified in config, but Intel RDT/MBA is not enabled"),
    ({"closID": "a/b"}, 'invalid intelRdt.ClosID \\"a/b\\"'),
    ({"closID": ".."}, 'invalid intelRdt.ClosID \\"..\\"'),
])
def test_intel_rdt_refusals_without_rdt(rt, bundle, rdt, refusal):
    bundle.config["linux"]["intelRdt"] = rdt
    rt.run(bundle.set_args("true")).fails(1, refusal)


@no_resctrl
@pytest.mark.mkrun_only  # runc 1.1 ignores intelRdt without schemata when resctrl is missing
@pytest.mark.parametrize("clos", ["", "gold", "/"])
def test_intel_rdt_without_resctrl_is_an_error(rt, bundle, clos):
    # runc 1.5: "intelRdt is specified in config, but Intel RDT is not enabled". "/" (1.3: the
    # root group) is a valid CLOS, so the refusal is resctrl's absence, not the name.
    bundle.config["linux"]["intelRdt"] = {"closID": clos} if clos else {}
    rt.run(bundle.set_args("true")).fails(
        1, "intelRdt is specified in config, but Intel RDT is not enabled")


@pytest.mark.mkrun_only  # 1.3's rules on schemata lines; runc 1.1 knows no `schemata`
@pytest.mark.parametrize("rdt, refusal", [
    ({"memBwSchema": "L3:0=f"}, 'intelRdt.memBwSchema: \\"L3:0=f\\" does not start with MB:'),
    ({"l3CacheSchema": "L3:0=f\nMB:0=10"}, "intelRdt.l3CacheSchema: contains a newline"),
    ({"schemata": ["L2:0=3", "L3:0=f\nMB:0=10"]}, "intelRdt.schemata[1]: contains a newline"),
])
def test_intel_rdt_schemata_are_single_lines(rt, bundle, rdt, refusal):
    bundle.config["linux"]["intelRdt"] = rdt
    rt.run(bundle.set_args("true")).fails(1, refusal)



# ---- process.scheduler ---------------------------------------------------------------------------

@pytest.mark.skipif(os.cpu_count() < 2, reason="needs a CPU the cpuset leaves out")
@pytest.mark.mkrun_only  # runc 1.5's words (init_linux.go); runc 1.1 says "error setting scheduler"
def test_a_deadline_scheduler_with_allowed_cpus_is_refused_in_runcs_words(rt, bundle):
    # sched_setattr(2): EPERM when the affinity does not include every CPU of the system.
    bundle.resources()["cpu"] = {"cpus": "0"}
    bundle.config["process"]["scheduler"] = {
        "policy": "SCHED_DEADLINE", "nice": 19, "runtime": 42000, "deadline": 1000000,
        "period": 1000000}
    rt.run(bundle.set_args("true")).fails(
        1, "process scheduler can't be used together with AllowedCPUs")
