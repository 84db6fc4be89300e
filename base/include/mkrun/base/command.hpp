// Running a host program and reading what it prints: `ps` for `mkrun ps`, `ihkconfig` for the
// McKernel backend, `criu` for checkpoint and restore; starting one that outlives the caller (the
// warm pool's background reset). The one place for posix_spawn, its pipe and its wait.
#pragma once

#include <string>
#include <vector>

#include "mkrun/base/error.hpp"

namespace mkrun::command {

struct Output {
  std::string text;     // stdout, and stderr when asked for
  int wait_status = 0;  // as waitpid gives it
  bool succeeded() const;
};

enum class Stderr { kDiscard, kCapture };

// Runs argv[0] (looked up in PATH unless it holds a '/') with stdin on /dev/null and stdout
// captured, and waits for it. A program that cannot be started is an error whose errc is
// posix_spawn's (ENOENT: not found); one that runs and fails is not: see wait_status.
Result<Output> run(const std::vector<std::string>& argv, Stderr stderr_mode);

// An fd of the caller handed to the program under another number.
struct FdAt {
  int fd;      // the caller's
  int target;  // the program's
};

// Runs argv[0] (looked up in PATH) on the caller's stdin and stderr, its stdout going to stderr
// too (what it prints is for the user, not the caller's output), plus `extra` fds, with no
// signal blocked, and waits for it; returns its wait status. For criu, whose log is a file.
Result<int> run_attached(const std::vector<std::string>& argv, const std::vector<FdAt>& extra);

// Starts argv[0] (an absolute path) detached and does not wait for it: in a session of its own,
// its standard streams on /dev/null, no signal blocked or handled, none of the caller's fds (all
// are close-on-exec). Once the caller exits, the nearest subreaper (or init) reaps it.
Result<void> start_detached(const std::vector<std::string>& argv);

}  // namespace mkrun::command
