// Mounts: options as runc splits them, the /proc rules, binds prepared as detached trees, and
// the rootfs propagation.
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <array>

#include "core/mountinfo.hpp"
#include "linux/userns.hpp"
#include "mkrun/base/files.hpp"
#include "mkrun/base/paths.hpp"
#include "mkrun/oci/vocabulary.hpp"
#include "plan/builder_parts.hpp"

namespace mkrun::plan {

namespace vocabulary = oci::vocabulary;

namespace {

// Options applied with mount_setattr() rather than mount flags.
constexpr std::array<std::string_view, 4> kAttributeOptions = {"rro", "rrw", "idmap", "ridmap"};
constexpr std::string_view kCopyUpOption = "tmpcopyup";

// A flag or propagation option from the spec's vocabulary; false if `option` is neither.
bool apply_kernel_option(std::string_view option, MountOptions& result) {
  if (const auto* flag = vocabulary::find(vocabulary::mount_flag_options(), option)) {
    if (flag->clear) {
      result.flags &= ~flag->flag;
    } else {
      result.flags |= flag->flag;
    }
    return true;
  }
  if (const auto* propagation = vocabulary::find(vocabulary::propagation_options(), option)) {
    result.propagation |= propagation->value;
    return true;
  }
  return false;
}

// mkrun's own options (mount_setattr, tmpcopyup); false if `option` is not one.
bool apply_mkrun_option(std::string_view option, MountOptions& result) {
  if (option == "rro") {
    result.recursive_readonly = true;
  } else if (option == kCopyUpOption) {
    result.copy_up = true;
  } else if (option == "idmap" || option == "ridmap") {
    result.idmap = true;
    result.ridmap = option == "ridmap";
  } else if (option != "rrw") {  // "rrw" is the default
    return false;
  }
  return true;
}

}  // namespace

std::vector<std::string> known_mount_options() {
  std::vector<std::string> names = vocabulary::names(vocabulary::mount_flag_options());
  for (const auto& option : vocabulary::propagation_options()) names.emplace_back(option.name);
  for (auto name : kAttributeOptions) names.emplace_back(name);
  names.emplace_back(kCopyUpOption);
  std::ranges::sort(names);
  return names;
}

MountOptions parse_mount_options(const std::vector<std::string>& options) {
  MountOptions result;
  for (const auto& option : options) {
    if (apply_kernel_option(option, result) || apply_mkrun_option(option, result)) continue;
    if (!result.data.empty()) result.data += ',';
    result.data += option;  // for the file system itself
  }
  result.bind = (result.flags & MS_BIND) != 0;
  return result;
}

std::string relative_to_root(std::string_view path) {
  while (path.starts_with('/')) path.remove_prefix(1);
  std::string cleaned(path);
  while (cleaned.ends_with('/')) cleaned.pop_back();
  return cleaned;
}

namespace {

std::string absolute_path(std::string_view path, std::string_view base) {
  if (path.starts_with('/')) return std::string(path);
  return std::string(base) + "/" + std::string(path);
}

// Binds that the parent prepares as detached trees (open_tree), for the child to attach:
//  - idmapped ones (mount uidMappings/gidMappings, or the "idmap"/"ridmap" options, which take
//    the container's own maps when the mount has none), as runc 1.2;
//  - every bind of a privileged mkrun when the init runs in a user namespace, whose root may not
//    reach the source (a 0700 directory of host root, such as the state dir holding notify/).
//    A rootless init is the user itself and reaches what mkrun reaches: it binds directly.
Result<void> detach_bind_source(PreparedPlan& prepared, const BuildInputs& inputs,
                                const oci::Mount& mount, const MountOptions& options,
                                MountStep& step) {
  bool recursive = (options.flags & MS_REC) != 0;
  bool idmapped = options.idmap || !mount.uidMappings.empty() || !mount.gidMappings.empty();
  UniqueFd tree;
  if (idmapped) {
    const oci::Linux* linux = inputs.spec->linux ? &*inputs.spec->linux : nullptr;
    bool own_maps = !mount.uidMappings.empty() || !mount.gidMappings.empty();
    const auto& uid_maps = own_maps || !linux ? mount.uidMappings : linux->uidMappings;
    const auto& gid_maps = own_maps || !linux ? mount.gidMappings : linux->gidMappings;
    if (uid_maps.empty() || gid_maps.empty()) {
      return fail("mount `" + mount.destination +
                  "`: an idmapped mount needs uidMappings and gidMappings (on the mount, or the "
                  "container's user namespace)");
    }
    // runtime-spec 1.2: only "ridmap" idmaps an rbind's submounts (AT_RECURSIVE); "idmap" and
    // mount uidMappings alone idmap its top mount.
    tree = MKRUN_TRY(userns::make_idmapped_mount(step.source, uid_maps, gid_maps, recursive,
                                                 recursive && options.ridmap));
  } else if (joins_or_makes_user_namespace(prepared.namespaces) && ::geteuid() == 0) {
    tree = MKRUN_TRY(userns::clone_mount_tree(step.source, recursive));
  } else {
    return {};
  }
  step.detached_tree = tree.get();
  prepared.namespace_fds.push_back(std::move(tree));
  return {};
}

bool is_procfs(const std::string& path) {
  struct statfs info {};
  return ::statfs(path.c_str(), &info) == 0 && info.f_type == PROC_SUPER_MAGIC;
}

// runc's rule for /proc (CVE-2019-19921): nothing may be mounted inside the container's procfs
// but the few files that lxcfs-like tools emulate, and /proc itself only gets a procfs. The
// child checks again where the destination really resolves (ChildPlan MountStep comments).
Result<bool> check_proc_destination(const oci::Mount& mount, const MountOptions& options,
                                    const std::string& source) {
  static constexpr std::array<std::string_view, 10> kAllowedInProc = {
      "/proc/cpuinfo", "/proc/diskstats",
      "/proc/meminfo", "/proc/stat",
      "/proc/swaps",   "/proc/uptime",
      "/proc/loadavg", "/proc/slabinfo",
      "/proc/net/dev", "/proc/sys/kernel/ns_last_pid"};
  std::string destination = paths::clean_absolute(mount.destination);
  if (destination == "/proc") {
    if (mount.type == "proc" || (options.bind && is_procfs(source))) return true;
    return fail("\"" + mount.destination + "\" cannot be mounted because it is not of type proc");
  }
  if (!destination.starts_with("/proc/")) return false;
  if (std::ranges::find(kAllowedInProc, destination) != kAllowedInProc.end()) return true;
  return fail("\"" + mount.destination + "\" cannot be mounted because it is inside /proc");
}

// cgroup2 as is; on v1, a tmpfs holding a bind of the container's cgroup per hierarchy, read-only
// when the mount says "ro".
void add_cgroup_mount(PreparedPlan& prepared, const BuildInputs& inputs, const oci::Mount& mount,
                      const MountOptions& options, MountStep step) {
  if (inputs.pure_cgroup_v2) {
    step.source = "cgroup";
    step.fstype = "cgroup2";
    step.flags = options.flags;
  } else {
    step.source = "tmpfs";
    step.fstype = "tmpfs";
    step.flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    step.data = "mode=755";
    std::string base = relative_to_root(mount.destination);
    for (const auto& view : inputs.cgroup_views) {
      prepared.cgroup_binds.push_back({prepared.keep(view.directory),
                                       prepared.keep(base + "/" + view.name),
                                       (options.flags & MS_RDONLY) != 0});
    }
  }
  prepared.mounts.push_back(step);
}

// A source below the rootfs, relative to it ("" for the rootfs itself); nullopt: elsewhere.
std::optional<std::string> inside_rootfs(const std::string& source, const std::string& rootfs) {
  const std::string root = paths::clean_absolute(rootfs);
  const std::string clean = paths::clean_absolute(source);
  if (clean == root) return std::string();
  if (clean.starts_with(root + "/")) return clean.substr(root.size() + 1);
  return std::nullopt;
}

// A bind's source, from the bundle; the flags other than bind need a remount to apply.
Result<void> prepare_bind(PreparedPlan& prepared, const BuildInputs& inputs,
                          const oci::Mount& mount, const MountOptions& options, MountStep& step) {
  std::string source = absolute_path(mount.source, inputs.bundle);
  step.bind = true;
  step.flags = options.flags;
  step.remount_after_bind = (options.flags & ~(MS_BIND | MS_REC | MS_REMOUNT)) != 0;
  const bool idmapped = options.idmap || !mount.uidMappings.empty() || !mount.gidMappings.empty();
  // In a user namespace (or idmapped) the parent prepares the source as a tree up front, from
  // the host's view: those keep it.
  if (!idmapped && !joins_or_makes_user_namespace(prepared.namespaces)) {
    if (auto below = inside_rootfs(source, inputs.rootfs)) {
      step.source = prepared.keep(source);
      step.source_in_root = prepared.keep(below->empty() ? "." : *below);
      return {};
    }
  }
  struct stat info {};
  if (::stat(source.c_str(), &info) < 0) {
    return fail_errno("bind mount source `" + source + "` for `" + mount.destination + "`");
  }
  step.source = prepared.keep(source);
  step.source_is_directory = S_ISDIR(info.st_mode);
  return detach_bind_source(prepared, inputs, mount, options, step);
}

bool has_mode_option(std::string_view data) {
  while (!data.empty()) {
    const size_t comma = data.find(',');
    if (data.substr(0, comma).starts_with("mode=")) return true;
    data = comma == std::string_view::npos ? std::string_view{} : data.substr(comma + 1);
  }
  return false;
}

}  // namespace

Result<void> add_mount(PreparedPlan& prepared, const BuildInputs& inputs, const oci::Mount& mount) {
  MountOptions options = parse_mount_options(mount.options);
  if (mount.type == "bind") {
    options.bind = true;
    options.flags |= MS_BIND;
  }
  MountStep step;
  step.allowed_in_proc =
      MKRUN_TRY(check_proc_destination(mount, options, absolute_path(mount.source, inputs.bundle)));
  step.ordinary_directory = mount.type == "proc" || mount.type == "sysfs";
  // runc takes a destination that already names a path below the rootfs on the host as that
  // path (engines and runc's own tests write some so); any other is below the rootfs.
  const auto below_rootfs = inside_rootfs(mount.destination, inputs.rootfs);
  step.destination =
      prepared.keep(below_rootfs ? *below_rootfs : relative_to_root(mount.destination));
  step.display_destination = prepared.keep(mount.destination);
  step.data = options.data.empty() ? nullptr : prepared.keep(options.data);
  step.propagation = options.propagation;
  step.recursive_readonly = options.recursive_readonly;
  if (mount.type == "cgroup" || mount.type == "cgroup2") {
    add_cgroup_mount(prepared, inputs, mount, options, step);
    return {};
  }
  if (options.bind) {
    MKRUN_CHECK(prepare_bind(prepared, inputs, mount, options, step));
  } else if (options.idmap || !mount.uidMappings.empty() || !mount.gidMappings.empty()) {
    std::string type = "\"" + mount.type + "\"";
    return fail("mount `" + mount.destination +
                "`: idmapped mounts are only supported for bind mounts, not for type " + type);
  } else {
    step.source = prepared.keep(mount.source.empty() ? mount.type : mount.source);
    step.fstype = prepared.keep(mount.type);
    step.flags = options.flags;
    // runc 1.5: a tmpfs over an existing directory gets that directory's mode unless its
    // options give one (runc 1.1 let the directory's win over mode= too).
    step.keep_covered_mode = mount.type == "tmpfs" && !has_mode_option(options.data);
    step.copy_up = options.copy_up && mount.type == "tmpfs";  // ignored elsewhere, as in runc
    step.readonly_at_end =
        (options.flags & MS_RDONLY) != 0 &&
        (mount.type == "tmpfs" || paths::clean_absolute(mount.destination) == "/dev");
    if (step.readonly_at_end) step.flags &= ~MS_RDONLY;
  }
  prepared.mounts.push_back(step);
  return {};
}

unsigned long root_propagation(std::string_view name) {
  if (name == "private" || name == "rprivate") return MS_PRIVATE | MS_REC;
  return MS_SLAVE | MS_REC;
}

// Shared and unbindable are set on the new root once pivoted; private and slave were set before.
unsigned long propagation_after_pivot(std::string_view name) {
  const auto* option = vocabulary::find(vocabulary::propagation_options(), name);
  if (option == nullptr || (option->value & (MS_SHARED | MS_UNBINDABLE)) == 0) return 0;
  return option->value;
}

// --no-pivot leaves the host's mounts in the container's mount namespace, below its root: the
// proc and sysfs ones among them are hidden before the chroot (runc does the same).
Result<void> add_host_proc_mounts(PreparedPlan& prepared, const std::string& rootfs) {
  auto text = MKRUN_TRY(files::read_file("/proc/self/mountinfo"));
  for (const auto& line : mountinfo::parse(text)) {
    if (line.fstype != "proc" && line.fstype != "sysfs") continue;
    const std::string& point = line.mount_point;
    if (point == rootfs || point.starts_with(rootfs + "/")) continue;
    prepared.host_proc_mounts.push_back(point);
  }
  return {};
}

}  // namespace mkrun::plan
