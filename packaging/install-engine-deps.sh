#!/usr/bin/env bash
# Installs the container engines the engine tests (conformance/engines/) drive, Debian 12 (bookworm).
# Only called when the engine tests run; the default build/test path does not need any of this.
# Idempotent: when every package is already installed, apt is not touched at all.
#
# usage: sudo packaging/install-engine-deps.sh [podman|containerd|docker|slurm|all]...   (default all)
#
# No daemon is started: Debian's policy-rc.d (or the lack of systemd) keeps the services down, and the
# tests start their own daemons with their own configs. Installing does drop default configs in /etc
# (/etc/containerd/config.toml, /etc/containers/libpod.conf, /etc/munge/munge.key); the tests never read them.
set -euo pipefail

common=(tmux jq python3 busybox-static runc file util-linux procps iproute2 iptables)
podman_pkgs=(podman conmon netavark catatonit)        # catatonit: podman --init
containerd_pkgs=(containerd python3-grpcio)          # grpcio: ctr-update.py (ctr 1.6 has no task update)
docker_pkgs=(docker.io tini)                          # docker.io pulls containerd; tini is docker-init
slurm_pkgs=(slurm-wlm munge)

[ $# -eq 0 ] && set -- all
PACKAGES=("${common[@]}")
for e in "$@"; do
  case "$e" in
    podman) PACKAGES+=("${podman_pkgs[@]}") ;;
    containerd) PACKAGES+=("${containerd_pkgs[@]}") ;;
    docker) PACKAGES+=("${docker_pkgs[@]}") ;;
    slurm) PACKAGES+=("${slurm_pkgs[@]}") ;;
    all) PACKAGES+=("${podman_pkgs[@]}" "${containerd_pkgs[@]}" "${docker_pkgs[@]}" "${slurm_pkgs[@]}") ;;
    *) echo "install-engine-deps: unknown engine '$e' (podman, containerd, docker, slurm, all)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${PACKAGES[@]}"; do
  if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" != installed ]; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-engine-deps: all ${#PACKAGES[@]} packages already installed, skipping apt"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-engine-deps: missing packages: ${missing[*]}; run as root" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
start=$(date +%s)
echo "install-engine-deps: missing: ${missing[*]}"
# another apt (unattended upgrades, a parallel job) may hold the dpkg lock for a while
for i in $(seq 1 30); do
  if apt-get install -y -q --no-install-recommends "${missing[@]}"; then
    echo "install-engine-deps: done in $(( $(date +%s) - start )) s"
    exit 0
  fi
  [ "$i" -eq 1 ] && { echo "+ apt-get update"; apt-get update -q || true; }
  echo "install-engine-deps: apt failed (lock or stale index), retry $i"; sleep 10
done
echo "install-engine-deps: apt-get install failed" >&2
exit 1
