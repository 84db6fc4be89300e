// The parent's side of starting a child from a plan, one for `create` (the init) and `exec`: the
// Spawner, which walks the child through the sync protocol (child/sync.hpp), and its parts: the
// clone, the sync channel, the console socket, the pid file.
#pragma once

#include <sys/types.h>

#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>

#include "cgroups/manager.hpp"
#include "child/sync.hpp"
#include "mkrun/base/error.hpp"
#include "mkrun/base/fd.hpp"
#include "mkrun/oci/spec.hpp"
#include "mkrun/oci/state.hpp"
#include "plan/builder.hpp"

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
  // A kNote from the child goes here, between any two messages; without a handler, nowhere.
  void on_note(std::function<void(const Error&)> note) { note_ = std::move(note); }
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
  std::function<void(const Error&)> note_;
};

// One child started from a plan: create's init or exec's process. Its steps are those of the
// sync protocol, in order, and each refuses to run out of it:
//   prepare -> clone -> started -> join_cgroup -> go -> [await_hooks -> hooks_done] -> ready
// `create` does its own work between them (id maps after started, the record after go, the
// runtime hooks between await_hooks and hooks_done). A Spawner destroyed before release()
// kills and reaps what it cloned, thawing the cgroup first so that a frozen child can die.
class Spawner {
 public:
  struct Setup {
    const char* what = "process";          // "container init": named in errors
    bool terminal = false;                 // the child sends a pty master
    std::string console_socket;            // where it goes; empty with keep_console_for_caller
    bool keep_console_for_caller = false;  // foreground run, exec -t: mkrun proxies the pty
    // --pidfd-socket (runc 1.2+): an AF_UNIX path that receives a pidfd of the process once it
    // is set up, before it runs its program; empty: none. The message says which process it is:
    // runc's init types, "standard" (create's init) or "setns" (exec's process).
    std::string pidfd_socket;
    const char* pidfd_message = "standard";
    // The child joins its cgroup by itself: its v1 tasks files, and born in the unified one
    // (CLONE_INTO_CGROUP). Not from inside a new user namespace, where they are not its own.
    bool child_joins_cgroup = true;
    // A wait ends with runc's refusal once the cgroup is frozen (exec --ignore-paused: not).
    bool stop_if_frozen = true;
    ListenerHandler hand_listener;  // a seccomp listener the child sends goes here
    // Told each step for --debug (GlobalOptions::debug); may be empty.
    std::function<void(const std::string&)> debug;
  };

  Spawner(plan::PreparedPlan& prepared, cgroups::Manager& cgroup)
      : prepared_(prepared), cgroup_(cgroup) {}
  Spawner(const Spawner&) = delete;
  Spawner& operator=(const Spawner&) = delete;
  ~Spawner();

  // Before the clone: the verified procfs handle, the console's and the pidfd's sockets, the
  // cgroup files the child joins by itself.
  Result<void> prepare(Setup setup);
  // Clones the child into child_main. `close_in_child`: more of the parent's descriptors it
  // closes at once (the state directory's lock). Refused when mkrun runs more than one thread.
  Result<void> clone(std::span<const int> close_in_child = {});
  Result<void> started();      // kStarted: the child runs, in its new namespaces
  Result<void> join_cgroup();  // the parent moves it where it could not go by itself
  // kGo; when the child forks (a new pid namespace), waits for the final pid and reaps the
  // first child. The pidfd of the final process is opened here, while it cannot have exited.
  Result<void> go();
  Result<void> await_hooks();  // kRunHooks: the rootfs is mounted, runtime hooks may run
  Result<void> hooks_done();   // kHooksDone
  // kReady, then the pidfd goes to its socket; with `until_closed`, also until the child closes
  // its end (it executed, or handed a seccomp listener over after kReady).
  Result<void> ready(bool until_closed);
  // The process stays: the Spawner no longer kills it.
  void release() { released_ = true; }

  pid_t pid() const { return pid_; }  // the process that runs the container's program
  // Our end of the console socketpair, when mkrun keeps the pty for its caller.
  UniqueFd take_console_receiver() { return std::move(console_receiver_); }

 private:
  enum class Step {
    kNew,
    kPrepared,
    kCloned,
    kStarted,
    kJoined,
    kGone,
    kHooksAwaited,
    kHooksDone,
    kReady
  };
  Result<void> advance(std::initializer_list<Step> after, Step to);
  // "container init 1234: <what happened>", for --debug.
  void tell(const std::string& what_happened) const;
  Result<void> prepare_console();
  Result<void> send_pidfd();

  plan::PreparedPlan& prepared_;
  cgroups::Manager& cgroup_;
  Setup setup_;
  Step step_ = Step::kNew;
  UniqueFd procfs_;            // the verified procfs root the child reaches procfs through
  UniqueFd unified_cgroup_;    // for CLONE_INTO_CGROUP
  UniqueFd console_socket_;    // the child's end
  UniqueFd console_receiver_;  // ours, when mkrun keeps the pty
  UniqueFd pidfd_socket_;      // connected to Setup::pidfd_socket
  UniqueFd pidfd_;             // of the final process, from go() until it is sent
  std::optional<SyncChannel> channel_;
  bool joined_at_clone_ = false;
  pid_t child_pid_ = 0;  // the one cloned; the final one too unless it forked
  pid_t pid_ = 0;
  bool released_ = false;
};

// runc's rules for a terminal and a console socket; `detach`: mkrun does not keep the pty for
// its caller (create, run -d, exec -d).
Result<void> check_console_options(bool terminal, bool detach, bool has_console_socket);

// Connects to the agent at seccomp.listenerPath and sends it, in one message as runc does, the
// ContainerProcessState (the container's `state`, `pid` the filtered process, the
// listenerMetadata) with the listener attached.
Result<void> send_to_seccomp_agent(const oci::Seccomp& seccomp, const oci::State& state, pid_t pid,
                                   int listener);

// Receives the pty master a child sent over a socketpair (foreground `run` and `exec -t`).
Result<UniqueFd> receive_pty_master(int socket);
// Written atomically, bare digits, as runc (go-runc parses it with Atoi).
Result<void> write_pid_file(const std::string& path, pid_t pid);
// SIGKILLs a child and reaps it, waiting up to 5 s: a task in a frozen cgroup does not die until
// it is thawed, and the caller must not wait for that forever (the child, unreaped, is then
// reaped by our reaper once we exit).
void kill_and_reap(pid_t pid);

}  // namespace mkrun::runtime::internal
