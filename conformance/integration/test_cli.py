"""Command line, output formats and error reporting callers depend on (see
shared/design/runc-cli-contract.md)."""
import json
import os
import re
from collections import OrderedDict
from datetime import datetime, timezone

import pytest

from harness import RFC3339, RFC3339NANO, alive, assert_nothing_left

pytestmark = pytest.mark.parity

STATE_KEYS = ["ociVersion", "id", "pid", "status", "bundle", "rootfs", "created"]


def ordered(text):
    return json.loads(text, object_pairs_hook=OrderedDict)


def check_created(value):
    assert RFC3339NANO.match(value), f"created is not UTC RFC3339Nano with trimmed zeros: {value!r}"
    secs = value[:19]
    t = datetime.strptime(secs, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    assert abs((datetime.now(timezone.utc) - t).total_seconds()) < 120


def test_state_json_format(rt, bundle):
    bundle.set_args("sleep", "1000")
    cid = rt.create(bundle).ok().cid
    r = rt("state", cid).ok()
    assert r.err == ""
    assert not r.out.endswith("\n"), "state output has no trailing newline"
    st = ordered(r.out)
    assert list(st) == STATE_KEYS + ["owner"], "key order (annotations absent when none)"
    # pretty-printed with a 2-space indent, exactly as Go's MarshalIndent
    assert r.out == json.dumps(st, indent=2)
    assert st["ociVersion"] == bundle.config["ociVersion"]
    assert st["id"] == cid
    assert st["status"] == "created"
    assert st["bundle"] == str(bundle.path)
    assert st["rootfs"] == str(bundle.path / "rootfs")
    assert st["owner"] == ""
    check_created(st["created"])
    assert alive(st["pid"])


def test_state_annotations(rt, bundle):
    bundle.set_args("sleep", "1000")
    bundle.config["annotations"] = {"org.example.key": "value1", "io.kubernetes.cri.sandbox-id": "abc"}
    cid = rt.create(bundle).ok().cid
    r = rt("state", cid).ok()
    st = ordered(r.out)
    assert list(st) == STATE_KEYS + ["annotations", "owner"]
    assert st["annotations"] == bundle.config["annotations"]
    assert r.out == json.dumps(st, indent=2)


def test_state_running_and_stopped(rt, bundle):
    cid, pid = rt.started(bundle.set_args("sleep", "1000"))
    st = rt.state(cid)
    assert (st["status"], st["pid"]) == ("running", pid)
    created = st["created"]
    rt.kill(cid, "9").ok()
    rt.wait_exit(pid)
    st = rt.state(cid)
    assert (st["status"], st["pid"]) == ("stopped", 0)
    assert st["created"] == created, "created is the creation time, it does not change"


def test_state_bundle_is_absolute(rt, bundle):
    bundle.set_args("sleep", "1000")
    bundle.save()
    cid = rt.new_id()
    rt("create", "--bundle", "bundle", cid, cwd=rt.workdir).ok()
    st = rt.state(cid)
    assert st["bundle"] == str(bundle.path)
    assert st["rootfs"] == str(bundle.path / "rootfs")


def test_create_bundle_defaults_to_cwd(rt, bundle):
    bundle.set_args("sleep", "1000")
    bundle.save()
    cid = rt.new_id()
    rt("create", cid, cwd=bundle.path).ok()
    assert rt.state(cid)["bundle"] == str(bundle.path)


def test_list_empty(rt):
    # the root does not even exist yet
    r = rt("list").ok()
    assert r.out.split() == ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    assert rt("list", "-q").ok().out == ""
    assert rt("list", "--format", "json").ok().out == "null\n"
    assert rt("list", "--format=json").ok().out == "null\n"
    assert rt("list", "-f", "json").ok().out == "null\n"


def test_list_empty_existing_root(rt):
    rt.root.mkdir(mode=0o700)
    assert rt("list", "--format", "json").ok().out == "null\n"
    assert rt("list", "-q").ok().out == ""


def test_list_table(rt, make_bundle):
    b1, b2 = make_bundle(), make_bundle()
    c1 = rt.create(b1.set_args("sleep", "1000")).ok().cid
    c2, pid2 = rt.started(b2.set_args("sleep", "1000"))
    r = rt("list").ok()
    lines = r.out.splitlines()
    assert len(lines) == 3, r
    header = lines[0]
    cols = ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    assert header.split() == cols
    starts = [header.index(c) for c in cols]
    rows = {}
    for line in lines[1:]:
        fields = line.split()
        assert len(fields) == 6, line
        # tabwriter: every field starts where its column header starts
        assert [line.index(f, s) for f, s in zip(fields, starts)] == starts, (header, line)
        rows[fields[0]] = fields
    s1, s2 = rt.state(c1), rt.state(c2)
    assert rows[c1] == [c1, str(s1["pid"]), "created", str(b1.path), s1["created"], "root"]
    assert rows[c2] == [c2, str(pid2), "running", str(b2.path), s2["created"], "root"]
    assert sorted(rt("list", "-q").ok().out.splitlines()) == sorted([c1, c2])
    assert sorted(rt("list", "--quiet").ok().out.splitlines()) == sorted([c1, c2])


def test_list_json(rt, bundle):
    bundle.config["annotations"] = {"k": "v"}
    cid = rt.create(bundle.set_args("sleep", "1000")).ok().cid
    r = rt("list", "--format", "json").ok()
    assert r.out.endswith("]\n") and r.out.count("\n") == 1, "one line plus newline"
    arr = json.loads(r.out, object_pairs_hook=OrderedDict)
    assert len(arr) == 1
    st = rt.state(cid)
    assert list(arr[0]) == STATE_KEYS + ["annotations", "owner"]
    assert arr[0]["owner"] == "root"
    for k in STATE_KEYS + ["annotations"]:
        assert arr[0][k] == st[k], k


def test_list_bad_format(rt):
    r = rt("list", "--format", "xml")
    assert r.rc == 1, r


def test_spec_writes_config_and_refuses_overwrite(rt):
    d = rt.workdir / "specdir"
    d.mkdir()
    r = rt.raw("spec", cwd=d).ok()
    assert r.out == ""
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["ociVersion"].startswith("1.")
    assert cfg["process"]["terminal"] is True
    assert cfg["process"]["args"] == ["sh"]
    assert cfg["root"]["path"] == "rootfs"
    assert {ns["type"] for ns in cfg["linux"]["namespaces"]} >= {"pid", "network", "ipc", "uts", "mount"}
    before = (d / "config.json").read_bytes()
    r = rt.raw("spec", cwd=d)
    assert r.rc == 1, r
    assert (d / "config.json").read_bytes() == before


def test_spec_bundle_flag(rt):
    d = rt.workdir / "specdir2"
    d.mkdir()
    rt.raw("spec", "--bundle", d).ok()
    assert json.loads((d / "config.json").read_text())["process"]["args"] == ["sh"]
    e = rt.workdir / "specdir3"
    e.mkdir()
    rt.raw("spec", "-b", e).ok()
    assert (e / "config.json").exists()


def test_global_flag_after_command(rt):
    r = rt.raw("list", "--root", rt.root)
    assert r.rc == 1, r
    assert "flag provided but not defined: -root" in r.err + r.out


def test_unknown_flag(rt):
    r = rt("list", "--bogus")
    assert r.rc == 1, r
    assert "flag provided but not defined: -bogus" in r.err + r.out


def test_unknown_command(rt):
    r = rt("foo")
    assert r.rc == 3, r
    assert "No help topic for 'foo'" in r.err


def test_single_dash_long_flags(rt, bundle):
    cid = rt.create(bundle.set_args("sleep", "1000")).ok().cid
    assert rt.raw("-root", rt.root, "list", "-q").ok().out.split() == [cid]
    assert rt.raw(f"-root={rt.root}", "list", "-q").ok().out.split() == [cid]
    assert rt.raw(f"--root={rt.root}", "list", "-q").ok().out.split() == [cid]
    assert rt.raw("--root", rt.root, "list", "-format", "json").ok().out.startswith("[")


def test_version(rt):
    r = rt.raw("--version").ok()
    lines = r.out.splitlines()
    assert lines[0].startswith(("runc version ", "mkrun version ")), r
    assert any(l.startswith("commit: ") for l in lines), r
    assert any(re.match(r"^spec: 1\.\d+\.\d+", l) for l in lines), r
    assert rt.raw("-v").ok().out == r.out


def test_features(rt):
    r = rt.raw("features").ok()
    assert r.err == ""
    f = json.loads(r.out)
    assert f["ociVersionMin"].startswith("1.") and f["ociVersionMax"].startswith("1.")
    assert "pid" in f["linux"]["namespaces"]
    assert set(f["hooks"]) >= {"prestart", "createRuntime", "poststart", "poststop"}


def test_log_json(rt):
    log = rt.workdir / "log.json"
    r = rt("--log", log, "--log-format", "json", "state", "no-such-container")
    # `--root` comes first from rt(); global flags may come in any order before the command
    assert r.rc == 1, r
    assert r.out == ""
    assert r.err == "container does not exist\n", "the bare message also goes to stderr"
    lines = log.read_text().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith('{"level":"error","msg":"container does not exist","time":"'), lines[0]
    entry = json.loads(lines[0])
    assert list(entry) == ["level", "msg", "time"]
    assert RFC3339.match(entry["time"]), entry
    assert oct(os.stat(log).st_mode & 0o777) == oct(0o644)


def test_log_appends(rt):
    log = rt.workdir / "log.json"
    log.write_text('{"level":"info","msg":"before","time":"2026-01-01T00:00:00Z"}\n')
    rt("--log", log, "--log-format=json", "state", "nope1").fails(1)
    rt("--log", log, "--log-format=json", "kill", "nope2", "KILL").fails(1)
    entries = [json.loads(l) for l in log.read_text().splitlines()]
    assert [e["msg"] for e in entries] == ["before", "container does not exist", "container does not exist"]


def test_log_text_format_on_stderr(rt):
    r = rt("state", "no-such-container")
    assert r.rc == 1
    assert re.match(r'^time="[^"]+" level=error msg="container does not exist"\n$', r.err), r


def test_bad_log_format(rt):
    r = rt("--log-format", "xml", "list")
    assert r.rc == 1, r


def test_malformed_config(rt, bundle):
    (bundle.path / "config.json").write_text('{"ociVersion": "1.0.2", "process": ')
    cid = rt.new_id()
    r = rt("create", "--bundle", bundle.path, cid)
    assert r.rc == 1 and r.err, r
    assert_nothing_left(rt, cid, bundle)


def test_missing_config(rt, bundle):
    (bundle.path / "config.json").unlink()
    cid = rt.new_id()
    r = rt("create", "--bundle", bundle.path, cid)
    assert r.rc == 1 and r.err, r
    assert_nothing_left(rt, cid, bundle)


def test_missing_rootfs(rt, bundle):
    bundle.config["root"]["path"] = "no-such-rootfs"
    r = rt.create(bundle)
    r.fails(1, "no such file or directory")
    assert_nothing_left(rt, r.cid, bundle)


def test_missing_executable(rt, bundle):
    r = rt.create(bundle.set_args("nonexistent-cmd"))
    r.fails(1, "executable file not found in $PATH")
    assert "nonexistent-cmd" in r.err
    assert_nothing_left(rt, r.cid, bundle)


def test_missing_executable_run(rt, bundle):
    r = rt.run(bundle.set_args("/bin/nonexistent"))
    r.fails(1, "no such file or directory")
    assert_nothing_left(rt, r.cid, bundle)


def test_executable_is_a_directory(rt, bundle):
    r = rt.create(bundle.set_args("/etc"))
    r.fails(1, "permission denied")
    assert_nothing_left(rt, r.cid, bundle)


def test_nonexistent_cwd_is_created(rt, bundle):
    bundle.process["cwd"] = "/no/such/dir"
    assert rt.output(bundle, "pwd") == "/no/such/dir\n"


def test_relative_args_resolved_via_path(rt, bundle):
    bundle.process["env"] = ["PATH=/nowhere:/bin"]
    assert rt.output(bundle, "echo", "found") == "found\n"


CONTROL_COMMANDS = {"exec": "a minimum of", "ps": "a minimum of", "pause": "exactly",
                    "resume": "exactly", "update": "exactly", "events": "exactly"}


def test_control_commands_help(rt):
    for command in CONTROL_COMMANDS:
        r = rt.raw(command, "--help").ok()
        assert r.out.startswith(f"NAME:\n   {rt.name} {command} - "), r
        assert "OPTIONS:" in r.out or command in ("pause", "resume"), r
    assert "--ignore-paused" in rt.raw("exec", "--help").out
    # runc 1.1 hides the obsolete kernel memory flags of update
    assert "--kernel-memory" not in rt.raw("update", "--help").out


def test_control_commands_argument_count(rt):
    for command, requirement in CONTROL_COMMANDS.items():
        r = rt(command)
        r.fails(1, f'"{command}" requires {requirement} 1 argument(s)')
        assert r.out.startswith("Incorrect Usage."), r


def test_control_commands_listed_in_help(rt):
    out = rt.raw("--help").ok().out
    for command in CONTROL_COMMANDS:
        assert re.search(rf"^   {command} +\S", out, re.M), command
