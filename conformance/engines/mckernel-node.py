#!/usr/bin/python3
"""An emulated IHK/McKernel node for the engine tests: the integration suite's node
(conformance/integration/mckernel_node.py) driven from the shell.

  mckernel-node.py create DIR BUILD [INIT]   lay the node out in DIR (must not exist) from the
                                             emulator in BUILD/conformance/lwk; INIT: the conf's
                                             `init` (default: the runtime's own default path)
  mckernel-node.py calls DIR                 the calls that changed the node, in order
  mckernel-node.py check DIR                 exit 0 if the node is exactly as created (records,
                                             claims, /dev/mcos* nodes, online CPUs); removes the
                                             device nodes the emulator left, either way
  mckernel-node.py admin-up DIR              an administrator's instance 5 on CPU 3, RUNNING,
                                             that containers may attach to (attach = 5)
  mckernel-node.py admin-down DIR            the node as it was before admin-up

`create` prints shell assignments: MCK_CONF (the host configuration, for MKRUN_MCKERNEL_CONF),
MCK_STATE (the state file, for the container's mcexec), MCK_DIR (to bind into containers).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))


def load_node(directory: Path):
    from mckernel_node import Node
    saved = json.loads((directory / "initial.json").read_text())
    node = Node(directory)
    node.major = saved["major"]
    node.initial = saved["initial"]
    return node


def create(directory: Path, build: Path, init: str | None) -> int:
    os.environ["MKRUN"] = str(build / "mkrun")  # where mckernel_node finds the emulator
    from mckernel_node import Node, existing_mcos_nodes
    if os.path.exists("/dev/mcd0"):
        print("a real IHK is loaded on this host: the emulator would shadow it", file=sys.stderr)
        return 77
    if existing_mcos_nodes():
        print(f"/dev has McKernel instance nodes already: {existing_mcos_nodes()}",
              file=sys.stderr)
        return 77
    directory.mkdir(parents=True)
    node = Node(directory).build()
    node.write_conf(init=init)  # None: the runtime's compiled-in default
    node.initial = node.snapshot()
    (directory / "initial.json").write_text(
        json.dumps({"major": node.major, "initial": node.initial}))
    print(f"MCK_DIR={directory}\nMCK_CONF={node.conf_path}\nMCK_STATE={node.state_path}")
    return 0


def calls(directory: Path) -> int:
    print("\n".join(load_node(directory).mutating_calls()))
    return 0


def check(directory: Path) -> int:
    node = load_node(directory)
    after = node.snapshot()
    node.remove_device_nodes()
    if after != node.initial:
        print(f"the emulated node is not as it was:\n{after}\n!=\n{node.initial}")
        return 1
    return 0


def admin_up(directory: Path) -> int:
    from mckernel_node import GIB
    node = load_node(directory)
    for name in ("state", "mckernel.conf"):
        (directory / f"{name}.before-admin").write_text((directory / name).read_text())
    node.set("reserved", "3")
    node.set("linux_mem", f"{8 * GIB}@0,{8 * GIB}@1")
    node.set("os", f"5 RUNNING cpus=3 mem={GIB}@0 loaded=1 ikc= kargs=hidos kmsg=")
    os.mknod("/dev/mcos5", 0o600 | 0o020000, os.makedev(node.major, 5))
    with open(directory / "mckernel.conf", "a") as conf:
        conf.write("attach = 5\n")
    return 0


def admin_down(directory: Path) -> int:
    node = load_node(directory)
    with node.locked():
        for name in ("state", "mckernel.conf"):
            saved = directory / f"{name}.before-admin"
            if saved.exists():
                (directory / name).write_text(saved.read_text())
                saved.unlink()
    if os.path.exists("/dev/mcos5"):
        os.unlink("/dev/mcos5")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) >= 4 and argv[1] == "create":
        return create(Path(argv[2]), Path(argv[3]), argv[4] if len(argv) > 4 else None)
    commands = {"calls": calls, "check": check, "admin-up": admin_up, "admin-down": admin_down}
    if len(argv) == 3 and argv[1] in commands:
        return commands[argv[1]](Path(argv[2]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
