"""The container's filesystem: standard mounts, /dev, masked and read-only paths, config mounts."""
import os

import pytest

from harness import parse_mounts

pytestmark = pytest.mark.parity


def mounts_in(rt, bundle):
    return parse_mounts(rt.output(bundle, "cat", "/proc/self/mounts"))


def test_standard_mounts(rt, bundle):
    m = mounts_in(rt, bundle)
    assert m["/proc"][0] == "proc"
    assert m["/dev"][0] == "tmpfs"
    assert {"nosuid", "mode=755"} <= m["/dev"][1]
    assert m["/dev/pts"][0] == "devpts"
    assert {"nosuid", "noexec", "mode=620", "ptmxmode=666", "gid=5"} <= m["/dev/pts"][1]
    assert m["/dev/shm"][0] == "tmpfs"
    assert {"nosuid", "noexec", "nodev"} <= m["/dev/shm"][1]
    assert m["/dev/mqueue"][0] == "mqueue"
    assert m["/sys"][0] == "sysfs"
    assert "ro" in m["/sys"][1]
    # the host's mounts are not visible
    assert not any(p.startswith(("/tmp/", "/var/", "/home")) for p in m)


def test_dev_nodes(rt, bundle):
    names = ["null", "zero", "full", "random", "urandom", "tty"]
    out = rt.output(bundle, "stat", "-c", "%n|%F|%t:%T|%a", *[f"/dev/{n}" for n in names])
    got = {l.split("|")[0]: l.split("|")[1:] for l in out.splitlines()}
    want = {"null": "1:3", "zero": "1:5", "full": "1:7", "random": "1:8", "urandom": "1:9", "tty": "5:0"}
    for n, dev in want.items():
        assert got[f"/dev/{n}"] == ["character special file", dev, "666"], n


def test_dev_symlinks(rt, bundle):
    links = {"/dev/fd": "/proc/self/fd", "/dev/stdin": "/proc/self/fd/0",
             "/dev/stdout": "/proc/self/fd/1", "/dev/stderr": "/proc/self/fd/2", "/dev/ptmx": "pts/ptmx"}
    out = rt.output(bundle, "sh", "-c", " ".join(f"readlink {l};" for l in links))
    assert out.split() == list(links.values())


def test_dev_has_nothing_else_from_host(rt, bundle):
    out = rt.output(bundle, "ls", "-A", "/dev")
    entries = set(out.split())
    assert entries >= {"null", "zero", "full", "random", "urandom", "tty", "ptmx", "pts", "shm",
                       "mqueue", "fd", "stdin", "stdout", "stderr"}
    for host_only in ("sda", "vda", "kmsg", "mem", "loop0", "nvme0"):
        assert host_only not in entries


def test_devpts_is_private(rt, bundle):
    # newinstance: the container sees its own, empty devpts (only ptmx)
    assert rt.output(bundle, "ls", "-A", "/dev/pts").split() == ["ptmx"]


def test_root_readonly(rt, bundle):
    bundle.config["root"]["readonly"] = True
    out = rt.output(bundle, "sh", "-c",
                    "touch /x 2>/dev/null && echo writable || echo readonly; "
                    "touch /dev/shm/x && echo shm-ok; cat /proc/self/mounts")
    assert out.startswith("readonly\nshm-ok\n"), out
    m = parse_mounts(out.split("\n", 2)[2])
    assert "ro" in m["/"][1]
    assert not (bundle.rootfs / "x").exists()


def test_root_writable(rt, bundle):
    bundle.config["root"]["readonly"] = False
    rt.output(bundle, "sh", "-c", "echo data > /written")
    assert (bundle.rootfs / "written").read_text() == "data\n"


MASKABLE_FILES = [p for p in ("/proc/kcore", "/proc/keys", "/proc/timer_list") if os.path.exists(p)]


def test_masked_paths(rt, bundle):
    assert MASKABLE_FILES, "no candidate file to mask on this kernel"
    f = MASKABLE_FILES[0]
    bundle.linux["maskedPaths"] = [f, "/sys/firmware", "/proc/no-such-path"]
    out = rt.output(bundle, "sh", "-c",
                    f"stat -c '%F|%t:%T' {f}; wc -c < {f}; ls -A /sys/firmware | wc -l; "
                    "touch /sys/firmware/x 2>/dev/null && echo writable || echo ro; "
                    "grep -c ' /sys/firmware ' /proc/self/mounts")
    # files: /dev/null bound over them; directories: an empty read-only tmpfs
    assert out.split("\n") == ["character special file|1:3", "0", "0", "ro", "1", ""]


def test_masked_paths_from_template(rt, bundle):
    masked = [p for p in bundle.linux["maskedPaths"] if p in MASKABLE_FILES]
    assert masked, bundle.linux["maskedPaths"]
    out = rt.output(bundle, "sh", "-c", "".join(f"wc -c < {p}; " for p in masked))
    assert out.split() == ["0"] * len(masked)


def test_readonly_paths(rt, bundle):
    ro = [p for p in ("/proc/sys", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sysrq-trigger")
          if os.path.exists(p)]
    bundle.linux["readonlyPaths"] = ro + ["/proc/no-such-path"]
    out = rt.output(bundle, "sh", "-c",
                    "echo 1 > /proc/sys/net/ipv4/ip_forward 2>/dev/null && echo writable || echo ro; "
                    "cat /proc/self/mounts")
    first, rest = out.split("\n", 1)
    assert first == "ro"
    m = parse_mounts(rest)
    for p in ro:
        assert "ro" in m[p][1], p
    assert "ro" not in m["/proc"][1]


def test_bind_mounts(rt, bundle, scratch):
    ro = scratch / "ro"
    ro.mkdir()
    (ro / "hello").write_text("from the host\n")
    rw = scratch / "rw"
    rw.mkdir()
    bundle.add_mount("/data", "bind", ro, ["rbind", "ro"])
    bundle.add_mount("/out", "bind", rw, ["rbind", "rw"])
    out = rt.output(bundle, "sh", "-c",
                    "cat /data/hello; touch /data/new 2>/dev/null && echo writable || echo ro; "
                    "echo written > /out/file; cat /proc/self/mounts")
    lines = out.split("\n", 2)
    assert lines[:2] == ["from the host", "ro"]
    m = parse_mounts(lines[2])
    assert "ro" in m["/data"][1]
    assert "rw" in m["/out"][1]
    assert not (ro / "new").exists()
    assert (rw / "file").read_text() == "written\n"
    # mount points were created in the rootfs
    assert (bundle.rootfs / "data").is_dir() and (bundle.rootfs / "out").is_dir()


def test_bind_mount_file(rt, bundle, scratch):
    f = scratch / "file.txt"
    f.write_text("single file\n")
    bundle.add_mount("/etc/injected.txt", "bind", f, ["bind", "ro"])
    assert rt.output(bundle, "cat", "/etc/injected.txt") == "single file\n"
    assert (bundle.rootfs / "etc" / "injected.txt").is_file()


def test_tmpfs_mount_options(rt, bundle):
    bundle.add_mount("/scratch", "tmpfs", "tmpfs", ["nosuid", "nodev", "size=1m", "mode=1770"])
    out = rt.output(bundle, "sh", "-c", "stat -c %a /scratch; cat /proc/self/mounts")
    first, rest = out.split("\n", 1)
    assert first == "1770"
    fstype, opts = parse_mounts(rest)["/scratch"]
    assert fstype == "tmpfs"
    assert {"nosuid", "nodev", "size=1024k", "mode=1770"} <= opts


def test_mount_noexec(rt, bundle):
    bundle.add_mount("/noexec", "tmpfs", "tmpfs", ["noexec"])
    out = rt.output(bundle, "sh", "-c",
                    "cp /bin/busybox /noexec/bb && /noexec/bb true 2>/dev/null && echo ran || echo denied")
    assert out == "denied\n"


def test_devices(rt, bundle):
    bundle.linux["devices"] = [
        {"path": "/dev/full2", "type": "c", "major": 1, "minor": 7, "fileMode": 0o666},
        {"path": "/dev/sub/null2", "type": "c", "major": 1, "minor": 3, "fileMode": 0o640,
         "uid": 1000, "gid": 1001}]
    out = rt.output(bundle, "sh", "-c",
                    "stat -c '%F|%t:%T|%a|%u:%g' /dev/full2 /dev/sub/null2; "
                    "head -c 4 /dev/full2 | od -An -tx1; "
                    "echo x > /dev/full2 2>/dev/null && echo wrote || echo failed")
    lines = out.splitlines()
    assert lines[0] == "character special file|1:7|666|0:0"
    assert lines[1] == "character special file|1:3|640|1000:1001"
    assert lines[2].split() == ["00"] * 4
    assert lines[3] == "failed"


def test_device_write_error(rt, bundle):
    bundle.linux["devices"] = [{"path": "/dev/full2", "type": "c", "major": 1, "minor": 7, "fileMode": 0o666}]
    r = rt.run(bundle.sh("echo x > /dev/full2"))
    assert r.rc != 0
    assert "No space left on device" in r.err
