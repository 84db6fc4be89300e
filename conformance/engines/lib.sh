# shellcheck shell=bash
# lib.sh -- sourced by the engine tests (podman.sh, containerd.sh, docker.sh, slurm.sh).
#
# Each engine file: sources this, writes its daemon config under $WORK, registers what it starts
# with `cleanup`, declares tests with `t NAME FUNCTION`, calls `finish`.
#
#   ENGINE_RT     absolute path of the OCI runtime the engines drive (default <repo>/build/mkrun)
#   ENGINE_WORK   scratch dir (default: a new /tmp/mkrun-engines.XXXXXX, removed at the end)
#   ENGINE_KEEP=1 keep the scratch dir (logs, configs) after the run; ENGINE_KEEP_ON_FAIL=1: only after a failure
#   ENGINE_TESTS  extended regex: run only the tests whose name matches (the others are not counted)
#   ENGINE_TIMEOUT seconds per test (default 120)
#   ENGINE_VERBOSE=1 print every test's log, not only the failures'
#
# Output: one "PASS: name", "FAIL: name" (followed by the end of its log) or "SKIP: name (why)"
# line per test, and as the last line "N passed, N failed[, N skipped]". Exit status 1 if
# anything failed.
#
# Every test runs in its own bash process (`timeout` kills its whole process group when it
# hangs) with `set -e` and `set -x`, so its log shows each command and the first one that failed.
# Tests share the daemon and may share a container (a later test then fails with the earlier one).
# Teardown runs from an EXIT/INT/TERM trap, so it happens however the file ends.

set -u
ENG_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ENG_REPO=$(cd "$ENG_HERE/../.." && pwd)
export PATH="/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin:/usr/local/bin"   # /usr/bin/docker before /usr/local/bin
export ENG_HERE ENG_REPO

: "${ENGINE_RT:=$ENG_REPO/build/mkrun}"
: "${ENGINE_TIMEOUT:=120}"
: "${ENGINE_TESTS:=}"
: "${ENGINE_KEEP:=0}"
: "${ENGINE_VERBOSE:=0}"
RT=$ENGINE_RT
export RT ENGINE_RT ENGINE_TIMEOUT

ENG_PASSED=0 ENG_FAILED=0 ENG_SKIPPED=0
ENG_CLEANUP=()       # commands run in reverse order at teardown
ENG_NAME=${ENG_NAME:-engine}

eng_log() { echo "[$ENG_NAME] $*"; }

# ---- results ---------------------------------------------------------------------------------
eng_selected() { [ -z "$ENGINE_TESTS" ] || [[ $1 =~ $ENGINE_TESTS ]]; }

pass() { echo "PASS: $ENG_NAME: $1"; ENG_PASSED=$((ENG_PASSED + 1)); }
skip() { eng_selected "$1" || return 0; echo "SKIP: $ENG_NAME: $1 ($2)"; ENG_SKIPPED=$((ENG_SKIPPED + 1)); }
failed() {  # failed NAME LOGFILE [REASON]
  echo "FAIL: $ENG_NAME: $1${3:+ ($3)}"
  if [ -n "${2:-}" ] && [ -f "$2" ]; then
    # the end of the trace: the failing command and what it printed
    tail -n 25 "$2" | sed 's/^/    | /'
  fi
  ENG_FAILED=$((ENG_FAILED + 1))
}

# t NAME FUNCTION [ARGS...]: run one test, in its own process with a timeout.
t() {
  local name=$1 fn=$2; shift 2
  eng_selected "$name" || return 0
  if [ -n "${ENG_SKIP_ALL:-}" ]; then skip "$name" "$ENG_SKIP_ALL"; return 0; fi
  local log
  log="$WORK/logs/$(printf '%03d' $((ENG_PASSED + ENG_FAILED + ENG_SKIPPED)))-${name//[^A-Za-z0-9_.-]/_}.log"
  local start rc=0
  start=$(date +%s.%N)
  timeout -k 10 "$ENGINE_TIMEOUT" bash -c 'PS4="+ "; set -e -x; "$@"' eng-test "$fn" "$@" \
    >"$log" 2>&1 </dev/null || rc=$?
  local secs
  secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}')
  echo "# $name: exit $rc in ${secs}s" >>"$log"
  if [ "$ENGINE_VERBOSE" = 1 ]; then sed 's/^/    . /' "$log"; fi
  if [ $rc -eq 0 ]; then
    pass "$name (${secs}s)"
  elif [ $rc -eq 77 ]; then
    skip "$name" "$(sed -n 's/^SKIP-REASON: //p' "$log" | tail -1)"
  elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    failed "$name" "$log" "timed out after ${ENGINE_TIMEOUT}s"
  else
    failed "$name" "$log"
  fi
  return 0
}

# inside a test: give up on it as skipped
skip_test() { set +x; echo "SKIP-REASON: $*"; exit 77; }

# ---- assertions (inside tests; a failure ends the test) -------------------------------------------
eq() {  # eq WHAT ACTUAL EXPECTED
  { set +x; } 2>/dev/null
  if [ "$2" != "$3" ]; then
    echo "ASSERTION $1: expected [$3], got [$2]"; return 1
  fi
  set -x
}
has() {  # has WHAT TEXT NEEDLE: NEEDLE (a fixed string) occurs in TEXT
  { set +x; } 2>/dev/null
  case "$2" in *"$3"*) set -x; return 0 ;; esac
  echo "ASSERTION $1: [$3] not found in:"; printf '%s\n' "$2" | sed 's/^/      /'; return 1
}
hasnt() {
  { set +x; } 2>/dev/null
  case "$2" in *"$3"*) echo "ASSERTION $1: [$3] unexpectedly found in:"; printf '%s\n' "$2" | sed 's/^/      /'; return 1 ;; esac
  set -x
}
like() {  # like WHAT TEXT ERE: some line of TEXT matches the extended regex
  { set +x; } 2>/dev/null
  if printf '%s\n' "$2" | grep -Eq -- "$3"; then set -x; return 0; fi
  echo "ASSERTION $1: no line matches /$3/ in:"; printf '%s\n' "$2" | sed 's/^/      /'; return 1
}
# wait_until SECONDS 'SHELL CONDITION': evaluate it every 0.2 s until it holds (the last try's
# failure ends the test). A string, so that $(...) inside is evaluated at each try.
wait_until() {
  local n=$(( $1 * 5 )); shift
  { set +x; } 2>/dev/null
  while [ $n -gt 1 ]; do eval "$1" >/dev/null 2>&1 && { set -x; return 0; }; sleep 0.2; n=$((n - 1)); done
  set -x
  eval "$1"
}
# rc_of COMMAND...: print the exit status, never fail
rc_of() { local rc=0; "$@" || rc=$?; echo "$rc"; }
# in_tty [--size RxC] [--input TEXT] COMMAND-STRING: run with a new pty as controlling terminal and
# stdio (tty-run.py), print what it printed (CRs removed), return its exit status
in_tty() {
  local rc=0 f
  f=$(mktemp "$WORK/tty.XXXXXX")
  /usr/bin/python3 "$ENG_HERE/tty-run.py" "$@" >"$f" || rc=$?
  tr -d '\r\0' <"$f"; rm -f "$f"
  return $rc
}

# ---- teardown ---------------------------------------------------------------------------------
# cleanup COMMAND-STRING: run at teardown (last registered runs first); failures are ignored.
cleanup() { ENG_CLEANUP+=("$1"); }

eng_teardown() {
  local i
  trap - EXIT INT TERM
  for (( i=${#ENG_CLEANUP[@]}-1; i>=0; i-- )); do
    [ "$ENGINE_VERBOSE" = 1 ] && echo "[teardown] ${ENG_CLEANUP[i]}"
    ( eval "${ENG_CLEANUP[i]}" ) >>"$WORK/teardown.log" 2>&1 </dev/null || true
  done
  ENG_CLEANUP=()
}

# stop_pid PID [SECONDS]: TERM, wait, then KILL. For our own children and for daemons that
# detach (munged), by their recorded pid only.
stop_pid() {
  local pid=$1 secs=${2:-15} n
  [ -n "$pid" ] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  n=$((secs * 10))
  while [ $n -gt 0 ] && kill -0 "$pid" 2>/dev/null; do
    # a zombie child of ours counts as gone
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && break
    sleep 0.1; n=$((n - 1))
  done
  if kill -0 "$pid" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]; then
    echo "pid $pid did not stop after TERM and ${secs}s: KILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# mounts at or below DIR, deepest first
mounts_below() {
  awk -v d="$1" '{ m=$5; gsub(/\\040/, " ", m); if (m == d || index(m, d "/") == 1) print m }' /proc/self/mountinfo | sort -r
}

# remove_cgroups NAME...: remove the cgroup NAME (and its children) in every hierarchy, depth first;
# only empty cgroups can be removed, so nothing in use is touched. A daemon's helper (conmon, a
# shim) may still be exiting when the engine returns, and its cgroup stays busy until it is gone:
# retry for up to 10 s before leaving the rest to the check that follows. Where a v1 controller
# is not mounted, its directory is plain tmpfs (the one /sys/fs/cgroup is), and Podman's cgroup
# code still makes NAME there with a `tasks` file in it: that is a directory tree, removed as one.
remove_cgroups() {
  local name h try
  for try in $(seq 50); do
    for name in "$@"; do
      [ -n "$name" ] || continue
      for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
        [ -d "$h$name" ] || continue
        if [ "$(stat -f -c %T "$h")" = tmpfs ]; then
          rm -rf -- "$h$name"
        else
          find "$h$name" -depth -type d -exec rmdir {} \; 2>/dev/null
        fi
      done
    done
    [ -z "$(cgroups_left "$@")" ] && break
    sleep 0.2
  done
  return 0
}
cgroups_left() {  # cgroups_left NAME...: print the ones still there, each cgroup with its processes
  local name h d
  for name in "$@"; do
    for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
      [ -d "$h$name" ] || continue
      find "$h$name" -type d | while read -r d; do
        echo "$d $(tr '\n' ' ' <"$d/cgroup.procs" 2>/dev/null)"
      done
    done
  done
  return 0
}

eng_remove_work() {
  [ -n "${WORK:-}" ] && [ -d "$WORK" ] || return 0
  local m
  for m in $(mounts_below "$WORK"); do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
  if [ -n "$(mounts_below "$WORK")" ]; then
    echo "[$ENG_NAME] still mounted below $WORK, not removing it:"; mounts_below "$WORK"
    return 0
  fi
  if [ "$ENGINE_KEEP" = 1 ] || { [ "$ENG_FAILED" -gt 0 ] && [ -n "${ENGINE_KEEP_ON_FAIL:-}" ]; }; then
    echo "[$ENG_NAME] kept $WORK"
  else
    rm -rf "$WORK"
  fi
}

# daemon_env COMMAND... &: start a daemon with a clean environment (not the tests' exported
# functions and variables), as an init system would. Only in the background: it execs, so $! is
# the daemon's pid.
daemon_env() { exec env -i PATH="$PATH" HOME=/root LANG=C.UTF-8 "$@"; }

# ---- fixtures ---------------------------------------------------------------------------------
# remember whether a host path existed before the engine ran, to remove only what it created
existed() { [ -e "$1" ] && echo 1 || echo 0; }

# busybox rootfs: needs the static busybox; --install inside a chroot so the links point at /bin/busybox
make_rootfs() {
  local r=$1
  [ -x "$r/bin/busybox" ] && return 0
  mkdir -p "$r/bin"
  cp "$(command -v busybox)" "$r/bin/busybox"
  file -L "$r/bin/busybox" | grep -q 'statically linked' || { echo "busybox is not static: apt-get install busybox-static" >&2; return 1; }
  chroot "$r" /bin/busybox --install -s /bin
  mkdir -p "$r/etc" "$r/tmp" "$r/proc" "$r/sys" "$r/dev"
  chmod 1777 "$r/tmp"
  echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
  echo 'root:x:0:' >"$r/etc/group"
}
# image tar, both OCI layout and docker-archive: docker load, ctr images import, podman load
make_image() {  # make_image OUT.tar [name:tag]
  make_rootfs "$WORK/rootfs"
  [ -f "$1" ] || /usr/bin/python3 "$ENG_HERE/mkimage.py" "$WORK/rootfs" "$1" "${2:-busybox:latest}" >/dev/null
}

# host_cg PID CONTROLLER FILE: a cgroup v1 file of the cgroup PID is in, read from the host
host_cg() {
  local path
  path=$(awk -F: -v c="$2" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' "/proc/$1/cgroup")
  cat "/sys/fs/cgroup/$2$path/$3"
}
# pids_with_arg TEXT: our own leftover processes, found by a unique path in their argv
pids_with_arg() {
  local p
  for p in /proc/[0-9]*; do
    [ "${p#/proc/}" = "$$" ] || [ "${p#/proc/}" = "$BASHPID" ] && continue
    tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF -- "$1" && echo "${p#/proc/}"
  done
  return 0
}

# the commit line of the runtime's --version (what Docker shows as "runc version")
rt_commit() { "$RT" --version 2>/dev/null | sed -n 's/^commit: *//p' | head -1; }
rt_supports() {  # rt_supports COMMAND: the runtime has that subcommand
  "$RT" "$1" --help >/dev/null 2>&1
}

# ---- CDI devices applied by the runtime ---------------------------------------------------------
# The engines here do not apply CDI (or not from annotations): mkrun does, from a spec a site would
# write. cdi_spec FILE KIND writes the spec FILE (its directory made root's and 0755 when missing,
# the file 0644: mkrun loads no spec that group or others may write) defining the device
# KIND=fuse: the host's /dev/fuse (not among the engines' default devices, so opening it needs the
# CDI device rule), an environment variable, and a read-only bind of $WORK/cdi-share, a host
# directory with a file in it.
# shellcheck disable=SC2089  # a script for the container's sh -c: its quotes are its own
CDI_PROBE='stat -c "node %t:%T" /dev/fuse; (exec 3<>/dev/fuse) && echo opened; echo "env $CDI_ENGINE_TEST"; cat /cdi-share/evidence; touch /cdi-share/x 2>/dev/null || echo read-only'
# shellcheck disable=SC2090
export CDI_PROBE
rt_has_cdi() { "$RT" --help 2>/dev/null | grep -q -- --cdi-spec-dirs; }
cdi_spec() {
  local file=$1 kind=$2 share=$WORK/cdi-share
  rt_has_cdi || skip_test "$RT does not apply CDI (no --cdi-spec-dirs)"
  [ -c /dev/fuse ] || skip_test "no /dev/fuse on this host"
  [ -d "$(dirname "$file")" ] || install -d -m 755 "$(dirname "$file")"
  install -d -m 755 "$share"
  echo "from the host, kind $kind" >"$share/evidence"
  jq -n --arg kind "$kind" --arg share "$share" '{cdiVersion: "0.5.0", kind: $kind, devices: [{
      name: "fuse", containerEdits: {
        deviceNodes: [{path: "/dev/fuse"}],
        env: ["CDI_ENGINE_TEST=\($kind)=fuse"],
        mounts: [{hostPath: $share, containerPath: "/cdi-share", options: ["ro", "nosuid", "nodev", "bind"]}]}}]}' \
    >"$file"
  chmod 644 "$file"
}
# cdi_seen OUTPUT KIND: what CDI_PROBE printed shows every edit of KIND=fuse: the node with the
# host's major:minor, opened (the device-cgroup rule), the variable, the bound file, read-only
cdi_seen() {
  eq "CDI edits seen in the container" "$1" "node $(stat -c %t:%T /dev/fuse)
opened
env $2=fuse
from the host, kind $2
read-only"
}
# cdi_refused RC OUTPUT KIND: a container asking for KIND=nope did not run, with mkrun's message
# (as the engine shows it: quoted again by a logfmt line, or not)
cdi_refused() {
  [ "$1" -ne 0 ] || { echo "ASSERTION exit status: the container ran (0)"; return 1; }
  like "mkrun's message reaches the user" "$2" "unknown CDI device \\\\?\"${3//./\\.}=nope\\\\?\": no spec that loaded defines it"
  ! printf '%s\n' "$2" | grep -qx opened || { echo "ASSERTION the container's command ran"; return 1; }
}

# ---- McKernel on the IHK emulator ---------------------------------------------------------------
# The engines run McKernel containers on an emulated node (conformance/lwk, built with mkrun;
# mckernel-node.py lays it out): MKRUN_MCKERNEL_CONF=$MCK_CONF reaches the runtime through the
# engine's own environment (daemon, conmon_env_vars), as an administrator's setting would; the
# container gets the node's state (for the emulated mcexec's checks) with -e and a read-only bind.
MCK_LOCK=/run/mkrun-ihk-emulator-tests.lock   # test_mckernel.py's: /dev/mcos<N> is host-wide
ENGINE_BUILD=${ENGINE_BUILD:-$ENG_REPO/build}  # where the emulator was built
export MCK_LOCK ENGINE_BUILD

# mck_paths DIR: where the node will be (before the daemons start, which get MKRUN_MCKERNEL_CONF)
mck_paths() {
  MCK_DIR=$1 MCK_CONF=$1/mckernel.conf MCK_STATE=$1/state
  export MCK_DIR MCK_CONF MCK_STATE
}

# mck_begin: wait for the host's emulator lock (held by a process of ours until mck_end), then lay
# the node out in $MCK_DIR (set by the engine file, so its daemons get MCK_CONF when they start).
mck_begin() {
  [ -z "${ENG_SKIP_ALL:-}" ] || return 0
  local held=$WORK/mck-lock.held init=
  bash -c 'exec 9>"$1"; flock 9; : >"$2"; exec sleep 100000' _ "$MCK_LOCK" "$held" </dev/null >/dev/null 2>&1 &
  MCK_LOCK_PID=$!
  cleanup "stop_pid $MCK_LOCK_PID 5"
  local n=3000
  while [ ! -e "$held" ] && [ $n -gt 0 ]; do sleep 0.2; n=$((n - 1)); done
  # The package's mkrun finds its init helper at its compiled-in path; a build's, in the build.
  [ "$RT" = /usr/bin/mkrun ] || init=$ENGINE_BUILD/lwk/mkrun-lwk-init
  cleanup "/usr/bin/python3 '$ENG_HERE/mckernel-node.py' check '$MCK_DIR' >/dev/null 2>&1"
  local rc=0
  /usr/bin/python3 "$ENG_HERE/mckernel-node.py" create "$MCK_DIR" "$ENGINE_BUILD" $init \
    >"$WORK/mck-node.env" 2>"$WORK/mck-node.err" || rc=$?
  echo "$rc" >"$WORK/mck-node.rc"
}
mck_end() { [ -z "${MCK_LOCK_PID:-}" ] || stop_pid "$MCK_LOCK_PID" 5; }

# inside a test: the node is there (else why not: skipped, as test_mckernel.py does, when this
# host has a real IHK or someone else's instance nodes), and its call log is empty
mck_node_made() {
  [ "$(cat "$WORK/mck-node.rc" 2>/dev/null)" != 77 ] || skip_test "$(cat "$WORK/mck-node.err")"
  [ -e "$MCK_DIR/initial.json" ] || { echo "no emulated McKernel node: $(cat "$WORK/mck-node.err")"; return 1; }
}
mck_ready() {
  mck_node_made
  : >"$MCK_STATE.log"
}
# mck_calls: the IHK calls that changed the node since mck_ready, one per line
mck_calls() { /usr/bin/python3 "$ENG_HERE/mckernel-node.py" calls "$MCK_DIR"; }
# mck_expected_calls CPUS MEM [IKC-MAP]: a dedicated instance's boot, then its teardown, as the
# emulator logs (the shutdown gives the instance's CPUs and memory back to IHK's pool itself)
mck_expected_calls() {
  printf '%s\n' "ihk_reserve_mem(0, $2) = 0" "ihk_reserve_cpu(0, $1) = 0" "ihk_create_os(0) = 0" \
    "ihk_os_assign_cpu(0, $1) = 0" ${3:+"ihk_os_set_ikc_map(0, $3) = 0"} "ihk_os_assign_mem(0, $2) = 0" \
    "ihk_os_load(0, $MCK_DIR/prefix/smp-x86/kernel/mckernel.img) = 0" \
    'ihk_os_kargs(0, "hidos dump_level=24") = 0' "ihk_os_boot(0) = 0" "ihk_os_shutdown(0) = 0" \
    "ihk_destroy_os(0, 0) = 0" "ihk_release_cpu(0, $1) = 0" "ihk_release_mem(0, $2) = 0"
}
# mck_assert_ran RC WANT-RC OUT-FILE ERR-FILE WANT-OUTPUT: a McKernel container's run: its exit
# status and output, the emulated mcexec's report (it checked /dev/mcos0 and that instance 0 is
# RUNNING before running the program), and the IHK calls of one boot and its teardown (the
# defaults: 1 CPU, the pool's highest, and 512M on its NUMA node)
mck_assert_ran() {
  cat "$3" "$4"
  eq "exit status through mcexec" "$1" "$2"
  eq "output" "$(cat "$3")" "$5"
  like "the emulated mcexec ran it on a booted instance 0" "$(cat "$4")" '^mcexec: os=0 options= program=(/bin/)?sh$'
  eq "IHK calls: boot at create, teardown at delete" "$(mck_calls)" "$(mck_expected_calls 7 536870912@1)"
}
# mck_stop_checked CLI STATE-COMMAND NAME RUN-ARGS... (Docker and Podman share this CLI): a
# detached McKernel container whose application traps TERM; `state` shows its instance RUNNING,
# `stop` reaches the trap behind mkrun's init and mcexec (exit code 4), `rm` tears it down
mck_stop_checked() {
  local cli=$1 state=$2 name=$3; shift 3
  $cli run -d --name "$name" "$@" \
    sh -c 'trap "echo got-term; exit 4" TERM; echo started; while :; do sleep 0.1; done'
  wait_until 10 '$cli logs "$name" | grep -q started'
  eq "state: the instance" "$($state "$($cli inspect -f '{{.Id}}' "$name")" | jq -r '.annotations["io.mkrun.lwk.os"] + " " + .annotations["io.mkrun.lwk.status"]')" "0 RUNNING"
  $cli stop -t 10 "$name"
  eq "exit code: the TERM trap ran behind mcexec" "$($cli inspect -f '{{.State.ExitCode}}' "$name")" 4
  has "trap output" "$($cli logs "$name")" got-term
  $cli rm "$name"
  eq "IHK calls" "$(mck_calls)" "$(mck_expected_calls 7 536870912@1)"
}
# the node exactly as mck_begin made it: records, claims, /dev/mcos*, online CPUs
test_mck_node_restored() {
  mck_node_made
  /usr/bin/python3 "$ENG_HERE/mckernel-node.py" check "$MCK_DIR"
}

# ---- prologue / epilogue ------------------------------------------------------------------------
# eng_begin NAME REQUIRED-COMMAND...: checks, scratch dir, trap. Missing commands: every test skips.
eng_begin() {
  ENG_NAME=$1; shift
  case "$RT" in /*) ;; *) echo "ENGINE_RT must be an absolute path (got '$RT')" >&2; exit 2 ;; esac
  local missing=() c
  for c in "$@" busybox jq python3 script timeout file; do command -v "$c" >/dev/null 2>&1 || missing+=("$c"); done
  ENG_SKIP_ALL=
  if [ "$(id -u)" -ne 0 ]; then
    ENG_SKIP_ALL="needs root"
  elif [ ! -x "$RT" ]; then
    ENG_SKIP_ALL="ENGINE_RT=$RT is not executable"
  elif [ ${#missing[@]} -gt 0 ]; then
    ENG_SKIP_ALL="missing ${missing[*]}: sudo packaging/install-engine-deps.sh $ENG_NAME"
  fi
  if [ -n "${ENGINE_WORK:-}" ]; then WORK=$ENGINE_WORK/$ENG_NAME; mkdir -p "$WORK"
  else WORK=$(mktemp -d "/tmp/mkrun-engines-$ENG_NAME.XXXXXX"); fi
  chmod 755 "$WORK"
  mkdir -p "$WORK/logs"
  export WORK
  trap 'eng_teardown; eng_remove_work' EXIT
  trap 'echo "[$ENG_NAME] interrupted"; eng_teardown; eng_remove_work; exit 130' INT TERM
  echo "== $ENG_NAME: RT=$RT ($("$RT" --version 2>/dev/null | head -1)), WORK=$WORK"
  # every function is visible to the tests' bash processes
  # shellcheck disable=SC2046
  export -f $(compgen -A function)
}

# eng_export: after the engine file defined its tests and variables, make them visible to tests
eng_export() {
  # shellcheck disable=SC2046
  export -f $(compgen -A function)
}

finish() {
  eng_teardown
  trap - EXIT INT TERM
  eng_remove_work
  if [ "$ENG_SKIPPED" -gt 0 ]; then
    echo "$ENG_PASSED passed, $ENG_FAILED failed, $ENG_SKIPPED skipped"
  else
    echo "$ENG_PASSED passed, $ENG_FAILED failed"
  fi
  [ "$ENG_FAILED" -eq 0 ]
}

# The slurm.conf settings of the daemons: as root, munge's socket in the suite's $SW, its ports.
slurm_daemon_settings() {
  cat <<EOF
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SW/munge/munge.socket.2
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
EOF
}

# The slurm.conf settings the Slurm suites share: no plugin that needs systemd, cgroups of its
# own or accounting; short kill waits; nodes back in service on their own.
slurm_common_settings() {
  cat <<'EOF'
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SwitchType=switch/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
KillWait=5
EOF
}
