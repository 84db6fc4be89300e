// A container's cgroup on whatever layout the host has: pure v1, pure v2 (unified), or the hybrid
// layout (v1 controllers plus a cgroup2 mount at /sys/fs/cgroup/unified) that runc supports and
// crun refuses. One Manager owns one container's cgroup across every hierarchy.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mkrun/base/error.hpp"
#include "mkrun/base/fd.hpp"
#include "mkrun/oci/spec.hpp"
#include "state/record.hpp"

namespace mkrun::cgroups {

enum class Layout { kV1, kV2, kHybrid };

// One mounted hierarchy: a v1 hierarchy with its controllers, or the unified (v2) one.
struct Hierarchy {
  std::string mount_point;               // "/sys/fs/cgroup/memory"
  std::vector<std::string> controllers;  // {"memory"}; {"name=systemd"}; v2: cgroup.controllers
  bool unified = false;
  // This process's cgroup in it, from /proc/self/cgroup, relative to mount_point ("/",
  // "/process_api/x"). When the mount shows only a subtree (mountinfo root is not "/", as in a
  // container), that root is already taken off.
  std::string own_path = "/";

  bool has(std::string_view controller) const;
};

struct Host {
  Layout layout = Layout::kV1;
  std::vector<Hierarchy> hierarchies;  // in mountinfo order

  const Hierarchy* unified() const;                             // nullptr on pure v1
  const Hierarchy* v1_with(std::string_view controller) const;  // nullptr when not mounted
};

// Reads the host's cgroup mounts. `mountinfo` and `proc_self_cgroup` are the text of
// /proc/self/mountinfo and /proc/self/cgroup, and `unified_controllers` the text of the cgroup2
// mount's cgroup.controllers ("cpu io memory"), so that the parsing is pure and unit-tested.
// A hierarchy mounted twice (bind mounts) is kept once, at its first mount.
Result<Host> parse_host(std::string_view mountinfo, std::string_view proc_self_cgroup,
                        std::string_view unified_controllers = {});
// parse_host() on this process's files, with the unified hierarchy's cgroup.controllers.
Result<Host> detect_host();

// Where the container's cgroup goes, relative to each hierarchy's mount point ("/docker/abc").
// runc's rules: an absolute cgroupsPath is taken from the hierarchy root; a relative one (and the
// default, the container id) is under the caller's own cgroup in that hierarchy, which
// `own_path` resolves per hierarchy. With `systemd`, the path must be "slice:prefix:name" and is
// mapped to the cgroupfs path systemd would use (".../system.slice/prefix-name.scope").
struct CgroupPath {
  std::string path;  // absolute from the hierarchy root, or relative to own_path when !absolute
  bool absolute = true;
};
Result<CgroupPath> resolve_cgroups_path(std::string_view cgroups_path, std::string_view id,
                                        bool systemd);

class Manager {
 public:
  // Plans the cgroup of a new container. Nothing is created yet. `driver` is recorded as is
  // ("cgroupfs" or "systemd"; empty means "cgroupfs").
  static Result<Manager> for_new_container(const Host& host, const CgroupPath& path,
                                           std::string driver);
  // Re-opens the cgroup of an existing container from its saved record. Each recorded directory
  // is matched to the host hierarchy whose mount point holds it.
  static Result<Manager> from_record(const Host& host, const state::CgroupRecord& record);

  // mkdir in every hierarchy (parents too). v1 cpuset: copies cpuset.cpus/mems down every level
  // that has none, or no task could join. Pure v2: enables every available controller in the
  // parents' cgroup.subtree_control, as runc does. Directories made here are removed again when
  // a later step fails. Undone by destroy().
  Result<void> create();
  // Writes the limits of a new container, device rules included (v1: deny all, then the spec's
  // rules, then runc's default allowed devices). Refuses what the layout cannot do, naming the
  // setting. On hybrid, a controller that only the unified hierarchy has (hugetlb on this host)
  // is written there with its v2 file names. `rootless`: failures to set the device rules are
  // ignored, as runc does, since an unprivileged caller is not expected to be able to set them
  // (devices.allow needs CAP_SYS_ADMIN, the eBPF filter CAP_BPF); the other limits still must hold.
  Result<void> apply(const oci::Resources& resources, bool rootless = false);
  // `mkrun update`: like apply() but leaves the device rules alone, so a running container does
  // not see a moment with every device denied.
  Result<void> update(const oci::Resources& resources);
  // Moves `pid` into the cgroup in every hierarchy.
  Result<void> add_process(pid_t pid);
  // Every pid in the cgroup and its sub-cgroups: the unified directory on pure v2, else the v1
  // pids hierarchy (or memory, or the first one). Empty when the cgroup is gone.
  Result<std::vector<pid_t>> pids() const;
  // Sends `signal` to every process in the cgroup. SIGKILL: cgroup.kill where the kernel has it
  // (pure v2), else kills until the cgroup is empty, for up to about a second.
  Result<void> kill_all(int signal) const;
  // `pause` / `resume`: v1 freezer.state (waiting until FROZEN), else v2 cgroup.freeze.
  Result<void> freeze() const;
  Result<void> thaw() const;
  Result<bool> is_frozen() const;
  // Whether a process joining this cgroup now would be frozen at once, so that `create` can
  // refuse instead of waiting on it forever: v1's freezer.state of the cgroup, or of its closest
  // existing ancestor (it reports what is inherited from above), is not THAWED; or v2's
  // cgroup.freeze is 1 on the cgroup or an ancestor below the mount point. Both are checked on
  // hybrid hosts, where the init joins the v1 hierarchies and the unified one.
  Result<bool> frozen_before_join() const;
  // Removes the directory in every hierarchy, sub-cgroups first, retrying for about a second
  // while the kernel still reports EBUSY from exiting tasks. A missing directory is not an
  // error. Does nothing when the record says mkrun does not own the cgroup.
  Result<void> destroy();
  // --systemd-cgroup with systemd running (systemd.hpp): has systemd adopt the cgroup, which
  // `pid` has joined already, as a transient scope with Delegate=yes and runc's resource
  // properties, then writes `resources` again over the values systemd wrote. No-op for the
  // cgroupfs driver and without systemd. update() and destroy() keep the unit in step.
  Result<void> start_systemd_unit(pid_t pid, const oci::Resources* resources);

  // The unified hierarchy's directory (O_PATH) for clone3(CLONE_INTO_CGROUP), on pure v2 and
  // hybrid hosts; an empty UniqueFd on pure v1.
  Result<UniqueFd> open_unified_dir() const;
  // The v1 `tasks` files the init writes "0" into to join by itself. Moving one's own single
  // thread skips the kernel's global threadgroup lock, whose RCU grace period makes every
  // cgroup.procs migration cost several milliseconds.
  std::vector<std::string> v1_task_files() const;
  // Moves `pid` into the unified hierarchy only (when CLONE_INTO_CGROUP was not available).
  Result<void> add_process_to_unified(pid_t pid);
  state::CgroupRecord record() const;
  // Absolute directory of this cgroup in the hierarchy holding `controller` ("memory", or "" for
  // the unified one); empty when the host has no such hierarchy.
  std::string directory_of(std::string_view controller) const;
  const std::vector<std::string>& directories() const { return directories_; }
  Layout layout() const { return host_.layout; }

 private:
  // How write_resources() treats the device rules: set them, set them when the caller may
  // (rootless), or leave them alone (update).
  enum class DeviceRules { kSet, kTry, kLeave };
  Result<void> write_resources(const oci::Resources& resources, DeviceRules devices);
  Result<void> set_systemd_properties(const oci::Resources& resources) const;  // systemd.cpp
  Result<void> stop_systemd_unit() const;                                      // systemd.cpp
  const std::string* unified_directory() const;
  std::string pids_directory() const;

  Host host_;                             // only the hierarchies this cgroup is in
  std::vector<std::string> directories_;  // one per host_.hierarchies entry, absolute
  std::string driver_;
  bool owned_ = true;
};

}  // namespace mkrun::cgroups
