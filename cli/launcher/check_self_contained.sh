#!/bin/sh
# Fails unless the launcher ($1) is self-contained: no program interpreter, no shared library,
# no relocation to apply (nothing would apply it: there is no dynamic loader) and no undefined
# symbol. The freestanding x86_64 build only; elsewhere it links libc like any program.
set -eu
headers=$(readelf -lW "$1")
dynamic=$(readelf -dW "$1")
relocations=$(readelf -rW "$1")
undefined=$(nm -u "$1" 2>/dev/null | awk '{print $NF}' | head -5 | tr '\n' ' ')
problems=''
echo "$headers" | grep -q 'INTERP' && problems="$problems a program interpreter;"
echo "$dynamic" | grep -q '(NEEDED)' && problems="$problems a shared library ($(echo "$dynamic" | grep '(NEEDED)' | tr -s ' ' | tr '\n' ' '));"
echo "$relocations" | grep -q 'There are no relocations in this file' ||
  problems="$problems $(echo "$relocations" | grep -c '^0') relocations;"
[ -z "$undefined" ] || problems="$problems undefined symbols ($undefined...);"
if [ -n "$problems" ]; then
  echo "$1 is not self-contained:$problems" >&2
  exit 1
fi
echo "$1: no interpreter, no shared library, no relocation, no undefined symbol"
