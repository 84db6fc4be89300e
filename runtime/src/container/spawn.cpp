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

#include "child/fd_passing.hpp"
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

}  // namespace

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

Result<UniqueFd> connect_console_socket(const std::string& path) {
  auto socket = connect_unix(path);
  if (!socket) {
    return std::unexpected(
        std::move(socket).error().wrap("connect to console socket `" + path + "`"));
  }
  return socket;
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
