// Staying in the foreground with a container process (`run`, `exec`): forwarding signals to
// it, proxying its pty when mkrun holds the master, and reaping it as its subreaper.
#pragma once

#include <signal.h>
#include <sys/types.h>
#include <termios.h>

#include "mkrun/base/error.hpp"
#include "mkrun/base/fd.hpp"

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

// The terminal on mkrun's side of a proxied pty: the first of stderr, stdout and stdin that is
// one (any of them may be redirected), else the controlling terminal, as runc picks it. Its
// size becomes the pty's; what mkrun reads from stdin goes to the pty whichever it is.
class HostTerminal {
 public:
  // Fails as runc does ("open /dev/tty: no such device or address") when there is none.
  static Result<HostTerminal> find();
  int fd() const { return fd_; }

 private:
  explicit HostTerminal(int fd) : fd_(fd) {}
  explicit HostTerminal(UniqueFd controlling)
      : fd_(controlling.get()), controlling_(std::move(controlling)) {}
  int fd_;
  UniqueFd controlling_;  // /dev/tty, when mkrun had to open it
};

// Puts mkrun's own terminal in raw mode, but for output processing, while it proxies the
// container's pty.
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

// A pty mkrun proxies between its stdio and the container: the master, and the host terminal
// it takes its window size from (-1: none).
struct ProxiedPty {
  int master = -1;
  int host_terminal = -1;
};

// Waits for `pid`, forwarding signals and proxying `pty` (its master -1: none); returns its exit
// code (128+signal when killed).
Result<int> wait_in_foreground(pid_t pid, const BlockedSignals& signals, ProxiedPty pty);

}  // namespace mkrun::runtime::internal
