// runc's types/events.go through Go's encoding/json: fields in declaration order, `omitempty` on
// numbers, strings, slices and maps only (Go never omits a struct value, so `usage` and
// `throttling` are always there), and maps with sorted keys.
#include "mkrun/oci/stats.hpp"

#include "mkrun/oci/json/write.hpp"

namespace mkrun::oci {
namespace {

void member_if_set(json::Writer& out, std::string_view name, uint64_t value) {
  if (value != 0) out.member(name, value);
}

template <class T>
void member_if_any(json::Writer& out, std::string_view name, const std::vector<T>& list) {
  if (list.empty()) return;
  out.key(name);
  out.begin_array();
  for (T item : list) out.value(static_cast<uint64_t>(item));
  out.end_array();
}

void write_cpu(json::Writer& out, const CpuStats& cpu) {
  out.key("cpu");
  out.begin_object();
  out.key("usage");
  out.begin_object();
  member_if_set(out, "total", cpu.usage.total);
  member_if_any(out, "percpu", cpu.usage.percpu);
  member_if_any(out, "percpu_kernel", cpu.usage.percpu_kernel);
  member_if_any(out, "percpu_user", cpu.usage.percpu_user);
  out.member("kernel", cpu.usage.kernel);
  out.member("user", cpu.usage.user);
  out.end_object();
  out.key("throttling");
  out.begin_object();
  member_if_set(out, "periods", cpu.throttling.periods);
  member_if_set(out, "throttledPeriods", cpu.throttling.throttled_periods);
  member_if_set(out, "throttledTime", cpu.throttling.throttled_time);
  out.end_object();
  out.end_object();
}

void write_cpuset(json::Writer& out, const CpusetStats& cpuset) {
  out.key("cpuset");
  out.begin_object();
  member_if_any(out, "cpus", cpuset.cpus);
  out.member("cpu_exclusive", cpuset.cpu_exclusive);
  member_if_any(out, "mems", cpuset.mems);
  out.member("mem_hardwall", cpuset.mem_hardwall);
  out.member("mem_exclusive", cpuset.mem_exclusive);
  out.member("memory_migrate", cpuset.memory_migrate);
  out.member("memory_spread_page", cpuset.memory_spread_page);
  out.member("memory_spread_slab", cpuset.memory_spread_slab);
  out.member("memory_pressure", cpuset.memory_pressure);
  out.member("sched_load_balance", cpuset.sched_load_balance);
  out.member("sched_relax_domain_level", cpuset.sched_relax_domain_level);
  out.end_object();
}

void write_memory_entry(json::Writer& out, std::string_view name, const MemoryEntry& entry) {
  out.key(name);
  out.begin_object();
  out.member("limit", entry.limit);
  member_if_set(out, "usage", entry.usage);
  member_if_set(out, "max", entry.max);
  out.member("failcnt", entry.failcnt);
  out.end_object();
}

void write_memory(json::Writer& out, const MemoryStats& memory) {
  out.key("memory");
  out.begin_object();
  member_if_set(out, "cache", memory.cache);
  write_memory_entry(out, "usage", memory.usage);
  write_memory_entry(out, "swap", memory.swap);
  write_memory_entry(out, "kernel", memory.kernel);
  write_memory_entry(out, "kernelTCP", memory.kernel_tcp);
  if (!memory.raw.empty()) {
    out.key("raw");
    out.begin_object();
    for (const auto& [name, value] : memory.raw) out.member(name, value);
    out.end_object();
  }
  out.end_object();
}

void write_pids(json::Writer& out, const PidsStats& pids) {
  out.key("pids");
  out.begin_object();
  member_if_set(out, "current", pids.current);
  member_if_set(out, "limit", pids.limit);
  out.end_object();
}

void write_blkio_entries(json::Writer& out, std::string_view name,
                         const std::vector<BlkioEntry>& entries) {
  if (entries.empty()) return;
  out.key(name);
  out.begin_array();
  for (const BlkioEntry& entry : entries) {
    out.begin_object();
    member_if_set(out, "major", entry.major);
    member_if_set(out, "minor", entry.minor);
    if (!entry.op.empty()) out.member("op", entry.op);
    member_if_set(out, "value", entry.value);
    out.end_object();
  }
  out.end_array();
}

void write_blkio(json::Writer& out, const BlkioStats& blkio) {
  out.key("blkio");
  out.begin_object();
  write_blkio_entries(out, "ioServiceBytesRecursive", blkio.io_service_bytes_recursive);
  write_blkio_entries(out, "ioServicedRecursive", blkio.io_serviced_recursive);
  write_blkio_entries(out, "ioQueueRecursive", blkio.io_queued_recursive);  // runc's spelling
  write_blkio_entries(out, "ioServiceTimeRecursive", blkio.io_service_time_recursive);
  write_blkio_entries(out, "ioWaitTimeRecursive", blkio.io_wait_time_recursive);
  write_blkio_entries(out, "ioMergedRecursive", blkio.io_merged_recursive);
  write_blkio_entries(out, "ioTimeRecursive", blkio.io_time_recursive);
  write_blkio_entries(out, "sectorsRecursive", blkio.sectors_recursive);
  out.end_object();
}

// runc makes the map even when there is no hugetlb controller, so it is {} and never null.
void write_hugetlb(json::Writer& out, const std::map<std::string, HugetlbStats>& hugetlb) {
  out.key("hugetlb");
  out.begin_object();
  for (const auto& [size, stats] : hugetlb) {
    out.key(size);
    out.begin_object();
    member_if_set(out, "usage", stats.usage);
    member_if_set(out, "max", stats.max);
    out.member("failcnt", stats.failcnt);
    out.end_object();
  }
  out.end_object();
}

void write_stats(json::Writer& out, const Stats& stats) {
  out.begin_object();
  write_cpu(out, stats.cpu);
  write_cpuset(out, stats.cpuset);
  write_memory(out, stats.memory);
  write_pids(out, stats.pids);
  write_blkio(out, stats.blkio);
  write_hugetlb(out, stats.hugetlb);
  out.key("intel_rdt");  // every IntelRdt field is omitempty
  out.begin_object();
  out.end_object();
  out.key("network_interfaces");  // runc 1.1 leaves the slice nil for containers
  out.null_value();
  if (!stats.annotations.empty()) {
    out.key("annotations");
    out.begin_object();
    for (const auto& [key, value] : stats.annotations) out.member(key, value);
    out.end_object();
  }
  out.end_object();
}

}  // namespace

std::string render_event(const Event& event) {
  json::Writer out;
  out.begin_object();
  out.member("type", event.type);
  out.member("id", event.id);
  if (event.data) {
    out.key("data");
    write_stats(out, *event.data);
  }
  out.end_object();
  return out.str() + "\n";
}

}  // namespace mkrun::oci
