// The three resource lists IHK speaks, as values: CPU lists ("4-7,12"), memory lists
// ("2G@0,512M@1") and IKC maps ("4-5:1+6-7:2"), with the grammar of IHK's own tools
// (ihkconfig/ihkosctl, cpu_str2array, mem_str2array and ikc_str2array in ihklib.c).
// Pure: no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mkrun/base/error.hpp"

namespace mkrun::ihk {

// Linux logical CPU ids. IHK numbers McKernel's CPUs 0..n-1 in the order they are assigned, so
// a list keeps the order it was written in; it never holds an id twice.
class CpuList {
 public:
  CpuList() = default;
  // Keeps the first occurrence of each id.
  explicit CpuList(const std::vector<int>& cpus);

  // "4-7,12" (ranges ascending, as IHK reads them); "" is the empty list.
  static Result<CpuList> parse(std::string_view text);
  // Ascending runs become ranges: {4,5,6,7,12} -> "4-7,12"; order is kept otherwise.
  std::string to_string() const;

  const std::vector<int>& ids() const { return cpus_; }
  size_t size() const { return cpus_.size(); }
  bool empty() const { return cpus_.empty(); }
  bool contains(int cpu) const;
  bool overlaps(const CpuList& other) const;

  // Order of `this` is kept in all three.
  CpuList minus(const CpuList& other) const;
  CpuList intersect(const CpuList& other) const;
  CpuList plus(const CpuList& other) const;
  CpuList sorted() const;

  bool operator==(const CpuList&) const = default;

 private:
  std::vector<int> cpus_;
};

struct MemChunk {
  uint64_t size = 0;  // bytes
  int numa_node = 0;
  bool operator==(const MemChunk&) const = default;
};

// Memory per NUMA node, as IHK reserves and assigns it.
class MemList {
 public:
  MemList() = default;
  explicit MemList(std::vector<MemChunk> chunks) : chunks_(std::move(chunks)) {}

  // "2G@0,512M@1"; a chunk without "@node" is on node 0, as in IHK. IHK's "all" is refused:
  // mkrun only ever takes an explicit amount.
  static Result<MemList> parse(std::string_view text);
  // "2G@0,512M@1": each size in the largest unit that divides it.
  std::string to_string() const;

  const std::vector<MemChunk>& chunks() const { return chunks_; }
  bool empty() const { return chunks_.empty(); }
  uint64_t total() const;
  uint64_t on_node(int node) const;
  // One chunk per node, in ascending node order, each the node's total.
  MemList merged() const;
  // Every chunk rounded up to a multiple of `unit` (IHK wants 4 MiB multiples).
  MemList rounded_up(uint64_t unit) const;

  bool operator==(const MemList&) const = default;

 private:
  std::vector<MemChunk> chunks_;
};

// "4G", "512M", "1048576": a size in bytes, suffixes K M G T P E (either case), powers of 1024.
Result<uint64_t> parse_size(std::string_view text);
// The inverse: the largest unit that divides the size exactly ("2G", "1536M", "123").
std::string format_size(uint64_t bytes);

inline constexpr uint64_t kMemGranule = 4ull << 20;  // IHK reserves in 4 MiB units

// Where each LWK CPU sends its inter-kernel interrupts: a Linux CPU (ihk_ikc_cpu_map).
struct IkcRoute {
  int lwk_cpu = 0;    // Linux id of a CPU assigned to the instance
  int linux_cpu = 0;  // a Linux CPU that stays online
  bool operator==(const IkcRoute&) const = default;
};

class IkcMap {
 public:
  IkcMap() = default;
  explicit IkcMap(std::vector<IkcRoute> routes) : routes_(std::move(routes)) {}

  // "4-5:1+6-7:2": LWK CPUs 4 and 5 interrupt Linux CPU 1, 6 and 7 interrupt CPU 2.
  static Result<IkcMap> parse(std::string_view text);
  // Groups the LWK CPUs of each Linux target, targets in first-seen order.
  std::string to_string() const;

  const std::vector<IkcRoute>& routes() const { return routes_; }
  bool empty() const { return routes_.empty(); }
  CpuList lwk_cpus() const;
  CpuList linux_cpus() const;

  bool operator==(const IkcMap&) const = default;

 private:
  std::vector<IkcRoute> routes_;
};

}  // namespace mkrun::ihk
