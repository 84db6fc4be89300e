// A container's cgroup on whatever layout the host has: pure v1, pure v2 (unified), or the hybrid
// layout (v1 controllers plus a cgroup2 mount at /sys/fs/cgroup/unified) that runc supports and
// crun refuses. One Manager owns one container's cgroup across every hierarchy; its peers are
// cgroupfs.hpp, systemd.hpp (SystemdManager) and disabled.hpp.
#pragma once

#include <sys/types.h>

#include <memory>
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

// Which peer manages a container's cgroup, as crun and youki have them. cgroupfs makes and writes
// the cgroup directories itself; systemd does the same and has systemd adopt the cgroup as a
// transient unit; disabled gives the container no cgroup at all.
enum class Driver { kCgroupfs, kSystemd, kDisabled };

// The driver's name in the container's record: "cgroupfs", "systemd" or "disabled".
std::string_view driver_name(Driver driver);
// The driver a record names. An empty name is cgroupfs, as it always was.
Result<Driver> driver_named(std::string_view name);

// One container's cgroup, whichever peer manages it.
class Manager {
 public:
  virtual ~Manager() = default;

  virtual Driver driver() const = 0;
  // mkdir in every hierarchy (parents too). v1 cpuset: copies cpuset.cpus/mems down every level
  // that has none, or no task could join. Pure v2: enables every available controller in the
  // parents' cgroup.subtree_control, as runc does. Directories made here are removed again when
  // a later step fails. Undone by destroy().
  virtual Result<void> create() = 0;
  // Writes the limits of a new container, device rules included (v1: deny all, then the spec's
  // rules, then runc's default allowed devices). Refuses what the layout cannot do, naming the
  // setting. On hybrid, a controller that only the unified hierarchy has (hugetlb on this host)
  // is written there with its v2 file names. `rootless`: failures to set the device rules are
  // ignored, as runc does, since an unprivileged caller is not expected to be able to set them
  // (devices.allow needs CAP_SYS_ADMIN, the eBPF filter CAP_BPF); the other limits still must hold.
  virtual Result<void> apply(const oci::Resources& resources, bool rootless) = 0;
  // `mkrun update`: like apply() but leaves the device rules alone, so a running container does
  // not see a moment with every device denied.
  virtual Result<void> update(const oci::Resources& resources) = 0;
  // Called once the init (`pid`) is in the cgroup, before it goes on: the systemd peer has
  // systemd adopt the cgroup now (a scope cannot exist without a process). No-op for the others.
  virtual Result<void> adopt(pid_t pid, const oci::Resources* resources) = 0;
  // Moves `pid` into the cgroup in every hierarchy.
  virtual Result<void> add_process(pid_t pid) = 0;
  // Moves `pid` into the unified hierarchy only (when CLONE_INTO_CGROUP was not available).
  virtual Result<void> add_process_to_unified(pid_t pid) = 0;
  // The v1 `tasks` files the init writes "0" into to join by itself. Moving one's own single
  // thread skips the kernel's global threadgroup lock, whose RCU grace period makes every
  // cgroup.procs migration cost several milliseconds.
  virtual std::vector<std::string> v1_task_files() const = 0;
  // The unified hierarchy's directory (O_PATH) for clone3(CLONE_INTO_CGROUP), on pure v2 and
  // hybrid hosts; an empty UniqueFd on pure v1 and when there is no cgroup.
  virtual Result<UniqueFd> open_unified_dir() const = 0;
  // Every pid in the cgroup and its sub-cgroups: the unified directory on pure v2, else the v1
  // pids hierarchy (or memory, or the first one). Empty when the cgroup is gone.
  virtual Result<std::vector<pid_t>> pids() const = 0;
  // Sends `signal` to every process in the cgroup. SIGKILL: cgroup.kill where the kernel has it
  // (pure v2, and the unified hierarchy of hybrid), and on v1 and hybrid kills until the cgroup
  // is empty, for up to about a second.
  virtual Result<void> kill_all(int signal) const = 0;
  // `pause` / `resume`: v1 freezer.state (waiting until FROZEN), else v2 cgroup.freeze.
  virtual Result<void> freeze() const = 0;
  virtual Result<void> thaw() const = 0;
  virtual Result<bool> is_frozen() const = 0;
  // Whether a process joining this cgroup now would be frozen at once, so that `create` can
  // refuse instead of waiting on it forever: v1's freezer.state of the cgroup, or of its closest
  // existing ancestor (it reports what is inherited from above), is not THAWED; or v2's
  // cgroup.freeze is 1 on the cgroup or an ancestor below the mount point. Both are checked on
  // hybrid hosts, where the init joins the v1 hierarchies and the unified one.
  virtual Result<bool> frozen_before_join() const = 0;
  // Removes the directory in every hierarchy, sub-cgroups first, retrying for about a second
  // while the kernel still reports EBUSY from exiting tasks. A missing directory is not an
  // error. Does nothing when the record says mkrun does not own the cgroup.
  virtual Result<void> destroy() = 0;

  // What state.json keeps, for open_cgroup() in later commands.
  virtual state::CgroupRecord record() const = 0;
  // Absolute directory of this cgroup in the hierarchy holding `controller` ("memory", or "" for
  // the unified one); empty when the host has no such hierarchy, or there is no cgroup.
  virtual std::string directory_of(std::string_view controller) const = 0;
  virtual const std::vector<std::string>& directories() const = 0;
  virtual Layout layout() const = 0;
};

// Plans the cgroup of a new container under `driver`. Nothing is created yet; `path` is not used
// by the disabled driver.
Result<std::unique_ptr<Manager>> plan_new_cgroup(const Host& host, const CgroupPath& path,
                                                 Driver driver);
// Re-opens the cgroup of an existing container from its saved record, with the driver it was
// made with. Each recorded directory is matched to the host hierarchy whose mount point holds it.
Result<std::unique_ptr<Manager>> open_cgroup(const Host& host, const state::CgroupRecord& record);

}  // namespace mkrun::cgroups
