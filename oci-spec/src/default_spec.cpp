// runc 1.1's `spec` template (libcontainer/specconv.Example) and its ToRootless, written the way
// runc writes config.json: json.MarshalIndent(spec, "", "\t"), no trailing newline. Fields follow
// runtime-spec's Go declaration order and are left out where its `omitempty` leaves them out.
#include "mkrun/oci/default_spec.hpp"

#include <algorithm>
#include <string_view>
#include <vector>

#include "mkrun/oci/json/write.hpp"

namespace mkrun::oci {
namespace {

using json::Writer;

struct TemplateMount {
  std::string_view destination;
  std::string_view type;
  std::string_view source;
  std::vector<std::string> options;
};

std::vector<TemplateMount> template_mounts() {
  return {
      {"/proc", "proc", "proc", {}},
      {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}},
      {"/dev/pts",
       "devpts",
       "devpts",
       {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
      {"/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
      {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}},
      {"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}},
      {"/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}},
  };
}

// As runc's ToRootless: an unprivileged user cannot mount sysfs in a user namespace that does
// not own the network namespace, so /sys becomes a read-only rbind of the host's; uid=/gid=
// options name ids that may not be mapped, so they go.
std::vector<TemplateMount> rootless_mounts() {
  std::vector<TemplateMount> mounts = template_mounts();
  for (auto& mount : mounts) {
    if (mount.destination == "/sys") {
      mount = {"/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"}};
      continue;
    }
    std::erase_if(mount.options, [](const std::string& option) {
      return option.starts_with("uid=") || option.starts_with("gid=");
    });
  }
  return mounts;
}

void write_capabilities(Writer& out) {
  const std::vector<std::string> caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  out.key("capabilities");
  out.begin_object();
  for (auto set : {"bounding", "effective", "permitted", "ambient"}) out.member(set, caps);
  out.end_object();
}

void write_process(Writer& out) {
  out.key("process");
  out.begin_object();
  out.member("terminal", true);
  out.key("user");
  out.begin_object();
  out.member("uid", 0);
  out.member("gid", 0);
  out.end_object();
  out.member("args", std::vector<std::string>{"sh"});
  out.member("env", std::vector<std::string>{
                        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                        "TERM=xterm"});
  out.member("cwd", "/");
  write_capabilities(out);
  out.key("rlimits");
  out.begin_array();
  out.begin_object();
  out.member("type", "RLIMIT_NOFILE");
  out.member("hard", 1024);
  out.member("soft", 1024);
  out.end_object();
  out.end_array();
  out.member("noNewPrivileges", true);
  out.end_object();
}

void write_mounts(Writer& out, const std::vector<TemplateMount>& mounts) {
  out.key("mounts");
  out.begin_array();
  for (const auto& mount : mounts) {
    out.begin_object();
    out.member("destination", mount.destination);
    out.member("type", mount.type);
    out.member("source", mount.source);
    if (!mount.options.empty()) out.member("options", mount.options);
    out.end_object();
  }
  out.end_array();
}

void write_id_mapping(Writer& out, std::string_view key, uint32_t host_id) {
  out.key(key);
  out.begin_array();
  out.begin_object();
  out.member("containerID", 0);
  out.member("hostID", host_id);
  out.member("size", 1);
  out.end_object();
  out.end_array();
}

// Deny every device; runc allows the default ones on top of this.
void write_device_rules(Writer& out) {
  out.key("resources");
  out.begin_object();
  out.key("devices");
  out.begin_array();
  out.begin_object();
  out.member("allow", false);
  out.member("access", "rwm");
  out.end_object();
  out.end_array();
  out.end_object();
}

void write_namespaces(Writer& out, const std::vector<std::string_view>& types) {
  out.key("namespaces");
  out.begin_array();
  for (auto type : types) {
    out.begin_object();
    out.member("type", type);
    out.end_object();
  }
  out.end_array();
}

void write_linux(Writer& out, bool rootless, uint32_t host_uid, uint32_t host_gid,
                 bool pure_cgroup_v2) {
  out.key("linux");
  out.begin_object();
  if (rootless) {
    write_id_mapping(out, "uidMappings", host_uid);
    write_id_mapping(out, "gidMappings", host_gid);
  } else {
    write_device_rules(out);  // ToRootless removes resources: cgroups may not be delegated
  }
  write_namespaces(out, default_namespaces(rootless, pure_cgroup_v2));
  out.member("maskedPaths", std::vector<std::string>{
                                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                                "/proc/sched_debug", "/sys/firmware", "/proc/scsi"});
  out.member("readonlyPaths", std::vector<std::string>{"/proc/bus", "/proc/fs", "/proc/irq",
                                                       "/proc/sys", "/proc/sysrq-trigger"});
  out.end_object();
}

}  // namespace

std::vector<std::string_view> default_namespaces(bool rootless, bool pure_cgroup_v2) {
  std::vector<std::string_view> types = {"pid", "network", "ipc", "uts", "mount"};
  if (pure_cgroup_v2) types.push_back("cgroup");
  if (rootless) {
    // No way to connect a network namespace unprivileged.
    std::erase(types, "network");
    types.push_back("user");
  }
  return types;
}

std::string default_spec_json(bool rootless, uint32_t host_uid, uint32_t host_gid,
                              bool pure_cgroup_v2) {
  Writer out("\t");
  out.begin_object();
  out.member("ociVersion", "1.0.2-dev");  // the runtime-spec version runc 1.1 vendors
  write_process(out);
  out.key("root");
  out.begin_object();
  out.member("path", "rootfs");
  out.member("readonly", true);
  out.end_object();
  out.member("hostname", "runc");
  write_mounts(out, rootless ? rootless_mounts() : template_mounts());
  write_linux(out, rootless, host_uid, host_gid, pure_cgroup_v2);
  out.end_object();
  return out.str();
}

}  // namespace mkrun::oci
