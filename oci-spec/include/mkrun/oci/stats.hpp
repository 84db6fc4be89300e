// `events`: the container statistics and events as runc 1.1 prints them (runc's types/events.go,
// which go-runc decodes). Pure data and JSON, no file or kernel access: the cgroup readers fill
// these structs, render_event() writes the line.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mkrun::oci {

struct CpuUsage {
  uint64_t total = 0;  // nanoseconds
  std::vector<uint64_t> percpu;
  std::vector<uint64_t> percpu_kernel;
  std::vector<uint64_t> percpu_user;
  uint64_t kernel = 0;
  uint64_t user = 0;
};

struct Throttling {
  uint64_t periods = 0;
  uint64_t throttled_periods = 0;
  uint64_t throttled_time = 0;  // nanoseconds
};

struct CpuStats {
  CpuUsage usage;
  Throttling throttling;
};

struct CpusetStats {
  std::vector<uint16_t> cpus;
  uint64_t cpu_exclusive = 0;
  std::vector<uint16_t> mems;
  uint64_t mem_hardwall = 0;
  uint64_t mem_exclusive = 0;
  uint64_t memory_migrate = 0;
  uint64_t memory_spread_page = 0;
  uint64_t memory_spread_slab = 0;
  uint64_t memory_pressure = 0;
  uint64_t sched_load_balance = 0;
  int64_t sched_relax_domain_level = 0;
};

struct MemoryEntry {
  uint64_t limit = 0;
  uint64_t usage = 0;
  uint64_t max = 0;
  uint64_t failcnt = 0;
};

struct MemoryStats {
  uint64_t cache = 0;
  MemoryEntry usage;
  MemoryEntry swap;  // memory + swap, as v1 reports it (v2 values are converted)
  MemoryEntry kernel;
  MemoryEntry kernel_tcp;
  std::map<std::string, uint64_t> raw;  // memory.stat as it is
};

struct PidsStats {
  uint64_t current = 0;
  uint64_t limit = 0;  // 0: no limit
};

struct BlkioEntry {
  uint64_t major = 0;
  uint64_t minor = 0;
  std::string op;  // "Read", "Write", "Sync", "Async", "Discard", "Total"; may be empty
  uint64_t value = 0;
  friend bool operator==(const BlkioEntry&, const BlkioEntry&) = default;
};

struct BlkioStats {
  std::vector<BlkioEntry> io_service_bytes_recursive;
  std::vector<BlkioEntry> io_serviced_recursive;
  std::vector<BlkioEntry> io_queued_recursive;
  std::vector<BlkioEntry> io_service_time_recursive;
  std::vector<BlkioEntry> io_wait_time_recursive;
  std::vector<BlkioEntry> io_merged_recursive;
  std::vector<BlkioEntry> io_time_recursive;
  std::vector<BlkioEntry> sectors_recursive;
};

struct HugetlbStats {
  uint64_t usage = 0;
  uint64_t max = 0;
  uint64_t failcnt = 0;
};

struct Stats {
  CpuStats cpu;
  CpusetStats cpuset;
  MemoryStats memory;
  PidsStats pids;
  BlkioStats blkio;
  std::map<std::string, HugetlbStats> hugetlb;  // by page size: "2MB", "1GB"
  // intel_rdt is always {} and network_interfaces always null: mkrun reads neither, as runc
  // without Intel RDT and without network statistics (runc 1.1 has none for containers).
  // mkrun's own: what a kernel backend reports of the container's kernel instance, the same
  // io.mkrun.lwk.* entries as `state`'s annotations; omitted when empty (Linux), so a Linux
  // container's line stays runc's byte for byte.
  std::map<std::string, std::string> annotations;
};

// One line of `events`: {"type":"stats","id":...,"data":{...}} or {"type":"oom","id":...}.
struct Event {
  std::string type;  // "stats" or "oom"
  std::string id;
  std::optional<Stats> data;  // omitted when empty, as Go's `omitempty` on the interface
};

// Go's json.Encoder output of runc's types.Event: compact, field names and `omitempty` as in
// types/events.go, with the newline the encoder adds.
std::string render_event(const Event& event);

}  // namespace mkrun::oci
