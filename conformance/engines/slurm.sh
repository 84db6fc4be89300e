#!/usr/bin/env bash
# Slurm 22.05 (Debian 12 slurm-wlm + munge): `srun --container` / `sbatch --container` through
# oci.conf in the RunTimeRun style (the only style that works with 22.05, see
# shared/engines/slurm.md: create/start hangs on run_command's pipe), driving $ENGINE_RT.
# usage: ENGINE_RT=/abs/path/mkrun conformance/engines/slurm.sh     (or run.sh slurm)
# Single node, munged + slurmctld + slurmd started here with their own config, key, socket, spool,
# state and logs under $WORK (ports 16817/16818, or SLURM_TEST_PORTS="ctld slurmd"); nothing in /etc.
# The oci.conf is packaging/snippets/oci.conf with the runtime path and --root replaced.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
eng_begin slurm slurmctld slurmd srun sbatch munged mungekey runc runuser

SW=$WORK/slurm
export SLURM_CONF=$SW/slurm.conf
read -r CTLD_PORT SLURMD_PORT <<<"${SLURM_TEST_PORTS:-16817 16818}"
NODE=$(hostname -s)
B=$SW/bundles/busybox            # root jobs
BR=$SW/bundles/busybox-rootless  # jobs of nobody: a user-namespace bundle made for uid 65534
RTROOT=$SW/rt-root
ARGV_LOG=$SW/runtime-argv.log
SNIPPET=$ENG_REPO/packaging/snippets/oci.conf
BM=$SW/bundles/busybox-mckernel  # the annotation io.mkrun.kernel=mckernel, the emulated node bound in
BT=$SW/bundles/busybox-trap      # $SW/trap bound writable at /trap
BMR=$SW/bundles/busybox-ranks    # McKernel ranks: attach to instance 5, no pid namespace of their own
CDI=$SW/cdi                      # the site's CDI spec directory, given to RunTimeRun with --cdi-spec-dirs
CDI_FLAG=$(rt_has_cdi && echo " --cdi-spec-dirs=$CDI")   # (not for a runtime without CDI, e.g. runc)
BMJ=$SW/bundles/busybox-job      # nobody's rootless bundle on its job's instance (prolog, epilog)
export SW CTLD_PORT SLURMD_PORT NODE B BR BM BT BMR BMJ RTROOT ARGV_LOG SNIPPET CDI CDI_FLAG
mck_paths "$WORK/mckernel"

start_slurm() {
  mkdir -p "$SW"/{munge,state,spool,log,bin,bundles} "$RTROOT"
  chmod 755 "$SW" "$SW/bundles"
  chmod 1777 "$RTROOT"            # the runtime's --root: every job user creates its state there
  chown munge:munge "$SW/munge"; chmod 0755 "$SW/munge"   # munged refuses a socket dir without o+x
  # argv logger in front of the runtime (the runtime call itself is unchanged)
  cat >"$SW/bin/rt" <<EOF
#!/bin/sh
{ printf 'uid=%s argv:' "\$(id -u)"; for a in "\$@"; do printf ' [%s]' "\$a"; done; echo; } >>$ARGV_LOG
exec $RT "\$@"
EOF
  chmod 755 "$SW/bin/rt"; touch "$ARGV_LOG"; chmod 666 "$ARGV_LOG"
  if [ -f "$SNIPPET" ]; then
    sed -e "s|/usr/bin/mkrun|$SW/bin/rt|g" -e "s|/run/mkrun-slurm|$RTROOT|g" \
      -e "/^RunTimeRun=/s| run %n|$CDI_FLAG run %n|" "$SNIPPET" >"$SW/oci.conf"
  else
    cat >"$SW/oci.conf" <<EOF
RunTimeQuery="$SW/bin/rt --rootless=true --root=$RTROOT state %n.%u.%j.%s.%t"
RunTimeKill="$SW/bin/rt --rootless=true --root=$RTROOT kill -a %n.%u.%j.%s.%t"
RunTimeDelete="$SW/bin/rt --rootless=true --root=$RTROOT delete --force %n.%u.%j.%s.%t"
RunTimeRun="$SW/bin/rt --rootless=true --root=$RTROOT$CDI_FLAG run %n.%u.%j.%s.%t -b %b"
EOF
  fi
  # The packaged prolog and epilog (packaging/snippets/slurm-mckernel.conf), pointed at this
  # build's mkrun-lwk and the emulated node; only jobs of the partition "mck" get an instance.
  printf 'MKRUN_LWK_PARTITIONS=mck\nMKRUN_LWK_BOOT_ARGS=\n' >"$SW/mkrun-lwk.defaults"
  local script
  for script in prolog epilog; do
    cat >"$SW/bin/mkrun-lwk-$script" <<EOF
#!/bin/sh
echo "$script uid=\$(id -u) job=\$SLURM_JOB_ID user=\$SLURM_JOB_UID partition=\$SLURM_JOB_PARTITION" >>$SW/log/mkrun-lwk.log
export MKRUN_LWK=$ENGINE_BUILD/lwk/mkrun-lwk MKRUN_MCKERNEL_CONF=$MCK_CONF MKRUN_LWK_DEFAULTS=$SW/mkrun-lwk.defaults
exec $ENG_REPO/packaging/snippets/mkrun-lwk-$script >>$SW/log/mkrun-lwk.log 2>&1
EOF
    chmod 755 "$SW/bin/mkrun-lwk-$script"
  done
  local nodeline
  nodeline=$(slurmd -C | head -1)
  cat >"$SLURM_CONF" <<EOF
ClusterName=mkrun-engines
SlurmctldHost=$NODE
$(slurm_daemon_settings)
StateSaveLocation=$SW/state
SlurmdSpoolDir=$SW/spool
SlurmctldPidFile=$SW/slurmctld.pid
SlurmdPidFile=$SW/slurmd.pid
SlurmctldLogFile=$SW/log/slurmctld.log
SlurmdLogFile=$SW/log/slurmd.log
$(slurm_common_settings)
$nodeline State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
PartitionName=mck Nodes=ALL MaxTime=INFINITE State=UP
EOF
  sed -e "s|/usr/libexec/mkrun/|$SW/bin/|" "$ENG_REPO/packaging/snippets/slurm-mckernel.conf" \
    | grep -v '^#' >>"$SLURM_CONF"
  # bundles: the rootfs dir must be called rootfs (Slurm 22.05 rewrites root.path to <bundle>/rootfs)
  mkdir -p "$B"; make_rootfs "$B/rootfs"; (cd "$B" && runc spec)
  mkdir -p "$BR"; cp -a "$B/rootfs" "$BR/"; chown -R nobody:nogroup "$BR"
  (cd "$BR" && runuser -u nobody -- runc spec --rootless)
  mkdir -p "$BM" "$BT" "$SW/trap"; cp -a "$B/rootfs" "$BM/"; cp -a "$B/rootfs" "$BT/"
  jq --arg d "$SW/trap" '.mounts += [{destination: "/trap", source: $d, type: "bind", options: ["rbind", "rw"]}]' \
    "$B/config.json" >"$BT/config.json"
  jq --arg d "$MCK_DIR" '.annotations["io.mkrun.kernel"] = "mckernel"
      | .mounts += [{destination: $d, source: $d, type: "bind", options: ["rbind", "ro"]}]' \
    "$B/config.json" >"$BM/config.json"
  # the emulated mcexecs of all ranks share $MCK_DIR/procs, where they catch colliding pids
  mkdir -p "$BMR"; cp -a "$B/rootfs" "$BMR/"
  jq --arg d "$MCK_DIR" '.annotations["io.mkrun.kernel"] = "mckernel"
      | .annotations["io.mkrun.mckernel.instance"] = "attach:5"
      | .linux.namespaces |= map(select(.type != "pid"))
      | .mounts += [{destination: $d, source: $d, type: "bind", options: ["rbind", "ro"]},
                    {destination: ($d + "/procs"), source: ($d + "/procs"), type: "bind", options: ["bind", "rw"]}]' \
    "$B/config.json" >"$BMR/config.json"
  # nobody's step on its job's instance: rootless, no pid namespace (so the host's /proc is bound)
  mkdir -p "$BMJ"; cp -a "$BR/rootfs" "$BMJ/"
  jq --arg d "$MCK_DIR" '.annotations["io.mkrun.kernel"] = "mckernel"
      | .annotations["io.mkrun.mckernel.instance"] = "job"
      | .linux.namespaces |= map(select(.type != "pid"))
      | .mounts |= map(if .destination == "/proc" then {destination: "/proc", type: "bind", source: "/proc", options: ["rbind", "nosuid", "noexec", "nodev"]} else . end)
      | .mounts += [{destination: $d, source: $d, type: "bind", options: ["rbind", "ro"]},
                    {destination: ($d + "/procs"), source: ($d + "/procs"), type: "bind", options: ["bind", "rw"]}]' \
    "$BR/config.json" >"$BMJ/config.json"

  HAD_SLURM_CG=$( [ -n "$(cgroups_left "slurm_$NODE")" ] && echo 1 || echo 0); export HAD_SLURM_CG
  cleanup '[ "$HAD_SLURM_CG" = 1 ] || remove_cgroups "slurm_$NODE"'
  cleanup 'for p in $(pids_with_arg "$SW/"); do echo "stray: $(tr "\0" " " </proc/$p/cmdline)"; stop_pid $p 5; done'
  cleanup 'stop_pid "$(cat "$SW/munge/munged.pid" 2>/dev/null)" 10'
  # safety net: the daemons' own pid files
  cleanup 'for f in "$SW/slurmd.pid" "$SW/slurmctld.pid"; do stop_pid "$(cat "$f" 2>/dev/null)" 10; done'
  runuser -u munge -- mungekey --create --keyfile="$SW/munge/munge.key"
  runuser -u munge -- munged --socket="$SW/munge/munge.socket.2" --key-file="$SW/munge/munge.key" \
    --pid-file="$SW/munge/munged.pid" --log-file="$SW/munge/munged.log" --seed-file="$SW/munge/munged.seed"
  # exec: $! is the daemon itself
  (cd "$SW" && exec env -i PATH="$PATH" SLURM_CONF="$SLURM_CONF" slurmctld -D -i >"$SW/log/slurmctld.out" 2>&1) &
  SLURMCTLD_PID=$!
  cleanup "stop_pid $SLURMCTLD_PID 20"
  local i
  for i in $(seq 50); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.2; done
  # the host's McKernel configuration: the emulated node
  (cd "$SW" && exec env -i PATH="$PATH" SLURM_CONF="$SLURM_CONF" MKRUN_MCKERNEL_CONF="$MCK_CONF" slurmd -D >"$SW/log/slurmd.out" 2>&1) &
  SLURMD_PID=$!
  cleanup "stop_pid $SLURMD_PID 20"
  cleanup 'scancel --full $(squeue -h -o %i) 2>/dev/null; sleep 1'
  cleanup 'for c in $("$RT" --root "$RTROOT" list -q 2>/dev/null); do "$RT" --root "$RTROOT" delete --force "$c"; done'
  for i in $(seq 100); do sinfo -h -o %t 2>/dev/null | grep -q idle && break; sleep 0.2; done
}

# ---- tests ---------------------------------------------------------------------------------------
test_up() {
  eq "node state" "$(sinfo -h -o '%n %t')" "$NODE idle"
  eq "plain srun" "$(srun hostname)" "$(hostname)"
}
test_srun_root() {
  rc=0
  srun --container="$B" /bin/sh -c 'hostname; id -u; cat /proc/1/cmdline | tr "\0" " "; echo; echo job=$SLURM_JOB_ID; echo err >&2; exit 3' \
    >"$SW/a1.out" 2>"$SW/a1.err" || rc=$?
  cat "$SW/a1.out" "$SW/a1.err"
  out=$(cat "$SW/a1.out")
  eq "exit status = container's" "$rc" 3
  like "hostname from config.json" "$out" "^$(jq -r .hostname "$B/config.json")\$"
  like "uid 0" "$out" '^0$'
  like "the job's command is pid 1" "$out" '^/bin/sh -c hostname'
  like "job env reaches the container" "$out" '^job=[0-9]+$'
  has "stderr separate" "$(cat "$SW/a1.err")" err
  ! grep -qx err "$SW/a1.out" || { echo "stderr in stdout"; false; }
}
test_srun_path() {
  # process.args is the command as typed: the runtime resolves it with the container's PATH
  eq "relative command" "$(srun --container="$B" hostname)" "$(jq -r .hostname "$B/config.json")"
}
test_argv() {
  # what Slurm passed (run style): global flags, then `run <id> -b <bundle>/`, then `state <id>` as root
  log=$(cat "$ARGV_LOG")
  cdi_arg=${CDI_FLAG:+ \\[${CDI_FLAG# }\\]}
  like "run" "$log" "^uid=0 argv: \[--rootless=true\] \[--root=$RTROOT\]$cdi_arg \[run\] \[$NODE\.root\.[0-9]+\.0\.0\] \[-b\] \[$SW/spool/oci-job[0-9]+-00000/\]\$"
  like "state" "$log" "^uid=0 argv: \[--rootless=true\] \[--root=$RTROOT\] \[state\] \[$NODE\.root\.[0-9]+\.0\.0\]\$"
}
test_sbatch() {
  j=$(sbatch --parsable -o "$SW/log/batch-%j.out" --container="$B" --wrap 'echo in-batch; exit 6')
  wait_until 30 'scontrol show job "$j" | grep -q "JobState=\(COMPLETED\|FAILED\)"'
  has "batch output" "$(cat "$SW/log/batch-$j.out")" in-batch
  has "exit code" "$(scontrol show job "$j")" "ExitCode=6:0"
}
test_scancel() {
  # The trap's evidence goes to a host directory bound in: once the step is cancelled, srun may
  # stop relaying the step's output before the trap's line arrives (seen under load), and stdout
  # would not tell whether the signal came through.
  (rc=0; srun --container="$BT" /bin/sh -c 'trap "echo got-TERM >/trap/got-TERM; exit 7" TERM; echo started; sleep 60 & wait' >"$SW/a5.out" 2>&1 || rc=$?
   echo "rc=$rc" >>"$SW/a5.out") &
  wait_until 20 'grep -q started "$SW/a5.out"'
  scancel "$(squeue -h -o %i | head -1)"
  wait_until 40 'grep -q "^rc=" "$SW/a5.out"'
  cat "$SW/a5.out"
  # srun may return (its task, the runtime, is signalled too) before the container's trap has
  # written its evidence: give the trap time rather than race it.
  wait_until 10 '[ -s "$SW/trap/got-TERM" ]' || true
  # (shown only when the test fails: which runtime commands Slurm ran, and what is left)
  tail -n 5 "$ARGV_LOG"
  ls -la "$SW/trap"
  eq "SIGTERM reached the container's trap" "$(cat "$SW/trap/got-TERM" 2>/dev/null)" got-TERM
  has "step cancelled" "$(cat "$SW/a5.out")" CANCELLED
  wait
}
test_rootless_user() {
  rc=0; out=$(runuser -u nobody -- env SLURM_CONF="$SLURM_CONF" srun --container="$BR" /bin/sh -c 'id -u; cat /proc/self/uid_map' 2>&1) || rc=$?
  # runc's --rootless=true carries on when it may not create the job's cgroups (Slurm runs the
  # runtime as the job's user); a runtime that stops there cannot run this job at all
  if [ "$rc" != 0 ] && [[ $out == *"create cgroup"*"permission denied"* ]]; then
    skip_test "$RT --rootless=true does not ignore cgroup permission errors yet: $out"
  fi
  eq "exit status" "$rc" 0
  like "root in the container" "$out" '^0$'
  like "mapped to nobody" "$out" '^ *0 +65534 +1$'
  like "ran as nobody" "$(cat "$ARGV_LOG")" "^uid=65534 argv: .*\[run\] \[$NODE\.nobody\."
}
test_mckernel() {
  mck_ready
  # the job's environment reaches the container: the emulated mcexec's state and report
  rc=0; MKRUN_IHK_EMULATOR_STATE=$MCK_STATE MCEXEC_EMULATOR_REPORT=1 \
    srun --container="$BM" /bin/sh -c 'echo on-lwk; exit 6' >"$SW/mck.out" 2>"$SW/mck.err" || rc=$?
  mck_assert_ran "$rc" 6 "$SW/mck.out" "$SW/mck.err" on-lwk
}
# Slurm 22.05 runs one container per step and node in the RunTimeRun style ("unexpected number of
# tasks 4 > 1" for srun -n 4): ranks in containers are steps of their own here, two at a time
# (two CPUs). Each is a container on the job's instance.
test_mckernel_ranks() {
  mck_ready
  mkdir -p "$MCK_DIR/procs"; chmod 1777 "$MCK_DIR/procs"
  /usr/bin/python3 "$ENG_HERE/mckernel-node.py" admin-up "$MCK_DIR"
  local r pids=() rcs=()
  for r in 0 1; do
    MKRUN_IHK_EMULATOR_STATE=$MCK_STATE MCEXEC_EMULATOR_REPORT=1 MCEXEC_EMULATOR_PROCS=$MCK_DIR/procs \
      srun -n 1 --container="$BMR" /bin/sh -c "echo rank=$r start; sleep 2; echo rank=$r end" \
      >"$SW/rank$r.out" 2>"$SW/rank$r.err" &
    pids+=($!)
  done
  # both containers at once on the instance (the runtime lists two)
  local both=0
  wait_until 10 '[ "$("$RT" --root "$RTROOT" list -q | wc -l)" = 2 ]' && both=1
  for r in 0 1; do rc=0; wait "${pids[$r]}" || rc=$?; rcs+=("$rc"); done
  /usr/bin/python3 "$ENG_HERE/mckernel-node.py" admin-down "$MCK_DIR"
  cat "$SW"/rank*.out "$SW"/rank*.err
  eq "exit statuses" "${rcs[*]}" "0 0"
  for r in 0 1; do
    eq "rank $r ran" "$(cat "$SW/rank$r.out")" "$(printf 'rank=%s start\nrank=%s end' $r $r)"
    like "rank $r through mcexec on instance 5" "$(cat "$SW/rank$r.err")" '^mcexec: os=5 '
  done
  eq "both containers ran at once" "$both" 1
  eq "IHK untouched: the instance is the administrator's" "$(mck_calls)" ""
}
# CDI: the annotation in the bundle's config.json (Slurm passes the bundle's annotations on),
# the spec in the directory RunTimeRun names
cdi_bundle() {  # cdi_bundle DIR DEVICE: a copy of the root bundle asking for DEVICE
  mkdir -p "$1"; cp -a "$B/rootfs" "$1/"
  jq --arg d "$2" '.annotations["cdi.k8s.io/engine-test"] = $d' "$B/config.json" >"$1/config.json"
}
test_cdi() {
  cdi_spec "$CDI/engine-test.json" engine.test/slurm
  cdi_bundle "$SW/bundles/busybox-cdi" engine.test/slurm=fuse
  out=$(srun --container="$SW/bundles/busybox-cdi" /bin/sh -c "$CDI_PROBE")
  cdi_seen "$out" engine.test/slurm
}
test_cdi_unknown() {
  cdi_spec "$CDI/engine-test.json" engine.test/slurm
  cdi_bundle "$SW/bundles/busybox-cdi-unknown" engine.test/slurm=nope
  rc=0; out=$(srun --container="$SW/bundles/busybox-cdi-unknown" /bin/sh -c "$CDI_PROBE" 2>&1) || rc=$?
  echo "$out"
  cdi_refused "$rc" "$out" engine.test/slurm
}

# A job's lifetime: the prolog boots an instance for nobody's job (partition mck) sized from its
# allocation, the job's step runs as nobody in a rootless container attached to it, the epilog
# tears it down.
test_mckernel_job() {
  mck_ready
  mkdir -p "$MCK_DIR/procs"; chmod 1777 "$MCK_DIR/procs"
  rc=0; runuser -u nobody -- env SLURM_CONF="$SLURM_CONF" MKRUN_IHK_EMULATOR_STATE="$MCK_STATE" \
    MCEXEC_EMULATOR_REPORT=1 MCEXEC_EMULATOR_PROCS="$MCK_DIR/procs" \
    srun -p mck -c 2 --container="$BMJ" /bin/sh -c 'echo step; id -u; stat -c "%u %a" /dev/mcos0' \
    >"$SW/job.out" 2>"$SW/job.err" || rc=$?
  # the epilog runs after the job is over, when srun may have returned already
  wait_until 20 'grep -q "^epilog " "$SW/log/mkrun-lwk.log" && [ -z "$(ls /dev/mcos* 2>/dev/null)" ]' || true
  cat "$SW/job.out" "$SW/job.err" "$SW/log/mkrun-lwk.log"
  eq "exit status" "$rc" 0
  eq "the step ran as nobody (root in its user namespace) on the job's instance, given to nobody" \
    "$(cat "$SW/job.out")" "$(printf 'step\n0\n0 600')"
  like "through mcexec on instance 0" "$(cat "$SW/job.err")" '^mcexec: os=0 '
  like "the prolog booted for nobody" "$(cat "$SW/log/mkrun-lwk.log")" '^prolog uid=0 job=[0-9]+ user=65534 partition=mck$'
  like "the epilog ran" "$(cat "$SW/log/mkrun-lwk.log")" '^epilog uid=0 job=[0-9]+ '
  like "the step's runtime ran as nobody" "$(cat "$ARGV_LOG")" "^uid=65534 argv: .*\[run\] \[$NODE\.nobody\."
  # Slurm gave the job CPUs 0-1 (its ids are Linux's on the emulated node's flat topology): CPU 0
  # stays with Linux for mcexec and takes McKernel's interrupts, McKernel gets CPU 1; Slurm
  # tracks no memory here (CR_Core), so the host's default 512M, on CPU 1's NUMA node
  like "the prolog sized the instance from the job's allocation" "$(cat "$SW/log/mkrun-lwk.log")" \
    '^job [0-9]+: McKernel instance 0 on CPUs 1, memory 512M@0, for uid 65534$'
  eq "IHK calls: the prolog's boot, the epilog's teardown, none from the step" "$(mck_calls)" \
    "$(mck_expected_calls 1 536870912@0 1:0)"
}
test_nothing_left() {
  eq "containers in the runtime root" "$("$RT" --root "$RTROOT" list -q 2>/dev/null)" ""
  eq "state dirs" "$(ls -A "$RTROOT")" ""
}
test_clean() {
  eq "processes left" "$(pids_with_arg "$SW/")" ""
  for f in "$SW/slurmd.pid" "$SW/slurmctld.pid" "$SW/munge/munged.pid"; do
    p=$(cat "$f" 2>/dev/null || true)
    [ -z "$p" ] || ! kill -0 "$p" 2>/dev/null || { echo "still running: $f = $p"; false; }
  done
  eq "mounts left" "$(mounts_below "$WORK")" ""
  [ "$HAD_SLURM_CG" = 1 ] || eq "slurm cgroups" "$(cgroups_left "slurm_$NODE")" ""
}

[ -z "$ENG_SKIP_ALL" ] && start_slurm
eng_export
t "munged, slurmctld, slurmd up; plain srun" test_up
t "srun --container (root): stdout/stderr, exit status 3, pid 1" test_srun_root
t "srun --container: command resolved in the container's PATH" test_srun_path
t "runtime argv: --rootless=true --root=R run ID -b BUNDLE/, state ID" test_argv
t "sbatch --container: output file, ExitCode 6" test_sbatch
t "scancel: SIGTERM reaches the container" test_scancel
t "srun --container as nobody (rootless bundle, user namespace)" test_rootless_user
t "CDI: cdi.k8s.io/ annotation in the bundle, spec dir in RunTimeRun: node, device rule, env, ro bind" test_cdi
t "CDI: an unknown device fails the step with mkrun's message" test_cdi_unknown
mck_begin
t "McKernel: srun --container, annotation in the bundle: exit 6 through mcexec, IHK boot and teardown" test_mckernel
t "McKernel: two ranks (steps) share an attached instance at once" test_mckernel_ranks
t "McKernel: a job's instance from the prolog, a rootless step of nobody on it, the epilog's teardown" test_mckernel_job
t "McKernel: the emulated node is exactly as before" test_mck_node_restored
mck_end
t "no container or state left in the runtime root" test_nothing_left
eng_teardown
t "teardown: no daemon, mount or cgroup left" test_clean
finish
