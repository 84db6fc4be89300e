// The launch: how a container's spec is rewritten so its init runs the application on McKernel
// through the host's mcexec, inside the container's namespaces, rootfs and cgroup. Pure.
//
//   process.args   [<init>] <mcexec> [options] <os> <args...>: mcexec takes the instance as an
//                  optional number before the program (getopt stops at the first non-option).
//                  With its own pid namespace the container's first process would be PID 1, and
//                  mcexec cannot be: when the application dies of a signal, mcexec re-raises it
//                  on itself with the default action and pause()s, which PID 1 never receives.
//                  mkrun's small static init (lwk/init) is PID 1 then: it runs mcexec as its
//                  child, forwards signals to it and exits with its status (128+signal).
//   mounts         mcexec, its library directory, the init and the configured extra paths,
//                  bound read-only at their host paths; proc and sysfs kept (mcexec rewrites
//                  /proc/... to /proc/mcos<N>/... and /sys/... to the instance's sysfs).
//   devices        /dev/mcos<N>, same name and numbers as on the host (mcexec opens
//                  /dev/mcos<its argument>), readable and writable by the process's user;
//                  /dev/mcd0 is never exposed.
//   cgroup         a device rule allowing c <major>:<minor> rwm.
//   personality    ADDR_NO_RANDOMIZE, set by mkrun's init before seccomp, so mcexec does not
//                  re-exec itself through /proc/self/exe with a personality call a default
//                  seccomp profile refuses.
//   cpuset         the container's Linux CPUs when McKernel took some of its cpuset.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mkrun/base/error.hpp"
#include "mkrun/ihk/lists.hpp"
#include "mkrun/oci/spec.hpp"

namespace mkrun::lwk {

struct Launch {
  int os = 0;                    // the instance: /dev/mcos<os>
  int64_t major = 0, minor = 0;  // of the host's /dev/mcos<os>
  std::string mcexec;            // host path, bound at the same path
  std::vector<std::string> mcexec_args;
  std::string init;                                // empty: mcexec is the container's first process
  std::vector<std::string> read_only_binds;        // host paths, bound at the same paths
  std::optional<ihk::CpuList> linux_cpus;          // the container's new cpuset
  std::map<std::string, std::string> annotations;  // added to the spec's
};

// <mcexec> [options] <os> <args...>
std::vector<std::string> mcexec_argv(const std::string& mcexec,
                                     const std::vector<std::string>& options, int os,
                                     const std::vector<std::string>& args);

// Whether the container's first process is PID 1 of a pid namespace of its own.
bool has_own_pid_namespace(const oci::Spec& spec);

// Rewrites `spec` for the launch; refuses a spec McKernel cannot run (a 32-bit personality).
Result<void> rewrite_spec(oci::Spec& spec, const Launch& launch);

}  // namespace mkrun::lwk
