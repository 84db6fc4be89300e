// The commands that act on a container's cgroup while it lives: `ps` (its pids), `pause` and
// `resume` (the freezer), `update` (new limits, kept in the config.json snapshot). The state
// checks and their messages are runc 1.1's (libcontainer's ErrNotRunning, ErrNotPaused).
#include <string>
#include <vector>

#include "cgroups/manager.hpp"
#include "container/internal.hpp"
#include "mkrun/base/files.hpp"
#include "mkrun/oci/parse.hpp"
#include "mkrun/oci/resources_update.hpp"
#include "mkrun/runtime/runtime.hpp"

namespace mkrun::runtime {
namespace {

Result<std::unique_ptr<cgroups::Manager>> container_cgroup(const oci::ContainerRecord& record) {
  auto host = MKRUN_TRY(cgroups::detect_host());
  return cgroups::open_cgroup(host, record.cgroup);
}

// The new limits, with the other half of the CFS bandwidth pair taken from the merged
// configuration: on v2 both go into one file (cpu.max), and a period written alone would reset
// the quota to "max". runc gets the same effect from writing the whole merged configuration.
oci::Resources with_cpu_bandwidth_pair(oci::Resources writes, const oci::Spec& merged) {
  if (!writes.cpu || writes.cpu->quota.has_value() == writes.cpu->period.has_value()) {
    return writes;
  }
  if (!merged.linux || !merged.linux->resources || !merged.linux->resources->cpu) return writes;
  const oci::CpuResources& current = *merged.linux->resources->cpu;
  if (!writes.cpu->quota) writes.cpu->quota = current.quota;
  if (!writes.cpu->period) writes.cpu->period = current.period;
  return writes;
}

// Rewrites <root>/<id>/config.json with the new limits, so that later commands read them.
Result<oci::Spec> update_snapshot(const state::ContainerDir& dir, const oci::Resources& update,
                                  std::string& new_text) {
  const std::string path = dir.file(state::kConfigName);
  std::string text = MKRUN_TRY(files::read_file(path));
  auto rewritten = oci::apply_resources_update(text, update);
  if (!rewritten) return fail("update `" + path + "`: " + rewritten.error().message);
  auto merged = oci::parse_spec(*rewritten);
  if (!merged) return fail("parse updated `" + path + "`: " + merged.error().message);
  new_text = std::move(*rewritten);
  return std::move(*merged);
}

}  // namespace

// runc's Processes(): every pid in the cgroup, the container's or not; none once the cgroup is
// gone.
Result<std::vector<int>> Runtime::pids(std::string_view id) {
  auto dir = MKRUN_TRY(state::ContainerDir::open(options_.root, id));
  auto record = MKRUN_TRY(dir.load());
  auto cgroup = MKRUN_TRY(container_cgroup(record));
  auto pids = MKRUN_TRY(cgroup->pids());
  return std::vector<int>(pids.begin(), pids.end());
}

// runc pauses a running or a created container; a paused or stopped one is "not running".
Result<void> Runtime::pause(std::string_view id) {
  auto dir = MKRUN_TRY(state::ContainerDir::open(options_.root, id));
  auto record = MKRUN_TRY(dir.load());
  const std::string status = internal::observe_status(dir, record);
  if (status != "running" && status != "created") return fail("container not running");
  auto cgroup = MKRUN_TRY(container_cgroup(record));
  // A frozen created container still reads as "created" (exec.fifo comes first).
  if (MKRUN_TRY(cgroup->is_frozen())) return fail("container not running");
  return cgroup->freeze();
}

Result<void> Runtime::resume(std::string_view id) {
  auto dir = MKRUN_TRY(state::ContainerDir::open(options_.root, id));
  auto record = MKRUN_TRY(dir.load());
  if (internal::observe_status(dir, record) == "stopped") return fail("container not paused");
  auto cgroup = MKRUN_TRY(container_cgroup(record));
  if (!MKRUN_TRY(cgroup->is_frozen())) return fail("container not paused");
  return cgroup->thaw();
}

// The limits runc 1.1's update applies (oci::updatable_part), written to the cgroup without
// touching the device rules, then kept in the config.json snapshot. The snapshot is written
// only once the cgroup took the values, so it never claims limits that are not in force.
Result<void> Runtime::update(std::string_view id, const oci::Resources& resources) {
  auto dir = MKRUN_TRY(state::ContainerDir::open(options_.root, id));
  auto record = MKRUN_TRY(dir.load());
  if (internal::observe_status(dir, record) == "stopped") return fail("container not running");
  const oci::Resources update = oci::updatable_part(resources);
  std::string new_text;
  const oci::Spec merged = MKRUN_TRY(update_snapshot(dir, update, new_text));
  auto cgroup = MKRUN_TRY(container_cgroup(record));
  MKRUN_CHECK(cgroup->update(with_cpu_bandwidth_pair(update, merged)));
  return files::write_file_atomic(dir.file(state::kConfigName), new_text, 0600);
}

}  // namespace mkrun::runtime
