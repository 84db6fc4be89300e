#!/bin/sh
# Fails when the clone-to-execve code references anything that is not async-signal-safe.
set -eu
forbidden='malloc|calloc|realloc|free|_Znw|_Zna|_Zdl|_Zda|__cxa_throw|__cxa_allocate_exception|printf|puts|fopen|fwrite|syslog|strerror'
bad=$(nm -u "$1" | awk '{print $NF}' | grep -E "^($forbidden)" || true)
if [ -n "$bad" ]; then
  echo "child code calls what it must not between clone and execve:" >&2
  echo "$bad" >&2
  exit 1
fi
echo "child symbols ok: $(nm -u "$1" | wc -l) undefined, none forbidden"
