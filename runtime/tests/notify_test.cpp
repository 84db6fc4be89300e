#include "linux/notify.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "linux_test_util.hpp"

using namespace mkrun;
using mkrun::test::Cleanup;
using mkrun::test::ParkedProcess;
using mkrun::test::TempDir;

namespace {

// A datagram socket standing in for systemd's NOTIFY_SOCKET.
class HostListener {
 public:
  explicit HostListener(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    socklen_t length = sizeof address;
    if (path.starts_with('@')) {
      address.sun_path[0] = '\0';
      length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
    }
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&address), length) == 0;
  }
  HostListener(const HostListener&) = delete;
  HostListener& operator=(const HostListener&) = delete;
  ~HostListener() { ::close(fd_); }
  bool bound() const { return bound_; }

  // Every datagram that arrives within `wait_ms` of the previous one.
  std::vector<std::string> received(int wait_ms = 200) {
    std::vector<std::string> datagrams;
    pollfd fds{fd_, POLLIN, 0};
    while (::poll(&fds, 1, wait_ms) == 1) {
      char buffer[4096];
      ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n < 0) break;
      datagrams.emplace_back(buffer, static_cast<size_t>(n));
    }
    return datagrams;
  }

 private:
  int fd_ = -1;
  bool bound_ = false;
};

// What the container does: one datagram to the notify socket (through /proc/self/fd when the
// path is too long for sun_path).
bool send_datagram(const std::string& path, const std::string& text) {
  int dir = ::open(path.substr(0, path.rfind('/')).c_str(), O_PATH | O_CLOEXEC);
  std::string short_path = "/proc/self/fd/" + std::to_string(dir) + path.substr(path.rfind('/'));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, short_path.c_str(), sizeof address.sun_path - 1);
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  bool sent = ::sendto(fd, text.data(), text.size(), 0, reinterpret_cast<sockaddr*>(&address),
                       sizeof address) == static_cast<ssize_t>(text.size());
  ::close(fd);
  ::close(dir);
  return sent;
}

// A test that would otherwise hang on a wait that never ends dies instead.
struct Deadline {
  explicit Deadline(unsigned seconds) { ::alarm(seconds); }
  ~Deadline() { ::alarm(0); }
};

std::optional<notify::NotifySocket> prepared_and_opened(const std::string& state_dir,
                                                        const std::string& host) {
  auto prepared = notify::prepare_notify_socket(state_dir, host.c_str());
  if (!prepared || !*prepared) return std::nullopt;
  auto opened = notify::open_notify_socket(state_dir, host.c_str());
  if (!opened || !*opened) return std::nullopt;
  return std::move(**opened);
}

}  // namespace

// ---- LISTEN_FDS -------------------------------------------------------------------------------

TEST_CASE("socket activation fds pass when LISTEN_PID is mkrun's pid", "[notify]") {
  const char* env[] = {"PATH=/bin", "LISTEN_FDS=2", "LISTEN_PID=321", nullptr};
  notify::ListenFds listen = notify::listen_fds_from_env(env, 321);
  CHECK(listen.count == 2);
  CHECK(listen.env == std::vector<std::string>{"LISTEN_FDS=2", "LISTEN_PID=1"});
}

TEST_CASE("socket activation meant for another process passes nothing", "[notify]") {
  const char* env[] = {"LISTEN_FDS=2", "LISTEN_PID=321", nullptr};
  notify::ListenFds listen = notify::listen_fds_from_env(env, 322);
  CHECK(listen.count == 0);
  CHECK(listen.env.empty());
}

TEST_CASE("LISTEN_FDS and LISTEN_PID are read as Go's Atoi reads them", "[notify]") {
  auto count = [](const char* fds, const char* pid) {
    std::string fds_entry = std::string("LISTEN_FDS=") + fds;
    std::string pid_entry = std::string("LISTEN_PID=") + pid;
    const char* env[] = {fds_entry.c_str(), pid_entry.c_str(), nullptr};
    return notify::listen_fds_from_env(env, 50).count;
  };
  CHECK(count("1", "50") == 1);
  CHECK(count("+3", "+50") == 3);
  CHECK(count("0", "50") == 0);
  CHECK(count("-1", "50") == 0);
  CHECK(count("", "50") == 0);
  CHECK(count("2x", "50") == 0);
  CHECK(count(" 2", "50") == 0);
  CHECK(count("2", "") == 0);
  CHECK(count("2", "050") == 2);  // Atoi takes leading zeros
  CHECK(count("99999999999999999999", "50") == 0);
}

TEST_CASE("socket activation needs both variables; the first of duplicates wins", "[notify]") {
  const char* only_fds[] = {"LISTEN_FDS=1", nullptr};
  CHECK(notify::listen_fds_from_env(only_fds, 1).count == 0);
  const char* duplicates[] = {"LISTEN_PID=7", "LISTEN_FDS=1", "LISTEN_FDS=5", "LISTEN_PID=8",
                              nullptr};
  CHECK(notify::listen_fds_from_env(duplicates, 7).count == 1);
  CHECK(notify::listen_fds_from_env(nullptr, 7).count == 0);
  const char* prefix_only[] = {"LISTEN_FDSX=1", "LISTEN_PIDX=7", nullptr};
  CHECK(notify::listen_fds_from_env(prefix_only, 7).count == 0);
}

// ---- NOTIFY_SOCKET: pure parts ----------------------------------------------------------------

TEST_CASE("only a datagram starting with READY= is forwarded, as its first line", "[notify]") {
  CHECK(notify::ready_line("READY=1") == "READY=1");
  CHECK(notify::ready_line("READY=1\nSTATUS=up\n") == "READY=1");
  CHECK_FALSE(notify::ready_line("STATUS=starting\nREADY=1"));
  CHECK_FALSE(notify::ready_line("WATCHDOG=1"));
  CHECK_FALSE(notify::ready_line(""));
}

TEST_CASE("the spec gains runc's read-only bind of the notify directory and the env", "[notify]") {
  notify::NotifySocket n;
  n.directory = "/run/mkrun/c1/notify";
  oci::Mount mount = notify::notify_mount(n);
  CHECK(mount.destination == "/run/notify");
  CHECK(mount.source == "/run/mkrun/c1/notify");
  CHECK(mount.type == "bind");
  CHECK(mount.options == std::vector<std::string>{"bind", "nosuid", "noexec", "nodev", "ro"});
  CHECK(notify::notify_env() == "NOTIFY_SOCKET=/run/notify/notify.sock");

  oci::Spec spec;
  spec.process = oci::Process{};
  spec.process->env = {"PATH=/bin"};
  notify::add_notify_socket_to_spec(n, spec);
  REQUIRE(spec.mounts.size() == 1);
  CHECK(spec.mounts[0].destination == "/run/notify");
  CHECK(spec.process->env ==
        std::vector<std::string>{"PATH=/bin", "NOTIFY_SOCKET=/run/notify/notify.sock"});
}

// ---- NOTIFY_SOCKET: the socket ----------------------------------------------------------------

TEST_CASE("without NOTIFY_SOCKET there is nothing to prepare or open", "[notify]") {
  TempDir state;
  CHECK_FALSE(notify::prepare_notify_socket(state.path(), nullptr).value());
  CHECK_FALSE(notify::prepare_notify_socket(state.path(), "").value());
  CHECK_FALSE(notify::open_notify_socket(state.path(), nullptr).value());
  CHECK(::access((state.path() + "/notify").c_str(), F_OK) != 0);
}

TEST_CASE("create makes the directory; start binds the socket in it", "[notify]") {
  TempDir state;
  mode_t old_mask = ::umask(077);
  auto prepared = notify::prepare_notify_socket(state.path(), "/run/systemd/notify");
  ::umask(old_mask);
  REQUIRE(prepared);
  REQUIRE(*prepared);
  CHECK((*prepared)->host_socket == "/run/systemd/notify");
  CHECK((*prepared)->directory == state.path() + "/notify");
  CHECK((*prepared)->socket_path == state.path() + "/notify/notify.sock");
  CHECK_FALSE((*prepared)->socket);
  struct stat info {};
  REQUIRE(::stat((*prepared)->directory.c_str(), &info) == 0);
  CHECK((info.st_mode & 07777) == 0755);
  CHECK(::access((*prepared)->socket_path.c_str(), F_OK) != 0);  // runc binds at start

  auto opened = notify::open_notify_socket(state.path(), "/run/systemd/notify");
  REQUIRE(opened);
  REQUIRE(*opened);
  REQUIRE((*opened)->socket);
  CHECK((::fcntl((*opened)->socket.get(), F_GETFD) & FD_CLOEXEC) != 0);
  REQUIRE(::stat((*opened)->socket_path.c_str(), &info) == 0);
  CHECK(S_ISSOCK(info.st_mode));
  CHECK((info.st_mode & 07777) == 0777);

  // A second start (the first one died) replaces the stale socket.
  auto again = notify::open_notify_socket(state.path(), "/run/systemd/notify");
  REQUIRE(again);
  CHECK(*again);
}

TEST_CASE("start without a notify directory from create opens nothing", "[notify]") {
  TempDir state;
  auto opened = notify::open_notify_socket(state.path(), "/run/systemd/notify");
  REQUIRE(opened);
  CHECK_FALSE(*opened);
}

TEST_CASE("READY= is forwarded with MAINPID as two datagrams, other states are not", "[notify]") {
  Deadline deadline(20);
  TempDir state;
  std::string host_path = state.path() + "/host.sock";
  HostListener host(host_path);
  REQUIRE(host.bound());
  auto notify = prepared_and_opened(state.path(), host_path);
  REQUIRE(notify);
  std::string socket_path = notify->socket_path;
  ParkedProcess container(0, [&] {
    send_datagram(socket_path, "STATUS=starting");
    send_datagram(socket_path, "READY=1\nSTATUS=up\n");
  });
  REQUIRE(container.ok());
  auto forwarded = notify::forward_ready(*notify, container.pid(), 4242);
  REQUIRE(forwarded);
  CHECK(host.received() == std::vector<std::string>{"READY=1\n", "MAINPID=4242\n"});
}

TEST_CASE("forwarding gives up quietly when the init dies first", "[notify]") {
  Deadline deadline(20);
  TempDir state;
  std::string host_path = state.path() + "/host.sock";
  HostListener host(host_path);
  REQUIRE(host.bound());
  auto notify = prepared_and_opened(state.path(), host_path);
  REQUIRE(notify);
  pid_t init = ::fork();
  if (init == 0) ::_exit(0);
  Cleanup reap([init] { (void)::waitpid(init, nullptr, 0); });
  // Not reaped yet: a zombie counts as dead, unlike runc's stat of /proc/<pid>.
  auto forwarded = notify::forward_ready(*notify, init, init);
  CHECK(forwarded);
  CHECK(host.received(50).empty());
}

TEST_CASE("forwarding reaches an abstract NOTIFY_SOCKET", "[notify]") {
  Deadline deadline(20);
  TempDir state;
  std::string host_path = "@mkrun-notify-test-" + std::to_string(::getpid());
  HostListener host(host_path);
  REQUIRE(host.bound());
  auto notify = prepared_and_opened(state.path(), host_path);
  REQUIRE(notify);
  REQUIRE(send_datagram(notify->socket_path, "READY=1"));
  auto relayed = notify::relay_ready(*notify, notify::connect_host_socket(host_path)->get(), 7);
  REQUIRE(relayed);
  CHECK(*relayed);
  CHECK(host.received() == std::vector<std::string>{"READY=1\n", "MAINPID=7\n"});
}

TEST_CASE("a state directory too deep for sun_path still gets its socket", "[notify]") {
  TempDir base;
  std::string deep = base.path();
  while (deep.size() < 120) {
    deep += "/a-fairly-long-directory-name";
    REQUIRE(::mkdir(deep.c_str(), 0755) == 0);
  }
  auto notify = prepared_and_opened(deep, "/run/systemd/notify");
  REQUIRE(notify);
  REQUIRE(notify->socket_path.size() > sizeof(sockaddr_un{}.sun_path));
  REQUIRE(send_datagram(notify->socket_path, "READY=1"));
  char buffer[64];
  CHECK(::recv(notify->socket.get(), buffer, sizeof buffer, MSG_DONTWAIT) == 7);
}

TEST_CASE("a missing host socket fails the forwarding with its path", "[notify]") {
  TempDir state;
  auto connected = notify::connect_host_socket(state.path() + "/nobody-listens");
  REQUIRE_FALSE(connected);
  CHECK(connected.error().render() == "connect to NOTIFY_SOCKET `" + state.path() +
                                          "/nobody-listens`: no such file or directory");
}
