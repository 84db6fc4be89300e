#include "mkrun/oci/features.hpp"

#include "mkrun/oci/json/write.hpp"

namespace mkrun::oci {

std::string render_features(const Features& f) {
  json::Writer w("    ");
  w.begin_object();
  w.member("ociVersionMin", f.ociVersionMin);
  w.member("ociVersionMax", f.ociVersionMax);
  w.member("hooks", f.hooks);
  w.member("mountOptions", f.mountOptions);
  w.key("linux");
  w.begin_object();
  w.member("namespaces", f.namespaces);
  w.member("capabilities", f.capabilities);
  w.key("cgroup");
  w.begin_object();
  w.member("v1", f.cgroup.v1);
  w.member("v2", f.cgroup.v2);
  w.member("systemd", f.cgroup.systemd);
  w.member("systemdUser", f.cgroup.systemdUser);
  w.member("rdma", f.cgroup.rdma);
  w.end_object();
  w.key("seccomp");
  w.begin_object();
  w.member("enabled", f.seccomp.enabled);
  w.member("actions", f.seccomp.actions);
  w.member("operators", f.seccomp.operators);
  w.member("archs", f.seccomp.archs);
  w.member("knownFlags", f.seccomp.knownFlags);
  w.member("supportedFlags", f.seccomp.supportedFlags);
  w.end_object();
  w.key("apparmor");
  w.begin_object();
  w.member("enabled", f.apparmor);
  w.end_object();
  w.key("selinux");
  w.begin_object();
  w.member("enabled", f.selinux);
  w.end_object();
  w.key("intelRdt");
  w.begin_object();
  w.member("enabled", f.intelRdt.enabled);
  w.member("schemata", f.intelRdt.schemata);
  w.member("monitoring", f.intelRdt.monitoring);
  w.end_object();
  w.key("memoryPolicy");
  w.begin_object();
  w.member("modes", f.memoryPolicy.modes);
  w.member("flags", f.memoryPolicy.flags);
  w.end_object();
  w.key("mountExtensions");
  w.begin_object();
  w.key("idmap");
  w.begin_object();
  w.member("enabled", f.idmapMounts);
  w.end_object();
  w.end_object();
  w.key("netDevices");
  w.begin_object();
  w.member("enabled", f.netDevices);
  w.end_object();
  w.end_object();
  w.member("annotations", f.annotations);
  if (!f.potentiallyUnsafeConfigAnnotations.empty()) {
    w.member("potentiallyUnsafeConfigAnnotations", f.potentiallyUnsafeConfigAnnotations);
  }
  w.end_object();
  return w.str() + "\n";
}

}  // namespace mkrun::oci
