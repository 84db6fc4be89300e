#include "linux/notify.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstring>

#include "core/proc.hpp"
#include "mkrun/base/files.hpp"
#include "mkrun/base/numbers.hpp"

namespace mkrun::notify {

// ---- Pure rules -------------------------------------------------------------------------------

std::optional<std::string> ready_line(std::string_view datagram) {
  if (!datagram.starts_with("READY=")) return std::nullopt;
  return std::string(datagram.substr(0, datagram.find('\n')));
}

namespace {

// The value of the first `name=` entry, as getenv and Go's os.Getenv find it.
std::optional<std::string_view> env_value(const char* const* env, std::string_view name) {
  for (; env != nullptr && *env != nullptr; ++env) {
    std::string_view entry = *env;
    if (entry.size() > name.size() && entry.starts_with(name) && entry[name.size()] == '=') {
      return entry.substr(name.size() + 1);
    }
  }
  return std::nullopt;
}

// Go's strconv.Atoi: an optional sign, then decimal digits only, within 64 bits.
std::optional<long long> go_atoi(std::string_view text) {
  if (text.starts_with('+')) text.remove_prefix(1);
  if (text.starts_with('+')) return std::nullopt;
  return parse_number<long long>(text);
}

}  // namespace

ListenFds listen_fds_from_env(const char* const* env, pid_t pid) {
  auto listen_pid = env_value(env, "LISTEN_PID");
  auto listen_fds = env_value(env, "LISTEN_FDS");
  if (!listen_pid || !listen_fds) return {};
  auto owner = go_atoi(*listen_pid);
  if (!owner || *owner != pid) return {};
  auto count = go_atoi(*listen_fds);
  // An absurd count would run the fd numbers past INT_MAX; systemd never sends one.
  if (!count || *count <= 0 || *count > INT_MAX - 3) return {};
  return ListenFds{static_cast<unsigned>(*count),
                   {"LISTEN_FDS=" + std::to_string(*count), "LISTEN_PID=1"}};
}

// ---- Unix datagram sockets --------------------------------------------------------------------

namespace {

// A sockaddr_un for `path`. "@name" is the abstract namespace (systemd may use it). A path too
// long for sun_path (a deep --root, a long id) is reached through its directory instead:
// /proc/self/fd/<dir>/<name>, with the directory kept open until the bind or connect is done.
struct UnixAddress {
  sockaddr_un address{};
  socklen_t length = 0;
  UniqueFd directory;

  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&address); }
};

Result<void> set_sun_path(UnixAddress& out, std::string_view path) {
  if (path.size() >= sizeof out.address.sun_path) {
    return fail("socket path `" + std::string(path) + "` is too long");
  }
  out.address.sun_family = AF_UNIX;
  path.copy(out.address.sun_path, path.size());
  out.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  return {};
}

Result<UnixAddress> unix_address(const std::string& path) {
  UnixAddress out;
  if (path.starts_with('@')) {
    MKRUN_CHECK(set_sun_path(out, path));
    out.address.sun_path[0] = '\0';
    out.length -= 1;  // an abstract name has no terminating NUL
    return out;
  }
  if (path.size() < sizeof out.address.sun_path) {
    MKRUN_CHECK(set_sun_path(out, path));
    return out;
  }
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return fail("socket path `" + path + "` is too long");
  out.directory = MKRUN_TRY(files::open(path.substr(0, slash), O_PATH | O_DIRECTORY));
  std::string short_path =
      "/proc/self/fd/" + std::to_string(out.directory.get()) + path.substr(slash);
  MKRUN_CHECK(set_sun_path(out, short_path));
  return out;
}

Result<UniqueFd> datagram_socket() {
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail_errno("create a unix datagram socket");
  return UniqueFd(fd);
}

Result<void> send_datagram(int socket, const std::string& text, const std::string& where) {
  while (::send(socket, text.data(), text.size(), MSG_NOSIGNAL) < 0) {
    if (errno != EINTR) return fail_errno("send to `" + where + "`");
  }
  return {};
}

NotifySocket describe(const std::string& state_dir, const char* host_socket) {
  NotifySocket notify;
  notify.host_socket = host_socket;
  notify.directory = state_dir + "/" + kDirectoryName;
  notify.socket_path = notify.directory + "/" + kSocketName;
  return notify;
}

bool is_set(const char* value) {
  return value != nullptr && value[0] != '\0';
}

}  // namespace

Result<UniqueFd> connect_host_socket(const std::string& host_socket) {
  auto socket = MKRUN_TRY(datagram_socket());
  auto address = MKRUN_TRY(unix_address(host_socket));
  if (::connect(socket.get(), address.get(), address.length) < 0) {
    return fail_errno("connect to NOTIFY_SOCKET `" + host_socket + "`");
  }
  return socket;
}

// ---- create -----------------------------------------------------------------------------------

Result<std::optional<NotifySocket>> prepare_notify_socket(const std::string& state_dir,
                                                          const char* host_socket) {
  if (!is_set(host_socket)) return std::nullopt;
  NotifySocket notify = describe(state_dir, host_socket);
  if (::mkdir(notify.directory.c_str(), 0755) < 0 && errno != EEXIST) {
    return fail_errno("mkdir `" + notify.directory + "`");
  }
  // Whatever mkrun's umask: container users other than root must reach the socket.
  if (::chmod(notify.directory.c_str(), 0755) < 0) {
    return fail_errno("chmod `" + notify.directory + "`");
  }
  return notify;
}

oci::Mount notify_mount(const NotifySocket& notify) {
  oci::Mount mount;
  mount.destination = kDirectoryInContainer;
  mount.type = "bind";
  mount.source = notify.directory;
  mount.options = {"bind", "nosuid", "noexec", "nodev", "ro"};
  return mount;
}

std::string notify_env() {
  return std::string("NOTIFY_SOCKET=") + kSocketInContainer;
}

void add_notify_socket_to_spec(const NotifySocket& notify, oci::Spec& spec) {
  spec.mounts.push_back(notify_mount(notify));
  if (spec.process) spec.process->env.push_back(notify_env());
}

// ---- start ------------------------------------------------------------------------------------

Result<std::optional<NotifySocket>> open_notify_socket(const std::string& state_dir,
                                                       const char* host_socket) {
  if (!is_set(host_socket)) return std::nullopt;
  NotifySocket notify = describe(state_dir, host_socket);
  struct stat info {};
  if (::stat(notify.directory.c_str(), &info) < 0 || !S_ISDIR(info.st_mode)) return std::nullopt;
  // A socket left by an earlier `start` attempt (or a `run` that died) would make bind fail.
  if (::unlink(notify.socket_path.c_str()) < 0 && errno != ENOENT) {
    return fail_errno("remove the stale `" + notify.socket_path + "`");
  }
  notify.socket = MKRUN_TRY(datagram_socket());
  auto address = MKRUN_TRY(unix_address(notify.socket_path));
  if (::bind(notify.socket.get(), address.get(), address.length) < 0) {
    return fail_errno("bind `" + notify.socket_path + "`");
  }
  if (::chmod(notify.socket_path.c_str(), 0777) < 0) {
    return fail_errno("chmod `" + notify.socket_path + "`");
  }
  return notify;
}

Result<bool> relay_ready(const NotifySocket& notify, int host, pid_t main_pid) {
  // 4096 bytes, as runc reads; a longer datagram is cut, and any fds it carried (BARRIER=1's
  // pipe, FDSTORE=1) are closed by the kernel since no control buffer is given.
  char buffer[4096];
  ssize_t n = ::recv(notify.socket.get(), buffer, sizeof buffer, MSG_DONTWAIT);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return false;
    return fail_errno("read `" + notify.socket_path + "`");
  }
  auto line = ready_line(std::string_view(buffer, static_cast<size_t>(n)));
  if (!line) return false;
  MKRUN_CHECK(send_datagram(host, *line + "\n", notify.host_socket));
  MKRUN_CHECK(
      send_datagram(host, "MAINPID=" + std::to_string(main_pid) + "\n", notify.host_socket));
  return true;
}

namespace {

bool still_running(pid_t pid) {
  auto stat = proc::read_stat(pid);
  return stat && stat->state != 'Z' && stat->state != 'X';
}

}  // namespace

Result<void> forward_ready(const NotifySocket& notify, pid_t init_pid, pid_t main_pid) {
  auto host = MKRUN_TRY(connect_host_socket(notify.host_socket));
  // A pidfd becomes readable when the init exits, zombie or not; without pidfd_open (Linux
  // before 5.3), poll every 100 ms as runc does.
  UniqueFd init(static_cast<int>(::syscall(SYS_pidfd_open, init_pid, 0)));
  if (!init && errno == ESRCH) return {};
  for (;;) {
    pollfd fds[2] = {{notify.socket.get(), POLLIN, 0}, {init.get(), POLLIN, 0}};
    int ready = ::poll(fds, init ? 2 : 1, init ? -1 : 100);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return fail_errno("wait for the container's READY notification");
    }
    // The datagram first: an init that sent READY and exited right after still gets forwarded.
    if ((fds[0].revents & POLLIN) != 0) {
      if (MKRUN_TRY(relay_ready(notify, host.get(), main_pid))) return {};
      continue;
    }
    if (init ? fds[1].revents != 0 : !still_running(init_pid)) return {};
  }
}

}  // namespace mkrun::notify
