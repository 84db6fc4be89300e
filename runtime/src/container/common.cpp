#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroups/manager.hpp"
#include "child/hook_exec.hpp"
#include "container/internal.hpp"
#include "container/kernel_watch.hpp"
#include "core/proc.hpp"
#include "mkrun/base/files.hpp"
#include "mkrun/oci/parse.hpp"
#include "plan/builder.hpp"

namespace mkrun::runtime::internal {

namespace {

bool is_paused(const oci::ContainerRecord& record, const cgroups::Host* known_host) {
  Result<cgroups::Host> detected = fail("not read");
  if (!known_host) {
    detected = cgroups::detect_host();
    if (!detected) return false;
    known_host = &*detected;
  }
  auto cgroup = cgroups::open_cgroup(*known_host, record.cgroup);
  if (!cgroup) return false;
  auto frozen = (*cgroup)->is_frozen();
  return frozen && *frozen;
}

}  // namespace

std::string observe_status(const state::ContainerDir& dir, const oci::ContainerRecord& record,
                           const cgroups::Host* host) {
  if (!proc::is_alive(record.pid, record.pid_start_time)) return "stopped";
  if (stop_if_kernel_failed(record)) return "stopped";
  // runc reports a frozen container as paused, created or not.
  if (is_paused(record, host)) return "paused";
  if (dir.has_fifo()) return "created";
  return "running";
}

oci::State make_state(const oci::ContainerRecord& record, std::string status) {
  oci::State state;
  state.ociVersion = record.ociVersion;
  state.id = record.id;
  state.pid = status == "stopped" ? 0 : record.pid;
  state.status = std::move(status);
  state.bundle = record.bundle;
  state.rootfs = record.rootfs;
  state.created = record.created;
  state.annotations = record.annotations;
  return state;
}

Result<void> RecordJournal::record(const std::map<std::string, std::string>& entries) {
  for (const auto& [key, value] : entries) record_.kernel_journal[key] = value;
  return dir_.save(record_);
}

oci::State observed_state(const state::ContainerDir& dir, oci::ContainerRecord record) {
  oci::State state = make_state(record, observe_status(dir, record));
  for (auto& [key, value] : kernel_description(record)) state.annotations[key] = value;
  return state;
}

// Releases what the container's kernel backend took; the state stays when that fails, so that
// `delete` can be run again and nothing is leaked.
Result<void> release_kernel(const state::ContainerDir& dir, oci::ContainerRecord record) {
  if (record.kernel.empty()) return {};
  auto backend = MKRUN_TRY(find_kernel_backend(record.kernel));
  if (!backend) return {};
  RecordJournal journal(dir, record);
  return backend->release(journal);
}

Result<oci::Spec> load_spec_snapshot(const state::ContainerDir& dir) {
  std::string path = dir.file(state::kConfigName);
  auto text = MKRUN_TRY(files::read_file(path));
  auto spec = oci::parse_spec(text);
  if (!spec) return fail("parse `" + path + "`: " + spec.error().message);
  return std::move(*spec);
}

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

Result<void> signal_container(const oci::ContainerRecord& record, int signal, bool all) {
  if (all) {
    auto host = MKRUN_TRY(cgroups::detect_host());
    auto cgroup = MKRUN_TRY(cgroups::open_cgroup(host, record.cgroup));
    // Without a cgroup nothing lists the container's processes: the init is the one mkrun
    // knows, and with a pid namespace of its own, killing it takes the others along.
    if (cgroup->driver() != cgroups::Driver::kDisabled) return cgroup->kill_all(signal);
  }
  if (::kill(record.pid, signal) < 0)
    return fail_errno("kill container init " + std::to_string(record.pid));
  return {};
}

void warn(const GlobalOptions& global, const std::string& message) {
  if (global.warn) global.warn(message);
}

Result<void> kill_processes(const oci::ContainerRecord& record, const cgroups::Manager* cgroup) {
  if (proc::is_alive(record.pid, record.pid_start_time)) {
    (void)::kill(record.pid, SIGKILL);
    // A frozen task does not die until it is thawed.
    if (cgroup) (void)cgroup->thaw();
    if (!wait_for_exit(record.pid, record.pid_start_time, 10000)) {
      return fail("container init " + std::to_string(record.pid) + " did not exit after SIGKILL");
    }
  }
  // Without its own pid namespace the container's other processes outlive its init.
  if (cgroup) (void)cgroup->kill_all(SIGKILL);
  return {};
}

Result<void> destroy_container(const GlobalOptions& global, state::ContainerDir& dir,
                               const oci::ContainerRecord& record) {
  auto spec = load_spec_snapshot(dir);
  auto host = MKRUN_TRY(cgroups::detect_host());
  auto cgroup = cgroups::open_cgroup(host, record.cgroup);
  stop_kernel_watcher(record);
  MKRUN_CHECK(kill_processes(record, cgroup ? cgroup->get() : nullptr));
  if (cgroup) MKRUN_CHECK((*cgroup)->destroy());
  // The last chance to tell why the application died, before the instance is released.
  if (auto failure = kernel_failure(record))
    warn(global, "container " + record.id + ": " + *failure);
  MKRUN_CHECK(release_kernel(dir, record));
  MKRUN_CHECK(dir.remove());
  if (spec && spec->hooks) {
    oci::State state = make_state(record, "stopped");
    // The runtime spec makes a failed poststop hook a warning: the container is gone anyway.
    if (auto ran = run_runtime_hooks(spec->hooks->poststop, "poststop", state); !ran) {
      warn(global, ran.error().render());
    }
  }
  return {};
}

}  // namespace mkrun::runtime::internal
