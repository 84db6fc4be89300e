// The value checks runc makes before it touches the kernel (runc 1.1's specconv and
// libcontainer/configs/validate, plus the runtime-spec 1.2 and 1.3 fields as runc 1.2 and 1.5
// check them).
// Where runc has a message, we use its text so that tools matching on it keep working.
#include <algorithm>
#include <array>
#include <charconv>
#include <set>

#include "mkrun/oci/parse.hpp"
#include "mkrun/oci/vocabulary.hpp"

namespace mkrun::oci {
namespace {

using Status = SpecResult<void>;

std::unexpected<SpecError> invalid(std::string message) {
  return std::unexpected(SpecError{std::move(message)});
}

// Appending rather than "\"" + std::string(s): GCC 12 raises a false -Wrestrict on the latter.
std::string quoted(std::string_view s) {
  std::string result;
  result.reserve(s.size() + 2);
  result += '"';
  result += s;
  result += '"';
  return result;
}

std::string indexed(std::string_view list, size_t index) {
  return std::string(list) + "[" + std::to_string(index) + "]";
}

bool is_absolute(std::string_view path) {
  return path.starts_with('/');
}

template <size_t N>
bool one_of(std::string_view value, const std::array<std::string_view, N>& allowed) {
  return std::ranges::find(allowed, value) != allowed.end();
}

// A name in one of the spec's vocabularies (mkrun/oci/vocabulary.hpp).
template <class Table>
bool known(std::string_view name, const Table& table) {
  return vocabulary::find(table, name) != nullptr;
}

// The sysctls that belong to the IPC namespace (besides fs.mqueue.*), as runc lists them.
constexpr std::array<std::string_view, 8> kIpcSysctls = {
    "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
    "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};

// The namespaces a config asks for: type -> path ("" for a new one).
class Namespaces {
 public:
  explicit Namespaces(const Spec& spec) {
    if (!spec.linux) return;
    for (const auto& ns : spec.linux->namespaces) paths_.emplace(ns.type, ns.path);
  }
  // New or joined: either way the container does not share the runtime's.
  bool has(const std::string& type) const { return paths_.contains(type); }
  bool is_new(const std::string& type) const {
    auto it = paths_.find(type);
    return it != paths_.end() && it->second.empty();
  }

 private:
  std::map<std::string, std::string> paths_;
};

// --- process ---

Status check_rlimits(const std::vector<Rlimit>& rlimits) {
  std::set<std::string_view> seen;
  for (size_t i = 0; i < rlimits.size(); ++i) {
    const auto& type = rlimits[i].type;
    std::string field = indexed("process.rlimits", i);
    if (!known(type, vocabulary::kRlimits)) return invalid(field + ": wrong rlimit value: " + type);
    if (!seen.insert(type).second) return invalid(field + ": duplicated rlimit " + quoted(type));
  }
  return {};
}

Status check_scheduler(const Scheduler& s) {
  if (s.policy.empty()) return invalid("scheduler policy is required");
  if (!known(s.policy, vocabulary::kSchedulerPolicies)) {
    return invalid("process.scheduler.policy: invalid scheduler policy " + quoted(s.policy));
  }
  for (const auto& flag : s.flags) {
    if (!known(flag, vocabulary::kSchedulerFlags)) {
      return invalid("process.scheduler.flags: invalid scheduler flag " + quoted(flag));
    }
  }
  int32_t nice = s.nice.value_or(0);
  if (nice < -20 || nice > 19) return invalid("invalid scheduler.nice: " + std::to_string(nice));
  bool realtime = s.policy == "SCHED_FIFO" || s.policy == "SCHED_RR";
  if (s.priority.value_or(0) != 0 && !realtime) {
    return invalid("scheduler.priority can only be specified for SchedFIFO or SchedRR policy");
  }
  bool deadline_params = s.runtime.value_or(0) || s.deadline.value_or(0) || s.period.value_or(0);
  if (s.policy != "SCHED_DEADLINE" && deadline_params) {
    return invalid(
        "scheduler runtime/deadline/period can only be specified for SchedDeadline policy");
  }
  return {};
}

Status check_io_priority(const IoPriority& io) {
  if (!known(io.ioClass, vocabulary::kIoPriorityClasses)) {
    return invalid("process.ioPriority.class: invalid io priority class " + quoted(io.ioClass));
  }
  if (io.priority < 0 || io.priority > 7) {
    return invalid("invalid ioPriority.Priority: " + std::to_string(io.priority) +
                   " (must be 0 to 7)");
  }
  return {};
}

// runc's validateProcessSpec, then the process fields runc converts.
Status check_process(const std::optional<Process>& process) {
  if (!process) return invalid("process property must not be empty");
  if (process->cwd.empty()) return invalid("Cwd property must not be empty");
  if (!is_absolute(process->cwd)) {
    return invalid("Cwd must be an absolute path (process.cwd is " + quoted(process->cwd) + ")");
  }
  if (process->args.empty()) return invalid("args must not be empty");
  if (auto status = check_rlimits(process->rlimits); !status) return status;
  if (process->scheduler) {
    if (auto status = check_scheduler(*process->scheduler); !status) return status;
  }
  if (process->ioPriority) return check_io_priority(*process->ioPriority);
  return {};
}

// --- hooks and mounts ---

Status check_hook_list(std::string_view name, const std::vector<Hook>& hooks) {
  for (size_t i = 0; i < hooks.size(); ++i) {
    std::string field = indexed("hooks." + std::string(name), i);
    if (!is_absolute(hooks[i].path)) {
      return invalid(field + ".path: " + quoted(hooks[i].path) + " is not an absolute path");
    }
    if (hooks[i].timeout && *hooks[i].timeout <= 0) {
      return invalid(field + ".timeout: must be greater than zero, got " +
                     std::to_string(*hooks[i].timeout));
    }
  }
  return {};
}

Status check_hooks(const std::optional<Hooks>& hooks) {
  if (!hooks) return {};
  const std::pair<std::string_view, const std::vector<Hook>*> lists[] = {
      {"prestart", &hooks->prestart},
      {"createRuntime", &hooks->createRuntime},
      {"createContainer", &hooks->createContainer},
      {"startContainer", &hooks->startContainer},
      {"poststart", &hooks->poststart},
      {"poststop", &hooks->poststop}};
  for (const auto& [name, list] : lists) {
    if (auto status = check_hook_list(name, *list); !status) return status;
  }
  return {};
}

// A relative destination is fine: runc 1.1 takes it as relative to "/" (with a warning).
// What we refuse is an id-mapped mount the kernel cannot make: half of the mappings. A mount's
// own mappings need no user namespace of the container's (runc 1.3+): a host file owned by
// hostID shows as containerID's to every process that sees the mount.
Status check_mounts(const Spec& spec) {
  for (size_t i = 0; i < spec.mounts.size(); ++i) {
    const auto& mount = spec.mounts[i];
    if (mount.uidMappings.empty() && mount.gidMappings.empty()) continue;
    std::string field = indexed("mounts", i) + " (" + mount.destination + ")";
    if (mount.uidMappings.empty() || mount.gidMappings.empty()) {
      return invalid(field + ": uidMappings and gidMappings must be given together");
    }
  }
  return {};
}

// --- linux: namespaces and what depends on them ---

Status check_namespace_list(const Linux& linux) {
  std::set<std::string_view> seen;
  for (const auto& ns : linux.namespaces) {
    if (!known(ns.type, vocabulary::kNamespaces)) {
      return invalid("namespace " + quoted(ns.type) + " does not exist");
    }
    if (!seen.insert(ns.type).second) {
      return invalid("malformed spec file: duplicated ns " + quoted(ns.type));
    }
  }
  return {};
}

Status check_uts(const Spec& spec, const Namespaces& namespaces) {
  if (namespaces.has("uts")) return {};
  if (!spec.hostname.empty()) {
    return invalid("unable to set hostname without a private UTS namespace");
  }
  if (!spec.domainname.empty()) {
    return invalid("unable to set domainname without a private UTS namespace");
  }
  return {};
}

Status check_masked_paths(const Linux& linux, const Namespaces& namespaces) {
  if ((!linux.maskedPaths.empty() || !linux.readonlyPaths.empty()) && !namespaces.has("mount")) {
    return invalid("unable to restrict sys entries without a private MNT namespace");
  }
  return {};
}

bool maps_id_zero(const std::vector<IdMapping>& mappings) {
  return std::ranges::any_of(mappings, [](const IdMapping& m) { return m.containerID == 0; });
}

// runc needs the mappings to write them for a new user namespace, and needs the container's
// root among them to own what it creates (HostRootUID/HostRootGID). A joined user namespace
// already has its mappings.
Status check_user_namespace(const Linux& linux, const Namespaces& namespaces) {
  bool has_mappings = !linux.uidMappings.empty() || !linux.gidMappings.empty();
  if (!namespaces.has("user")) {
    if (has_mappings) {
      return invalid(
          "User namespace mappings specified, but USER namespace isn't enabled in the config");
    }
    return {};
  }
  if (!namespaces.is_new("user")) return {};
  if (linux.uidMappings.empty()) {
    return invalid("User namespaces enabled, but no uid mappings found.");
  }
  if (linux.gidMappings.empty()) {
    return invalid("User namespaces enabled, but no gid mappings found.");
  }
  if (!maps_id_zero(linux.uidMappings)) {
    return invalid("User namespaces enabled, but no user mapping found.");
  }
  if (!maps_id_zero(linux.gidMappings)) {
    return invalid("User namespaces enabled, but no group mapping found.");
  }
  return {};
}

// The kernel only takes offsets while the new time namespace has no process yet, so they need a
// namespace of our own.
Status check_time_offsets(const Linux& linux, const Namespaces& namespaces) {
  if (linux.timeOffsets.empty()) return {};
  if (!namespaces.has("time")) {
    return invalid(
        "time namespace offsets specified, but time namespace isn't enabled in the config");
  }
  if (!namespaces.is_new("time")) {
    return invalid("unable to set time namespace offsets when joining an existing time namespace");
  }
  for (const auto& [clock, offset] : linux.timeOffsets) {
    if (clock != "monotonic" && clock != "boottime") {
      return invalid("linux.timeOffsets: unknown clock " + quoted(clock) +
                     " (only \"monotonic\" and \"boottime\" have offsets)");
    }
    if (offset.nanosecs >= 1'000'000'000) {
      std::string field = "linux.timeOffsets." + clock + ".nanosecs";
      return invalid(field + ": " + std::to_string(offset.nanosecs) + " is not below 1000000000");
    }
  }
  return {};
}

// sysctl(8) accepts '/' as the separator too; runc normalises "net/ipv4/conf/eth0.100/x" to
// "net.ipv4.conf.eth0/100.x" by swapping the two when '/' comes first.
std::string sysctl_dotted(std::string_view name) {
  std::string result(name);
  size_t first = result.find_first_of("./");
  if (first == std::string::npos || result[first] == '.') return result;
  for (char& c : result) {
    if (c == '.') {
      c = '/';
    } else if (c == '/') {
      c = '.';
    }
  }
  return result;
}

// /proc/sys is only partly namespaced: each sysctl must belong to a namespace the container
// does not share with the host. A joined network namespace is taken as not the host's; whether
// it is the runtime's own is for the runtime to check, as it needs a stat.
Status check_sysctl_name(const std::string& name, const Namespaces& namespaces) {
  if (one_of(std::string_view(name), kIpcSysctls) || name.starts_with("fs.mqueue.")) {
    if (namespaces.has("ipc")) return {};
    return invalid("sysctl " + quoted(name) + " is not allowed in the hosts ipc namespace");
  }
  if (name.starts_with("net.")) {
    if (namespaces.has("network")) return {};
    return invalid("sysctl " + quoted(name) + " not allowed in host network namespace");
  }
  if (namespaces.has("uts")) {
    if (name == "kernel.domainname") return {};  // namespaced, and no OCI field sets it
    if (name == "kernel.hostname") {
      return invalid(
          "sysctl \"kernel.hostname\" is not allowed as it conflicts with the OCI "
          "\"hostname\" field");
    }
  }
  return invalid("sysctl " + quoted(name) + " is not in a separate kernel namespace");
}

Status check_sysctls(const Linux& linux, const Namespaces& namespaces) {
  for (const auto& [name, value] : linux.sysctl) {
    if (auto status = check_sysctl_name(sysctl_dotted(name), namespaces); !status) return status;
  }
  return {};
}

// --- linux: the rest ---

Status check_devices(const std::vector<Device>& devices) {
  constexpr std::array<std::string_view, 4> kTypes = {"c", "b", "u", "p"};
  for (size_t i = 0; i < devices.size(); ++i) {
    const auto& device = devices[i];
    std::string field = indexed("linux.devices", i);
    if (!one_of(device.type, kTypes)) {
      return invalid(field + ": invalid device type " + quoted(device.type));
    }
    if (!is_absolute(device.path)) {
      return invalid(field + ".path: " + quoted(device.path) + " is not an absolute path");
    }
  }
  return {};
}

// The access is not checked: as runc, mkrun reads only its r, w and m and ignores any other
// letter (vocabulary::device_access).
Status check_device_rules(const std::optional<Resources>& resources) {
  if (!resources) return {};
  constexpr std::array<std::string_view, 4> kTypes = {"", "a", "b", "c"};
  for (size_t i = 0; i < resources->devices.size(); ++i) {
    const auto& rule = resources->devices[i];
    std::string field = indexed("linux.resources.devices", i);
    if (!one_of(rule.type, kTypes)) {
      return invalid(field + ": invalid cgroup device type " + quoted(rule.type));
    }
  }
  return {};
}

// What `ip link set name` accepts: 1 to 15 bytes, no '/', ':' or space, not "." or "..".
bool is_interface_name(std::string_view name) {
  if (name.empty() || name.size() > 15 || name == "." || name == "..") return false;
  return std::ranges::none_of(name, [](char c) {
    return c == '/' || c == ':' || c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
           c == '\r';
  });
}

Status check_net_devices(const Linux& linux, const Namespaces& namespaces) {
  if (linux.netDevices.empty()) return {};
  if (!namespaces.has("network")) {
    return invalid("unable to move network devices without a private NET namespace");
  }
  for (const auto& [host_name, device] : linux.netDevices) {
    if (!is_interface_name(host_name)) {
      return invalid("linux.netDevices: invalid network device name " + quoted(host_name));
    }
    if (!device.name.empty() && !is_interface_name(device.name)) {
      return invalid("linux.netDevices." + host_name + ".name: invalid network device name " +
                     quoted(device.name));
    }
  }
  return {};
}

// --- memory policy ---

// One element of a node list, "7" or "0-3", as its first and last node.
SpecResult<std::pair<unsigned, unsigned>> node_range(std::string_view element) {
  auto number = [](std::string_view text) -> std::optional<unsigned> {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return {};
    return value;
  };
  auto dash = element.find('-');
  auto first = number(element.substr(0, dash));
  auto last = dash == std::string_view::npos ? first : number(element.substr(dash + 1));
  if (!first || !last) return invalid(quoted(element) + " is not a node or a range of nodes");
  if (*first > *last) return invalid("range " + quoted(element) + " ends before it starts");
  if (*last >= vocabulary::kMaxMemoryNodes) {
    return invalid("node " + std::to_string(*last) + " is not below " +
                   std::to_string(vocabulary::kMaxMemoryNodes));
  }
  return std::pair{*first, *last};
}

// runtime-spec 1.3: "/" is resctrl's root group; any other CLOS is one directory below it. Each
// schema is one line of the `schemata` file, so a newline would smuggle in another.
Status check_intel_rdt(const IntelRdt& rdt) {
  const std::string& clos = rdt.closID;
  if (clos == "." || clos == ".." || (clos.size() > 1 && clos.find('/') != std::string::npos)) {
    return invalid("invalid intelRdt.ClosID " + quoted(clos));
  }
  auto one_line = [](const std::string& schema) { return schema.find('\n') == std::string::npos; };
  if (!one_line(rdt.l3CacheSchema)) return invalid("intelRdt.l3CacheSchema: contains a newline");
  if (!one_line(rdt.memBwSchema)) return invalid("intelRdt.memBwSchema: contains a newline");
  if (!rdt.memBwSchema.empty() && !rdt.memBwSchema.starts_with("MB:")) {
    return invalid("intelRdt.memBwSchema: " + quoted(rdt.memBwSchema) + " does not start with MB:");
  }
  for (size_t i = 0; i < rdt.schemata.size(); ++i) {
    if (!one_line(rdt.schemata[i])) {
      return invalid("intelRdt.schemata[" + std::to_string(i) + "]: contains a newline");
    }
  }
  return {};
}

// runc 1.5's validation, in mkrun's words: the mode, its flags, and the number of nodes the
// mode takes (set_mempolicy(2)).
Status check_memory_policy(const MemoryPolicy& policy) {
  const auto* mode = vocabulary::find(vocabulary::kMemoryPolicyModes, policy.mode);
  if (mode == nullptr) {
    return invalid("linux.memoryPolicy.mode: invalid memory policy mode " + quoted(policy.mode));
  }
  for (const auto& flag : policy.flags) {
    if (!known(flag, vocabulary::kMemoryPolicyFlags)) {
      return invalid("linux.memoryPolicy.flags: invalid memory policy flag " + quoted(flag));
    }
  }
  auto nodes = memory_nodes(policy.nodes);
  if (!nodes) {
    return invalid("linux.memoryPolicy.nodes: invalid memory policy nodes " + quoted(policy.nodes) +
                   ": " + nodes.error().message);
  }
  std::string mode_name(mode->name);
  if (mode->nodes == vocabulary::MemoryNodes::kNone && !nodes->empty()) {
    return invalid("linux.memoryPolicy.nodes: memory policy mode requires 0 nodes but got " +
                   std::to_string(nodes->size()) + " (" + mode_name + ", " + quoted(policy.nodes) +
                   ")");
  }
  if (mode->nodes == vocabulary::MemoryNodes::kAtLeastOne && nodes->empty()) {
    return invalid(
        "linux.memoryPolicy.nodes: memory policy mode requires at least one node but "
        "got 0 (" +
        mode_name + ")");
  }
  return {};
}

Status check_linux_values(const Linux& linux) {
  const auto& propagation = linux.rootfsPropagation;
  if (!propagation.empty() && !known(propagation, vocabulary::propagation_options())) {
    return invalid("rootfsPropagation=" + linux.rootfsPropagation + " is not supported");
  }
  if (linux.personality && !known(linux.personality->domain, vocabulary::kPersonalityDomains)) {
    return invalid("linux.personality.domain: invalid personality domain " +
                   quoted(linux.personality->domain));
  }
  if (linux.intelRdt) {
    if (auto status = check_intel_rdt(*linux.intelRdt); !status) return status;
  }
  if (linux.memoryPolicy) {
    if (auto status = check_memory_policy(*linux.memoryPolicy); !status) return status;
  }
  if (auto status = check_devices(linux.devices); !status) return status;
  return check_device_rules(linux.resources);
}

Status check_linux(const Spec& spec, const Namespaces& namespaces) {
  if (auto status = check_uts(spec, namespaces); !status) return status;
  if (!spec.linux) return {};
  const Linux& linux = *spec.linux;
  for (auto check : {check_masked_paths, check_user_namespace, check_time_offsets, check_sysctls,
                     check_net_devices}) {
    if (auto status = check(linux, namespaces); !status) return status;
  }
  return check_linux_values(linux);
}

}  // namespace

SpecResult<std::vector<unsigned>> memory_nodes(std::string_view list) {
  std::set<unsigned> nodes;
  while (!list.empty()) {
    auto comma = list.find(',');
    auto range = node_range(list.substr(0, comma));
    if (!range) return std::unexpected(range.error());
    for (unsigned node = range->first; node <= range->second; ++node) nodes.insert(node);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
    if (list.empty()) return invalid("the list ends with a comma");
  }
  return std::vector<unsigned>(nodes.begin(), nodes.end());
}

SpecResult<void> validate_spec(const Spec& spec) {
  if (spec.ociVersion.empty()) return invalid("ociVersion must not be empty");
  if (!spec.root) return invalid("root must be specified");
  if (spec.root->path.empty()) return invalid("root.path must not be empty");
  if (auto status = check_process(spec.process); !status) return status;
  if (spec.linux) {
    if (auto status = check_namespace_list(*spec.linux); !status) return status;
  }
  Namespaces namespaces(spec);
  if (auto status = check_linux(spec, namespaces); !status) return status;
  if (auto status = check_mounts(spec); !status) return status;
  return check_hooks(spec.hooks);
}

std::vector<std::string> unknown_capabilities(const Spec& spec) {
  std::vector<std::string> unknown;
  if (!spec.process || !spec.process->capabilities) return unknown;
  const Capabilities& caps = *spec.process->capabilities;
  for (const auto* set :
       {&caps.bounding, &caps.effective, &caps.inheritable, &caps.permitted, &caps.ambient}) {
    if (!*set) continue;
    for (const auto& name : **set) {
      if (!capability_number(name) && std::ranges::find(unknown, name) == unknown.end()) {
        unknown.push_back(name);
      }
    }
  }
  return unknown;
}

std::optional<int> capability_number(std::string_view name) {
  int number = vocabulary::capability_number(name);
  if (number < 0) return std::nullopt;
  return number;
}

}  // namespace mkrun::oci
