#!/bin/sh
# Fails when the clone-to-execve code (the child library, $1) calls anything outside an
# allow-list: async-signal-safe libc functions (signal-safety(7)), thin wrappers of system calls
# that take no lock and allocate nothing, and pure string and memory functions. Whatever else it
# calls, another mkrun function included (which may allocate), is reported. Calls between the
# library's own objects are fine: their code is checked here too.
set -eu
allowed='_exit|execve|fork|kill|waitpid|setsid|umask|sigemptyset|sigprocmask|clock_gettime'
allowed="$allowed|open|openat|close|dup2|pipe2|fcntl|read|write|lseek|poll|sendfile"
allowed="$allowed|socket|send|recv|sendmsg|ioctl|tcgetattr|tcsetattr"
allowed="$allowed|stat|fstat|fstatat|statfs|fstatfs|readlinkat|chdir|fchdir|chroot|mkdirat|mknodat"
allowed="$allowed|symlinkat|unlinkat|fchmodat|fchown|fchownat|utimensat|mount|umount2"
allowed="$allowed|setns|unshare|sethostname|setdomainname|setgroups|setresuid|setresgid|setrlimit"
allowed="$allowed|prctl|personality|sched_setaffinity|syscall"
allowed="$allowed|strlen|strcmp|strchr|strrchr|memcpy|memmove|memset|memcmp|gnu_dev_makedev"
allowed="$allowed|__errno_location|_GLOBAL_OFFSET_TABLE_"
defined=$(mktemp); trap 'rm -f "$defined"' EXIT
nm --defined-only "$1" 2>/dev/null | awk 'NF == 3 {print $3}' | sort -u >"$defined"
called=$(nm -u "$1" | awk '$1 == "U" {print $2}' | sort -u)
# glibc's large-file names (open64, fstatat64) are the same functions, and so are
# _FORTIFY_SOURCE's checked ones (__memcpy_chk, __openat64_2: Debian's package build sets it),
# which only add a bounds check that aborts.
bad=$(echo "$called" | grep -vxFf "$defined" | grep -vxE "(__)?($allowed)(64)?(_chk|_2)?" || true)
if [ -n "$bad" ]; then
  echo "child code calls what is not on its allow-list between clone and execve:" >&2
  echo "$bad" >&2
  exit 1
fi
echo "child symbols ok: $(echo "$called" | wc -l) called, all defined in the child or allowed"
