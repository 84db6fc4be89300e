"""An emulated IHK/McKernel node for the McKernel tests (test_mckernel.py).

The build's test-only emulator (conformance/lwk/emulator) provides libihk.so, mcexec and
ihkconfig over one state file.  This module lays out a fake McKernel installation that points at
them, an emulated sysfs (8 CPUs, 2 NUMA nodes), the state file and a host configuration
(mckernel.conf), and sets MKRUN_MCKERNEL_CONF and MKRUN_IHK_EMULATOR_STATE so that mkrun takes
the same code path it takes with real IHK.

The emulated instances get real character device nodes /dev/mcos<N> with a major no driver owns;
teardown removes any that are left and checks that the node is exactly as it was.
"""
from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import shutil
import stat
from pathlib import Path

import harness

BUILD = Path(harness.MKRUN).resolve().parent
EMULATOR = BUILD / "conformance" / "lwk"
LWK_INIT = BUILD / "lwk" / "mkrun-lwk-init"

# The calls that change the node, in the order mkrun makes them; queries are left out.
MUTATING = ("ihk_reserve_cpu", "ihk_release_cpu", "ihk_reserve_mem", "ihk_release_mem",
            "ihk_create_os", "ihk_destroy_os", "ihk_os_assign_cpu", "ihk_os_release_cpu",
            "ihk_os_assign_mem", "ihk_os_release_mem", "ihk_os_set_ikc_map", "ihk_os_load",
            "ihk_os_kargs", "ihk_os_boot", "ihk_os_shutdown")

GIB = 1 << 30


class MemChunk(ctypes.Structure):
    """ihklib.h's struct ihk_mem_chunk."""
    _fields_ = [("size", ctypes.c_ulong), ("numa_node_number", ctypes.c_int)]


def chunks(*sizes_at_nodes: tuple[int, int]):
    """A ctypes array of memory chunks, and its length."""
    array = (MemChunk * len(sizes_at_nodes))(*[MemChunk(s, n) for s, n in sizes_at_nodes])
    return array, len(sizes_at_nodes)


def cpus(*ids: int):
    return (ctypes.c_int * len(ids))(*ids), len(ids)


def free_char_major() -> int:
    """A character major no driver registered (so /dev/mcos<N> opens fail with ENXIO)."""
    used, in_char = set(), False
    for line in harness.read_file("/proc/devices").splitlines():
        if line.startswith("Character"):
            in_char = True
        elif line.startswith("Block"):
            in_char = False
        elif in_char and line.strip():
            used.add(int(line.split()[0]))
    for major in list(range(234, 255)) + list(range(511, 300, -1)):
        if major not in used:
            return major
    raise RuntimeError("no free character major")


def existing_mcos_nodes() -> list[str]:
    return sorted(n for n in os.listdir("/dev") if n.startswith("mcos"))


class Node:
    def __init__(self, directory: Path):
        self.dir = directory
        self.prefix = directory / "prefix"
        self.state_path = directory / "state"
        self.log_path = Path(str(self.state_path) + ".log")
        self.conf_path = directory / "mckernel.conf"
        self.sysfs = directory / "sys"
        self.claims = directory / "claims"
        self.image = self.prefix / "smp-x86" / "kernel" / "mckernel.img"
        self.mcexec = self.prefix / "bin" / "mcexec"
        self.major = free_char_major()
        self.conf = {}
        self.initial = None

    # -- layout -------------------------------------------------------------------------------
    def build(self) -> "Node":
        for sub in ("bin", "lib64", "sbin", "smp-x86/kernel"):
            (self.prefix / sub).mkdir(parents=True)
        shutil.copy2(EMULATOR / "mcexec", self.mcexec)
        shutil.copy2(EMULATOR / "libihk.so", self.prefix / "lib64" / "libihk.so")
        # how the emulated library finds its node without $MKRUN_IHK_EMULATOR_STATE, as real
        # IHK is found from any environment
        (self.prefix / "lib64" / "ihk-emulator-state").symlink_to(self.state_path)
        shutil.copy2(EMULATOR / "ihkconfig", self.prefix / "sbin" / "ihkconfig")
        self.image.write_text("emulated McKernel image\n")
        cpu = self.sysfs / "devices" / "system" / "cpu"
        cpu.mkdir(parents=True)
        (cpu / "online").write_text("0-7\n")
        for node, cpus in ((0, "0-3"), (1, "4-7")):
            d = self.sysfs / "devices" / "system" / "node" / f"node{node}"
            d.mkdir(parents=True)
            (d / "cpulist").write_text(cpus + "\n")
        # /dev/mcd0 as IHK leaves it: root's, 0600 (the emulated device calls need to read it)
        self.mcd = self.dir / "mcd0"
        self.mcd.write_text("")
        self.mcd.chmod(0o600)
        # unprivileged callers (attach as a user) take the emulator's lock and log their calls
        self.dir.chmod(0o755)
        for shared in (Path(str(self.state_path) + ".lock"), self.log_path):
            shared.write_text("")
            shared.chmod(0o666)
        self.state_path.write_text(
            "loaded 1\nbuild_id emulated-build-1\n"
            f"dev_major {self.major}\ndev_dir /dev\nsysfs {self.sysfs}\nmcd {self.mcd}\n"
            f"cpus 0-7\nlinux_mem {8 * GIB}@0,{8 * GIB}@1\n")
        self.conf = {
            "prefix": str(self.prefix), "init": str(LWK_INIT), "cpus": "1-7",
            "memory": "4G@0,4G@1", "lock": str(self.dir / "lock"), "claims": str(self.claims),
            "sysfs": str(self.sysfs), "boot_timeout": "5s",
        }
        self.write_conf()
        self.initial = self.snapshot()
        return self

    def write_conf(self, **changes) -> None:
        self.conf.update({k: v for k, v in changes.items()})
        text = "".join(f"{k} = {v}\n" for k, v in self.conf.items() if v is not None)
        self.conf_path.write_text(text)

    # -- the emulated state -------------------------------------------------------------------
    def lines(self) -> list[str]:
        return self.state_path.read_text().splitlines()

    def get(self, key: str) -> str:
        for line in self.lines():
            k, _, v = line.partition(" ")
            if k == key:
                return v
        return ""

    @contextlib.contextmanager
    def locked(self):
        """The emulator's lock: every emulated call loads and saves the whole state under it,
        and mkrun's kernel watcher calls while a container runs, so a change made without it
        could be lost."""
        with open(str(self.state_path) + ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def set(self, key: str, value: str) -> None:
        """Replaces (or adds) the record `key`; "fail" and "crash" records are added."""
        with self.locked():
            kept = [l for l in self.lines()
                    if key in ("fail", "os") or l.partition(" ")[0] != key]
            kept.append(f"{key} {value}")
            self.state_path.write_text("\n".join(kept) + "\n")

    def instances(self) -> dict[int, dict]:
        found = {}
        for line in self.lines():
            if line.startswith("os "):
                parts = line.split(" ")
                fields = dict(p.split("=", 1) for p in parts[3:] if "=" in p)
                fields["status"] = parts[2]
                found[int(parts[1])] = fields
        return found

    def set_status(self, os_index: int, status: str, kmsg: str = "") -> None:
        with self.locked():
            self._set_status(os_index, status, kmsg)

    def _set_status(self, os_index: int, status: str, kmsg: str) -> None:
        out = []
        for line in self.lines():
            if line.startswith(f"os {os_index} "):
                parts = line.split(" ")
                parts[2] = status
                if kmsg:
                    parts = [p for p in parts if not p.startswith("kmsg=")]
                    parts.append("kmsg=" + kmsg.replace(" ", "\\s").replace("\n", "\\n"))
                line = " ".join(parts)
            out.append(line)
        self.state_path.write_text("\n".join(out) + "\n")

    def claims_of(self, container: str) -> str:
        """The token of `container`'s claim file."""
        found = [n.removesuffix(".claim") for n in os.listdir(self.claims)
                 if n.startswith(container + ".")]
        assert len(found) == 1, found
        return found[0]

    def snapshot(self) -> dict:
        """What must be back after every teardown: the node's records, no claim, no node."""
        records = sorted(l for l in self.lines()
                         if l.partition(" ")[2].strip()  # the emulator writes empty records too
                         and l.partition(" ")[0] not in ("fail", "crash", "boot_result",
                                                         "boot_message", "linux_max_chunk"))
        claims = sorted(os.listdir(self.claims)) if self.claims.exists() else []
        return {"records": records, "claims": claims, "dev": existing_mcos_nodes(),
                "online": (self.sysfs / "devices/system/cpu/online").read_text().strip()}

    # -- the call log ---------------------------------------------------------------------------
    def calls(self) -> list[str]:
        try:
            return self.log_path.read_text().splitlines()
        except FileNotFoundError:
            return []

    def mutating_calls(self) -> list[str]:
        return [c for c in self.calls() if c.split("(")[0] in MUTATING]

    def library(self) -> ctypes.CDLL:
        """The emulated libihk.so itself, for checking the emulator's rules directly (in this
        process: $MKRUN_IHK_EMULATOR_STATE names the node)."""
        lib = ctypes.CDLL(str(EMULATOR / "libihk.so"))
        lib.ihk_os_load.argtypes = [ctypes.c_int, ctypes.c_char_p]
        lib.ihk_os_kargs.argtypes = [ctypes.c_int, ctypes.c_char_p]
        return lib

    def clear_log(self) -> None:
        with self.locked():
            self.log_path.write_text("")

    # -- bundles ----------------------------------------------------------------------------------
    def bundle(self, bundle: harness.Bundle, **annotations) -> harness.Bundle:
        """Marks `bundle` for McKernel and lets the emulated mcexec read the node's state."""
        ann = bundle.config.setdefault("annotations", {})
        ann["io.mkrun.kernel"] = "mckernel"
        for key, value in annotations.items():
            ann["io.mkrun.mckernel." + key] = value
        procs = self.dir / "procs"  # where the emulated mcexecs catch pid collisions
        procs.mkdir(exist_ok=True)
        procs.chmod(0o1777)
        bundle.process["env"] = bundle.process.get("env", []) + [
            f"MKRUN_IHK_EMULATOR_STATE={self.state_path}", "MCEXEC_EMULATOR_REPORT=1",
            f"MCEXEC_EMULATOR_PROCS={procs}"]
        bundle.add_mount(str(self.dir), "bind", str(self.dir), ["rbind", "ro"])
        bundle.add_mount(str(procs), "bind", str(procs), ["bind", "rw"])
        return bundle

    # -- teardown -------------------------------------------------------------------------------
    def remove_device_nodes(self) -> None:
        for name in existing_mcos_nodes():
            path = f"/dev/{name}"
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue
            if stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == self.major:
                os.unlink(path)
