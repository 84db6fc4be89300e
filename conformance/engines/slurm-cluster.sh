#!/usr/bin/env bash
# A Slurm 22.05 cluster of four nodes on one host: a job step with a container of $ENGINE_RT on
# every node at once, on Linux and with McKernel on the IHK emulator (an instance per node), every
# node clean after; an MPI job (Debian's Open MPI over Slurm's PMIx plugin) on the nodes, and the
# same in containers, which Slurm 22.05 cannot start (see mpi_in_containers: skipped with why).
# usage: ENGINE_RT=/abs/path/mkrun conformance/engines/slurm-cluster.sh   (or run.sh slurm-cluster)
#
# The cluster: network namespaces this file creates (names mkrun-sc<pid>-*), a bridge in the
# controller's, one veth into each node's, addresses 10.213.0.0/24 only in there. slurmctld and
# each slurmd run in their namespace with a hostname of their own (UTS namespace) and a mount
# namespace of their own in which the node's spool, TmpFS and runtime --root are the node's own
# directories (bound over $SW/spool, $SW/tmp, $SW/rt-root: slurm.conf and oci.conf are the same on
# every node, as on a real cluster) and /etc/hosts names the cluster's hosts. munged is the host's
# one (its socket is a path, reachable from every namespace). Clients (srun, sinfo) run in the
# controller's namespace, as on a login node.
#
# Slurm 22.05 runs one container per step and node (RunTimeRun style; "unexpected number of tasks"
# for more tasks than nodes), so the job has one task per node: `srun -N 4 -n 4 --container`.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
eng_begin slurm-cluster slurmctld slurmd srun munged mungekey runc ip nsenter unshare mpicc

SW=$WORK/slurm
export SLURM_CONF=$SW/slurm.conf
NODES=(node1 node2 node3 node4)
NS=mkrun-sc$$-             # network namespaces: ${NS}ctl and ${NS}<node>
NET=10.213.0
CTLD_PORT=16827 SLURMD_PORT=16828
RTROOT=$SW/rt-root         # every node's --root path; each node has its own directory there
BMPI=$SW/bundles/mpi       # the MPI program on a busybox rootfs, the host's /usr bound read-only
BMPIK=$SW/bundles/mpi-mck  # the same for McKernel
BJ=$SW/bundles/job         # busybox on the node's network and hostname, $SW/shared bound at /shared
BJK=$SW/bundles/job-mck    # the same for McKernel
SNIPPET=$ENG_REPO/packaging/snippets/oci.conf
export SW NS NET CTLD_PORT SLURMD_PORT RTROOT BMPI BMPIK BJ BJK SNIPPET
export NODE_LIST="${NODES[*]}"
mck_paths "$WORK/mckernel"

node_ip() {  # node_ip NODE: its address (node<i> is .1<i>; the controller is .1)
  [ "$1" = ctl ] && echo "$NET.1" || echo "$NET.1${1#node}"
}
# in_ns HOST COMMAND...: run COMMAND as host HOST of the cluster: its network namespace, its
# hostname, its spool, tmp and runtime root, the cluster's /etc/hosts. A script that execs down
# to COMMAND, so that a daemon started with it is its own pid. (nsenter, not `ip netns exec`:
# that mounts a sysfs of its own over /sys, and slurmd needs /sys/fs/cgroup.)
write_in_ns() {
  mkdir -p "$SW/bin"
  cat >"$SW/bin/in-ns" <<EOF
#!/bin/sh
h=\$1; shift
exec nsenter --net="/run/netns/$NS\$h" unshare --uts --mount --propagation private /bin/sh -c '
  set -e; h=\$1; shift
  hostname "\$h"
  mount --bind "$SW/hosts" /etc/hosts
  for d in spool tmp rt-root; do mount --bind "$SW/nodes/\$h/\$d" "$SW/\$d"; done
  exec "\$@"' in-ns "\$h" "\$@"
EOF
  chmod 755 "$SW/bin/in-ns"
}
in_ns() { "$SW/bin/in-ns" "$@"; }
# on the controller (a login node): the Slurm clients
ctl() { in_ns ctl "$@"; }

make_network() {
  ip netns add "${NS}ctl"
  cleanup "ip netns del '${NS}ctl'"
  cleanup "for p in \$(ip netns pids '${NS}ctl'); do stop_pid \$p 10; done"
  ip -n "${NS}ctl" link set lo up
  ip -n "${NS}ctl" link add br0 type bridge
  ip -n "${NS}ctl" addr add "$NET.1/24" dev br0
  ip -n "${NS}ctl" link set br0 up
  local n
  for n in "${NODES[@]}"; do
    ip netns add "$NS$n"
    cleanup "ip netns del '$NS$n'"
    cleanup "for p in \$(ip netns pids '$NS$n'); do stop_pid \$p 10; done"
    ip -n "$NS$n" link set lo up
    ip -n "${NS}ctl" link add "$n" type veth peer name eth0 netns "$NS$n"
    ip -n "${NS}ctl" link set "$n" master br0 up
    ip -n "$NS$n" addr add "$(node_ip "$n")/24" dev eth0
    ip -n "$NS$n" link set eth0 up
  done
  # what identifies the namespaces once they have no name: no process may be left in them
  for n in ctl "${NODES[@]}"; do stat -L -c %i "/run/netns/$NS$n"; done >"$SW/netns-inodes"
}
# processes in the cluster's network namespaces, named or not
pids_in_cluster() {
  local p
  for p in /proc/[0-9]*; do
    grep -qxF "$(readlink "$p/ns/net" 2>/dev/null | tr -dc 0-9)" "$SW/netns-inodes" 2>/dev/null &&
      echo "${p#/proc/} $(tr '\0' ' ' <"$p/cmdline")"
  done
  return 0
}

write_slurm_conf() {
  local n
  {
    echo "127.0.0.1 localhost"
    for n in ctl "${NODES[@]}"; do echo "$(node_ip "$n") $n"; done
  } >"$SW/hosts"
  cat >"$SLURM_CONF" <<EOF
ClusterName=mkrun-cluster
SlurmctldHost=ctl($NET.1)
$(slurm_daemon_settings)
StateSaveLocation=$SW/state
SlurmdSpoolDir=$SW/spool
TmpFS=$SW/tmp
SlurmctldPidFile=$SW/slurmctld.pid
SlurmdPidFile=$SW/nodes/%n/slurmd.pid
SlurmctldLogFile=$SW/log/slurmctld.log
SlurmdLogFile=$SW/log/slurmd-%n.log
$(slurm_common_settings)
EOF
  local hardware
  hardware=$(slurmd -C | head -1 | sed 's/^NodeName=[^ ]* //')   # every node is this host
  for n in "${NODES[@]}"; do
    echo "NodeName=$n NodeAddr=$(node_ip "$n") NodeHostname=$n $hardware State=UNKNOWN" >>"$SLURM_CONF"
  done
  echo "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP" >>"$SLURM_CONF"
  sed -e "s|/usr/bin/mkrun|$RT|g" -e "s|/run/mkrun-slurm|$RTROOT|g" "$SNIPPET" >"$SW/oci.conf"
}

# the MPI program: every rank prints its rank, the size, its host, the host of the rank before
# it (a message from another node) and the sum of all ranks (a collective over every node)
build_mpi_program() {
  mkdir -p "$SW/mpi"
  cat >"$SW/mpi/hello.c" <<'EOF'
#include <mpi.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 0, sum = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  char host[64] = {0}, before[64] = {0};
  gethostname(host, sizeof host - 1);
  MPI_Sendrecv(host, sizeof host, MPI_CHAR, (rank + 1) % size, 0, before, sizeof before, MPI_CHAR,
               (rank + size - 1) % size, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  printf("rank %d of %d on %s, rank %d on %s, sum %d\n", rank, size, host,
         (rank + size - 1) % size, before, sum);
  MPI_Finalize();
  return 0;
}
EOF
  mpicc -O1 -o "$SW/mpi/hello" "$SW/mpi/hello.c"
}

# The bundles: busybox, the program, the host's /usr (Open MPI, PMIx and their libraries) and
# /etc/openmpi read-only; the node's network and hostname (no network or UTS namespace: the ranks
# talk over the nodes' addresses); the node's spool and TmpFS, where Slurm's PMIx server keeps
# what its clients attach to.
make_bundles() {
  mkdir -p "$BMPI"; make_rootfs "$BMPI/rootfs"
  (cd "$BMPI/rootfs" && mkdir -p usr etc/openmpi && ln -s usr/lib lib && ln -s usr/lib64 lib64)
  cp "$SW/mpi/hello" "$BMPI/rootfs/bin/mpi-hello"
  (cd "$BMPI" && runc spec)
  local base
  base=$(jq --arg sw "$SW" '.process.terminal = false
      | .linux.namespaces |= map(select(.type != "network" and .type != "uts")) | del(.hostname)
      | .mounts += [{destination: "/usr", source: "/usr", type: "bind", options: ["rbind", "ro"]},
                    {destination: "/etc/openmpi", source: "/etc/openmpi", type: "bind", options: ["rbind", "ro"]},
                    {destination: ($sw + "/spool"), source: ($sw + "/spool"), type: "bind", options: ["rbind", "rw"]},
                    {destination: ($sw + "/tmp"), source: ($sw + "/tmp"), type: "bind", options: ["rbind", "rw"]}]' \
    "$BMPI/config.json")
  echo "$base" >"$BMPI/config.json"
  mkdir -p "$BMPIK"; cp -a "$BMPI/rootfs" "$BMPIK/"
  echo "$base" | mckernel_bundle >"$BMPIK/config.json"
  # the job without MPI: a barrier in a directory every node's container shares
  mkdir -p "$BJ" "$BJK" "$SW/shared"; cp -a "$BMPI/rootfs" "$BJ/"; cp -a "$BMPI/rootfs" "$BJK/"
  jq --arg d "$SW/shared" '.process.terminal = false
      | .linux.namespaces |= map(select(.type != "network" and .type != "uts")) | del(.hostname)
      | .mounts += [{destination: "/shared", source: $d, type: "bind", options: ["rbind", "rw"]}]' \
    "$BMPI/config.json" >"$BJ/config.json"
  mckernel_bundle <"$BJ/config.json" >"$BJK/config.json"
}
# McKernel: the annotation, the emulated node bound in read-only
mckernel_bundle() {
  jq --arg d "$MCK_DIR" '.annotations["io.mkrun.kernel"] = "mckernel"
      | .mounts += [{destination: $d, source: $d, type: "bind", options: ["rbind", "ro"]}]'
}

start_cluster() {
  mkdir -p "$SW"/{munge,state,log,bundles,spool,tmp,rt-root}
  chmod 755 "$SW" "$SW/bundles"
  local n
  for n in ctl "${NODES[@]}"; do mkdir -p "$SW/nodes/$n"/{spool,tmp,rt-root}; done
  chown munge:munge "$SW/munge"; chmod 0755 "$SW/munge"
  write_in_ns
  write_slurm_conf
  build_mpi_program
  make_bundles
  cleanup 'for p in $(pids_with_arg "$SW/"); do echo "stray: $(tr "\0" " " </proc/$p/cmdline)"; stop_pid $p 5; done'
  runuser -u munge -- mungekey --create --keyfile="$SW/munge/munge.key"
  runuser -u munge -- munged --socket="$SW/munge/munge.socket.2" --key-file="$SW/munge/munge.key" \
    --pid-file="$SW/munge/munged.pid" --log-file="$SW/munge/munged.log" --seed-file="$SW/munge/munged.seed"
  cleanup 'stop_pid "$(cat "$SW/munge/munged.pid" 2>/dev/null)" 10'
  make_network
  (cd "$SW" && exec env -i PATH="$PATH" SLURM_CONF="$SLURM_CONF" "$SW/bin/in-ns" ctl slurmctld -D -i \
    >"$SW/log/slurmctld.out" 2>&1) &
  cleanup "stop_pid $! 20"
  local i
  for i in $(seq 50); do ctl scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.2; done
  for n in "${NODES[@]}"; do
    (cd "$SW" && exec env -i PATH="$PATH" SLURM_CONF="$SLURM_CONF" MKRUN_MCKERNEL_CONF="$MCK_CONF" \
      "$SW/bin/in-ns" "$n" slurmd -D -N "$n" >"$SW/log/slurmd-$n.out" 2>&1) &
    cleanup "stop_pid $! 20"
  done
  cleanup 'ctl scancel --full $(ctl squeue -h -o %i) 2>/dev/null; sleep 1'
  cleanup 'for n in $NODE_LIST; do for c in $("$RT" --root "$SW/nodes/$n/rt-root" list -q 2>/dev/null); do "$RT" --root "$SW/nodes/$n/rt-root" delete --force "$c"; done; done'
  for i in $(seq 100); do
    [ "$(ctl sinfo -h -o %t 2>/dev/null)" = idle ] && break; sleep 0.2
  done
}

# ---- tests ---------------------------------------------------------------------------------------
test_up() {
  # the daemons are the pids the teardown stops
  eq "daemons in the cluster's namespaces" "$(pids_in_cluster | awk '$2 ~ /^slurm(ctl)?d$/ {print $2}' | sort | uniq -c | tr -s ' ')" " 1 slurmctld
 4 slurmd"
  eq "nodes" "$(ctl sinfo -h -N -o '%N %t' | sort)" "$(printf '%s idle\n' $NODE_LIST)"
  eq "plain srun: every node's own hostname" "$(ctl srun -N 4 -n 4 -l hostname | sort)" \
    "$(printf '0: node1\n1: node2\n2: node3\n3: node4')"
  eq "the nodes' addresses" "$(ctl srun -N 4 -n 4 -l /bin/sh -c 'ip -4 -o addr show eth0 | awk "{print \$4}"' | sort)" \
    "$(printf '0: 10.213.0.11/24\n1: 10.213.0.12/24\n2: 10.213.0.13/24\n3: 10.213.0.14/24')"
}

test_one_container_per_node() {
  # Slurm 22.05's RunTimeRun: one task per node; more is refused by every slurmd ("unexpected
  # number of tasks 2 > 1" in its log), before the runtime runs
  rc=0; out=$(ctl srun -N 2 -n 4 --container="$BJ" hostname 2>&1) || rc=$?
  echo "$out"
  [ "$rc" -ne 0 ] || { echo "ASSERTION srun -N 2 -n 4 --container ran"; return 1; }
  has "refused at launch" "$out" "Task launch for StepId="
  like "the slurmd's reason" "$(cat "$SW"/log/slurmd-node*.log)" "unexpected number of tasks [0-9]+ > 1"
  eq "the runtime was not called" "$(find "$SW"/nodes/*/rt-root -mindepth 1)" ""
  # Slurm leaves its copy of the bundle for a launch it refused: its leftover, not the runtime's
  job=$(sed -n 's/.*StepId=\([0-9]*\)\.0 .*/\1/p' <<<"$out" | head -1)
  rm -rf "$SW"/nodes/node*/spool/"$(printf 'oci-job%05d-' "$job")"*
}

# the runtime's cgroups are named after the containers (no cgroupsPath), below slurmd's: the
# root cgroup here
cgroups_of_containers() { find /sys/fs/cgroup -maxdepth 3 -name 'node[0-9]*.root.*' 2>/dev/null; }
# JOB: every task (one per node) writes its host into /shared and waits until all have (the
# containers of all nodes run at once), then prints its host, all hosts, its address and uid (and stays a second more)
# shellcheck disable=SC2016,SC2089  # the container's shell expands it, its quotes are its own
JOB='h=$(hostname); touch /shared/$h; n=0
while [ "$(ls /shared | wc -l)" -lt 4 ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
echo "$h sees $(ls /shared | tr "\n" " ")at $(ip -4 -o addr show eth0 | awk "{print \$4}") uid $(id -u)"; sleep 1'
# shellcheck disable=SC2090
export JOB
job_lines() {  # what JOB prints on the four nodes, in node order
  local i
  for i in 1 2 3 4; do echo "node$i sees node1 node2 node3 node4 at $NET.1$i/24 uid 0"; done
}
test_job_linux() {
  rm -f "$SW"/shared/*
  start=$(date +%s.%N)
  ctl srun -N 4 -n 4 --container="$BJ" /bin/sh -c "$JOB" >"$SW/job.out" 2>"$SW/job.err" &
  # (so that the check of every node's cleanliness would see them left)
  wait_until 20 '[ "$(cgroups_of_containers | grep -c "/node[0-9]\.root\.[0-9.]*$")" -ge 4 ]' && cgroups=1 || cgroups=0
  rc=0; wait $! || rc=$?
  echo "srun -N 4 -n 4 --container: $(since "$start")s (a second of it in the job)"
  cat "$SW/job.out" "$SW/job.err"
  eq "exit status" "$rc" 0
  eq "the containers' cgroups, while they ran" "$cgroups" 1
  eq "every node's container, all at once" "$(sort "$SW/job.out")" "$(job_lines)"
}
test_job_mckernel() {
  mck_ready
  rm -f "$SW"/shared/*
  start=$(date +%s.%N)
  rc=0; MKRUN_IHK_EMULATOR_STATE=$MCK_STATE MCEXEC_EMULATOR_REPORT=1 \
    ctl srun -N 4 -n 4 -l --container="$BJK" /bin/sh -c "$JOB" >"$SW/jobk.out" 2>"$SW/jobk.err" || rc=$?
  echo "srun -N 4 -n 4 --container (McKernel): $(since "$start")s (a second of it in the job)"
  cat "$SW/jobk.out" "$SW/jobk.err"
  eq "exit status" "$rc" 0
  eq "every node's container, all at once" "$(sed 's/^[0-9]*: //' "$SW/jobk.out" | sort)" "$(job_lines)"
  # each task through the emulated mcexec on an instance of its own, booted at once
  eq "through mcexec, four instances" "$(sed -n 's/^[0-9]*: mcexec: os=\([0-9]*\) options= program=\/bin\/sh$/\1/p' "$SW/jobk.err" | sort | tr '\n' ' ')" "0 1 2 3 "
  calls=$(mck_calls)
  echo "$calls"
  for call in ihk_create_os ihk_os_boot ihk_os_shutdown ihk_destroy_os; do
    eq "$call: once per node" "$(grep -c "^$call(" <<<"$calls")" 4
  done
  eq "no IHK call failed" "$(grep -E ' = -[0-9]+$' <<<"$calls")" ""
}

# seconds since START (date +%s.%N), two decimals
since() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN{printf "%.2f", e-s}'; }
test_two_nodes() {
  start=$(date +%s.%N)
  out=$(ctl srun -N 2 -n 2 -l --container="$BJ" hostname)
  echo "srun -N 2 -n 2 --container hostname: $(since "$start")s"
  eq "each node's container, the node's hostname" "$(sort <<<"$out")" "$(printf '0: node1\n1: node2')"
}
test_pmix_offered() {
  has "Slurm's MPI plugins" "$(ctl srun --mpi=list 2>&1)" pmix
}
# mpi_ranks N: every rank's line, in rank order, as hello.c prints it with a rank per node
mpi_ranks() {
  local n=$1 r
  for ((r = 0; r < n; r++)); do
    echo "rank $r of $n on node$((r + 1)), rank $(((r + n - 1) % n)) on node$(((r + n - 1) % n + 1)), sum $((n * (n - 1) / 2))"
  done
}
# the cluster runs MPI: the same program on the nodes themselves, no container
test_mpi_bare() {
  out=$(ctl srun -N 4 -n 4 --mpi=pmix "$SW/mpi/hello")
  eq "every rank, on its own node" "$(sort -n -k2 <<<"$out")" "$(mpi_ranks 4)"
}
# mpi_in_containers BUNDLE OUT: the MPI job in containers; Slurm 22.05 gives the container (and
# the runtime) the step's environment only, not what the MPI plugin adds for each task
# (PMIX_RANK, PMIX_NAMESPACE, PMIX_SERVER_URI*; SLURM_PROCID too), so no rank can reach the PMIx
# server: skipped then, with the evidence
mpi_in_containers() {
  local bundle=$1 out=$2
  rc=0; ctl srun -N 4 -n 4 --mpi=pmix --container="$bundle" /bin/mpi-hello >"$out" 2>"$out.err" || rc=$?
  cat "$out" "$out.err"
  if [ "$rc" -ne 0 ] && grep -q "OMPI was not built with SLURM's PMI support" "$out.err"; then
    env=$(ctl srun -N 1 -n 1 --mpi=pmix --container="$bundle" /bin/sh -c 'env | grep -E "^(PMIX_|SLURM_PROCID=|SLURM_MPI_TYPE=)" | sort')
    if ! grep -q '^PMIX_RANK=' <<<"$env"; then
      skip_test "$(ctl srun --version): --container steps get no PMIx client environment (only: $(echo $env)), MPI_Init: OMPI was not built with SLURM's PMI support"
    fi
  fi
  eq "exit status" "$rc" 0
  eq "every rank, on its own node" "$(sort -n -k2 "$out")" "$(mpi_ranks 4)"
}
test_mpi_linux() { mpi_in_containers "$BMPI" "$SW/mpi.out"; }
test_mpi_mckernel() {
  mck_ready
  export MKRUN_IHK_EMULATOR_STATE=$MCK_STATE MCEXEC_EMULATOR_REPORT=1
  mpi_in_containers "$BMPIK" "$SW/mpik.out"
}

# every node is clean: no container, state, cgroup, oci bundle copy, PMIx directory or temp file
test_nodes_clean() {
  for n in $NODE_LIST; do
    eq "$n: containers" "$("$RT" --root "$SW/nodes/$n/rt-root" list -q)" ""
    eq "$n: runtime root" "$(ls -A "$SW/nodes/$n/rt-root")" ""
    eq "$n: spool (no oci-job or pmix directory)" \
      "$(find "$SW/nodes/$n/spool" -mindepth 1 -not -name 'cred_state*' -not -name hwloc_topo_whole.xml)" ""
    eq "$n: TmpFS" "$(ls -A "$SW/nodes/$n/tmp")" ""
  done
  eq "cgroups of the containers" "$(cgroups_of_containers)" ""
  # a step's last task may still be on its way out when srun returns: ten seconds to go
  wait_until 10 '[ -z "$(container_processes)" ]' || true
  eq "processes of the containers" "$(container_processes)" ""
}
# the processes that run the jobs' program or script (an argument that is exactly /bin/mpi-hello or
# JOB: a substring would also match other processes of a shared host, a CI's own scripts among
# them), one line each with its parent, state, cgroup and arguments (so that a failure shows who is left)
container_processes() {
  local dir pid ps
  for dir in /proc/[0-9]*; do
    runs_a_job "$dir/cmdline" || continue
    pid=${dir#/proc/}
    ps=$(ps -o pid=,ppid=,stat= -p "$pid") || continue  # gone meanwhile
    echo "$ps $(head -1 "$dir/cgroup" 2>/dev/null) $(tr '\0' ' ' <"$dir/cmdline" 2>/dev/null)"
  done
}
runs_a_job() {
  local args=() arg
  mapfile -d '' args <"$1" 2>/dev/null || return 1
  for arg in "${args[@]}"; do
    [ "$arg" = /bin/mpi-hello ] || [ "$arg" = "$JOB" ] && return 0
  done
  return 1
}
test_clean() {
  eq "processes left" "$(pids_with_arg "$SW/")" ""
  eq "processes in the cluster's network namespaces" "$(pids_in_cluster)" ""
  eq "network namespaces left" "$(ip netns list | grep -F "$NS")" ""
  eq "mounts left" "$(mounts_below "$WORK")" ""
  eq "cgroups left" "$(cgroups_of_containers)" ""
}

[ -z "$ENG_SKIP_ALL" ] && start_cluster
eng_export
t "four nodes up, each its own hostname and address; plain srun -N 4" test_up
t "srun -N 2 -n 4 --container: refused, one container per node and step (Slurm 22.05)" test_one_container_per_node
t "Linux: srun -N 2 -n 2 --container: a container on each of two nodes" test_two_nodes
t "Linux: srun -N 4 -n 4 --container, a task on each node, all at once" test_job_linux
t "Slurm offers PMIx (srun --mpi=list)" test_pmix_offered
t "MPI without containers: srun -N 4 -n 4 --mpi=pmix: every rank, a message from another node, a sum over all" test_mpi_bare
t "MPI on Linux: srun -N 4 -n 4 --mpi=pmix --container" test_mpi_linux
mck_begin
t "McKernel: srun -N 4 -n 4 --container, an instance per node, all at once" test_job_mckernel
t "McKernel MPI: srun -N 4 -n 4 --mpi=pmix --container" test_mpi_mckernel
t "McKernel: the emulated node is exactly as before" test_mck_node_restored
mck_end
t "every node clean: no container, state, cgroup, spool or temp file left" test_nodes_clean
eng_teardown
t "teardown: no daemon, namespace, mount or cgroup left" test_clean
finish
