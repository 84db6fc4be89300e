// linux.resources -> the cgroup file writes that enforce it, for v1 and for v2. Pure: no file
// is touched here, so every rule is unit-tested without root. The Manager picks each write's
// directory by its controller and performs the writes in order.
//
// Values follow runc 1.1 (libcontainer/cgroups/fs and fs2, specconv): a 0 means "not set" as in
// runc's configs.Resources, -1 means unlimited, and the v2 conversions are runc's. The
// exception is pids.limit, which runtime-spec 1.3 made optional: there 0 is a limit.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mkrun/base/error.hpp"
#include "mkrun/oci/spec.hpp"

namespace mkrun::cgroups {

enum class Version { kV1, kV2 };

struct FileValue {
  std::string file;
  std::string value;
  friend bool operator==(const FileValue&, const FileValue&) = default;
};

struct Write {
  std::string setting;     // what the user asked for: "linux.resources.memory.limit"
  std::string controller;  // who owns `file`: "memory", "blkio"; v2 "io"; "cgroup" for core files
  std::string file;        // "memory.limit_in_bytes"
  std::string value;
  // runc probes for some files. When `file` does not exist: write `if_missing` instead if set,
  // else skip the write if `skip_if_missing`, else fail as usual.
  bool skip_if_missing = false;
  std::optional<FileValue> if_missing;
  // The kernel may refuse this write until a later one is done (cpu period before quota); a
  // later write repeats it, so EINVAL here is not an error (runc's cpu.go retry).
  bool tolerate_einval = false;
  // The kernel clamps instead of failing (cpu.shares): read back and report the clamp.
  bool verify = false;

  friend bool operator==(const Write&, const Write&) = default;
};

struct TranslateOptions {
  // v1 memory.limit_in_bytes right now. The kernel wants limit <= memsw limit after every write,
  // so runc orders the two writes by it. nullopt: a new cgroup, which is unlimited.
  std::optional<uint64_t> current_memory_limit;
  // false leaves the v1 device rules alone (update of a running container).
  bool devices = true;
};

// The writes for `resources` in the order to perform them. v2 includes linux.resources.unified
// last, so it overrides; v1 leaves it out (on hybrid it goes to the unified hierarchy, see
// translate_unified; on pure v1 it is an error the Manager reports). Errors are invalid values
// (swappiness > 100, swap without memory on v2, a bad device rule...) and settings the version
// cannot express (realtime on v2).
Result<std::vector<Write>> translate(const oci::Resources& resources, Version version,
                                     const TranslateOptions& options = {});

// linux.resources.unified as v2 writes: each key is a file name "<controller>.<parameter>".
Result<std::vector<Write>> translate_unified(const std::map<std::string, std::string>& unified);

// The rules runc appends after the spec's (specconv AllowedDevices): mknod of anything, and rwm
// on /dev/null, random, full, tty, zero, urandom, pts, ptmx and tun. Also the base of v2's eBPF
// device filter.
std::vector<oci::DeviceCgroupRule> default_device_rules();

// linux.resources.pids.limit as both drivers apply it (runc 1.5): -1 for any negative limit
// (unlimited), 1 for 0 (systemd refuses TasksMax=0), else the limit.
int64_t applied_pids_limit(int64_t limit);

// runc's ConvertCPUSharesToCgroupV2Value: [2, 262144] -> [1, 10000]; 0 stays 0 (unset).
uint64_t cpu_shares_to_weight(uint64_t shares);
// runc's ConvertBlkIOToIOWeightValue: [10, 1000] -> [1, 10000]; 0 stays 0 (unset).
uint64_t blkio_weight_to_io_weight(uint64_t weight);
// runc's ConvertMemorySwapToCgroupV2Value: v1's memory+swap -> v2's swap alone. 0 is unset and
// -1 is unlimited.
Result<int64_t> memory_swap_to_v2(int64_t memory_swap, int64_t memory);

// The v2 controller doing the job of a v1 one ("blkio" -> "io"); empty when v2 has none
// (net_cls, net_prio, devices).
std::string_view v2_controller_of(std::string_view v1_controller);
// Only the part of `resources` that the v2 `controller` enforces, so that a hybrid host can
// translate one controller for the unified hierarchy without the others' v2 rules.
oci::Resources only_controller(const oci::Resources& resources, std::string_view v2_controller);

}  // namespace mkrun::cgroups
