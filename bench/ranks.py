#!/usr/bin/python3
"""A node full of ranks: COUNT containers created at once, then started at once (as
`srun -n COUNT --container` does on one node), each running `sh -c 'echo $$'`, then deleted at
once. Prints one JSON object: the wall time of the whole batch and of each phase, the peak memory
of the runtime's processes (a memory cgroup around the batch), and what failed or was left
behind.

usage: ranks.py RUNTIME_COMMAND ROOT BUNDLE COUNT
  RUNTIME_COMMAND  the runtime's command line without --root (may hold spaces: a wrapper)
The bundle's process must be `sh -c 'echo $$'` without a terminal. Runs as root, under a
subreaper (bench.sh provides one), so that exited inits are reaped at once.
"""
import json
import os
import shlex
import subprocess
import sys
import time


class MemoryCgroup:
    """The batch's runtime processes in a memory cgroup of their own: its peak is the memory
    they (and the inits, until they are moved to their containers' cgroups) took. Under cgroup
    v1 the charges stay where they were made; under v2 memory.peak is the cgroup's own."""

    def __init__(self, name):
        v1 = "/sys/fs/cgroup/memory"
        self.path = os.path.join(v1 if os.path.isdir(v1) else "/sys/fs/cgroup", name)
        self.peak_file = "memory.max_usage_in_bytes" if os.path.isdir(v1) else "memory.peak"
        self.previous = None
        os.mkdir(self.path)
        with open("/proc/self/cgroup") as f:
            for line in f:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                if ("memory" in controllers.split(",")) == os.path.isdir(v1):
                    self.previous = os.path.dirname(self.path) + path
        self.join(self.path)

    def join(self, path):
        with open(os.path.join(path, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))

    def close(self):
        with open(os.path.join(self.path, self.peak_file)) as f:
            peak = int(f.read()) // 1024
        self.join(self.previous)
        for _ in range(100):  # the last children's charges may still be leaving
            try:
                os.rmdir(self.path)
                break
            except OSError:
                time.sleep(0.05)
        return peak


def at_once(commands, **popen_args):
    """Starts every command, then waits for all; returns the finished Popen objects."""
    procs = [subprocess.Popen(c, stdin=subprocess.DEVNULL, **popen_args) for c in commands]
    for p in procs:
        p.wait()
    return procs


def cgroup_mounts():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            fstype = fields[fields.index("-") + 1]
            if fstype in ("cgroup", "cgroup2"):
                yield fields[4]


def leftovers(root, ids):
    left = [f"state {i}" for i in ids if os.path.exists(os.path.join(root, i))]
    for base in cgroup_mounts():
        left += [f"cgroup {base}/{i}" for i in ids if os.path.exists(os.path.join(base, i))]
    return left


def main():
    runtime, root, bundle, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    rt = shlex.split(runtime) + ["--root", root]
    tag = f"rank{os.getpid()}"
    ids = [f"{tag}-{i}" for i in range(count)]
    memory = MemoryCgroup(f"mkrun-bench-{tag}")
    t0 = time.monotonic()
    # create's stdout is the init's: each container writes its `echo $$` into its pipe.
    created = at_once([rt + ["create", "--bundle", bundle, i] for i in ids],
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t1 = time.monotonic()
    started = at_once([rt + ["start", i] for i in ids], stderr=subprocess.PIPE)
    outputs = [p.stdout.read().decode() for p in created]  # EOF: the container's sh exited
    t2 = time.monotonic()
    deleted = at_once([rt + ["delete", "--force", i] for i in ids], stderr=subprocess.PIPE)
    t3 = time.monotonic()
    peak = memory.close()
    failures = []
    for phase, procs in (("create", created), ("start", started), ("delete", deleted)):
        for i, p in zip(ids, procs):
            if p.returncode != 0:
                failures.append(f"{phase} {i}: rc {p.returncode}: "
                                f"{p.stderr.read().decode().strip()[-200:]}")
    # Each rank is PID 1 of its own pid namespace.
    failures += [f"output of {i}: {out!r}" for i, out in zip(ids, outputs) if out != "1\n"]
    print(json.dumps({
        "count": count,
        "wall_ms": round((t3 - t0) * 1000, 1),
        "create_ms": round((t1 - t0) * 1000, 1),
        "start_and_exit_ms": round((t2 - t1) * 1000, 1),
        "delete_ms": round((t3 - t2) * 1000, 1),
        "peak_memory_kib": peak,
        "failures": failures[:10],
        "failure_count": len(failures),
        "left_behind": leftovers(root, ids)[:10],
    }))


if __name__ == "__main__":
    main()
