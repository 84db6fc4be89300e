"""What the container process sees: run in the foreground, parse its stdout."""
import os
import re

import pytest

from harness import CAPS, cap_bits, read_file, status_fields, wait_for

pytestmark = pytest.mark.parity


def test_pid_1_in_new_pid_namespace(rt, bundle):
    out = rt.output(bundle, "sh", "-c", "echo $$; cat /proc/1/stat").split("\n")
    assert out[0] == "1"
    # the parent of pid 1 is outside the namespace: ppid 0
    assert out[1][out[1].rindex(")") + 2:].split()[1] == "0"


def test_hostname(rt, bundle):
    bundle.config["hostname"] = "mkrun-host"
    assert rt.output(bundle, "hostname") == "mkrun-host\n"


def test_namespaces(rt, bundle):
    kinds = ["pid", "net", "ipc", "uts", "mnt", "cgroup", "user"]
    config_name = {"pid": "pid", "net": "network", "ipc": "ipc", "uts": "uts", "mnt": "mount",
                   "cgroup": "cgroup", "user": "user"}
    wanted = {ns["type"] for ns in bundle.linux["namespaces"]}
    out = rt.output(bundle, "sh", "-c", " ".join(f"readlink /proc/self/ns/{k};" for k in kinds))
    inside = dict(zip(kinds, out.split()))
    for k in kinds:
        host = os.readlink(f"/proc/self/ns/{k}")
        if config_name[k] in wanted:
            assert inside[k] != host, f"{k} namespace must be new"
        else:
            assert inside[k] == host, f"{k} namespace must be the host's"


def test_cgroup_namespace(rt, bundle):
    # `spec` already asks for one on a pure cgroup v2 host (runc's template)
    if {"type": "cgroup"} not in bundle.linux["namespaces"]:
        bundle.linux["namespaces"].append({"type": "cgroup"})
    out = rt.output(bundle, "sh", "-c", "readlink /proc/self/ns/cgroup; cat /proc/self/cgroup")
    lines = out.splitlines()
    assert lines[0] != os.readlink("/proc/self/ns/cgroup")
    # the container's own cgroup is the root of its cgroup namespace
    assert all(l.split(":", 2)[2] == "/" for l in lines[1:]), out


def test_user_and_groups(rt, bundle):
    bundle.process["user"] = {"uid": 1000, "gid": 1001, "additionalGids": [10, 20]}
    st = status_fields(rt.output(bundle, "cat", "/proc/self/status"))
    assert st["Uid"].split() == ["1000"] * 4
    assert st["Gid"].split() == ["1001"] * 4
    assert sorted(map(int, st["Groups"].split())) == [10, 20]
    # a non-root user loses the capabilities (no ambient set here)
    assert int(st["CapEff"], 16) == 0


def test_root_user_has_no_supplementary_groups(rt, bundle):
    st = status_fields(rt.output(bundle, "cat", "/proc/self/status"))
    assert st["Uid"].split() == ["0"] * 4 and st["Gid"].split() == ["0"] * 4
    assert st["Groups"] == ""


def test_cwd(rt, bundle):
    bundle.process["cwd"] = "/bin"
    assert rt.output(bundle, "pwd") == "/bin\n"


def test_env(rt, bundle):
    env = ["PATH=/bin", "FOO=bar baz", "EMPTY=", "HOME=/home/x", "EQ=a=b"]
    bundle.process["env"] = env
    assert sorted(rt.output(bundle, "env").splitlines()) == sorted(env)


def test_env_home_default_from_passwd(rt, bundle):
    # runc sets HOME when the config does not: from the container's /etc/passwd, else "/".
    bundle.process["env"] = ["PATH=/bin"]
    assert sorted(rt.output(bundle, "env").splitlines()) == ["HOME=/root", "PATH=/bin"]
    bundle.process["user"] = {"uid": 4242, "gid": 4242}
    assert sorted(rt.output(bundle, "env").splitlines()) == ["HOME=/", "PATH=/bin"]


@pytest.mark.parametrize("env,expected", [
    (["ONE=two", "ONE=", "PATH=/usr/bin:/bin"], ["HOME=/root", "ONE=", "PATH=/usr/bin:/bin"]),
    (["PATH=/bin", "HOME="], ["HOME=/root", "PATH=/bin"]),
    (["PATH=/bin", "HOME=/override", "HOME="], ["HOME=/root", "PATH=/bin"]),
])
def test_env_keeps_the_last_setting_and_fills_an_empty_home(rt, bundle, env, expected):
    # runc 1.5's env.bats ("env var override is set only once", "empty HOME env var is
    # overridden"); runc 1.1 behaves the same (os.Setenv for each, then HOME if empty)
    bundle.process["env"] = env
    assert sorted(rt.output(bundle, "env").splitlines()) == expected
    cid, _ = rt.started(bundle.set_args("sleep", "1000"))
    assert sorted(rt("exec", cid, "env").ok().out.splitlines()) == expected
    rt.delete(cid, "--force").ok()


def test_umask_default(rt, bundle):
    assert rt.output(bundle, "sh", "-c", "umask") == "0022\n"


def test_umask_from_config(rt, bundle):
    bundle.process["user"]["umask"] = 0o027
    assert rt.output(bundle, "sh", "-c", "umask") == "0027\n"


def test_rlimits(rt, bundle):
    bundle.process["rlimits"] = [
        {"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1024},
        {"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
        {"type": "RLIMIT_NPROC", "soft": 300, "hard": 400},
    ]
    out = rt.output(bundle, "sh", "-c", "cat /proc/self/limits; echo; ulimit -n; ulimit -Hn")
    limits, ulim = out.split("\n\n")
    rows = {}
    for line in limits.splitlines()[1:]:
        m = re.match(r"^(.+?)\s{2,}(\S+)\s+(\S+)", line)
        rows[m.group(1)] = (m.group(2), m.group(3))
    assert rows["Max open files"] == ("512", "1024")
    assert rows["Max core file size"] == ("0", "0")
    assert rows["Max processes"] == ("300", "400")
    assert ulim.split() == ["512", "1024"]


def test_default_rlimit_nofile(rt, bundle):
    # the spec template sets RLIMIT_NOFILE 1024/1024
    nofile = [r for r in bundle.process.get("rlimits", []) if r["type"] == "RLIMIT_NOFILE"]
    assert nofile == [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]
    assert rt.output(bundle, "sh", "-c", "ulimit -n; ulimit -Hn").split() == ["1024", "1024"]


def test_capabilities(rt, bundle):
    keep = ["CAP_CHOWN", "CAP_NET_BIND_SERVICE"]
    bundle.process["capabilities"] = {
        "bounding": keep, "effective": keep, "permitted": keep, "inheritable": [], "ambient": []}
    st = status_fields(rt.output(bundle, "cat", "/proc/self/status"))
    want = cap_bits(keep)
    assert int(st["CapBnd"], 16) == want
    assert int(st["CapEff"], 16) == want
    assert int(st["CapPrm"], 16) == want
    assert int(st["CapInh"], 16) == 0
    assert int(st["CapAmb"], 16) == 0


def test_capabilities_template(rt, bundle):
    caps = bundle.process["capabilities"]
    st = status_fields(rt.output(bundle, "cat", "/proc/self/status"))
    assert int(st["CapBnd"], 16) == cap_bits(caps["bounding"])
    assert int(st["CapEff"], 16) == cap_bits(caps["effective"])


def test_ambient_capabilities_for_non_root(rt, bundle):
    keep = ["CAP_NET_BIND_SERVICE"]
    bundle.process["user"] = {"uid": 1000, "gid": 1000}
    bundle.process["capabilities"] = {
        "bounding": keep, "effective": keep, "permitted": keep, "inheritable": keep, "ambient": keep}
    st = status_fields(rt.output(bundle, "cat", "/proc/self/status"))
    for k in ("CapBnd", "CapEff", "CapPrm", "CapInh", "CapAmb"):
        assert int(st[k], 16) == 1 << CAPS["CAP_NET_BIND_SERVICE"], k


def test_ambient_without_inheritable_is_ignored(rt, bundle):
    # runc's own `spec` template lists ambient caps but no inheritable ones; runc then runs the
    # container with an empty ambient set instead of failing.  Bundles made with `runc spec`
    # must keep working.
    caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    bundle.process["capabilities"] = {"bounding": caps, "effective": caps, "permitted": caps,
                                      "ambient": caps}
    st = status_fields(rt.output(bundle, "cat", "/proc/self/status"))
    assert int(st["CapAmb"], 16) == 0
    assert int(st["CapEff"], 16) == cap_bits(caps)


def test_no_new_privileges(rt, bundle):
    bundle.process["noNewPrivileges"] = True
    assert status_fields(rt.output(bundle, "cat", "/proc/self/status"))["NoNewPrivs"] == "1"
    bundle.process["noNewPrivileges"] = False
    assert status_fields(rt.output(bundle, "cat", "/proc/self/status"))["NoNewPrivs"] == "0"


def test_oom_score_adj(rt, bundle):
    bundle.process["oomScoreAdj"] = 500
    assert rt.output(bundle, "cat", "/proc/self/oom_score_adj") == "500\n"


def test_sysctl(rt, bundle):
    bundle.linux["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.domainname": "mkrun.test"}
    out = rt.output(bundle, "sh", "-c", "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/domainname")
    assert out == "1\nmkrun.test\n"


def test_user_namespace_mappings(rt, bundle):
    bundle.linux["namespaces"].append({"type": "user"})
    bundle.linux["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    bundle.linux["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    out = rt.output(bundle, "sh", "-c",
                    "cat /proc/self/uid_map; echo; cat /proc/self/gid_map; echo; id -u; id -g; readlink /proc/self/ns/user")
    uid_map, gid_map, rest = out.split("\n\n")
    assert uid_map.split() == ["0", "100000", "65536"]
    assert gid_map.split() == ["0", "100000", "65536"]
    uid, gid, ns = rest.split()
    assert (uid, gid) == ("0", "0")
    assert ns != os.readlink("/proc/self/ns/user")


def test_user_namespace_host_view(rt, bundle):
    bundle.set_args("sleep", "1000")
    bundle.linux["namespaces"].append({"type": "user"})
    bundle.linux["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    bundle.linux["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    cid = rt.create(bundle).ok().cid
    pid = rt.state(cid)["pid"]
    rt.start(cid).ok()
    wait_for(lambda: b"sleep" in open(f"/proc/{pid}/cmdline", "rb").read(), what="exec")
    st = status_fields(read_file(f"/proc/{pid}/status"))
    assert st["Uid"].split() == ["100000"] * 4
    assert st["Gid"].split() == ["100000"] * 4


# The working directory is entered while the runtime is still root, and once more after the
# user changed when root may not enter it (runc's cwd.bats).

def private_directory(path, uid, gid=0):
    """`path` made (or kept) a directory only `uid` may enter: mode 0700."""
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, uid, gid)
    path.chmod(0o700)


def test_exec_as_root_in_a_cwd_only_the_user_may_enter(rt, bundle):
    private_directory(bundle.rootfs / "root", 42)
    bundle.process["cwd"] = "/root"
    bundle.process["user"] = {"uid": 42, "gid": 0}
    bundle.set_args("sleep", "1000")
    cid, _ = rt.started(bundle)
    assert rt("exec", "--user", "0", cid, "pwd").ok().out == "/root\n"


def test_cwd_only_root_may_enter(rt, bundle):
    private_directory(bundle.rootfs / "root", 0)
    bundle.process["cwd"] = "/root"
    bundle.process["user"] = {"uid": 42, "gid": 0}
    assert rt.output(bundle, "sh", "-c", "pwd; ls /tmp") == "/root\n"


def test_cwd_only_the_user_may_enter(rt, bundle):
    # In a user namespace root has no say over a file whose group is not mapped there: only
    # the owner, the process's user 42 (host 100042), may enter this one.
    bundle.linux["namespaces"].append({"type": "user"})
    bundle.linux["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    bundle.linux["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    (bundle.rootfs / "home").mkdir()
    (bundle.rootfs / "home").chmod(0o755)
    private_directory(bundle.rootfs / "home" / "user42", 100042, gid=0)
    bundle.process["cwd"] = "/home/user42"
    bundle.process["user"] = {"uid": 42, "gid": 42}
    assert rt.output(bundle, "sh", "-c", "pwd; id -u") == "/home/user42\n42\n"
