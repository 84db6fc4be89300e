// The cgroupfs peer: mkrun makes the container's cgroup directories and writes its limits itself,
// in every hierarchy the host has. Follows runc's fs (v1) and fs2 (v2) managers; on the hybrid
// layout it behaves like runc's v1 manager and also uses the unified hierarchy, as runc 1.1 does.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cgroups/manager.hpp"

namespace mkrun::cgroups {

// Where one cgroup lives: its directory in each hierarchy it is in.
struct Placement {
  Host host;                             // only the hierarchies this cgroup is in
  std::vector<std::string> directories;  // one per host.hierarchies entry, absolute
  bool owned = true;                     // mkrun made it, so destroy() removes it
};

// The directories of a new container's cgroup, in every hierarchy runc joins.
Result<Placement> plan_placement(const Host& host, const CgroupPath& path);
// The directories a record names, each matched to the deepest host mount point holding it.
Result<Placement> placement_of(const Host& host, const state::CgroupRecord& record);

class CgroupfsManager : public Manager {
 public:
  explicit CgroupfsManager(Placement placement)
      : host_(std::move(placement.host)),
        directories_(std::move(placement.directories)),
        owned_(placement.owned) {}

  Driver driver() const override { return Driver::kCgroupfs; }
  Result<void> create() override;
  Result<void> apply(const oci::Resources& resources, bool rootless) override;
  Result<void> update(const oci::Resources& resources) override;
  Result<void> adopt(pid_t, const oci::Resources*) override { return {}; }
  Result<void> add_process(pid_t pid) override;
  Result<void> add_process_to_unified(pid_t pid) override;
  std::vector<std::string> v1_task_files() const override;
  Result<UniqueFd> open_unified_dir() const override;
  Result<std::vector<pid_t>> pids() const override;
  Result<void> kill_all(int signal) const override;
  Result<void> freeze() const override;
  Result<void> thaw() const override;
  Result<bool> is_frozen() const override;
  Result<bool> frozen_before_join() const override;
  Result<void> destroy() override;
  state::CgroupRecord record() const override;
  std::string directory_of(std::string_view controller) const override;
  const std::vector<std::string>& directories() const override { return directories_; }
  Layout layout() const override { return host_.layout; }

 protected:
  // How write_resources() treats the device rules: set them, set them when the caller may
  // (rootless), or leave them alone (update).
  enum class DeviceRules { kSet, kTry, kLeave };
  Result<void> write_resources(const oci::Resources& resources, DeviceRules devices);
  const Host& host() const { return host_; }
  bool owned() const { return owned_; }

 private:
  const std::string* unified_directory() const;
  std::string pids_directory() const;

  Host host_;                             // only the hierarchies this cgroup is in
  std::vector<std::string> directories_;  // one per host_.hierarchies entry, absolute
  bool owned_ = true;
};

}  // namespace mkrun::cgroups
