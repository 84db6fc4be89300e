#!/usr/bin/env bash
# Installs everything needed to build and test mkrun on Debian 12 (bookworm).
# Idempotent: when every package is already installed, apt is not touched at all.
# usage: sudo packaging/install-deps.sh
set -euo pipefail

PACKAGES=(
  # build
  meson ninja-build pkg-config g++ binutils git
  libseccomp-dev libcap-ng-dev rapidjson-dev libyaml-dev libboost-program-options-dev libmnl-dev catch2
  clang-format
  # tests: the busybox rootfs, the reference runtimes, the harness
  busybox-static runc crun jq python3 python3-pytest file util-linux procps iproute2
  # run-tests.sh --sanitize: the libFuzzer targets (clang 19: 14 and 16 lack libstdc++ 12's
  # <expected>) and their fuzzer and sanitizer runtimes
  clang-19 libclang-rt-19-dev
  # benchmark
  hyperfine time
  # the guest suite (conformance/guest): a Debian 12 guest with systemd and pure cgroup v2 under QEMU
  qemu-system-x86 qemu-utils debootstrap e2fsprogs cpio
)

source "$(dirname "${BASH_SOURCE[0]}")/apt-install.sh"
apt_install_missing install-deps "${PACKAGES[@]}"
