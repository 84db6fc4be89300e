"""Helpers for the integration suite: runtime invocation, bundles, reaping, host leak checks.

Everything here talks to the runtime only through its command line, exactly as an engine would,
so the same test runs unchanged against mkrun and runc.
"""
from __future__ import annotations

import ctypes
import json
import os
import re
import secrets
import select
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MKRUN = os.environ.get("MKRUN") or str(REPO / "build" / "mkrun")
RUNC = os.environ.get("RUNC") or "/usr/sbin/runc"
# Which runtime variants to generate: "mkrun", "runc" or both (comma separated).
SELECTED = [s.strip() for s in os.environ.get("RUNTIMES", "mkrun,runc").split(",") if s.strip()]
BINARIES = {"mkrun": MKRUN, "runc": RUNC}
TMPBASE = os.environ.get("MKRUN_TEST_TMP", "/tmp")
CGROUP_ROOT = "/sys/fs/cgroup"

RFC3339NANO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")

# --------------------------------------------------------------------------------------------
# process helpers

_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    """Detached containers (create/start, run -d) re-parent to us, so we can reap them and read
    their exit status, as a shim or conmon would."""
    if _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "prctl(PR_SET_CHILD_SUBREAPER): " + os.strerror(e))


def proc_state(pid: int) -> str | None:
    """Single-letter state from /proc/<pid>/stat, None if the pid does not exist."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return s[s.rindex(")") + 2:].split()[0]


def proc_ppid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return int(s[s.rindex(")") + 2:].split()[1])


def alive(pid: int) -> bool:
    """True if pid exists and is not a zombie."""
    st = proc_state(pid)
    return st is not None and st not in ("Z", "X")


def wait_exit(pid: int, timeout: float = 10.0) -> int | None:
    """Waits for one specific process to exit and reaps it if it is our child.

    Returns the exit status in subprocess style (code, or -signal), or None when the process is
    not our child (then we only wait until it is gone or a zombie).  Raises AssertionError on
    timeout.  Only waits on this pid: a global reaper would steal subprocess exit codes."""
    deadline = time.monotonic() + timeout
    delay = 0.002
    while True:
        try:
            r, status = os.waitpid(pid, os.WNOHANG)
            if r == pid:
                return os.waitstatus_to_exitcode(status)
        except ChildProcessError:
            if not alive(pid):
                return None
        if time.monotonic() > deadline:
            raise AssertionError(f"pid {pid} did not exit within {timeout}s (state {proc_state(pid)})")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def reap_zombie_children() -> list[int]:
    """waitpid(-1, WNOHANG) loop: only for moments when no subprocess of ours is running."""
    reaped = []
    while True:
        try:
            r, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if r == 0:
            break
        reaped.append(r)
    return reaped


def children_of(ppid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit() and proc_ppid(int(d)) == ppid:
            out.append(int(d))
    return out


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def pids_with_cmdline(text: str) -> list[int]:
    me = os.getpid()
    return [int(d) for d in os.listdir("/proc")
            if d.isdigit() and int(d) != me and text in cmdline(int(d)) and alive(int(d))]


def wait_for(pred, timeout: float = 5.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


# --------------------------------------------------------------------------------------------
# host inspection

def mountinfo() -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return f.read().splitlines()


def mounts_mentioning(text: str) -> list[str]:
    return [l for l in mountinfo() if text in l]


def cgroup_dirs_matching(names, root: str = CGROUP_ROOT, maxdepth: int = 5) -> list[str]:
    """Directories under /sys/fs/cgroup (a few levels deep) whose name contains one of names."""
    names = [n for n in names if n]
    found = []

    def walk(path: str, depth: int):
        try:
            with os.scandir(path) as it:
                entries = [e for e in it if e.is_dir(follow_symlinks=False)]
        except OSError:
            return
        for e in entries:
            if any(n in e.name for n in names):
                found.append(e.path)
            if depth < maxdepth:
                walk(e.path, depth + 1)

    walk(root, 1)
    return found


def remove_cgroup_tree(path: str) -> None:
    """Kills whatever is left in a cgroup and removes it, children first."""
    for sub, dirs, _ in sorted(os.walk(path), key=lambda t: -t[0].count("/")):
        for _ in range(50):
            try:
                with open(os.path.join(sub, "cgroup.procs")) as f:
                    procs = [int(x) for x in f.read().split()]
            except OSError:
                procs = []
            for p in procs:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                os.rmdir(sub)
                break
            except FileNotFoundError:
                break
            except OSError:
                reap_zombie_children()
                time.sleep(0.05)


def cgroup_controller_path(pid: int, controller: str) -> tuple[str, str]:
    """(version, host directory) of the cgroup of pid for one controller, e.g. "memory".

    v1: the hierarchy whose mount options name the controller; v2: the cgroup2 mount, if the
    controller is enabled there.  Works on v1, hybrid and unified hosts."""
    with open(f"/proc/{pid}/cgroup") as f:
        lines = [l.rstrip("\n").split(":", 2) for l in f if l.strip()]
    mi = [l.split() for l in mountinfo()]

    def mount_of(fstype, pred):
        for m in mi:
            sep = m.index("-")
            if m[sep + 1] == fstype and pred(m[sep + 3].split(",")):
                return m[3], m[4]  # root, mount point
        return None

    for hid, ctrls, path in lines:
        if hid != "0" and controller in ctrls.split(","):
            mp = mount_of("cgroup", lambda opts: controller in opts)
            assert mp, f"no v1 mount for {controller}"
            root, point = mp
            rel = path[len(root):] if root != "/" and path.startswith(root) else path
            return "v1", point + rel
    for hid, ctrls, path in lines:
        if hid == "0":
            mp = mount_of("cgroup2", lambda opts: True)
            assert mp, "no cgroup2 mount"
            root, point = mp
            rel = path[len(root):] if root != "/" and path.startswith(root) else path
            return "v2", point + rel
    raise AssertionError(f"controller {controller} not found for pid {pid}")


def read_file(path) -> str:
    with open(path) as f:
        return f.read()


# --------------------------------------------------------------------------------------------
# bundles

class Bundle:
    """An OCI bundle: <path>/config.json + <path>/rootfs (a hard-linked copy of the busybox tree)."""

    def __init__(self, path: Path, config: dict):
        self.path = Path(path)
        self.config = config

    @property
    def rootfs(self) -> Path:
        return self.path / self.config["root"]["path"]

    @property
    def process(self) -> dict:
        return self.config["process"]

    @property
    def linux(self) -> dict:
        return self.config.setdefault("linux", {})

    def set_args(self, *args: str) -> "Bundle":
        self.process["args"] = list(args)
        return self

    def sh(self, script: str) -> "Bundle":
        return self.set_args("sh", "-c", script)

    def add_mount(self, destination, type_, source, options=None) -> "Bundle":
        m = {"destination": destination, "type": type_, "source": str(source)}
        if options is not None:
            m["options"] = list(options)
        self.config.setdefault("mounts", []).append(m)
        return self

    def add_hook(self, kind: str, path: str, args=None, env=None, timeout=None) -> "Bundle":
        h = {"path": path}
        if args is not None:
            h["args"] = list(args)
        if env is not None:
            h["env"] = list(env)
        if timeout is not None:
            h["timeout"] = timeout
        self.config.setdefault("hooks", {}).setdefault(kind, []).append(h)
        return self

    def resources(self) -> dict:
        return self.linux.setdefault("resources", {})

    def save(self) -> "Bundle":
        with open(self.path / "config.json", "w") as f:
            json.dump(self.config, f, indent=2)
        return self


# --------------------------------------------------------------------------------------------
# the runtime under test

@dataclass
class Result:
    argv: list
    rc: int
    out: str
    err: str
    elapsed: float

    def __str__(self):
        return (f"$ {shlex.join(map(str, self.argv))}\n-> rc={self.rc} in {self.elapsed:.2f}s\n"
                f"stdout: {self.out!r}\nstderr: {self.err!r}")

    def ok(self) -> "Result":
        assert self.rc == 0, f"expected success\n{self}"
        return self

    def fails(self, rc: int = 1, msg: str | None = None) -> "Result":
        assert self.rc == rc, f"expected exit {rc}\n{self}"
        if msg is not None:
            # runc's default (logrus text) format quotes the message: msg="unknown signal \"FOO\""
            assert msg in self.err or msg in self.err.replace('\\"', '"'), \
                f"expected {msg!r} in stderr\n{self}"
        return self


@dataclass
class Runtime:
    name: str             # "mkrun" or "runc"
    binary: str
    workdir: Path         # per-test scratch dir (removed by the fixture)
    tag: str              # short test name, part of every container id
    ids: list = field(default_factory=list)
    pids: set = field(default_factory=set)      # host pids of container inits seen
    reaped: set = field(default_factory=set)    # ...of which already waited for

    @property
    def root(self) -> Path:
        return self.workdir / "root"

    # -- raw invocation ------------------------------------------------------------------
    def raw(self, *args, timeout: float = 60, fds: dict | None = None, cwd=None, env=None,
            stdin=None) -> Result:
        """Runs `<binary> args...` with no implicit flags.  stdin is /dev/null; stdout and stderr
        go to unnamed temp files, never pipes: a detached container inherits them and a pipe
        would keep us waiting for EOF until it exits.  fds maps extra fd numbers to files the
        runtime gets open on them (via a /bin/sh exec redirection)."""
        argv = [self.binary, *map(str, args)]
        real = argv
        if fds:
            redir = " ".join(f"{n}<{shlex.quote(str(p))}" for n, p in sorted(fds.items()))
            real = ["/bin/sh", "-c", f'exec "$@" {redir}', "sh", *argv]
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            t0 = time.monotonic()
            p = subprocess.Popen(real, stdin=stdin if stdin is not None else subprocess.DEVNULL,
                                 stdout=out, stderr=err, cwd=cwd, env=env)
            try:
                rc = p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                raise AssertionError(f"{shlex.join(argv)} still running after {timeout}s")
            elapsed = time.monotonic() - t0
            out.seek(0)
            err.seek(0)
            return Result(argv, rc, out.read().decode(errors="replace"),
                          err.read().decode(errors="replace"), elapsed)

    def __call__(self, *args, **kw) -> Result:
        """`<binary> --root <per-test root> args...`"""
        return self.raw("--root", self.root, *args, **kw)

    # -- ids -------------------------------------------------------------------------------
    def new_id(self, hint: str = "") -> str:
        cid = f"{self.tag}{('-' + hint) if hint else ''}-{secrets.token_hex(3)}"
        self.ids.append(cid)
        return cid

    # -- lifecycle shorthands ------------------------------------------------------------------
    def create(self, bundle: Bundle, cid: str | None = None, *opts, **kw) -> Result:
        bundle.save()
        cid = cid or self.new_id()
        if cid not in self.ids:
            self.ids.append(cid)
        r = self("create", "--bundle", bundle.path, *opts, cid, **kw)
        r.cid = cid
        if r.rc == 0:
            st = self.state(cid)
            if st.get("pid"):
                self.pids.add(st["pid"])
        return r

    def run(self, bundle: Bundle, cid: str | None = None, *opts, **kw) -> Result:
        bundle.save()
        cid = cid or self.new_id()
        if cid not in self.ids:
            self.ids.append(cid)
        r = self("run", "--bundle", bundle.path, *opts, cid, **kw)
        r.cid = cid
        return r

    def output(self, bundle: Bundle, *args: str, **kw) -> str:
        """Foreground run of args, asserting exit 0; returns the container's stdout."""
        if args:
            bundle.set_args(*args)
        return self.run(bundle, **kw).ok().out

    def state_raw(self, cid: str) -> Result:
        return self("state", cid)

    def state(self, cid: str) -> dict:
        r = self.state_raw(cid).ok()
        return json.loads(r.out)

    def status(self, cid: str) -> str:
        return self.state(cid)["status"]

    def start(self, cid: str) -> Result:
        return self("start", cid)

    def kill(self, cid: str, *args) -> Result:
        return self("kill", cid, *args)

    def delete(self, cid: str, *opts) -> Result:
        return self("delete", *opts, cid)

    def started(self, bundle: Bundle, cid: str | None = None) -> tuple[str, int]:
        """create + start; returns (id, host pid of init)."""
        r = self.create(bundle, cid).ok()
        pid = self.state(r.cid)["pid"]
        self.start(r.cid).ok()
        return r.cid, pid

    def wait_exit(self, pid: int, timeout: float = 10.0) -> int | None:
        """wait_exit() that remembers the pid was reaped (pids get reused)."""
        self.pids.add(pid)
        st = wait_exit(pid, timeout)
        self.reaped.add(pid)
        return st

    # -- cleanup and leak checks -------------------------------------------------------------
    def _known_ids(self) -> list[str]:
        ids = list(self.ids)
        try:
            ids += [e for e in os.listdir(self.root) if e not in ids]
        except OSError:
            pass
        return ids

    def cleanup(self) -> list[str]:
        """Force-deletes every container this test made, then checks the host.  Returns a list
        of problems (empty when clean); whatever leaked is removed anyway so the host stays
        usable for the next test."""
        problems = []
        try:
            problems += self._force_delete_all()
        except OSError as e:  # the binary itself could not run (rebuilt meanwhile, removed...)
            problems.append(f"cleanup could not run {self.binary}: {e}")
        # always: whatever the runtime could not delete is found and removed here (a leftover
        # cgroup's processes are killed with it)
        problems += check_host(self, self.ids, self.workdir)
        return problems

    def _force_delete_all(self) -> list[str]:
        problems = []
        existing = []
        for cid in self._known_ids():          # 1. kill every init that is still alive
            r = self("state", cid, timeout=20)
            if r.rc != 0:
                continue
            existing.append(cid)
            try:
                pid = json.loads(r.out).get("pid", 0)
            except ValueError:
                pid = 0
            if pid and pid not in self.reaped and alive(pid):
                self.pids.add(pid)
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for p in self.pids - self.reaped:      # 2. reap them (they are our children)
            try:
                self.wait_exit(p, 10)
            except AssertionError as e:
                problems.append(str(e))
        for cid in existing:                   # 3. delete
            r = self("delete", "--force", cid, timeout=30)
            if r.rc != 0:
                problems.append(f"delete --force {cid} failed:\n{r}")
        for p in self.pids - self.reaped:
            if alive(p):
                problems.append(f"container process {p} ({cmdline(p)}) still alive")
                try:
                    os.kill(p, signal.SIGKILL)
                    wait_exit(p, 10)
                except (ProcessLookupError, AssertionError):
                    pass
        return problems


def check_host(rt: Runtime, ids, workdir: Path, fix: bool = True) -> list[str]:
    """Host-side leak check: runtime root empty, no cgroup named after an id, no mount under the
    test's scratch dir, no live process re-parented to us.  With fix, removes what it finds."""
    problems = []
    try:
        left = os.listdir(rt.root)
    except FileNotFoundError:
        left = []
    if left:
        problems.append(f"runtime root {rt.root} not empty: {left}")
    cgs = cgroup_dirs_matching(ids)
    if cgs:
        problems.append(f"cgroups left: {cgs}")
        if fix:
            for c in sorted(cgs, key=len, reverse=True):
                remove_cgroup_tree(c)
    mnts = mounts_mentioning(str(workdir))
    if mnts:
        problems.append("mounts left:\n  " + "\n  ".join(mnts))
        if fix:
            for l in reversed(mnts):
                subprocess.run(["umount", "-l", l.split()[4]], stderr=subprocess.DEVNULL)
    # A process killed a moment ago (delete's SIGKILL to the cgroup reaches an orphan re-parented
    # to us) may still be exiting: its memory, and so its cmdline, is gone, but it is not a
    # zombie yet. Give those a second; a process that lives on is a leak.
    deadline = time.monotonic() + 1
    while any(alive(c) and not cmdline(c) for c in children_of(os.getpid())) and \
            time.monotonic() < deadline:
        time.sleep(0.02)
    for c in children_of(os.getpid()):
        if alive(c):
            problems.append(f"process left: {c} {cmdline(c)!r}")
            if fix:
                try:
                    os.kill(c, signal.SIGKILL)
                except ProcessLookupError:
                    pass
    if fix:
        time.sleep(0.01)
        for c in children_of(os.getpid()):
            try:
                wait_exit(c, 5)
            except AssertionError:
                pass
    return problems


def assert_nothing_left(rt: Runtime, cid: str, bundle: Bundle | None = None) -> None:
    """After a failed create/run: no state, no cgroup, no mount, no process (checked now, in
    the test body, on top of the fixture's check at teardown)."""
    r = rt("state", cid)
    assert r.rc == 1 and "does not exist" in r.err, f"state of a failed container:\n{r}"
    r = rt("list", "-q").ok()
    assert cid not in r.out.split()
    problems = check_host(rt, [cid], bundle.path if bundle else rt.workdir, fix=False)
    assert not problems, "\n".join(problems)


def make_rootfs(dest: Path) -> None:
    """busybox-static tree: /bin/busybox plus its applet symlinks (made inside a chroot, so
    they point at /bin/busybox and not at the host path)."""
    busybox = shutil.which("busybox") or "/bin/busybox"
    out = subprocess.run(["file", "-L", busybox], capture_output=True, text=True).stdout
    if "statically linked" not in out and "static-pie linked" not in out:
        raise RuntimeError(f"{busybox} is not static ({out.strip()}); apt-get install busybox-static")
    (dest / "bin").mkdir(parents=True)
    shutil.copy2(busybox, dest / "bin" / "busybox")
    subprocess.run(["chroot", str(dest), "/bin/busybox", "--install", "-s", "/bin"], check=True)
    for d in ("etc", "tmp", "proc", "sys", "dev", "root"):
        (dest / d).mkdir(exist_ok=True)
    (dest / "tmp").chmod(0o1777)
    (dest / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (dest / "etc" / "group").write_text("root:x:0:\n")


def new_bundle(rt: Runtime, template: Path, name: str = "bundle") -> Bundle:
    path = rt.workdir / name
    path.mkdir(mode=0o755)
    os.chmod(path, 0o755)
    subprocess.run(["cp", "-a", "-l", str(template), str(path / "rootfs")], check=True)
    r = rt.raw("spec", cwd=path)
    assert r.rc == 0, f"`{rt.name} spec` failed:\n{r}"
    with open(path / "config.json") as f:
        config = json.load(f)
    b = Bundle(path, config)
    b.process["terminal"] = False
    b.process["args"] = ["true"]
    b.config["root"]["readonly"] = False
    b.save()
    return b


def cap_bits(names) -> int:
    return sum(1 << CAPS[n] for n in names)


CAPS = {name: i for i, name in enumerate([
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
    "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
    "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE"])}


def status_fields(text: str) -> dict:
    """Parses /proc/<pid>/status text into {key: value}."""
    d = {}
    for line in text.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            d[k.strip()] = v.strip()
    return d


def parse_mounts(text: str) -> dict:
    """/proc/self/mounts text -> {mount point: (fstype, set(options))}; the last mount wins."""
    d = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 4:
            d[parts[1]] = (parts[2], set(parts[3].split(",")))
    return d


# --------------------------------------------------------------------------------------------
# console sockets

class FdReceiver:
    """Stands in for an engine's listener on a unix socket: takes the one message and the fds the
    runtime sends with SCM_RIGHTS, then expects the runtime to hang up (nothing else is sent).
    A subclass's took_fds() runs before got_fd is set, its after_receive() after, in the same
    thread."""

    def __init__(self, path):
        self.path = str(path)
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(self.path)
        self.srv.listen(1)
        self.srv.settimeout(20)
        self.msg = self.extra = self.error = None
        self.fds = []
        self.got_fd = threading.Event()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            conn, _ = self.srv.accept()
            with conn:
                self.msg, self.fds, _, _ = socket.recv_fds(conn, 4096, 4)
                conn.settimeout(2)
                try:   # nothing else may be sent, and the runtime must close its end
                    self.extra = conn.recv(4096)
                except socket.timeout:
                    self.extra = "connection still open 2s after the fd was sent"
            self.took_fds()
            self.got_fd.set()
            self.after_receive()
        except Exception as e:  # reported by the test
            self.error = e
            self.got_fd.set()
        finally:
            self.done.set()

    def took_fds(self):
        pass

    def after_receive(self):
        pass

    def close(self):
        self.srv.close()
        for fd in self.fds or []:
            try:
                os.close(fd)
            except OSError:
                pass


class ConsoleReceiver(FdReceiver):
    """A shim/conmon's console socket: takes the one pty master (like recvtty), then collects
    what the container writes."""

    def __init__(self, path):
        self.master = None
        self.output = b""
        super().__init__(path)

    def took_fds(self):
        if len(self.fds) == 1:
            self.master = self.fds[0]

    def after_receive(self):
        if self.master is None:
            return
        while True:
            try:
                data = os.read(self.master, 4096)
            except OSError:      # EIO: the last slave fd is closed
                break
            if not data:
                break
            self.output += data


class PidfdReceiver(FdReceiver):
    """An engine's --pidfd-socket listener (runc 1.2+)."""

    def pidfd(self, timeout: float = 10) -> int:
        """The one fd received, checked to have come alone, with nothing after it."""
        assert self.done.wait(timeout), "no pidfd received"
        assert self.error is None, self.error
        assert len(self.fds) == 1 and self.extra == b"", (self.fds, self.extra)
        return self.fds[0]


def pid_of_pidfd(fd: int) -> int:
    """The pid a pidfd refers to, as /proc/self/fdinfo says (-1 once it exited and was reaped)."""
    for line in read_file(f"/proc/self/fdinfo/{fd}").splitlines():
        if line.startswith("Pid:"):
            return int(line.split()[1])
    raise AssertionError(f"fd {fd} is not a pidfd")


# --------------------------------------------------------------------------------------------
# terminals

def read_until_closed(master: int, deadline: float) -> bytes:
    """What a pty master receives until its last slave is closed (EIO)."""
    received = b""
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"the pty still open after the deadline; received {received!r}"
        if not select.select([master], [], [], remaining)[0]:
            continue
        try:
            data = os.read(master, 4096)
        except OSError:
            return received
        if not data:
            return received
        received += data


@dataclass
class TerminalRun:
    rc: int
    out: bytes       # the runtime's stdout, a file unless stdout_on_terminal
    terminal: bytes  # what the runtime's terminal received


def on_a_terminal(rt, *args, stdout_on_terminal=False, timeout: float = 30.0) -> TerminalRun:
    """`<runtime> --root <root> args...` as from a shell with `</dev/null`: stderr (and stdout
    when asked) on a fresh pty, stdin not a terminal, and, in a session of its own, no
    controlling terminal."""
    master, slave = os.openpty()
    argv = [rt.binary, "--root", str(rt.root), *map(str, args)]
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                stdout=slave if stdout_on_terminal else out, stderr=slave,
                                start_new_session=True)
        os.close(slave)
        try:
            terminal = read_until_closed(master, time.monotonic() + timeout)
            rc = proc.wait(timeout=timeout)
        finally:
            os.close(master)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        out.seek(0)
        return TerminalRun(rc, out.read(), terminal)
