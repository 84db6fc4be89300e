// Namespaces: which are made at clone, which by unshare, which joined; and, for `exec`, the
// running init's to enter.
#include <fcntl.h>
#include <sched.h>

#include <algorithm>

#include "mkrun/base/files.hpp"
#include "mkrun/oci/vocabulary.hpp"
#include "plan/builder_parts.hpp"

namespace mkrun::plan {

int namespace_flag(std::string_view type) {
  const auto* kind = oci::vocabulary::find(oci::vocabulary::kNamespaces, type);
  return kind ? kind->clone_flag : 0;
}

Result<NamespaceDecision> decide_namespaces(const std::vector<oci::Namespace>& namespaces) {
  NamespaceDecision decision;
  int new_flags = 0;
  for (const auto& ns : namespaces) {
    int flag = namespace_flag(ns.type);
    if (flag == 0) return fail("unknown namespace type \"" + ns.type + "\"");
    if (ns.path.empty()) {
      new_flags |= flag;
    } else {
      decision.joins.push_back(ns);
    }
  }
  decision.mount_new = (new_flags & CLONE_NEWNS) != 0;
  // The user namespace is joined first: the others may belong to it.
  std::ranges::stable_partition(decision.joins,
                                [](const oci::Namespace& ns) { return ns.type == "user"; });
  decision.user_new = (new_flags & CLONE_NEWUSER) != 0;
  decision.pid_new = (new_flags & CLONE_NEWPID) != 0;
  bool user_joined = !decision.joins.empty() && decision.joins.front().type == "user";
  bool pid_joined =
      std::ranges::any_of(decision.joins, [](const auto& ns) { return ns.type == "pid"; });
  bool time_new = (new_flags & CLONE_NEWTIME) != 0;
  if (user_joined || (decision.user_new && !decision.joins.empty())) {
    // setns() into namespaces owned elsewhere must come before the new user namespace exists,
    // and new namespaces must be created inside the joined one: everything after the clone.
    decision.unshare_flags = new_flags;
    decision.fork_after_unshare = decision.pid_new || pid_joined || time_new;
  } else {
    // The cgroup namespace must be made after the init joined its cgroup, and a time
    // namespace's offsets must be written before anything runs in it. The init is then forked
    // into the time namespace, so a new pid namespace is unshared with it: the fork is its pid
    // 1 (the cloned child would be, and pid 1 cannot fork with CLONE_PARENT).
    int after_clone = CLONE_NEWCGROUP | CLONE_NEWTIME | (time_new ? CLONE_NEWPID : 0);
    decision.clone_flags = new_flags & ~after_clone;
    decision.unshare_flags = new_flags & after_clone;
    decision.fork_after_unshare = pid_joined || time_new;
  }
  return decision;
}

bool joins_or_makes_user_namespace(const NamespaceDecision& namespaces) {
  return namespaces.user_new ||
         std::ranges::any_of(namespaces.joins, [](const auto& ns) { return ns.type == "user"; });
}

Result<void> add_namespaces(PreparedPlan& prepared, const oci::Linux& linux) {
  prepared.namespaces = MKRUN_TRY(decide_namespaces(linux.namespaces));
  const NamespaceDecision& decision = prepared.namespaces;
  for (const auto& ns : decision.joins) {
    auto fd = files::open(ns.path, O_RDONLY);
    if (!fd) return std::unexpected(std::move(fd).error().wrap("join " + ns.type + " namespace"));
    prepared.joins.push_back({fd->get(), namespace_flag(ns.type)});
    prepared.namespace_fds.push_back(std::move(*fd));
  }
  ChildPlan& plan = prepared.plan;
  plan.clone_flags = decision.clone_flags;
  plan.unshare_flags = decision.unshare_flags;
  plan.user_namespace_new = decision.user_new;
  // Only a namespace mkrun makes: a joined one is its owner's to set up (runc, crun).
  plan.loopback_up = ((decision.clone_flags | decision.unshare_flags) & CLONE_NEWNET) != 0;
  plan.fork_after_unshare = decision.fork_after_unshare;
  if (!linux.timeOffsets.empty()) {
    std::string offsets;
    for (const auto& [clock, offset] : linux.timeOffsets) {
      offsets +=
          clock + " " + std::to_string(offset.secs) + " " + std::to_string(offset.nanosecs) + "\n";
    }
    plan.time_offsets = prepared.keep(offsets);
  }
  return {};
}

// `exec` enters every namespace the container has, through its init, in the table's order: the
// user namespace first, the mount namespace last (it changes what paths mean).
Result<void> add_joined_namespaces(PreparedPlan& prepared, const oci::Spec& spec, pid_t init_pid) {
  const std::vector<oci::Namespace> none;
  const auto& namespaces = spec.linux ? spec.linux->namespaces : none;
  for (const auto& kind : oci::vocabulary::kNamespaces) {
    bool used = std::ranges::any_of(namespaces,
                                    [&](const oci::Namespace& ns) { return ns.type == kind.name; });
    if (!used) continue;  // shared with the host: nothing to enter
    std::string path = "/proc/" + std::to_string(init_pid) + "/ns/" + std::string(kind.proc_file);
    auto fd = files::open(path, O_RDONLY);
    if (!fd) {
      return std::unexpected(std::move(fd).error().wrap("join the container's " +
                                                        std::string(kind.name) + " namespace"));
    }
    prepared.joins.push_back({fd->get(), kind.clone_flag});
    prepared.namespace_fds.push_back(std::move(*fd));
    if (kind.clone_flag == CLONE_NEWUSER) prepared.plan.set_groups = true;
  }
  // setns() into a pid or time namespace applies to children only: fork once more.
  prepared.plan.fork_after_unshare = true;
  bool own_mount_namespace = std::ranges::any_of(
      namespaces, [](const oci::Namespace& ns) { return ns.type == "mount" && ns.path.empty(); });
  if (!own_mount_namespace) {
    // The init chrooted into the rootfs of a namespace it shares: the process goes where it is.
    std::string root = "/proc/" + std::to_string(init_pid) + "/root";
    auto fd = files::open(root, O_PATH | O_DIRECTORY);
    if (!fd) return std::unexpected(std::move(fd).error().wrap("open the container's root"));
    prepared.plan.exec_root_fd = fd->get();
    prepared.namespace_fds.push_back(std::move(*fd));
  }
  return {};
}

}  // namespace mkrun::plan
