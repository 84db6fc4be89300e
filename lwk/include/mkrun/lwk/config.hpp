// The host's McKernel configuration, /etc/mkrun/mckernel.conf (or $MKRUN_MCKERNEL_CONF): where
// McKernel is installed and what of the node mkrun may take. The administrator's word: a
// container's annotations may ask for less, never for more.
//
// Format: one `key = value` per line, `#` starts a comment; an unknown key is an error (a typo
// in a file that hands out CPUs should not be silently ignored). lwk/mckernel.conf documents
// every key.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mkrun/base/error.hpp"
#include "mkrun/ihk/lists.hpp"

namespace mkrun::lwk {

struct HostConfig {
  std::string path;  // where it was read from, for messages

  // McKernel's installation. The others default to the usual places under the prefix.
  std::string prefix = "/opt/mckernel";
  std::string libihk;               // <prefix>/lib64/libihk.so
  std::string mcexec;               // <prefix>/bin/mcexec
  std::string ihkconfig;            // <prefix>/sbin/ihkconfig (read for the build-id only)
  std::string libdir;               // <prefix>/lib64: bound into containers with mcexec
  std::string image;                // <prefix>/smp-x86/kernel/mckernel.img (smp-arm64 on arm64)
  std::vector<std::string> images;  // other images an annotation may choose
  std::string init;                 // mkrun's PID-1 helper for containers with their own pid ns
  std::vector<std::string> binds;   // more host paths containers get read-only (mcexec's libs)

  int device = 0;           // /dev/mcd<device>
  ihk::CpuList cpus;        // the CPUs mkrun may take; never CPU 0
  ihk::MemList memory;      // per NUMA node, the most mkrun may hold at once
  bool boot = true;         // whether mkrun may boot instances of its own
  std::vector<int> attach;  // administrator-booted instances containers may attach to
  // Users ("alice", "1000") and groups ("@hpc", "@1000") whose unprivileged mkrun may attach to
  // the instances of `attach`; empty: only root's.
  std::vector<std::string> attach_users;
  std::string build_id;  // IHK's expected build-id; empty: not checked
  std::string kargs;     // appended to "hidos dump_level=24" for every instance
  std::chrono::milliseconds boot_timeout{30000};
  int default_ncpus = 1;  // when neither spec nor annotations say
  uint64_t default_memory = 512ull << 20;
  // The warm pool (`mkrun-lwk pool fill`): this many instances booted ahead, each with
  // pool_ncpus CPUs and pool_memory, lent to dedicated containers whose request fits.
  int pool = 0;
  int pool_ncpus = 1;
  uint64_t pool_memory = 512ull << 20;
  // How a pool instance is reset after its container (McKernel has no reset: it is shut down,
  // released and booted again). false (`pool_reset = delete`): inside the container's delete,
  // which then takes a boot's time. true (`background`): the delete shuts the instance down and
  // releases it, and a detached `mkrun-lwk pool reset` boots it again, so the delete is fast
  // and the pool is one instance short until that boot ends.
  bool pool_reset_in_background = false;
  std::string mkrun_lwk;  // the tool a background reset runs; default: mkrun's installed one

  std::string lock = "/run/mkrun-ihk.lock";  // host-wide: one partitioning at a time
  std::string claims = "/run/mkrun-ihk";     // which container holds which CPUs and instances
  std::string sysfs = "/sys";                // where the CPU and NUMA topology is read
};

Result<HostConfig> parse_host_config(std::string_view text, const std::string& path);

// $MKRUN_MCKERNEL_CONF, else /etc/mkrun/mckernel.conf.
std::string host_config_path();
Result<HostConfig> load_host_config(const std::string& path = host_config_path());

// A configuration that lets mkrun neither boot nor attach (as the package ships it) turns
// McKernel off: containers asking for it are refused before IHK is looked for.
Result<void> check_enabled(const HostConfig& config);

// "30", "30s", "500ms", "2m".
Result<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace mkrun::lwk
