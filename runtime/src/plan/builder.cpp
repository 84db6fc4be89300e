// Assembles a ChildPlan from its parts (namespaces, mounts, devices, process, scheduling) and
// owns the storage the plan points into.
#include "plan/builder.hpp"

#include <unistd.h>

#include <algorithm>

#include "plan/builder_parts.hpp"

namespace mkrun::plan {

const char* PreparedPlan::keep(std::string text) {
  return strings.emplace_back(std::move(text)).c_str();
}

const char* const* PreparedPlan::keep_list(const std::vector<std::string>& texts) {
  std::vector<const char*>& list = lists.emplace_back();
  for (const auto& text : texts) list.push_back(keep(text));
  list.push_back(nullptr);
  return list.data();
}

HookList make_hook_list(PreparedPlan& plan, const std::vector<oci::Hook>& hooks, const char* name,
                        int state_fd, const char* const* default_env) {
  std::vector<HookExec>& execs = plan.hook_lists.emplace_back();
  for (const auto& hook : hooks) {
    HookExec exec;
    exec.path = plan.keep(hook.path);
    std::vector<std::string> args =
        hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
    exec.argv = plan.keep_list(args);
    exec.envp = hook.env ? plan.keep_list(*hook.env) : default_env;
    exec.timeout_seconds = hook.timeout.value_or(0);
    execs.push_back(exec);
  }
  return HookList{execs.data(), execs.size(), state_fd, name};
}

namespace {

void add_linux_paths(PreparedPlan& prepared, const oci::Linux& linux) {
  std::vector<std::string> masked(linux.maskedPaths.begin(), linux.maskedPaths.end());
  prepared.plan.masked_paths = prepared.keep_list(masked);
  prepared.plan.masked_count = masked.size();
  prepared.plan.readonly_paths = prepared.keep_list(linux.readonlyPaths);
  prepared.plan.readonly_count = linux.readonlyPaths.size();
  for (const auto& [key, value] : linux.sysctl) {
    std::string path = "sys/" + key;
    std::ranges::replace(path.begin() + 4, path.end(), '.', '/');
    prepared.sysctls.push_back({prepared.keep(path), prepared.keep(value)});
  }
}

// Without a mount namespace of its own the container sets itself up in one it shares, runc's
// way. What would change that namespace beyond the rootfs is refused: masks and read-only
// paths (runc's words), a read-only or re-propagated `/`, and a rootfs that is `/` itself.
Result<void> check_shared_mount_namespace(const oci::Linux& linux, const std::string& rootfs) {
  if (!linux.maskedPaths.empty() || !linux.readonlyPaths.empty()) {
    return fail("unable to restrict sys entries without a private MNT namespace");
  }
  auto refuse = [](std::string_view why) {
    return fail("without a mount namespace of its own: " + std::string(why));
  };
  if (rootfs == "/") return refuse("the rootfs is the caller's own `/`");
  if (!linux.rootfsPropagation.empty()) {
    return refuse("linux.rootfsPropagation would change a shared mount");
  }
  return {};
}

// Points the plan's arrays at the storage they live in; last, once nothing grows any more.
void point_at_storage(PreparedPlan& prepared) {
  ChildPlan& plan = prepared.plan;
  plan.joins = prepared.joins.data();
  plan.join_count = prepared.joins.size();
  plan.mounts = prepared.mounts.data();
  plan.mount_count = prepared.mounts.size();
  plan.cgroup_binds = prepared.cgroup_binds.data();
  plan.cgroup_bind_count = prepared.cgroup_binds.size();
  plan.devices = prepared.devices.data();
  plan.device_count = prepared.devices.size();
  plan.symlinks = prepared.symlinks.data();
  plan.symlink_count = prepared.symlinks.size();
  plan.sysctls = prepared.sysctls.data();
  plan.sysctl_count = prepared.sysctls.size();
  plan.rlimits = prepared.rlimits.data();
  plan.rlimit_count = prepared.rlimits.size();
  plan.additional_gids = prepared.additional_gids.data();
  plan.additional_gid_count = prepared.additional_gids.size();
}

}  // namespace

Result<std::unique_ptr<PreparedPlan>> build_plan(const BuildInputs& inputs) {
  auto prepared = std::make_unique<PreparedPlan>();
  const oci::Spec& spec = *inputs.spec;
  static const oci::Linux kNoLinux;
  const oci::Linux& linux = spec.linux ? *spec.linux : kNoLinux;
  ChildPlan& plan = prepared->plan;

  MKRUN_CHECK(add_namespaces(*prepared, linux));
  plan.rootfs = prepared->keep(inputs.rootfs);
  plan.readonly_root = spec.root && spec.root->readonly;
  plan.shared_mount_namespace = !prepared->namespaces.mount_new;
  if (plan.shared_mount_namespace) {
    MKRUN_CHECK(check_shared_mount_namespace(linux, inputs.rootfs));
  }
  plan.no_pivot = inputs.no_pivot && !plan.shared_mount_namespace;  // chroot either way
  if (plan.no_pivot) {
    MKRUN_CHECK(add_host_proc_mounts(*prepared, inputs.rootfs));
    plan.host_proc_mounts = prepared->keep_list(prepared->host_proc_mounts);
    plan.host_proc_mount_count = prepared->host_proc_mounts.size();
  }
  plan.root_propagation = root_propagation(linux.rootfsPropagation);
  plan.rootfs_propagation_after = propagation_after_pivot(linux.rootfsPropagation);
  for (const auto& mount : spec.mounts) MKRUN_CHECK(add_mount(*prepared, inputs, mount));
  if (needs_dev_setup(spec)) add_default_devices(*prepared, spec);
  plan.bind_devices = joins_or_makes_user_namespace(prepared->namespaces);
  add_linux_paths(*prepared, linux);
  if (!spec.hostname.empty()) plan.hostname = prepared->keep(spec.hostname);
  if (!spec.domainname.empty()) plan.domainname = prepared->keep(spec.domainname);
  MKRUN_CHECK(add_process_settings(*prepared, inputs));

  point_at_storage(*prepared);
  return prepared;
}

Result<std::unique_ptr<PreparedPlan>> build_exec_plan(const BuildInputs& inputs, pid_t init_pid) {
  auto prepared = std::make_unique<PreparedPlan>();
  ChildPlan& plan = prepared->plan;
  plan.exec_mode = true;
  MKRUN_CHECK(add_joined_namespaces(*prepared, *inputs.spec, init_pid));
  MKRUN_CHECK(add_process_settings(*prepared, inputs));
  point_at_storage(*prepared);
  return prepared;
}

}  // namespace mkrun::plan
