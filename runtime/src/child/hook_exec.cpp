#include "child/hook_exec.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

namespace mkrun::child {
namespace {

long long monotonic_ms() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<long long>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
}

[[noreturn]] void exec_hook(const plan::HookExec& hook, int state_fd, int output_fd) {
  if (state_fd >= 0) {
    (void)lseek(state_fd, 0, SEEK_SET);
    (void)dup2(state_fd, STDIN_FILENO);
  } else {
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd >= 0) (void)dup2(null_fd, STDIN_FILENO);
  }
  (void)dup2(output_fd, STDOUT_FILENO);
  (void)dup2(output_fd, STDERR_FILENO);
  // The hook gets fresh signal dispositions: mkrun may be ignoring or blocking some.
  sigset_t none;
  sigemptyset(&none);
  (void)sigprocmask(SIG_SETMASK, &none, nullptr);
  execve(hook.path, const_cast<char* const*>(hook.argv), const_cast<char* const*>(hook.envp));
  _exit(127);
}

void read_available(int fd, Text& output) {
  char buffer[512];
  for (;;) {
    pollfd ready{fd, POLLIN, 0};
    if (poll(&ready, 1, 0) <= 0 || (ready.revents & POLLIN) == 0) return;
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n <= 0) return;
    output.add(std::string_view(buffer, static_cast<size_t>(n)));
  }
}

// Collects the hook's output until it exits. Returns false when the deadline passes first.
bool wait_for_hook(pid_t pid, int output_fd, int timeout_seconds, Text& output) {
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  long long deadline = timeout_seconds > 0 ? monotonic_ms() + timeout_seconds * 1000LL : -1;
  bool reading = true;
  bool exited = false;
  while (!exited) {
    int wait_ms = -1;
    if (deadline >= 0) {
      long long left = deadline - monotonic_ms();
      if (left <= 0) break;
      wait_ms = static_cast<int>(left);
    }
    if (pidfd < 0 && !reading) break;  // no pidfd: the caller's waitpid blocks instead
    pollfd fds[2] = {{reading ? output_fd : -1, POLLIN, 0}, {pidfd, POLLIN, 0}};
    int ready = poll(fds, 2, wait_ms);
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    if (fds[0].revents != 0) {
      char buffer[512];
      ssize_t n = read(output_fd, buffer, sizeof buffer);
      if (n > 0) output.add(std::string_view(buffer, static_cast<size_t>(n)));
      if (n == 0 || (n < 0 && errno != EINTR)) reading = false;
    }
    if (fds[1].revents != 0) {
      read_available(output_fd, output);
      exited = true;
    }
  }
  if (pidfd >= 0) close(pidfd);
  return exited || deadline < 0 || monotonic_ms() < deadline;
}

// The words Go (and so runc) uses for a signal that killed a hook: "signal: bad system call";
// null for one without a name (Go says "signal 34").
// A table, not strsignal(): the child may only make async-signal-safe calls.
const char* signal_description(int signal) noexcept {
  static constexpr const char* kDescriptions[] = {
      nullptr,
      "hangup",
      "interrupt",
      "quit",
      "illegal instruction",
      "trace/breakpoint trap",
      "aborted",
      "bus error",
      "floating point exception",
      "killed",
      "user defined signal 1",
      "segmentation fault",
      "user defined signal 2",
      "broken pipe",
      "alarm clock",
      "terminated",
      "stack fault",
      "child exited",
      "continued",
      "stopped (signal)",
      "stopped",
      "stopped (tty input)",
      "stopped (tty output)",
      "urgent I/O condition",
      "CPU time limit exceeded",
      "file size limit exceeded",
      "virtual timer expired",
      "profiling timer expired",
      "window changed",
      "I/O possible",
      "power failure",
      "bad system call",
  };
  constexpr int kKnown = static_cast<int>(sizeof kDescriptions / sizeof kDescriptions[0]);
  return signal > 0 && signal < kKnown ? kDescriptions[signal] : nullptr;
}

}  // namespace

bool run_hook(const plan::HookList& list, size_t index, Text& error, int& errc) noexcept {
  const plan::HookExec& hook = list.hooks[index];
  auto describe = [&]() -> Text& {
    // runc 1.5 names the kind and index ("error running prestart hook #1: "), runc 1.1 says
    // "error running hook: " before the reason; both are here, with the hook's path.
    return error.add("error running ")
        .add(list.name)
        .add(" hook #")
        .add(static_cast<long long>(index))
        .add(": error running hook ")
        .add(hook.path)
        .add(": ");
  };
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) < 0) {
    errc = errno;
    describe().add("pipe");
    return false;
  }
  pid_t pid = fork();
  if (pid < 0) {
    errc = errno;
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    describe().add("fork");
    return false;
  }
  if (pid == 0) exec_hook(hook, list.state_fd, pipe_fds[1]);
  close(pipe_fds[1]);
  Text output;
  bool finished = wait_for_hook(pid, pipe_fds[0], hook.timeout_seconds, output);
  close(pipe_fds[0]);
  if (!finished) {
    kill(pid, SIGKILL);
    (void)waitpid(pid, nullptr, 0);
    describe().add("hook ran past specified timeout of ").add(hook.timeout_seconds).add(".0s");
    return false;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  describe();
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && output.size() == 0) {
    error.add("cannot execute it");
  } else if (WIFEXITED(status)) {
    error.add("exit status ").add(WEXITSTATUS(status));
  } else {
    const char* description = signal_description(WTERMSIG(status));
    error.add("signal: ");
    if (description)
      error.add(description);
    else
      error.add("signal ").add(WTERMSIG(status));
  }
  if (output.size() > 0) error.add(", output: ").add(output.c_str());
  return false;
}

bool run_hooks(const plan::HookList& hooks, Text& error, int& errc) noexcept {
  errc = 0;
  for (size_t i = 0; i < hooks.count; ++i) {
    if (!run_hook(hooks, i, error, errc)) return false;
  }
  return true;
}

}  // namespace mkrun::child
