#!/bin/bash
# Builds the Debian 12 guest the guest suite boots: Debian's own kernel, systemd as PID 1 and a
# pure cgroup v2 layout, the conditions of most container hosts today, which the development and
# CI machines (hybrid cgroups, no systemd) cannot give. Adapted from the tested recipe in
# ../shared/guest/ (README.md there: measurements, failure modes, why TCG and not KVM).
#
# usage: conformance/guest/build-guest.sh [WORKDIR]    (default $GUEST_DIR or /var/tmp/mkrun-guest)
# Makes WORKDIR/{vmlinuz,initrd.img,rootfs.img,stamp}. Does nothing when WORKDIR/stamp matches
# this script and the package list (FORCE=1 rebuilds). Needs root, debootstrap, qemu-utils,
# e2fsprogs, cpio and the Debian mirror this machine's apt uses (MIRROR=... overrides).
# The image is built in a temporary directory beside WORKDIR and moved into place at the end, so a
# failed build never leaves a half image behind.
set -euo pipefail

W=${1:-${GUEST_DIR:-/var/tmp/mkrun-guest}}
MIRROR=${MIRROR:-$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
[ -n "$MIRROR" ] || { echo "build-guest: set MIRROR to a Debian mirror URL" >&2; exit 2; }
IMG_SIZE=${IMG_SIZE:-2G}
# What the suite needs inside: pytest for the integration suite, a static busybox for its rootfs,
# `file` (harness.make_rootfs checks busybox is static), runc 1.1 for the parity variants and
# criu with iptables (its network lock) for checkpoint/restore (test_checkpoint.py; the
# development host's kernel cannot run criu).
PACKAGES=systemd,systemd-sysv,udev,kmod,iproute2,dbus,procps,util-linux,ca-certificates
PACKAGES+=,busybox-static,python3-pytest,file,runc,criu,iptables${EXTRA_PKGS:+,$EXTRA_PKGS}

for tool in debootstrap mkfs.ext4 cpio dpkg-deb apt-get; do
  command -v "$tool" >/dev/null || {
    echo "build-guest: $tool missing (apt-get install debootstrap qemu-utils e2fsprogs cpio)" >&2
    exit 2
  }
done
[ "$(id -u)" -eq 0 ] || { echo "build-guest: needs root (debootstrap, chroot)" >&2; exit 2; }

STAMP="$(sha256sum "$0" | cut -d' ' -f1) $PACKAGES $IMG_SIZE"
if [ "${FORCE:-0}" != 1 ] && [ -f "$W/stamp" ] && [ "$(cat "$W/stamp")" = "$STAMP" ]; then
  echo "build-guest: $W is up to date"
  exit 0
fi

# WORKDIR is replaced as a whole at the end: refuse a directory that is not an earlier guest.
if [ -d "$W" ] && [ ! -f "$W/stamp" ] && [ -n "$(ls -A "$W")" ]; then
  echo "build-guest: $W exists and is not a guest work dir (no stamp): refusing to replace it" >&2
  exit 2
fi
mkdir -p "$(dirname "$W")"
T=$(mktemp -d "$W.build.XXXXXX")
# debootstrap mounts proc/sys inside the target and may leave them when it fails half way.
cleanup() {
  local m
  for m in $(awk -v t="$T/" 'index($2, t) == 1 {print $2}' /proc/self/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
  rm -rf "$T"
}
trap cleanup EXIT
cd "$T"

# ---- 1. kernel: Debian's current linux-image-amd64, unpacked here (the host's /boot is untouched)
KPKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/{print $2; exit}')
KVER=${KPKG#linux-image-}
mkdir kernel
(cd kernel && apt-get download -q "$KPKG" 2>/dev/null && dpkg-deb -x ./*.deb root)
cp kernel/root/boot/vmlinuz-"$KVER" vmlinuz

# ---- 2. root file system
mkdir rootfs
debootstrap --variant=minbase --include="$PACKAGES" bookworm rootfs "$MIRROR" >debootstrap.log 2>&1 ||
  { tail -n 30 debootstrap.log >&2; exit 1; }
mkdir -p rootfs/lib/modules
cp -a kernel/root/lib/modules/"$KVER" rootfs/lib/modules/
chroot rootfs depmod -a "$KVER"
echo guest >rootfs/etc/hostname
printf '127.0.0.1 localhost\n127.0.1.1 guest\n' >rootfs/etc/hosts
printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' >rootfs/etc/fstab
chroot rootfs passwd -d root >/dev/null  # console login for debugging (-nographic)
printf '9p\n9pnet_virtio\n' >rootfs/etc/modules-load.d/9p.conf
chroot rootfs systemctl mask systemd-networkd-wait-online.service apt-daily.timer \
  apt-daily-upgrade.timer e2scrub_reap.service man-db.timer 2>/dev/null || true
rm -rf rootfs/var/cache/apt/archives/*.deb

# The job runner: waits until systemd reports the boot finished, runs /mnt/job/run.sh (the job
# dir is 9p tag `job`; the repository is tag `repo`, read-only), keeps its output and exit code
# in the job dir, and powers off. Type=simple so that the boot transaction can complete.
cat >rootfs/usr/local/sbin/guest-runner <<'RUNNER'
#!/bin/sh
mkdir -p /mnt/job /mnt/repo
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 job /mnt/job
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,ro repo /mnt/repo 2>/dev/null
state=$(systemctl is-system-running --wait 2>&1)
echo "@@GUEST state=$state controllers=[$(cat /sys/fs/cgroup/cgroup.controllers)] fstype=$(stat -fc %T /sys/fs/cgroup) uptime=$(cut -d' ' -f1 /proc/uptime)"
rc=none
if [ -f /mnt/job/run.sh ]; then
  echo "$state" >/mnt/job/system-state
  cd /mnt/job && sh /mnt/job/run.sh >/mnt/job/output.log 2>&1
  rc=$?
  echo "$rc" >/mnt/job/exit_code
  sync
fi
echo "@@GUEST done rc=$rc uptime=$(cut -d' ' -f1 /proc/uptime)"
[ -e /mnt/job/keep-running ] || systemctl poweroff
RUNNER
chmod +x rootfs/usr/local/sbin/guest-runner
cat >rootfs/etc/systemd/system/guest-runner.service <<'UNIT'
[Unit]
Description=Run /mnt/job/run.sh and power off
After=multi-user.target
[Service]
Type=simple
ExecStart=/usr/local/sbin/guest-runner
StandardOutput=journal+console
StandardError=journal+console
[Install]
WantedBy=multi-user.target
UNIT
chroot rootfs systemctl enable guest-runner.service

# ---- 3. initramfs: busybox and the virtio/ext4 modules (modules in Debian's kernel), then
# switch_root to /dev/vda
mkdir -p initramfs/{bin,dev,proc,sys,newroot,lib/modules}
cp rootfs/bin/busybox initramfs/bin/busybox
for m in virtio_pci virtio_blk ext4; do
  chroot rootfs modprobe -S "$KVER" --show-depends "$m" | awk '$1=="insmod"{print $2}'
done | awk '!seen[$0]++' | while read -r ko; do
  cp "rootfs$ko" initramfs/lib/modules/
  echo "insmod /lib/modules/$(basename "$ko")"
done >initramfs/load-modules
cat >initramfs/init <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
. /load-modules 2>/dev/null
for i in $(seq 1 50); do [ -b /dev/vda ] && break; sleep 0.1; done
mount -t ext4 -o rw /dev/vda /newroot || { echo "initramfs: cannot mount /dev/vda"; sh; }
umount /proc /sys; mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/init "$@"
INIT
chmod +x initramfs/init
(cd initramfs && find . | cpio -o -H newc --quiet | gzip -1) >initrd.img

# ---- 4. ext4 image straight from the directory (no loop mount)
mkfs.ext4 -q -F -L guestroot -d rootfs rootfs.img "$IMG_SIZE"

# ---- 5. into place
rm -rf "$W"
mkdir -p "$W"
mv vmlinuz initrd.img rootfs.img "$W"/
echo "$KVER" >"$W/kernel-version"
echo "$STAMP" >"$W/stamp"
ls -lsh "$W"
