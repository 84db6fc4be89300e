"""A failing create or run leaves nothing behind: no state dir, no cgroup, no process, no mount.

Each case uses an absolute cgroupsPath named after the id, so a leaked cgroup is easy to find,
and checks the host right after the failure (the fixture checks again at teardown)."""
import pytest

from harness import assert_nothing_left

pytestmark = pytest.mark.parity


def bad_bind_mount(b):
    b.add_mount("/bad", "bind", "/nonexistent-mkrun-source", ["rbind"])


def bad_fs_type(b):
    b.add_mount("/bad", "no-such-fs", "none")


def missing_executable(b):
    b.set_args("no-such-program")


def failing_create_runtime_hook(b):
    b.add_hook("createRuntime", "/bin/false", ["false"])


def failing_prestart_hook(b):
    b.add_hook("prestart", "/bin/sh", ["sh", "-c", "exit 2"])


def bad_sysctl(b):
    b.linux["sysctl"] = {"net.no.such.key": "1"}


def rlimit_above_kernel_max(b):
    nr_open = int(open("/proc/sys/fs/nr_open").read())
    b.process["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": nr_open + 1, "hard": nr_open + 1}]


def bad_cwd_is_file(b):
    b.process["cwd"] = "/bin/busybox"


def bad_user_namespace_mapping(b):
    b.linux["namespaces"].append({"type": "user"})
    b.linux["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 0}]
    b.linux["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 0}]


CASES = [bad_bind_mount, bad_fs_type, missing_executable, failing_create_runtime_hook,
         failing_prestart_hook, bad_sysctl, rlimit_above_kernel_max, bad_cwd_is_file,
         bad_user_namespace_mapping]


@pytest.mark.parametrize("breakage", CASES, ids=[c.__name__ for c in CASES])
@pytest.mark.parametrize("command", ["create", "run"])
def test_failed_start_leaves_nothing(rt, bundle, breakage, command):
    cid = rt.new_id()
    bundle.linux["cgroupsPath"] = f"/mkrun-test-{cid}"
    bundle.resources()["pids"] = {"limit": 50}
    breakage(bundle.set_args("sleep", "1000"))
    r = (rt.create if command == "create" else rt.run)(bundle, cid)
    assert r.rc == 1, r
    assert r.err.strip(), "a failure must say why on stderr"
    assert_nothing_left(rt, cid, bundle)


def test_rejected_config_leaves_nothing(rt, bundle):
    cid = rt.new_id()
    bundle.config["process"]["args"] = []
    r = rt.create(bundle, cid)
    assert r.rc == 1, r
    assert_nothing_left(rt, cid, bundle)
