// The disabled peer: a container without a cgroup.
#include "cgroups/disabled.hpp"

namespace mkrun::cgroups {

std::unexpected<Error> without_cgroup(std::string_view action) {
  return fail("cannot " + std::string(action) +
              ": the container has no cgroup (its cgroup manager is disabled)");
}

bool sets_limits(const oci::Resources& resources) {
  return resources.memory || resources.cpu || resources.pids || resources.blockIO ||
         !resources.hugepageLimits.empty() || resources.network || !resources.rdma.empty() ||
         !resources.unified.empty();
}

Result<void> DisabledManager::update(const oci::Resources& resources) {
  if (sets_limits(resources)) return without_cgroup("set limits");
  return {};
}

Result<std::vector<pid_t>> DisabledManager::pids() const {
  return without_cgroup("list the container's processes");
}

Result<void> DisabledManager::freeze() const {
  return without_cgroup("pause the container");
}

Result<void> DisabledManager::thaw() const {
  return without_cgroup("resume the container");
}

state::CgroupRecord DisabledManager::record() const {
  return {std::string(driver_name(Driver::kDisabled)), {}, false};
}

}  // namespace mkrun::cgroups
