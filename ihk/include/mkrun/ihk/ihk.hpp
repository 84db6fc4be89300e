// IHK's user-space interface (ihklib.h, libihk.so), one method per library call, errors as
// values. The production implementation loads libihk.so at run time with dlopen, so mkrun
// builds and runs on hosts without IHK; tests substitute their own implementation.
//
// Only the explicit, per-resource calls are used. The *_str variants (ihk_create_os_str...) are
// deliberately absent: they release every CPU and all memory reserved on the node, and destroy
// every OS instance on failure, which would take other containers' partitions with them.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mkrun/base/error.hpp"
#include "mkrun/ihk/lists.hpp"

namespace mkrun::ihk {

// enum ihklib_os_status, in the library's order.
enum class OsStatus {
  kInactive,
  kBooting,
  kRunning,
  kShutdown,
  kPanic,
  kHungup,
  kFreezing,
  kFrozen
};

std::string_view to_string(OsStatus status);

class Ihk {
 public:
  virtual ~Ihk() = default;

  // The device's pool (/dev/mcd<dev>): CPUs and memory taken from Linux.
  virtual Result<void> reserve_cpu(int dev, const CpuList& cpus) = 0;
  virtual Result<void> release_cpu(int dev, const CpuList& cpus) = 0;
  virtual Result<CpuList> reserved_cpus(int dev) = 0;
  virtual Result<void> reserve_mem(int dev, const MemList& mem) = 0;
  virtual Result<void> release_mem(int dev, const MemList& mem) = 0;
  // The pool's free memory as IHK holds it: one entry per chunk, never merged. A chunk is
  // released only whole, by its exact size (ihk_release_mem answers EINVAL otherwise).
  virtual Result<MemList> reserved_mem(int dev) = 0;

  // OS instances (/dev/mcos<os>).
  virtual Result<int> create_os(int dev) = 0;
  virtual Result<std::vector<int>> os_instances(int dev) = 0;
  virtual Result<void> destroy_os(int dev, int os) = 0;

  virtual Result<void> os_assign_cpu(int os, const CpuList& cpus) = 0;
  virtual Result<void> os_release_cpu(int os, const CpuList& cpus) = 0;
  virtual Result<void> os_assign_mem(int os, const MemList& mem) = 0;
  virtual Result<void> os_release_mem(int os, const MemList& mem) = 0;
  // What the instance holds now (ihk_os_query_cpu, in LWK order; ihk_os_query_mem, one entry per
  // chunk as IHK split it). A shutdown has already given both back to the device's pool.
  virtual Result<CpuList> os_cpus(int os) = 0;
  virtual Result<MemList> os_mem(int os) = 0;
  virtual Result<void> os_set_ikc_map(int os, const IkcMap& map) = 0;
  virtual Result<void> os_load(int os, const std::string& image) = 0;
  virtual Result<void> os_kargs(int os, const std::string& kargs) = 0;
  virtual Result<void> os_boot(int os) = 0;
  virtual Result<void> os_shutdown(int os) = 0;
  virtual Result<OsStatus> os_status(int os) = 0;
  // The instance's kernel message buffer (McKernel's own log), as text.
  virtual Result<std::string> os_kmsg(int os) = 0;
};

// Loads libihk.so from `path` (RTLD_NOW | RTLD_LOCAL) and resolves every call above; fails with
// the loader's message when the file is missing or a symbol is absent.
Result<std::unique_ptr<Ihk>> load_libihk(const std::string& path);

// The last `max_lines` lines of a kernel message buffer, for error messages.
std::string kmsg_tail(std::string_view kmsg, size_t max_lines);

}  // namespace mkrun::ihk
