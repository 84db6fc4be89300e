// runtime-spec features.md: what this runtime implements, printed by `mkrun features` for
// engines (Docker, CRI-O, containerd) to read. Only what mkrun really does is listed.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace mkrun::oci {

struct SeccompFeatures {
  bool enabled = false;
  std::vector<std::string> actions;
  std::vector<std::string> operators;
  std::vector<std::string> archs;
  std::vector<std::string> knownFlags;
  std::vector<std::string> supportedFlags;
};

struct CgroupFeatures {
  bool v1 = false;
  bool v2 = false;
  bool systemd = false;
  bool systemdUser = false;
  bool rdma = false;
};

struct MemoryPolicyFeatures {
  std::vector<std::string> modes;
  std::vector<std::string> flags;
};

// Whether mkrun applies linux.intelRdt, its `schemata` and its `enableMonitoring`: runtime-spec
// features-linux.md has them "irrelevant to the availability of Intel RDT on the host".
struct IntelRdtFeatures {
  bool enabled = false;
  bool schemata = false;
  bool monitoring = false;
};

struct Features {
  std::string ociVersionMin;
  std::string ociVersionMax;
  std::vector<std::string> hooks;
  std::vector<std::string> mountOptions;
  std::vector<std::string> namespaces;
  std::vector<std::string> capabilities;
  CgroupFeatures cgroup;
  SeccompFeatures seccomp;
  bool apparmor = false;
  bool selinux = false;
  IntelRdtFeatures intelRdt;
  MemoryPolicyFeatures memoryPolicy;
  bool idmapMounts = false;
  bool netDevices = false;
  std::map<std::string, std::string> annotations;
  // Annotations that change what the runtime does with the host (a value ending in '.' is a
  // prefix); left out of the JSON when empty, as runc 1.1 has none.
  std::vector<std::string> potentiallyUnsafeConfigAnnotations;
};

// Pretty JSON with 4-space indent and a trailing newline, as runc prints it.
std::string render_features(const Features& features);

}  // namespace mkrun::oci
