#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpus, conformance/fuzz/corpus/<kind>/, from what the tests use.

  config     `mkrun spec` and `spec --rootless` output, every JSON object literal of the unit
             tests (oci-spec/tests, runtime/tests) that reads as a config, the busybox bundle
             config of the integration harness
  process    the process object of each config
  resources  linux.resources of each config, and the unit tests' resources literals
  state      one record with the fields render_record() writes (a real one needs a container)

usage: conformance/fuzz/make-corpus.py [MKRUN]   (default build/mkrun; seeds are named by hash,
so rerunning adds nothing twice)
"""
import hashlib
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
OUT = HERE / "corpus"


def save(kind: str, text: str) -> None:
    d = OUT / kind
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(text.encode()).hexdigest()[:16]).write_text(text)


def literals():
    """JSON objects in C++ raw string literals of the unit tests (adjacent pieces joined)."""
    for source in sorted(list((REPO / "oci-spec/tests").glob("*.cpp")) +
                         list((REPO / "runtime/tests").glob("*.cpp"))):
        code = source.read_text()
        for statement in re.split(r";\s*\n", code):
            pieces = re.findall(r'R"(\w*)\((.*?)\)\1"', statement, re.S)
            if not pieces:
                continue
            text = "".join(p[1] for p in pieces)
            try:
                value = json.loads(text)
            except ValueError:
                continue
            if isinstance(value, dict):
                yield text, value


def main() -> None:
    mkrun = str(Path(sys.argv[1]).resolve()) if len(sys.argv) > 1 else str(REPO / "build" / "mkrun")
    configs = []
    for flags in ([], ["--rootless"]):
        with tempfile.TemporaryDirectory() as d:
            r = subprocess.run([mkrun, "spec", *flags], cwd=d, capture_output=True, text=True)
            if r.returncode == 0:
                configs.append(Path(d, "config.json").read_text())
            else:
                print(f"make-corpus: {mkrun} spec {' '.join(flags)} failed: {r.stderr}",
                      file=sys.stderr)
    for text, value in literals():
        if {"ociVersion", "process", "root", "linux"} & value.keys():
            configs.append(text)
        elif {"memory", "cpu", "pids", "blockIO", "unified"} & value.keys():
            save("resources", text)
        elif "args" in value or "cwd" in value:
            save("process", text)
        elif {"id", "pid", "bundle", "status"} <= value.keys():
            save("state", text)
    for text in configs:
        save("config", text)
        value = json.loads(text)
        if isinstance(value.get("process"), dict):
            save("process", json.dumps(value["process"]))
        resources = (value.get("linux") or {}).get("resources")
        if isinstance(resources, dict):
            save("resources", json.dumps(resources))
    record = {"ociVersion": "1.0.2", "id": "c1", "pid": 4242,
              "bundle": "/var/tmp/b", "rootfs": "/var/tmp/b/rootfs",
              "created": "2024-01-02T03:04:05.123456789Z",
              "annotations": {"a": "b"}, "owner_uid": 0, "pid_start_time": 123456,
              "cgroup": {"driver": "cgroupfs", "directories": ["/sys/fs/cgroup/c1"], "owned": True},
              "kernel": "", "kernel_journal": {"step": "booted"}}
    save("state", json.dumps(record))
    for kind in ("config", "process", "resources", "state"):
        files = list((OUT / kind).glob("*"))
        print(f"{kind}: {len(files)} seeds, {sum(f.stat().st_size for f in files)} bytes")


if __name__ == "__main__":
    main()
