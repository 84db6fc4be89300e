// The disabled peer (--cgroup-manager=disabled), as crun has it: the container gets no cgroup of
// its own and stays in the cgroup of whoever ran mkrun. No directory is made or removed and no
// limit written. What needs a cgroup (ps, pause, resume, update with limits, stats) fails and
// says why; what merely tidies up one (delete) has nothing to do.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cgroups/manager.hpp"

namespace mkrun::cgroups {

class DisabledManager final : public Manager {
 public:
  explicit DisabledManager(Layout layout) : layout_(layout) {}

  Driver driver() const override { return Driver::kDisabled; }
  Result<void> create() override { return {}; }
  // crun's rule: a new container's limits are not applied, and that is no error; the caller
  // chose a runtime without cgroups.
  Result<void> apply(const oci::Resources&, bool) override { return {}; }
  // `update` asks for limits explicitly: refused when it sets any, rather than pretending
  // (crun: "cannot set limits without cgroups").
  Result<void> update(const oci::Resources& resources) override;
  Result<void> adopt(pid_t, const oci::Resources*) override { return {}; }
  Result<void> add_process(pid_t) override { return {}; }
  Result<void> add_process_to_unified(pid_t) override { return {}; }
  std::vector<std::string> v1_task_files() const override { return {}; }
  Result<UniqueFd> open_unified_dir() const override { return UniqueFd(); }
  Result<std::vector<pid_t>> pids() const override;
  // Nothing lists the container's processes: the caller signals the init instead (common.cpp).
  Result<void> kill_all(int) const override { return {}; }
  Result<void> freeze() const override;
  Result<void> thaw() const override;
  Result<bool> is_frozen() const override { return false; }
  Result<bool> frozen_before_join() const override { return false; }
  Result<void> destroy() override { return {}; }
  state::CgroupRecord record() const override;
  std::string directory_of(std::string_view) const override { return {}; }
  const std::vector<std::string>& directories() const override { return no_directories_; }
  Layout layout() const override { return layout_; }

 private:
  Layout layout_;
  std::vector<std::string> no_directories_;
};

// The error for `action` ("pause the container") on a container without a cgroup.
std::unexpected<Error> without_cgroup(std::string_view action);

// Whether `resources` sets any limit that needs a cgroup; device rules do not count, since
// without a cgroup there is nothing to deny and everything the spec allows is allowed.
bool sets_limits(const oci::Resources& resources);

}  // namespace mkrun::cgroups
