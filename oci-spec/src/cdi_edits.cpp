// CDI's edits applied to a config, and the edited sections written back into the config's JSON.
#include <algorithm>

#include "mkrun/oci/cdi.hpp"
#include "mkrun/oci/json/read.hpp"
#include "mkrun/oci/json/write.hpp"

namespace mkrun::oci::cdi {
namespace {

using Status = SpecResult<void>;

std::unexpected<SpecError> fail(const std::string& message) {
  return std::unexpected(SpecError{message});
}

Process& process_of(oci::Spec& spec) {
  if (!spec.process) spec.process.emplace();
  return *spec.process;
}

Linux& linux_of(oci::Spec& spec) {
  if (!spec.linux) spec.linux.emplace();
  return *spec.linux;
}

// A variable replaces the config's of the same name, where it stands; a new one is appended.
void set_env(std::vector<std::string>& env, const std::string& entry) {
  std::string_view name = std::string_view(entry).substr(0, entry.find('='));
  auto same = std::ranges::find_if(env, [&](const std::string& e) {
    return std::string_view(e).substr(0, e.find('=')) == name;
  });
  if (same != env.end()) {
    *same = entry;
  } else {
    env.push_back(entry);
  }
}

// CDI's rule: a node whose type (and, but for a fifo, major) the spec gives is taken as is; the
// host's node only adds its mode then, and need not exist. Otherwise the host's node must exist,
// be of the given type, and gives what the spec leaves out.
Status fill_from_host(DeviceNode& node, const HostDeviceLookup& lookup) {
  const bool complete = !node.type.empty() && (node.major != 0 || node.type == "p");
  const std::string host = node.hostPath.empty() ? node.path : node.hostPath;
  auto info = lookup(host);
  if (!info) {
    if (complete) return {};
    return fail("device node " + node.path + ": host device " + host + ": " + info.error().message);
  }
  if (!node.fileMode) node.fileMode = info->mode;
  if (complete) return {};
  if (node.type.empty()) node.type = info->type;
  if (node.type != info->type) {
    return fail("device node " + node.path + ": type \"" + node.type + "\" but host device " +
                host + " has type \"" + info->type + "\"");
  }
  if (node.type != "p" && node.major == 0) {
    node.major = info->major;
    node.minor = info->minor;
  }
  return {};
}

oci::Device to_oci_device(const DeviceNode& node, const oci::Spec& spec) {
  oci::Device device{node.type,     node.path, node.major, node.minor,
                     node.fileMode, node.uid,  node.gid};
  // As CDI: a node the spec gives no owner belongs to the container's user, if not root.
  if (!device.uid && spec.process && spec.process->user.uid > 0) {
    device.uid = spec.process->user.uid;
  }
  if (!device.gid && spec.process && spec.process->user.gid > 0) {
    device.gid = spec.process->user.gid;
  }
  return device;
}

// The device-cgroup rule that lets the container use the node (v1's devices.allow, v2's eBPF
// program: both are built from linux.resources.devices). "none" asks for no access: no rule,
// so the default deny holds.
void allow_in_cgroup(const DeviceNode& node, oci::Spec& spec) {
  if (node.type != "b" && node.type != "c") return;
  if (node.permissions == "none") return;
  Linux& linux = linux_of(spec);
  if (!linux.resources) linux.resources.emplace();
  std::string access = node.permissions.empty() ? "rwm" : node.permissions;
  linux.resources->devices.push_back(
      DeviceCgroupRule{true, node.type, node.major, node.minor, access});
}

Status add_device_node(DeviceNode node, const HostDeviceLookup& lookup, oci::Spec& spec) {
  if (auto filled = fill_from_host(node, lookup); !filled) return filled;
  std::vector<oci::Device>& devices = linux_of(spec).devices;
  oci::Device device = to_oci_device(node, spec);
  auto same = std::ranges::find(devices, device.path, &oci::Device::path);
  if (same != devices.end()) {
    *same = std::move(device);
  } else {
    devices.push_back(std::move(device));
  }
  allow_in_cgroup(node, spec);
  return {};
}

bool has_user_namespace(const oci::Spec& spec) {
  return spec.linux && std::ranges::any_of(spec.linux->namespaces,
                                           [](const Namespace& ns) { return ns.type == "user"; });
}

// In a user namespace a bind of a host directory keeps the host's owners unless idmapped, as
// CDI does: "idmap" for a bind, "ridmap" for an rbind, unless the spec chose already.
void add_idmap_option(oci::Mount& mount) {
  std::string option = mount.type == "bind" ? "idmap" : "";
  for (const std::string& o : mount.options) {
    if (o == "idmap" || o == "ridmap") return;
    if (o == "bind") option = "idmap";
    if (o == "rbind") option = "ridmap";
  }
  if (!option.empty()) mount.options.push_back(option);
}

void add_mount(const Mount& cdi_mount, oci::Spec& spec) {
  auto same = std::ranges::find(spec.mounts, cdi_mount.containerPath, &oci::Mount::destination);
  if (same != spec.mounts.end()) spec.mounts.erase(same);
  oci::Mount mount{
      cdi_mount.containerPath, cdi_mount.type, cdi_mount.hostPath, cdi_mount.options, {}, {}};
  if (has_user_namespace(spec)) add_idmap_option(mount);
  spec.mounts.push_back(std::move(mount));
}

// The number of separators in the lexically cleaned path, the key CDI (and Docker, CRI-O) sort
// mounts by so that a parent is mounted before what is mounted inside it.
size_t clean_depth(std::string_view path) {
  const bool absolute = path.starts_with('/');
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    if (part.empty() || part == ".") continue;
    if (part == ".." && !parts.empty() && parts.back() != "..") {
      parts.pop_back();
    } else if (part != ".." || !absolute) {
      parts.push_back(part);
    }
  }
  if (absolute) return std::max<size_t>(parts.size(), 1);
  return parts.empty() ? 0 : parts.size() - 1;
}

void sort_mounts(oci::Spec& spec) {
  std::ranges::stable_sort(spec.mounts, {},
                           [](const oci::Mount& m) { return clean_depth(m.destination); });
}

Status add_hook(const Hook& cdi_hook, oci::Spec& spec) {
  if (!spec.hooks) spec.hooks.emplace();
  Hooks& hooks = *spec.hooks;
  oci::Hook hook{cdi_hook.path, cdi_hook.args, std::nullopt, cdi_hook.timeout};
  if (!cdi_hook.env.empty()) hook.env = cdi_hook.env;
  std::vector<oci::Hook>* list = cdi_hook.hookName == "prestart"          ? &hooks.prestart
                                 : cdi_hook.hookName == "createRuntime"   ? &hooks.createRuntime
                                 : cdi_hook.hookName == "createContainer" ? &hooks.createContainer
                                 : cdi_hook.hookName == "startContainer"  ? &hooks.startContainer
                                 : cdi_hook.hookName == "poststart"       ? &hooks.poststart
                                 : cdi_hook.hookName == "poststop"        ? &hooks.poststop
                                                                          : nullptr;
  if (list == nullptr) return fail("unknown hook name \"" + cdi_hook.hookName + "\"");
  // Applying a device twice (an engine did, kept its annotation, and mkrun does again) must not
  // run its hooks twice: an identical hook of the same kind is there once. Env, mounts and nodes
  // are idempotent already (the last setting or the one at that path wins).
  auto same = [&hook](const oci::Hook& other) {
    return other.path == hook.path && other.args == hook.args && other.env == hook.env &&
           other.timeout == hook.timeout;
  };
  if (std::ranges::none_of(*list, same)) list->push_back(std::move(hook));
  return {};
}

void add_gid(uint32_t gid, oci::Spec& spec) {
  if (gid == 0) return;  // root's group is the process's already, or not to be given
  auto& gids = process_of(spec).user.additionalGids;
  if (std::ranges::find(gids, gid) == gids.end()) gids.push_back(gid);
}

}  // namespace

SpecResult<void> apply_edits(const ContainerEdits& edits, const HostDeviceLookup& lookup,
                             oci::Spec& spec) {
  for (const std::string& entry : edits.env) set_env(process_of(spec).env, entry);
  for (const DeviceNode& node : edits.deviceNodes) {
    if (auto added = add_device_node(node, lookup, spec); !added) return added;
  }
  for (const NetDevice& device : edits.netDevices) {
    linux_of(spec).netDevices[device.hostInterfaceName] = oci::NetDevice{device.name};
  }
  if (!edits.mounts.empty()) {
    for (const Mount& mount : edits.mounts) add_mount(mount, spec);
    sort_mounts(spec);
  }
  for (const Hook& hook : edits.hooks) {
    if (auto added = add_hook(hook, spec); !added) return added;
  }
  if (edits.intelRdt) {
    // CDI replaces the config's intelRdt as a whole.
    const IntelRdt& rdt = *edits.intelRdt;
    oci::IntelRdt& to = linux_of(spec).intelRdt.emplace();
    to.closID = rdt.closID;
    to.l3CacheSchema = rdt.l3CacheSchema;
    to.memBwSchema = rdt.memBwSchema;
    to.schemata = rdt.schemata.value_or(std::vector<std::string>{});
    to.enableMonitoring = rdt.enableMonitoring;
  }
  for (uint32_t gid : edits.additionalGids) add_gid(gid, spec);
  return {};
}

// ---- writing the edited sections back ----------------------------------------------------------

namespace {

using Allocator = rapidjson::Document::AllocatorType;

void write_strings(json::Writer& w, const std::vector<std::string>& list) {
  w.begin_array();
  for (const std::string& s : list) w.value(s);
  w.end_array();
}

void write_mount(json::Writer& w, const oci::Mount& m) {
  w.begin_object();
  w.member("destination", m.destination);
  if (!m.type.empty()) w.member("type", m.type);
  if (!m.source.empty()) w.member("source", m.source);
  if (!m.options.empty()) w.member("options", m.options);
  for (const auto& [key, maps] :
       {std::pair{"uidMappings", &m.uidMappings}, std::pair{"gidMappings", &m.gidMappings}}) {
    if (maps->empty()) continue;
    w.key(key);
    w.begin_array();
    for (const IdMapping& map : *maps) {
      w.begin_object();
      w.member("containerID", map.containerID);
      w.member("hostID", map.hostID);
      w.member("size", map.size);
      w.end_object();
    }
    w.end_array();
  }
  w.end_object();
}

void write_hook_list(json::Writer& w, const char* name, const std::vector<oci::Hook>& hooks) {
  if (hooks.empty()) return;
  w.key(name);
  w.begin_array();
  for (const oci::Hook& h : hooks) {
    w.begin_object();
    w.member("path", h.path);
    if (!h.args.empty()) w.member("args", h.args);
    if (h.env) w.member("env", *h.env);
    if (h.timeout) w.member("timeout", static_cast<int64_t>(*h.timeout));
    w.end_object();
  }
  w.end_array();
}

void write_hooks(json::Writer& w, const Hooks& h) {
  w.begin_object();
  write_hook_list(w, "prestart", h.prestart);
  write_hook_list(w, "createRuntime", h.createRuntime);
  write_hook_list(w, "createContainer", h.createContainer);
  write_hook_list(w, "startContainer", h.startContainer);
  write_hook_list(w, "poststart", h.poststart);
  write_hook_list(w, "poststop", h.poststop);
  w.end_object();
}

template <class T>
void member_if(json::Writer& w, const char* name, const std::optional<T>& value) {
  if (value) w.member(name, *value);
}

void write_devices(json::Writer& w, const std::vector<oci::Device>& devices) {
  w.begin_array();
  for (const oci::Device& d : devices) {
    w.begin_object();
    w.member("path", d.path);
    w.member("type", d.type);
    w.member("major", d.major);
    w.member("minor", d.minor);
    member_if(w, "fileMode", d.fileMode);
    member_if(w, "uid", d.uid);
    member_if(w, "gid", d.gid);
    w.end_object();
  }
  w.end_array();
}

void write_rules(json::Writer& w, const std::vector<DeviceCgroupRule>& rules) {
  w.begin_array();
  for (const DeviceCgroupRule& r : rules) {
    w.begin_object();
    w.member("allow", r.allow);
    if (!r.type.empty()) w.member("type", r.type);
    member_if(w, "major", r.major);
    member_if(w, "minor", r.minor);
    if (!r.access.empty()) w.member("access", r.access);
    w.end_object();
  }
  w.end_array();
}

void write_intel_rdt(json::Writer& w, const oci::IntelRdt& rdt) {
  w.begin_object();
  if (!rdt.closID.empty()) w.member("closID", rdt.closID);
  if (!rdt.l3CacheSchema.empty()) w.member("l3CacheSchema", rdt.l3CacheSchema);
  if (!rdt.memBwSchema.empty()) w.member("memBwSchema", rdt.memBwSchema);
  if (!rdt.schemata.empty()) w.member("schemata", rdt.schemata);
  if (rdt.enableMonitoring) w.member("enableMonitoring", true);
  w.end_object();
}

void write_net_devices(json::Writer& w, const std::map<std::string, oci::NetDevice>& devices) {
  w.begin_object();
  for (const auto& [host, device] : devices) {
    w.key(host);
    w.begin_object();
    if (!device.name.empty()) w.member("name", device.name);
    w.end_object();
  }
  w.end_object();
}

// The member `name` of `object` (the one the reader takes back), made an object if missing.
rapidjson::Value& object_member(rapidjson::Value& object, const char* name, Allocator& a) {
  rapidjson::Value* found = json::find_member(object, name);
  if (found == nullptr) {
    object.AddMember(rapidjson::Value(name, a), rapidjson::Value(rapidjson::kObjectType), a);
    found = &(object.MemberEnd() - 1)->value;
  }
  if (!found->IsObject()) found->SetObject();
  return *found;
}

// Replaces (or adds) `name` in `object` with the JSON one writer produced.
Status replace(rapidjson::Value& object, const char* name, const json::Writer& w, Allocator& a) {
  rapidjson::Document piece;
  if (auto parsed = json::parse_document(w.str(), piece); !parsed) return parsed;
  rapidjson::Value value(piece, a);
  if (rapidjson::Value* found = json::find_member(object, name)) {
    *found = std::move(value);
  } else {
    object.AddMember(rapidjson::Value(name, a), std::move(value), a);
  }
  return {};
}

template <class Write>
Status replace_with(rapidjson::Value& object, const char* name, Allocator& a, Write write) {
  json::Writer w;
  write(w);
  return replace(object, name, w, a);
}

Status write_process(rapidjson::Value& doc, const oci::Spec& s, const ContainerEdits& e,
                     Allocator& a) {
  if (!s.process || (e.env.empty() && e.additionalGids.empty())) return {};
  rapidjson::Value& process = object_member(doc, "process", a);
  if (!e.env.empty()) {
    auto ok =
        replace_with(process, "env", a, [&](json::Writer& w) { write_strings(w, s.process->env); });
    if (!ok) return ok;
  }
  if (e.additionalGids.empty()) return {};
  return replace_with(object_member(process, "user", a), "additionalGids", a, [&](json::Writer& w) {
    w.begin_array();
    for (uint32_t gid : s.process->user.additionalGids) w.value(gid);
    w.end_array();
  });
}

Status write_linux(rapidjson::Value& doc, const oci::Spec& s, const ContainerEdits& e,
                   Allocator& a) {
  if (!s.linux) return {};
  const Linux& l = *s.linux;
  rapidjson::Value& linux = object_member(doc, "linux", a);
  if (!e.deviceNodes.empty()) {
    auto ok =
        replace_with(linux, "devices", a, [&](json::Writer& w) { write_devices(w, l.devices); });
    if (!ok) return ok;
    if (l.resources) {
      ok = replace_with(object_member(linux, "resources", a), "devices", a,
                        [&](json::Writer& w) { write_rules(w, l.resources->devices); });
      if (!ok) return ok;
    }
  }
  if (e.intelRdt && l.intelRdt) {
    auto ok = replace_with(linux, "intelRdt", a,
                           [&](json::Writer& w) { write_intel_rdt(w, *l.intelRdt); });
    if (!ok) return ok;
  }
  if (e.netDevices.empty()) return {};
  return replace_with(linux, "netDevices", a,
                      [&](json::Writer& w) { write_net_devices(w, l.netDevices); });
}

}  // namespace

SpecResult<std::string> write_edited_sections(std::string_view config_json, const oci::Spec& edited,
                                              const ContainerEdits& edits) {
  rapidjson::Document doc;
  if (auto parsed = json::parse_document(config_json, doc); !parsed) {
    return std::unexpected(parsed.error());
  }
  if (!doc.IsObject()) return json::wrong_type("", "object", doc);
  Allocator& a = doc.GetAllocator();
  if (auto ok = write_process(doc, edited, edits, a); !ok) return std::unexpected(ok.error());
  if (!edits.mounts.empty()) {
    auto ok = replace_with(doc, "mounts", a, [&](json::Writer& w) {
      w.begin_array();
      for (const oci::Mount& m : edited.mounts) write_mount(w, m);
      w.end_array();
    });
    if (!ok) return std::unexpected(ok.error());
  }
  if (!edits.hooks.empty() && edited.hooks) {
    auto ok =
        replace_with(doc, "hooks", a, [&](json::Writer& w) { write_hooks(w, *edited.hooks); });
    if (!ok) return std::unexpected(ok.error());
  }
  if (auto ok = write_linux(doc, edited, edits, a); !ok) return std::unexpected(ok.error());
  auto text = json::write_document(doc);
  if (!text) return std::unexpected(SpecError{"the config holds a number beyond a double's range"});
  return std::move(*text);
}

}  // namespace mkrun::oci::cdi
