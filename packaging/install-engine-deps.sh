#!/usr/bin/env bash
# Installs the container engines the engine tests (conformance/engines/) drive, Debian 12 (bookworm).
# Only called when the engine tests run; the default build/test path does not need any of this.
# Idempotent: when every package is already installed, apt is not touched at all.
#
# usage: sudo packaging/install-engine-deps.sh [podman|containerd|docker|slurm|slurm-cluster|all]...   (default all)
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
# the cluster's MPI job: Debian's Open MPI (mpicc, libmpi) and PMIx, which Slurm's pmix plugin loads
mpi_pkgs=(openmpi-bin libopenmpi-dev libpmix-dev)

[ $# -eq 0 ] && set -- all
PACKAGES=("${common[@]}")
for e in "$@"; do
  case "$e" in
    podman) PACKAGES+=("${podman_pkgs[@]}") ;;
    containerd) PACKAGES+=("${containerd_pkgs[@]}") ;;
    docker) PACKAGES+=("${docker_pkgs[@]}") ;;
    slurm) PACKAGES+=("${slurm_pkgs[@]}") ;;
    slurm-cluster) PACKAGES+=("${slurm_pkgs[@]}" "${mpi_pkgs[@]}") ;;
    all) PACKAGES+=("${podman_pkgs[@]}" "${containerd_pkgs[@]}" "${docker_pkgs[@]}" "${slurm_pkgs[@]}" "${mpi_pkgs[@]}") ;;
    *) echo "install-engine-deps: unknown engine '$e' (podman, containerd, docker, slurm, slurm-cluster, all)" >&2; exit 2 ;;
  esac
done

source "$(dirname "${BASH_SOURCE[0]}")/apt-install.sh"
apt_install_missing install-engine-deps "${PACKAGES[@]}"
