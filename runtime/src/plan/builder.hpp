// Builds the ChildPlan from a validated spec, before the clone. Everything that needs memory,
// parsing or lookups happens here; the decisions are pure functions, unit-tested on their own.
#pragma once

#include <linux/filter.h>

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mkrun/base/error.hpp"
#include "mkrun/base/fd.hpp"
#include "mkrun/oci/spec.hpp"
#include "plan/child_plan.hpp"

namespace mkrun::plan {

// ---- Pure decisions ---------------------------------------------------------------------------

// How the namespaces are obtained: at clone, by setns, by unshare, and whether the init is a
// second fork (a new or joined pid or time namespace applies to children only).
struct NamespaceDecision {
  int clone_flags = 0;
  int unshare_flags = 0;
  std::vector<oci::Namespace> joins;  // user first
  bool user_new = false;
  bool pid_new = false;
  bool mount_new = false;  // false: the caller's mount namespace, or one joined by path
  bool fork_after_unshare = false;
};
Result<NamespaceDecision> decide_namespaces(const std::vector<oci::Namespace>& namespaces);
int namespace_flag(std::string_view type);  // "pid" -> CLONE_NEWPID; 0 if unknown

// The process's environment as runc hands it to execve (1.1 through os.Setenv, 1.5 explicitly): a
// variable set several times keeps its last value (at that last place), and an empty or missing
// HOME becomes `home()`.
std::vector<std::string> process_environment(const std::vector<std::string>& env,
                                             const std::function<std::string()>& home);

// A mount's options split as runc splits them.
struct MountOptions {
  unsigned long flags = 0;
  unsigned long propagation = 0;
  bool bind = false;
  bool recursive_readonly = false;
  bool copy_up = false;  // "tmpcopyup" (crun's): a tmpfs starts with a copy of what it covers
  bool idmap = false;    // "idmap"/"ridmap": an idmapped bind, with the container's maps by default
  bool ridmap = false;   // "ridmap": the submounts of an rbind are idmapped too
  std::string data;      // what the file system itself interprets ("mode=755,size=65536k")
};
MountOptions parse_mount_options(const std::vector<std::string>& options);
// Every option parse_mount_options() gives a meaning, for `mkrun features`.
std::vector<std::string> known_mount_options();

// Capability names ("CAP_CHOWN") to a bit mask; unknown names are returned in `unknown` and
// left out, as runc does.
uint64_t capability_mask(const std::vector<std::string>& names, int last_cap,
                         std::vector<std::string>* unknown = nullptr);
std::optional<int> rlimit_resource(std::string_view name);

// ---- The plan and the storage it points into --------------------------------------------------

// Cgroup hierarchies a "cgroup" mount shows: the container's directory in each, and the name it
// gets under the mount ("memory", "unified").
struct CgroupView {
  std::string directory;
  std::string name;
};

struct BuildInputs {
  const oci::Spec* spec = nullptr;
  std::string bundle;  // absolute
  std::string rootfs;  // absolute
  std::string container_id;
  bool no_pivot = false;
  bool no_new_keyring = false;
  unsigned preserve_fds = 0;
  bool pure_cgroup_v2 = false;
  std::vector<CgroupView> cgroup_views;
};

// The ChildPlan and everything it points to; not movable, so the pointers stay valid.
class PreparedPlan {
 public:
  PreparedPlan() = default;
  PreparedPlan(const PreparedPlan&) = delete;
  PreparedPlan& operator=(const PreparedPlan&) = delete;

  ChildPlan plan;
  NamespaceDecision namespaces;
  std::vector<UniqueFd> namespace_fds;  // opened by the builder, closed by the parent after clone
  std::vector<std::string> unknown_capabilities;

  // Storage.
  const char* keep(std::string text);
  const char* const* keep_list(const std::vector<std::string>& texts);
  std::deque<std::string> strings;
  std::deque<std::vector<const char*>> lists;
  std::vector<NamespaceJoin> joins;
  std::vector<MountStep> mounts;
  std::vector<CgroupBind> cgroup_binds;
  std::vector<DeviceNode> devices;
  std::vector<Symlink> symlinks;
  std::vector<FileWrite> sysctls;
  std::vector<std::string> host_proc_mounts;  // --no-pivot: hidden before the chroot
  std::vector<Rlimit> rlimits;
  std::vector<gid_t> additional_gids;
  std::vector<sock_filter> seccomp_filter;
  std::deque<std::vector<HookExec>> hook_lists;
};

Result<std::unique_ptr<PreparedPlan>> build_plan(const BuildInputs& inputs);
// `exec`: join the namespaces of the running init, run inputs.spec->process there.
Result<std::unique_ptr<PreparedPlan>> build_exec_plan(const BuildInputs& inputs, pid_t init_pid);

// Hooks in the form the allocation-free runner takes; `plan` owns the strings. A hook without
// `env` gets `default_env`: mkrun's own environment for the hooks mkrun runs, the process's for
// those the container runs (createContainer, startContainer), as runc's init gives them.
HookList make_hook_list(PreparedPlan& plan, const std::vector<oci::Hook>& hooks, const char* name,
                        int state_fd, const char* const* default_env);

}  // namespace mkrun::plan
