// /dev: the nodes runc creates when /dev is not bound from the host, and the config's own.
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <array>

#include "plan/builder_parts.hpp"

namespace mkrun::plan {

// runc sets up /dev itself unless /dev is bind-mounted from the host.
bool needs_dev_setup(const oci::Spec& spec) {
  return std::ranges::none_of(spec.mounts, [](const oci::Mount& mount) {
    return relative_to_root(mount.destination) == "dev" &&
           (mount.type == "bind" || parse_mount_options(mount.options).bind);
  });
}

namespace {

void add_device(PreparedPlan& prepared, const oci::Device& device) {
  DeviceNode node;
  node.path = prepared.keep(relative_to_root(device.path));
  node.display_path = prepared.keep(device.path);
  mode_t type = device.type == "b" ? S_IFBLK : device.type == "p" ? S_IFIFO : S_IFCHR;
  node.mode = type | (device.fileMode.value_or(0666) & 07777);
  node.device = makedev(static_cast<unsigned>(device.major), static_cast<unsigned>(device.minor));
  node.uid = device.uid.value_or(0);
  node.gid = device.gid.value_or(0);
  node.host_path = node.display_path;
  // A device the config lists again replaces the default one.
  std::erase_if(prepared.devices, [&](const DeviceNode& existing) {
    return std::string_view(existing.path) == node.path;
  });
  prepared.devices.push_back(node);
}

}  // namespace

void add_default_devices(PreparedPlan& prepared, const oci::Spec& spec) {
  struct Default {
    const char* path;
    int64_t major, minor;
  };
  static constexpr std::array<Default, 6> kDefaults = {{
      {"/dev/null", 1, 3},
      {"/dev/zero", 1, 5},
      {"/dev/full", 1, 7},
      {"/dev/random", 1, 8},
      {"/dev/urandom", 1, 9},
      {"/dev/tty", 5, 0},
  }};
  for (const auto& device : kDefaults) {
    add_device(prepared, oci::Device{"c", device.path, device.major, device.minor, 0666, 0, 0});
  }
  if (spec.linux) {
    for (const auto& device : spec.linux->devices) add_device(prepared, device);
  }
  prepared.symlinks = {
      {"/proc/self/fd", "dev/fd"},       {"/proc/self/fd/0", "dev/stdin"},
      {"/proc/self/fd/1", "dev/stdout"}, {"/proc/self/fd/2", "dev/stderr"},
      {"pts/ptmx", "dev/ptmx"},
  };
  if (::access("/proc/kcore", F_OK) == 0) prepared.symlinks.push_back({"/proc/kcore", "dev/core"});
}

}  // namespace mkrun::plan
