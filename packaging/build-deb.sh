#!/usr/bin/env bash
# Builds the Debian package of mkrun (Debian 12) with the standard tools, without touching the
# source tree: the tree (tracked and untracked-but-not-ignored files, plus .git for the version's
# commit line) is copied to a temporary directory, packaging/debian becomes its debian/, and
# `dpkg-buildpackage -us -uc -b` runs there. The .deb (and .buildinfo, .changes, -dbgsym) land in
# OUTDIR.
#
# usage: packaging/build-deb.sh [--install-deps] [--nocheck] [OUTDIR]      (default OUTDIR: build-deb/)
#   --install-deps  apt-get install the missing build dependencies (root)
#   --nocheck       skip dh_auto_test (same as DEB_BUILD_OPTIONS=nocheck)
# Runs as root or as a user (dpkg-buildpackage uses fakeroot when it is installed; the package
# declares Rules-Requires-Root: no, so it needs neither).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUTDIR=$REPO/build-deb
INSTALL_DEPS=0
while [ $# -gt 0 ]; do
  case "$1" in
    --install-deps) INSTALL_DEPS=1 ;;
    --nocheck) export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:+$DEB_BUILD_OPTIONS }nocheck" ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    -*) echo "build-deb: unknown option $1" >&2; exit 2 ;;
    *) OUTDIR=$1 ;;
  esac
  shift
done
case "$OUTDIR" in /*) ;; *) OUTDIR=$PWD/$OUTDIR ;; esac

for tool in dpkg-buildpackage dpkg-checkbuilddeps dh; do
  command -v "$tool" >/dev/null && continue
  echo "build-deb: $tool missing: apt-get install build-essential dpkg-dev debhelper (or use --install-deps)" >&2
  [ "$INSTALL_DEPS" = 1 ] && [ "$(id -u)" -eq 0 ] || exit 1
  # the tools first: dpkg-checkbuilddeps (below) names the rest
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends build-essential dpkg-dev debhelper
  break
done

TMP=$(mktemp -d /tmp/mkrun-deb.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
SRC=$TMP/mkrun
mkdir -p "$SRC"

echo "==> copying the source tree to $SRC"
if git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # what git would see: tracked files and new files that are not ignored (no build dirs)
  git -C "$REPO" ls-files -z --cached --others --exclude-standard |
    (cd "$REPO" && xargs -0 -r cp --parents -a -t "$SRC" 2>/dev/null || true)
  # files deleted in the working tree but still tracked are skipped by cp: that is the tree as it is
  cp -a "$REPO/.git" "$SRC/.git"        # meson's `git rev-parse` gives the commit: line
  COMMIT=$(git -C "$REPO" rev-parse --short=12 HEAD)
  DIRTY=$(git -C "$REPO" status --porcelain --untracked-files=no | grep -q . && echo 1 || echo 0)
else
  tar -C "$REPO" --exclude='./build*' --exclude='*.pyc' --exclude=__pycache__ -cf - . | tar -C "$SRC" -xf -
  COMMIT=unknown DIRTY=0
fi
rm -rf "$SRC/debian"
cp -a "$REPO/packaging/debian" "$SRC/debian"

# a snapshot version: <meson version>+git<UTC date and time>.<commit>
UPSTREAM=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$REPO/meson.build" | head -1)
STAMP=$(date -u +%Y%m%d%H%M)
VERSION="${UPSTREAM:-0}+git$STAMP.$COMMIT"
{
  echo "mkrun ($VERSION) unstable; urgency=medium"
  echo
  echo "  * Snapshot of commit $COMMIT$([ "$DIRTY" = 1 ] && echo ' with uncommitted changes')."
  echo
  echo " -- $(sed -n 's/^Maintainer: //p' "$SRC/debian/control")  $(date -R)"
  echo
  cat "$SRC/debian/changelog"
} >"$SRC/debian/changelog.new"
mv "$SRC/debian/changelog.new" "$SRC/debian/changelog"

cd "$SRC"
if ! dpkg-checkbuilddeps 2>"$TMP/deps.err"; then
  missing=$(sed -n 's/.*Unmet build dependencies: //p' "$TMP/deps.err" | sed 's/([^)]*)//g; s/<[^>]*>//g; s/|[^ ]*//g')
  echo "build-deb: missing build dependencies: $missing"
  if [ "$INSTALL_DEPS" = 1 ] && [ "$(id -u)" -eq 0 ]; then
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends build-essential $missing
  else
    echo "build-deb: install them (sudo apt-get install $missing) or run with --install-deps as root" >&2
    exit 1
  fi
fi

echo "==> dpkg-buildpackage -us -uc -b  (version $VERSION${DEB_BUILD_OPTIONS:+, DEB_BUILD_OPTIONS=$DEB_BUILD_OPTIONS})"
start=$(date +%s)
dpkg-buildpackage -us -uc -b >"$TMP/build.log" 2>&1 || {
  mkdir -p "$OUTDIR"; cp "$TMP/build.log" "$OUTDIR/build.log"
  echo "build-deb: dpkg-buildpackage failed; the errors and the end of $OUTDIR/build.log:" >&2
  grep -E '(error|FAILED|FAIL:|Error)[: ]' "$TMP/build.log" | grep -v -- '-Werror' | head -n 20 | cut -c1-300 >&2
  echo "..." >&2
  tail -n 15 "$TMP/build.log" | cut -c1-300 >&2
  exit 1
}
echo "    built in $(( $(date +%s) - start )) s"

mkdir -p "$OUTDIR"
cp "$TMP/build.log" "$OUTDIR/build.log"
for f in "$TMP"/*.deb "$TMP"/*.ddeb "$TMP"/*.buildinfo "$TMP"/*.changes; do
  [ -e "$f" ] && cp "$f" "$OUTDIR/"
done
deb=$(ls "$OUTDIR"/mkrun_"$VERSION"_*.deb)
# The IHK emulator (conformance/lwk: libihk.so, mcexec, ihkconfig) is for the tests only: a node
# with it installed would take it for IHK.
if dpkg-deb --contents "$deb" | grep -E '/(libihk[^/]*\.so|mcexec|ihkconfig)$'; then
  echo "build-deb: the package contains the IHK emulator (above): it must never be installed" >&2
  exit 1
fi
echo "==> $deb"
dpkg-deb --info "$deb" | sed -n 's/^ \(Package\|Version\|Architecture\|Depends\|Installed-Size\):/  &/p'
echo "  files:"
dpkg-deb --contents "$deb" | awk '$1 !~ /^d/ { $1=$2=$3=$4=$5=""; sub(/^ +/, ""); print "    " $0 }'
echo "  conffiles: $(dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles 2>/dev/null | tr '\n' ' ')"
