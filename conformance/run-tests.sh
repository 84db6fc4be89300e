#!/usr/bin/env bash
# Runs mkrun's tests and prints, as its last line, "N passed, N failed[, N skipped]".
#   (a) the Catch2 unit test binaries of the build dir
#   (b) meson test child-symbols and child-symbols-refuses, and on x86_64 the launcher's
#       launcher-is-self-contained and launcher-check-refuses
#   (c) the pytest integration suite in conformance/integration (needs root)
#   (d) only when asked (--engines): the engine tests in conformance/engines (Podman, containerd,
#       Docker, Slurm driving the runtime; need root and packaging/install-engine-deps.sh)
#   (f) --sanitize (in the default full run): the Catch2 binaries built with ASan+UBSan (g++,
#       build dir build-asan), the libFuzzer targets of conformance/fuzz (clang 19, build-fuzz;
#       FUZZ_SECONDS each, default 45, FUZZ_SEED default 1; one test each) and conformance/fuzz/mutate_configs.py
#       (MUTATE_COUNT configs through $MKRUN, default 300; one test)
#   (e) conformance/guest/run-guest-tests.sh: cgroup v2 and systemd tests inside a Debian 12 guest
#       under QEMU (needs root, qemu-system-x86 and debootstrap; ~4 min, --no-guest leaves it out)
# Exit status is non-zero if anything failed (or could not run).
#
# usage: conformance/run-tests.sh [--unit | --integration] [--runtimes mkrun,runc] [-- PYTEST_ARGS...]
#   --unit           only (a) and (b)                        (or SUITES=unit)
#   --integration    only (c)                                (or SUITES=integration)
#   --runtimes LIST  integration variants: mkrun, runc or both (or RUNTIMES=...; default both:
#                    every test against mkrun, tests marked parity also against runc)
#   --engines[=LIST] also (d), for the engines in LIST (podman,containerd,docker,slurm,
#                    slurm-cluster; default all) (or ENGINES=LIST); SUITES=engines runs (d) alone
#   --sanitize       only (f) (or SUITES=sanitize); --no-sanitize: everything but (f)
#   --no-guest       everything but (e) (or GUEST=0); SUITES=guest runs (e) alone; GUEST_RUNTIMES=
#                    mkrun,runc adds runc's parity variants (slow); see conformance/guest/run-guest-tests.sh
# environment:
#   BUILD=build      meson build dir
#   MKRUN=path       runtime under test (default $BUILD/mkrun)
#   RUNC=path        reference runtime (default /usr/sbin/runc)
#   PYTHON=path      interpreter that has pytest (default /usr/bin/python3, Debian's python3-pytest)
#   ENGINE_RT=path   runtime the engines drive (default $MKRUN); ENGINE_RT=/usr/sbin/runc checks (d)
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
cd "$REPO" || exit 1

SUITES=${SUITES:-all}
PYTEST_EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --unit) SUITES=unit ;;
    --sanitize) SUITES=sanitize ;;
    --no-sanitize) SANITIZE=0 ;;
    --integration) SUITES=integration ;;
    --runtimes) RUNTIMES=$2; shift ;;
    --runtimes=*) RUNTIMES=${1#*=} ;;
    --engines) ENGINES=all ;;
    --engines=*) ENGINES=${1#*=} ;;
    --guest) GUEST=1 ;;
    --no-guest) GUEST=0 ;;
    --) shift; PYTEST_EXTRA=("$@"); break ;;
    -h|--help) sed -n '2,31p' "$0"; exit 0 ;;
    *) echo "run-tests: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
case "$SUITES" in all) GUEST=${GUEST:-1} SANITIZE=${SANITIZE:-1} ;; sanitize) SANITIZE=1 ;; unit|integration) ;; engines) ENGINES=${ENGINES:-all} ;; guest) GUEST=1 ;; *) echo "run-tests: SUITES must be all, unit, integration, engines, guest or sanitize" >&2; exit 2 ;; esac
ENGINES=${ENGINES:-}

BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$REPO/$BUILD" ;; esac
export MKRUN=${MKRUN:-$BUILD/mkrun}
export RUNTIMES=${RUNTIMES:-mkrun,runc}
PYTHON=${PYTHON:-/usr/bin/python3}

PASSED=0 FAILED=0 SKIPPED=0
FAILURES=()
TMP=$(mktemp -d /tmp/mkrun-run-tests.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

fail() { FAILED=$((FAILED + $2)); FAILURES+=("$1"); }

# Catch2 v2/v3 summaries:
#   "All tests passed (12 assertions in 4 test cases)"
#   "test cases: 5 | 4 passed | 1 failed"   (v3 may add "| N skipped"; a part is left out when 0)
run_catch2() {
  local name=$1 bin=$2 log="$TMP/$1.log" rc line total p f s
  if [ ! -x "$bin" ]; then
    echo "== $name: MISSING ($bin not built)"
    fail "$name (binary missing)" 1
    return
  fi
  echo "== $name: $bin"
  "$bin" >"$log" 2>&1 </dev/null
  rc=$?
  line=$(grep -E '^(All tests passed|test cases:)' "$log" | tail -1)
  if [[ $line =~ ^All\ tests\ passed.*\ in\ ([0-9]+)\ test\ case ]]; then
    total=${BASH_REMATCH[1]} p=$total f=0 s=0
  elif [[ $line =~ ^test\ cases:\ *([0-9]+) ]]; then
    total=${BASH_REMATCH[1]}
    [[ $line =~ ([0-9]+)\ failed ]] && f=${BASH_REMATCH[1]} || f=0
    [[ $line =~ ([0-9]+)\ skipped ]] && s=${BASH_REMATCH[1]} || s=0
    [[ $line =~ ([0-9]+)\ passed ]] && p=${BASH_REMATCH[1]} || p=$((total - f - s))
  else
    cat "$log"
    echo "   no Catch2 summary (exit $rc): counted as 1 failure"
    fail "$name (crashed, exit $rc)" 1
    return
  fi
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # e.g. a crash after the summary
  [ "$f" -gt 0 ] && cat "$log"
  echo "   $p passed, $f failed$([ "$s" -gt 0 ] && echo ", $s skipped")  ($line)"
  PASSED=$((PASSED + p)) SKIPPED=$((SKIPPED + s))
  [ "$f" -gt 0 ] && fail "$name" "$f"
  return 0
}

if [ "$SUITES" != integration ] && [ "$SUITES" != engines ] && [ "$SUITES" != guest ] &&
   [ "$SUITES" != sanitize ]; then
  run_catch2 base-tests "$BUILD/base/base-tests"
  run_catch2 oci-spec-tests "$BUILD/oci-spec/oci-spec-tests"
  run_catch2 runtime-tests "$BUILD/runtime/runtime-tests"
  run_catch2 cli-tests "$BUILD/cli/cli-tests"
  run_catch2 ihk-tests "$BUILD/ihk/ihk-tests"
  run_catch2 lwk-tests "$BUILD/lwk/lwk-tests"
  meson_checks=(child-symbols child-symbols-refuses)
  # the launcher's checks, where it is built without libc (x86_64)
  if meson test -C "$BUILD" --list 2>/dev/null | grep -qx launcher-is-self-contained; then
    meson_checks+=(launcher-is-self-contained launcher-check-refuses)
  fi
  echo "== meson test ${meson_checks[*]}"
  if meson test -C "$BUILD" --print-errorlogs "${meson_checks[@]}" >"$TMP/meson.log" 2>&1; then
    echo "   ${#meson_checks[@]} passed"
    PASSED=$((PASSED + ${#meson_checks[@]}))
  else
    cat "$TMP/meson.log"
    fail "meson checks" "${#meson_checks[@]}"
  fi
fi

if [ "$SUITES" != unit ] && [ "$SUITES" != engines ] && [ "$SUITES" != guest ] &&
   [ "$SUITES" != sanitize ]; then
  echo "== integration suite (pytest, RUNTIMES=$RUNTIMES, MKRUN=$MKRUN)"
  if [ "$(id -u)" -ne 0 ]; then
    echo "   needs root"
    fail "integration (not root)" 1
  elif ! "$PYTHON" -c 'import pytest' 2>/dev/null; then
    echo "   $PYTHON has no pytest (apt-get install python3-pytest, or packaging/install-deps.sh)"
    fail "integration (no pytest)" 1
  else
    junit="$TMP/junit.xml"
    PYTHONDONTWRITEBYTECODE=1 "$PYTHON" -m pytest -q -p no:cacheprovider --junitxml="$junit" \
      "$REPO/conformance/integration" "${PYTEST_EXTRA[@]}" </dev/null
    prc=$?
    if [ -f "$junit" ]; then
      # One count per test: failed if any of its records has a failure or an error (a test
      # that fails and then errors in teardown has two <testcase> records), else skipped or passed.
      read -r p f s < <("$PYTHON" - "$junit" <<'EOF'
import sys, xml.etree.ElementTree as ET
tests = {}
for tc in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    key = (tc.get("classname"), tc.get("name"))
    tags = {c.tag for c in tc}
    verdict = "f" if tags & {"failure", "error"} else "s" if "skipped" in tags else "p"
    tests[key] = max(tests.get(key, verdict), verdict, key="spf".index)
v = list(tests.values())
print(v.count("p"), v.count("f"), v.count("s"))
EOF
      )
      # pytest exit 0: all passed, 1: some failed; anything else (5: nothing collected, crash,
      # usage error) counts as a failure
      if [ "$prc" -ne 0 ] && [ "$prc" -ne 1 ] && [ "$f" -eq 0 ]; then f=1; fi
      if [ "$prc" -eq 1 ] && [ "$f" -eq 0 ]; then f=1; fi
      PASSED=$((PASSED + p)) SKIPPED=$((SKIPPED + s))
      [ "$f" -gt 0 ] && fail integration "$f"
    else
      echo "   pytest exited $prc without a report"
      fail "integration (pytest exit $prc)" 1
    fi
  fi
fi

if [ "${SANITIZE:-0}" = 1 ]; then
  # Separate build dirs: the product's build (static C++ runtime, -Os) is not touched.
  started=$SECONDS
  ASAN_BUILD="$REPO/build-asan" FUZZ_BUILD="$REPO/build-fuzz"
  echo "== sanitizer suite: ASan+UBSan unit tests ($ASAN_BUILD)"
  # -O1 without debug info: a third faster to build than debugoptimized, ASan's usual level
  if { [ -d "$ASAN_BUILD" ] || meson setup "$ASAN_BUILD" -Db_sanitize=address,undefined \
         -Dprefer_static=false -Dbuildtype=plain -Db_ndebug=false \
         "-Dcpp_args=-O1 -fno-sanitize-recover=all"; } >"$TMP/asan-setup.log" 2>&1 &&
     nice -n 10 meson compile -C "$ASAN_BUILD" base/base-tests oci-spec/oci-spec-tests \
       runtime/runtime-tests cli/cli-tests ihk/ihk-tests lwk/lwk-tests >"$TMP/asan-build.log" 2>&1; then
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    run_catch2 asan-base-tests "$ASAN_BUILD/base/base-tests"
    run_catch2 asan-oci-spec-tests "$ASAN_BUILD/oci-spec/oci-spec-tests"
    run_catch2 asan-runtime-tests "$ASAN_BUILD/runtime/runtime-tests"
    run_catch2 asan-cli-tests "$ASAN_BUILD/cli/cli-tests"
    run_catch2 asan-ihk-tests "$ASAN_BUILD/ihk/ihk-tests"
    run_catch2 asan-lwk-tests "$ASAN_BUILD/lwk/lwk-tests"
  else
    tail -n 30 "$TMP/asan-setup.log" "$TMP/asan-build.log"
    fail "asan build" 1
  fi
  echo "== sanitizer suite: libFuzzer targets ($FUZZ_BUILD, ${FUZZ_SECONDS:=45} s each)"
  if { [ -d "$FUZZ_BUILD" ] || CXX=clang++-19 meson setup "$FUZZ_BUILD" -Dfuzzing=true \
         -Db_sanitize=address,undefined -Db_lundef=false -Db_ndebug=false -Dprefer_static=false \
         -Dbuildtype=debugoptimized -Dcpp_args=-fno-sanitize-recover=all; } >"$TMP/fuzz-setup.log" 2>&1 &&
     nice -n 10 meson compile -C "$FUZZ_BUILD" fuzz-config fuzz-process fuzz-resources fuzz-state \
       >"$TMP/fuzz-build.log" 2>&1; then
    for kind in config process resources state; do
      # a scratch corpus grows from the committed seeds; findings land in $TMP
      mkdir -p "$TMP/corpus-$kind"
      # FUZZ_SEED fixed (default 1) makes CI's run a repeatable regression check: the same seed
      # and corpus walk the same inputs, as far as the time allows. FUZZ_SEED=0: a random one.
      (cd "$TMP" && "$FUZZ_BUILD/conformance/fuzz/fuzz-$kind" -max_total_time="$FUZZ_SECONDS" \
         -seed="${FUZZ_SEED:-1}" -max_len=65536 -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
         "$TMP/corpus-$kind" "$HERE/fuzz/corpus/$kind") >"$TMP/fuzz-$kind.log" 2>&1
      frc=$?
      runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$TMP/fuzz-$kind.log")
      if [ "$frc" -eq 0 ]; then
        echo "   fuzz-$kind: ${runs:-?} executions, no finding"
        PASSED=$((PASSED + 1))
      else
        grep -E -A30 'ERROR|runtime error|deadly signal' "$TMP/fuzz-$kind.log" | head -60
        echo "   fuzz-$kind: finding (exit $frc), input: $(ls "$TMP"/crash-* "$TMP"/leak-* "$TMP"/timeout-* "$TMP"/oom-* 2>/dev/null | head -1)"
        fail "fuzz-$kind" 1
      fi
    done
  else
    tail -n 30 "$TMP/fuzz-setup.log" "$TMP/fuzz-build.log"
    fail "fuzz build (clang-19, packaging/install-deps.sh)" 1
  fi
  echo "== sanitizer suite: config mutator (${MUTATE_COUNT:=300} configs, MKRUN=$MKRUN)"
  if [ "$(id -u)" -ne 0 ]; then
    fail "mutator (not root)" 1
  else
    "$PYTHON" "$HERE/fuzz/mutate_configs.py" --count "$MUTATE_COUNT" --mkrun "$MKRUN" \
      --keep-dir "$TMP/mutated" </dev/null >"$TMP/mutate.log" 2>&1
    mrc=$?
    grep -E '^(CRASH|HANG|LEAK)|configs,|Error' "$TMP/mutate.log" | sed 's/^/   /'
    if [ "$mrc" -eq 0 ]; then PASSED=$((PASSED + 1)); else fail mutator 1; fi
  fi
  echo "   sanitizer suite took $((SECONDS - started)) s"
fi

if [ -n "$ENGINES" ]; then
  # conformance/engines/run.sh ends with "N passed, N failed[, N skipped]" (an engine that is not
  # installed counts as skipped)
  echo "== engine tests ($ENGINES, ENGINE_RT=${ENGINE_RT:-$MKRUN})"
  ENGINE_RT=${ENGINE_RT:-$MKRUN} bash "$HERE/engines/run.sh" ${ENGINES//,/ } </dev/null | tee "$TMP/engines.log"
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$TMP/engines.log" | tail -1)
  if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed(,\ ([0-9]+)\ skipped)? ]]; then
    PASSED=$((PASSED + BASH_REMATCH[1])) SKIPPED=$((SKIPPED + ${BASH_REMATCH[4]:-0}))
    [ "${BASH_REMATCH[2]}" -gt 0 ] && fail engines "${BASH_REMATCH[2]}"
  else
    fail "engines (no summary)" 1
  fi
fi

if [ "${GUEST:-0}" = 1 ]; then
  # run-guest-tests.sh ends with "N passed, N failed[, N skipped]"; it passes BUILD on, and
  # RUNTIMES only when set for it (GUEST_RUNTIMES), as the guest's default is mkrun alone
  echo "== guest suite (conformance/guest, BUILD=$BUILD)"
  BUILD=$BUILD RUNTIMES=${GUEST_RUNTIMES:-mkrun} bash "$HERE/guest/run-guest-tests.sh" </dev/null |
    tee "$TMP/guest.log"
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$TMP/guest.log" | tail -1)
  if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed(,\ ([0-9]+)\ skipped)? ]]; then
    PASSED=$((PASSED + BASH_REMATCH[1])) SKIPPED=$((SKIPPED + ${BASH_REMATCH[4]:-0}))
    [ "${BASH_REMATCH[2]}" -gt 0 ] && fail guest "${BASH_REMATCH[2]}"
  else
    fail "guest (no summary)" 1
  fi
fi

if [ ${#FAILURES[@]} -gt 0 ]; then
  echo "== failed: ${FAILURES[*]}"
fi
if [ "$SKIPPED" -gt 0 ]; then
  echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
else
  echo "$PASSED passed, $FAILED failed"
fi
[ "$FAILED" -eq 0 ]
