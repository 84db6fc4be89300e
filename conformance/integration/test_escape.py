"""Attacks on the host through what a container's image, a volume or an engine hands mkrun.

One test (or a few) per class of docs/security.md. Every bundle here is hostile on purpose:
symlinks in the image, a /dev that is a volume, configs with keys missing, null or empty. The
probes only detect: stat identity, mount flags, marker files in the test's scratch directory.
Nothing here writes a host-sensitive file; where an attack needs a procfs target, it is
/proc/sys/kernel/domainname, which belongs to the container's own UTS namespace.
"""
import fcntl
import json
import os
import shutil
import subprocess
import textwrap

import pytest

from harness import CAPS, ConsoleReceiver, status_fields

ALL_CAP_FIELDS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")


def status_of_container(rt, bundle):
    bundle.set_args("cat", "/proc/self/status")
    bundle.save()
    return status_fields(rt.run(bundle).ok().out)


# ---- absence, null and emptiness mean "nothing" ----------------------------------------------

@pytest.mark.parity
@pytest.mark.parametrize("how", ["absent", "null", "empty object"])
def test_capabilities_not_listed_are_not_granted(rt, bundle, how):
    if how == "absent":
        del bundle.process["capabilities"]
    else:
        bundle.process["capabilities"] = None if how == "null" else {}
    status = status_of_container(rt, bundle)
    for field in ALL_CAP_FIELDS:
        assert int(status[field], 16) == 0, f"{field}={status[field]} with capabilities {how}"


@pytest.mark.parity
@pytest.mark.parametrize("field", ["bounding", "inheritable", "ambient"])
def test_a_missing_capability_set_is_empty(rt, bundle, field):
    # (effective and permitted are refilled by the kernel when uid 0 executes a file)
    caps = bundle.process["capabilities"]
    caps.pop(field, None)
    status = status_of_container(rt, bundle)
    name = {"bounding": "CapBnd", "effective": "CapEff", "permitted": "CapPrm",
            "inheritable": "CapInh", "ambient": "CapAmb"}[field]
    assert int(status[name], 16) == 0


@pytest.mark.parity
def test_exec_process_without_capabilities_gets_the_containers(rt, bundle, scratch):
    bundle.process["capabilities"] = {k: ["CAP_KILL"] for k in ("bounding", "effective",
                                                               "permitted")}
    bundle.set_args("sleep", "100")
    bundle.save()
    cid = rt.new_id()
    rt("run", "-d", "--bundle", bundle.path, cid).ok()
    process = {"args": ["cat", "/proc/self/status"], "cwd": "/", "user": {"uid": 0, "gid": 0},
               "env": ["PATH=/bin"]}
    (scratch / "process.json").write_text(json.dumps(process))
    out = rt("exec", "--process", scratch / "process.json", cid).ok().out
    status = status_fields(out)
    assert int(status["CapBnd"], 16) == 1 << CAPS["CAP_KILL"]
    assert int(status["CapEff"], 16) == 1 << CAPS["CAP_KILL"]
    rt.kill(cid, "KILL").ok()
    rt.delete(cid, "--force").ok()


def _set(container, key, form, empty):
    if form == "absent":
        container.pop(key, None)
    else:
        container[key] = None if form == "null" else empty


def _own_nofile_soft_limit():
    import resource
    return str(resource.getrlimit(resource.RLIMIT_NOFILE)[0])


# field -> (where it lives, its empty value, a shell probe, what the probe must print)
ABSENCE_CASES = {
    "rlimits": ("process", [], "ulimit -n", _own_nofile_soft_limit),
    "additionalGids": ("user", [], "grep Groups: /proc/self/status | cut -f2", lambda: ""),
    "noNewPrivileges": ("process", False, "grep NoNewPrivs: /proc/self/status | cut -f2",
                        lambda: "0"),
    "seccomp": ("linux", {}, "grep ^Seccomp: /proc/self/status | cut -f2", lambda: "0"),
    "maskedPaths": ("linux", [], "grep -c ' /proc/[a-z]' /proc/self/mountinfo", lambda: "0"),
    "readonlyPaths": ("linux", [], "grep -c ' /proc/[a-z]' /proc/self/mountinfo", lambda: "0"),
    "devices": ("linux", [], "ls /dev | grep -c -v -x -E "
                "'null|zero|full|random|urandom|tty|pts|ptmx|shm|mqueue|fd|stdin|stdout|"
                "stderr|core|console'", lambda: "0"),
    "sysctl": ("linux", {}, "cat /proc/sys/kernel/domainname",
               lambda: open("/proc/sys/kernel/domainname").read().strip()),
    "apparmorProfile": ("process", "", "echo ok", lambda: "ok"),
    "selinuxLabel": ("process", "", "echo ok", lambda: "ok"),
}


@pytest.mark.parity
@pytest.mark.parametrize("form", ["absent", "null", "empty"])
@pytest.mark.parametrize("field", sorted(ABSENCE_CASES))
def test_a_missing_null_or_empty_field_adds_nothing(rt, bundle, field, form):
    """Go decodes null as absent: no rlimit, group, filter, mask, device or label is added."""
    where, empty, probe, expected = ABSENCE_CASES[field]
    if field in ("maskedPaths", "readonlyPaths"):  # the other one would show under /proc too
        bundle.linux["maskedPaths"] = bundle.linux["readonlyPaths"] = []
    if field == "seccomp" and form == "empty":
        pytest.skip("an empty seccomp object is refused by runc's validation (no defaultAction)")
    container = {"process": bundle.process, "linux": bundle.linux,
                 "user": bundle.process["user"]}[where]
    _set(container, field, form, empty)
    bundle.sh(probe + "; true")
    bundle.save()
    assert rt.run(bundle).ok().out.strip() == expected()


# ---- masks are made of a verified /dev/null (CVE-2025-31133) ---------------------------------

def dev_volume(bundle, scratch, null_target):
    """/dev as a bind mount of a scratch directory whose `null` is a symlink."""
    dev = scratch / "dev"
    dev.mkdir()
    os.symlink(null_target, dev / "null")
    bundle.config["mounts"] = [m for m in bundle.config["mounts"] if m["destination"] != "/dev"]
    bundle.config["mounts"].insert(1, {"destination": "/dev", "type": "bind",
                                       "source": str(dev), "options": ["rbind"]})
    bundle.config["mounts"] = [m for m in bundle.config["mounts"]
                               if not m["destination"].startswith("/dev/")]
    return dev


@pytest.mark.mkrun_only  # runc 1.1 binds the symlink's target (fixed in runc 1.2.8)
def test_masks_refuse_a_dev_null_that_is_not_the_null_device(rt, bundle, scratch):
    dev_volume(bundle, scratch, "/proc/sys/kernel/domainname")
    bundle.sh("echo hacked > /proc/kcore; cat /proc/kcore")
    bundle.save()
    r = rt.run(bundle)
    r.fails(1, "container's /dev/null is invalid")
    assert sorted(os.listdir(scratch / "dev")) == ["null"]


@pytest.mark.parity
def test_masked_files_are_the_null_device_and_masked_dirs_read_only(rt, bundle):
    bundle.linux["maskedPaths"] = ["/proc/version", "/proc/acpi", "/proc/does-not-exist"]
    bundle.sh("stat -c %t:%T /proc/version; grep -c . /proc/version; "
              "touch /proc/acpi/x 2>/dev/null && echo WRITABLE; "
              "awk '$5 == \"/proc/acpi\" {print $6}' /proc/self/mountinfo")
    bundle.save()
    lines = rt.run(bundle).ok().out.split()
    assert lines[0] == "1:3"
    assert lines[1] == "0"
    assert "WRITABLE" not in lines
    assert lines[-1].split(",")[0] == "ro"


# ---- the console is never bound through an image's symlink (CVE-2025-52565) -----------------

@pytest.mark.mkrun_only  # runc 1.1 follows the symlink (fixed in runc 1.2.8)
def test_console_refuses_an_image_dev_console_symlink(rt, bundle, scratch):
    bundle.config["mounts"] = [m for m in bundle.config["mounts"] if m["destination"] != "/dev"]
    (bundle.rootfs / "dev" / "pts").mkdir(exist_ok=True)
    os.symlink("/proc/sys/kernel/domainname", bundle.rootfs / "dev" / "console")
    bundle.process["terminal"] = True
    bundle.save()
    console = ConsoleReceiver(scratch / "console.sock")
    try:
        r = rt.create(bundle, None, "--console-socket", console.path)
    finally:
        console.close()
    r.fails(1, "`/dev/console` is not a regular file or the console device")
    assert os.path.islink(bundle.rootfs / "dev" / "console")


# ---- nothing is mounted inside /proc (CVE-2019-19921) ----------------------------------------

@pytest.mark.parity
def test_a_config_mount_inside_proc_is_refused(rt, bundle, scratch):
    (scratch / "pattern").write_text("")
    bundle.add_mount("/proc/sys/kernel/core_pattern", "bind", scratch / "pattern", ["bind"])
    bundle.save()
    rt.run(bundle).fails(1, "cannot be mounted because it is inside /proc")


@pytest.mark.mkrun_only  # runc 1.1 mounts the tmpfs (later runc versions check the source)
def test_proc_only_gets_a_procfs(rt, bundle):
    bundle.config["mounts"] = [m for m in bundle.config["mounts"] if m["destination"] != "/proc"]
    bundle.add_mount("/proc", "tmpfs", "tmpfs", [])
    bundle.save()
    rt.run(bundle).fails(1, "cannot be mounted because it is not of type proc")


@pytest.mark.parity
def test_proc_is_not_mounted_through_an_image_symlink(rt, bundle):
    os.rmdir(bundle.rootfs / "proc")
    (bundle.rootfs / "elsewhere").mkdir()
    os.symlink("/elsewhere", bundle.rootfs / "proc")
    bundle.save()
    rt.run(bundle).fails(1, "must be mounted on ordinary directory")


@pytest.mark.parity
@pytest.mark.parametrize("link", ["/proc", "/proc/sys/net/ipv4", "proc/self"])
def test_a_volume_through_an_image_symlink_into_proc_is_refused(rt, bundle, scratch, link):
    """An image's `/vol -> /proc...` would make a volume the container's procfs, where mkrun
    writes oom_score_adj and sysctls; the volume must stay untouched."""
    volume = scratch / "volume"
    volume.mkdir()
    os.symlink(link, bundle.rootfs / "vol")
    bundle.add_mount("/vol", "bind", volume, ["rbind"])
    bundle.process["oomScoreAdj"] = 100
    bundle.linux["sysctl"] = {"net.ipv4.ip_forward": "1"}
    bundle.save()
    r = rt.run(bundle)
    assert r.rc != 0, r
    assert "cannot be mounted" in r.err, r
    assert os.listdir(volume) == []


@pytest.mark.parity
def test_a_volume_mounted_before_proc_through_a_symlink_is_refused(rt, bundle, scratch):
    volume = scratch / "volume"
    volume.mkdir()
    os.symlink("/proc", bundle.rootfs / "vol")
    bundle.config["mounts"].insert(0, {"destination": "/vol", "type": "bind",
                                       "source": str(volume), "options": ["rbind"]})
    bundle.save()
    r = rt.run(bundle)
    assert r.rc != 0 and "cannot be mounted" in r.err, r
    assert os.listdir(volume) == []


# ---- procfs writes go through a verified handle (CVE-2025-52881) -----------------------------

@pytest.mark.parity
def test_procfs_writes_reach_the_containers_own_files(rt, bundle):
    bundle.process["oomScoreAdj"] = 123
    bundle.linux["sysctl"] = {"kernel.domainname": "probe.example"}
    bundle.sh("cat /proc/self/oom_score_adj; cat /proc/sys/kernel/domainname")
    bundle.save()
    assert rt.run(bundle).ok().out.split() == ["123", "probe.example"]
    assert open("/proc/sys/kernel/domainname").read().strip() != "probe.example"


# ---- --no-pivot leaves no mountable procfs (runc: "must not expose bare /proc") --------------

@pytest.mark.parity
def test_no_pivot_does_not_allow_a_fresh_procfs(rt, bundle):
    bundle.sh("unshare -mrpf sh -c 'mount -t proc none /proc && echo MOUNTED' 2>&1; true")
    bundle.save()
    r = rt("run", "--no-pivot", "--bundle", bundle.path, rt.new_id()).ok()
    assert "MOUNTED" not in r.out, r
    assert "denied" in r.out or "not permitted" in r.out, r


# ---- seccomp ---------------------------------------------------------------------------------

# What a busybox shell and the runtime's own last steps need; close_range is left out on purpose.
BASE_SYSCALLS = [
    "access", "arch_prctl", "brk", "capget", "capset", "chdir", "close", "dup", "dup2", "dup3",
    "execve", "exit", "exit_group", "fchdir", "fcntl", "fstat", "newfstatat", "fstatfs",
    "futex", "getcwd", "getdents64", "getegid", "geteuid", "getgid", "getpgrp", "getpid",
    "getppid", "getrandom", "gettid", "getuid", "ioctl", "lseek", "mmap", "mprotect", "munmap",
    "open", "openat", "pipe", "pipe2", "poll", "prctl", "pread64", "prlimit64", "read",
    "readlink", "readlinkat", "rseq", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
    "sched_getaffinity", "sched_yield", "sendmsg", "sendto", "set_robust_list",
    "set_tid_address", "setgid", "setgroups", "setresgid", "setresuid", "setuid", "stat",
    "statfs", "statx", "sysinfo", "tgkill", "umask", "uname", "wait4", "write", "writev",
    "clone", "fork", "vfork", "kill", "setsid", "setpgid", "getpgid", "lstat", "nanosleep",
    "clock_nanosleep", "clock_gettime", "gettimeofday", "socket", "connect", "faccessat",
    "faccessat2", "madvise", "sigaltstack", "epoll_create1", "epoll_ctl", "epoll_pwait",
    "getrlimit", "setrlimit", "mincore", "pselect6", "keyctl", "eventfd2", "fchown", "fchmod",
]


def strict_profile(extra_rules=(), without=()):
    allowed = [name for name in BASE_SYSCALLS if name not in without]
    return {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": allowed, "action": "SCMP_ACT_ALLOW"}, *extra_rules]}


@pytest.mark.parity
@pytest.mark.parametrize("nnp", [False, True])
def test_a_strict_profile_without_close_range_runs(rt, bundle, nnp):
    bundle.linux["seccomp"] = strict_profile()
    bundle.process["noNewPrivileges"] = nnp
    bundle.sh("echo ran")
    bundle.save()
    assert rt.run(bundle).ok().out.strip() == "ran"


@pytest.mark.mkrun_only  # Debian's runc 1.1.5 checks the cwd after loading the filter
@pytest.mark.parametrize("nnp", [False, True])
def test_a_strict_profile_without_getcwd_runs(rt, bundle, nnp):
    """The working directory is checked (CVE-2024-21626) before the filter is loaded."""
    bundle.linux["seccomp"] = strict_profile(without=("getcwd",))
    bundle.process["noNewPrivileges"] = nnp
    bundle.sh("echo ran")
    bundle.save()
    assert rt.run(bundle).ok().out.strip() == "ran"


@pytest.mark.parity
def test_start_container_hooks_run_under_the_filter(rt, bundle, scratch):
    kill_mkdir = {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL"}
    bundle.linux["seccomp"] = strict_profile([kill_mkdir])
    bundle.add_hook("startContainer", "/bin/mkdir", ["mkdir", "/tmp/hook-ran"])
    bundle.save()
    r = rt.run(bundle)
    assert r.rc != 0, r
    assert "error running hook" in r.err and "signal: bad system call" in r.err, r
    assert not (bundle.rootfs / "tmp" / "hook-ran").exists()


ENOSYS_PROBE = textwrap.dedent(r"""
    #include <errno.h>
    #include <stdio.h>
    #include <unistd.h>
    #include <sys/syscall.h>
    int main(void) {
        long numbers[] = {450, 1000, __NR_munlockall};
        for (int i = 0; i < 3; ++i) {
            errno = 0;
            syscall(numbers[i], 0, 0, 0, 0);
            printf("%ld:%d\n", numbers[i], errno);
        }
        return 0;
    }
""")


def build_static_probe(source, dest):
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.skip("no C compiler for the probe")
    src = dest.with_suffix(".c")
    src.write_text(source)
    subprocess.run([compiler, "-static", "-O1", "-o", str(dest), str(src)], check=True)


@pytest.mark.parity
def test_syscalls_newer_than_the_profile_get_enosys(rt, bundle, scratch):
    # The newest syscall the profile names is faccessat2 (439).
    build_static_probe(ENOSYS_PROBE, bundle.rootfs / "probe")
    bundle.linux["seccomp"] = strict_profile()
    bundle.process["noNewPrivileges"] = True
    bundle.set_args("/probe")
    bundle.save()
    results = dict(line.split(":") for line in rt.run(bundle).ok().out.split())
    assert results["450"] == "38", "newer than every syscall in the profile: ENOSYS"
    assert results["1000"] == "38", "an unknown number: ENOSYS"
    assert results["152"] == "1", "munlockall is older, not listed: the default errno (EPERM)"


# ---- the init holds nothing of the caller's --------------------------------------------------

@pytest.mark.parity
def test_the_waiting_init_holds_none_of_the_callers_fds(rt, bundle, scratch):
    lock = scratch / "lock"
    lock.write_text("")
    read_end, write_end = os.pipe()
    pipe = f"pipe:[{os.fstat(write_end).st_ino}]"
    lock_fd = os.open(lock, os.O_RDWR)
    fcntl.flock(lock_fd, fcntl.LOCK_EX)
    bundle.set_args("true")
    bundle.save()
    cid = rt.new_id()
    argv = [rt.binary, "--root", str(rt.root), "create", "--bundle", str(bundle.path), cid]
    try:
        subprocess.run(argv, pass_fds=(write_end, lock_fd), stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60,
                       check=True)
    finally:
        os.close(write_end)
        os.close(lock_fd)
    try:
        pid = rt.state(cid)["pid"]
        targets = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        assert pipe not in targets, targets
        assert str(lock) not in targets, targets
        assert str(rt.root / cid) not in targets, "the init holds the state directory"
        os.set_blocking(read_end, False)
        assert os.read(read_end, 1) == b"", "the caller's pipe is still open in the init"
        probe = os.open(lock, os.O_RDWR)
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(probe)
    finally:
        os.close(read_end)
        rt.delete(cid, "--force")


# ---- paths resolve inside the rootfs (CVE-2024-45310, CVE-2021-30465, /dev out of the rootfs) --

@pytest.mark.mkrun_only  # runc 1.1 creates /dev's symlinks at the link's target on the host
def test_a_dev_symlinked_out_of_the_rootfs_stays_inside(rt, bundle, scratch):
    outside = scratch / "outside"
    outside.mkdir()
    bundle.config["mounts"] = [m for m in bundle.config["mounts"]
                               if not m["destination"].startswith("/dev")]
    os.rmdir(bundle.rootfs / "dev")
    os.symlink(f"../../../../../../../..{outside}", bundle.rootfs / "dev")
    bundle.save()
    rt.run(bundle)
    assert os.listdir(outside) == []


@pytest.mark.parity
def test_mount_destinations_with_absolute_symlinks_stay_inside(rt, bundle, scratch):
    outside = scratch / "outside"
    outside.mkdir()
    volume = scratch / "volume"
    volume.mkdir()
    os.symlink(str(outside), bundle.rootfs / "link")
    bundle.add_mount("/link/a/b", "bind", volume, ["rbind"])
    bundle.save()
    rt.run(bundle).ok()
    assert os.listdir(outside) == []


@pytest.mark.parity
@pytest.mark.parametrize("how", ["absolute", "relative"])
def test_an_existing_mount_destination_through_a_symlink_stays_inside(rt, bundle, scratch, how):
    """The destination exists both inside the rootfs (where the image's symlink leads when
    resolved in it) and on the host (where it leads when followed as the host sees it): the
    volume goes to the rootfs's, and the host's stays an empty directory, no mount on it."""
    outside = scratch / "outside"
    (outside / "a").mkdir(parents=True)
    inside = bundle.rootfs / str(outside).lstrip("/")
    (inside / "a").mkdir(parents=True)
    volume = scratch / "volume"
    volume.mkdir()
    (volume / "marker").write_text("")
    target = str(outside) if how == "absolute" else "../../../../../../../.." + str(outside)
    os.symlink(target, bundle.rootfs / "link")
    bundle.add_mount("/link/a", "bind", volume, ["rbind"])
    bundle.set_args("ls", str(outside / "a"))
    bundle.save()
    r = rt.run(bundle).ok()
    assert r.out.split() == ["marker"], r
    assert os.listdir(outside / "a") == []
    assert not os.path.ismount(outside / "a")


@pytest.mark.parity
def test_cwd_through_a_leaked_fd_is_refused(rt, bundle):
    """CVE-2024-21626: no fd of the runtime's may be left for process.cwd to point into."""
    for fd in range(3, 12):
        bundle.process["cwd"] = f"/proc/self/fd/{fd}"
        bundle.save()
        r = rt.run(bundle)
        assert r.rc != 0, f"cwd /proc/self/fd/{fd} was accepted\n{r}"


@pytest.mark.mkrun_only  # runc 1.1's waiting init is a copy of runc in a memfd: it lets this be read
def test_the_waiting_init_is_not_dumpable(rt, bundle):
    """CVE-2016-9962: a process exec'd into the container cannot reach into the waiting init
    (its fds, its executable: mkrun's, its memory)."""
    bundle.set_args("sleep", "100")
    bundle.process["capabilities"] = {k: ["CAP_KILL"] for k in ("bounding", "effective",
                                                               "permitted")}
    bundle.save()
    cid = rt.create(bundle).ok().cid
    r = rt("exec", cid, "readlink", "/proc/1/exe")
    assert r.rc != 0 and r.out == "", r
    rt.delete(cid, "--force").ok()
