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
