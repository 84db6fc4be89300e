"""Fixtures of the integration suite.

Variants: every test runs against mkrun; tests marked @pytest.mark.parity also run against runc
with the same assertions.  Tests marked @pytest.mark.mkrun_only state behaviour where mkrun
deliberately differs from runc 1.1 (or runc has no equivalent).

Environment:
  MKRUN     mkrun binary (default <repo>/build/mkrun)
  RUNC      runc binary (default /usr/sbin/runc); when absent, the runc variants skip
  RUNTIMES  variants to generate, comma separated: "mkrun,runc" (default), "runc", "mkrun"
  MKRUN_TEST_TMP  where scratch dirs go (default /tmp); removed at the end
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import harness
from harness import BINARIES, SELECTED, Runtime


def pytest_configure(config):
    config.addinivalue_line("markers", "parity: same assertions against mkrun and runc")
    config.addinivalue_line("markers", "mkrun_only: mkrun behaviour that runc 1.1 does not share")
    if os.geteuid() != 0:
        raise pytest.UsageError("the integration suite needs root")
    bad = [s for s in SELECTED if s not in BINARIES]
    if bad:
        raise pytest.UsageError(f"RUNTIMES: unknown runtime(s) {bad}; use mkrun and/or runc")
    # Containers started with create/start or run -d re-parent to us.
    harness.become_subreaper()


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("parity") is None and item.get_closest_marker("mkrun_only") is None:
            raise pytest.UsageError(f"{item.nodeid}: mark it parity or mkrun_only")


def pytest_generate_tests(metafunc):
    if "rt" not in metafunc.fixturenames:
        return
    names = ["mkrun"]
    if metafunc.definition.get_closest_marker("parity"):
        names.append("runc")
    params = [n for n in names if n in SELECTED]
    if not params:   # e.g. a mkrun-only test with RUNTIMES=runc: show it as skipped
        params = [pytest.param(names[0], marks=pytest.mark.skip(
            reason=f"mkrun-only test, RUNTIMES={','.join(SELECTED)}"))]
    metafunc.parametrize("rt", params, indirect=True)


def pytest_report_header(config):
    return [f"runtimes: {', '.join(f'{n}={BINARIES[n]}' for n in SELECTED)}"]


@pytest.fixture(scope="session")
def session_dir():
    d = Path(tempfile.mkdtemp(prefix="mkrun-it-", dir=harness.TMPBASE))
    d.chmod(0o755)  # a user namespace's root must be able to reach the bundles
    yield d
    for line in reversed(harness.mounts_mentioning(str(d))):
        subprocess.run(["umount", "-l", line.split()[4]], stderr=subprocess.DEVNULL)
    if not harness.mounts_mentioning(str(d)):
        shutil.rmtree(d, ignore_errors=True)
    harness.reap_zombie_children()


@pytest.fixture(scope="session")
def rootfs_template(session_dir):
    t = session_dir / "rootfs"
    harness.make_rootfs(t)
    return t


def _tag(name: str) -> str:
    t = re.sub(r"[^A-Za-z0-9]+", "-", name.split("[")[0].removeprefix("test_"))
    return t[:16].strip("-") or "t"


@pytest.fixture
def rt(request, session_dir):
    name = request.param
    binary = BINARIES[name]
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        if name == "runc":
            pytest.skip(f"runc not found at {binary}")
        pytest.fail(f"{name} not found at {binary}: build it (meson compile -C build), "
                    f"set MKRUN=..., or run only the runc variants with RUNTIMES=runc")
    workdir = Path(tempfile.mkdtemp(prefix=_tag(request.node.name) + "-", dir=session_dir))
    workdir.chmod(0o755)
    runtime = Runtime(name=name, binary=binary, workdir=workdir, tag=_tag(request.node.name))
    yield runtime
    problems = runtime.cleanup()
    if not harness.mounts_mentioning(str(workdir)):
        shutil.rmtree(workdir, ignore_errors=True)
    if problems:
        pytest.fail("host not clean after the test:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def make_bundle(rt, rootfs_template):
    n = [0]

    def make(name: str | None = None) -> harness.Bundle:
        n[0] += 1
        return harness.new_bundle(rt, rootfs_template, name or f"bundle{n[0]}")

    return make


@pytest.fixture
def bundle(make_bundle):
    return make_bundle("bundle")


@pytest.fixture
def scratch(rt):
    """A host directory for files the test shares with the container or its hooks."""
    d = rt.workdir / "scratch"
    d.mkdir(mode=0o755)
    return d
