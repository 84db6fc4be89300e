#include "container/foreground.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include "mkrun/base/fd.hpp"

namespace mkrun::runtime::internal {

BlockedSignals::BlockedSignals() {
  sigfillset(&set_);
  for (int synchronous : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS}) {
    sigdelset(&set_, synchronous);
  }
  ::sigprocmask(SIG_BLOCK, &set_, &previous_);
}

BlockedSignals::~BlockedSignals() {
  ::sigprocmask(SIG_SETMASK, &previous_, nullptr);
}

Result<HostTerminal> HostTerminal::find() {
  for (int fd : {STDERR_FILENO, STDOUT_FILENO, STDIN_FILENO}) {
    if (::isatty(fd)) return HostTerminal(fd);
  }
  int controlling = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (controlling < 0) return fail_errno("open /dev/tty");
  return HostTerminal(UniqueFd(controlling));
}

RawTerminal::RawTerminal(int fd) : fd_(fd) {
  if (::tcgetattr(fd_, &saved_) != 0) return;
  termios raw = saved_;
  ::cfmakeraw(&raw);
  // Output processing stays, as runc keeps it: the container's pty sends lines ending in "\n"
  // (ONLCR off there), and this terminal turns them into "\r\n" once.
  raw.c_oflag |= OPOST;
  active_ = ::tcsetattr(fd_, TCSANOW, &raw) == 0;
}

RawTerminal::~RawTerminal() {
  if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
}

namespace {

void copy_window_size(int from, int to) {
  winsize size{};
  if (::ioctl(from, TIOCGWINSZ, &size) == 0) (void)::ioctl(to, TIOCSWINSZ, &size);
}

// Moves what is readable from `from` to `to`; false on EOF or error.
bool pump(int from, int to) {
  char buffer[8192];
  ssize_t n = ::read(from, buffer, sizeof buffer);
  if (n <= 0) return n < 0 && (errno == EINTR || errno == EAGAIN);
  for (ssize_t written = 0; written < n;) {
    ssize_t w = ::write(to, buffer + written, static_cast<size_t>(n - written));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return true;  // nobody reads our stdout: drop the output, keep the container
    written += w;
  }
  return true;
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

}  // namespace

Result<int> wait_in_foreground(pid_t init_pid, const BlockedSignals& signals, ProxiedPty pty) {
  const int pty_master = pty.master;
  int fd = ::signalfd(-1, &signals.set(), SFD_CLOEXEC);
  if (fd < 0) return fail_errno("signalfd");
  UniqueFd signal_fd(fd);
  bool stdin_open = pty_master >= 0;
  bool master_open = pty_master >= 0;
  if (pty_master >= 0) copy_window_size(pty.host_terminal, pty_master);
  std::optional<int> code;
  while (!code) {
    pollfd fds[3] = {{signal_fd.get(), POLLIN, 0},
                     {stdin_open ? STDIN_FILENO : -1, POLLIN, 0},
                     {master_open ? pty_master : -1, POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return fail_errno("poll");
    }
    if (fds[2].revents != 0) master_open = pump(pty_master, STDOUT_FILENO);
    if (fds[1].revents != 0) stdin_open = pump(STDIN_FILENO, pty_master);
    if (fds[0].revents == 0) continue;
    signalfd_siginfo info{};
    if (::read(signal_fd.get(), &info, sizeof info) != static_cast<ssize_t>(sizeof info)) continue;
    int signal = static_cast<int>(info.ssi_signo);
    if (signal == SIGCHLD) {
      // As a subreaper mkrun also inherits the container's orphans: reap them all.
      int status = 0;
      for (pid_t pid; (pid = ::waitpid(-1, &status, WNOHANG)) > 0;) {
        if (pid == init_pid) code = exit_code(status);
      }
    } else if (signal == SIGWINCH && pty_master >= 0) {
      copy_window_size(pty.host_terminal, pty_master);
    } else {
      (void)::kill(init_pid, signal);
    }
  }
  while (master_open) {
    pollfd output{pty_master, POLLIN, 0};
    if (::poll(&output, 1, 0) <= 0) break;
    master_open = pump(pty_master, STDOUT_FILENO);
  }
  return *code;
}

}  // namespace mkrun::runtime::internal
