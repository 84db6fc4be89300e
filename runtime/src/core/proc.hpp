// What the kernel says about a process: whether it still is the one mkrun started.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace mkrun::proc {

struct ProcessStat {
  char state = '?';         // 'R', 'S', 'Z', ...
  uint64_t start_time = 0;  // clock ticks after boot (field 22)
};

std::optional<ProcessStat> read_stat(pid_t pid);

// True when `pid` runs and is the process that started at `start_time`: a zombie, a gone pid or
// a reused one is not.
bool is_alive(pid_t pid, uint64_t start_time);

}  // namespace mkrun::proc

#include "mkrun/base/error.hpp"
#include "mkrun/base/fd.hpp"

namespace mkrun::proc {

// The root of a procfs that is really one: a fresh, detached instance where mkrun may make one
// (fsopen, so that nothing mounted over the host's /proc is in the way), else the host's /proc.
// Either way fstatfs must say PROC_SUPER_MAGIC and the inode must be procfs's root. The child
// reaches every procfs file through it (CVE-2025-52881, CVE-2019-19921): the container's /proc
// is never trusted.
Result<UniqueFd> open_verified_root();

// How many threads this process has (num_threads of self/stat under `proc_root`).
Result<long> thread_count(int proc_root);

// A pidfd of `pid` (pidfd_open, Linux 5.3+): it keeps naming that process, even once it has
// exited, where the pid could be reused.
Result<UniqueFd> open_pidfd(pid_t pid);

}  // namespace mkrun::proc
