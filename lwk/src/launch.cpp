#include "mkrun/lwk/launch.hpp"

#include <algorithm>

#include "mkrun/oci/cdi.hpp"

namespace mkrun::lwk {
namespace {

bool is_under(std::string_view path, std::string_view dir) {
  while (dir.size() > 1 && dir.ends_with('/')) dir.remove_suffix(1);
  return path == dir || (path.starts_with(dir) && (dir == "/" || path[dir.size()] == '/'));
}

// The file system `type` at `destination`: mounted, or bound from the host's (a rootless
// container without a pid or network namespace of its own may not mount procfs or sysfs).
bool has_mount_of_type(const oci::Spec& spec, std::string_view destination, std::string_view type) {
  return std::ranges::any_of(spec.mounts, [&](const oci::Mount& mount) {
    bool bound =
        mount.source == destination &&
        (mount.type == "bind" || std::ranges::find(mount.options, "rbind") != mount.options.end());
    return mount.destination == destination && (mount.type == type || bound);
  });
}

// mcexec maps /proc/... to /proc/mcos<N>/... and /sys/... to the instance's sysfs directory:
// both file systems must be there, and nothing may mask the instance's parts of them.
void keep_proc_and_sys(oci::Spec& spec, int os) {
  if (!has_mount_of_type(spec, "/proc", "proc"))
    spec.mounts.push_back({"/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}, {}, {}});
  if (!has_mount_of_type(spec, "/sys", "sysfs"))
    spec.mounts.push_back({"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}, {}, {}});
  if (!spec.linux) return;
  std::string proc_dir = "/proc/mcos" + std::to_string(os);
  std::string sys_dir = "/sys/devices/virtual/mcos/mcos" + std::to_string(os);
  auto hides_instance = [&](const std::string& path) {
    return is_under(proc_dir, path) || is_under(sys_dir, path);
  };
  std::erase_if(spec.linux->maskedPaths, hides_instance);
  std::erase_if(spec.linux->readonlyPaths, [&](const std::string& path) {
    return path != "/sys" && path != "/proc" && hides_instance(path);
  });
}

void add_binds(oci::Spec& spec, const Launch& launch) {
  std::vector<std::string> paths = {launch.mcexec};
  if (!launch.init.empty()) paths.push_back(launch.init);
  paths.insert(paths.end(), launch.read_only_binds.begin(), launch.read_only_binds.end());
  for (const std::string& path : paths) {
    bool present = std::ranges::any_of(spec.mounts, [&](const oci::Mount& mount) {
      return mount.destination == path && mount.source == path;
    });
    if (!present)
      spec.mounts.push_back({path, "bind", path, {"bind", "ro", "nosuid", "nodev"}, {}, {}});
  }
}

// The instance's /dev/mcos<N> as a CDI device-node edit, so it takes the one path every injected
// device takes (oci/cdi.hpp): the node replaces the config's at that path and gets its
// device-cgroup allow rule. Fully specified, owned by the container's user: the host's node is
// not looked at.
Result<void> add_device(oci::Spec& spec, const Launch& launch) {
  oci::cdi::DeviceNode node;
  node.path = "/dev/mcos" + std::to_string(launch.os);
  node.type = "c";
  node.major = launch.major;
  node.minor = launch.minor;
  node.fileMode = 0600;
  node.uid = spec.process->user.uid;
  node.gid = spec.process->user.gid;
  oci::cdi::ContainerEdits edits;
  edits.deviceNodes.push_back(std::move(node));
  auto no_host_lookup = [](const std::string&) -> oci::SpecResult<oci::cdi::HostDevice> {
    return std::unexpected(oci::SpecError{"not looked up"});
  };
  if (auto applied = oci::cdi::apply_edits(edits, no_host_lookup, spec); !applied) {
    return fail("McKernel device: " + applied.error().message);
  }
  return {};
}

Result<void> set_personality(oci::Spec& spec) {
  oci::Linux& linux = *spec.linux;
  if (!linux.personality) linux.personality = oci::Personality{"LINUX", {}};
  if (linux.personality->domain != "LINUX")
    return fail("McKernel runs 64-bit processes only: linux.personality.domain \"" +
                linux.personality->domain + "\" cannot be used");
  auto& flags = linux.personality->flags;
  if (std::ranges::find(flags, "ADDR_NO_RANDOMIZE") == flags.end())
    flags.emplace_back("ADDR_NO_RANDOMIZE");
  return {};
}

void set_cpuset(oci::Spec& spec, const ihk::CpuList& cpus) {
  oci::Linux& linux = *spec.linux;
  if (!linux.resources) linux.resources = oci::Resources{};
  if (!linux.resources->cpu) linux.resources->cpu = oci::CpuResources{};
  linux.resources->cpu->cpus = cpus.sorted().to_string();
}

}  // namespace

std::vector<std::string> mcexec_argv(const std::string& mcexec,
                                     const std::vector<std::string>& options, int os,
                                     const std::vector<std::string>& args) {
  std::vector<std::string> argv = {mcexec};
  argv.insert(argv.end(), options.begin(), options.end());
  argv.push_back(std::to_string(os));
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

bool has_own_pid_namespace(const oci::Spec& spec) {
  if (!spec.linux) return false;
  return std::ranges::any_of(spec.linux->namespaces, [](const oci::Namespace& ns) {
    return ns.type == "pid" && ns.path.empty();
  });
}

Result<void> rewrite_spec(oci::Spec& spec, const Launch& launch) {
  if (!spec.process || spec.process->args.empty())
    return fail("the container has no process to run on McKernel");
  if (!spec.linux) spec.linux = oci::Linux{};
  MKRUN_CHECK(set_personality(spec));
  std::vector<std::string> argv =
      mcexec_argv(launch.mcexec, launch.mcexec_args, launch.os, spec.process->args);
  if (!launch.init.empty()) argv.insert(argv.begin(), launch.init);
  spec.process->args = std::move(argv);
  add_binds(spec, launch);
  keep_proc_and_sys(spec, launch.os);
  MKRUN_CHECK(add_device(spec, launch));
  if (launch.linux_cpus) set_cpuset(spec, *launch.linux_cpus);
  for (const auto& [key, value] : launch.annotations) spec.annotations[key] = value;
  return {};
}

}  // namespace mkrun::lwk
