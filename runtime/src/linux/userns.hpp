// User namespaces from the parent's side: the id maps of the container's new user namespace
// (written directly, or through newuidmap/newgidmap when mkrun runs unprivileged), and idmapped
// mounts, which need a user namespace of their own that only carries the mount's mappings.
//
// Everything here runs in the parent, before or right after clone, never in the child.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "mkrun/base/error.hpp"
#include "mkrun/base/fd.hpp"
#include "mkrun/oci/spec.hpp"

namespace mkrun::userns {

// ---- Pure rules -------------------------------------------------------------------------------

// The text /proc/<pid>/uid_map and gid_map take: one "containerID hostID size\n" per mapping.
std::string id_map_text(const std::vector<oci::IdMapping>& mappings);

// newuidmap/newgidmap's arguments: <pid> then containerID hostID size for each mapping.
std::vector<std::string> mapping_tool_args(pid_t pid, const std::vector<oci::IdMapping>& mappings);

// runc's rule (requiresRootOrMappingTool): an unprivileged runtime whose only gid mapping is its
// own egid as gid 0 writes gid_map itself, which the kernel allows only after "deny" was written
// to setgroups. Any other mapping goes through newgidmap, which keeps setgroups allowed.
bool must_deny_setgroups(const std::vector<oci::IdMapping>& gid_mappings, bool rootless,
                         gid_t egid);

// Whether a /proc/<pid>/uid_map text is the initial user namespace's ("0 0 4294967295").
bool is_initial_uid_map(std::string_view uid_map);

// ---- The container's user namespace -----------------------------------------------------------

// Paths of newuidmap and newgidmap (Debian package `uidmap`); empty when not installed.
struct MappingTools {
  std::string newuidmap;
  std::string newgidmap;
};
// Looks both up in $PATH, as runc does (exec.LookPath).
MappingTools find_mapping_tools();

// Writes the id maps of the new user namespace `pid` lives in, as runc's nsexec does:
//   1. when `rootless` and must_deny_setgroups(): "deny" into /proc/<pid>/setgroups;
//   2. uid_map, then gid_map, written directly; a privileged mkrun always can;
//   3. when that is refused (EPERM) and `rootless`: newuidmap/newgidmap <pid> <mappings...>,
//      with an empty environment and only stdio open, its stderr going to mkrun's.
// `rootless` is runc's RootlessEUID: mkrun's effective uid is not 0 (pass ::geteuid() != 0).
// Errors are runc's: "failed to update /proc/<pid>/uid_map: <errno>", "mapping tool not present:
// operation not permitted", "failed to use newuid map on <pid>: ...".
Result<void> write_id_maps(pid_t pid, const oci::Linux& linux, bool rootless);
Result<void> write_id_maps(pid_t pid, const oci::Linux& linux, bool rootless,
                           const MappingTools& tools);

// True when mkrun itself runs in a user namespace other than the initial one (rootless podman,
// a nested container): there mknod is refused whatever the spec says, so the container's device
// nodes must be bind-mounted from the host, as runc does (userns.RunningInUserNS()).
bool running_in_user_namespace();

// ---- Idmapped mounts --------------------------------------------------------------------------

// An fd of a new user namespace with exactly these maps and no process left in it. A helper is
// cloned into a new user namespace, the maps are written (mkrun must be privileged), its
// /proc/<pid>/ns/user is opened and the helper exits.
Result<UniqueFd> make_userns_fd(const std::vector<oci::IdMapping>& uid_mappings,
                                const std::vector<oci::IdMapping>& gid_mappings);

// A detached copy of the mount at `source` (recursive: with the mounts below it, for "rbind"):
// open_tree(OPEN_TREE_CLONE), Linux 5.2. What a bind mount needs when the container's init runs
// in a user namespace: there the init may not reach the source at all (a path under a 0700
// directory owned by host root, such as the state dir holding notify/), and an fd opened by the
// parent does not help either, since mount(MS_BIND) refuses a source from another mount
// namespace (EINVAL). A detached tree can be attached from any mount namespace. runc 1.1 gets
// the same effect by opening sources inside the container's mount namespace (mountFds).
// The child attaches it as described under make_idmapped_mount(). Only for a privileged mkrun:
// open_tree(OPEN_TREE_CLONE) needs CAP_SYS_ADMIN (EPERM otherwise), and a rootless init is the
// user itself, who reaches whatever mkrun reaches, so it binds directly.
Result<UniqueFd> clone_mount_tree(const std::string& source, bool recursive);

// The same tree, idmapped: a file whose on-disk owner is a mapping's containerID shows as its
// hostID, as runc 1.2 maps mount uidMappings/gidMappings. clone_mount_tree() +
// mount_setattr(MOUNT_ATTR_IDMAP); needs Linux 5.12 and a file system that supports idmapped
// mounts.
//
// Call it in the parent before clone; the child inherits the fd and attaches the tree with
//   move_mount(fd, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)
// (target_fd: the O_PATH fd of the mount point inside the rootfs), or with
//   move_mount(fd, "", AT_FDCWD, "/proc/self/fd/<target_fd>", MOVE_MOUNT_F_EMPTY_PATH),
// instead of mount(MS_BIND). The fd is O_CLOEXEC, so the container process never sees it.
// `recursive` clones the submounts too (rbind); `recursive_idmap` idmaps them as well.
Result<UniqueFd> make_idmapped_mount(const std::string& source,
                                     const std::vector<oci::IdMapping>& uid_mappings,
                                     const std::vector<oci::IdMapping>& gid_mappings,
                                     bool recursive, bool recursive_idmap);

}  // namespace mkrun::userns
