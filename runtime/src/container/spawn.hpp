// The parent's side of starting a child from a plan, shared by `create` and `exec`: the clone
// itself, the sync channel (child/sync.hpp), the console socket, the pid file.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "child/sync.hpp"
#include "mkrun/base/error.hpp"
#include "mkrun/base/fd.hpp"
#include "mkrun/oci/spec.hpp"
#include "mkrun/oci/state.hpp"

namespace mkrun::runtime::internal {

// Passes a seccomp listener the child handed over to the agent (see SyncChannel).
using ListenerHandler = std::function<Result<void>(UniqueFd listener)>;

// The parent's end of the sync socket.
class SyncChannel {
 public:
  explicit SyncChannel(UniqueFd fd) : fd_(std::move(fd)) {}
  // A child with an SCMP_ACT_NOTIFY filter sends its listener between any two messages: each
  // read passes it to `handler` and lets the child go on. Without a handler it is an error.
  void on_seccomp_listener(ListenerHandler handler) { listener_handler_ = std::move(handler); }
  // Called about every 200 ms while a read waits; an error it returns ends the wait. A child
  // stopped in a frozen cgroup neither answers nor exits, so without this the read would never
  // end.
  void on_stall(std::function<Result<void>()> check) { stall_check_ = std::move(check); }
  // Waits for `expected`; a kError from the child becomes this call's error.
  Result<sync::Message> receive(sync::Kind expected);
  Result<void> send(sync::Kind kind);
  // After kReady: waits for the child to close its end. In exec mode EOF means the process was
  // executed, kError that it was not; `create` waits so when the child hands a listener over
  // after kReady.
  Result<void> wait_for_close();

 private:
  Result<sync::Message> read_message(bool& eof);
  Result<void> pass_listener(UniqueFd listener);
  Result<void> wait_readable();
  UniqueFd fd_;
  ListenerHandler listener_handler_;
  std::function<Result<void>()> stall_check_;
};

// Connects to the agent at seccomp.listenerPath and sends it, in one message as runc does, the
// ContainerProcessState (the container's `state`, `pid` the filtered process, the
// listenerMetadata) with the listener attached.
Result<void> send_to_seccomp_agent(const oci::Seccomp& seccomp, const oci::State& state, pid_t pid,
                                   int listener);

// clone3 with CLONE_INTO_CGROUP when `unified_cgroup_fd` is set, so the child is born in its
// unified cgroup; a plain clone when not (or on a kernel without it). Fork semantics: returns
// the pid in the parent, 0 in the child, -1 with errno on failure.
long clone_child(unsigned long flags, int unified_cgroup_fd, bool& joined_at_clone);

Result<UniqueFd> connect_console_socket(const std::string& path);
// Receives the pty master a child sent over a socketpair (foreground `run` and `exec -t`).
Result<UniqueFd> receive_pty_master(int socket);
// Written atomically, bare digits, as runc (go-runc parses it with Atoi).
Result<void> write_pid_file(const std::string& path, pid_t pid);
// SIGKILLs a child and reaps it, waiting up to 5 s: a task in a frozen cgroup does not die until
// it is thawed, and the caller must not wait for that forever (the child, unreaped, is then
// reaped by our reaper once we exit).
void kill_and_reap(pid_t pid);

}  // namespace mkrun::runtime::internal
