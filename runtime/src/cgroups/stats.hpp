// `events`: a container's statistics from its cgroup files, as runc 1.1's fs (v1) and fs2 (v2)
// managers read them, converted to runc's types/events.go values (oci::Stats). The parsing of
// each file format is pure and unit-tested from sample contents; read_stats() picks the files
// by layout: v1 controllers from their hierarchies, v2 from the unified one, and on the hybrid
// layout a controller that only the unified hierarchy has (hugetlb) in its v2 form.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cgroups/manager.hpp"
#include "mkrun/base/error.hpp"
#include "mkrun/oci/stats.hpp"

namespace mkrun::cgroups {

// ---- file formats (pure) ---------------------------------------------------------------------

// runc's GetCgroupParamUint on a file's text: trimmed, "max" is UINT64_MAX, and a negative
// number (v1's "-1" in a few files) is 0. `what` names the file in errors.
Result<uint64_t> parse_cgroup_uint(std::string_view text, std::string_view what);
// The same for a signed file (cpuset.sched_relax_domain_level).
Result<int64_t> parse_cgroup_int(std::string_view text, std::string_view what);

// "key value" per line (memory.stat, cpu.stat, cpuacct.stat, memory.events, memory.oom_control,
// hugetlb.*.events). An empty line is skipped; anything else malformed is an error naming the
// line.
Result<std::map<std::string, uint64_t>> parse_flat_keyed(std::string_view text,
                                                         std::string_view what);

// Whitespace-separated numbers (cpuacct.usage_percpu).
Result<std::vector<uint64_t>> parse_uint_list(std::string_view text, std::string_view what);

// A cpuset list, "0-3,5" -> {0, 1, 2, 3, 5}; empty text is an empty list.
Result<std::vector<uint16_t>> parse_cpu_list(std::string_view text, std::string_view what);

// cpuacct.usage_all ("cpu user system" header, then one line per cpu) -> nanoseconds per cpu.
struct PercpuModes {
  std::vector<uint64_t> user;
  std::vector<uint64_t> kernel;
};
Result<PercpuModes> parse_cpuacct_usage_all(std::string_view text, std::string_view what);

// A v1 blkio statistics file: "8:0 Read 4096" lines (or "8:0 4096" without an op), and the
// "Total N" line, which runc skips.
Result<std::vector<oci::BlkioEntry>> parse_blkio_file(std::string_view text, std::string_view what);

// v2 io.stat ("8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0"): bytes and operations as
// runc's statIo reports them, Read and Write only.
Result<oci::BlkioStats> parse_io_stat(std::string_view text, std::string_view what);

// The names of /sys/kernel/mm/hugepages ("hugepages-2048kB") as the page sizes cgroup files
// use ("2MB", "1GB"), in the given order; names of another form are skipped (runc's
// getHugePageSizeFromFilenames).
std::vector<std::string> hugepage_sizes_from_names(const std::vector<std::string>& names);

// ---- reading a container's cgroup -----------------------------------------------------------

// The page sizes of this host, from /sys/kernel/mm/hugepages; none when it cannot be read.
std::vector<std::string> host_hugepage_sizes();

// Every statistic runc reports. Files a kernel or a layout does not have (swap accounting,
// cpuacct.usage_all, a controller that is not enabled) leave their values at zero, as in runc;
// a file that exists but cannot be read or parsed is an error naming it.
Result<oci::Stats> read_stats(const Manager& manager,
                              const std::vector<std::string>& hugepage_sizes);

// Where the container's OOM kills are counted: v1 memory.oom_control or v2 memory.events, both
// with an "oom_kill" line. nullopt when the container has no memory controller.
struct OomCounter {
  std::string directory;  // the memory cgroup
  std::string file;       // "memory.oom_control" or "memory.events"
  bool unified = false;
};
std::optional<OomCounter> oom_counter(const Manager& manager);
// The "oom_kill" count; a kernel before 4.13 has none in v1 and reads as 0.
Result<uint64_t> read_oom_kills(const OomCounter& counter);

}  // namespace mkrun::cgroups
