#!/bin/bash
# The guest suite: boots a Debian 12 guest (Debian's kernel, systemd, pure cgroup v2) once under
# QEMU and runs inside it, against this build's mkrun, what the development and CI hosts (hybrid
# cgroups, no systemd) cannot test: the cgroup v2 controllers, the eBPF device filter, cgroup.freeze,
# linux.resources.unified, and --systemd-cgroup through systemd's D-Bus API. The repository and the
# build dir are shared read-only over virtio-9p.
#   (1) runtime-tests '[root],[systemd]'  (Catch2: real cgroups, device filter, D-Bus scope)
#   (2) pytest: GUEST_TESTS below (a subset of conformance/integration, and conformance/guest)
# Prints, as its last line, "N passed, N failed[, N skipped]"; exits non-zero if anything failed
# or could not run. Everything it starts (qemu, the job dir) is gone when it returns, also on
# failure or SIGINT/SIGTERM.
#
# usage: conformance/guest/run-guest-tests.sh [-- PYTEST_ARGS...]
# environment:
#   BUILD=build        meson build dir (mkrun, runtime/runtime-tests)
#   GUEST_DIR=/var/tmp/mkrun-guest   the guest image, built by build-guest.sh when missing/stale
#   RUNTIMES=mkrun     mkrun,runc also checks the parity tests against the guest's runc 1.1
#   ACCEL=tcg          kvm where the host has real VT-x/AMD-V (not this host's PVM: see README)
#   MEM=2048 SMP=2     guest size
#   GUEST_CGROUP=v2    hybrid boots systemd with v1 controllers plus /sys/fs/cgroup/unified (as
#                      this host has, but under systemd: the systemd driver's v1 properties)
#   GUEST_TIMEOUT=2700 seconds for boot and tests together
#   KEEP_JOB=1         keep the job dir (console.log, output.log, junit.xml, catch2.xml, and
#                      journal.log, the guest's journal when a test failed)
#   GUEST_RUN='cmd'    debugging: run cmd (sh, cwd /mnt/job, mkrun in /var/tmp/mkrun-build) in the
#                      booted guest instead of the tests; prints its output, exits with its status
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PYTEST_EXTRA=()
if [ "${1:-}" = "--" ]; then shift; PYTEST_EXTRA=("$@"); fi
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$REPO/$BUILD" ;; esac
GUEST_DIR=${GUEST_DIR:-/var/tmp/mkrun-guest}
ACCEL=${ACCEL:-tcg}
MEM=${MEM:-2048}
SMP=${SMP:-2}
GUEST_TIMEOUT=${GUEST_TIMEOUT:-2700}
RUNTIMES=${RUNTIMES:-mkrun}

# The integration tests that depend on the cgroup layout or on the init's life cycle, plus every
# guest test. Kept short: under TCG a container start costs 10-30 times what it does natively.
# Left out, because they state v1 behaviour (both runtimes differ on v2, see test_cgroup2.py):
# test_cgroups.py::test_default_cgroup_is_named_after_id (v2: under the caller's parent cgroup).
GUEST_TESTS=(
  integration/test_lifecycle.py::test_create_start_kill_delete
  integration/test_lifecycle.py::test_run_exit_code
  integration/test_lifecycle.py::test_run_killed_by_signal
  integration/test_lifecycle.py::test_delete_created_kills_init
  integration/test_lifecycle.py::test_delete_force_running
  integration/test_lifecycle.py::test_kill_created_container
  integration/test_lifecycle.py::test_run_keep
  integration/test_cgroups.py::test_resource_limits
  integration/test_cgroups.py::test_cgroups_path_honoured_and_removed
  integration/test_cgroups.py::test_run_removes_cgroup
  integration/test_cgroups.py::test_pids_limit_enforced
  integration/test_process.py::test_cgroup_namespace
  integration/test_cgroups.py::test_default_device_rules_without_device_resources
  integration/test_seccomp.py::test_notify_hands_listener_and_state_to_agent
  integration/test_seccomp.py::test_notified_syscall_gets_the_agents_answer
  integration/test_mounts.py::test_tmpcopyup_copies_the_rootfs_directory_into_the_tmpfs
  integration/test_linux.py::test_loopback_is_up_in_a_new_network_namespace
  integration/test_leaks.py
  integration/test_cdi.py::test_a_real_host_device_is_created_and_usable
  integration/test_cdi.py::test_permissions_none_gives_the_node_but_no_access
  integration/test_cdi.py::test_a_specs_permissions_are_the_device_rules_access
  guest/test_cgroup2.py
  guest/test_cgroup_kill.py
  guest/test_systemd.py
  guest/test_checkpoint.py
)

say() { echo "== guest suite: $*"; }
summary() {  # passed failed skipped
  say "$1 passed, $2 failed, $3 skipped"
  if [ "$3" -gt 0 ]; then echo "$1 passed, $2 failed, $3 skipped"; else echo "$1 passed, $2 failed"; fi
  [ "$2" -eq 0 ]
}
give_up() { say "$1"; summary 0 1 0; exit 1; }

[ "$(id -u)" -eq 0 ] || give_up "needs root (debootstrap, 9p passthrough)"
command -v qemu-system-x86_64 >/dev/null ||
  give_up "qemu-system-x86_64 missing (apt-get install qemu-system-x86 qemu-utils debootstrap e2fsprogs cpio)"
[ -x "$BUILD/mkrun" ] || give_up "$BUILD/mkrun not built"
[ -x "$BUILD/runtime/runtime-tests" ] || give_up "$BUILD/runtime/runtime-tests not built"

t_build=$SECONDS
"$HERE/build-guest.sh" "$GUEST_DIR" || give_up "building the guest failed"
t_build=$((SECONDS - t_build))

JOB=$(mktemp -d /tmp/mkrun-guest-job.XXXXXX)
QEMU_PID=
cleanup() {
  if [ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null; then
    kill "$QEMU_PID" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$QEMU_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$QEMU_PID" 2>/dev/null
  fi
  if [ "${KEEP_JOB:-0}" = 1 ]; then say "job dir kept: $JOB"; else rm -rf "$JOB"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

{
  printf 'RUNTIMES=%q\n' "$RUNTIMES"
  printf 'GUEST_TESTS=%q\n' "${GUEST_TESTS[*]}"
  printf 'PYTEST_EXTRA=%q\n' "${PYTEST_EXTRA[*]}"
} >"$JOB/env"
if [ -n "${GUEST_RUN:-}" ]; then
  printf '%s\n' "$GUEST_RUN" >"$JOB/command.sh"
  echo 'GUEST_RUN=1 sh /mnt/repo/conformance/guest/in-guest.sh' >"$JOB/run.sh"
else
  echo 'sh /mnt/repo/conformance/guest/in-guest.sh' >"$JOB/run.sh"
fi

case ${GUEST_CGROUP:-v2} in
  hybrid) CGROUP_ARG=systemd.unified_cgroup_hierarchy=0 ;;
  *) CGROUP_ARG=systemd.unified_cgroup_hierarchy=1 ;;
esac
case $ACCEL in
  kvm) ACCEL_ARGS=(-accel kvm -cpu host) ;;
  *) ACCEL_ARGS=(-accel tcg,thread=multi -cpu max) ;;
esac
t_run=$SECONDS
say "booting ($ACCEL, $SMP vCPUs, $MEM MiB) with $BUILD/mkrun"
# -snapshot: the guest's writes go to a throw-away overlay, so the image stays as built.
timeout -k 10 "$GUEST_TIMEOUT" qemu-system-x86_64 -nodefaults -no-user-config -machine q35 \
  "${ACCEL_ARGS[@]}" -smp "$SMP" -m "$MEM" \
  -kernel "$GUEST_DIR/vmlinuz" -initrd "$GUEST_DIR/initrd.img" \
  -append "console=ttyS0 root=/dev/vda rw $CGROUP_ARG panic=-1 quiet" \
  -drive "file=$GUEST_DIR/rootfs.img,format=raw,if=virtio,snapshot=on" \
  -virtfs "local,path=$JOB,mount_tag=job,security_model=passthrough,id=job" \
  -virtfs "local,path=$REPO,mount_tag=repo,security_model=passthrough,id=repo,readonly=on" \
  -virtfs "local,path=$BUILD,mount_tag=build,security_model=passthrough,id=build,readonly=on" \
  -device virtio-rng-pci -display none -serial "file:$JOB/console.log" -no-reboot \
  </dev/null &
QEMU_PID=$!
wait "$QEMU_PID"
qemu_rc=$?
QEMU_PID=
t_run=$((SECONDS - t_run))

[ -f "$JOB/output.log" ] && cat "$JOB/output.log"
grep -a '@@GUEST' "$JOB/console.log" 2>/dev/null | sed 's/^/   /'
if [ ! -f "$JOB/exit_code" ]; then
  [ "$qemu_rc" -eq 124 ] && say "timed out after ${GUEST_TIMEOUT}s" || say "qemu exited $qemu_rc"
  tail -n 40 "$JOB/console.log" 2>/dev/null
  give_up "the guest gave no result"
fi
say "guest image ${t_build}s (0 when cached), boot + tests ${t_run}s"
if [ -n "${GUEST_RUN:-}" ]; then exit "$(cat "$JOB/exit_code")"; fi

# One count per test case over both JUnit files, as run-tests.sh counts pytest: failed if any of
# its records failed or errored, else skipped, else passed.
read -r passed failed skipped < <(python3 - "$JOB/catch2.xml" "$JOB/junit.xml" <<'PY'
import os, sys, xml.etree.ElementTree as ET
tests, missing = {}, 0
for path in sys.argv[1:]:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        print(f"== guest suite: no report {os.path.basename(path)}: {e}", file=sys.stderr)
        missing += 1
        continue
    for tc in root.iter("testcase"):
        key = (path, tc.get("classname"), tc.get("name"))
        tags = {c.tag for c in tc}
        verdict = "f" if tags & {"failure", "error"} else "s" if "skipped" in tags else "p"
        tests[key] = max(tests.get(key, verdict), verdict, key="spf".index)
v = list(tests.values())
print(v.count("p"), v.count("f") + missing, v.count("s"))
PY
)
guest_rc=$(cat "$JOB/exit_code")
# pytest's exit code 1 is "some failed", counted above; anything else is a failure of its own.
if [ "$guest_rc" != 0 ] && [ "$guest_rc" != 1 ] && [ "$failed" -eq 0 ]; then failed=1; fi
summary "$passed" "$failed" "$skipped"
