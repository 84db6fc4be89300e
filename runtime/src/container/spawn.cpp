#include "container/spawn.hpp"

#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstring>

#include "child/child.hpp"
#include "child/fd_passing.hpp"
#include "core/proc.hpp"
#include "mkrun/base/files.hpp"

namespace mkrun::runtime::internal {

namespace {

// recvmsg of one message and at most one fd, owned by `fd`.
ssize_t receive_with_fd(int socket, void* buffer, size_t size, UniqueFd& fd) {
  int received = -1;
  ssize_t n = child::receive_with_fd(socket, buffer, size, received);
  if (received >= 0) fd.reset(received);
  return n;
}

// A unix stream socket connected to `path`; "@name" is an abstract address, as for Go's
// net.Dial, which runc uses. On failure: an error naming the syscall, the errno in it.
Result<UniqueFd> connect_unix(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) return fail("path too long", ENAMETOOLONG);
  path.copy(address.sun_path, path.size());
  socklen_t length = sizeof address;
  if (path.starts_with('@')) {
    address.sun_path[0] = '\0';
    length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail_errno("socket");
  UniqueFd socket(fd);
  if (::connect(socket.get(), reinterpret_cast<sockaddr*>(&address), length) < 0) {
    return fail_errno("connect");
  }
  return socket;
}

// clone3 with CLONE_INTO_CGROUP when `unified_cgroup_fd` is set, so the child is born in its
// unified cgroup; a plain clone when not (or on a kernel without it). Fork semantics: returns
// the pid in the parent, 0 in the child, -1 with errno on failure.
long clone_child(unsigned long flags, int unified_cgroup_fd, bool& joined_at_clone) {
  joined_at_clone = false;
  if (unified_cgroup_fd >= 0) {
    clone_args args{};
    args.flags = flags | CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = static_cast<uint64_t>(unified_cgroup_fd);
    long pid = ::syscall(SYS_clone3, &args, sizeof args);
    if (pid >= 0) {
      joined_at_clone = true;
      return pid;
    }
    if (errno != ENOSYS && errno != E2BIG && errno != EINVAL) return -1;
  }
  return ::syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
}

// `what`: "console", "pidfd".
Result<UniqueFd> connect_named_socket(std::string_view what, const std::string& path) {
  auto socket = connect_unix(path);
  if (!socket) {
    return std::unexpected(std::move(socket).error().wrap("connect to " + std::string(what) +
                                                          " socket `" + path + "`"));
  }
  return socket;
}

// The raw clone is only safe in a single-threaded process: the child would inherit, held, any
// lock (malloc's) another thread had at that moment, and wait on it forever.
Result<void> check_single_threaded(int proc_root) {
  long threads = MKRUN_TRY(proc::thread_count(proc_root));
  if (threads != 1) {
    return fail("mkrun runs " + std::to_string(threads) +
                " threads: it must be single-threaded to clone a container process");
  }
  return {};
}

}  // namespace

Result<void> check_console_options(bool terminal, bool detach, bool has_console_socket) {
  if (terminal && detach && !has_console_socket) {
    return fail("cannot allocate tty if mkrun will detach without setting console socket");
  }
  if (has_console_socket && !(terminal && detach)) {
    return fail("cannot use console socket if mkrun will not detach or allocate tty");
  }
  return {};
}

Spawner::~Spawner() {
  if (released_ || child_pid_ == 0) return;
  // A frozen child would not act on SIGKILL: thaw its cgroup, which is being torn down.
  (void)cgroup_.thaw();
  kill_and_reap(pid_);
  if (child_pid_ != pid_) kill_and_reap(child_pid_);
}

Result<void> Spawner::advance(std::initializer_list<Step> after, Step to) {
  for (Step allowed : after) {
    if (step_ == allowed) {
      step_ = to;
      return {};
    }
  }
  static constexpr const char* kNames[] = {"new",         "prepare",     "clone",
                                           "started",     "join_cgroup", "go",
                                           "await_hooks", "hooks_done",  "ready"};
  return fail("spawn the " + std::string(setup_.what) + ": " + kNames[static_cast<int>(to)] +
              " cannot follow " + kNames[static_cast<int>(step_)]);
}

void Spawner::tell(const std::string& what_happened) const {
  if (!setup_.debug) return;
  setup_.debug(std::string(setup_.what) + " " + std::to_string(pid_) + ": " + what_happened);
}

Result<void> Spawner::prepare_console() {
  if (!setup_.terminal) return {};
  if (setup_.keep_console_for_caller) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
      return fail_errno("socketpair");
    console_receiver_.reset(pair[0]);
    console_socket_.reset(pair[1]);
    prepared_.plan.console_without_onlcr = true;
  } else {
    console_socket_ = MKRUN_TRY(connect_named_socket("console", setup_.console_socket));
  }
  prepared_.plan.console_socket_fd = console_socket_.get();
  return {};
}

Result<void> Spawner::prepare(Setup setup) {
  setup_ = std::move(setup);
  // runc's words, which its tests read to learn the flags the filter is loaded with.
  if (setup_.debug && prepared_.plan.seccomp_filter != nullptr) {
    setup_.debug("seccomp filter flags: " + std::to_string(prepared_.plan.seccomp_flags));
  }
  MKRUN_CHECK(advance({Step::kNew}, Step::kPrepared));
  plan::ChildPlan& p = prepared_.plan;
  procfs_ = MKRUN_TRY(proc::open_verified_root());
  p.proc_fd = procfs_.get();
  MKRUN_CHECK(prepare_console());
  if (!setup_.pidfd_socket.empty()) {
    pidfd_socket_ = MKRUN_TRY(connect_named_socket("pidfd", setup_.pidfd_socket));
  }
  if (setup_.child_joins_cgroup) {
    std::vector<std::string> task_files = cgroup_.v1_task_files();
    p.cgroup_task_files = prepared_.keep_list(task_files);
    p.cgroup_task_file_count = task_files.size();
    unified_cgroup_ = MKRUN_TRY(cgroup_.open_unified_dir());
  }
  return {};
}

Result<void> Spawner::clone(std::span<const int> close_in_child) {
  MKRUN_CHECK(advance({Step::kPrepared}, Step::kCloned));
  plan::ChildPlan& p = prepared_.plan;
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
    return fail_errno("socketpair");
  UniqueFd parent_end(pair[0]);
  UniqueFd child_end(pair[1]);
  p.sync_fd = child_end.get();
  std::vector<int> closed(close_in_child.begin(), close_in_child.end());
  closed.push_back(parent_end.get());
  if (console_receiver_) closed.push_back(console_receiver_.get());
  p.close_after_clone = closed.data();
  p.close_after_clone_count = closed.size();
  MKRUN_CHECK(check_single_threaded(procfs_.get()));

  long pid = clone_child(static_cast<unsigned long>(p.clone_flags), unified_cgroup_.get(),
                         joined_at_clone_);
  if (pid < 0) return fail_errno("clone the " + std::string(setup_.what));
  if (pid == 0) child::child_main(p);
  child_pid_ = pid_ = static_cast<pid_t>(pid);
  // The steps runc's debug log names (nsexec, init(), and the completion pipe or setns_init's
  // exec) are named the same here, so that logs, and the tools and tests that read them, line
  // up with runc's.
  tell("nsexec container setup: cloned" + std::string(joined_at_clone_ ? " into its cgroup" : "") +
       ", sync socket open");
  // What only the child needed.
  child_end.reset();
  prepared_.namespace_fds.clear();
  console_socket_.reset();

  channel_.emplace(std::move(parent_end));
  if (setup_.hand_listener) channel_->on_seccomp_listener(setup_.hand_listener);
  // What the child went on without, for --debug (runc 1.5 warns: see set_capabilities).
  channel_->on_note([this](const Error& note) { tell(note.render()); });
  // Frozen meanwhile (by someone else's `pause` or a freeze of a parent), the child would never
  // answer: the wait ends with runc's refusal instead.
  if (setup_.stop_if_frozen) {
    channel_->on_stall([this]() -> Result<void> {
      if (cgroup_.frozen_before_join().value_or(false))
        return fail("container's cgroup unexpectedly frozen");
      return {};
    });
  }
  return {};
}

Result<void> Spawner::started() {
  MKRUN_CHECK(advance({Step::kCloned}, Step::kStarted));
  MKRUN_CHECK(channel_->receive(sync::Kind::kStarted));
  tell("child process in init(): started in its namespaces");
  return {};
}

Result<void> Spawner::join_cgroup() {
  MKRUN_CHECK(advance({Step::kStarted}, Step::kJoined));
  if (!setup_.child_joins_cgroup) {
    MKRUN_CHECK(cgroup_.add_process(child_pid_));
    tell("moved into the container's cgroup");
  } else if (!joined_at_clone_) {
    MKRUN_CHECK(cgroup_.add_process_to_unified(child_pid_));
    tell("moved into the container's unified cgroup");
  }
  return {};
}

Result<void> Spawner::go() {
  MKRUN_CHECK(advance({Step::kJoined}, Step::kGone));
  MKRUN_CHECK(channel_->send(sync::Kind::kGo));
  tell("told to go on with its setup");
  if (prepared_.plan.fork_after_unshare) {
    auto message = MKRUN_TRY(channel_->receive(sync::Kind::kInitPid));
    const pid_t first_child = child_pid_;
    pid_ = message.value;
    (void)::waitpid(child_pid_, nullptr, 0);
    child_pid_ = pid_;
    tell("forked into the new pid namespace by " + std::to_string(first_child) +
         ", which mkrun reaped");
  }
  // Until kReady the process waits on us: it has not run its program, nor exited.
  if (pidfd_socket_) pidfd_ = MKRUN_TRY(proc::open_pidfd(pid_));
  return {};
}

Result<void> Spawner::await_hooks() {
  MKRUN_CHECK(advance({Step::kGone}, Step::kHooksAwaited));
  MKRUN_CHECK(channel_->receive(sync::Kind::kRunHooks));
  tell("rootfs set up, waits for the runtime hooks");
  return {};
}

Result<void> Spawner::hooks_done() {
  MKRUN_CHECK(advance({Step::kHooksAwaited}, Step::kHooksDone));
  MKRUN_CHECK(channel_->send(sync::Kind::kHooksDone));
  tell("told the runtime hooks are done");
  return {};
}

Result<void> Spawner::ready(bool until_closed) {
  MKRUN_CHECK(advance({Step::kGone, Step::kHooksDone}, Step::kReady));
  MKRUN_CHECK(channel_->receive(sync::Kind::kReady));
  tell(prepared_.plan.exec_mode
           ? "setns_init: about to exec: its setup is complete"
           : "init: closing the pipe to signal completion: its setup is complete");
  MKRUN_CHECK(send_pidfd());
  if (!until_closed) return {};
  MKRUN_CHECK(channel_->wait_for_close());
  tell("closed the sync socket");
  return {};
}

// runc 1.2+ sends it once the process is set up (its console sent), before its program runs;
// for exec's process that is now, before it is let go.
Result<void> Spawner::send_pidfd() {
  if (!pidfd_socket_) return {};
  const std::string_view message = setup_.pidfd_message;
  if (!child::send_with_fd(pidfd_socket_.get(), message.data(), message.size(), pidfd_.get())) {
    return fail_errno("send the pidfd of " + std::string(setup_.what) + " " + std::to_string(pid_) +
                      " to pidfd socket `" + setup_.pidfd_socket + "`");
  }
  tell("pidfd sent to " + setup_.pidfd_socket);
  pidfd_.reset();
  pidfd_socket_.reset();
  return {};
}

Result<void> SyncChannel::wait_readable() {
  if (!stall_check_) return {};
  for (;;) {
    pollfd readable{fd_.get(), POLLIN, 0};
    int n = ::poll(&readable, 1, 200);
    if (n > 0) return {};
    if (n < 0 && errno != EINTR) return fail_errno("wait for the container process");
    if (n == 0) MKRUN_CHECK(stall_check_());
  }
}

Result<sync::Message> SyncChannel::read_message(bool& eof) {
  for (;;) {
    MKRUN_CHECK(wait_readable());
    sync::Message message{};
    UniqueFd attached;
    ssize_t n = receive_with_fd(fd_.get(), &message, sizeof message, attached);
    eof = n == 0;
    if (n < 0) return fail_errno("read from the container process");
    if (eof) return message;
    if (message.kind == sync::Kind::kError) return fail(message.detail, message.value);
    if (message.kind == sync::Kind::kNote) {
      if (note_) note_(Error(message.detail, message.value));
      continue;
    }
    if (message.kind != sync::Kind::kSeccompListener) return message;
    MKRUN_CHECK(pass_listener(std::move(attached)));
  }
}

Result<void> SyncChannel::pass_listener(UniqueFd listener) {
  if (!listener_handler_) return fail("the container process sent an unexpected seccomp listener");
  if (!listener) return fail("the container process sent no seccomp listener fd");
  MKRUN_CHECK(listener_handler_(std::move(listener)));
  return send(sync::Kind::kSeccompDone);
}

Result<sync::Message> SyncChannel::receive(sync::Kind expected) {
  bool eof = false;
  auto message = MKRUN_TRY(read_message(eof));
  if (eof) return fail("container process exited before it was set up");
  if (message.kind != expected) return fail("unexpected message from the container process");
  return message;
}

Result<void> SyncChannel::send(sync::Kind kind) {
  sync::Message message{};
  message.kind = kind;
  if (::send(fd_.get(), &message, sizeof message, MSG_NOSIGNAL) < 0) {
    return fail_errno("write to the container process");
  }
  return {};
}

Result<void> SyncChannel::wait_for_close() {
  bool eof = false;
  MKRUN_CHECK(read_message(eof));
  if (!eof) return fail("unexpected message from the container process");
  return {};
}

Result<void> send_to_seccomp_agent(const oci::Seccomp& seccomp, const oci::State& state, pid_t pid,
                                   int listener) {
  const std::string& listener_path = seccomp.listenerPath;
  std::string process_state =
      oci::render_container_process_state(state, pid, seccomp.listenerMetadata);
  auto socket = connect_unix(listener_path);
  if (!socket) {
    return std::unexpected(std::move(socket).error().wrap(
        "failed to connect with seccomp agent specified in the seccomp profile: dial unix " +
        listener_path));
  }
  if (!child::send_with_fd(socket->get(), process_state.data(), process_state.size(), listener)) {
    return fail_errno("cannot send seccomp fd to " + listener_path);
  }
  return {};
}

Result<UniqueFd> receive_pty_master(int socket) {
  char payload[4096];
  UniqueFd master;
  if (receive_with_fd(socket, payload, sizeof payload, master) < 0) {
    return fail_errno("receive the pty master");
  }
  if (!master) return fail("the container process sent no pty master");
  return master;
}

Result<void> write_pid_file(const std::string& path, pid_t pid) {
  if (path.empty()) return {};
  std::string absolute = path;
  if (!path.starts_with('/')) {
    char cwd[PATH_MAX];
    absolute = std::string(::getcwd(cwd, sizeof cwd) != nullptr ? cwd : ".") + "/" + path;
  }
  return files::write_file_atomic(absolute, std::to_string(pid), 0666);
}

void kill_and_reap(pid_t pid) {
  if (pid <= 0) return;
  (void)::kill(pid, SIGKILL);
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) {
    UniqueFd exited(pidfd);
    pollfd ready{exited.get(), POLLIN, 0};
    while (::poll(&ready, 1, 5000) < 0 && errno == EINTR) {
    }
  }
  (void)::waitpid(pid, nullptr, __WALL | WNOHANG);
}

}  // namespace mkrun::runtime::internal
