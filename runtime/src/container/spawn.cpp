#include "container/spawn.hpp"

#include <linux/sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "core/files.hpp"

namespace mkrun::runtime::internal {

Result<sync::Message> SyncChannel::read_message(bool& eof) {
  sync::Message message{};
  ssize_t n;
  do {
    n = ::recv(fd_.get(), &message, sizeof message, 0);
  } while (n < 0 && errno == EINTR);
  eof = n == 0;
  if (n < 0) return fail_errno("read from the container process");
  if (message.kind == sync::Kind::kError) return fail(message.detail, message.value);
  return message;
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

Result<void> SyncChannel::wait_for_exec() {
  bool eof = false;
  MKRUN_CHECK(read_message(eof));
  if (!eof) return fail("unexpected message from the container process");
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
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail_errno("create a socket for `" + path + "`");
  UniqueFd socket(fd);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) {
    return fail("console socket path `" + path + "` is too long");
  }
  path.copy(address.sun_path, path.size());
  if (::connect(socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) {
    return fail_errno("connect to console socket `" + path + "`");
  }
  return socket;
}

Result<UniqueFd> receive_pty_master(int socket) {
  char payload[4096];
  iovec data{payload, sizeof payload};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(socket, &message, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return fail_errno("receive the pty master");
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  if (header == nullptr || header->cmsg_type != SCM_RIGHTS) {
    return fail("the container process sent no pty master");
  }
  int fd = -1;
  std::memcpy(&fd, CMSG_DATA(header), sizeof fd);
  return UniqueFd(fd);
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
  (void)::waitpid(pid, nullptr, __WALL);
}

}  // namespace mkrun::runtime::internal
