#!/usr/bin/env bash
# McKernel start times on the IHK emulator (see bench/mckernel.py): a bare mcexec, a container
# attached to a booted instance, one on a pool instance, one that boots its own.
# usage: sudo bench/mckernel.sh [N]     env: MKRUN (build/mkrun), BOOT_DELAY_MS (2000)
# Needs the emulator built (build/conformance/lwk) and no real IHK loaded.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export MKRUN=${MKRUN:-$HERE/../build/mkrun}
export N=${1:-${N:-20}}
[ "$(id -u)" -eq 0 ] || { echo "bench/mckernel: run as root" >&2; exit 1; }
[ -x "$(dirname "$MKRUN")/conformance/lwk/mcexec" ] ||
  { echo "bench/mckernel: the IHK emulator is not built next to $MKRUN" >&2; exit 1; }
exec /usr/bin/python3 "$HERE/mckernel.py"
