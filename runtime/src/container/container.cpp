#include "container/container.hpp"

#include <signal.h>

#include "container/internal.hpp"
#include "container/kernel_watch.hpp"
#include "container/shared_mounts.hpp"
#include "core/proc.hpp"
#include "linux/resctrl.hpp"
#include "mkrun/base/files.hpp"
#include "mkrun/oci/parse.hpp"

namespace mkrun::runtime::internal {

std::string_view Status::name() const {
  switch (value_) {
    case kCreating:
      return "creating";
    case kCreated:
      return "created";
    case kRunning:
      return "running";
    case kPaused:
      return "paused";
    case kStopped:
      return "stopped";
  }
  return "unknown";
}

Result<void> Status::can_start() const {
  if (value_ == kStopped)
    return fail(ErrorKind::kStopped, "cannot start a container that has stopped");
  if (value_ == kRunning)
    return fail(ErrorKind::kRunning, "cannot start an already running container");
  if (value_ != kCreated) {
    return fail(ErrorKind::kNotRunning,
                "cannot start a container in the " + std::string(name()) + " state");
  }
  return {};
}

Result<void> Status::can_exec(bool ignore_paused) const {
  if (value_ == kStopped) return fail(ErrorKind::kStopped, "cannot exec in a stopped container");
  if (value_ == kPaused && !ignore_paused) {
    return fail(ErrorKind::kPaused,
                "cannot exec in a paused container (use --ignore-paused to override)");
  }
  return {};
}

// runc pauses a running or a created container; a paused or stopped one is "not running".
Result<void> Status::can_pause() const {
  if (value_ != kRunning && value_ != kCreated)
    return fail(ErrorKind::kNotRunning, "container not running");
  return {};
}

Result<void> Status::can_resume() const {
  if (value_ != kPaused) return fail(ErrorKind::kNotPaused, "container not paused");
  return {};
}

Result<void> Status::can_update() const {
  if (value_ == kStopped) return fail(ErrorKind::kNotRunning, "container not running");
  return {};
}

// `kill --all` on a stopped container signals whatever is left in its cgroup (containerd relies
// on it succeeding).
Result<void> Status::can_signal(bool all) const {
  if (value_ == kStopped && !all) return fail(ErrorKind::kNotRunning, "container not running");
  return {};
}

Result<void> Status::can_delete(std::string_view id, bool force) const {
  if ((value_ == kRunning || value_ == kPaused) && !force) {
    return fail(ErrorKind::kRunning, "cannot delete container " + std::string(id) +
                                         " that is not stopped: " + std::string(name()));
  }
  return {};
}

Result<Container> Container::open(const std::string& root, std::string_view id,
                                  std::shared_ptr<const cgroups::Host> host) {
  auto dir = MKRUN_TRY(state::ContainerDir::open(root, id));
  auto record = MKRUN_TRY(dir.load());
  return Container(std::move(dir), std::move(record), std::move(host));
}

Result<Container> Container::create(const std::string& root, std::string_view id) {
  auto dir = MKRUN_TRY(state::ContainerDir::create(root, id));
  state::ContainerRecord record;
  record.id = std::string(id);
  return Container(std::move(dir), std::move(record), nullptr);
}

Result<std::shared_ptr<const cgroups::Host>> Container::host() {
  if (!host_) host_ = std::make_shared<const cgroups::Host>(MKRUN_TRY(cgroups::detect_host()));
  return host_;
}

Result<cgroups::Manager*> Container::cgroup() {
  if (!cgroup_) {
    auto host = MKRUN_TRY(this->host());
    cgroup_ = MKRUN_TRY(cgroups::open_cgroup(*host, record_.cgroup));
  }
  return cgroup_.get();
}

void Container::set_cgroup(std::shared_ptr<const cgroups::Host> host,
                           std::unique_ptr<cgroups::Manager> cgroup) {
  host_ = std::move(host);
  cgroup_ = std::move(cgroup);
}

bool Container::is_paused() {
  auto cgroup = this->cgroup();
  if (!cgroup) return false;
  auto frozen = (*cgroup)->is_frozen();
  return frozen && *frozen;
}

Status Container::status() {
  if (!proc::is_alive(record_.pid, record_.pid_start_time)) return Status::kStopped;
  if (stop_if_kernel_failed()) return Status::kStopped;
  // runc reports a frozen container as paused, created or not.
  if (is_paused()) return Status::kPaused;
  if (dir_.has_fifo()) return Status::kCreated;
  return Status::kRunning;
}

oci::State Container::state(Status status) const {
  oci::State state;
  state.ociVersion = record_.ociVersion;
  state.id = record_.id;
  state.pid = status == Status::kStopped ? 0 : record_.pid;
  state.status = std::string(status.name());
  state.bundle = record_.bundle;
  state.rootfs = record_.rootfs;
  state.created = record_.created;
  state.annotations = record_.annotations;
  return state;
}

oci::State Container::observed_state() {
  oci::State state = this->state(status());
  for (auto& [key, value] : kernel_description(record_)) state.annotations[key] = value;
  return state;
}

Result<oci::Spec> Container::spec() const {
  std::string path = dir_.file(state::kConfigName);
  auto text = MKRUN_TRY(files::read_file(path));
  auto spec = oci::parse_spec(text);
  if (!spec) return fail("parse `" + path + "`: " + spec.error().message);
  return std::move(*spec);
}

bool Container::stop_if_kernel_failed() {
  if (!kernel_failure(record_)) return false;
  (void)kill_processes();
  return !proc::is_alive(record_.pid, record_.pid_start_time);
}

Result<void> Container::signal(int signal, bool all) {
  if (all) {
    cgroups::Manager* cgroup = MKRUN_TRY(this->cgroup());
    // Without a cgroup nothing lists the container's processes: the init is the one mkrun
    // knows, and with a pid namespace of its own, killing it takes the others along.
    if (cgroup->driver() != cgroups::Driver::kDisabled) return cgroup->kill_all(signal);
  }
  if (::kill(record_.pid, signal) < 0)
    return fail_errno("kill container init " + std::to_string(record_.pid));
  return {};
}

Result<void> Container::kill_processes() {
  auto opened = cgroup();
  cgroups::Manager* cgroup = opened ? *opened : nullptr;
  if (proc::is_alive(record_.pid, record_.pid_start_time)) {
    (void)::kill(record_.pid, SIGKILL);
    // A frozen task does not die until it is thawed.
    if (cgroup) (void)cgroup->thaw();
    if (!wait_for_exit(record_.pid, record_.pid_start_time, 10000)) {
      return fail("container init " + std::to_string(record_.pid) + " did not exit after SIGKILL");
    }
  }
  // Without its own pid namespace the container's other processes outlive its init.
  if (cgroup) (void)cgroup->kill_all(SIGKILL);
  return {};
}

// Releases what the container's kernel backend took; the state stays when that fails, so that
// `delete` can be run again and nothing is leaked.
Result<void> Container::release_kernel(const GlobalOptions& global) {
  if (record_.kernel.empty()) return {};
  auto backend = MKRUN_TRY(find_kernel_backend(record_.kernel));
  if (!backend) return {};
  RecordJournal journal(*this);
  return backend->release(journal, [&](const std::string& message) {
    warn(global, "container " + record_.id + ": " + message);
  });
}

Result<void> Container::destroy(const GlobalOptions& global) {
  auto tell = [&](const std::string& what_happened) {
    debug(global, "delete " + record_.id + ": " + what_happened);
  };
  auto spec = this->spec();
  MKRUN_CHECK(host());
  stop_kernel_watcher(record_);
  MKRUN_CHECK(kill_processes());
  tell("its processes are gone (init " + std::to_string(record_.pid) + ")");
  if (auto cgroup = this->cgroup()) {
    MKRUN_CHECK((*cgroup)->destroy());
    tell("cgroup removed");
  }
  MKRUN_CHECK(remove_intel_rdt_groups());
  if (const auto& noted = record_.shared_mounts) {
    // A warning, not a failure: a namespace that cannot be reached any more must not keep the
    // container from being deleted. The message names what stays.
    if (auto removed = shared_mounts::remove_added(*noted, record_.rootfs); !removed) {
      warn(global, "container " + record_.id + ": " + removed.error().render());
    } else {
      tell("its mounts below the rootfs removed from the shared mount namespace");
    }
  }
  // The last chance to tell why the application died, before the instance is released.
  if (auto failure = kernel_failure(record_))
    warn(global, "container " + record_.id + ": " + *failure);
  MKRUN_CHECK(release_kernel(global));
  MKRUN_CHECK(dir_.remove());
  tell("state directory removed");
  if (spec && spec->hooks) {
    // runtime-spec 1.3: a failed poststop hook is a warning, and the hooks after it still run.
    run_runtime_hooks_warning(global, spec->hooks->poststop, "poststop", state(Status::kStopped));
  }
  return {};
}

Result<void> Container::make_intel_rdt_groups(const oci::Spec& spec) {
  if (!spec.linux || !spec.linux->intelRdt) return {};
  const oci::IntelRdt& rdt = *spec.linux->intelRdt;
  std::optional<resctrl::Root> root = resctrl::open_root();
  MKRUN_CHECK(
      resctrl::check_host(rdt, root ? std::optional(resctrl::features_of(*root)) : std::nullopt));
  record_.intel_rdt = MKRUN_TRY(resctrl::prepare(*root, rdt, record_.id));
  if (auto saved = save(); !saved) {
    (void)resctrl::remove(*root, *record_.intel_rdt);
    record_.intel_rdt.reset();
    return saved;
  }
  return {};
}

Result<void> Container::join_intel_rdt_groups(pid_t pid) const {
  if (!record_.intel_rdt) return {};
  std::optional<resctrl::Root> root = resctrl::open_root();
  if (!root) return fail("intelrdt: resctrl is no longer mounted");
  return resctrl::join(*root, *record_.intel_rdt, pid);
}

// Unmounting resctrl removes every group in it: then nothing is left to remove.
Result<void> Container::remove_intel_rdt_groups() const {
  if (!record_.intel_rdt) return {};
  std::optional<resctrl::Root> root = resctrl::open_root();
  if (!root) return {};
  return resctrl::remove(*root, *record_.intel_rdt);
}

Result<void> RecordJournal::record(const std::map<std::string, std::string>& entries) {
  for (const auto& [key, value] : entries) container_.record().kernel_journal[key] = value;
  return container_.save();
}

}  // namespace mkrun::runtime::internal
