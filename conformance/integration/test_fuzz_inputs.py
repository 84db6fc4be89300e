"""Hostile JSON inputs end in an error exit, never in a crash, and leave nothing behind.

A config.json, an `update --resources` file or an `exec --process` file nested a million levels
deep used to overflow the stack of RapidJSON's recursive parser (SIGSEGV). runc (Go's decoder)
refuses beyond 10000 levels with "exceeded max depth"; so does mkrun now.
"""
import json
import signal

import pytest

from harness import assert_nothing_left

DEPTH = 1_000_000


def deep(document: dict, depth: int = DEPTH) -> str:
    """`document` as JSON with an extra unknown member nesting `depth` arrays."""
    text = json.dumps(document)
    return text[:-1] + (", " if document else "") + '"x-deep": ' + "[" * depth + "]" * depth + "}"


def assert_clean_error(r, rc: int) -> None:
    assert r.rc >= 0, f"killed by {signal.Signals(-r.rc).name}\n{r}"
    r.fails(rc, "exceeded max depth")


@pytest.mark.parity
def test_create_refuses_a_million_levels_deep_config(rt, bundle):
    bundle.save()
    (bundle.path / "config.json").write_text(deep(bundle.config))
    cid = rt.new_id()
    r = rt("create", "--bundle", bundle.path, cid)
    assert_clean_error(r, 1)
    assert_nothing_left(rt, cid, bundle)


@pytest.mark.parity
def test_create_accepts_ten_thousand_levels(rt, bundle):
    # Go's limit counts the outer object as the first level.
    bundle.save()
    (bundle.path / "config.json").write_text(deep(bundle.config, 9999))
    cid = rt.new_id()
    rt("create", "--bundle", bundle.path, cid).ok()
    # `update` rewrites mkrun's config snapshot, the deep unknown member included.
    rt("update", "--pids-limit", "50", cid).ok()
    rt("delete", "--force", cid).ok()
    assert_nothing_left(rt, cid, bundle)


@pytest.mark.parity
def test_update_refuses_a_million_levels_deep_resources(rt, bundle):
    cid = rt.create(bundle.set_args("sleep", "1000")).ok().cid
    resources = rt.workdir / "resources.json"
    resources.write_text(deep({"pids": {"limit": 50}}))
    assert_clean_error(rt("update", "--resources", resources, cid), 1)
    assert rt.status(cid) == "created"
    rt("delete", "--force", cid).ok()
    assert_nothing_left(rt, cid, bundle)


@pytest.mark.parity
def test_exec_refuses_a_million_levels_deep_process(rt, bundle):
    cid = rt.create(bundle.set_args("sleep", "1000")).ok().cid
    process = rt.workdir / "process.json"
    process.write_text(deep(dict(bundle.process, args=["true"])))
    # exec's errors exit 255, in runc and mkrun alike
    assert_clean_error(rt("exec", "--process", process, cid), 255)
    assert rt.status(cid) == "created"
    rt("delete", "--force", cid).ok()
    assert_nothing_left(rt, cid, bundle)
