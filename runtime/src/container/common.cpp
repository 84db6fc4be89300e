// What the container commands share: runtime-namespace hooks, warnings, waiting for an exit.
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "child/hook_exec.hpp"
#include "container/internal.hpp"
#include "core/proc.hpp"
#include "mkrun/base/files.hpp"
#include "plan/builder.hpp"

namespace mkrun::runtime::internal {

Result<void> run_runtime_hooks(const std::vector<oci::Hook>& hooks, const char* name,
                               const oci::State& state) {
  if (hooks.empty()) return {};
  int fd = static_cast<int>(::memfd_create("mkrun-hook-state", MFD_CLOEXEC));
  if (fd < 0) return fail_errno("memfd_create");
  UniqueFd state_fd(fd);
  MKRUN_CHECK(files::write_all(state_fd.get(), oci::render_hook_state(state), "hook state"));
  plan::PreparedPlan storage;
  plan::HookList list = plan::make_hook_list(storage, hooks, name, state_fd.get());
  child::Text error;
  int errc = 0;
  if (!child::run_hooks(list, error, errc)) return fail(error.c_str(), errc);
  return {};
}

bool wait_for_exit(pid_t pid, uint64_t start_time, int timeout_ms) {
  if (!proc::is_alive(pid, start_time)) return true;
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return !proc::is_alive(pid, start_time);
  UniqueFd owned(pidfd);
  // The pid could have been reused between the check and pidfd_open: check again.
  if (!proc::is_alive(pid, start_time)) return true;
  pollfd exited{pidfd, POLLIN, 0};
  while (::poll(&exited, 1, timeout_ms) < 0 && errno == EINTR) {
  }
  return exited.revents != 0 || !proc::is_alive(pid, start_time);
}

void warn(const GlobalOptions& global, const std::string& message) {
  if (global.warn) global.warn(message);
}

void debug(const GlobalOptions& global, const std::string& message) {
  if (global.debug) global.debug(message);
}

}  // namespace mkrun::runtime::internal
