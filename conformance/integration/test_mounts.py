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


def make_copy_up_source(directory):
    """A directory tree with what a copy must keep: owners, modes, links, nesting."""
    directory.mkdir()
    os.chmod(directory, 0o750)
    (directory / "file").write_text("contents\n")
    os.chown(directory / "file", 1234, 5678)
    os.chmod(directory / "file", 0o4754)  # readable: the container's root has no DAC override
    (directory / "sub" / "deeper").mkdir(parents=True)
    (directory / "sub" / "deeper" / "leaf").write_bytes(b"\0" * 100000)
    os.chmod(directory / "sub", 0o711)
    os.chown(directory / "sub", 42, 43)
    os.symlink("sub/deeper/leaf", directory / "link")
    os.lchown(directory / "link", 7, 8)


def test_tmpcopyup_copies_the_rootfs_directory_into_the_tmpfs(rt, bundle):
    """tmpcopyup (`podman run --tmpfs`): the new tmpfs starts with what the rootfs had at its
    mount point, and its root has that directory's mode; writes stay in the tmpfs."""
    make_copy_up_source(bundle.rootfs / "data")
    bundle.add_mount("/data", "tmpfs", "tmpfs", ["tmpcopyup", "nosuid"])
    out = rt.output(bundle, "sh", "-c",
                    "grep ' /data ' /proc/self/mounts | cut -d' ' -f3; "
                    "stat -c '%n %u:%g %a %F' /data /data/file /data/sub /data/link; "
                    "readlink /data/link; cat /data/file; wc -c < /data/link; "
                    "echo new > /data/new && rm /data/sub/deeper/leaf && echo written")
    assert out.splitlines() == [
        "tmpfs",
        "/data 0:0 750 directory",
        "/data/file 1234:5678 4754 regular file",
        "/data/sub 42:43 711 directory",
        "/data/link 7:8 777 symbolic link",
        "sub/deeper/leaf", "contents", "100000", "written"]
    # The rootfs directory itself did not change.
    assert sorted(os.listdir(bundle.rootfs / "data")) == ["file", "link", "sub"]
    assert (bundle.rootfs / "data" / "sub" / "deeper" / "leaf").stat().st_size == 100000


def test_tmpcopyup_of_a_missing_directory_mounts_an_empty_tmpfs(rt, bundle):
    bundle.add_mount("/nowhere", "tmpfs", "tmpfs", ["tmpcopyup", "ro", "mode=700"])
    out = rt.output(bundle, "sh", "-c",
                    "grep ' /nowhere ' /proc/self/mounts; stat -c %a /nowhere; ls -A /nowhere")
    lines = out.splitlines()
    assert lines[0].split()[2] == "tmpfs" and "ro" in lines[0].split()[3].split(","), out
    assert lines[1:] == ["700"]


def test_tmpcopyup_keeps_a_read_only_tmpfs_read_only(rt, bundle):
    make_copy_up_source(bundle.rootfs / "data")
    bundle.add_mount("/data", "tmpfs", "tmpfs", ["tmpcopyup", "ro"])
    r = rt.run(bundle.set_args("sh", "-c", "cat /data/file; touch /data/x"))
    assert r.rc == 1 and "contents" in r.out and "Read-only file system" in r.err, r


def test_tmpfs_over_a_directory_takes_its_mode(rt, bundle):
    """runc chmods a tmpfs mounted over an existing directory to that directory's mode; over a
    missing one, mode= (or the tmpfs default) holds. With mode= over an existing directory runc
    1.1 and 1.5 differ: test_mkrun_only.py::test_tmpfs_mode_option_wins_over_the_covered_*."""
    (bundle.rootfs / "x").mkdir()
    os.chmod(bundle.rootfs / "x", 0o1730)
    bundle.add_mount("/x", "tmpfs", "tmpfs", ["size=1m"])
    bundle.add_mount("/fresh", "tmpfs", "tmpfs", ["mode=710"])
    bundle.add_mount("/fresh-default", "tmpfs", "tmpfs")
    out = rt.output(bundle, "stat", "-c", "%n %a", "/x", "/fresh", "/fresh-default")
    assert out.splitlines() == ["/x 1730", "/fresh 710", "/fresh-default 1777"]


def mount_with_option(bundle, destination, option):
    for m in bundle.config["mounts"]:
        if m["destination"] == destination:
            m.setdefault("options", []).append(option)


def mount_without_option(bundle, destination, option):
    for m in bundle.config["mounts"]:
        if m["destination"] == destination:
            m["options"] = [o for o in m.get("options", []) if o != option]


def test_a_read_only_dev_still_gets_its_devices_and_pts(rt, bundle):
    # runc 1.1.5's mounts.bats "ro /dev mount" (runc issue 3248): /dev is made read-only last.
    mount_with_option(bundle, "/dev", "ro")
    m = mounts_in(rt, bundle)
    assert m["/dev"][0] == "tmpfs" and "ro" in m["/dev"][1]
    assert m["/dev/pts"][0] == "devpts"
    out = rt.output(bundle, "stat", "-c", "%t:%T", "/dev/null")
    assert out.strip() == "1:3"


def test_a_read_only_tmpfs_is_read_only(rt, bundle):
    bundle.add_mount("/data", "tmpfs", "tmpfs", ["ro", "nosuid", "nodev", "mode=755"])
    m = mounts_in(rt, bundle)
    assert "ro" in m["/data"][1]


def test_cgroup_mount_is_read_only_only_when_it_says_ro(rt, bundle):
    # runc 1.1.5's mounts.bats "ro /sys/fs/cgroup mount", and its helpers' set_cgroup_mount_writable:
    # without "ro" the container's cgroup directories are writable.
    def cgroup_lines():
        text = rt.output(bundle, "cat", "/proc/self/mounts")
        return [l.split() for l in text.splitlines() if l.split()[1].startswith("/sys/fs/cgroup")]

    readonly = cgroup_lines()
    assert readonly and all("ro" in l[3].split(",") for l in readonly if l[2] != "tmpfs"), readonly
    mount_without_option(bundle, "/sys/fs/cgroup", "ro")
    writable = cgroup_lines()
    assert writable and all("rw" in l[3].split(",") for l in writable), writable


def test_proc_on_an_image_symlink_must_be_an_ordinary_directory(rt, bundle):
    # runc 1.1.5's mask.bats "prohibit symlink /proc": refused, in runc's words.
    proc = bundle.rootfs / "proc"
    if proc.is_dir() and not proc.is_symlink():
        proc.rmdir()
    proc.symlink_to("/symlink")
    r = rt.run(bundle.set_args("true"))
    r.fails(1, "must be mounted on ordinary directory")



def test_bind_sources_below_the_rootfs_see_the_mounts_before_them(rt, bundle, scratch):
    # runc's "mount order" test: a source below the rootfs is looked up when it is mounted, in
    # the tree the earlier mounts built, so later binds can copy parts of that tree.
    for sub in ("a/x", "b/y", "c/z"):
        (scratch / "src" / sub).mkdir(parents=True)
        (scratch / "src" / sub / "file").write_text(sub)
    (bundle.rootfs / "mnt").mkdir()
    (bundle.rootfs / "final").mkdir()
    root = str(bundle.rootfs)
    for source, destination in [(f"{scratch}/src/a", "/mnt"), (f"{scratch}/src/b", "/mnt/x"),
                                (f"{scratch}/src/c", "/mnt/x/y"), (f"{scratch}/src/a", "/mnt/x/y/z"),
                                (f"{root}/mnt/x", f"{root}/mnt/x/y/z/x"),
                                (f"{root}/mnt/x/y", f"{root}/mnt/x/y/z"),
                                (f"{root}/mnt", f"{root}/final")]:
        bundle.config["mounts"].append({"type": "bind", "source": source,
                                        "destination": destination, "options": ["rbind"]})
    assert rt.output(bundle.set_args("cat", "/final/x/y/z/z/x/y/z/x/file")) == "a/x"
