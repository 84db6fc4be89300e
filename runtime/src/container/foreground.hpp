// Staying in the foreground with a container process (`run`, `exec`): forwarding signals to
// it, proxying its pty when mkrun holds the master, and reaping it as its subreaper.
#pragma once

#include <signal.h>
#include <sys/types.h>
#include <termios.h>

#include "mkrun/base/error.hpp"

namespace mkrun::runtime::internal {

// Blocks every signal mkrun forwards, so none is lost between the clone and the wait loop; the
// child unblocks them itself before execve.
class BlockedSignals {
 public:
  BlockedSignals();
  ~BlockedSignals();
  BlockedSignals(const BlockedSignals&) = delete;
  BlockedSignals& operator=(const BlockedSignals&) = delete;
  const sigset_t& set() const { return set_; }

 private:
  sigset_t set_{};
  sigset_t previous_{};
};

// Puts mkrun's own terminal in raw mode while it proxies the container's pty.
class RawTerminal {
 public:
  explicit RawTerminal(int fd);
  ~RawTerminal();
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

// Waits for `pid`, forwarding signals and proxying `pty_master` (-1: none); returns its exit
// code (128+signal when killed).
Result<int> wait_in_foreground(pid_t pid, const BlockedSignals& signals, int pty_master);

}  // namespace mkrun::runtime::internal
