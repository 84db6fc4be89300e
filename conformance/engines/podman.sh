#!/usr/bin/env bash
# Podman 4.3 + conmon 2.1 (Debian 12) driving $ENGINE_RT.
# usage: ENGINE_RT=/abs/path/mkrun conformance/engines/podman.sh     (or run.sh podman)
# Own containers.conf: packaging/snippets/containers.conf (runtime "mkrun" = $ENGINE_RT, listed in
# runtime_supports_json so podman passes --log-format=json; "mkrun-mck"), storage, runroot, tmpdir, events log and network config under $WORK; cgroupfs,
# file events, overlay storage, an image imported from the busybox rootfs. Nothing in /etc is read
# or written. The default-bridge test leaves host state that the teardown removes: netavark's
# iptables chains, the /run/netns bind mount, /run/containers, podman0, ip_forward; so does a CDI
# test: /var/run/cdi/mkrun-engine-test-<pid>.json, where Podman's own CDI registry reads it.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
eng_begin podman podman conmon tmux

PW=$WORK/podman
P="podman --root $PW/root --runroot $PW/run --tmpdir $PW/tmp --storage-driver overlay"
IMG=localhost/busybox:latest
N="--network none"
CDI=$PW/cdi            # the CDI spec directory, given to the runtime with --runtime-flag
CDI_HOST_SPEC=/var/run/cdi/mkrun-engine-test-$$.json   # one that Podman's own CDI registry reads
export PW P IMG N CDI CDI_HOST_SPEC
mck_paths "$WORK/mckernel"

setup_podman() {
  mkdir -p "$PW/networks"
  # The packaged fragment (runtime "mkrun", runtime_supports_json, "mkrun-mck") with the paths under
  # test, plus what this host needs.
  sed "s|/usr/bin/mkrun|$RT|g" "$ENG_REPO/packaging/snippets/mkrun-mckernel" >"$PW/mkrun-mckernel"
  chmod 755 "$PW/mkrun-mckernel"
  {
    echo '[containers]'
    echo '# No CAP_SYS_RESOURCE on the test machines: podman asks for nofile=nproc=1048576 by default,'
    echo '# which no runtime can set (setrlimit EPERM): pin them below the hard limits.'
    echo 'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]'
    echo
    sed -e "s|/usr/bin/mkrun|$RT|g" -e "s|/usr/libexec/mkrun/mkrun-mckernel|$PW/mkrun-mckernel|g" \
      "$ENG_REPO/packaging/snippets/containers.conf" |
      awk -v pw="$PW" -v mck="$MCK_CONF" '{ print }
        $0 == "[engine]" {
          print "cgroup_manager = \"cgroupfs\"      # no systemd"
          print "events_logger = \"file\"           # no journald"
          print "events_logfile_path = \"" pw "/events.log\""
          print "# the environment conmon runs the runtime with: the emulated McKernel node'"'"'s configuration"
          print "conmon_env_vars = [\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\", \"MKRUN_MCKERNEL_CONF=" mck "\"]" }'
    echo
    echo '[network]'
    echo 'network_backend = "netavark"'
    echo "network_config_dir = \"$PW/networks\""
  } >"$PW/containers.conf"
  # the same, on a host whose administrator did not configure McKernel
  sed "s|MKRUN_MCKERNEL_CONF=$MCK_CONF|MKRUN_MCKERNEL_CONF=$PW/missing-mckernel.conf|" \
    "$PW/containers.conf" >"$PW/containers-nomck.conf"
  # and with the host's own /etc/mkrun/mckernel.conf
  sed "s|, \"MKRUN_MCKERNEL_CONF=$MCK_CONF\"||" "$PW/containers.conf" >"$PW/containers-etc.conf"
  cat >"$PW/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$PW/root"
runroot = "$PW/run"
EOF
  # host state podman and netavark may create outside their configured roots
  HAD_NETNS=$(existed /run/netns); NETNS_MOUNTED=$(mountpoint -q /run/netns 2>/dev/null && echo 1 || echo 0)
  HAD_RUN_CONTAINERS=$(existed /run/containers); HAD_VLC=$(existed /var/lib/containers)
  HAD_LIBPOD_CG=$( [ -n "$(cgroups_left libpod_parent)" ] && echo 1 || echo 0)
  IP_FORWARD=$(cat /proc/sys/net/ipv4/ip_forward)
  HAD_PODMAN0=$(ip link show podman0 >/dev/null 2>&1 && echo 1 || echo 0)
  export HAD_NETNS NETNS_MOUNTED HAD_RUN_CONTAINERS HAD_VLC HAD_LIBPOD_CG IP_FORWARD HAD_PODMAN0
  HAD_CDI_DIR=$(existed "$(dirname "$CDI_HOST_SPEC")")
  export HAD_CDI_DIR
  cleanup "podman_host_cleanup"
  cleanup "remove_all_containers"
}
export CONTAINERS_CONF=$PW/containers.conf CONTAINERS_STORAGE_CONF=$PW/storage.conf

remove_all_containers() {
  $P rm -a -f -t 0
  $P network prune -f
  $P system prune -a -f     # unmounts and removes the image layers
  # storage may keep its driver mount(s) below $PW
  for m in $(mounts_below "$PW"); do umount "$m" || umount -l "$m"; done
  for s in $(tmux_sockets); do tmux -S "$s" kill-server; done
}
tmux_sockets() { ls "$PW"/tmux*.sock 2>/dev/null; }

# netavark's leftovers: chains NETAVARK_* / NETAVARK-* (and the rules that jump to them), podman0,
# the /run/netns self bind mount, ipam.db; ip_forward back to its value before the tests
podman_host_cleanup() {
  local tbl rule chain
  for tbl in filter nat mangle; do
    iptables -t $tbl -S 2>/dev/null | grep -E '^-A ' | grep -E 'NETAVARK' | while read -r rule; do
      # -A CHAIN ... -> -D CHAIN ...
      eval "iptables -t $tbl -D ${rule#-A }" || true
    done
    for chain in $(iptables -t $tbl -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^NETAVARK/ { print $2 }'); do
      iptables -t $tbl -F "$chain"; iptables -t $tbl -X "$chain"
    done
  done
  [ "$HAD_PODMAN0" = 1 ] || ip link del podman0 2>/dev/null || true
  # only when empty: another user of `ip netns` may have mounted it meanwhile
  if [ "$NETNS_MOUNTED" = 0 ] && mountpoint -q /run/netns && [ -z "$(ls -A /run/netns)" ]; then
    for m in $(mounts_below /run/netns); do umount "$m" || umount -l "$m"; done
  fi
  [ "$HAD_NETNS" = 1 ] || rmdir /run/netns 2>/dev/null || true
  [ "$HAD_RUN_CONTAINERS" = 1 ] || rm -rf /run/containers
  [ "$HAD_VLC" = 1 ] || rm -rf /var/lib/containers
  [ "$HAD_LIBPOD_CG" = 1 ] || remove_cgroups libpod_parent
  rm -f "$CDI_HOST_SPEC"
  [ "$HAD_CDI_DIR" = 1 ] || rmdir "$(dirname "$CDI_HOST_SPEC")" 2>/dev/null || true
  echo "$IP_FORWARD" >/proc/sys/net/ipv4/ip_forward
}

cid_of() { $P inspect -f '{{.Id}}' "$1"; }
rt_state() { "$RT" state "$(cid_of "$1")" | jq -r .status; }   # podman passes no --root: the default one
ctr_pid() { $P inspect -f '{{.State.Pid}}' "$1"; }
in_ctr() { $P run --rm $N "$@"; }            # in_ctr [OPTIONS] IMAGE CMD...

# ---- tests ---------------------------------------------------------------------------------------
test_import() {
  make_rootfs "$WORK/rootfs"
  tar -C "$WORK/rootfs" -c . | $P import - "$IMG"
  has "image" "$($P images --format '{{.Repository}}:{{.Tag}}')" "$IMG"
}
test_info() {
  out=$($P info --format '{{.Host.OCIRuntime.Name}} {{.Host.OCIRuntime.Path}}|{{.Host.OCIRuntime.Version}}')
  has "name and path" "$out" "mkrun $RT|"
  has "version (from --version)" "$out" "$("$RT" --version | head -1)"
  eq "cgroup manager" "$($P info --format '{{.Host.CgroupManager}}')" cgroupfs
  eq "events" "$($P info --format '{{.Host.EventLogger}}')" file
}
test_run() {
  eq "output" "$(in_ctr "$IMG" echo hi)" hi
}
test_run_runtime_path() {
  eq "output" "$($P run --rm $N --runtime "$RT" "$IMG" echo hi)" hi
}
test_exit_code() {
  eq "exit status" "$(rc_of in_ctr "$IMG" sh -c 'exit 42')" 42
}
test_stdin() {
  eq "output" "$(printf 'piped\nlines\n' | $P run --rm -i $N "$IMG" sh -c 'cat; echo done')" "piped
lines
done"
}
test_tty() {
  out=$($P run --rm -t $N "$IMG" sh -c 'tty; stty size' </dev/null | tr -d '\r')
  like "tty" "$out" '^/dev/pts/[0-9]+$'
}
test_it() {
  rc=0; out=$(in_tty --size 40x120 --input 'stty size; echo typed-$((6*7)); exit 9\n' "$P run -it --rm $N $IMG sh") || rc=$?
  has "typed command ran" "$out" typed-42
  like "window size" "$out" '^40 120$'
  eq "exit status of the shell" "$rc" 9
}
test_it_tmux() {
  sock=$PW/tmux.sock
  cat >"$PW/it.sh" <<EOF
#!/bin/sh
export CONTAINERS_CONF=$CONTAINERS_CONF CONTAINERS_STORAGE_CONF=$CONTAINERS_STORAGE_CONF
exec $P run -it --rm $N --name tmux-it $IMG sh
EOF
  chmod +x "$PW/it.sh"
  tmux -S "$sock" new-session -d -s it -x 100 -y 30 "$PW/it.sh"
  wait_until 20 'tmux -S "$sock" capture-pane -p -t it | grep -q "# *$"'
  tmux -S "$sock" send-keys -t it 'stty size; echo TMUX$((40+2))' Enter
  wait_until 10 'tmux -S "$sock" capture-pane -p -t it | grep -q TMUX42'
  screen=$(tmux -S "$sock" capture-pane -p -t it)
  like "window size" "$screen" '^30 100$'
  # resize the window: the runtime's pty follows (conmon forwards the new size)
  tmux -S "$sock" resize-window -t it -x 90 -y 25
  sleep 0.5
  tmux -S "$sock" send-keys -t it 'clear; stty size' Enter
  wait_until 10 'tmux -S "$sock" capture-pane -p -t it | grep -q "^25 90$"'
  tmux -S "$sock" send-keys -t it 'exit' Enter
  wait_until 15 '! tmux -S "$sock" has-session -t it'
}
D=pd-$$
export D
test_detached() {
  $P run -d --name "$D" $N "$IMG" \
    sh -c 'trap "echo got-usr1" USR1; trap "echo got-term; exit 3" TERM; echo started; while :; do sleep 0.1; done'
  wait_until 10 '$P logs "$D" | grep -q started'
  eq "podman status" "$($P inspect -f '{{.State.Status}}' "$D")" running
  eq "runtime state" "$(rt_state "$D")" running
  eq "runtime pid" "$("$RT" state "$(cid_of "$D")" | jq -r .pid)" "$(ctr_pid "$D")"
}
test_json_log_mode() {
  conmon_pid=$($P inspect -f '{{.State.ConmonPid}}' "$D")
  args=$(tr '\0' ' ' <"/proc/$conmon_pid/cmdline")
  has "conmon runs RT" "$args" "-r $RT "
  has "json log (runtime_supports_json lists mkrun)" "$args" "--runtime-arg --log-format=json"
  has "log file" "$args" "--runtime-arg --log"
}
test_exec() {
  eq "output" "$($P exec "$D" echo exec-ok)" exec-ok
  eq "exit status" "$(rc_of $P exec "$D" sh -c 'exit 5')" 5
  eq "env and workdir" "$($P exec -e FOO=bar -w /tmp "$D" sh -c 'echo $FOO $(pwd)')" "bar /tmp"
}
test_exec_tty() {
  out=$($P exec -t "$D" sh -c 'tty; echo EXECTTY' </dev/null | tr -d '\r')
  like "tty" "$out" '^/dev/pts/[0-9]+$'
  out=$(in_tty --size 33x77 "$P exec -it $D sh -c 'stty size'")
  has "exec -it window size" "$out" "33 77"
}
test_top() {
  out=$($P top "$D")
  has "top lists the init" "$out" "sh -c"
  has "top lists the child" "$out" "sleep"
}
test_pause() {
  $P pause "$D"
  eq "podman status" "$($P inspect -f '{{.State.Status}}' "$D")" paused
  eq "runtime state" "$(rt_state "$D")" paused
  eq "freezer" "$(host_cg "$(ctr_pid "$D")" freezer freezer.state)" FROZEN
  $P unpause "$D"
  eq "podman status" "$($P inspect -f '{{.State.Status}}' "$D")" running
  eq "runtime state" "$(rt_state "$D")" running
}
test_kill_usr1() {
  $P kill -s USR1 "$D"
  wait_until 5 '$P logs "$D" | grep -q got-usr1'
  eq "still running" "$($P inspect -f '{{.State.Status}}' "$D")" running
}
test_stop_trap() {
  $P stop -t 5 "$D"
  eq "exit code" "$($P inspect -f '{{.State.ExitCode}}' "$D")" 3
  has "trap ran" "$($P logs "$D")" got-term
  # conmon's cleanup deletes it from the runtime once it exited
  wait_until 10 '! "$RT" state "$(cid_of "$D")"'
}
test_rm() {
  id=$(cid_of "$D")
  $P rm "$D"
  hasnt "podman ps -a" "$($P ps -a --format '{{.Names}}')" "$D"
  hasnt "runtime list" "$("$RT" list -q 2>/dev/null)" "$id"
  eq "runtime state fails" "$(rc_of "$RT" state "$id")" 1
}
test_stop_timeout() {
  $P run -d --name st-$$ $N "$IMG" sh -c 'trap "" TERM; echo ready; while :; do sleep 0.1; done'
  wait_until 10 '$P logs st-$$ | grep -q ready'
  start=$(date +%s.%N)
  $P stop -t 2 st-$$
  secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{ print e - s }')
  awk -v s="$secs" 'BEGIN{ exit !(s >= 1.9 && s < 15) }' || { echo "stop took ${secs}s"; false; }
  eq "exit code (SIGKILL)" "$($P inspect -f '{{.State.ExitCode}}' st-$$)" 137
  $P rm st-$$
}
test_kill_kill() {
  $P run -d --name kk-$$ $N "$IMG" sleep 1000
  $P kill -s KILL kk-$$
  $P wait kk-$$ || true
  eq "exit code" "$($P inspect -f '{{.State.ExitCode}}' kk-$$)" 137
  $P rm kk-$$
}
# Podman adds the mount option tmpcopyup (runc's: copy the image's directory into the new tmpfs)
# to every tmpfs it asks for; a runtime that does not list it in `features` cannot take them.
needs_tmpcopyup() {
  "$RT" features | jq -e '.mountOptions | index("tmpcopyup")' >/dev/null ||
    skip_test "$RT features has no tmpcopyup mount option, which Podman adds to every tmpfs"
}
test_read_only() {
  needs_tmpcopyup
  out=$(in_ctr --read-only "$IMG" sh -c 'touch /x 2>&1; touch /tmp/y && echo tmp-writable')
  has "root is read-only" "$out" "Read-only file system"
  has "/tmp is a tmpfs" "$out" tmp-writable
}
test_caps() {
  eq "CapEff with only NET_ADMIN" "$(in_ctr --cap-drop ALL --cap-add NET_ADMIN "$IMG" sh -c 'grep CapEff /proc/self/status | cut -f2')" 0000000000001000
  out=$(in_ctr --cap-drop CHOWN "$IMG" sh -c 'chown 1 /tmp 2>&1; echo rc=$?')
  has "chown without CAP_CHOWN" "$out" "rc=1"
  eq "default set has CHOWN" "$(in_ctr "$IMG" sh -c 'chown 1 /tmp && echo ok')" ok
}
test_memory() {
  eq "memory.limit_in_bytes inside" "$(in_ctr --memory 64m "$IMG" cat /sys/fs/cgroup/memory/memory.limit_in_bytes)" 67108864
}
test_pids() {
  eq "pids.max inside" "$(in_ctr --pids-limit 50 "$IMG" cat /sys/fs/cgroup/pids/pids.max)" 50
}
test_cpus() {
  out=$(in_ctr --cpus 0.5 "$IMG" sh -c 'cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us')
  eq "quota and period" "$(echo $out)" "50000 100000"
}
test_user() {
  eq "id" "$(in_ctr --user 1000:1001 "$IMG" sh -c 'echo $(id -u) $(id -g)')" "1000 1001"
}
test_tmpfs() {
  needs_tmpcopyup
  out=$(in_ctr --tmpfs /scratch:rw,size=1m,mode=1777 "$IMG" sh -c 'grep " /scratch " /proc/mounts; touch /scratch/f && echo w-ok')
  like "tmpfs mount" "$out" '^tmpfs /scratch tmpfs .*size=1024k'
  has "writable" "$out" w-ok
}
test_device() {
  out=$(in_ctr --device /dev/zero:/dev/myzero "$IMG" sh -c 'ls -l /dev/myzero; head -c 3 /dev/myzero | wc -c')
  like "char device 1,5" "$out" '^crw.* 1, +5 .*/dev/myzero$'
  like "readable (device cgroup)" "$out" '^ *3$'
}
test_sysctl() {
  eq "net sysctl" "$(in_ctr --sysctl net.ipv4.ip_unprivileged_port_start=555 "$IMG" cat /proc/sys/net/ipv4/ip_unprivileged_port_start)" 555
  eq "ipc sysctl" "$(in_ctr --sysctl kernel.shm_rmid_forced=1 "$IMG" cat /proc/sys/kernel/shm_rmid_forced)" 1
}
test_ulimit() {
  # with any --ulimit podman drops default_ulimits and asks for nproc=1048576: give nproc too
  out=$(in_ctr --ulimit nofile=1024:2048 --ulimit nproc=1000:2000 "$IMG" sh -c 'echo $(ulimit -n) $(ulimit -Hn) $(ulimit -u) $(ulimit -Hu)')
  eq "nofile and nproc, soft and hard" "$out" "1024 2048 1000 2000"
}
test_nnp() {
  eq "NoNewPrivs" "$(in_ctr --security-opt no-new-privileges "$IMG" sh -c 'grep NoNewPrivs /proc/self/status | cut -f2')" 1
  eq "default" "$(in_ctr "$IMG" sh -c 'grep NoNewPrivs /proc/self/status | cut -f2')" 0
}
test_init() {
  out=$(in_ctr --init "$IMG" sh -c 'cat /proc/1/cmdline | tr "\0" " "; echo; echo pid=$$')
  has "pid 1 is podman's init (catatonit)" "$out" "/run/podman-init"
  hasnt "the command is not pid 1" "$out" "pid=1"
}
test_annotation() {
  $P run -d --name an-$$ $N --annotation io.mkrun.test=hello --annotation io.mkrun.kernel=linux "$IMG" sleep 1000
  id=$(cid_of an-$$)
  st=$("$RT" state "$id")
  eq "annotation in the runtime's state" "$(echo "$st" | jq -r '.annotations["io.mkrun.test"]')" hello
  eq "kernel=linux accepted" "$(echo "$st" | jq -r .status)" running
  $P rm -f -t 0 an-$$
}
test_seccomp() {
  eq "default profile on" "$(in_ctr "$IMG" sh -c 'grep ^Seccomp: /proc/self/status | cut -f2')" 2
  eq "unconfined" "$(in_ctr --security-opt seccomp=unconfined "$IMG" sh -c 'grep ^Seccomp: /proc/self/status | cut -f2')" 0
}
test_missing_executable() {
  rc=0; out=$($P run --rm $N "$IMG" /nonexistent/cmd 2>&1) || rc=$?
  echo "$out"
  eq "exit status (not found)" "$rc" 127
  has "runtime's message" "$out" "/nonexistent/cmd"
}
test_bridge() {
  command -v iptables >/dev/null || skip_test "no iptables"
  out=$($P run --rm --cap-add NET_RAW "$IMG" sh -c 'ip -4 -o addr show eth0; ping -c 1 -W 2 10.88.0.1 >/dev/null && echo ping-ok')
  like "address on the default bridge" "$out" 'inet 10\.88\.[0-9]+\.[0-9]+/16'
  has "gateway reachable" "$out" ping-ok
}
test_events() {
  out=$($P events --stream=false --since 10m --filter container="$D" --format '{{.Status}}')
  has "start event" "$out" start
  has "died event" "$out" died
  [ -s "$PW/events.log" ]
}
# CDI: Podman resolves CDI names given to --device itself, but leaves cdi.k8s.io/ annotations to
# the runtime (it copies them into the spec); --runtime-flag names the spec directory
test_cdi() {
  cdi_spec "$CDI/engine-test.json" engine.test/podman
  out=$($P --runtime-flag "cdi-spec-dirs=$CDI" run --rm $N --annotation cdi.k8s.io/engine-test=engine.test/podman=fuse \
    "$IMG" sh -c "$CDI_PROBE")
  cdi_seen "$out" engine.test/podman
}
test_cdi_left_to_the_runtime() {
  # The spec where Podman's own registry finds it, and runc, which has no CDI: Podman resolves
  # the name given to --device, but the annotation alone brings nothing (so mkrun applying it
  # is the only application, not a second one).
  [ -x /usr/sbin/runc ] || skip_test "no /usr/sbin/runc"
  cdi_spec "$CDI_HOST_SPEC" engine.test/podman
  eq "annotation, runc" "$($P run --rm $N --runtime /usr/sbin/runc --annotation cdi.k8s.io/engine-test=engine.test/podman=fuse \
    "$IMG" sh -c 'test -e /dev/fuse || echo no-fuse; echo "[$CDI_ENGINE_TEST]"')" "no-fuse
[]"
  eq "--device NAME, runc: Podman's own CDI" "$($P run --rm $N --runtime /usr/sbin/runc --device engine.test/podman=fuse \
    "$IMG" sh -c 'echo "$CDI_ENGINE_TEST"')" engine.test/podman=fuse
}
test_cdi_unknown() {
  cdi_spec "$CDI/engine-test.json" engine.test/podman
  rc=0; out=$($P --runtime-flag "cdi-spec-dirs=$CDI" run --rm $N --annotation cdi.k8s.io/engine-test=engine.test/podman=nope \
    "$IMG" sh -c "$CDI_PROBE" 2>&1) || rc=$?
  echo "$out"
  cdi_refused "$rc" "$out" engine.test/podman
}

test_mckernel_package_default() {
  [ "$RT" = /usr/bin/mkrun ] || skip_test "RT=$RT is not the package's /usr/bin/mkrun"
  hasnt "conmon's environment" "$(cat "$PW/containers-etc.conf")" MKRUN_MCKERNEL_CONF
  rc=0; out=$(CONTAINERS_CONF=$PW/containers-etc.conf $P run --rm $N --annotation io.mkrun.kernel=mckernel "$IMG" true 2>&1) || rc=$?
  echo "$out"
  has "the conffile keeps McKernel off" "$out" "McKernel is disabled on this host: /etc/mkrun/mckernel.conf lets mkrun neither boot"
  eq "exit status (runtime error)" "$rc" 126
}

# ---- McKernel (the IHK emulator) -----------------------------------------------------------------
# MCK: what the container's emulated mcexec needs to check its instance and report itself
MCK="-e MKRUN_IHK_EMULATOR_STATE=$MCK_STATE -e MCEXEC_EMULATOR_REPORT=1 -v $MCK_DIR:$MCK_DIR:ro"
export MCK
# mck_run_checked RC OUTPUT PODMAN-ARGS...: run it, then mck_assert_ran
mck_run_checked() {
  local want_rc=$1 want_out=$2 rc=0; shift 2
  $P "$@" >"$PW/mck.out" 2>"$PW/mck.err" || rc=$?
  mck_assert_ran "$rc" "$want_rc" "$PW/mck.out" "$PW/mck.err" "$want_out"
}
test_mckernel_annotation() {
  mck_ready
  mck_run_checked 7 on-lwk run --rm $N $MCK --annotation io.mkrun.kernel=mckernel "$IMG" sh -c 'echo on-lwk; exit 7'
}
test_mckernel_alias() {
  mck_ready
  mck_run_checked 3 on-mckernel --runtime mkrun-mck run --rm $N $MCK "$IMG" sh -c 'echo on-mckernel; exit 3'
}
test_mckernel_stop() {
  mck_ready
  mck_stop_checked "$P" "$RT state" mck-$$ $N $MCK --annotation io.mkrun.kernel=mckernel "$IMG"
}
test_mckernel_unconfigured() {
  # a host where the administrator did not configure McKernel: a clear error, not a
  # "not found" (podman maps "no such file or directory" to exit 127)
  rc=0; out=$(CONTAINERS_CONF=$PW/containers-nomck.conf $P run --rm $N --annotation io.mkrun.kernel=mckernel "$IMG" true 2>&1) || rc=$?
  echo "$out"
  has "runtime's message" "$out" "McKernel is not configured on this host: $PW/missing-mckernel.conf is missing"
  eq "exit status (runtime error, not 127)" "$rc" 126
}

test_clean() {
  eq "processes left" "$(pids_with_arg "$PW/")" ""
  eq "mounts left" "$(mounts_below "$WORK")" ""
  eq "libpod_parent cgroups" "$( [ "$HAD_LIBPOD_CG" = 1 ] || cgroups_left libpod_parent)" ""
  eq "netavark chains" "$(iptables-save 2>/dev/null | grep NETAVARK || true)" ""
  [ "$NETNS_MOUNTED" = 1 ] || eq "/run/netns mount" "$(mounts_below /run/netns)" ""
  eq "podman0" "$( [ "$HAD_PODMAN0" = 1 ] || ip -o link show podman0 2>/dev/null || true)" ""
  eq "ip_forward" "$(cat /proc/sys/net/ipv4/ip_forward)" "$IP_FORWARD"
  [ "$HAD_RUN_CONTAINERS" = 1 ] || [ ! -e /run/containers ]
  [ "$HAD_VLC" = 1 ] || [ ! -e /var/lib/containers ]
  [ ! -e "$CDI_HOST_SPEC" ]
  [ "$HAD_CDI_DIR" = 1 ] || [ ! -e "$(dirname "$CDI_HOST_SPEC")" ]
}

[ -z "$ENG_SKIP_ALL" ] && setup_podman
eng_export
t "podman import (busybox rootfs)" test_import
t "podman info: runtime mkrun = RT, cgroupfs, file events" test_info
t "run (runtime from containers.conf): output" test_run
t "run --runtime PATH" test_run_runtime_path
t "run: exit status 42" test_exit_code
t "run -i: stdin" test_stdin
t "run -t: pty from the console socket" test_tty
t "run -it: interactive shell" test_it
t "run -it in tmux: window size 30x100, resize, shell" test_it_tmux
t "run -d: running, runtime state, pid" test_detached
t "JSON log mode: conmon passes --log-format=json" test_json_log_mode
t "exec: output, exit status, -e, -w" test_exec
t "exec -t / -it: pty and window size" test_exec_tty
t "top" test_top
t "pause / unpause (freezer)" test_pause
t "kill -s USR1 reaches the container" test_kill_usr1
t "stop -t 5: TERM trap, exit code 3" test_stop_trap
t "rm: gone from podman and the runtime" test_rm
t "events (file backend): start, died" test_events
t "stop -t 2 on a TERM-ignoring container: KILL, 137" test_stop_timeout
t "kill -s KILL: exit code 137" test_kill_kill
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
t "--init (catatonit as pid 1)" test_init
t "--annotation: in the runtime's state; io.mkrun.kernel=linux" test_annotation
t "default seccomp profile (and unconfined)" test_seccomp
t "missing executable: exit 127 with the runtime's message" test_missing_executable
t "CDI: --annotation cdi.k8s.io/..., spec dir by --runtime-flag: node, device rule, env, ro bind" test_cdi
t "CDI: an unknown device fails the container with mkrun's message" test_cdi_unknown
t "CDI: Podman applies --device NAME itself but leaves the annotation to the runtime (runc: no device)" test_cdi_left_to_the_runtime
t "default bridge network (netavark): address, gateway" test_bridge
mck_begin
t "McKernel: --annotation io.mkrun.kernel=mckernel: exit 7 through mcexec, IHK boot and teardown" test_mckernel_annotation
t "McKernel: mkrun-mck runtime (wrapper with --kernel mckernel)" test_mckernel_alias
t "McKernel: run -d, state shows the instance, stop reaches the app's TERM trap" test_mckernel_stop
t "McKernel: the emulated node is exactly as before" test_mck_node_restored
mck_end
t "McKernel: an unconfigured host says so (exit 126, not 127)" test_mckernel_unconfigured
t "McKernel: the package's /etc/mkrun/mckernel.conf keeps McKernel disabled" test_mckernel_package_default
eng_teardown
t "teardown: no process, mount, cgroup, iptables chain, netns left" test_clean
finish
