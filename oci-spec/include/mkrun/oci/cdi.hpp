// The Container Device Interface (CDI, versions 0.3.0 to 1.1.0): spec files as typed values,
// their validation, the device names a container asks for, and the edits those devices make to a
// config. Pure: the caller reads the files and looks at the host (runtime/src/container/cdi.cpp);
// everything here works on contents and values only, so it can be tested without a host.
//
// Behaviour follows CDI's reference library (tags.cncf.io/container-device-interface): the same
// name grammar, the same minimum version per field, the same rule for a device defined twice
// (the higher priority directory wins, the same priority is a conflict), and the same order and
// shape of edits. Field paths in errors read "devices[2].containerEdits.mounts[0].hostPath".
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mkrun/oci/parse.hpp"
#include "mkrun/oci/spec.hpp"

namespace mkrun::oci::cdi {

// The key prefix of the annotations that ask for devices: "cdi.k8s.io/<anything>" with a
// comma-separated list of fully-qualified names as its value.
inline constexpr std::string_view kAnnotationPrefix = "cdi.k8s.io/";

// The oldest and newest spec versions read.
inline constexpr std::string_view kOldestVersion = "0.3.0";
inline constexpr std::string_view kNewestVersion = "1.1.0";

struct DeviceNode {
  std::string path;
  std::string hostPath;  // 0.5.0; empty: `path` on the host
  std::string type;      // "b", "c", "u", "p"; empty: the host node's
  int64_t major = 0;     // 0: the host node's
  int64_t minor = 0;
  std::optional<uint32_t> fileMode;
  std::string permissions;  // cgroup access, "rwm" by default; "none": no access rule at all
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
};

struct Mount {
  std::string hostPath;
  std::string containerPath;
  std::vector<std::string> options;
  std::string type;  // 0.4.0
};

struct Hook {
  std::string hookName;  // "prestart", "createRuntime", ..., "poststop"
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int32_t> timeout;
};

struct IntelRdt {  // 0.7.0
  std::string closID;
  std::string l3CacheSchema;
  std::string memBwSchema;
  std::optional<std::vector<std::string>> schemata;  // 1.1.0
  bool enableMonitoring = false;                     // 1.1.0
};

struct NetDevice {  // 1.1.0
  std::string hostInterfaceName;
  std::string name;
};

struct ContainerEdits {
  std::vector<std::string> env;
  std::vector<DeviceNode> deviceNodes;
  std::vector<NetDevice> netDevices;
  std::vector<Hook> hooks;
  std::vector<Mount> mounts;
  std::optional<IntelRdt> intelRdt;
  std::vector<uint32_t> additionalGids;  // 0.7.0
};

struct Device {
  std::string name;
  std::map<std::string, std::string> annotations;  // 0.6.0
  ContainerEdits containerEdits;
};

struct Spec {
  std::string cdiVersion;
  std::string kind;                                // "vendor/class"
  std::map<std::string, std::string> annotations;  // 0.6.0
  std::vector<Device> devices;
  ContainerEdits containerEdits;
};

enum class Format { kJson, kYaml };

// The format of a spec file by its name; nullopt for a file that is not a spec (CDI reads only
// "*.json" and "*.yaml" and skips everything else in its directories).
std::optional<Format> format_of(std::string_view file_name);

// Parses one spec file's contents. As in CDI, strictly: a key that is not a field is an error.
// YAML goes through the same readers as JSON (mapping -> object, plain scalars typed as YAML's
// core schema); anchors and aliases are refused.
SpecResult<Spec> parse_spec(std::string_view text, Format format);

// CDI's checks: a known version at least as new as the newest field used, a valid kind, devices
// with valid unique names and non-empty edits, valid edits. The first problem, naming its field.
SpecResult<void> validate_spec(const Spec& spec);

// The spec version a spec's fields need at least ("0.3.0" ... "1.1.0").
std::string minimum_version(const Spec& spec);

struct QualifiedName {
  std::string vendor;
  std::string device_class;
  std::string name;
  std::string str() const { return vendor + "/" + device_class + "=" + name; }
};

// "vendor.com/class=name", each part checked against CDI's grammar.
SpecResult<QualifiedName> parse_qualified_name(std::string_view text);

// The devices the annotations ask for, in key order then list order, each once; a name that is
// not fully qualified is an error naming its annotation.
SpecResult<std::vector<std::string>> requested_devices(
    const std::map<std::string, std::string>& annotations);

// Every device of a set of spec directories, by qualified name. Specs are added in scan order
// with the priority of their directory (its index in the list: later directories win).
class Registry {
 public:
  // A parsed, validated spec read from `path`.
  void add(const std::string& path, int priority, Spec spec);
  // A file that could not be read, parsed or validated: not fatal unless a device is missing.
  void add_broken(const std::string& path, std::string problem);

  // The edits for `devices`, in CDI's order: for each device, its spec's own edits the first
  // time that spec is used, then the device's. An unknown device or one defined twice at the
  // same priority is an error naming the files.
  SpecResult<ContainerEdits> edits_for(const std::vector<std::string>& devices) const;

  // The files that failed to load, "path: problem", for the caller to warn about.
  const std::vector<std::string>& broken() const { return broken_; }

 private:
  struct Source {
    size_t device = 0;  // index in its spec's devices
    size_t spec = 0;    // index in specs_
    int priority = 0;
    std::string conflict;  // the other file at the same priority, if any
  };
  struct Loaded {
    std::string path;
    Spec spec;
  };
  std::vector<Loaded> specs_;
  std::map<std::string, Source> devices_;
  std::vector<std::string> broken_;
};

// What the host says of a device node (stat of its host path).
struct HostDevice {
  std::string type;  // "b", "c" or "p"
  int64_t major = 0;
  int64_t minor = 0;
  uint32_t mode = 0;  // permission bits
};
// Looks up a host path; an error when it is missing or not a device node.
using HostDeviceLookup = std::function<SpecResult<HostDevice>(const std::string& host_path)>;

// Applies edits to a config, as CDI does: env appended; each device node replaces the
// config's node at its path (type, major and minor filled from the host when the spec leaves
// them out, the process's uid and gid when it leaves those out) and gets an allow rule in
// linux.resources.devices; net devices set; mounts replace the config's at their destination
// and all mounts are then sorted by depth (a bind gets "idmap"/"ridmap" in a user namespace);
// hooks appended per kind; intelRdt set; additional gids added once each.
SpecResult<void> apply_edits(const ContainerEdits& edits, const HostDeviceLookup& lookup,
                             oci::Spec& spec);

// `config_json` with the sections CDI edits (process.env, process.user.additionalGids, mounts,
// hooks, linux.devices, linux.resources.devices, linux.intelRdt, linux.netDevices) replaced by
// `edited`'s, everything else kept: the state's copy of the config must hold the edits (delete
// runs the poststop hooks from it).
// Only the sections `edits` touch are rewritten.
SpecResult<std::string> write_edited_sections(std::string_view config_json, const oci::Spec& edited,
                                              const ContainerEdits& edits);

}  // namespace mkrun::oci::cdi
