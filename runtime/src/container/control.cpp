// The commands that act on a container's cgroup while it lives: `ps` (its pids), `pause` and
// `resume` (the freezer), `update` (new limits, kept in the config.json snapshot). The state
// checks and their messages are runc 1.1's (libcontainer's ErrNotRunning, ErrNotPaused).
#include <string>
#include <vector>

#include "cgroups/manager.hpp"
#include "container/container.hpp"
#include "linux/resctrl.hpp"
#include "mkrun/base/files.hpp"
#include "mkrun/oci/parse.hpp"
#include "mkrun/oci/resources_update.hpp"
#include "mkrun/runtime/runtime.hpp"

namespace mkrun::runtime {

using internal::Container;

namespace {

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

// runc's checks, in its words, before anything changes: the host has the feature, and the
// container has a class of service to change.
Result<resctrl::Root> open_intel_rdt_for_update(const Container& container,
                                                const Runtime::IntelRdtUpdate& rdt) {
  std::optional<resctrl::Root> root = resctrl::open_root();
  const resctrl::Features host = root ? resctrl::features_of(*root) : resctrl::Features{};
  if (!rdt.l3CacheSchema.empty() && !host.cat) {
    return fail("Intel RDT/CAT: l3 cache schema is not enabled");
  }
  if (!rdt.memBwSchema.empty() && !host.mba) {
    return fail("Intel RDT/MBA: memory bandwidth schema is not enabled");
  }
  if (!container.record().intel_rdt) {
    return fail("updating a non-existent Intel RDT configuration is not supported");
  }
  return std::move(*root);
}

}  // namespace

// runc's Processes(): every pid in the cgroup, the container's or not; none once the cgroup is
// gone.
Result<std::vector<int>> Runtime::pids(std::string_view id) {
  auto container = MKRUN_TRY(Container::open(options_.root, id));
  auto pids = MKRUN_TRY(MKRUN_TRY(container.cgroup())->pids());
  return std::vector<int>(pids.begin(), pids.end());
}

Result<void> Runtime::pause(std::string_view id) {
  auto container = MKRUN_TRY(Container::open(options_.root, id));
  MKRUN_CHECK(container.status().can_pause());
  return MKRUN_TRY(container.cgroup())->freeze();
}

Result<void> Runtime::resume(std::string_view id) {
  auto container = MKRUN_TRY(Container::open(options_.root, id));
  MKRUN_CHECK(container.status().can_resume());
  return MKRUN_TRY(container.cgroup())->thaw();
}

// The limits runc 1.1's update applies (oci::updatable_part), written to the cgroup without
// touching the device rules, then kept in the config.json snapshot. The snapshot is written
// only once the cgroup took the values, so it never claims limits that are not in force.
Result<void> Runtime::update(std::string_view id, const oci::Resources& resources,
                             const IntelRdtUpdate& rdt) {
  auto container = MKRUN_TRY(Container::open(options_.root, id));
  MKRUN_CHECK(container.status().can_update());
  oci::IntelRdt asked;
  asked.l3CacheSchema = rdt.l3CacheSchema;
  asked.memBwSchema = rdt.memBwSchema;
  const std::vector<std::string> schemata = resctrl::schemata_lines(asked);
  std::optional<resctrl::Root> resctrl_root;
  if (!schemata.empty()) resctrl_root = MKRUN_TRY(open_intel_rdt_for_update(container, rdt));
  const oci::Resources update = oci::updatable_part(resources);
  std::string new_text;
  const oci::Spec merged = MKRUN_TRY(update_snapshot(container.dir(), update, new_text));
  MKRUN_CHECK(MKRUN_TRY(container.cgroup())->update(with_cpu_bandwidth_pair(update, merged)));
  if (resctrl_root) {
    MKRUN_CHECK(resctrl::write_schemata(*resctrl_root, *container.record().intel_rdt, schemata));
  }
  return files::write_file_atomic(container.dir().file(state::kConfigName), new_text, 0600);
}

}  // namespace mkrun::runtime
