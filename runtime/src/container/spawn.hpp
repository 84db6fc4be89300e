// The parent's side of starting a child from a plan, shared by `create` and `exec`: the clone
// itself, the sync channel (child/sync.hpp), the console socket, the pid file.
#pragma once

#include <sys/types.h>

#include <string>

#include "child/sync.hpp"
#include "mkrun/runtime/error.hpp"
#include "mkrun/runtime/fd.hpp"

namespace mkrun::runtime::internal {

// The parent's end of the sync socket.
class SyncChannel {
 public:
  explicit SyncChannel(UniqueFd fd) : fd_(std::move(fd)) {}
  // Waits for `expected`; a kError from the child becomes this call's error.
  Result<sync::Message> receive(sync::Kind expected);
  Result<void> send(sync::Kind kind);
  // After kReady in exec mode: EOF means the process was executed, kError that it was not.
  Result<void> wait_for_exec();

 private:
  Result<sync::Message> read_message(bool& eof);
  UniqueFd fd_;
};

// clone3 with CLONE_INTO_CGROUP when `unified_cgroup_fd` is set, so the child is born in its
// unified cgroup; a plain clone when not (or on a kernel without it). Fork semantics: returns
// the pid in the parent, 0 in the child, -1 with errno on failure.
long clone_child(unsigned long flags, int unified_cgroup_fd, bool& joined_at_clone);

Result<UniqueFd> connect_console_socket(const std::string& path);
// Receives the pty master a child sent over a socketpair (foreground `run` and `exec -t`).
Result<UniqueFd> receive_pty_master(int socket);
// Written atomically, bare digits, as runc (go-runc parses it with Atoi).
Result<void> write_pid_file(const std::string& path, pid_t pid);
void kill_and_reap(pid_t pid);

}  // namespace mkrun::runtime::internal
