#!/usr/bin/env python3
"""Drives the real binary with mutated configs: `create` then `delete --force` on each.

Starts from the busybox bundle config (`mkrun spec`, args `true`, as the integration harness makes
it) and applies seeded structural mutations to it: deep nesting, wrong types, null, huge numbers,
empty strings/arrays/objects, very long strings, missing keys, duplicate keys, unicode and NUL.
Every container lives under a private --root in a temp dir; everything is removed at the end,
also on failure or Ctrl-C.

Reports configs tried, crashes (killed by a signal), hangs (timeout) and leftovers (state dir,
cgroups, mounts, processes) and exits 1 on any of them; the last line is
"N configs, N crashes, N hangs, N leaks". Failing configs are kept in --keep-dir if given.

usage: sudo conformance/fuzz/mutate_configs.py [--count 300] [--seed 1] [--timeout 10]
                                                [--mkrun build/mkrun] [--keep-dir DIR]
"""
import argparse
import copy
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))
import harness  # noqa: E402  (make_rootfs, leak checks)

MUTATIONS = []


def mutation(f):
    MUTATIONS.append(f)
    return f


def paths(value, prefix=()):
    """Every (path, value) in the document, containers included."""
    yield prefix, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths(v, prefix + (i,))


def set_at(doc, path, value):
    if not path:
        return value
    parent = doc
    for p in path[:-1]:
        parent = parent[p]
    parent[path[-1]] = value
    return doc


def delete_at(doc, path):
    if path:
        parent = doc
        for p in path[:-1]:
            parent = parent[p]
        del parent[path[-1]]
    return doc


# Each mutation takes (rng, doc, path, value) and returns the new document as JSON text; the
# text form lets duplicate keys and raw bytes through, which json.dumps cannot express.
@mutation
def deep_nesting(rng, doc, path, value):
    depth = rng.choice([100, 9_999, 10_000, 10_001, 100_000, 1_000_000])
    opener, closer = rng.choice([("[", "]"), ('{"a":', "}")])
    marker = "\u2603MARK\u2603"
    text = json.dumps(set_at(doc, path, marker))
    inner = "[]" if opener == "[" else "{}"
    return text.replace(json.dumps(marker), opener * depth + inner + closer * depth, 1)


@mutation
def wrong_type(rng, doc, path, value):
    choices = [0, -1, 1.5, True, "x", [], {}, [1, "a", None], {"k": "v"}]
    return json.dumps(set_at(doc, path, rng.choice([c for c in choices if type(c) is not type(value)])))


@mutation
def null(rng, doc, path, value):
    return json.dumps(set_at(doc, path, None))


@mutation
def huge_number(rng, doc, path, value):
    text = json.dumps(set_at(doc, path, "\u2603NUM\u2603"))
    number = rng.choice(["18446744073709551616", "-9223372036854775809", "1e400", "-1e400",
                         "4294967296", "-1", "2147483648", "1.0", "0.5e1", "-0", "1" * 400])
    return text.replace('"\u2603NUM\u2603"', number, 1)


@mutation
def empty(rng, doc, path, value):
    return json.dumps(set_at(doc, path, rng.choice(["", [], {}])))


@mutation
def long_string(rng, doc, path, value):
    n = rng.choice([4096, 65536, 1 << 20])
    return json.dumps(set_at(doc, path, rng.choice(["a", "/", "../", "%s"]) * n))


@mutation
def missing_key(rng, doc, path, value):
    return json.dumps(delete_at(doc, path))


@mutation
def duplicate_key(rng, doc, path, value):
    # `"key": <value>` repeated with another value: Go keeps the last one
    if not path or not isinstance(path[-1], str):
        return json.dumps(doc)
    text = json.dumps(set_at(doc, path, "\u2603DUP\u2603"))
    other = json.dumps(rng.choice([None, 0, "", [], {}, value]))
    original = json.dumps(value)
    return text.replace('"\u2603DUP\u2603"', f'{original}, {json.dumps(path[-1])}: {other}', 1)


@mutation
def unicode_and_nul(rng, doc, path, value):
    s = rng.choice(["a\u0000b", "\u0000", "\u00e9\u4e2d\U0001f600", "\ud800", "\\", "\n", "\u202e"])
    text = json.dumps(set_at(doc, path, s), ensure_ascii=rng.random() < 0.5)
    return text


@mutation
def raw_bytes(rng, doc, path, value):
    # invalid UTF-8 and a literal NUL byte in the document itself (returned as bytes)
    text = json.dumps(set_at(doc, path, "\u2603RAW\u2603")).encode()
    return text.replace('"\\u2603RAW\\u2603"'.encode(), rng.choice([b'"\xff\xfe"', b'"a\x00b"', b'\x00']), 1)


def mutate(rng, base):
    doc = copy.deepcopy(base)
    targets = list(paths(doc))
    path, value = rng.choice(targets)
    m = rng.choice(MUTATIONS)
    out = m(rng, doc, path, copy.deepcopy(value))
    return m.__name__, "/" + "/".join(map(str, path)), out if isinstance(out, bytes) else out.encode(
        "utf-8", "surrogatepass")


def run(argv, timeout):
    # stderr to a file, never a pipe: the created init inherits it and would hold a pipe open
    with tempfile.TemporaryFile() as err:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            rc = None
        err.seek(0)
        return rc, err.read().decode(errors="replace")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("--mkrun", default=os.environ.get("MKRUN") or str(HERE.parents[1] / "build/mkrun"))
    ap.add_argument("--keep-dir", type=Path)
    args = ap.parse_args()
    args.mkrun = str(Path(args.mkrun).resolve())
    if os.geteuid() != 0:
        sys.exit("mutate_configs: needs root (it creates containers)")

    work = Path(tempfile.mkdtemp(prefix="mkrun-mutate-"))
    work.chmod(0o755)
    root = work / "root"
    bundle = work / "bundle"
    crashes = hangs = leaks = 0
    tried = 0
    ids = []

    def keep(name, data, note):
        if args.keep_dir:
            args.keep_dir.mkdir(parents=True, exist_ok=True)
            (args.keep_dir / f"{name}.json").write_bytes(data)
            (args.keep_dir / f"{name}.txt").write_text(note)

    # the same check the integration fixture makes, with this run's ids and scratch dir
    rt = harness.Runtime(name="mkrun", binary=args.mkrun, workdir=work, tag="mut")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        bundle.mkdir()
        harness.make_rootfs(bundle / "rootfs")
        subprocess.run([args.mkrun, "spec"], cwd=bundle, check=True)
        base = json.loads((bundle / "config.json").read_text())
        base["process"]["terminal"] = False
        base["process"]["args"] = ["true"]
        base["root"]["readonly"] = False
        rng = random.Random(args.seed)
        for i in range(args.count):
            name, where, data = mutate(rng, base)
            (bundle / "config.json").write_bytes(data)
            cid = f"mut-{args.seed}-{i}"
            ids.append(cid)
            rt.ids = [cid]
            tried += 1
            what = f"#{i} {name} at {where}"
            rc, err = run([args.mkrun, "--root", root, "create", "--bundle", bundle, cid], args.timeout)
            drc, derr = run([args.mkrun, "--root", root, "delete", "--force", cid], args.timeout)
            for step, code, text in (("create", rc, err), ("delete", drc, derr)):
                if code is None:
                    hangs += 1
                    print(f"HANG  {what}: {step} still running after {args.timeout}s")
                    keep(cid, data, f"{step} hang\n{text}")
                elif code < 0:  # exit codes above 128 are mkrun's own (exec's 255)
                    crashes += 1
                    sig = -code
                    print(f"CRASH {what}: {step} died of signal {sig}: {text.strip()[-300:]}")
                    keep(cid, data, f"{step} signal {sig}\n{text}")
            problems = harness.check_host(rt, [cid], work, fix=True)
            if problems:
                leaks += 1
                print(f"LEAK  {what}: " + "; ".join(problems))
                keep(cid, data, "\n".join(problems))
                shutil.rmtree(root / cid, ignore_errors=True)
    finally:
        for cid in ids[-1:]:
            run([args.mkrun, "--root", root, "delete", "--force", cid], args.timeout)
        harness.check_host(rt, ids, work, fix=True)
        for line in reversed(harness.mounts_mentioning(str(work))):
            subprocess.run(["umount", "-l", line.split()[4]], stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)
    print(f"{tried} configs, {crashes} crashes, {hangs} hangs, {leaks} leaks")
    sys.exit(1 if crashes or hangs or leaks else 0)


if __name__ == "__main__":
    main()
