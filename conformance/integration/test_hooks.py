"""OCI hooks: order, the state on their stdin, timeouts and failures.  Hooks run on the host."""
import json
import os
import random
import time

import pytest

from harness import assert_nothing_left, pids_with_cmdline

RECORD = """#!/bin/sh
# record.sh NAME DIR: saves the state JSON from stdin as DIR/<seq>-NAME.json
n=$(ls "$2" | wc -l)
cat > "$2/$(printf %02d "$n")-$1.json"
"""


@pytest.fixture
def hooks(scratch):
    script = scratch / "record.sh"
    script.write_text(RECORD)
    script.chmod(0o755)
    out = scratch / "hooks"
    out.mkdir()

    class Hooks:
        dir = out

        def add(self, bundle, kind, name=None):
            bundle.add_hook(kind, "/bin/sh", ["sh", str(script), name or kind, str(out)],
                            env=["PATH=/usr/sbin:/usr/bin:/sbin:/bin"])

        def seen(self):
            """[(name, state dict)] in the order the hooks ran."""
            files = sorted(os.listdir(out))
            return [(f[3:-5], json.loads((out / f).read_text())) for f in files]

        def names(self):
            return [n for n, _ in self.seen()]

    return Hooks()


def lifecycle_bundle(bundle, hooks):
    for kind in ("prestart", "createRuntime", "poststart", "poststop"):
        hooks.add(bundle, kind)
    bundle.config["annotations"] = {"org.example.hook": "yes"}
    return bundle.set_args("sleep", "1000")


@pytest.mark.parity
def test_hook_order_and_state(rt, bundle, hooks):
    lifecycle_bundle(bundle, hooks)
    cid = rt.create(bundle).ok().cid
    pid = rt.state(cid)["pid"]
    seen = hooks.seen()
    assert [n for n, _ in seen[:2]] == ["prestart", "createRuntime"]
    for name, st in seen[:2]:
        assert st["id"] == cid, name
        assert st["status"] == "creating", name
        assert st["pid"] == pid, name
        assert st["bundle"] == str(bundle.path), name
        assert st["ociVersion"] == bundle.config["ociVersion"], name
        assert st["annotations"] == {"org.example.hook": "yes"}, name
    rt.start(cid).ok()
    assert hooks.names()[:3] == ["prestart", "createRuntime", "poststart"]
    post = dict(hooks.seen())["poststart"]
    assert post["id"] == cid and post["pid"] == pid
    rt.kill(cid, "KILL").ok()
    rt.wait_exit(pid)
    assert "poststop" not in hooks.names()
    rt.delete(cid).ok()
    assert hooks.names() == ["prestart", "createRuntime", "poststart", "poststop"]
    stop = dict(hooks.seen())["poststop"]
    assert stop["id"] == cid
    assert stop["status"] == "stopped"
    assert stop["bundle"] == str(bundle.path)
    assert not stop.get("pid"), "no pid once stopped"


@pytest.mark.mkrun_only
def test_poststart_runs_at_start(rt, bundle, hooks):
    # runtime-spec: poststart runs after the user process started, before `start` returns.
    # runc 1.1 (through 1.5) runs it at the end of `create` instead, with status "created".
    lifecycle_bundle(bundle, hooks)
    cid = rt.create(bundle).ok().cid
    pid = rt.state(cid)["pid"]
    assert hooks.names() == ["prestart", "createRuntime"], "poststart must not run at create"
    rt.start(cid).ok()
    assert hooks.names() == ["prestart", "createRuntime", "poststart"]
    post = dict(hooks.seen())["poststart"]
    assert post["status"] == "running"
    assert post["pid"] == pid


@pytest.mark.parity
def test_poststop_on_foreground_run(rt, bundle, hooks):
    hooks.add(bundle, "prestart")
    hooks.add(bundle, "poststop")
    r = rt.run(bundle.sh("exit 3"))
    assert r.rc == 3, r
    assert hooks.names() == ["prestart", "poststop"]
    assert dict(hooks.seen())["poststop"]["status"] == "stopped"


@pytest.mark.parity
def test_hook_args_and_env(rt, bundle, scratch):
    out = scratch / "env.txt"
    bundle.add_hook("createRuntime", "/bin/sh",
                    ["sh", "-c", f'echo "$0 $1 $HOOKVAR" > {out}; env | sort >> {out}', "arg0", "arg1"],
                    env=["HOOKVAR=hv", "PATH=/bin:/usr/bin"])
    rt.run(bundle.set_args("true")).ok()
    lines = out.read_text().splitlines()
    assert lines[0] == "arg0 arg1 hv"
    env = set(lines[1:])
    assert {"HOOKVAR=hv", "PATH=/bin:/usr/bin"} <= env
    # env replaces the runtime's environment entirely (sh may add PWD/SHLVL/_ of its own)
    assert not [e for e in env if e.split("=")[0] not in ("HOOKVAR", "PATH", "PWD", "SHLVL", "_", "OLDPWD")]


@pytest.mark.parity
def test_hook_timeout(rt, bundle):
    secs = str(3000 + random.randrange(1000))
    bundle.add_hook("createRuntime", "/bin/sleep", ["sleep", secs], timeout=1)
    t0 = time.monotonic()
    r = rt.create(bundle.set_args("sleep", "1000"))
    elapsed = time.monotonic() - t0
    r.fails(1)
    assert "timeout" in r.err.lower() or "timed out" in r.err.lower(), r
    assert 0.9 < elapsed < 10, elapsed
    assert pids_with_cmdline(f"sleep {secs}") == [], "the hook must be killed"
    assert_nothing_left(rt, r.cid, bundle)


@pytest.mark.parity
def test_failing_create_runtime_hook(rt, bundle):
    bundle.add_hook("createRuntime", "/bin/sh", ["sh", "-c", "echo out; echo err >&2; exit 4"])
    r = rt.create(bundle.set_args("sleep", "1000"))
    r.fails(1, "exit status 4")
    assert_nothing_left(rt, r.cid, bundle)


@pytest.mark.parity
def test_failing_prestart_hook_run(rt, bundle, hooks):
    bundle.add_hook("prestart", "/bin/false", ["false"])
    hooks.add(bundle, "createRuntime")
    r = rt.run(bundle.set_args("sh", "-c", "echo must-not-run"))
    assert r.rc == 1, r
    assert "must-not-run" not in r.out
    assert hooks.names() == [], "hooks after the failing one do not run"
    assert_nothing_left(rt, r.cid, bundle)


@pytest.mark.mkrun_only
def test_a_failing_hook_is_named_by_its_kind_and_index(rt, bundle):
    # runc 1.5's hooks.bats: "error running createRuntime hook #1:"
    bundle.add_hook("createRuntime", "/bin/true", ["true"])
    bundle.add_hook("createRuntime", "/bin/sh", ["sh", "-c", "exit 3"])
    r = rt.create(bundle.set_args("sleep", "1000"))
    r.fails(1, "error running createRuntime hook #1: ")
    assert "exit status 3" in r.err, r
    assert_nothing_left(rt, r.cid, bundle)


@pytest.mark.parity
def test_missing_hook_binary(rt, bundle):
    bundle.add_hook("createRuntime", "/nonexistent/hook", ["hook"])
    r = rt.create(bundle.set_args("sleep", "1000"))
    r.fails(1)
    assert_nothing_left(rt, r.cid, bundle)


@pytest.mark.mkrun_only
def test_a_failing_poststart_hook_fails_start_and_stops_the_container(rt, bundle, hooks):
    # runtime-spec 1.3 (runtime.md, lifecycle step 9): "If any poststart hook fails, the runtime
    # MUST generate an error, stop the container, and continue the lifecycle at step 12", and the
    # hooks after the failing one do not run. (runc 1.1 runs poststart hooks at create already.)
    bundle.add_hook("poststart", "/bin/sh", ["sh", "-c", "exit 5"])
    hooks.add(bundle, "poststart", "after")
    cid = rt.create(bundle.set_args("sleep", "1000")).ok().cid
    pid = rt.state(cid)["pid"]
    r = rt.start(cid)
    r.fails(1, "exit status 5")
    assert rt.wait_exit(pid) is not None, "the container must be stopped"
    assert rt.status(cid) == "stopped"
    assert "after" not in hooks.names()
    rt.delete(cid).ok()


@pytest.mark.mkrun_only
def test_every_poststop_hook_runs_and_a_failure_is_a_warning(rt, bundle, hooks):
    # runtime-spec 1.3 (runtime.md, lifecycle step 13): "If any poststop hook fails, the runtime
    # MUST log a warning, but the remaining hooks and lifecycle continue as if the hook had
    # succeeded." runc 1.1 stops at the failing hook and fails delete.
    hooks.add(bundle, "poststop", "first")
    bundle.add_hook("poststop", "/bin/sh", ["sh", "-c", "exit 6"])
    hooks.add(bundle, "poststop", "last")
    cid = rt.create(bundle.set_args("sleep", "1000")).ok().cid
    r = rt.delete(cid, "--force")
    r.ok()
    assert "exit status 6" in r.err and "level=warning" in r.err, r
    assert hooks.names() == ["first", "last"]
    assert not (rt.root / cid).exists()


@pytest.mark.parity
def test_create_container_hooks_run_in_the_rootfs(rt, bundle, scratch):
    # runc 1.1.5's hooks.bats names the rootfs' files relatively from a createContainer hook.
    out = scratch / "cwd"
    bundle.add_hook("createContainer", "/bin/sh", ["sh", "-c", f"ls > {out}"])
    (bundle.rootfs / "marker-in-rootfs").write_text("")
    rt.run(bundle.set_args("true")).ok()
    assert "marker-in-rootfs" in out.read_text().split()


@pytest.mark.parity
def test_hooks_run_by_the_container_inherit_the_process_environment(rt, bundle):
    # runc's init sets the process's environment before it runs createContainer and
    # startContainer hooks, so those without `env` see it (runc 1.5 tests it for startContainer).
    bundle.config["process"]["env"] = ["PATH=/bin:/usr/bin", "ONE=two"]
    bundle.config["root"]["readonly"] = False
    bundle.config["hooks"] = {
        "createContainer": [{"path": "/bin/sh", "args": ["sh", "-c", 'echo "cc:$ONE" > ./cc-env']}],
        "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", 'echo "sc:$ONE" > /sc-env']}],
    }
    assert rt.output(bundle.set_args("cat", "/cc-env", "/sc-env")) == "cc:two\nsc:two\n"
