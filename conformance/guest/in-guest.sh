#!/bin/sh
# Runs inside the guest, as root, once systemd reports the boot finished (guest-runner from
# build-guest.sh calls /mnt/job/run.sh, which calls this). The repository is at /mnt/repo and the
# build dir at /mnt/build (virtio-9p, read-only); /mnt/job/env holds the settings of
# run-guest-tests.sh. Results go to /mnt/job: catch2.xml and junit.xml (JUnit XML), times.
set -u
set -f  # GUEST_TESTS holds pytest node ids: no globbing
. /mnt/job/env
mkdir -p /mnt/build
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,ro build /mnt/build || exit 125
# The binaries run from the guest's disk: 9p has no page cache here, so every exec from the share
# would read the whole binary again (a failing create took 10 s instead of 2 under TCG).
BIN=/var/tmp/mkrun-build
mkdir -p "$BIN" && cp /mnt/build/mkrun /mnt/build/mkrun-runtime /mnt/build/runtime/runtime-tests "$BIN"/ || exit 125

echo "== guest: kernel $(uname -r), $(systemctl --version | head -n 1), $(stat -fc %T /sys/fs/cgroup)," \
  "system $(systemctl is-system-running), controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
echo "== guest: $(cut -d' ' -f1 /proc/uptime) s since boot"
now() { cut -d' ' -f1 /proc/uptime; }

if [ -n "${GUEST_RUN:-}" ]; then  # run-guest-tests.sh's debugging hook
  cd /mnt/job && PATH="$BIN:$PATH" sh /mnt/job/command.sh
  exit $?
fi

# (1) the unit tests that only mean something here: real cgroups on pure v2, the device filter
# attached for real, a transient scope over D-Bus (Catch2 tags [root] and [systemd])
t0=$(now)
"$BIN/runtime-tests" '[root],[systemd]' -r junit -o /mnt/job/catch2.xml
echo "== guest: runtime-tests exit $? in $(awk -v a="$t0" -v b="$(now)" 'BEGIN{print b - a}') s"

# (2) the integration subset and the guest's own tests. pytest reads them from the read-only
# share and writes only to /var/tmp (bundles, on the guest's ext4) and /mnt/job (the report).
t0=$(now)
cd /mnt/repo/conformance || exit 125
# shellcheck disable=SC2086  # GUEST_TESTS is a list of pytest node ids
PYTHONDONTWRITEBYTECODE=1 MKRUN=$BIN/mkrun RUNC=/usr/sbin/runc RUNTIMES="$RUNTIMES" \
  MKRUN_TEST_TMP=/var/tmp python3 -m pytest -c guest/pytest.ini --rootdir=. -p no:cacheprovider \
  --junitxml=/mnt/job/junit.xml $GUEST_TESTS $PYTEST_EXTRA </dev/null
rc=$?
echo "== guest: pytest exit $rc in $(awk -v a="$t0" -v b="$(now)" 'BEGIN{print b - a}') s"
# For the failures: what systemd and the kernel said meanwhile.
[ "$rc" -eq 0 ] || journalctl -b -o short-monotonic --no-pager >/mnt/job/journal.log 2>&1
exit $rc
