"""CDI devices applied by mkrun itself (docs/cdi.md): real host devices (/dev/fuse, /dev/net/tun,
/dev/kvm when present), an "MPI" device that binds a host library directory and runs a
createContainer hook, a GPU spec in the shape nvidia-ctk generates against stand-in device nodes,
and the attacks: node paths through rootfs symlinks, mounts climbing out with "..", unknown
devices, writable spec directories, conflicts.

Spec directories are scratch directories passed with --cdi-spec-dirs, never /etc/cdi. runc has no
CDI: every test is mkrun_only."""
import json
import os
import secrets
import stat
import subprocess

import pytest

pytestmark = pytest.mark.mkrun_only


# ---- helpers ----------------------------------------------------------------------------------

def spec_dir(scratch, name="cdi", mode=0o755):
    d = scratch / name
    d.mkdir()
    d.chmod(mode)
    return d


def write_spec(directory, name, spec, mode=0o644):
    path = directory / name
    path.write_text(json.dumps(spec) if name.endswith(".json") else spec)
    path.chmod(mode)
    return path


def device_spec(kind, devices, version="0.6.0", edits=None):
    spec = {"cdiVersion": version, "kind": kind,
            "devices": [{"name": n, "containerEdits": e} for n, e in devices.items()]}
    if edits:
        spec["containerEdits"] = edits
    return spec


def run(rt, bundle, dirs, *global_flags, create=False):
    """`mkrun --cdi-spec-dirs <dirs> [flags] run|create` of the bundle, with an id the fixture
    cleans up."""
    bundle.save()
    cid = rt.new_id()
    dir_list = ":".join(str(d) for d in dirs)
    command = "create" if create else "run"
    r = rt.raw("--cdi-spec-dirs", dir_list, *global_flags, "--root", rt.root, command,
               "--bundle", bundle.path, cid)
    r.cid = cid
    return r


def ask_for(bundle, *devices, key="cdi.k8s.io/test"):
    bundle.config.setdefault("annotations", {})[key] = ",".join(devices)
    return bundle


def host_rdev(path):
    st = os.stat(path)
    return os.major(st.st_rdev), os.minor(st.st_rdev)


# ---- features ---------------------------------------------------------------------------------

def test_features_list_the_cdi_annotation_prefix(rt):
    features = json.loads(rt.raw("features").ok().out)
    assert "cdi.k8s.io/" in features["annotations"]
    assert "1.1.0" in features["annotations"]["cdi.k8s.io/"]


# ---- real host devices ------------------------------------------------------------------------

REAL_DEVICES = [p for p in ("/dev/fuse", "/dev/net/tun", "/dev/kvm") if os.path.exists(p)]


@pytest.mark.parametrize("host_path", REAL_DEVICES)
def test_a_real_host_device_is_created_and_usable(rt, bundle, scratch, host_path):
    # The spec gives only the path: type, major and minor come from the host's node, and the
    # device-cgroup rule lets the container open it (without it: "Operation not permitted", see
    # the test below; /dev/net/tun is among runc's default allowed devices anyway).
    d = spec_dir(scratch)
    write_spec(d, "host.json", device_spec("host.test/dev", {"node": {
        "deviceNodes": [{"path": host_path}]}}, version="0.3.0"))
    major, minor = host_rdev(host_path)
    bundle.sh(f"stat -c '%F %t:%T' {host_path}; exec 3<>{host_path} && echo opened")
    r = run(rt, ask_for(bundle, "host.test/dev=node"), [d]).ok()
    assert r.out.split("\n")[0] == f"character special file {major:x}:{minor:x}"
    assert "opened" in r.out


def test_the_global_flag_asks_for_devices_without_annotations(rt, bundle, scratch):
    d = spec_dir(scratch)
    write_spec(d, "fuse.yaml", "cdiVersion: 0.3.0\nkind: host.test/fuse\ndevices:\n"
                               "- name: fuse\n  containerEdits:\n    deviceNodes:\n"
                               "    - path: /dev/fuse\n    env: [FUSE_GIVEN=1]\n")
    bundle.sh("echo $FUSE_GIVEN; exec 3<>/dev/fuse && echo opened")
    r = run(rt, bundle, [d], "--cdi-device", "host.test/fuse=fuse").ok()
    assert r.out.split() == ["1", "opened"]


def test_permissions_none_gives_the_node_but_no_access(rt, bundle, scratch):
    # /dev/fuse: not among runc's default allowed devices (/dev/net/tun is).
    d = spec_dir(scratch)
    write_spec(d, "fuse.json", device_spec("host.test/fs", {"fuse": {
        "deviceNodes": [{"path": "/dev/fuse", "permissions": "none"}]}}, version="0.3.0"))
    bundle.sh("test -c /dev/fuse && echo present; exec 3<>/dev/fuse && echo opened")
    r = run(rt, ask_for(bundle, "host.test/fs=fuse"), [d])
    assert r.rc != 0, r
    assert "present" in r.out
    assert "opened" not in r.out
    assert "Operation not permitted" in r.err


def test_a_specs_permissions_are_the_device_rules_access(rt, bundle, scratch):
    # "r": the rule lets the node open for reading only (v1: devices.allow "c 10:229 r"; v2: the
    # eBPF program, which the guest suite runs this under). Opening it for writing is refused by
    # the device cgroup: the node's mode lets its owner, the container's root, write.
    d = spec_dir(scratch)
    write_spec(d, "fuse.json", device_spec("host.test/fs", {"fuse": {
        "deviceNodes": [{"path": "/dev/fuse", "permissions": "r", "fileMode": 0o600}]}},
        version="0.3.0"))
    bundle.sh("stat -c %a /dev/fuse; exec 3</dev/fuse && echo read-opened; "
              "exec 4>/dev/fuse && echo write-opened")
    r = run(rt, ask_for(bundle, "host.test/fs=fuse"), [d])
    assert r.rc != 0, r
    assert r.out.split() == ["600", "read-opened"], r
    assert "Operation not permitted" in r.err, r


# ---- an MPI stack: a host library directory, LD_LIBRARY_PATH, a createContainer hook ----------

def test_an_mpi_device_binds_libraries_sets_the_path_and_runs_its_hook(rt, bundle, scratch):
    # busybox has no ldconfig: the hook does what `ldconfig` would leave behind, observably. It
    # runs (as createContainer hooks do) in the container's mount namespace with the rootfs as
    # its cwd, after the mounts: it lists the bound directory through the container's view and
    # writes the library directory into etc/ld.so.conf.d and an index of the libraries found.
    lib = scratch / "mpi-lib"
    lib.mkdir()
    (lib / "libmpi.so.40").write_text("not really a library\n")
    hook = scratch / "mpi-ldconfig.sh"
    hook.write_text("#!/bin/sh\nmkdir -p etc/ld.so.conf.d\n"
                    "echo /opt/mpi/lib > etc/ld.so.conf.d/mpi.conf\n"
                    "ls opt/mpi/lib > etc/ld.so.cache.index\n")
    hook.chmod(0o755)
    d = spec_dir(scratch)
    write_spec(d, "mpi.yaml", f"""---
cdiVersion: 0.5.0
kind: mpi.test/fabric
containerEdits:
  env: [LD_LIBRARY_PATH=/opt/mpi/lib]
  mounts:
  - hostPath: {lib}
    containerPath: /opt/mpi/lib
    options: [ro, nosuid, nodev, bind]
  hooks:
  - hookName: createContainer
    path: {hook}
    args: [mpi-ldconfig]
devices:
- name: "0"
  containerEdits:
    env: [MPI_RANK_DEVICE=0]
""")
    bundle.sh("echo $LD_LIBRARY_PATH $MPI_RANK_DEVICE; cat /etc/ld.so.conf.d/mpi.conf; "
              "cat /etc/ld.so.cache.index; cat /opt/mpi/lib/libmpi.so.40; "
              "touch /opt/mpi/lib/x 2>/dev/null || echo read-only")
    r = run(rt, ask_for(bundle, "mpi.test/fabric=0"), [d]).ok()
    assert r.out.splitlines() == ["/opt/mpi/lib 0", "/opt/mpi/lib", "libmpi.so.40",
                                  "not really a library", "read-only"]
    # The bind was the container's: the host's view of the rootfs has an empty mount point.
    assert os.listdir(bundle.rootfs / "opt/mpi/lib") == []


def test_a_poststop_hook_from_a_spec_runs_at_delete(rt, bundle, scratch):
    # delete reads the hooks from the state's copy of the config: the edits must be in it.
    marker = scratch / "poststop-ran"
    d = spec_dir(scratch)
    write_spec(d, "stop.json", device_spec("hook.test/stop", {"x": {"hooks": [{
        "hookName": "poststop", "path": "/bin/sh", "args": ["sh", "-c", f"touch {marker}"]}]}},
        version="0.3.0"))
    bundle.set_args("sleep", "100")
    r = run(rt, ask_for(bundle, "hook.test/stop=x"), [d], create=True).ok()
    assert not marker.exists()
    rt("delete", "--force", r.cid).ok()
    assert marker.exists()


def test_exec_sees_the_environment_a_spec_gave(rt, bundle, scratch):
    # exec takes the container's environment from the state's copy of the config.
    d = spec_dir(scratch)
    write_spec(d, "env.json", device_spec("env.test/c", {"x": {"env": ["FROM_CDI=yes"]}}))
    bundle.set_args("sleep", "100")
    r = run(rt, ask_for(bundle, "env.test/c=x"), [d], create=True).ok()
    assert rt("exec", r.cid, "sh", "-c", "echo $FROM_CDI").ok().out == "yes\n"
    rt("delete", "--force", r.cid).ok()


@pytest.fixture
def veth():
    name = f"cdv{secrets.token_hex(3)}"
    subprocess.run(["ip", "link", "add", name, "type", "veth", "peer", "name", name + "p"],
                   check=True)
    yield name
    for end in (name + "p", name):
        subprocess.run(["ip", "link", "del", end], stderr=subprocess.DEVNULL)


def test_a_1_1_spec_moves_a_net_device_into_the_container(rt, bundle, scratch, veth):
    d = spec_dir(scratch)
    write_spec(d, "net.yaml", f"""cdiVersion: 1.1.0
kind: fabric.test/nic
devices:
- name: port0
  containerEdits:
    netDevices:
    - hostInterfaceName: {veth}
      name: hsn0
""")
    bundle.sh("cat /sys/class/net/hsn0/ifindex")
    assert run(rt, ask_for(bundle, "fabric.test/nic=port0"), [d]).ok().out.strip().isdigit()
    # An older version may not carry netDevices.
    write_spec(d, "net.yaml", (d / "net.yaml").read_text().replace("1.1.0", "1.0.0"))
    r = run(rt, ask_for(bundle, "fabric.test/nic=port0"), [d])
    r.fails(msg="cdiVersion: \"1.0.0\" is too old for the fields used: they need at least 1.1.0")


# ---- a GPU, as nvidia-ctk describes it, against stand-in nodes --------------------------------

def test_an_nvidia_ctk_shaped_spec_against_stand_in_nodes(rt, bundle, scratch):
    # `nvidia-ctk cdi generate`'s shape: spec-level nodes, env, a createContainer hook running
    # nvidia-ctk, read-only library binds, and per-GPU devices "0", "GPU-<uuid>", "all". The nodes
    # are stand-ins the test makes (NVIDIA's majors, no driver behind them): opening one reaches
    # the missing driver (ENXIO) rather than the device cgroup (EPERM).
    dev = scratch / "dev"
    dev.mkdir()
    nodes = {"nvidia0": (195, 0), "nvidiactl": (195, 255), "nvidia-uvm": (235, 0)}
    for name, (major, minor) in nodes.items():
        os.mknod(dev / name, 0o666 | stat.S_IFCHR, os.makedev(major, minor))
    lib = scratch / "libcuda.so.535.104.05"
    lib.write_text("stand-in libcuda\n")
    ctk = scratch / "nvidia-ctk"
    ctk.write_text(f"#!/bin/sh\necho \"$@\" > {scratch}/ctk-args\n")
    ctk.chmod(0o755)
    d = spec_dir(scratch)
    write_spec(d, "nvidia.yaml", f"""---
cdiVersion: 0.5.0
containerEdits:
  deviceNodes:
  - path: /dev/nvidiactl
    hostPath: {dev}/nvidiactl
  - path: /dev/nvidia-uvm
    hostPath: {dev}/nvidia-uvm
  env:
  - NVIDIA_VISIBLE_DEVICES=void
  hooks:
  - args:
    - nvidia-ctk
    - hook
    - update-ldcache
    - --folder
    - /usr/lib/x86_64-linux-gnu
    hookName: createContainer
    path: {ctk}
  mounts:
  - containerPath: /usr/lib/x86_64-linux-gnu/libcuda.so.535.104.05
    hostPath: {lib}
    options:
    - ro
    - nosuid
    - nodev
    - bind
devices:
- containerEdits:
    deviceNodes:
    - path: /dev/nvidia0
      hostPath: {dev}/nvidia0
  name: "0"
- containerEdits:
    deviceNodes:
    - path: /dev/nvidia0
      hostPath: {dev}/nvidia0
  name: GPU-6b5f3a09-8d9c-2f4e-b7a1-0c1d2e3f4a5b
kind: nvidia.com/gpu
""")
    bundle.sh("stat -c '%n %t:%T' /dev/nvidia0 /dev/nvidiactl /dev/nvidia-uvm; "
              "echo $NVIDIA_VISIBLE_DEVICES; cat /usr/lib/x86_64-linux-gnu/libcuda.so.535.104.05; "
              "cat /dev/nvidia0")
    r = run(rt, ask_for(bundle, "nvidia.com/gpu=0", key="cdi.k8s.io/nvidia-device-plugin"),
            [d])
    assert r.rc == 1, r  # cat fails: no driver
    assert r.out.splitlines() == ["/dev/nvidia0 c3:0", "/dev/nvidiactl c3:ff",
                                  "/dev/nvidia-uvm eb:0", "void", "stand-in libcuda"]
    assert "No such device or address" in r.err
    assert (scratch / "ctk-args").read_text().split() == [
        "hook", "update-ldcache", "--folder", "/usr/lib/x86_64-linux-gnu"]


# ---- errors and priorities --------------------------------------------------------------------

def test_an_unknown_device_is_refused_and_leaves_nothing(rt, bundle, scratch):
    d = spec_dir(scratch)
    write_spec(d, "a.json", device_spec("v.test/c", {"a": {"env": ["A=1"]}}))
    r = run(rt, ask_for(bundle, "v.test/c=a,v.test/c=nope"), [d])
    r.fails(msg='cdi: unknown CDI device "v.test/c=nope": no spec that loaded defines it')
    assert rt.state_raw(r.cid).rc != 0


def test_an_annotation_that_is_not_a_device_name_is_refused(rt, bundle, scratch):
    d = spec_dir(scratch)
    r = run(rt, ask_for(bundle, "nvidia.com/gpu"), [d])
    r.fails(msg='cdi: annotation cdi.k8s.io/test: invalid CDI device name "nvidia.com/gpu"')


def test_a_broken_spec_is_named_with_its_field(rt, bundle, scratch):
    d = spec_dir(scratch)
    broken = write_spec(d, "broken.json", {"cdiVersion": "0.3.0", "kind": "v.test/c",
                                           "devices": [{"name": "a", "containerEdits": {
                                               "mounts": [{"hostPath": "/x"}]}}]})
    r = run(rt, ask_for(bundle, "v.test/c=a"), [d])
    r.fails(msg=f"not loaded: {broken}: devices[0].containerEdits.mounts[0].containerPath: "
                "empty container path")
    # A broken file beside a good one that defines the device: a warning, and the container runs.
    write_spec(d, "good.json", device_spec("v.test/c", {"b": {"env": ["B=1"]}}))
    bundle.sh("echo $B")
    r = run(rt, ask_for(bundle, "v.test/c=b"), [d]).ok()
    assert r.out.strip() == "1"
    assert f"cdi: not loaded: {broken}: devices[0]" in r.err


def test_the_same_device_in_one_directory_is_a_conflict(rt, bundle, scratch):
    d = spec_dir(scratch)
    a = write_spec(d, "a.json", device_spec("v.test/c", {"x": {"env": ["FROM=a"]}}))
    b = write_spec(d, "b.json", device_spec("v.test/c", {"x": {"env": ["FROM=b"]}}))
    r = run(rt, ask_for(bundle, "v.test/c=x"), [d])
    r.fails(msg=f'CDI device "v.test/c=x" is defined in both {a} and {b}')


def test_a_later_directory_wins(rt, bundle, scratch):
    low, high = spec_dir(scratch, "etc-cdi"), spec_dir(scratch, "run-cdi")
    write_spec(low, "x.json", device_spec("v.test/c", {"x": {"env": ["FROM=etc"]}}))
    write_spec(high, "x.json", device_spec("v.test/c", {"x": {"env": ["FROM=run"]}}))
    bundle.sh("echo $FROM")
    assert run(rt, ask_for(bundle, "v.test/c=x"), [low, high]).ok().out.strip() == "run"
    assert run(rt, ask_for(bundle, "v.test/c=x"), [high, low]).ok().out.strip() == "etc"


def test_a_spec_directory_writable_by_others_is_refused(rt, bundle, scratch):
    d = spec_dir(scratch, mode=0o777)
    d.chmod(0o777)  # past the umask
    write_spec(d, "a.json", device_spec("v.test/c", {"x": {"env": ["A=1"]}}))
    r = run(rt, ask_for(bundle, "v.test/c=x"), [d])
    r.fails(msg=f"cdi: spec directory {d} is writable by group or others (mode 0777)")


def test_a_spec_file_writable_by_others_is_not_loaded(rt, bundle, scratch):
    d = spec_dir(scratch)
    f = write_spec(d, "a.json", device_spec("v.test/c", {"x": {"env": ["A=1"]}}), mode=0o666)
    r = run(rt, ask_for(bundle, "v.test/c=x"), [d])
    r.fails(msg=f"not loaded: {f}: writable by group or others (mode 0666)")


def test_a_device_node_path_through_a_rootfs_symlink_stays_inside(rt, bundle, scratch):
    # The image makes /evil a symlink to a host directory's absolute path: the node must be made
    # inside the rootfs (the symlink resolved as if the rootfs were /), never on the host.
    outside = scratch / "outside"
    outside.mkdir()
    os.symlink(str(outside), bundle.rootfs / "evil")
    d = spec_dir(scratch)
    write_spec(d, "fuse.json", device_spec("v.test/c", {"x": {
        "deviceNodes": [{"path": "/evil/fuse", "hostPath": "/dev/fuse"}]}}, version="0.5.0"))
    bundle.sh("test -c /evil/fuse && echo made")
    r = run(rt, ask_for(bundle, "v.test/c=x"), [d]).ok()
    assert r.out == "made\n"
    assert os.listdir(outside) == []
    assert stat.S_ISCHR(os.lstat(bundle.rootfs / str(outside).lstrip("/") / "fuse").st_mode)


def test_a_mount_climbing_out_with_dotdot_stays_inside(rt, bundle, scratch):
    # containerPath "../../..<scratch>/escaped" is taken relative to the container's "/": it
    # cannot name a host path.
    lib = scratch / "lib"
    lib.mkdir()
    (lib / "marker").write_text("x")
    target = scratch / "escaped"
    d = spec_dir(scratch)
    write_spec(d, "m.json", device_spec("v.test/c", {"x": {"mounts": [{
        "hostPath": str(lib), "containerPath": "../../../../.." + str(target),
        "options": ["bind", "ro"]}]}}))
    bundle.sh(f"cat {target}/marker")
    r = run(rt, ask_for(bundle, "v.test/c=x"), [d])
    assert not target.exists(), r
    assert r.rc == 0 and r.out == "x", r
