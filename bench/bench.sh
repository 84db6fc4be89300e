#!/usr/bin/env bash
# mkrun vs runc vs crun, side by side in one run, on one busybox bundle made here.
#   - `run` of /bin/true: median wall time (hyperfine -N --warmup 3 --runs N)
#   - create + start + delete --force cycle: median wall time per cycle
#   - peak RSS of `run` (/usr/bin/time, includes the runtime's init)
#   - RSS of the init of a container waiting in the `created` state (VmRSS of the state pid)
#   - a node full of ranks (bench/ranks.py): RANKS containers (default "64 256") created at
#     once, started at once, each `sh -c 'echo $$'`, deleted at once: wall time, peak memory
#     taken from the host, failures and leftovers
# and the ratios mkrun/crun and mkrun/runc.  Builds nothing: mkrun must already be built
# (its rows are left out with a note when it is not).
#
# crun 1.8 refuses hybrid cgroup hosts (cgroup2 with controllers at /sys/fs/cgroup/unified).
# On such a host two tables are printed:
#   host        as is; crun goes through a private mount namespace where the cgroup2 mount is
#               gone (unshare -m + umount), which costs it a few ms per create/run
#   private-ns  all three runtimes inside ONE such namespace (pure cgroup v1): crun native
#
# usage: sudo bench/bench.sh [N]          N: hyperfine runs and cycles (default 50)
# env:   MKRUN (default build/mkrun)  RUNC (/usr/sbin/runc)  CRUN (/usr/bin/crun)
#        RSS_RUNS (5)  RANKS ("64 256")  BENCH_JSON=file to also save the JSON (keep results out of git)
#        RUNS (1): repeat the whole comparison, then the median and range of each ratio over the
#        runs against issue 14's targets (bench/summarize.py)
#        MCKERNEL=1: also McKernel's start times on the IHK emulator (bench/mckernel.sh, its own
#        table; needs the emulator built next to mkrun; about 3 minutes with its 2 s boots)
# output: markdown tables on stdout, then the JSON.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
MKRUN=${MKRUN:-$REPO/build/mkrun}
RUNC=${RUNC:-/usr/sbin/runc}
CRUN=${CRUN:-/usr/bin/crun}
if [ "${1:-}" != --inner ]; then N=${1:-${N:-50}}; fi
export N RSS_RUNS=${RSS_RUNS:-5} RANKS=${RANKS:-64 256}
case "$N" in ''|*[!0-9]*) echo "bench: N must be a number" >&2; exit 2 ;; esac

# --- inner mode: called by the outer run inside the private mount namespace ---------------
if [ "${1:-}" = --inner ]; then
  :
elif [ -z "${BENCH_REAPED:-}" ]; then
  # Containers started by create/start re-parent to the nearest subreaper; without one they
  # go to PID 1, which may reap slowly.  Run under a tiny subreaper that reaps them.
  [ "$(id -u)" -eq 0 ] || { echo "bench: run as root" >&2; exit 1; }
  for t in hyperfine jq /usr/bin/time unshare /usr/bin/python3; do
    command -v "$t" >/dev/null || { echo "bench: $t missing (packaging/install-deps.sh)" >&2; exit 1; }
  done
  export BENCH_REAPED=1
  exec /usr/bin/python3 -c '
import ctypes, os, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)          # PR_SET_CHILD_SUBREAPER
child = os.fork()
if child == 0:
    os.execv("/bin/bash", ["bash"] + sys.argv[1:])
while True:                                      # reap orphans; exit with the script status
    pid, st = os.wait()
    if pid == child:
        sys.exit(os.waitstatus_to_exitcode(st) & 0xff)
' "$0" "$@"
fi

log() { echo "bench: $*" >&2; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "null"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

hybrid() {
  [ -f /sys/fs/cgroup/unified/cgroup.controllers ] && [ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers)" ]
}

make_bundle() {  # $1 dir: busybox-static rootfs + runc's spec template, args /bin/true
  local b=$1
  mkdir -p "$b/rootfs/bin"
  cp "$(command -v busybox)" "$b/rootfs/bin/busybox"
  file -L "$b/rootfs/bin/busybox" | grep -q 'statically linked' || { log "busybox is not static (apt-get install busybox-static)"; exit 1; }
  chroot "$b/rootfs" /bin/busybox --install -s /bin
  (cd "$b" && "$RUNC" spec)
  jq '.process.terminal=false | .process.args=["/bin/true"]' "$b/config.json" > "$b/c.json"
  mv "$b/c.json" "$b/config.json"
  # The ranks' bundle: the same rootfs, each printing its pid in its own pid namespace.
  mkdir -p "$b-ranks"
  jq --arg root "$b/rootfs" '.root.path=$root | .process.args=["sh", "-c", "echo $$"]' \
    "$b/config.json" > "$b-ranks/config.json"
}

# measure LABEL OUT.json NAME=CMD...   (CMD: runtime command line without --root; CREATE_<NAME>
# may override the command used for create/run, e.g. crun through the namespace wrapper)
measure() {
  local label=$1 out=$2; shift 2
  local B=$T/bundle specs=("$@") hf=() name cmd runcmd v i t0 t1 pid rss
  for s in "${specs[@]}"; do
    name=${s%%=*} cmd=${s#*=} v=CREATE_${s%%=*}
    runcmd=${!v:-$cmd}
    hf+=(-n "$name" "$runcmd --root $T/root-$label-$name run --bundle $B hf-$name")
  done
  log "[$label] hyperfine: run of /bin/true, $N runs each"
  hyperfine -N --warmup 3 --runs "$N" --export-json "$T/hf-$label.json" "${hf[@]}" </dev/null >&2

  echo '{}' > "$out"
  for s in "${specs[@]}"; do
    name=${s%%=*} cmd=${s#*=} v=CREATE_${s%%=*}
    runcmd=${!v:-$cmd}
    local root="$T/root-$label-$name" times=() rsss=()
    log "[$label] $name: $N create+start+delete cycles"
    for ((i = 0; i < N; i++)); do
      t0=${EPOCHREALTIME/./}
      $runcmd --root "$root" create --bundle "$B" "cyc-$i" </dev/null >/dev/null 2>&1
      $cmd --root "$root" start "cyc-$i" </dev/null >/dev/null
      $cmd --root "$root" delete --force "cyc-$i" </dev/null >/dev/null
      t1=${EPOCHREALTIME/./}
      times+=($((t1 - t0)))
    done
    log "[$label] $name: peak RSS of run ($RSS_RUNS runs), RSS of a created init"
    for ((i = 0; i < RSS_RUNS; i++)); do
      rsss+=("$(/usr/bin/time -f %M $runcmd --root "$root" run --bundle "$B" "rss-$i" </dev/null 2>&1 >/dev/null | tail -1)")
    done
    $runcmd --root "$root" create --bundle "$B" rss-init </dev/null >/dev/null 2>&1
    pid=$($cmd --root "$root" state rss-init | jq .pid)
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
    $cmd --root "$root" delete --force rss-init </dev/null >/dev/null
    local ranks='{}' count
    for count in $RANKS; do
      log "[$label] $name: $count ranks at once"
      ranks=$(jq --arg c "$count" --argjson r "$(/usr/bin/python3 "$HERE/ranks.py" "$runcmd" "$T/root-$label-ranks-$name" "$B-ranks" "$count")" \
        '.[$c] = $r' <<<"$ranks")
    done
    jq --arg n "$name" --arg cmd "$runcmd" --argjson ranks "$ranks" \
       --argjson run "$(jq --arg n "$name" '.results[] | select(.command == $n) | .median * 100000 | round / 100' "$T/hf-$label.json")" \
       --argjson runmean "$(jq --arg n "$name" '.results[] | select(.command == $n) | .mean * 100000 | round / 100' "$T/hf-$label.json")" \
       --argjson cycle "$(printf '%s\n' "${times[@]}" | median | awk '{print $1 / 1000}')" \
       --argjson peak "$(printf '%s\n' "${rsss[@]}" | median)" \
       --argjson init "${rss:-null}" \
       '.[$n] = {command: $cmd, run_median_ms: $run, run_mean_ms: $runmean, cycle_median_ms: $cycle,
                 run_peak_rss_kib: $peak, created_init_rss_kib: $init, ranks: $ranks}' "$out" > "$out.tmp"
    mv "$out.tmp" "$out"
  done
}

if [ "${1:-}" = --inner ]; then
  # inside `unshare -m --propagation private`: hide cgroup2 so crun sees pure cgroup v1
  umount /sys/fs/cgroup/unified
  T=$2 OUT=$3
  shift 3
  measure private-ns "$OUT" "$@"
  exit 0
fi

# RUNS>1: the whole comparison that many times, each run's tables as it ends, then the median
# and range of the ratios over the runs (bench/summarize.py) and their JSON files
if [ "${RUNS:-1}" -gt 1 ]; then
  RUNS_DIR=$(mktemp -d /tmp/bench-runs.XXXXXX)
  for ((run = 1; run <= RUNS; run++)); do
    log "run $run of $RUNS"
    RUNS=1 BENCH_JSON="$RUNS_DIR/run$run.json" bash "$0" "$N"
  done
  echo
  /usr/bin/python3 "$HERE/summarize.py" "$RUNS_DIR"/run*.json
  log "the runs' JSON: $RUNS_DIR"
  exit 0
fi

T=$(mktemp -d /tmp/mkrun-bench.XXXXXX)
cleanup() {
  local r c
  for r in "$T"/root-*; do
    [ -d "$r" ] || continue
    for c in "$r"/*; do
      [ -e "$c" ] || continue
      case "$r" in *-crun) "$CRUN" --root "$r" delete --force "${c##*/}" ;; *-runc) "$RUNC" --root "$r" delete --force "${c##*/}" ;;
                   *) "$MKRUN" --root "$r" delete --force "${c##*/}" ;; esac >/dev/null 2>&1 || true
    done
  done
  rm -rf "$T"
  # crun, with cgroup2 unmounted under it, makes its "unified" directories in the tmpfs below
  # that mount point (the host's /sys/fs/cgroup tmpfs, hidden there by the cgroup2 mount).
  if hybrid; then
    unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified &&
      [ "$(stat -f -c %T /sys/fs/cgroup/unified)" = tmpfs ] && cd /sys/fs/cgroup/unified &&
      rm -rf -- cyc-* hf-crun pre-crun rank* rss-*' || true
  fi
}
trap cleanup EXIT
export T
log "scratch dir $T"
make_bundle "$T/bundle" >/dev/null

specs=()
if [ -x "$MKRUN" ]; then specs+=("mkrun=$MKRUN"); HAVE_MKRUN=1; else HAVE_MKRUN=0; log "no mkrun at $MKRUN: its rows are skipped"; fi
specs+=("runc=$RUNC" "crun=$CRUN")

if hybrid; then
  # crun as is would fail: "cgroups in hybrid mode not supported"
  cat > "$T/crun-nohybrid" <<EOF
#!/bin/sh
exec unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec "\$0" "\$@"' "$CRUN" "\$@"
EOF
  chmod +x "$T/crun-nohybrid"
  export CREATE_crun="$T/crun-nohybrid"
fi
# preflight: a runtime whose `run` fails here is left out (with a note) instead of aborting
NOTES=()
ok_specs=()
for s in "${specs[@]}"; do
  name=${s%%=*} cmd=${s#*=} v=CREATE_${s%%=*}
  if err=$(${!v:-$cmd} --root "$T/root-preflight-$name" run --bundle "$T/bundle" "pre-$name" </dev/null 2>&1 >/dev/null); then
    ok_specs+=("$s")
  else
    NOTES+=("$name left out: \`run\` failed: $(echo "$err" | tail -1)")
    log "${NOTES[-1]}"
    [ "$name" = mkrun ] && HAVE_MKRUN=0
  fi
done
[ ${#ok_specs[@]} -gt 0 ] || { log "no runtime works"; exit 1; }
measure host "$T/host.json" "${ok_specs[@]}"
unset CREATE_crun
if hybrid; then
  unshare -m --propagation private bash "$0" --inner "$T" "$T/ns.json" "${ok_specs[@]}"
fi

# --- report ----------------------------------------------------------------------------
table() {  # $1 label, $2 json
  local j=$2
  echo
  echo "### $1"
  echo
  echo "| metric | mkrun | runc | crun | mkrun/crun | mkrun/runc |"
  echo "|---|---|---|---|---|---|"
  jq -r '
    def f: if . == null then "–" elif . >= 100 then (. | round | tostring) else ((. * 10 | round) / 10 | tostring) end;
    def ratio(a; b): if a == null or b == null or b == 0 then "–" else ((a / b * 100 | round) / 100 | tostring) end;
    [["run /bin/true, median (ms)", ["run_median_ms"]],
     ["create+start+delete, median (ms)", ["cycle_median_ms"]],
     ["peak RSS of run (KiB)", ["run_peak_rss_kib"]],
     ["RSS of created init (KiB)", ["created_init_rss_kib"]]] as $rows
    | ($rows + [(.mkrun.ranks // .runc.ranks // {} | keys[]) as $c
        | (["\($c) ranks at once: wall (ms)", ["ranks", $c, "wall_ms"]],
           ["\($c) ranks at once: peak memory (KiB)", ["ranks", $c, "peak_memory_kib"]],
           ["\($c) ranks at once: failures + leftovers", ["ranks", $c, "problems"]])])[]
    as [$title, $p]
    | def at(r): if $p[-1] == "problems" then (r | getpath($p[:-1]) | if . == null then null
        else .failure_count + (.left_behind | length) end) else (r | getpath($p)) end;
      "| \($title) | \(at(.mkrun) | f) | \(at(.runc) | f) | \(at(.crun) | f) | \(ratio(at(.mkrun); at(.crun))) | \(ratio(at(.mkrun); at(.runc))) |"
  ' "$j"
}

echo "## mkrun benchmark: $(uname -r), $(nproc) CPUs, N=$N, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
if [ "$HAVE_MKRUN" != 1 ] && [ ! -x "$MKRUN" ]; then NOTES+=("mkrun not built ($MKRUN)"); fi
for note in "${NOTES[@]}"; do echo; echo "_${note}: its column is empty._"; done
if hybrid; then
  table "host as is (hybrid cgroups; crun through a private mount namespace wrapper)" "$T/host.json"
  table "inside one private mount namespace without cgroup2 (pure v1; crun native)" "$T/ns.json"
  JSON=$(jq -n --slurpfile h "$T/host.json" --slurpfile n "$T/ns.json" \
    --arg k "$(uname -r)" --argjson cpus "$(nproc)" --argjson runs "$N" \
    '{kernel: $k, cpus: $cpus, runs: $runs, host: $h[0], private_ns: $n[0]}')
else
  table "host" "$T/host.json"
  JSON=$(jq -n --slurpfile h "$T/host.json" --arg k "$(uname -r)" --argjson cpus "$(nproc)" --argjson runs "$N" \
    '{kernel: $k, cpus: $cpus, runs: $runs, host: $h[0]}')
fi
if [ "${MCKERNEL:-0}" = 1 ]; then
  echo
  bash "$HERE/mckernel.sh" 20 || log "bench/mckernel.sh failed"
fi
echo
echo '```json'
echo "$JSON"
echo '```'
if [ -n "${BENCH_JSON:-}" ]; then echo "$JSON" > "$BENCH_JSON"; log "JSON saved to $BENCH_JSON"; fi
