// A container as every command after `create` meets it: its state directory (locked), its
// record, the host's cgroup mounts and its cgroup, each looked up once, and its status as the
// kernel shows it now. The rules of which command may act in which status, with runc's words for
// each refusal, are Status's.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cgroups/manager.hpp"
#include "mkrun/base/error.hpp"
#include "mkrun/oci/spec.hpp"
#include "mkrun/oci/state.hpp"
#include "mkrun/runtime/kernel_backend.hpp"
#include "mkrun/runtime/runtime.hpp"
#include "state/store.hpp"

namespace mkrun::runtime::internal {

// The runtime-spec status of a container, and what each command may do in it.
class Status {
 public:
  enum Value { kCreating, kCreated, kRunning, kPaused, kStopped };
  constexpr Status(Value value) : value_(value) {}  // NOLINT: a Status is its Value

  constexpr bool operator==(Value other) const { return value_ == other; }
  // "creating", "created", "running", "paused", "stopped".
  std::string_view name() const;

  // Each returns runc's refusal, with its error kind, or nothing when the command may go on.
  Result<void> can_start() const;
  Result<void> can_exec(bool ignore_paused) const;
  Result<void> can_pause() const;
  Result<void> can_resume() const;
  Result<void> can_update() const;
  Result<void> can_signal(bool all) const;
  Result<void> can_delete(std::string_view id, bool force) const;

 private:
  Value value_;
};

class Container {
 public:
  // An existing container, its directory locked until unlock() or the end of the Container.
  // `host`: the cgroup mounts when the caller has just read them (run's start after create).
  static Result<Container> open(const std::string& root, std::string_view id,
                                std::shared_ptr<const cgroups::Host> host = nullptr);
  // A new container's directory, locked, with an empty record that create fills.
  static Result<Container> create(const std::string& root, std::string_view id);
  // A container from its directory, opened and locked, and the record read from it.
  Container(state::ContainerDir dir, state::ContainerRecord record,
            std::shared_ptr<const cgroups::Host> host = nullptr)
      : dir_(std::move(dir)), record_(std::move(record)), host_(std::move(host)) {}

  const std::string& id() const { return record_.id; }
  const state::ContainerRecord& record() const { return record_; }
  state::ContainerRecord& record() { return record_; }
  const state::ContainerDir& dir() const { return dir_; }
  state::ContainerDir& dir() { return dir_; }
  Result<void> save() const { return dir_.save(record_); }
  // Lets other commands at the container while this one goes on without its directory.
  void unlock() { dir_ = {}; }

  // What the kernel shows now: whether the init lives, its kernel instance failed, its cgroup
  // is frozen, exec.fifo is still there.
  Status status();
  // The state `state` and `list` print: the status now, and what the kernel backend reports.
  oci::State observed_state();
  // The runtime-spec state with `status` (pid 0 when stopped).
  oci::State state(Status status) const;
  // The spec as it was at create (the bundle may have changed since).
  Result<oci::Spec> spec() const;

  // The host's cgroup mounts, read once.
  Result<std::shared_ptr<const cgroups::Host>> host();
  // The container's cgroup, opened once from the record.
  Result<cgroups::Manager*> cgroup();
  // A new container's cgroup, planned by create.
  void set_cgroup(std::shared_ptr<const cgroups::Host> host,
                  std::unique_ptr<cgroups::Manager> cgroup);

  // linux.intelRdt: the container's groups in resctrl (linux/resctrl.hpp), made for the spec
  // and kept in the record; a new process of the container joins them; destroy removes what was
  // made for it. Without intelRdt in the spec or the record, each does nothing.
  Result<void> make_intel_rdt_groups(const oci::Spec& spec);
  Result<void> join_intel_rdt_groups(pid_t pid) const;
  Result<void> remove_intel_rdt_groups() const;

  // When the kernel instance of this live container failed: kills every process of the
  // container and returns true (its status is "stopped" from then on). kernel_watch.hpp.
  bool stop_if_kernel_failed();
  // Sends `signal` to the init, or with `all` to every process of the container's cgroup.
  Result<void> signal(int signal, bool all);
  // SIGKILLs the init (thawing a frozen container so it lands), waits for it, then kills what
  // is left in the container's cgroup.
  Result<void> kill_processes();
  // Kills whatever runs, removes the cgroup, releases the kernel instance and the state
  // directory, then runs the poststop hooks (their failure is a warning).
  Result<void> destroy(const GlobalOptions& global);

 private:
  bool is_paused();
  Result<void> release_kernel(const GlobalOptions& global);

  state::ContainerDir dir_;
  state::ContainerRecord record_;
  std::shared_ptr<const cgroups::Host> host_;
  std::unique_ptr<cgroups::Manager> cgroup_;
};

// A kernel backend's journal kept in the container's record: every record() saves the state.
class RecordJournal : public Journal {
 public:
  explicit RecordJournal(Container& container) : container_(container) {}
  Result<void> record(const std::map<std::string, std::string>& entries) override;
  const std::map<std::string, std::string>& entries() const override {
    return container_.record().kernel_journal;
  }

 private:
  Container& container_;
};

}  // namespace mkrun::runtime::internal
