#!/usr/bin/env bash
# The real callers: container engines driving the runtime under test.
#
# usage: sudo ENGINE_RT=/abs/path/mkrun conformance/engines/run.sh podman|containerd|docker|slurm|slurm-cluster|all ...
#   ENGINE_RT     the runtime the engines drive (absolute path; default <repo>/build/mkrun).
#                 ENGINE_RT=/usr/sbin/runc checks the tests themselves.
#   ENGINE_TESTS  extended regex on test names, e.g. 'exec|pause'
#   ENGINE_KEEP=1 keep the scratch dirs (configs, daemon logs, per-test logs); ENGINE_KEEP_ON_FAIL=1: after failures only
#   ENGINE_VERBOSE=1 print every test's log
#   ENGINE_TIMEOUT seconds per test (default 120)
# Each engine file (podman.sh, containerd.sh, docker.sh, slurm.sh, slurm-cluster.sh) also runs alone. Each starts its
# own daemon(s) with its own config and state under a scratch dir, and stops and removes everything
# it started at the end, also on failure or Ctrl-C. Needs root and the engines
# (sudo packaging/install-engine-deps.sh); an engine that is not installed is reported as skipped.
#
# Output: the engines' PASS/FAIL/SKIP lines, a per-engine summary with its duration, and as the last
# line "N passed, N failed[, N skipped]". Exit status 1 if anything failed.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ALL=(podman containerd docker slurm slurm-cluster)

[ $# -gt 0 ] || { sed -n '2,18p' "$0"; exit 2; }
engines=()
for a in "$@"; do
  case "$a" in
    all) engines+=("${ALL[@]}") ;;
    podman|containerd|docker|slurm|slurm-cluster) engines+=("$a") ;;
    *,*) IFS=, read -r -a more <<<"$a"; engines+=("${more[@]}") ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown engine '$a' (podman, containerd, docker, slurm, slurm-cluster, all)" >&2; exit 2 ;;
  esac
done

export ENGINE_RT=${ENGINE_RT:-$(cd "$HERE/../.." && pwd)/build/mkrun}
P=0 F=0 S=0
summary=()
for e in "${engines[@]}"; do
  [ -f "$HERE/$e.sh" ] || { echo "run.sh: no $HERE/$e.sh" >&2; F=$((F + 1)); continue; }
  start=$(date +%s)
  out=$(mktemp)
  bash "$HERE/$e.sh" 2>&1 | tee "$out"
  secs=$(( $(date +%s) - start ))
  last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -1)
  rm -f "$out"
  if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed(,\ ([0-9]+)\ skipped)? ]]; then
    P=$((P + BASH_REMATCH[1])) F=$((F + BASH_REMATCH[2])) S=$((S + ${BASH_REMATCH[4]:-0}))
    summary+=("$e: $last (${secs}s)")
  else
    echo "FAIL: $e: the test file ended without a summary"
    F=$((F + 1)); summary+=("$e: no summary, counted as 1 failure (${secs}s)")
  fi
done
echo "== engines (ENGINE_RT=$ENGINE_RT)"
printf '   %s\n' "${summary[@]}"
if [ "$S" -gt 0 ]; then echo "$P passed, $F failed, $S skipped"; else echo "$P passed, $F failed"; fi
[ "$F" -eq 0 ]
