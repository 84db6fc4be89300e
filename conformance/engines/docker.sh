#!/usr/bin/env bash
# Docker Engine 20.10 (Debian 12 docker.io) driving $ENGINE_RT as its default runtime ("mkrun"),
# plus "mkrun-args" (runtimeArgs ["--debug"]: Docker's generated wrapper) and "mkrun-mck"
# (runtimeArgs ["--kernel","mckernel"]). The runtimes come from packaging/snippets/daemon.json.
# The test's own "mkrun-cdi" and "mkrun-cdi-unknown" give CDI devices by runtimeArgs
# (--cdi-spec-dirs, --cdi-device), as Docker 20.10 passes no annotation to the runtime.
# usage: ENGINE_RT=/abs/path/mkrun conformance/engines/docker.sh     (or run.sh docker)
# Own daemon.json, data-root, exec-root (its own containerd child), socket, pidfile and cgroup parent
# under $WORK; no iptables, no bridge (--network none). Uses /usr/bin/docker (Debian CLI 20.10).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
eng_begin docker dockerd /usr/bin/docker containerd docker-init

DW=$WORK/docker
D="/usr/bin/docker -H unix://$DW/docker.sock"
R="--pull=never --network none"
CGP=mkrun-eng-docker-$$                  # cgroup parent: /sys/fs/cgroup/*/$CGP/<id>
SNIPPET=$ENG_REPO/packaging/snippets/daemon.json
CDI=$DW/cdi                              # the CDI spec directory the runtimes mkrun-cdi* are given
export DW D R CGP SNIPPET CDI
mck_paths "$WORK/mckernel"
# what the container's emulated mcexec needs to check its instance and report itself
MCK="-e MKRUN_IHK_EMULATOR_STATE=$MCK_STATE -e MCEXEC_EMULATOR_REPORT=1 -v $MCK_DIR:$MCK_DIR:ro"
export MCK

start_dockerd() {
  mkdir -p "$DW"
  local base
  base=$(cat <<EOF
{
  "data-root": "$DW/data",
  "exec-root": "$DW/exec",
  "pidfile":   "$DW/docker.pid",
  "hosts":     ["unix://$DW/docker.sock"],
  "cgroup-parent": "/$CGP",
  "iptables": false, "ip-masq": false, "ip-forward": false, "bridge": "none",
  "runtimes": {
    "mkrun-args": { "path": "$RT", "runtimeArgs": ["--debug"] },
    "mkrun-cdi": { "path": "$RT", "runtimeArgs": ["--cdi-spec-dirs", "$CDI", "--cdi-device", "engine.test/docker=fuse"] },
    "mkrun-cdi-unknown": { "path": "$RT", "runtimeArgs": ["--cdi-spec-dirs", "$CDI", "--cdi-device", "engine.test/docker=nope"] }
  },
  "default-runtime": "mkrun"
}
EOF
)
  if [ -f "$SNIPPET" ]; then
    # the packaged fragment, with the runtime path under test, merged into the test's settings
    jq -s '.[0] * .[1]' <(echo "$base") <(sed "s|/usr/bin/mkrun|$RT|g" "$SNIPPET") >"$DW/daemon.json"
  else
    echo "$base" | jq --arg rt "$RT" '.runtimes.mkrun = {path: $rt} | .runtimes["mkrun-mck"] = {path: $rt, runtimeArgs: ["--kernel", "mckernel"]}' >"$DW/daemon.json"
  fi
  HAD_KEY=$(existed /etc/docker/key.json); HAD_ETC_DOCKER=$(existed /etc/docker)
  HAD_RUN_DOCKER=$(existed /run/docker); HAD_RUN_CONTAINERD=$(existed /run/containerd)
  IP_FORWARD=$(cat /proc/sys/net/ipv4/ip_forward)
  export HAD_KEY HAD_ETC_DOCKER HAD_RUN_DOCKER HAD_RUN_CONTAINERD IP_FORWARD
  cleanup "docker_host_cleanup"
  cleanup 'for p in $(pids_with_arg "$DW/"); do echo "stray: $(tr "\0" " " </proc/$p/cmdline)"; stop_pid $p 5; done'
  # the host's McKernel configuration: the emulated node (dockerd passes its environment down to
  # containerd, the shim and the runtime)
  daemon_env MKRUN_MCKERNEL_CONF="$MCK_CONF" dockerd --config-file "$DW/daemon.json" >"$DW/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  cleanup "stop_pid $DOCKERD_PID 30"     # its containerd child exits with it
  cleanup "remove_all_containers"
  local i
  for i in $(seq 150); do $D version >/dev/null 2>&1 && break; sleep 0.2; done
}
remove_all_containers() {
  local ids
  ids=$($D ps -aq)
  [ -z "$ids" ] || $D rm -f $ids
}
docker_host_cleanup() {
  [ "$HAD_KEY" = 1 ] || rm -f /etc/docker/key.json
  [ "$HAD_ETC_DOCKER" = 1 ] || rmdir /etc/docker
  # only empty directories: something else may use these paths meanwhile
  [ "$HAD_RUN_DOCKER" = 1 ] || find /run/docker -depth -type d -empty -delete
  [ "$HAD_RUN_CONTAINERD" = 1 ] || find /run/containerd -depth -type d -empty -delete
  remove_cgroups "$CGP"
  echo "$IP_FORWARD" >/proc/sys/net/ipv4/ip_forward
}

cid_of() { $D inspect -f '{{.Id}}' "$1"; }
RTROOT=$DW/exec/runtime-runc/moby      # the shim's --root for every runtime, custom ones included
export RTROOT
rt_state() { "$RT" --root "$RTROOT" state "$(cid_of "$1")" | jq -r .status; }
ctr_pid() { $D inspect -f '{{.State.Pid}}' "$1"; }
in_ctr() { $D run --rm $R "$@"; }

# ---- tests ---------------------------------------------------------------------------------------
test_info() {
  out=$($D info 2>/dev/null)
  has "default runtime" "$out" "Default Runtime: mkrun"
  like "runtimes listed" "$out" 'Runtimes:.*mkrun-mck'
  like "the snippet's CDI runtime listed" "$out" 'Runtimes:.*mkrun-gpu'
  # dockerd runs `<default runtime> --version` and shows its commit: line as "runc version"
  commit=$(rt_commit)
  [ -n "$commit" ] || { echo "$RT --version has no commit: line"; false; }
  has "runc version line = the runtime's commit" "$out" "runc version: $commit"
  hasnt "version parsed" "$out" "runc version: N/A"
}
test_load() {
  make_image "$WORK/busybox-img.tar"
  $D load -i "$WORK/busybox-img.tar"
  has "image" "$($D images --format '{{.Repository}}:{{.Tag}}')" busybox:latest
}
test_run() { eq "output" "$(in_ctr busybox echo hi)" hi; }
test_run_runtime() { eq "output" "$(in_ctr --runtime=mkrun busybox echo hi)" hi; }
test_runtime_args() {
  # runtimeArgs: dockerd writes a #!/bin/sh wrapper that execs "RT --debug"
  eq "output" "$(in_ctr --runtime=mkrun-args busybox echo args-ok)" args-ok
}
test_exit_code() { eq "exit status" "$(rc_of in_ctr busybox sh -c 'exit 42')" 42; }
test_stdin() {
  eq "output" "$(printf 'piped\n' | $D run --rm -i $R busybox sh -c 'cat; echo done')" "piped
done"
}
test_tty() {
  out=$(in_tty "$D run --rm -t $R busybox sh -c 'tty; echo TTYOK'")
  like "tty" "$out" '^/dev/pts/[0-9]+$'
  has "output" "$out" TTYOK
}
test_it() {
  # The docker client sets the window size by resize requests after the container started,
  # which under load come later than the half second after which the line is typed: the shell
  # waits for the size (up to 5 s), as a user at a prompt would, and prints what it read. It
  # waits for the size itself, not for any size: once in CI a first `stty size` succeeded and
  # the next one found no size yet (busybox then fails).
  local wait_for_size='i=0; while s=$(stty size 2>/dev/null); [ "$s" != "40 120" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; echo "$s"'
  rc=0; out=$(in_tty --size 40x120 --input "$wait_for_size; echo typed-\$((6*7)); exit 9\n" "$D run -it --rm $R busybox sh") || rc=$?
  has "typed command ran" "$out" typed-42
  like "window size" "$out" '^40 120$'
  eq "exit status of the shell" "$rc" 9
}
DC=dd-$$
export DC
test_detached() {
  $D run -d --name "$DC" $R busybox \
    sh -c 'trap "echo got-usr1" USR1; trap "echo got-term; exit 3" TERM; echo started; while :; do sleep 0.1; done'
  wait_until 10 '$D logs "$DC" | grep -q started'
  eq "docker status" "$($D inspect -f '{{.State.Status}}' "$DC")" running
  eq "runtime state (shim root)" "$(rt_state "$DC")" running
  eq "runtime pid" "$("$RT" --root "$RTROOT" state "$(cid_of "$DC")" | jq -r .pid)" "$(ctr_pid "$DC")"
  like "cgroup parent" "$(cat "/proc/$(ctr_pid "$DC")/cgroup")" ":/$CGP/"
}
test_exec() {
  eq "output" "$($D exec "$DC" echo exec-ok)" exec-ok
  eq "exit status" "$(rc_of $D exec "$DC" sh -c 'exit 5')" 5
  eq "env, workdir, user" "$($D exec -e FOO=bar -w /tmp -u 1000 "$DC" sh -c 'echo $FOO $(pwd) $(id -u)')" "bar /tmp 1000"
}
test_exec_tty() {
  out=$(in_tty "$D exec -t $DC sh -c 'tty; echo EXECTTY'")
  like "tty" "$out" '^/dev/pts/[0-9]+$'
  rc=0; out=$(in_tty --size 33x77 --input 'stty size; exit 4\n' "$D exec -it $DC sh") || rc=$?
  like "exec -it window size" "$out" '^33 77$'
  eq "exit status" "$rc" 4
}
test_top() {
  out=$($D top "$DC")
  has "init" "$out" "sh -c"
  has "child" "$out" "sleep"
}
test_stats() {
  out=$($D stats --no-stream --format '{{.Name}} {{.MemUsage}} {{.PIDs}}' "$DC")
  like "name, memory, pids" "$out" "^$DC [0-9.]+[KMG]i?B / .* [1-9][0-9]*\$"
}
test_pause() {
  $D pause "$DC"
  eq "docker status" "$($D inspect -f '{{.State.Status}}' "$DC")" paused
  eq "runtime state" "$(rt_state "$DC")" paused
  eq "freezer" "$(host_cg "$(ctr_pid "$DC")" freezer freezer.state)" FROZEN
  $D unpause "$DC"
  eq "docker status" "$($D inspect -f '{{.State.Status}}' "$DC")" running
  eq "runtime state" "$(rt_state "$DC")" running
}
test_update() {
  $D update --memory 96m --memory-swap 192m --pids-limit 66 --cpus 0.25 "$DC"
  pid=$(ctr_pid "$DC")
  eq "memory (host)" "$(host_cg "$pid" memory memory.limit_in_bytes)" 100663296
  eq "pids (host)" "$(host_cg "$pid" pids pids.max)" 66
  eq "cpu quota (host)" "$(host_cg "$pid" cpu cpu.cfs_quota_us)" 25000
  eq "memory (inside)" "$($D exec "$DC" cat /sys/fs/cgroup/memory/memory.limit_in_bytes)" 100663296
  eq "docker inspect" "$($D inspect -f '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}' "$DC")" "100663296 66"
}
test_kill_usr1() {
  $D kill -s USR1 "$DC"
  wait_until 5 '$D logs "$DC" | grep -q got-usr1'
  eq "still running" "$($D inspect -f '{{.State.Status}}' "$DC")" running
}
test_stop_trap() {
  $D stop -t 5 "$DC"
  eq "exit code" "$($D inspect -f '{{.State.ExitCode}}' "$DC")" 3
  has "trap ran" "$($D logs "$DC")" got-term
}
test_rm() {
  id=$(cid_of "$DC")
  $D rm "$DC"
  hasnt "docker ps -a" "$($D ps -a --format '{{.Names}}')" "$DC"
  eq "runtime state fails" "$(rc_of "$RT" --root "$RTROOT" state "$id")" 1
}
test_restart_policy() {
  $D run -d --name rp-$$ --restart on-failure:2 $R busybox sh -c 'echo run; exit 1'
  wait_until 30 'test "$($D inspect -f "{{.RestartCount}} {{.State.Status}}" rp-$$)" = "2 exited"'
  eq "runs" "$($D logs rp-$$ | grep -c run)" 3
  eq "exit code" "$($D inspect -f '{{.State.ExitCode}}' rp-$$)" 1
  $D rm rp-$$
  # always: a killed container comes back, with a new init pid
  $D run -d --name ra-$$ --restart always $R busybox sleep 1000
  pid1=$(ctr_pid ra-$$)
  kill -KILL "$pid1"
  wait_until 20 'p=$(ctr_pid ra-$$); [ "$p" != 0 ] && [ "$p" != "$pid1" ]'
  eq "status" "$($D inspect -f '{{.State.Status}}' ra-$$)" running
  $D rm -f ra-$$
}
test_stop_timeout() {
  $D run -d --name st-$$ $R busybox sh -c 'trap "" TERM; echo ready; while :; do sleep 0.1; done'
  wait_until 10 '$D logs st-$$ | grep -q ready'
  start=$(date +%s.%N)
  $D stop -t 2 st-$$
  secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{ print e - s }')
  awk -v s="$secs" 'BEGIN{ exit !(s >= 1.9 && s < 15) }' || { echo "stop took ${secs}s"; false; }
  eq "exit code (SIGKILL)" "$($D inspect -f '{{.State.ExitCode}}' st-$$)" 137
  $D rm st-$$
}
test_read_only() {
  out=$(in_ctr --read-only --tmpfs /tmp busybox sh -c 'touch /x 2>&1; touch /tmp/y && echo tmp-writable')
  has "root is read-only" "$out" "Read-only file system"
  has "tmpfs writable" "$out" tmp-writable
}
test_caps() {
  eq "CapEff with only NET_ADMIN" "$(in_ctr --cap-drop ALL --cap-add NET_ADMIN busybox sh -c 'grep CapEff /proc/self/status | cut -f2')" 0000000000001000
  has "chown without CAP_CHOWN" "$(in_ctr --cap-drop CHOWN busybox sh -c 'chown 1 /tmp 2>&1; echo rc=$?')" "rc=1"
}
test_memory() { eq "inside" "$(in_ctr --memory 64m busybox cat /sys/fs/cgroup/memory/memory.limit_in_bytes)" 67108864; }
test_pids() { eq "inside" "$(in_ctr --pids-limit 50 busybox cat /sys/fs/cgroup/pids/pids.max)" 50; }
test_cpus() {
  out=$(in_ctr --cpus 0.5 busybox sh -c 'cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us')
  eq "quota and period" "$(echo $out)" "50000 100000"
}
test_user() { eq "id" "$(in_ctr --user 1000:1001 busybox sh -c 'echo $(id -u) $(id -g)')" "1000 1001"; }
test_tmpfs() {
  out=$(in_ctr --tmpfs /scratch:rw,size=1m busybox sh -c 'grep " /scratch " /proc/mounts; touch /scratch/f && echo w-ok')
  like "tmpfs mount" "$out" '^tmpfs /scratch tmpfs .*size=1024k'
  has "writable" "$out" w-ok
}
test_device() {
  out=$(in_ctr --device /dev/zero:/dev/myzero busybox sh -c 'ls -l /dev/myzero; head -c 3 /dev/myzero | wc -c')
  like "char device 1,5" "$out" '^crw.* 1, +5 .*/dev/myzero$'
  like "readable (device cgroup)" "$out" '^ *3$'
}
test_sysctl() {
  eq "net sysctl" "$(in_ctr --sysctl net.ipv4.ip_unprivileged_port_start=555 busybox cat /proc/sys/net/ipv4/ip_unprivileged_port_start)" 555
  eq "ipc sysctl" "$(in_ctr --sysctl kernel.shm_rmid_forced=1 busybox cat /proc/sys/kernel/shm_rmid_forced)" 1
}
test_ulimit() {
  eq "soft and hard" "$(in_ctr --ulimit nofile=1024:2048 busybox sh -c 'echo $(ulimit -n) $(ulimit -Hn)')" "1024 2048"
}
test_nnp() {
  eq "NoNewPrivs" "$(in_ctr --security-opt no-new-privileges busybox sh -c 'grep NoNewPrivs /proc/self/status | cut -f2')" 1
}
test_init() {
  out=$(in_ctr --init busybox sh -c 'cat /proc/1/cmdline | tr "\0" " "; echo; echo pid=$$')
  has "pid 1 is docker-init (tini)" "$out" "/sbin/docker-init"
  hasnt "the command is not pid 1" "$out" "pid=1"
}
test_seccomp() {
  eq "default profile on" "$(in_ctr busybox sh -c 'grep ^Seccomp: /proc/self/status | cut -f2')" 2
  eq "unconfined" "$(in_ctr --security-opt seccomp=unconfined busybox sh -c 'grep ^Seccomp: /proc/self/status | cut -f2')" 0
}
test_missing_executable() {
  rc=0; out=$($D run --rm $R busybox /nonexistent/cmd 2>&1) || rc=$?
  echo "$out"
  eq "exit status (not found)" "$rc" 127
  has "runtime's message (log.json)" "$out" "/nonexistent/cmd"
  has "runtime's message (log.json)" "$out" "no such file or directory"
}
test_mckernel_alias() {
  mck_ready
  rc=0; in_ctr --runtime=mkrun-mck $MCK busybox sh -c 'echo on-mckernel; exit 5' >"$DW/mck.out" 2>"$DW/mck.err" || rc=$?
  mck_assert_ran "$rc" 5 "$DW/mck.out" "$DW/mck.err" on-mckernel
}
test_mckernel_stop() {
  mck_ready
  mck_stop_checked "$D" "$RT --root $RTROOT state" mck-$$ $R --runtime=mkrun-mck $MCK busybox
}
test_mckernel_signal_status() {
  # the application dies of SIGTERM: mcexec dies of it too, mkrun's init (PID 1) exits 128+15
  mck_ready
  eq "exit status" "$(rc_of in_ctr --runtime=mkrun-mck $MCK busybox sh -c 'kill -TERM $$; sleep 5')" 143
  eq "IHK calls" "$(mck_calls)" "$(mck_expected_calls 7 536870912@1)"
}
test_plain_stays_on_linux() {
  # the default runtime, same daemon: no McKernel, no IHK call
  mck_ready
  eq "output" "$(in_ctr busybox sh -c 'ls /dev | grep -c mcos; echo linux')" "0
linux"
  eq "no IHK call" "$(mck_calls)" ""
}
# CDI: Docker 20.10 passes no annotation to the runtime; the device comes from the runtime
# entry's runtimeArgs (--cdi-device), the spec from the directory they name
test_cdi() {
  cdi_spec "$CDI/engine-test.json" engine.test/docker
  cdi_seen "$(in_ctr --runtime=mkrun-cdi busybox sh -c "$CDI_PROBE")" engine.test/docker
  # the default runtime, same daemon: no device
  eq "without the CDI runtime" "$(in_ctr busybox sh -c 'test -e /dev/fuse || echo no-fuse; echo "[$CDI_ENGINE_TEST]"')" "no-fuse
[]"
}
test_cdi_unknown() {
  cdi_spec "$CDI/engine-test.json" engine.test/docker
  rc=0; out=$($D run --rm $R --runtime=mkrun-cdi-unknown busybox sh -c "$CDI_PROBE" 2>&1) || rc=$?
  echo "$out"
  cdi_refused "$rc" "$out" engine.test/docker
}
test_clean() {
  eq "processes left" "$(pids_with_arg "$DW/")" ""
  eq "mounts left" "$(mounts_below "$WORK")" ""
  eq "cgroups left" "$(cgroups_left "$CGP")" ""
  [ "$HAD_KEY" = 1 ] || [ ! -e /etc/docker/key.json ]
  [ "$HAD_RUN_DOCKER" = 1 ] || [ ! -e /run/docker ]
  [ "$HAD_RUN_CONTAINERD" = 1 ] || [ ! -e /run/containerd ]
  eq "ip_forward" "$(cat /proc/sys/net/ipv4/ip_forward)" "$IP_FORWARD"
}

[ -z "$ENG_SKIP_ALL" ] && start_dockerd
eng_export
t "dockerd up; docker info: default runtime, runtimes, runc version line" test_info
t "docker load" test_load
t "run (default runtime): output" test_run
t "run --runtime=mkrun" test_run_runtime
t "run --runtime with runtimeArgs (generated wrapper)" test_runtime_args
t "run: exit status 42" test_exit_code
t "run -i: stdin" test_stdin
t "run -t: pty" test_tty
t "run -it: window size, exit status" test_it
t "run -d: running, runtime state, cgroup parent" test_detached
t "exec: output, exit status, -e, -w, -u" test_exec
t "exec -t / exec -it: pty, window size, exit status" test_exec_tty
t "top" test_top
t "stats --no-stream" test_stats
t "pause / unpause (freezer)" test_pause
t "update: memory, pids, cpus (host and inside)" test_update
t "kill -s USR1 reaches the container" test_kill_usr1
t "stop -t 5: TERM trap, exit code 3" test_stop_trap
t "rm: gone from docker and the runtime" test_rm
t "restart policies: on-failure:2, always" test_restart_policy
t "stop -t 2 on a TERM-ignoring container: KILL, 137" test_stop_timeout
t "--read-only" test_read_only
t "--cap-drop / --cap-add" test_caps
t "--memory: limit seen inside" test_memory
t "--pids-limit: limit seen inside" test_pids
t "--cpus: CFS quota seen inside" test_cpus
t "--user" test_user
t "--tmpfs" test_tmpfs
t "--device" test_device
t "--sysctl (net and ipc)" test_sysctl
t "--ulimit" test_ulimit
t "--security-opt no-new-privileges" test_nnp
t "--init (docker-init as pid 1)" test_init
t "default seccomp profile (and unconfined)" test_seccomp
t "missing executable: exit 127 with the runtime's message" test_missing_executable
t "CDI: --cdi-device in the runtime's runtimeArgs: node, device rule, env, ro bind" test_cdi
t "CDI: an unknown device fails the container with mkrun's message" test_cdi_unknown
mck_begin
t "McKernel: mkrun-mck alias (runtimeArgs --kernel mckernel): exit 5 through mcexec, IHK boot and teardown" test_mckernel_alias
t "McKernel: run -d, state shows the instance, stop reaches the app's TERM trap" test_mckernel_stop
t "McKernel: an application killed by SIGTERM: exit status 143" test_mckernel_signal_status
t "McKernel: the default runtime stays on Linux" test_plain_stays_on_linux
t "McKernel: the emulated node is exactly as before" test_mck_node_restored
mck_end
eng_teardown
t "teardown: no process, mount, cgroup, key.json, /run/docker left" test_clean
finish
