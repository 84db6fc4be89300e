#!/usr/bin/env bash
# bench/bench.sh inside the Debian 12 guest of conformance/guest/ (pure cgroup v2 under systemd,
# kernel 6.1): the same side-by-side tables for mkrun, runc and crun there. The guest runs under
# TCG (software emulation), so only the ratios mean something.
#
# usage: sudo bench/guest.sh [N]     (default 10)
# env:   RANKS (default "64"), RSS_RUNS (3), RUNS (1: as bench.sh's), BUILD (build),
#        GUEST_BENCH_DIR (/var/tmp/mkrun-guest-bench)
# The guest image is the suite's with crun, hyperfine, jq and time added; it lives in its own
# directory so that the test suite's image stays as it is.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
N=${1:-${N:-10}}
case "$N" in '' | *[!0-9]*) echo "bench/guest: N must be a number" >&2; exit 2 ;; esac
RANKS=${RANKS:-64}
RSS_RUNS=${RSS_RUNS:-3}
RUNS=${RUNS:-1}
case "$RUNS" in '' | *[!0-9]*) echo "bench/guest: RUNS must be a number" >&2; exit 2 ;; esac
case "$RANKS" in *[!0-9\ ]*) echo "bench/guest: RANKS must be numbers" >&2; exit 2 ;; esac
export EXTRA_PKGS=crun,hyperfine,jq,time
export GUEST_DIR=${GUEST_BENCH_DIR:-/var/tmp/mkrun-guest-bench}
# in the guest: mkrun from the guest's disk (in-guest.sh copies it there), the rest from Debian
export GUEST_RUN="MKRUN=/var/tmp/mkrun-build/mkrun N=$N RANKS='$RANKS' RSS_RUNS=$RSS_RUNS \
RUNS=$RUNS bash /mnt/repo/bench/bench.sh"
exec bash "$HERE/../conformance/guest/run-guest-tests.sh"
