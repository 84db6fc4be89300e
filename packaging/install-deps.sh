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

source "$(dirname "${BASH_SOURCE[0]}")/apt-install.sh"
apt_install_missing install-deps "${PACKAGES[@]}"
