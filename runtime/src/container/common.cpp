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

namespace {

// The hooks as the child's hook runner takes them, with the state on a memfd for their stdin.
struct RuntimeHooks {
  UniqueFd state;
  plan::PreparedPlan storage;
  plan::HookList list;
};

Result<void> prepare_hooks(RuntimeHooks& prepared, const std::vector<oci::Hook>& hooks,
                           const char* name, const oci::State& state) {
  int fd = static_cast<int>(::memfd_create("mkrun-hook-state", MFD_CLOEXEC));
  if (fd < 0) return fail_errno("memfd_create");
  prepared.state.reset(fd);
  MKRUN_CHECK(files::write_all(fd, oci::render_hook_state(state), "hook state"));
  prepared.list = plan::make_hook_list(prepared.storage, hooks, name, fd,
                                       const_cast<const char* const*>(environ));
  return {};
}

}  // namespace

Result<void> run_runtime_hooks(const std::vector<oci::Hook>& hooks, const char* name,
                               const oci::State& state) {
  if (hooks.empty()) return {};
  RuntimeHooks prepared;
  MKRUN_CHECK(prepare_hooks(prepared, hooks, name, state));
  child::Text error;
  int errc = 0;
  if (!child::run_hooks(prepared.list, error, errc)) return fail(error.c_str(), errc);
  return {};
}

void run_runtime_hooks_warning(const GlobalOptions& global, const std::vector<oci::Hook>& hooks,
                               const char* name, const oci::State& state) {
  if (hooks.empty()) return;
  RuntimeHooks prepared;
  if (auto made = prepare_hooks(prepared, hooks, name, state); !made) {
    warn(global, made.error().render());
    return;
  }
  for (size_t i = 0; i < prepared.list.count; ++i) {
    child::Text error;
    int errc = 0;
    if (!child::run_hook(prepared.list, i, error, errc))
      warn(global, Error(error.c_str(), errc).render());
  }
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
