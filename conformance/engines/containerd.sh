#!/usr/bin/env bash
# containerd 1.6 (Debian 12) + ctr driving $ENGINE_RT through containerd-shim-runc-v2 (`--runc-binary`,
# i.e. the shim option BinaryName) and through a runtime entry in containerd's config
# (io.containerd.runtime.v1.linux, `runtime = "<path>"`).
# usage: ENGINE_RT=/abs/path/mkrun conformance/engines/containerd.sh     (or run.sh containerd)
# Own config, sockets, root and state under $WORK; a namespace of its own (mkrun-eng-<pid>), whose
# shim root (/run/containerd/runc/<ns>, hard-coded in the shim) and cgroups are removed at the end,
# as is the CDI test's spec /var/run/cdi/mkrun-engine-test-<pid>.json (and the directory if it made it).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
eng_begin containerd containerd ctr containerd-shim-runc-v2

CW=$WORK/containerd
NS=mkrun-eng-$$
SOCK=$CW/containerd.sock
CTR="ctr --address $SOCK -n $NS"
IMG=docker.io/library/busybox:latest
O="--runc-binary $RT"
SHIM_ROOT=/run/containerd/runc/$NS          # the shim's --root for runc.v2
# The shim runs its runtime binary without arguments: the CDI spec goes where a site (or a device
# plugin) puts it, mkrun's default /var/run/cdi, under a name of this run's own.
CDI_SPEC=/var/run/cdi/mkrun-engine-test-$$.json
export CW NS SOCK CTR IMG O SHIM_ROOT CDI_SPEC
mck_paths "$WORK/mckernel"
# what the container's emulated mcexec needs to check its instance and report itself
MCK="--env MKRUN_IHK_EMULATOR_STATE=$MCK_STATE --env MCEXEC_EMULATOR_REPORT=1 --mount type=bind,src=$MCK_DIR,dst=$MCK_DIR,options=rbind:ro"
export MCK

start_containerd() {
  mkdir -p "$CW"
  cat >"$CW/config.toml" <<EOF
version = 2
root  = "$CW/root"
state = "$CW/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]   # ctr does not need CRI (and CNI)
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
# A runtime set in the config: the v1 linux runtime takes the runtime binary and its --root from here.
[plugins."io.containerd.runtime.v1.linux"]
  shim = "containerd-shim"
  runtime = "$RT"
  runtime_root = "$CW/runtime-v1"
EOF
  local had_run_containerd had_cdi_dir
  had_run_containerd=$(existed /run/containerd)
  had_cdi_dir=$(existed "$(dirname "$CDI_SPEC")")
  cleanup "rm -f '$CDI_SPEC'; [ $had_cdi_dir = 1 ] || rmdir '$(dirname "$CDI_SPEC")'"
  # teardown, last registered first: containers, daemon, stray shims, host paths
  cleanup "rm -rf '$SHIM_ROOT'; [ $had_run_containerd = 1 ] || find /run/containerd -depth -type d -empty -delete; remove_cgroups '$NS'"
  cleanup 'for p in $(pids_with_arg "$CW/"); do echo "stray: $(tr "\0" " " </proc/$p/cmdline)"; stop_pid $p 5; done'
  # the host's McKernel configuration: the emulated node (the shim passes containerd's
  # environment on to the runtime)
  daemon_env MKRUN_MCKERNEL_CONF="$MCK_CONF" containerd --config "$CW/config.toml" >"$CW/containerd.log" 2>&1 &
  CONTAINERD_PID=$!
  cleanup "stop_pid $CONTAINERD_PID 20"
  cleanup 'remove_all_containers'
  local i
  for i in $(seq 100); do [ -S "$SOCK" ] && $CTR version >/dev/null 2>&1 && break; sleep 0.1; done
}

remove_all_containers() {
  local c
  for c in $($CTR task ls -q 2>/dev/null); do $CTR task kill -s SIGKILL "$c"; done
  sleep 0.5
  for c in $($CTR task ls -q 2>/dev/null); do $CTR task rm -f "$c"; done
  for c in $($CTR container ls -q 2>/dev/null); do $CTR container rm "$c"; done
}

task_status() { $CTR task ls | awk -v id="$1" '$1 == id { print $3 }'; }
task_pid() { $CTR task ls | awk -v id="$1" '$1 == id { print $2 }'; }
rt_state() { "$RT" --root "$SHIM_ROOT" state "$1" | jq -r .status; }

# ---- tests ---------------------------------------------------------------------------------------
test_daemon() {
  out=$($CTR version)
  has "server version" "$out" "Server:"
}
test_import() {
  make_image "$WORK/busybox-img.tar"
  $CTR images import "$WORK/busybox-img.tar"
  has "image listed" "$($CTR images ls -q)" "$IMG"
}
test_run() {
  eq "output" "$($CTR run --rm $O $IMG c-run echo hi)" hi
}
test_exit_code() {
  eq "exit status" "$(rc_of $CTR run --rm $O $IMG c-exit sh -c 'exit 42')" 42
}
test_tty() {
  out=$(in_tty "$CTR run --rm -t $O $IMG c-tty sh -c 'tty; stty size; echo TTYOK'")
  like "tty" "$out" '^/dev/pts/[0-9]+$'
  has "output" "$out" TTYOK
}
DETACHED=d-$$
export DETACHED
test_run_detached() {
  $CTR run -d --log-uri "file://$CW/detached.log" $O $IMG "$DETACHED" \
    sh -c 'trap "echo got-usr1" USR1; trap "echo got-term; exit 3" TERM; echo started; while :; do sleep 0.1; done'
  wait_until 10 'grep -q started "$CW/detached.log"'
  eq "ctr status" "$(task_status "$DETACHED")" RUNNING
  eq "runtime state" "$(rt_state "$DETACHED")" running
  pid=$(task_pid "$DETACHED")
  eq "state pid = task pid" "$("$RT" --root "$SHIM_ROOT" state "$DETACHED" | jq -r .pid)" "$pid"
  has "in list -q" "$("$RT" --root "$SHIM_ROOT" list -q)" "$DETACHED"
}
test_exec() {
  eq "output" "$($CTR task exec --exec-id e1 "$DETACHED" echo exec-ok)" exec-ok
  eq "exit status" "$(rc_of $CTR task exec --exec-id e2 "$DETACHED" sh -c 'exit 5')" 5
}
test_exec_tty() {
  out=$(in_tty "$CTR task exec -t --exec-id e3 $DETACHED sh -c 'tty; echo EXECTTY'")
  like "tty" "$out" '^/dev/pts/[0-9]+$'
  has "output" "$out" EXECTTY
}
test_ps() {
  out=$($CTR task ps "$DETACHED")
  has "init pid listed" "$out" "$(task_pid "$DETACHED")"
}
test_pause_resume() {
  $CTR task pause "$DETACHED"
  eq "ctr status" "$(task_status "$DETACHED")" PAUSED
  eq "runtime state" "$(rt_state "$DETACHED")" paused
  eq "freezer" "$(host_cg "$(task_pid "$DETACHED")" freezer freezer.state)" FROZEN
  $CTR task resume "$DETACHED"
  eq "ctr status" "$(task_status "$DETACHED")" RUNNING
  eq "runtime state" "$(rt_state "$DETACHED")" running
}
test_update() {
  python3 -c 'import grpc' 2>/dev/null || skip_test "python3-grpcio missing (ctr 1.6 has no task update)"
  python3 "$ENG_HERE/ctr-update.py" "$SOCK" "$NS" "$DETACHED" '{"memory":{"limit":67108864},"pids":{"limit":77}}'
  pid=$(task_pid "$DETACHED")
  eq "memory.limit_in_bytes" "$(host_cg "$pid" memory memory.limit_in_bytes)" 67108864
  eq "pids.max" "$(host_cg "$pid" pids pids.max)" 77
}
test_kill_signal() {
  $CTR task kill -s SIGUSR1 "$DETACHED"
  wait_until 5 'grep -q got-usr1 "$CW/detached.log"'
  eq "still running" "$(task_status "$DETACHED")" RUNNING
}
test_kill_term() {
  $CTR task kill -s SIGTERM "$DETACHED"
  wait_until 10 'test "$(task_status "$DETACHED")" = STOPPED'
  grep -q got-term "$CW/detached.log"
  eq "runtime state" "$(rt_state "$DETACHED")" stopped
}
test_delete() {
  out=$($CTR task rm "$DETACHED" 2>&1) || true
  echo "$out"
  $CTR container rm "$DETACHED"
  hasnt "ctr task ls" "$($CTR task ls -q)" "$DETACHED"
  hasnt "runtime list" "$("$RT" --root "$SHIM_ROOT" list -q 2>/dev/null)" "$DETACHED"
  rc=$(rc_of "$RT" --root "$SHIM_ROOT" state "$DETACHED")
  eq "state of a deleted container fails" "$rc" 1
}
test_host_pidns() {
  # no private pid namespace: after the init exits the shim runs `kill --all <id> 9` on the stopped
  # container, which must succeed
  eq "output" "$($CTR run --rm $O --with-ns pid:/proc/$BASHPID/ns/pid $IMG c-hostpid echo hostpid-ok)" hostpid-ok
}
test_missing_executable() {
  rc=0; out=$($CTR run --rm $O $IMG c-missing /nonexistent/cmd 2>&1) || rc=$?
  echo "$out"
  [ "$rc" -ne 0 ]
  has "shim error" "$out" "OCI runtime create failed"
  # the path only reaches ctr through the runtime's --log json file
  has "runtime error text (from log.json)" "$out" "/nonexistent/cmd"
  hasnt "container left" "$($CTR container ls -q)" c-missing
}
test_config_runtime() {
  out=$($CTR run --rm --runtime io.containerd.runtime.v1.linux $IMG c-v1 sh -c 'echo v1-ok; exit 6' ) || rc=$?
  eq "output" "$out" v1-ok
  eq "exit status" "${rc:-0}" 6
}
test_snippet() {
  snip=$ENG_REPO/packaging/snippets/containerd-config.toml
  [ -f "$snip" ] || skip_test "no $snip"
  # the snippet alone must load: containerd merges it with its defaults
  sed "s|/usr/bin/mkrun|$RT|g" "$snip" >"$CW/snippet.toml"
  out=$(containerd --config "$CW/snippet.toml" config dump)
  has "plain runtime" "$out" 'runtimes.mkrun]'
  has "McKernel runtime" "$out" 'runtimes.mkrun-mck]'
  has "BinaryName" "$out" "BinaryName = \"$RT\""
  has "CDI annotations passed on" "$out" 'container_annotations = ["io.mkrun.*", "cdi.k8s.io/*"]'
  [ -x "$ENG_REPO/packaging/snippets/mkrun-mckernel" ] && sh -n "$ENG_REPO/packaging/snippets/mkrun-mckernel"
}
test_mckernel_annotation() {
  mck_ready
  rc=0; $CTR run --rm $O $MCK --annotation io.mkrun.kernel=mckernel $IMG c-mck sh -c 'echo on-lwk; exit 7' \
    >"$CW/mck.out" 2>"$CW/mck.err" || rc=$?
  mck_assert_ran "$rc" 7 "$CW/mck.out" "$CW/mck.err" on-lwk
}
test_mckernel_wrapper() {
  # the packaged wrapper (mkrun --kernel mckernel) as the shim's BinaryName
  sed "s|/usr/bin/mkrun|$RT|g" "$ENG_REPO/packaging/snippets/mkrun-mckernel" >"$CW/mkrun-mckernel"
  chmod 755 "$CW/mkrun-mckernel"
  mck_ready
  rc=0; $CTR run --rm --runc-binary "$CW/mkrun-mckernel" $MCK $IMG c-mckw sh -c 'echo on-mckernel; exit 3' \
    >"$CW/mck.out" 2>"$CW/mck.err" || rc=$?
  mck_assert_ran "$rc" 3 "$CW/mck.out" "$CW/mck.err" on-mckernel
}
test_mckernel_kill() {
  mck_ready
  $CTR run -d --log-uri "file://$CW/mck-d.log" $O $MCK --annotation io.mkrun.kernel=mckernel $IMG c-mckd \
    sh -c 'trap "echo got-usr1" USR1; echo started; while :; do sleep 0.1; done'
  wait_until 10 'grep -q started "$CW/mck-d.log"'
  eq "state: the instance" "$("$RT" --root "$SHIM_ROOT" state c-mckd | jq -r '.annotations["io.mkrun.lwk.os"] + " " + .annotations["io.mkrun.lwk.status"]')" "0 RUNNING"
  $CTR task kill -s SIGUSR1 c-mckd
  wait_until 5 'grep -q got-usr1 "$CW/mck-d.log"'
  $CTR task kill -s SIGKILL c-mckd
  wait_until 10 'test "$(task_status c-mckd)" = STOPPED'
  # the init died of SIGKILL; mcexec and the application with it (the pid namespace)
  $CTR task rm c-mckd
  $CTR container rm c-mckd
  eq "IHK calls" "$(mck_calls)" "$(mck_expected_calls 7 536870912@1)"
}
# CDI: ctr passes --annotation into the spec; containerd 1.6 does not apply CDI, mkrun does
test_cdi() {
  cdi_spec "$CDI_SPEC" engine.test/containerd
  out=$($CTR run --rm $O --annotation cdi.k8s.io/engine-test=engine.test/containerd=fuse $IMG c-cdi sh -c "$CDI_PROBE")
  cdi_seen "$out" engine.test/containerd
}
test_cdi_unknown() {
  cdi_spec "$CDI_SPEC" engine.test/containerd
  rc=0; out=$($CTR run --rm $O --annotation cdi.k8s.io/engine-test=engine.test/containerd=nope $IMG c-cdi-unknown sh -c "$CDI_PROBE" 2>&1) || rc=$?
  echo "$out"
  cdi_refused "$rc" "$out" engine.test/containerd
  hasnt "container left" "$($CTR container ls -q)" c-cdi-unknown
}
test_clean() {
  left=$(pids_with_arg "$CW/")
  eq "processes left" "$left" ""
  eq "mounts left" "$(mounts_below "$WORK")" ""
  eq "cgroups left" "$(cgroups_left "$NS")" ""
  [ ! -e "$SHIM_ROOT" ] || { echo "left: $SHIM_ROOT"; false; }
  [ ! -e "$CDI_SPEC" ] || { echo "left: $CDI_SPEC"; false; }
}

eng_export
[ -z "$ENG_SKIP_ALL" ] && start_containerd
t "daemon up (own config, sockets and root)" test_daemon
t "ctr images import (OCI + docker archive)" test_import
t "ctr run --rm --runc-binary RT: output" test_run
t "ctr run: exit status 42" test_exit_code
t "ctr run -t: console socket, pty" test_tty
t "ctr run -d: RUNNING, runtime state and list" test_run_detached
t "task exec: output and exit status" test_exec
t "task exec -t" test_exec_tty
t "task ps (ps --format json)" test_ps
t "task pause / resume (freezer)" test_pause_resume
t "update through the shim (memory, pids)" test_update
t "task kill -s SIGUSR1 reaches the container" test_kill_signal
t "task kill SIGTERM: STOPPED after the trap" test_kill_term
t "task rm + container rm: runtime state gone" test_delete
t "host pid namespace: kill --all after exit" test_host_pidns
t "missing executable: error text through log.json" test_missing_executable
t "config runtime entry (v1 linux runtime = RT)" test_config_runtime
t "packaging snippet loads (containerd config dump)" test_snippet
t "CDI: ctr run --annotation cdi.k8s.io/..., spec in /var/run/cdi: node, device rule, env, ro bind" test_cdi
t "CDI: an unknown device fails the task with mkrun's message" test_cdi_unknown
mck_begin
t "McKernel: ctr run --annotation io.mkrun.kernel=mckernel: exit 7 through mcexec, IHK boot and teardown" test_mckernel_annotation
t "McKernel: the packaged wrapper as BinaryName: exit 3 through mcexec" test_mckernel_wrapper
t "McKernel: run -d, state shows the instance, kill -s SIGUSR1 reaches the app, SIGKILL, rm" test_mckernel_kill
t "McKernel: the emulated node is exactly as before" test_mck_node_restored
mck_end
eng_teardown
t "teardown leaves no process, mount, cgroup or shim root" test_clean
finish
