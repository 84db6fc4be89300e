#include "mkrun/base/command.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "mkrun/base/fd.hpp"
#include "mkrun/base/files.hpp"

namespace mkrun::command {
namespace {

class SpawnActions {
 public:
  SpawnActions() { posix_spawn_file_actions_init(&actions_); }
  ~SpawnActions() { posix_spawn_file_actions_destroy(&actions_); }
  SpawnActions(const SpawnActions&) = delete;
  SpawnActions& operator=(const SpawnActions&) = delete;
  posix_spawn_file_actions_t* get() { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_;
};

class SpawnAttributes {
 public:
  SpawnAttributes() { posix_spawnattr_init(&attributes_); }
  ~SpawnAttributes() { posix_spawnattr_destroy(&attributes_); }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
  posix_spawnattr_t* get() { return &attributes_; }

 private:
  posix_spawnattr_t attributes_;
};

std::vector<char*> c_arguments(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  return args;
}

int wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

}  // namespace

bool Output::succeeded() const {
  return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
}

Result<Output> run(const std::vector<std::string>& argv, Stderr stderr_mode) {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) < 0) return fail_errno("pipe");
  UniqueFd read_end(ends[0]);
  UniqueFd write_end(ends[1]);
  SpawnActions spawn;
  posix_spawn_file_actions_addopen(spawn.get(), STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(spawn.get(), write_end.get(), STDOUT_FILENO);
  if (stderr_mode == Stderr::kCapture) {
    posix_spawn_file_actions_adddup2(spawn.get(), write_end.get(), STDERR_FILENO);
  } else {
    posix_spawn_file_actions_addopen(spawn.get(), STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  }
  std::vector<char*> args = c_arguments(argv);
  pid_t pid = 0;
  int spawned = ::posix_spawnp(&pid, args[0], spawn.get(), nullptr, args.data(), environ);
  if (spawned != 0) return fail_errno("run `" + argv[0] + "`", spawned);
  write_end.reset();  // EOF once the program (and whatever it started) closed its copies
  auto text = files::read_fd(read_end.get(), "output of `" + argv[0] + "`");
  Output output;
  output.wait_status = wait_for(pid);
  if (!text) return std::unexpected(std::move(text).error());
  output.text = std::move(*text);
  return output;
}

Result<int> run_attached(const std::vector<std::string>& argv, const std::vector<FdAt>& extra) {
  // Each fd is first copied above every target number, so that no dup2 overwrites an fd another
  // one still reads from, and none is dup2'ed onto its own number (which keeps O_CLOEXEC).
  int above = STDERR_FILENO + 1;
  for (const FdAt& at : extra) above = std::max(above, at.target + 1);
  std::vector<UniqueFd> copies;
  SpawnActions spawn;
  posix_spawn_file_actions_adddup2(spawn.get(), STDERR_FILENO, STDOUT_FILENO);
  for (const FdAt& at : extra) {
    const int copy = ::fcntl(at.fd, F_DUPFD_CLOEXEC, above);
    if (copy < 0) return fail_errno("run `" + argv[0] + "`: duplicate fd " + std::to_string(at.fd));
    copies.emplace_back(copy);
    posix_spawn_file_actions_adddup2(spawn.get(), copy, at.target);
  }
  // The caller may block signals it waits for with a signalfd; the program must not inherit that.
  SpawnAttributes attributes;
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(attributes.get(), &none);
  posix_spawnattr_setflags(attributes.get(), POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> args = c_arguments(argv);
  pid_t pid = 0;
  int spawned = ::posix_spawnp(&pid, args[0], spawn.get(), attributes.get(), args.data(), environ);
  if (spawned != 0) return fail_errno("run `" + argv[0] + "`", spawned);
  return wait_for(pid);
}

Result<void> start_detached(const std::vector<std::string>& argv) {
  SpawnActions spawn;
  posix_spawn_file_actions_addopen(spawn.get(), STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(spawn.get(), STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(spawn.get(), STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  SpawnAttributes attributes;
  sigset_t none;
  sigset_t all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(attributes.get(), &none);
  posix_spawnattr_setsigdefault(attributes.get(), &all);
  posix_spawnattr_setflags(attributes.get(),
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args = c_arguments(argv);
  pid_t pid = 0;
  int spawned = ::posix_spawn(&pid, args[0], spawn.get(), attributes.get(), args.data(), environ);
  if (spawned != 0) return fail_errno("start `" + argv[0] + "`", spawned);
  return {};
}

}  // namespace mkrun::command
