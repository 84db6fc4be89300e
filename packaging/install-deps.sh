#!/usr/bin/env bash
# Installs everything needed to build and test mkrun on Debian 12 (bookworm).
# Idempotent: when every package is already installed, apt is not touched at all.
# usage: sudo packaging/install-deps.sh
set -euo pipefail

PACKAGES=(
  # build
  meson ninja-build pkg-config g++ binutils git
  libseccomp-dev libcap-ng-dev rapidjson-dev libboost-program-options-dev libmnl-dev catch2
  clang-format
  # tests: the busybox rootfs, the reference runtimes, the harness
  busybox-static runc crun jq python3 python3-pytest file util-linux procps iproute2
  # benchmark
  hyperfine time
  # the guest suite (conformance/guest): a Debian 12 guest with systemd and pure cgroup v2 under QEMU
  qemu-system-x86 qemu-utils debootstrap e2fsprogs cpio
)

missing=()
for p in "${PACKAGES[@]}"; do
  if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" != installed ]; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed, skipping apt"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (sudo $0) to install them" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-deps: missing: ${missing[*]}"
echo "+ apt-get update"
apt-get update -q
echo "+ apt-get install -y --no-install-recommends ${missing[*]}"
apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install-deps: done"
