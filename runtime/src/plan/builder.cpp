#include "plan/builder.hpp"

#include <cap-ng.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <utility>

#include "core/files.hpp"
#include "core/mountinfo.hpp"
#include "core/paths.hpp"
#include "linux/userns.hpp"
#include "plan/seccomp.hpp"

namespace mkrun::plan {

// ---- Namespaces -------------------------------------------------------------------------------

int namespace_flag(std::string_view type) {
  static constexpr std::array<std::pair<std::string_view, int>, 8> kFlags = {{
      {"user", CLONE_NEWUSER},
      {"ipc", CLONE_NEWIPC},
      {"uts", CLONE_NEWUTS},
      {"network", CLONE_NEWNET},
      {"pid", CLONE_NEWPID},
      {"time", CLONE_NEWTIME},
      {"cgroup", CLONE_NEWCGROUP},
      {"mount", CLONE_NEWNS},
  }};
  for (auto [name, flag] : kFlags) {
    if (name == type) return flag;
  }
  return 0;
}

Result<NamespaceDecision> decide_namespaces(const std::vector<oci::Namespace>& namespaces) {
  NamespaceDecision decision;
  int new_flags = 0;
  for (const auto& ns : namespaces) {
    int flag = namespace_flag(ns.type);
    if (flag == 0) return fail("unknown namespace type \"" + ns.type + "\"");
    if (ns.path.empty()) {
      new_flags |= flag;
    } else if (flag == CLONE_NEWNS) {
      return fail("joining a mount namespace (" + ns.path +
                  ") is not supported: the rootfs needs a new one");
    } else {
      decision.joins.push_back(ns);
    }
  }
  if ((new_flags & CLONE_NEWNS) == 0) {
    return fail("a new mount namespace is required to set up the rootfs");
  }
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
    // namespace's offsets must be written before anything runs in it.
    decision.clone_flags = new_flags & ~(CLONE_NEWCGROUP | CLONE_NEWTIME);
    decision.unshare_flags = new_flags & (CLONE_NEWCGROUP | CLONE_NEWTIME);
    decision.fork_after_unshare = pid_joined || time_new;
  }
  return decision;
}

// ---- Mounts -----------------------------------------------------------------------------------

namespace {

struct FlagOption {
  std::string_view name;
  bool clear;  // the option clears the flag ("rw" clears MS_RDONLY)
  unsigned long flag;
};
constexpr std::array<FlagOption, 32> kMountFlagOptions = {{
    {"async", true, MS_SYNCHRONOUS},
    {"atime", true, MS_NOATIME},
    {"bind", false, MS_BIND},
    {"defaults", false, 0},
    {"dev", true, MS_NODEV},
    {"diratime", true, MS_NODIRATIME},
    {"dirsync", false, MS_DIRSYNC},
    {"exec", true, MS_NOEXEC},
    {"iversion", false, MS_I_VERSION},
    {"lazytime", false, MS_LAZYTIME},
    {"loud", true, MS_SILENT},
    {"mand", false, MS_MANDLOCK},
    {"noatime", false, MS_NOATIME},
    {"nodev", false, MS_NODEV},
    {"nodiratime", false, MS_NODIRATIME},
    {"noexec", false, MS_NOEXEC},
    {"noiversion", true, MS_I_VERSION},
    {"nolazytime", true, MS_LAZYTIME},
    {"nomand", true, MS_MANDLOCK},
    {"norelatime", true, MS_RELATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"nosuid", false, MS_NOSUID},
    {"rbind", false, MS_BIND | MS_REC},
    {"relatime", false, MS_RELATIME},
    {"remount", false, MS_REMOUNT},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"silent", false, MS_SILENT},
    {"strictatime", false, MS_STRICTATIME},
    {"suid", true, MS_NOSUID},
    {"sync", false, MS_SYNCHRONOUS},
    {"nosymfollow", false, MS_NOSYMFOLLOW},
}};
constexpr std::array<std::pair<std::string_view, unsigned long>, 8> kPropagationOptions = {{
    {"private", MS_PRIVATE},
    {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},
    {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},
    {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE},
    {"runbindable", MS_UNBINDABLE | MS_REC},
}};
// Options applied with mount_setattr() rather than mount flags.
constexpr std::array<std::string_view, 4> kAttributeOptions = {"rro", "rrw", "idmap", "ridmap"};

}  // namespace

constexpr std::string_view kCopyUpOption = "tmpcopyup";

std::vector<std::string> known_mount_options() {
  std::vector<std::string> names;
  for (const auto& option : kMountFlagOptions) names.emplace_back(option.name);
  for (const auto& [name, flag] : kPropagationOptions) names.emplace_back(name);
  for (auto name : kAttributeOptions) names.emplace_back(name);
  names.emplace_back(kCopyUpOption);
  std::ranges::sort(names);
  return names;
}

MountOptions parse_mount_options(const std::vector<std::string>& options) {
  MountOptions result;
  for (const auto& option : options) {
    auto flag = std::ranges::find(kMountFlagOptions, std::string_view(option), &FlagOption::name);
    if (flag != kMountFlagOptions.end()) {
      if (flag->clear) {
        result.flags &= ~flag->flag;
      } else {
        result.flags |= flag->flag;
      }
      continue;
    }
    auto propagation = std::ranges::find(kPropagationOptions, std::string_view(option),
                                         &std::pair<std::string_view, unsigned long>::first);
    if (propagation != kPropagationOptions.end()) {
      result.propagation |= propagation->second;
      continue;
    }
    if (option == "rro") {
      result.recursive_readonly = true;
      continue;
    }
    if (option == "rrw") continue;  // the default
    if (option == kCopyUpOption) {
      result.copy_up = true;
      continue;
    }
    if (option == "idmap" || option == "ridmap") {
      result.idmap = true;
      result.ridmap = option == "ridmap";
      continue;
    }
    if (!result.data.empty()) result.data += ',';
    result.data += option;
  }
  result.bind = (result.flags & MS_BIND) != 0;
  return result;
}

namespace {

std::string relative_to_root(std::string_view path) {
  while (path.starts_with('/')) path.remove_prefix(1);
  std::string cleaned(path);
  while (cleaned.ends_with('/')) cleaned.pop_back();
  return cleaned;
}

std::string absolute_path(std::string_view path, std::string_view base) {
  if (path.starts_with('/')) return std::string(path);
  return std::string(base) + "/" + std::string(path);
}

bool joins_or_makes_user_namespace(const NamespaceDecision& namespaces) {
  return namespaces.user_new ||
         std::ranges::any_of(namespaces.joins, [](const auto& ns) { return ns.type == "user"; });
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
  step.destination = prepared.keep(relative_to_root(mount.destination));
  step.display_destination = prepared.keep(mount.destination);
  step.data = options.data.empty() ? nullptr : prepared.keep(options.data);
  step.propagation = options.propagation;
  step.recursive_readonly = options.recursive_readonly;
  if (mount.type == "cgroup" || mount.type == "cgroup2") {
    if (inputs.pure_cgroup_v2) {
      step.source = "cgroup";
      step.fstype = "cgroup2";
      step.flags = options.flags;
    } else {
      // cgroup v1: a tmpfs holding a read-only bind of the container's cgroup per hierarchy.
      step.source = "tmpfs";
      step.fstype = "tmpfs";
      step.flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
      step.data = "mode=755";
      std::string base = relative_to_root(mount.destination);
      for (const auto& view : inputs.cgroup_views) {
        prepared.cgroup_binds.push_back(
            {prepared.keep(view.directory), prepared.keep(base + "/" + view.name)});
      }
    }
    prepared.mounts.push_back(step);
    return {};
  }
  if (options.bind) {
    std::string source = absolute_path(mount.source, inputs.bundle);
    struct stat info {};
    if (::stat(source.c_str(), &info) < 0) {
      return fail_errno("bind mount source `" + source + "` for `" + mount.destination + "`");
    }
    step.source = prepared.keep(source);
    step.source_is_directory = S_ISDIR(info.st_mode);
    step.bind = true;
    step.flags = options.flags;
    step.remount_after_bind = (options.flags & ~(MS_BIND | MS_REC | MS_REMOUNT)) != 0;
    MKRUN_CHECK(detach_bind_source(prepared, inputs, mount, options, step));
  } else if (options.idmap || !mount.uidMappings.empty() || !mount.gidMappings.empty()) {
    std::string type = "\"" + mount.type + "\"";
    return fail("mount `" + mount.destination +
                "`: idmapped mounts are only supported for bind mounts, not for type " + type);
  } else {
    step.source = prepared.keep(mount.source.empty() ? mount.type : mount.source);
    step.fstype = prepared.keep(mount.type);
    step.flags = options.flags;
    step.keep_covered_mode = mount.type == "tmpfs";
    step.copy_up = options.copy_up && step.keep_covered_mode;  // ignored elsewhere, as in runc
  }
  prepared.mounts.push_back(step);
  return {};
}

// runc sets up /dev itself unless /dev is bind-mounted from the host.
bool needs_dev_setup(const oci::Spec& spec) {
  return std::ranges::none_of(spec.mounts, [](const oci::Mount& mount) {
    return relative_to_root(mount.destination) == "dev" &&
           (mount.type == "bind" || parse_mount_options(mount.options).bind);
  });
}

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

int last_capability() {
  auto text = files::read_file("/proc/sys/kernel/cap_last_cap");
  if (!text) return CAP_LAST_CAP;
  return std::atoi(text->c_str());
}

// What the process may have is what the spec lists: a missing, null or empty set, or a missing
// `capabilities`, is an empty set, the bounding set included (runc's finalizeNamespace). Podman
// sends no `capabilities` at all for `--cap-drop all`.
void add_capabilities(PreparedPlan& prepared, const std::optional<oci::Capabilities>& listed) {
  static const oci::Capabilities kNone;
  const oci::Capabilities& caps = listed ? *listed : kNone;
  Capabilities& out = prepared.plan.capabilities;
  out.last_cap = last_capability();
  auto mask = [&](const std::optional<std::vector<std::string>>& names) {
    return names ? capability_mask(*names, out.last_cap, &prepared.unknown_capabilities) : 0;
  };
  out.bounding = mask(caps.bounding);
  out.effective = mask(caps.effective);
  out.permitted = mask(caps.permitted);
  out.inheritable = mask(caps.inheritable);
  out.ambient = mask(caps.ambient);
}

// The home directory of `uid` in the container's /etc/passwd, read without leaving the rootfs;
// "/" when there is none (runc's rule for a missing HOME).
std::string home_directory(const std::string& rootfs, uint32_t uid) {
  auto root = files::open(rootfs, O_PATH | O_DIRECTORY);
  if (!root) return "/";
  auto passwd = files::open_in_root(root->get(), "etc/passwd", O_RDONLY);
  if (!passwd) return "/";
  auto text = files::read_fd(passwd->get(), "etc/passwd");
  if (!text) return "/";
  std::string_view rest = *text;
  while (!rest.empty()) {
    auto end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    // name:password:uid:gid:gecos:home:shell
    std::array<std::string_view, 7> fields{};
    size_t count = 0;
    for (size_t start = 0; count < fields.size(); ++count) {
      auto colon = line.find(':', start);
      fields[count] = line.substr(start, colon == std::string_view::npos ? colon : colon - start);
      if (colon == std::string_view::npos) {
        ++count;
        break;
      }
      start = colon + 1;
    }
    if (count >= 6 && fields[2] == std::to_string(uid) && !fields[5].empty())
      return std::string(fields[5]);
  }
  return "/";
}

Result<void> add_process(PreparedPlan& prepared, const BuildInputs& inputs) {
  const oci::Process& process = *inputs.spec->process;
  ChildPlan& plan = prepared.plan;
  plan.argv = prepared.keep_list(process.args);
  std::vector<std::string> env = process.env;
  if (std::ranges::none_of(env, [](const std::string& v) { return v.starts_with("HOME="); })) {
    env.push_back("HOME=" + home_directory(inputs.rootfs, process.user.uid));
  }
  plan.envp = prepared.keep_list(env);
  for (const auto& variable : process.env) {
    if (variable.starts_with("PATH=")) plan.path_env = prepared.keep(variable.substr(5));
  }
  plan.cwd = prepared.keep(process.cwd.empty() ? "/" : process.cwd);
  plan.cwd_relative = prepared.keep(relative_to_root(plan.cwd));
  plan.uid = process.user.uid;
  plan.gid = process.user.gid;
  prepared.additional_gids.assign(process.user.additionalGids.begin(),
                                  process.user.additionalGids.end());
  plan.umask = static_cast<int>(process.user.umask.value_or(022));
  for (const auto& limit : process.rlimits) {
    auto resource = rlimit_resource(limit.type);
    if (!resource) return fail("unknown rlimit type \"" + limit.type + "\"");
    prepared.rlimits.push_back({*resource, limit.soft, limit.hard});
  }
  add_capabilities(prepared, process.capabilities);
  plan.no_new_privileges = process.noNewPrivileges;
  if (process.oomScoreAdj) {
    plan.set_oom_score_adj = true;
    plan.oom_score_adj = *process.oomScoreAdj;
  }
  plan.terminal = process.terminal;
  if (process.consoleSize) {
    plan.console_rows = static_cast<unsigned short>(process.consoleSize->height);
    plan.console_cols = static_cast<unsigned short>(process.consoleSize->width);
  }
  return {};
}

Result<long> personality_of(const oci::Personality& personality) {
  long value = 0;
  if (personality.domain == "LINUX32") {
    value = PER_LINUX32;
  } else if (personality.domain != "LINUX") {
    return fail("unknown personality domain \"" + personality.domain + "\"");
  }
  for (const auto& flag : personality.flags) {
    if (flag == "ADDR_NO_RANDOMIZE") {
      value |= ADDR_NO_RANDOMIZE;
    } else {
      return fail("unsupported personality flag \"" + flag + "\"");
    }
  }
  return value;
}

Result<int> io_priority_of(const oci::IoPriority& priority) {
  static constexpr std::array<std::pair<std::string_view, int>, 3> kClasses = {{
      {"IOPRIO_CLASS_RT", 1},
      {"IOPRIO_CLASS_BE", 2},
      {"IOPRIO_CLASS_IDLE", 3},
  }};
  for (auto [name, value] : kClasses) {
    if (name == priority.ioClass) return value << 13 | (priority.priority & 0x1fff);
  }
  return fail("unknown ioPriority class \"" + priority.ioClass + "\"");
}

Result<SchedulerAttributes> scheduler_of(const oci::Scheduler& scheduler) {
  static constexpr std::array<std::pair<std::string_view, uint32_t>, 6> kPolicies = {{
      {"SCHED_OTHER", 0},
      {"SCHED_FIFO", 1},
      {"SCHED_RR", 2},
      {"SCHED_BATCH", 3},
      {"SCHED_IDLE", 5},
      {"SCHED_DEADLINE", 6},
  }};
  static constexpr std::array<std::pair<std::string_view, uint64_t>, 7> kFlags = {{
      {"SCHED_FLAG_RESET_ON_FORK", 0x01},
      {"SCHED_FLAG_RECLAIM", 0x02},
      {"SCHED_FLAG_DL_OVERRUN", 0x04},
      {"SCHED_FLAG_KEEP_POLICY", 0x08},
      {"SCHED_FLAG_KEEP_PARAMS", 0x10},
      {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
      {"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40},
  }};
  SchedulerAttributes attributes;
  attributes.size = sizeof attributes;
  auto policy =
      std::ranges::find(kPolicies, scheduler.policy, &std::pair<std::string_view, uint32_t>::first);
  if (policy == kPolicies.end())
    return fail("unknown scheduler policy \"" + scheduler.policy + "\"");
  attributes.policy = policy->second;
  for (const auto& name : scheduler.flags) {
    auto flag = std::ranges::find(kFlags, name, &std::pair<std::string_view, uint64_t>::first);
    if (flag == kFlags.end()) return fail("unknown scheduler flag \"" + name + "\"");
    attributes.flags |= flag->second;
  }
  attributes.nice = scheduler.nice.value_or(0);
  attributes.priority = static_cast<uint32_t>(scheduler.priority.value_or(0));
  attributes.runtime = scheduler.runtime.value_or(0);
  attributes.deadline = scheduler.deadline.value_or(0);
  attributes.period = scheduler.period.value_or(0);
  return attributes;
}

// "0-3,6" to a CPU set.
Result<cpu_set_t> cpu_set_of(std::string_view list) {
  cpu_set_t set;
  CPU_ZERO(&set);
  while (!list.empty()) {
    auto comma = list.find(',');
    std::string_view range = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    auto dash = range.find('-');
    unsigned first = 0, last = 0;
    auto parse = [](std::string_view text, unsigned& out) {
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
      return ec == std::errc() && end == text.data() + text.size() && out < CPU_SETSIZE;
    };
    bool ok = dash == std::string_view::npos
                  ? parse(range, first) && parse(range, last)
                  : parse(range.substr(0, dash), first) && parse(range.substr(dash + 1), last);
    if (!ok || first > last) return fail("invalid CPU list \"" + std::string(range) + "\"");
    for (unsigned cpu = first; cpu <= last; ++cpu) CPU_SET(cpu, &set);
  }
  return set;
}

// AppArmor and SELinux apply only where the host has them; asking for one that is not there is
// an error, not a silent no-op.
Result<void> add_security_labels(PreparedPlan& prepared, const oci::Process& process) {
  if (!process.apparmorProfile.empty()) {
    auto enabled = files::read_file("/sys/module/apparmor/parameters/enabled");
    if (!enabled || !enabled->starts_with('Y')) {
      return fail("apparmor profile \"" + process.apparmorProfile +
                  "\" requested, but AppArmor is not enabled on this host");
    }
    bool stacked = ::access("/proc/self/attr/apparmor/exec", F_OK) == 0;
    prepared.plan.lsm_exec_attr_path = stacked ? "self/attr/apparmor/exec" : "self/attr/exec";
    prepared.plan.lsm_exec_attr_value = prepared.keep("exec " + process.apparmorProfile);
  }
  if (!process.selinuxLabel.empty()) {
    if (::access("/sys/fs/selinux/enforce", F_OK) != 0) {
      return fail("selinux label \"" + process.selinuxLabel +
                  "\" requested, but SELinux is not enabled on this host");
    }
    if (prepared.plan.lsm_exec_attr_path != nullptr) {
      return fail("both an AppArmor profile and an SELinux label are set: a host has one LSM");
    }
    prepared.plan.lsm_exec_attr_path = "self/attr/exec";
    prepared.plan.lsm_exec_attr_value = prepared.keep(process.selinuxLabel);
  }
  return {};
}

Result<void> add_scheduling(PreparedPlan& prepared, const oci::Spec& spec) {
  ChildPlan& plan = prepared.plan;
  const oci::Process& process = *spec.process;
  if (spec.linux && spec.linux->personality) {
    plan.personality = MKRUN_TRY(personality_of(*spec.linux->personality));
  }
  if (process.ioPriority) plan.io_priority = MKRUN_TRY(io_priority_of(*process.ioPriority));
  if (process.scheduler) {
    plan.scheduler = MKRUN_TRY(scheduler_of(*process.scheduler));
    plan.set_scheduler = true;
  }
  if (process.execCPUAffinity) {
    if (!process.execCPUAffinity->initial.empty()) {
      plan.initial_affinity = MKRUN_TRY(cpu_set_of(process.execCPUAffinity->initial));
      plan.set_initial_affinity = true;
    }
    if (!process.execCPUAffinity->final.empty()) {
      plan.final_affinity = MKRUN_TRY(cpu_set_of(process.execCPUAffinity->final));
      plan.set_final_affinity = true;
    }
  }
  if (spec.linux && spec.linux->intelRdt) {
    if (::access("/sys/fs/resctrl/schemata", F_OK) != 0) {
      return fail("linux.intelRdt is set, but resctrl is not mounted at /sys/fs/resctrl");
    }
    return fail("linux.intelRdt is not supported by mkrun yet");
  }
  return add_security_labels(prepared, process);
}

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

unsigned long root_propagation(std::string_view name) {
  if (name == "private" || name == "rprivate") return MS_PRIVATE | MS_REC;
  return MS_SLAVE | MS_REC;
}

unsigned long propagation_after_pivot(std::string_view name) {
  if (name == "shared") return MS_SHARED;
  if (name == "rshared") return MS_SHARED | MS_REC;
  if (name == "unbindable") return MS_UNBINDABLE;
  if (name == "runbindable") return MS_UNBINDABLE | MS_REC;
  return 0;
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

}  // namespace

uint64_t capability_mask(const std::vector<std::string>& names, int last_cap,
                         std::vector<std::string>* unknown) {
  uint64_t mask = 0;
  for (const auto& name : names) {
    std::string lower = name;
    std::ranges::transform(lower, lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower.starts_with("cap_")) lower.erase(0, 4);
    int cap = capng_name_to_capability(lower.c_str());
    if (cap < 0 || cap > last_cap || cap > 63) {
      if (unknown != nullptr) unknown->push_back(name);
      continue;
    }
    mask |= 1ULL << cap;
  }
  return mask;
}

std::optional<int> rlimit_resource(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, int>, 16> kLimits = {{
      {"RLIMIT_AS", RLIMIT_AS},
      {"RLIMIT_CORE", RLIMIT_CORE},
      {"RLIMIT_CPU", RLIMIT_CPU},
      {"RLIMIT_DATA", RLIMIT_DATA},
      {"RLIMIT_FSIZE", RLIMIT_FSIZE},
      {"RLIMIT_LOCKS", RLIMIT_LOCKS},
      {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
      {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
      {"RLIMIT_NICE", RLIMIT_NICE},
      {"RLIMIT_NOFILE", RLIMIT_NOFILE},
      {"RLIMIT_NPROC", RLIMIT_NPROC},
      {"RLIMIT_RSS", RLIMIT_RSS},
      {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
      {"RLIMIT_RTTIME", RLIMIT_RTTIME},
      {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
      {"RLIMIT_STACK", RLIMIT_STACK},
  }};
  for (auto [limit_name, resource] : kLimits) {
    if (limit_name == name) return resource;
  }
  return std::nullopt;
}

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
                        int state_fd) {
  std::vector<HookExec>& execs = plan.hook_lists.emplace_back();
  for (const auto& hook : hooks) {
    HookExec exec;
    exec.path = plan.keep(hook.path);
    std::vector<std::string> args =
        hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
    exec.argv = plan.keep_list(args);
    exec.envp = hook.env ? plan.keep_list(*hook.env) : const_cast<const char* const*>(environ);
    exec.timeout_seconds = hook.timeout.value_or(0);
    execs.push_back(exec);
  }
  return HookList{execs.data(), execs.size(), state_fd, name};
}

namespace {

// The process half of a plan, shared by create and exec.
Result<void> add_process_settings(PreparedPlan& prepared, const BuildInputs& inputs) {
  const oci::Spec& spec = *inputs.spec;
  ChildPlan& plan = prepared.plan;
  MKRUN_CHECK(add_process(prepared, inputs));
  MKRUN_CHECK(add_scheduling(prepared, spec));
  plan.preserve_fds = inputs.preserve_fds;
  plan.new_session_keyring = !inputs.no_new_keyring;
  plan.keyring_name = prepared.keep("_ses." + inputs.container_id);
  if (spec.linux && spec.linux->seccomp) {
    auto program = MKRUN_TRY(compile_seccomp(*spec.linux->seccomp));
    prepared.seccomp_filter = std::move(program.filter);
    plan.seccomp_filter = prepared.seccomp_filter.data();
    plan.seccomp_length = static_cast<unsigned short>(prepared.seccomp_filter.size());
    plan.seccomp_flags = program.flags;
    plan.seccomp_listener = program.new_listener;
  }
  return {};
}

// `exec` enters every namespace the container has, through its init: the user namespace first,
// the mount namespace last (it changes what paths mean).
Result<void> add_joined_namespaces(PreparedPlan& prepared, const oci::Spec& spec, pid_t init_pid) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 8> kOrder = {{
      {"user", "user"},
      {"ipc", "ipc"},
      {"uts", "uts"},
      {"network", "net"},
      {"pid", "pid"},
      {"time", "time"},
      {"cgroup", "cgroup"},
      {"mount", "mnt"},
  }};
  const std::vector<oci::Namespace> none;
  const auto& namespaces = spec.linux ? spec.linux->namespaces : none;
  for (auto [type, file] : kOrder) {
    bool used =
        std::ranges::any_of(namespaces, [&](const oci::Namespace& ns) { return ns.type == type; });
    if (!used) continue;  // shared with the host: nothing to enter
    std::string path = "/proc/" + std::to_string(init_pid) + "/ns/" + std::string(file);
    auto fd = files::open(path, O_RDONLY);
    if (!fd)
      return std::unexpected(
          std::move(fd).error().wrap("join the container's " + std::string(type) + " namespace"));
    prepared.joins.push_back({fd->get(), namespace_flag(type)});
    prepared.namespace_fds.push_back(std::move(*fd));
    if (type == "user") prepared.plan.set_groups = true;
  }
  // setns() into a pid or time namespace applies to children only: fork once more.
  prepared.plan.fork_after_unshare = true;
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

Result<std::unique_ptr<PreparedPlan>> build_plan(const BuildInputs& inputs) {
  auto prepared = std::make_unique<PreparedPlan>();
  const oci::Spec& spec = *inputs.spec;
  static const oci::Linux kNoLinux;
  const oci::Linux& linux = spec.linux ? *spec.linux : kNoLinux;
  ChildPlan& plan = prepared->plan;

  MKRUN_CHECK(add_namespaces(*prepared, linux));
  plan.rootfs = prepared->keep(inputs.rootfs);
  plan.readonly_root = spec.root && spec.root->readonly;
  plan.no_pivot = inputs.no_pivot;
  if (inputs.no_pivot) {
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
