#!/usr/bin/env bash
# Quick start, Debian 12, as root:
#   sudo packaging/quickstart.sh demo   install deps, build, run a busybox container with mkrun
#   sudo packaging/quickstart.sh test   install deps and the engines, build, build and install the
#                                       Debian package, run every test (conformance/run-tests.sh
#                                       --engines), the engines driving the installed /usr/bin/mkrun
# Both are idempotent and print every step.  CI runs `bash packaging/quickstart.sh test`.
# Extra arguments after `test` go to conformance/run-tests.sh instead of --engines (e.g. --unit;
# --engines=podman,docker); the package is built and installed only when engine tests run.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
# sudo's secure_path normally has these, but chroot and friends live in sbin
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"

MODE=${1:-}
case "$MODE" in
  demo|test) shift ;;
  *) echo "usage: sudo $0 demo|test" >&2; exit 2 ;;
esac
if [ "$(id -u)" -ne 0 ]; then
  echo "quickstart: containers need root; run: sudo $0 $MODE" >&2
  exit 1
fi

step() { echo; echo "==> $*"; }
run() { echo "+ $*"; "$@"; }

step "1. dependencies"
run bash packaging/install-deps.sh
# `test` alone runs everything, the engine tests too; with arguments, what they select
# (run-tests.sh --engines[=LIST], or SUITES=engines / ENGINES=LIST)
if [ "$MODE" = test ] && [ $# -eq 0 ]; then set -- --engines; fi
engines=${ENGINES:-}
[ "${SUITES:-}" = engines ] && engines=${engines:-all}
for a in "$@"; do
  case "$a" in --engines) engines=all ;; --engines=*) engines=${a#*=} ;; esac
done
if [ "$MODE" = test ] && [ -n "$engines" ]; then
  run bash packaging/install-engine-deps.sh ${engines//,/ }
fi

step "2. build"
if [ -f build/build.ninja ]; then
  echo "build/ already configured"
else
  run meson setup build
fi
run meson compile -C build
MKRUN=$REPO/build/mkrun
[ -x "$MKRUN" ] || { echo "quickstart: build did not produce $MKRUN" >&2; exit 1; }

if [ "$MODE" = test ]; then
  if [ -n "$engines" ]; then
    # the engines drive mkrun as a site runs it: installed from the package
    step "3. Debian package: build (packaging/build-deb.sh) and install"
    run bash packaging/build-deb.sh --install-deps build-deb
    deb=$(ls -t build-deb/mkrun_*.deb | head -1)
    echo "+ apt-get install $deb"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall \
      -o Dpkg::Options::=--force-confold "./$deb"
    export ENGINE_RT=/usr/bin/mkrun ENGINE_BUILD="$REPO/build"
    echo "ENGINE_RT=$ENGINE_RT ($(/usr/bin/mkrun --version | head -1))"
  fi
  step "4. tests"
  run bash conformance/run-tests.sh "$@"
  exit $?
fi

DEMO=/var/tmp/mkrun-demo
step "3. busybox bundle in $DEMO"
if [ -x "$DEMO/rootfs/bin/busybox" ]; then
  echo "rootfs already there"
else
  run mkdir -p "$DEMO/rootfs/bin"
  run cp "$(command -v busybox)" "$DEMO/rootfs/bin/busybox"
  if ! file -L "$DEMO/rootfs/bin/busybox" | grep -q 'statically linked'; then
    echo "quickstart: busybox is not static (apt-get install busybox-static)" >&2; exit 1
  fi
  # inside a chroot, so the applet links point at /bin/busybox, not at the host's path
  run chroot "$DEMO/rootfs" /bin/busybox --install -s /bin
fi
run rm -f "$DEMO/config.json"
echo "+ (cd $DEMO && $MKRUN spec)"
(cd "$DEMO" && "$MKRUN" spec)
echo "+ jq: terminal=false, hostname, args  -> $DEMO/config.json"
jq '.process.terminal = false
    | .hostname = "mkrun-demo"
    | .process.args = ["sh", "-c", "echo hello from mkrun; hostname; id; cat /proc/self/cgroup | head -3"]' \
  "$DEMO/config.json" > "$DEMO/config.json.new"
mv "$DEMO/config.json.new" "$DEMO/config.json"

ID=demo-$$
step "4. $MKRUN run --bundle $DEMO $ID"
trap '"$MKRUN" delete --force "$ID" >/dev/null 2>&1 || true' EXIT
set +e
"$MKRUN" run --bundle "$DEMO" "$ID" </dev/null
rc=$?
set -e
echo
echo "container $ID exited with status $rc"
exit $rc
