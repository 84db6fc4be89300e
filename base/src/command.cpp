#include "mkrun/base/command.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

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
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int spawned = ::posix_spawnp(&pid, args[0], spawn.get(), nullptr, args.data(), environ);
  if (spawned != 0) return fail_errno("run `" + argv[0] + "`", spawned);
  write_end.reset();  // EOF once the program (and whatever it started) closed its copies
  auto text = files::read_fd(read_end.get(), "output of `" + argv[0] + "`");
  Output output;
  while (::waitpid(pid, &output.wait_status, 0) < 0 && errno == EINTR) {
  }
  if (!text) return std::unexpected(std::move(text).error());
  output.text = std::move(*text);
  return output;
}

}  // namespace mkrun::command
