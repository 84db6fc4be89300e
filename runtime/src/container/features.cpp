// `features`: assembled from the same tables the runtime uses, so it cannot claim more than
// mkrun does.
#include <linux/capability.h>

#include <algorithm>

#include "mkrun/base/files.hpp"
#include "mkrun/oci/cdi.hpp"
#include "mkrun/oci/vocabulary.hpp"
#include "mkrun/runtime/kernel_backend.hpp"
#include "mkrun/runtime/runtime.hpp"
#include "plan/builder.hpp"
#include "plan/seccomp.hpp"

namespace mkrun::runtime {
namespace {

namespace vocabulary = oci::vocabulary;

// The capabilities both this build and the running kernel know, as runc lists them.
std::vector<std::string> capability_names() {
  int last = CAP_LAST_CAP;
  if (auto text = files::read_file("/proc/sys/kernel/cap_last_cap"))
    last = std::atoi(text->c_str());
  const auto& known = vocabulary::kCapabilities;
  size_t count = last < 0 ? 0 : std::min(static_cast<size_t>(last) + 1, known.size());
  return {known.begin(), known.begin() + static_cast<std::ptrdiff_t>(count)};
}

// A vocabulary's names sorted, as runc 1.5 lists them.
template <class Table>
std::vector<std::string> sorted_names(const Table& table) {
  auto names = vocabulary::names(table);
  std::ranges::sort(names);
  return names;
}

// The kernel selector with the kernels this build can run, and each backend's own annotations:
// engines read them to learn what a bundle may ask of mkrun. All of them take host resources
// (CPUs, memory, a kernel instance), so they are also the potentially unsafe ones.
void add_kernel_annotations(oci::Features& f) {
  std::string kernels = "linux (default)";
  f.potentiallyUnsafeConfigAnnotations.emplace_back(kKernelAnnotation);
  for (const auto& backend : kernel_backends()) {
    kernels += " | " + std::string(backend->name());
    for (auto& [name, description] : backend->feature_annotations()) {
      f.potentiallyUnsafeConfigAnnotations.push_back(name);
      f.annotations[name] = std::move(description);
    }
  }
  f.annotations[std::string(kKernelAnnotation)] = kernels;
}

// CDI's annotations, a key prefix: engines that do not apply CDI themselves learn that mkrun
// does. Not among the potentially unsafe ones: they can only name devices the host's spec
// directories define, which are host configuration.
void add_cdi_annotations(oci::Features& f) {
  f.annotations[std::string(oci::cdi::kAnnotationPrefix)] =
      "prefix: CDI devices (vendor/class=name, comma-separated) from the host's CDI specs, "
      "versions " +
      std::string(oci::cdi::kOldestVersion) + " to " + std::string(oci::cdi::kNewestVersion);
}

}  // namespace

oci::Features features() {
  oci::Features f;
  f.ociVersionMin = "1.0.0";
  f.ociVersionMax = "1.3.0";
  f.hooks = {"prestart",       "createRuntime", "createContainer",
             "startContainer", "poststart",     "poststop"};
  f.mountOptions = plan::known_mount_options();
  f.namespaces = sorted_names(vocabulary::kNamespaces);
  f.capabilities = capability_names();
  f.idmapMounts = true;  // mount uidMappings/gidMappings, "idmap" and "ridmap" on binds
  f.netDevices = true;   // linux.netDevices: moved into the container's network namespace
  f.memoryPolicy.modes = sorted_names(vocabulary::kMemoryPolicyModes);
  f.memoryPolicy.flags = sorted_names(vocabulary::kMemoryPolicyFlags);
  // What mkrun implements, whether or not this host has RDT (linux/resctrl.hpp).
  f.intelRdt = {.enabled = true, .schemata = true, .monitoring = true};
  f.cgroup.v1 = true;
  f.cgroup.v2 = true;
  f.seccomp.enabled = true;
  f.seccomp.actions = plan::seccomp_actions();
  f.seccomp.operators = plan::seccomp_operators();
  f.seccomp.archs = plan::seccomp_architectures();
  f.seccomp.knownFlags = plan::seccomp_flags();
  f.seccomp.supportedFlags = plan::seccomp_supported_flags();
  add_kernel_annotations(f);
  add_cdi_annotations(f);
  return f;
}

}  // namespace mkrun::runtime
