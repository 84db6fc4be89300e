"""McKernel start times on the IHK emulator (bench/mckernel.sh), never a timed test.

On one emulated node (conformance/integration/mckernel_node.py) whose ihk_os_boot takes
BOOT_DELAY_MS (default 2000: McKernel boots in seconds), the median of N runs of a trivial
program (busybox `true`):
  bare mcexec      `mcexec <os> true` on the host, on a booted instance (through `setarch -R`,
                   the personality the real mcexec sets before re-executing itself)
  attached run     `mkrun run` of a container attached to a booted instance (a job's,
                   `mkrun-lwk boot`): no IHK change, nothing reset
  pooled start     `mkrun create` + `start` until the program has run, on a pool instance
                   (`mkrun-lwk pool fill`): what the pool is for
  pooled start alone  of that, the `start` command until the program has run (create, the
                   engine's preparation, done before)
  pooled delete    the `delete` after it: the instance shut down and released; its boot again
                   is left to a background reset (`pool_reset = background`), waited for
                   before the next pooled container, untimed
  pooled run       `mkrun run`, start to exit including that delete
  dedicated run    `mkrun run` of a container that boots its own instance (and releases it)
And the Linux floor under them: the same bundles without the McKernel annotations (`true` runs
on Linux; the same mounts, the same pid namespace or none):
  linux run        as "attached run"
  linux start      as "pooled start"
Prints a markdown table, with the ratios to the bare mcexec.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "conformance" / "integration"))

import harness  # noqa: E402
from mckernel_node import EMULATOR, Node, existing_mcos_nodes  # noqa: E402

N = int(os.environ.get("N", "20"))
BOOT_DELAY_MS = int(os.environ.get("BOOT_DELAY_MS", "2000"))
MKRUN_LWK = Path(harness.MKRUN).resolve().parent / "lwk" / "mkrun-lwk"


def timed(argv) -> float:
    # Output to a file, never a pipe: a created container's init inherits it and would hold a
    # pipe open until it exits.
    with tempfile.TemporaryFile() as out:
        t0 = time.monotonic()
        rc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out).returncode
        elapsed = time.monotonic() - t0
        if rc != 0:
            out.seek(0)
            raise RuntimeError(f"{argv} failed ({rc}): {out.read().decode(errors='replace')}")
    return elapsed


def state_pid(rt, cid: str) -> int:
    with tempfile.TemporaryFile() as out:
        subprocess.run([rt.binary, "--root", rt.root, "state", cid], stdout=out, check=True)
        out.seek(0)
        return json.loads(out.read())["pid"]


def lwk(*args) -> None:
    p = subprocess.run([str(MKRUN_LWK), *args], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"mkrun-lwk {args}: {p.stderr}")


def wait_pool_free() -> None:
    """Until the pool instance's background reset (after the last pooled delete) has booted it."""
    deadline = time.monotonic() + 60
    while not subprocess.run([str(MKRUN_LWK), "pool", "status"], capture_output=True,
                             text=True).stdout.rstrip().endswith("step=running status=RUNNING free"):
        if time.monotonic() > deadline:
            raise RuntimeError("the pool instance was not reset within 60 s")
        time.sleep(0.01)


def wait_gone(pid: int) -> None:
    while harness.alive(pid):
        time.sleep(0.0005)


def main() -> None:
    if existing_mcos_nodes() or os.path.exists("/dev/mcd0"):
        sys.exit("bench/mckernel: /dev has McKernel nodes already (real IHK or another run)")
    work = Path(tempfile.mkdtemp(prefix="mkrun-bench-lwk-"))
    work.chmod(0o755)
    rt = harness.Runtime(name="mkrun", binary=harness.MKRUN, workdir=work, tag="bench")
    rootfs = work / "rootfs"
    harness.make_rootfs(rootfs)
    node = Node(work / "node")
    node.dir.mkdir()
    node.build()
    node.write_conf(pool="1", pool_ncpus="1", pool_memory="512M", pool_reset="background",
                    mkrun_lwk=str(MKRUN_LWK))
    node.set("boot_delay_ms", str(BOOT_DELAY_MS))
    node.initial = node.snapshot()
    os.environ["MKRUN_MCKERNEL_CONF"] = str(node.conf_path)
    os.environ["MKRUN_IHK_EMULATOR_STATE"] = str(node.state_path)
    harness.become_subreaper()

    def bundle(name: str, **annotations) -> harness.Bundle:
        b = node.bundle(harness.new_bundle(rt, rootfs, name), **annotations)
        return b.set_args("true").save()

    def on_linux(b: harness.Bundle, name: str) -> harness.Bundle:
        twin = harness.new_bundle(rt, rootfs, name)
        twin.config = json.loads(json.dumps(b.config))
        annotations = twin.config.get("annotations", {})
        for key in [k for k in annotations if k.startswith("io.mkrun.")]:
            del annotations[key]
        return twin.save()

    def started(b: harness.Bundle, cid: str) -> tuple[float, float]:
        """create + state + start until the init is gone, and of that the start's part."""
        t0 = time.monotonic()
        timed([rt.binary, "--root", rt.root, "create", "--bundle", b.path, cid])
        pid = state_pid(rt, cid)
        t1 = time.monotonic()
        timed([rt.binary, "--root", rt.root, "start", cid])
        wait_gone(pid)
        t2 = time.monotonic()
        harness.reap_zombie_children()
        return t2 - t0, t2 - t1

    times: dict[str, list[float]] = {k: [] for k in (
        "bare mcexec", "attached run", "linux run", "pooled start", "pooled start alone",
        "linux start", "pooled delete", "pooled run", "dedicated run")}
    try:
        # a job's instance (os 0) for the bare mcexec and the attached containers
        lwk("boot", "--job", "bench", "--user", "root", "--ncpus", "1", "--mem", "512M")
        bare = ["setarch", os.uname().machine, "-R", str(node.mcexec), "0", "/bin/true"]
        attached = bundle("attached", instance="job")
        attached.config["linux"]["namespaces"] = [
            ns for ns in attached.config["linux"]["namespaces"] if ns["type"] != "pid"]
        attached.config["mounts"] = [m for m in attached.config["mounts"]
                                     if m["destination"] != "/proc"]
        attached.add_mount("/proc", "bind", "/proc", ["rbind", "nosuid", "noexec", "nodev"])
        attached.save()
        lwk("pool", "fill")  # os 1
        pooled = bundle("pooled")
        dedicated = bundle("dedicated", ncpus="2")
        linux_attached = on_linux(attached, "linux-attached")
        linux_pooled = on_linux(pooled, "linux-pooled")
        for i in range(N):
            times["bare mcexec"].append(timed(bare))
            times["attached run"].append(timed(
                [rt.binary, "--root", rt.root, "run", "--bundle", attached.path, f"a{i}"]))
            times["linux run"].append(timed(
                [rt.binary, "--root", rt.root, "run", "--bundle", linux_attached.path, f"la{i}"]))
            wait_pool_free()
            whole, alone = started(pooled, f"p{i}")
            times["pooled start"].append(whole)
            times["pooled start alone"].append(alone)
            times["linux start"].append(started(linux_pooled, f"lp{i}")[0])
            timed([rt.binary, "--root", rt.root, "delete", f"lp{i}"])
            times["pooled delete"].append(
                timed([rt.binary, "--root", rt.root, "delete", f"p{i}"]))
            wait_pool_free()
            times["pooled run"].append(timed(
                [rt.binary, "--root", rt.root, "run", "--bundle", pooled.path, f"r{i}"]))
            wait_pool_free()  # the reset holds the host lock while it boots
            times["dedicated run"].append(timed(
                [rt.binary, "--root", rt.root, "run", "--bundle", dedicated.path, f"d{i}"]))
    finally:
        for cid in subprocess.run([rt.binary, "--root", rt.root, "list", "-q"],
                                  capture_output=True, text=True).stdout.split():
            subprocess.run([rt.binary, "--root", rt.root, "delete", "--force", cid])
        subprocess.run([str(MKRUN_LWK), "pool", "drain"], capture_output=True)
        subprocess.run([str(MKRUN_LWK), "shutdown", "--job", "bench"], capture_output=True)
        left = node.snapshot() != node.initial
        node.remove_device_nodes()
        subprocess.run(["rm", "-rf", str(work)])
        if left:
            print("bench/mckernel: the emulated node was not left as it was", file=sys.stderr)
    base = statistics.median(times["bare mcexec"])
    print(f"McKernel on the emulator: boot delay {BOOT_DELAY_MS} ms, median of {N} runs "
          f"(`true`), {time.strftime('%Y-%m-%d')}\n")
    print("| what | median ms | vs bare mcexec |\n|---|---:|---:|")
    for name, values in times.items():
        m = statistics.median(values)
        print(f"| {name} | {m * 1000:.2f} | {m / base:.2f}x (+{(m - base) * 1000:.2f} ms) |")


if __name__ == "__main__":
    main()
