// A container's cgroup on whatever layout the host has: pure v1, pure v2 (unified), or the hybrid
// layout (v1 controllers plus a cgroup2 mount at /sys/fs/cgroup/unified) that runc supports and
// crun refuses. One Manager owns one container's cgroup across every hierarchy.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "mkrun/oci/spec.hpp"
#include "mkrun/oci/state.hpp"
#include "mkrun/runtime/error.hpp"
#include "mkrun/runtime/fd.hpp"

namespace mkrun::cgroups {

enum class Layout { kV1, kV2, kHybrid };

// One mounted hierarchy: a v1 hierarchy with its controllers, or the unified (v2) one.
struct Hierarchy {
  std::string mount_point;               // "/sys/fs/cgroup/memory"
  std::vector<std::string> controllers;  // {"memory"}; {"name=systemd"}; v2: the enabled ones
  bool unified = false;
  std::string own_path;                  // this process's cgroup in it (from /proc/self/cgroup)
};

struct Host {
  Layout layout = Layout::kV1;
  std::vector<Hierarchy> hierarchies;
};

// Reads the host's cgroup mounts. `mountinfo` and `proc_self_cgroup` are the text of
// /proc/self/mountinfo and /proc/self/cgroup, so that the parsing is pure and unit-tested.
Result<Host> parse_host(std::string_view mountinfo, std::string_view proc_self_cgroup);
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
  // Plans the cgroup of a new container. Nothing is created yet.
  static Result<Manager> for_new_container(const Host& host, const CgroupPath& path,
                                           std::string driver);
  // Re-opens the cgroup of an existing container from its saved record.
  static Result<Manager> from_record(const Host& host, const oci::CgroupRecord& record);

  // mkdir in every hierarchy (parents too); on v2, enables the controllers the limits need in
  // the parents' cgroup.subtree_control. Undone by destroy().
  Result<void> create();
  // Writes the limits. Refuses what the layout cannot do, naming the setting.
  Result<void> apply(const oci::Resources& resources);
  // Moves `pid` into the cgroup in every hierarchy.
  Result<void> add_process(pid_t pid);
  // Every pid in the cgroup (v2 cgroup.procs, else the first v1 hierarchy's cgroup.procs).
  Result<std::vector<pid_t>> pids() const;
  // Sends `signal` to every process in the cgroup.
  Result<void> kill_all(int signal) const;
  // Removes the directories, deepest first, retrying briefly while the kernel still reports
  // EBUSY from exiting tasks. A missing directory is not an error.
  Result<void> destroy();

  // The unified hierarchy's directory, for clone3(CLONE_INTO_CGROUP); empty on pure v1.
  Result<UniqueFd> open_unified_dir() const;
  oci::CgroupRecord record() const;
  // Absolute directory of this cgroup in the hierarchy holding `controller` ("memory", or "" for
  // the unified one); empty when the host has no such hierarchy.
  std::string directory_of(std::string_view controller) const;

 private:
  Host host_;
  std::vector<std::string> directories_;  // one per host_.hierarchies entry, absolute
  std::string driver_;
  bool owned_ = true;
};

}  // namespace mkrun::cgroups
