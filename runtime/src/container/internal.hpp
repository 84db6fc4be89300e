// What the container commands share besides the Container (container.hpp): create and start,
// the runtime-namespace hooks, warnings, and waiting for a process to exit.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "linux/notify.hpp"
#include "mkrun/base/error.hpp"
#include "mkrun/base/fd.hpp"
#include "mkrun/oci/spec.hpp"
#include "mkrun/oci/state.hpp"
#include "mkrun/runtime/kernel_backend.hpp"
#include "mkrun/runtime/runtime.hpp"
#include "state/store.hpp"

namespace mkrun::cgroups {
class Manager;
struct Host;
}  // namespace mkrun::cgroups

namespace mkrun::runtime::internal {

// Runs prestart/createRuntime/poststart hooks in mkrun's own namespaces, in order, up to the
// first that fails.
Result<void> run_runtime_hooks(const std::vector<oci::Hook>& hooks, const char* name,
                               const oci::State& state);
// Runs every one of them (poststop's rule in runtime-spec 1.3): each failure is a warning.
void run_runtime_hooks_warning(const GlobalOptions& global, const std::vector<oci::Hook>& hooks,
                               const char* name, const oci::State& state);

// What `create` hands back to `run`.
struct CreatedContainer {
  pid_t init_pid = 0;
  UniqueFd console_master;                    // set when `run` asked for the pty itself
  std::shared_ptr<const cgroups::Host> host;  // the cgroup mounts create found, for `run`'s start
};

struct CreateRequest {
  const CreateOptions* options = nullptr;
  bool keep_console_for_caller = false;  // foreground run with a terminal and no socket
};

Result<CreatedContainer> create_container(const GlobalOptions& global,
                                          const CreateRequest& request);

// What restore's criu run gets from create's steps: the container as the bundle describes it,
// its state directory and its cgroup, made and limited.
struct RestoreTarget {
  const oci::Spec& spec;
  const std::string& bundle;
  const std::string& rootfs;
  std::string state_dir;
  const cgroups::Host& host;
  cgroups::Manager& cgroup;
};
// Restores the processes and returns the host pid of the container's init.
using Restorer = std::function<Result<pid_t>(const RestoreTarget&)>;

// `restore`: a new container record and cgroup from the bundle, like create, with its processes
// from `restorer` (criu) instead of a new init; then the prestart and createRuntime hooks and
// the pid file. A failure leaves nothing behind.
Result<pid_t> restore_container(const GlobalOptions& global, const CreateOptions& options,
                                const Restorer& restorer);

// What `start` leaves to do once the container directory is unlocked: forward the init's
// READY= when the caller gave a NOTIFY_SOCKET.
struct StartedInit {
  pid_t init_pid = 0;
  std::optional<notify::NotifySocket> notify;
};

// Releases a created container's init and runs the poststart hooks. `host`: the cgroup mounts
// when the caller has just read them (`run` passes what its create found).
Result<StartedInit> start_container(const GlobalOptions& global, std::string_view id,
                                    std::shared_ptr<const cgroups::Host> host = nullptr);

void warn(const GlobalOptions& global, const std::string& message);
// One step for --debug (GlobalOptions::debug); nothing without it.
void debug(const GlobalOptions& global, const std::string& message);

// Waits until the process that started at `start_time` has exited, up to `timeout_ms`.
bool wait_for_exit(pid_t pid, uint64_t start_time, int timeout_ms);

}  // namespace mkrun::runtime::internal
