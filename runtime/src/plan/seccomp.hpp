// linux.seccomp to a BPF program, compiled with libseccomp in mkrun before the clone; the init
// loads it with a raw seccomp() call, last before execve. With SCMP_ACT_NOTIFY the filter comes
// with a listener fd, which the init hands to mkrun and mkrun to the agent at listenerPath.
#pragma once

#include <linux/filter.h>

#include <string>
#include <vector>

#include "mkrun/base/error.hpp"
#include "mkrun/oci/spec.hpp"

namespace mkrun::plan {

struct SeccompProgram {
  std::vector<sock_filter> filter;
  unsigned flags = 0;         // SECCOMP_FILTER_FLAG_*
  bool new_listener = false;  // SCMP_ACT_NOTIFY: SECCOMP_FILTER_FLAG_NEW_LISTENER is set
};

Result<SeccompProgram> compile_seccomp(const oci::Seccomp& seccomp);

// What compile_seccomp() understands, for `mkrun features`.
std::vector<std::string> seccomp_actions();
std::vector<std::string> seccomp_operators();
std::vector<std::string> seccomp_flags();
// Those of seccomp_flags() the running kernel accepts (features' supportedFlags).
std::vector<std::string> seccomp_supported_flags();
std::vector<std::string> seccomp_architectures();

}  // namespace mkrun::plan
