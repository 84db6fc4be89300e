// What the lifecycle commands share: reading a container's status from the kernel, building its
// runtime-spec state, running the runtime-namespace hooks, and tearing it down.
#pragma once

#include <sys/types.h>

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

// "created", "running" or "stopped", from the init's pid, its start time and exec.fifo. `host`:
// the cgroup mounts when the caller has just read them, else they are read here.
std::string observe_status(const state::ContainerDir& dir, const oci::ContainerRecord& record,
                           const cgroups::Host* host = nullptr);

oci::State make_state(const oci::ContainerRecord& record, std::string status);

// The spec as it was at create (the bundle may have changed since).
Result<oci::Spec> load_spec_snapshot(const state::ContainerDir& dir);

// Runs prestart/createRuntime/poststart/poststop hooks in mkrun's own namespaces.
Result<void> run_runtime_hooks(const std::vector<oci::Hook>& hooks, const char* name,
                               const oci::State& state);

// A kernel backend's journal kept in the container's record: every record() saves the state.
class RecordJournal : public Journal {
 public:
  RecordJournal(const state::ContainerDir& dir, oci::ContainerRecord& record)
      : dir_(dir), record_(record) {}
  Result<void> record(const std::map<std::string, std::string>& entries) override;
  const std::map<std::string, std::string>& entries() const override {
    return record_.kernel_journal;
  }

 private:
  const state::ContainerDir& dir_;
  oci::ContainerRecord& record_;
};

// The state as `state` and `list` print it, with what the kernel backend reports added.
oci::State observed_state(const state::ContainerDir& dir, oci::ContainerRecord record);

// What `create` hands back to `run`.
struct CreatedContainer {
  pid_t init_pid = 0;
  UniqueFd console_master;              // set when `run` asked for the pty itself
  std::shared_ptr<cgroups::Host> host;  // the cgroup mounts create found, for `run`'s start
};

struct CreateRequest {
  const CreateOptions* options = nullptr;
  bool keep_console_for_caller = false;  // foreground run with a terminal and no socket
};

Result<CreatedContainer> create_container(const GlobalOptions& global,
                                          const CreateRequest& request);

// What `start` leaves to do once the container directory is unlocked: forward the init's
// READY= when the caller gave a NOTIFY_SOCKET.
struct StartedInit {
  pid_t init_pid = 0;
  std::optional<notify::NotifySocket> notify;
};

// Releases a created container's init and runs the poststart hooks. `host` as for
// observe_status: `run` passes what its create has just read.
Result<StartedInit> start_container(const GlobalOptions& global, std::string_view id,
                                    const cgroups::Host* host = nullptr);

// Kills whatever runs, removes the cgroup and the state directory, then runs poststop hooks.
Result<void> destroy_container(const GlobalOptions& global, state::ContainerDir& dir,
                               const oci::ContainerRecord& record);

void warn(const GlobalOptions& global, const std::string& message);

// Sends `signal` to the init, or with `all` to every process of the container's cgroup.
Result<void> signal_container(const oci::ContainerRecord& record, int signal, bool all);

// Waits until the process that started at `start_time` has exited, up to `timeout_ms`.
bool wait_for_exit(pid_t pid, uint64_t start_time, int timeout_ms);

// SIGKILLs the init (thawing a frozen container so it lands), waits for it, then kills what is
// left in the container's cgroup.
Result<void> kill_processes(const oci::ContainerRecord& record, const cgroups::Manager* cgroup);

}  // namespace mkrun::runtime::internal
