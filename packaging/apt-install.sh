# Sourced by install-deps.sh and install-engine-deps.sh: installs Debian packages that are missing.
#
# apt_install_missing LABEL PACKAGE...
#   Installs those of the PACKAGEs that are not installed yet, without recommends. When none is
#   missing, apt is not touched at all (so it is cheap and safe to run every time). Needs root only
#   when something is missing. Retries for a few minutes while another apt (unattended upgrades, a
#   parallel job) holds the dpkg lock, refreshing the index between tries.

apt_install_missing() {
  local label=$1 p i start=$SECONDS
  shift
  local missing=()
  for p in "$@"; do
    if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" != installed ]; then
      missing+=("$p")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "$label: all $# packages already installed, skipping apt"
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "$label: missing packages: ${missing[*]}; run as root to install them" >&2
    return 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  echo "$label: missing: ${missing[*]}"
  for i in $(seq 1 30); do
    echo "+ apt-get update"
    apt-get update -q || true
    echo "+ apt-get install -y --no-install-recommends ${missing[*]}"
    if apt-get install -y -q --no-install-recommends "${missing[@]}"; then
      echo "$label: done in $((SECONDS - start)) s"
      return 0
    fi
    echo "$label: apt failed (dpkg lock or stale index), retry $i of 30 in 10 s"
    sleep 10
  done
  echo "$label: apt-get install failed" >&2
  return 1
}
