#include "mkrun/ihk/lists.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <unordered_set>

#include "mkrun/base/numbers.hpp"

namespace mkrun::ihk {
namespace {

// A bound on CPU ids that keeps a typo ("1-100000000") from allocating a huge list.
constexpr int kMaxCpuId = 1 << 16;

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

Result<int> parse_cpu_id(std::string_view text, std::string_view whole) {
  auto cpu = parse_number<int>(text);
  if (!cpu || *cpu < 0 || *cpu > kMaxCpuId)
    return fail("invalid CPU list \"" + std::string(whole) + "\": \"" + std::string(text) +
                "\" is not a CPU number");
  return *cpu;
}

Result<void> append_cpu_item(std::string_view item, std::string_view whole,
                             std::vector<int>& cpus) {
  if (item.empty()) return fail("invalid CPU list \"" + std::string(whole) + "\": empty item");
  size_t dash = item.find('-');
  if (dash == std::string_view::npos) {
    cpus.push_back(MKRUN_TRY(parse_cpu_id(item, whole)));
    return {};
  }
  int first = MKRUN_TRY(parse_cpu_id(item.substr(0, dash), whole));
  int last = MKRUN_TRY(parse_cpu_id(item.substr(dash + 1), whole));
  if (last < first)
    return fail("invalid CPU list \"" + std::string(whole) + "\": range \"" + std::string(item) +
                "\" goes backwards");
  for (int cpu = first; cpu <= last; ++cpu) cpus.push_back(cpu);
  return {};
}

// Blank space around a list, including the newline a sysfs file ends with.
std::string_view trim(std::string_view text) {
  constexpr std::string_view kBlank = " \t\r\n";
  while (!text.empty() && kBlank.find(text.front()) != std::string_view::npos)
    text.remove_prefix(1);
  while (!text.empty() && kBlank.find(text.back()) != std::string_view::npos) text.remove_suffix(1);
  return text;
}

}  // namespace

CpuList::CpuList(const std::vector<int>& cpus) {
  std::unordered_set<int> seen;
  for (int cpu : cpus) {
    if (seen.insert(cpu).second) cpus_.push_back(cpu);
  }
}

Result<CpuList> CpuList::parse(std::string_view text) {
  text = trim(text);
  if (text.empty()) return CpuList();
  std::vector<int> cpus;
  for (std::string_view item : split(text, ',')) MKRUN_CHECK(append_cpu_item(item, text, cpus));
  CpuList list(cpus);
  if (list.size() != cpus.size())
    return fail("invalid CPU list \"" + std::string(text) + "\": a CPU is listed twice");
  return list;
}

std::string CpuList::to_string() const {
  std::string text;
  for (size_t i = 0; i < cpus_.size();) {
    size_t j = i;
    while (j + 1 < cpus_.size() && cpus_[j + 1] == cpus_[j] + 1) ++j;
    if (!text.empty()) text += ',';
    text += std::to_string(cpus_[i]);
    if (j > i) text += '-' + std::to_string(cpus_[j]);
    i = j + 1;
  }
  return text;
}

bool CpuList::contains(int cpu) const {
  return std::ranges::find(cpus_, cpu) != cpus_.end();
}

bool CpuList::overlaps(const CpuList& other) const {
  return std::ranges::any_of(cpus_, [&](int cpu) { return other.contains(cpu); });
}

CpuList CpuList::minus(const CpuList& other) const {
  std::vector<int> kept;
  for (int cpu : cpus_) {
    if (!other.contains(cpu)) kept.push_back(cpu);
  }
  return CpuList(kept);
}

CpuList CpuList::intersect(const CpuList& other) const {
  std::vector<int> kept;
  for (int cpu : cpus_) {
    if (other.contains(cpu)) kept.push_back(cpu);
  }
  return CpuList(kept);
}

CpuList CpuList::plus(const CpuList& other) const {
  std::vector<int> all = cpus_;
  all.insert(all.end(), other.cpus_.begin(), other.cpus_.end());
  return CpuList(all);
}

CpuList CpuList::sorted() const {
  std::vector<int> copy = cpus_;
  std::ranges::sort(copy);
  return CpuList(copy);
}

Result<uint64_t> parse_size(std::string_view text) {
  text = trim(text);
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + digits, value);
  if (digits == 0 || error != std::errc())
    return fail("invalid size \"" + std::string(text) + "\"");
  std::string_view suffix = text.substr(digits);
  static constexpr std::string_view kUnits = "KMGTPE";
  int shift = 0;
  if (suffix.size() == 1) {
    size_t unit = kUnits.find(static_cast<char>(suffix[0] & ~0x20));
    if (unit == std::string_view::npos) return fail("invalid size \"" + std::string(text) + "\"");
    shift = 10 * static_cast<int>(unit + 1);
  } else if (!suffix.empty()) {
    return fail("invalid size \"" + std::string(text) + "\"");
  }
  if (shift > 0 && value > (UINT64_MAX >> shift))
    return fail("size \"" + std::string(text) + "\" is too large");
  return value << shift;
}

std::string format_size(uint64_t bytes) {
  static constexpr std::string_view kUnits = "EPTGMK";
  for (size_t i = 0; i < kUnits.size(); ++i) {
    int shift = 10 * static_cast<int>(kUnits.size() - i);
    uint64_t unit = 1ull << shift;
    if (bytes != 0 && bytes % unit == 0) return std::to_string(bytes >> shift) + kUnits[i];
  }
  return std::to_string(bytes);
}

Result<MemList> MemList::parse(std::string_view text) {
  text = trim(text);
  std::vector<MemChunk> chunks;
  if (text.empty()) return MemList();
  for (std::string_view item : split(text, ',')) {
    std::string_view size_text = item;
    int node = 0;
    if (size_t at = item.find('@'); at != std::string_view::npos) {
      size_text = item.substr(0, at);
      node = parse_number<int>(item.substr(at + 1)).value_or(-1);
      if (node < 0)
        return fail("invalid memory list \"" + std::string(text) + "\": bad NUMA node in \"" +
                    std::string(item) + "\"");
    }
    if (size_text == "all" || size_text == "ALL")
      return fail("invalid memory list \"" + std::string(text) +
                  "\": \"all\" is not accepted, give an amount");
    auto size = parse_size(size_text);
    if (!size || *size == 0)
      return fail("invalid memory list \"" + std::string(text) + "\": bad size in \"" +
                  std::string(item) + "\"");
    chunks.push_back({*size, node});
  }
  return MemList(std::move(chunks));
}

std::string MemList::to_string() const {
  std::string text;
  for (const MemChunk& chunk : chunks_) {
    if (!text.empty()) text += ',';
    text += format_size(chunk.size) + "@" + std::to_string(chunk.numa_node);
  }
  return text;
}

uint64_t MemList::total() const {
  uint64_t sum = 0;
  for (const MemChunk& chunk : chunks_) sum += chunk.size;
  return sum;
}

uint64_t MemList::on_node(int node) const {
  uint64_t sum = 0;
  for (const MemChunk& chunk : chunks_) {
    if (chunk.numa_node == node) sum += chunk.size;
  }
  return sum;
}

MemList MemList::merged() const {
  std::map<int, uint64_t> per_node;
  for (const MemChunk& chunk : chunks_) per_node[chunk.numa_node] += chunk.size;
  std::vector<MemChunk> chunks;
  for (auto [node, size] : per_node) chunks.push_back({size, node});
  return MemList(std::move(chunks));
}

MemList MemList::rounded_up(uint64_t unit) const {
  std::vector<MemChunk> chunks = chunks_;
  for (MemChunk& chunk : chunks) chunk.size = (chunk.size + unit - 1) / unit * unit;
  return MemList(std::move(chunks));
}

Result<IkcMap> IkcMap::parse(std::string_view text) {
  text = trim(text);
  std::vector<IkcRoute> routes;
  if (text.empty()) return IkcMap();
  for (std::string_view group : split(text, '+')) {
    size_t colon = group.find(':');
    if (colon == std::string_view::npos)
      return fail("invalid IKC map \"" + std::string(text) + "\": \"" + std::string(group) +
                  "\" is not <lwk cpus>:<linux cpu>");
    auto sources = CpuList::parse(group.substr(0, colon));
    if (!sources || sources->empty())
      return fail("invalid IKC map \"" + std::string(text) + "\": bad CPU list in \"" +
                  std::string(group) + "\"");
    int target = parse_number<int>(group.substr(colon + 1)).value_or(-1);
    if (target < 0)
      return fail("invalid IKC map \"" + std::string(text) + "\": bad Linux CPU in \"" +
                  std::string(group) + "\"");
    for (int source : sources->ids()) routes.push_back({source, target});
  }
  IkcMap map(std::move(routes));
  if (map.lwk_cpus().size() != map.routes().size())
    return fail("invalid IKC map \"" + std::string(text) + "\": an LWK CPU is routed twice");
  return map;
}

std::string IkcMap::to_string() const {
  std::vector<int> targets;
  for (const IkcRoute& route : routes_) {
    if (std::ranges::find(targets, route.linux_cpu) == targets.end())
      targets.push_back(route.linux_cpu);
  }
  std::string text;
  for (int target : targets) {
    std::vector<int> sources;
    for (const IkcRoute& route : routes_) {
      if (route.linux_cpu == target) sources.push_back(route.lwk_cpu);
    }
    if (!text.empty()) text += '+';
    text += CpuList(sources).to_string() + ":" + std::to_string(target);
  }
  return text;
}

CpuList IkcMap::lwk_cpus() const {
  std::vector<int> cpus;
  for (const IkcRoute& route : routes_) cpus.push_back(route.lwk_cpu);
  return CpuList(cpus);
}

CpuList IkcMap::linux_cpus() const {
  std::vector<int> cpus;
  for (const IkcRoute& route : routes_) cpus.push_back(route.linux_cpu);
  return CpuList(cpus);
}

}  // namespace mkrun::ihk
