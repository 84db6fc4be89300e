// CDI spec files: reading (strict, as CDI's decoder), the name grammar, validation and the
// minimum version each field needs.
#include <algorithm>
#include <array>
#include <initializer_list>
#include <set>

#include "cdi_internal.hpp"
#include "mkrun/oci/cdi.hpp"
#include "mkrun/oci/json/read.hpp"

namespace mkrun::oci::cdi {

using json::Fields;
using json::Value;
using Status = SpecResult<void>;

// ---- reading -----------------------------------------------------------------------------------

// Found by the generic readers through argument-dependent lookup.
Status read_json(const Value& v, const std::string& path, DeviceNode& out);
Status read_json(const Value& v, const std::string& path, Mount& out);
Status read_json(const Value& v, const std::string& path, Hook& out);
Status read_json(const Value& v, const std::string& path, IntelRdt& out);
Status read_json(const Value& v, const std::string& path, NetDevice& out);
Status read_json(const Value& v, const std::string& path, ContainerEdits& out);
Status read_json(const Value& v, const std::string& path, Device& out);
Status read_json(const Value& v, const std::string& path, Spec& out);

// CDI decodes strictly (Fields::Unknown::kRefuse): a misspelt "hostpath" would otherwise
// silently drop a mount's source.
Status read_json(const Value& v, const std::string& path, DeviceNode& out) {
  return Fields(v, path, Fields::Unknown::kRefuse)
      .get("path", out.path)
      .get("hostPath", out.hostPath)
      .get("type", out.type)
      .get("major", out.major)
      .get("minor", out.minor)
      .get("fileMode", out.fileMode)
      .get("permissions", out.permissions)
      .get("uid", out.uid)
      .get("gid", out.gid)
      .status();
}

Status read_json(const Value& v, const std::string& path, Mount& out) {
  return Fields(v, path, Fields::Unknown::kRefuse)
      .get("hostPath", out.hostPath)
      .get("containerPath", out.containerPath)
      .get("options", out.options)
      .get("type", out.type)
      .status();
}

Status read_json(const Value& v, const std::string& path, Hook& out) {
  return Fields(v, path, Fields::Unknown::kRefuse)
      .get("hookName", out.hookName)
      .get("path", out.path)
      .get("args", out.args)
      .get("env", out.env)
      .get("timeout", out.timeout)
      .status();
}

Status read_json(const Value& v, const std::string& path, IntelRdt& out) {
  return Fields(v, path, Fields::Unknown::kRefuse)
      .get("closID", out.closID)
      .get("l3CacheSchema", out.l3CacheSchema)
      .get("memBwSchema", out.memBwSchema)
      .get("schemata", out.schemata)
      .get("enableMonitoring", out.enableMonitoring)
      .status();
}

Status read_json(const Value& v, const std::string& path, NetDevice& out) {
  return Fields(v, path, Fields::Unknown::kRefuse)
      .get("hostInterfaceName", out.hostInterfaceName)
      .get("name", out.name)
      .status();
}

Status read_json(const Value& v, const std::string& path, ContainerEdits& out) {
  return Fields(v, path, Fields::Unknown::kRefuse)
      .get("env", out.env)
      .get("deviceNodes", out.deviceNodes)
      .get("netDevices", out.netDevices)
      .get("hooks", out.hooks)
      .get("mounts", out.mounts)
      .get("intelRdt", out.intelRdt)
      .get("additionalGids", out.additionalGids)
      .status();
}

Status read_json(const Value& v, const std::string& path, Device& out) {
  return Fields(v, path, Fields::Unknown::kRefuse)
      .get("name", out.name)
      .get("annotations", out.annotations)
      .get("containerEdits", out.containerEdits)
      .status();
}

Status read_json(const Value& v, const std::string& path, Spec& out) {
  return Fields(v, path, Fields::Unknown::kRefuse)
      .get("cdiVersion", out.cdiVersion)
      .get("kind", out.kind)
      .get("annotations", out.annotations)
      .get("devices", out.devices)
      .get("containerEdits", out.containerEdits)
      .status();
}

namespace internal {

std::string field_path(std::string_view pointer) {
  std::string out;
  while (pointer.starts_with('/')) {
    pointer.remove_prefix(1);
    size_t end = pointer.find('/');
    std::string token(pointer.substr(0, end));
    pointer = end == std::string_view::npos ? std::string_view() : pointer.substr(end);
    for (size_t at = 0; (at = token.find('~', at)) != std::string::npos; ++at) {
      token.replace(at, 2, token.compare(at, 2, "~1") == 0 ? "/" : "~");
    }
    bool index =
        !token.empty() && std::ranges::all_of(token, [](char c) { return c >= '0' && c <= '9'; });
    if (index) {
      out += "[" + token + "]";
    } else {
      out += (out.empty() ? "" : ".") + token;
    }
  }
  return out.empty() ? "(top level)" : out;
}

SpecError with_field_path(SpecError error) {
  const std::string& message = error.message;
  size_t colon = message.find(": ");
  if (!message.starts_with('/') || colon == std::string::npos) return error;
  std::string pointer = message.substr(0, colon);
  return SpecError{field_path(pointer == "/" ? "" : pointer) + message.substr(colon)};
}

}  // namespace internal

std::optional<Format> format_of(std::string_view file_name) {
  if (file_name.ends_with(".json")) return Format::kJson;
  if (file_name.ends_with(".yaml")) return Format::kYaml;
  return std::nullopt;
}

SpecResult<Spec> parse_spec(std::string_view text, Format format) {
  rapidjson::Document doc;
  auto parsed =
      format == Format::kJson ? json::parse_document(text, doc) : internal::parse_yaml(text, doc);
  if (!parsed) return std::unexpected(parsed.error());
  if (doc.IsNull()) return std::unexpected(SpecError{"no spec data (empty file)"});
  Spec spec;
  if (auto read = read_json(doc, "", spec); !read) {
    return std::unexpected(internal::with_field_path(read.error()));
  }
  return spec;
}

// ---- names -------------------------------------------------------------------------------------

namespace {

bool is_letter(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
bool is_alnum(char c) {
  return is_letter(c) || (c >= '0' && c <= '9');
}

// Vendor and class: a letter first, then letters, digits, '_', '-', '.', a letter or digit last.
std::optional<std::string> vendor_or_class_problem(std::string_view name) {
  if (name.empty()) return "empty name";
  if (!is_letter(name.front())) return "\"" + std::string(name) + "\" should start with a letter";
  for (char c : name.substr(1)) {
    if (!is_alnum(c) && c != '_' && c != '-' && c != '.') {
      return "invalid character '" + std::string(1, c) + "' in \"" + std::string(name) + "\"";
    }
  }
  if (!is_alnum(name.back())) {
    return "\"" + std::string(name) + "\" should end with a letter or digit";
  }
  return std::nullopt;
}

// Device names: a letter or digit first, then also ':', a letter or digit last.
std::optional<std::string> device_name_problem(std::string_view name) {
  if (name.empty()) return "empty device name";
  if (!is_alnum(name.front())) {
    return "\"" + std::string(name) + "\" should start with a letter or digit";
  }
  for (char c : name.substr(1)) {
    if (!is_alnum(c) && c != '_' && c != '-' && c != '.' && c != ':') {
      return "invalid character '" + std::string(1, c) + "' in \"" + std::string(name) + "\"";
    }
  }
  if (!is_alnum(name.back())) {
    return "\"" + std::string(name) + "\" should end with a letter or digit";
  }
  return std::nullopt;
}

std::unexpected<SpecError> fail_at(const std::string& field, const std::string& message) {
  return std::unexpected(SpecError{field + ": " + message});
}

// "vendor/class" at its first '/'.
std::pair<std::string, std::string> split_kind(std::string_view kind) {
  size_t slash = kind.find('/');
  if (slash == std::string_view::npos) return {"", std::string(kind)};
  return {std::string(kind.substr(0, slash)), std::string(kind.substr(slash + 1))};
}

}  // namespace

SpecResult<QualifiedName> parse_qualified_name(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return std::unexpected(
        SpecError{"invalid CDI device name \"" + std::string(text) + "\": " + why});
  };
  size_t equals = text.find('=');
  if (equals == std::string_view::npos) return bad("not vendor/class=name");
  auto [vendor, device_class] = split_kind(text.substr(0, equals));
  std::string name(text.substr(equals + 1));
  if (vendor.empty()) return bad("missing vendor");
  if (auto problem = vendor_or_class_problem(vendor)) return bad("vendor: " + *problem);
  if (auto problem = vendor_or_class_problem(device_class)) return bad("class: " + *problem);
  if (auto problem = device_name_problem(name)) return bad(*problem);
  return QualifiedName{vendor, device_class, name};
}

SpecResult<std::vector<std::string>> requested_devices(
    const std::map<std::string, std::string>& annotations) {
  std::vector<std::string> devices;
  for (const auto& [key, value] : annotations) {
    if (!key.starts_with(kAnnotationPrefix)) continue;
    std::string_view rest = value;
    while (true) {
      size_t comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      auto name = parse_qualified_name(item);
      if (!name) {
        return std::unexpected(SpecError{"annotation " + key + ": " + name.error().message});
      }
      if (std::ranges::find(devices, name->str()) == devices.end()) devices.push_back(name->str());
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return devices;
}

// ---- versions ----------------------------------------------------------------------------------

namespace {

constexpr std::array<std::string_view, 8> kVersions = {"0.3.0", "0.4.0", "0.5.0", "0.6.0",
                                                       "0.7.0", "0.8.0", "1.0.0", "1.1.0"};

std::optional<size_t> version_index(std::string_view version) {
  if (version.starts_with('v')) version.remove_prefix(1);
  auto found = std::ranges::find(kVersions, version);
  if (found == kVersions.end()) return std::nullopt;
  return static_cast<size_t>(found - kVersions.begin());
}

// Every edits block of a spec: its own, then each device's.
std::vector<const ContainerEdits*> all_edits(const Spec& spec) {
  std::vector<const ContainerEdits*> edits{&spec.containerEdits};
  for (const Device& device : spec.devices) edits.push_back(&device.containerEdits);
  return edits;
}

template <class Pred>
bool any_edits(const Spec& spec, Pred pred) {
  return std::ranges::any_of(all_edits(spec), [&](const ContainerEdits* e) { return pred(*e); });
}

bool needs_1_1(const Spec& spec) {
  return any_edits(spec, [](const ContainerEdits& e) {
    bool rdt_1_1 = e.intelRdt && (e.intelRdt->schemata || e.intelRdt->enableMonitoring);
    return rdt_1_1 || !e.netDevices.empty();
  });
}

bool needs_0_7(const Spec& spec) {
  return any_edits(spec,
                   [](const ContainerEdits& e) { return e.intelRdt || !e.additionalGids.empty(); });
}

bool needs_0_6(const Spec& spec) {
  bool annotated =
      !spec.annotations.empty() ||
      std::ranges::any_of(spec.devices, [](const Device& d) { return !d.annotations.empty(); });
  return annotated || split_kind(spec.kind).second.find('.') != std::string::npos;
}

bool needs_0_5(const Spec& spec) {
  bool digit_first = std::ranges::any_of(spec.devices, [](const Device& d) {
    return !d.name.empty() && d.name[0] >= '0' && d.name[0] <= '9';
  });
  return digit_first || any_edits(spec, [](const ContainerEdits& e) {
           return std::ranges::any_of(e.deviceNodes,
                                      [](const DeviceNode& n) { return !n.hostPath.empty(); });
         });
}

bool needs_0_4(const Spec& spec) {
  return any_edits(spec, [](const ContainerEdits& e) {
    return std::ranges::any_of(e.mounts, [](const Mount& m) { return !m.type.empty(); });
  });
}

}  // namespace

std::string minimum_version(const Spec& spec) {
  if (needs_1_1(spec)) return "1.1.0";
  if (needs_0_7(spec)) return "0.7.0";
  if (needs_0_6(spec)) return "0.6.0";
  if (needs_0_5(spec)) return "0.5.0";
  if (needs_0_4(spec)) return "0.4.0";
  return "0.3.0";
}

// ---- validation --------------------------------------------------------------------------------

namespace {

std::string at(const std::string& base, std::string_view field) {
  return base.empty() ? std::string(field) : base + "." + std::string(field);
}
std::string at(const std::string& base, std::string_view field, size_t index) {
  return at(base, field) + "[" + std::to_string(index) + "]";
}

Status check_env(const std::vector<std::string>& env, const std::string& field) {
  for (size_t i = 0; i < env.size(); ++i) {
    size_t equals = env[i].find('=');
    if (equals == std::string::npos || equals == 0) {
      return fail_at(field + "[" + std::to_string(i) + "]", "\"" + env[i] + "\" is not NAME=value");
    }
  }
  return {};
}

Status check_device_node(const DeviceNode& node, const std::string& field) {
  if (node.path.empty()) return fail_at(at(field, "path"), "empty device path");
  static constexpr std::array<std::string_view, 5> kTypes = {"", "b", "c", "u", "p"};
  if (std::ranges::find(kTypes, node.type) == kTypes.end()) {
    return fail_at(at(field, "type"), "invalid type \"" + node.type + "\" (b, c, u or p)");
  }
  bool rwm = node.permissions.find_first_not_of("rwm") == std::string::npos;
  if (node.permissions != "none" && !rwm) {
    return fail_at(at(field, "permissions"),
                   "invalid permissions \"" + node.permissions + "\" (r, w, m or none)");
  }
  return {};
}

bool known_hook(std::string_view name) {
  static constexpr std::array<std::string_view, 6> kHooks = {
      "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"};
  return std::ranges::find(kHooks, name) != kHooks.end();
}

Status check_hook(const Hook& hook, const std::string& field) {
  if (!known_hook(hook.hookName)) {
    return fail_at(at(field, "hookName"), "invalid hook name \"" + hook.hookName + "\"");
  }
  if (hook.path.empty()) return fail_at(at(field, "path"), "empty hook path");
  return check_env(hook.env, at(field, "env"));
}

Status check_mount(const Mount& mount, const std::string& field) {
  if (mount.hostPath.empty()) return fail_at(at(field, "hostPath"), "empty host path");
  if (mount.containerPath.empty()) {
    return fail_at(at(field, "containerPath"), "empty container path");
  }
  return {};
}

// A CLOS id is a file name in resctrl, or "/" for the root group.
Status check_intel_rdt(const IntelRdt& rdt, const std::string& field) {
  const std::string& id = rdt.closID;
  if (id == "/") return {};
  if (id.size() >= 4096 || id == "." || id == ".." || id.find_first_of("/\n") != std::string::npos)
    return fail_at(at(field, "closID"), "invalid CLOS id \"" + id + "\"");
  return {};
}

Status check_net_devices(const std::vector<NetDevice>& devices, const std::string& field) {
  std::set<std::string> hosts;
  std::set<std::string> names;
  for (size_t i = 0; i < devices.size(); ++i) {
    const std::string item = field + "[" + std::to_string(i) + "]";
    if (devices[i].hostInterfaceName.empty())
      return fail_at(at(item, "hostInterfaceName"), "empty");
    if (devices[i].name.empty()) return fail_at(at(item, "name"), "empty");
    if (!hosts.insert(devices[i].hostInterfaceName).second)
      return fail_at(at(item, "hostInterfaceName"),
                     "\"" + devices[i].hostInterfaceName + "\" given twice");
    if (!names.insert(devices[i].name).second)
      return fail_at(at(item, "name"), "\"" + devices[i].name + "\" given twice");
  }
  return {};
}

template <class T, class Check>
Status check_each(const std::vector<T>& items, const std::string& field, Check check) {
  for (size_t i = 0; i < items.size(); ++i) {
    if (auto ok = check(items[i], field + "[" + std::to_string(i) + "]"); !ok) return ok;
  }
  return {};
}

Status check_edits(const ContainerEdits& e, const std::string& field) {
  if (auto ok = check_env(e.env, at(field, "env")); !ok) return ok;
  if (auto ok = check_each(e.deviceNodes, at(field, "deviceNodes"), check_device_node); !ok)
    return ok;
  if (auto ok = check_each(e.hooks, at(field, "hooks"), check_hook); !ok) return ok;
  if (auto ok = check_each(e.mounts, at(field, "mounts"), check_mount); !ok) return ok;
  if (e.intelRdt) {
    if (auto ok = check_intel_rdt(*e.intelRdt, at(field, "intelRdt")); !ok) return ok;
  }
  return check_net_devices(e.netDevices, at(field, "netDevices"));
}

bool edits_empty(const ContainerEdits& e) {
  return e.env.empty() && e.deviceNodes.empty() && e.hooks.empty() && e.mounts.empty() &&
         e.additionalGids.empty() && !e.intelRdt && e.netDevices.empty();
}

Status check_version(const Spec& spec) {
  auto given = version_index(spec.cdiVersion);
  if (!given) {
    return fail_at("cdiVersion", "unsupported version \"" + spec.cdiVersion + "\" (mkrun reads " +
                                     std::string(kOldestVersion) + " to " +
                                     std::string(kNewestVersion) + ")");
  }
  std::string needed = minimum_version(spec);
  if (*version_index(needed) > *given) {
    return fail_at("cdiVersion", "\"" + spec.cdiVersion + "\" is too old for the fields used: " +
                                     "they need at least " + needed);
  }
  return {};
}

Status check_kind(const std::string& kind) {
  auto [vendor, device_class] = split_kind(kind);
  if (vendor.empty()) return fail_at("kind", "\"" + kind + "\" is not vendor/class");
  if (auto problem = vendor_or_class_problem(vendor)) return fail_at("kind", "vendor " + *problem);
  if (auto problem = vendor_or_class_problem(device_class)) {
    return fail_at("kind", "class " + *problem);
  }
  return {};
}

Status check_device(const Device& device, const std::string& field) {
  if (auto problem = device_name_problem(device.name)) return fail_at(at(field, "name"), *problem);
  if (edits_empty(device.containerEdits)) {
    return fail_at(at(field, "containerEdits"), "a device must edit something");
  }
  return check_edits(device.containerEdits, at(field, "containerEdits"));
}

}  // namespace

SpecResult<void> validate_spec(const Spec& spec) {
  if (auto ok = check_version(spec); !ok) return ok;
  if (auto ok = check_kind(spec.kind); !ok) return ok;
  if (auto ok = check_edits(spec.containerEdits, "containerEdits"); !ok) return ok;
  if (spec.devices.empty()) return fail_at("devices", "a spec must define at least one device");
  std::set<std::string> names;
  for (size_t i = 0; i < spec.devices.size(); ++i) {
    const std::string field = at("", "devices", i);
    if (auto ok = check_device(spec.devices[i], field); !ok) return ok;
    if (!names.insert(spec.devices[i].name).second) {
      return fail_at(at(field, "name"), "device \"" + spec.devices[i].name + "\" defined twice");
    }
  }
  return {};
}

// ---- the registry ------------------------------------------------------------------------------

void Registry::add(const std::string& path, int priority, Spec spec) {
  specs_.push_back(Loaded{path, std::move(spec)});
  const size_t index = specs_.size() - 1;
  const Spec& added = specs_.back().spec;
  auto [vendor, device_class] = split_kind(added.kind);
  for (size_t d = 0; d < added.devices.size(); ++d) {
    std::string name = QualifiedName{vendor, device_class, added.devices[d].name}.str();
    auto found = devices_.find(name);
    if (found == devices_.end() || priority > found->second.priority) {
      devices_[name] = Source{d, index, priority, ""};
    } else if (priority == found->second.priority) {
      found->second.conflict = path;
    }
  }
}

void Registry::add_broken(const std::string& path, std::string problem) {
  broken_.push_back(path + ": " + problem);
}

namespace {

void append(ContainerEdits& to, const ContainerEdits& from) {
  auto add = [](auto& list, const auto& more) {
    list.insert(list.end(), more.begin(), more.end());
  };
  add(to.env, from.env);
  add(to.deviceNodes, from.deviceNodes);
  add(to.netDevices, from.netDevices);
  add(to.hooks, from.hooks);
  add(to.mounts, from.mounts);
  if (from.intelRdt) to.intelRdt = from.intelRdt;
  add(to.additionalGids, from.additionalGids);
}

}  // namespace

SpecResult<ContainerEdits> Registry::edits_for(const std::vector<std::string>& devices) const {
  ContainerEdits edits;
  std::vector<bool> spec_used(specs_.size(), false);
  for (const std::string& name : devices) {
    auto found = devices_.find(name);
    if (found == devices_.end()) {
      std::string message = "unknown CDI device \"" + name + "\": no spec that loaded defines it";
      for (const std::string& problem : broken_) message += "; not loaded: " + problem;
      return std::unexpected(SpecError{message});
    }
    const Source& source = found->second;
    if (!source.conflict.empty()) {
      return std::unexpected(SpecError{"CDI device \"" + name + "\" is defined in both " +
                                       specs_[source.spec].path + " and " + source.conflict +
                                       ", directories of the same priority"});
    }
    if (!spec_used[source.spec]) {
      spec_used[source.spec] = true;
      append(edits, specs_[source.spec].spec.containerEdits);
    }
    append(edits, specs_[source.spec].spec.devices[source.device].containerEdits);
  }
  return edits;
}

}  // namespace mkrun::oci::cdi
