#include "mkrun/lwk/select.hpp"

#include <dirent.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "mkrun/base/numbers.hpp"
#include "text_files.hpp"

namespace mkrun::lwk {
namespace {

using ihk::CpuList;
using ihk::IkcMap;
using ihk::IkcRoute;
using ihk::MemChunk;
using ihk::MemList;

Result<std::optional<CpuList>> spec_cpuset(const oci::Spec& spec) {
  if (!spec.linux || !spec.linux->resources || !spec.linux->resources->cpu) return std::nullopt;
  const std::string& text = spec.linux->resources->cpu->cpus;
  if (text.empty()) return std::nullopt;
  auto cpus = CpuList::parse(text);
  if (!cpus) return std::unexpected(std::move(cpus).error().wrap("linux.resources.cpu.cpus"));
  if (cpus->empty()) return std::nullopt;
  return std::optional<CpuList>(cpus->sorted());
}

struct Context {
  const HostConfig& config;
  const Topology& topology;
  const Occupied& occupied;
  std::optional<CpuList> cpuset;  // the spec's, sorted
};

// Why `cpu` cannot be McKernel's, or "" when it can.
std::string unavailable_because(const Context& c, int cpu) {
  if (cpu == 0) return "is CPU 0, which Linux keeps";
  if (!c.config.cpus.contains(cpu))
    return "is not in the pool mkrun may use (cpus = " + c.config.cpus.to_string() + " in " +
           c.config.path + ")";
  if (c.cpuset && !c.cpuset->contains(cpu))
    return "is outside the container's cpuset (" + c.cpuset->to_string() + ")";
  if (c.occupied.claimed.contains(cpu)) return "is held by another container";
  if (c.occupied.reserved.contains(cpu)) return "is reserved in IHK by someone else";
  if (!c.topology.online.contains(cpu)) return "is offline";
  return "";
}

Result<CpuList> check_explicit(const Context& c, const CpuList& cpus) {
  std::string reasons;
  for (int cpu : cpus.ids()) {
    std::string why = unavailable_because(c, cpu);
    if (why.empty()) continue;
    reasons += (reasons.empty() ? "" : ", ") + ("CPU " + std::to_string(cpu) + " " + why);
  }
  if (!reasons.empty()) return fail("CPUs busy or offline: " + reasons);
  if (c.cpuset && c.cpuset->minus(cpus).empty())
    return fail("the container's cpuset (" + c.cpuset->to_string() +
                ") must keep a Linux CPU for mcexec: McKernel cannot have all of it");
  return cpus;
}

CpuList candidates(const Context& c) {
  CpuList eligible = c.cpuset ? lwk_share(*c.cpuset, c.config.cpus) : c.config.cpus.sorted();
  std::vector<int> free;
  for (int cpu : eligible.ids()) {
    if (unavailable_because(c, cpu).empty()) free.push_back(cpu);
  }
  return CpuList(free);
}

// From the node with the most candidates first (then the lowest node), its highest ids first.
CpuList numa_compact(const Context& c, const CpuList& free, size_t count) {
  std::map<int, std::vector<int>> by_node;
  for (int cpu : free.ids()) by_node[c.topology.node(cpu)].push_back(cpu);
  std::vector<std::pair<int, std::vector<int>>> nodes(by_node.begin(), by_node.end());
  std::ranges::stable_sort(
      nodes, [](const auto& a, const auto& b) { return a.second.size() > b.second.size(); });
  std::vector<int> chosen;
  for (auto& [node, cpus] : nodes) {
    for (auto it = cpus.rbegin(); it != cpus.rend() && chosen.size() < count; ++it)
      chosen.push_back(*it);
  }
  return CpuList(chosen).sorted();
}

size_t default_count(const Context& c, const LwkRequest& request) {
  if (request.ncpus) return static_cast<size_t>(*request.ncpus);
  if (c.cpuset) return c.cpuset->size() - 1;  // all but the proxy's CPU
  return static_cast<size_t>(c.config.default_ncpus);
}

Result<CpuList> choose_cpus(const Context& c, const LwkRequest& request) {
  if (request.cpus) return check_explicit(c, *request.cpus);
  size_t count = default_count(c, request);
  CpuList free = candidates(c);
  if (count == 0 || free.size() < count) {
    std::string where = c.cpuset ? " of the container's cpuset " + c.cpuset->to_string() : "";
    return fail("CPUs busy or offline: " + std::to_string(count) + " CPUs asked for McKernel" +
                where + ", " + std::to_string(free.size()) + " free (" +
                (free.empty() ? "none" : free.to_string()) + ") in the pool " +
                c.config.cpus.to_string() + " (" + c.config.path + ")");
  }
  return numa_compact(c, free, count);
}

MemList split_total(uint64_t total, const std::vector<int>& nodes) {
  uint64_t share = (total + nodes.size() - 1) / nodes.size();
  std::vector<MemChunk> chunks;
  for (int node : nodes) chunks.push_back({share, node});
  return MemList(std::move(chunks)).rounded_up(ihk::kMemGranule);
}

Result<void> check_memory_pool(const Context& c, const MemList& mem) {
  if (c.config.memory.empty())
    return fail("memory not reservable: no memory pool is configured (memory = ... in " +
                c.config.path + ")");
  MemList merged = mem.merged();
  for (const MemChunk& chunk : merged.chunks()) {
    uint64_t cap = c.config.memory.on_node(chunk.numa_node);
    auto held = c.occupied.claimed_memory.find(chunk.numa_node);
    uint64_t used = held == c.occupied.claimed_memory.end() ? 0 : held->second;
    uint64_t left = cap > used ? cap - used : 0;
    if (chunk.size > left)
      return fail("memory not reservable: " + ihk::format_size(chunk.size) +
                  " asked on NUMA node " + std::to_string(chunk.numa_node) + ", the pool has " +
                  ihk::format_size(left) + " left there (memory = " + c.config.memory.to_string() +
                  " in " + c.config.path + ")");
  }
  return {};
}

Result<MemList> choose_memory(const Context& c, const LwkRequest& request, const oci::Spec& spec,
                              const CpuList& cpus) {
  MemList mem;
  if (request.mem) {
    mem = request.mem->rounded_up(ihk::kMemGranule);
  } else {
    uint64_t total = request.mem_total.value_or(0);
    if (total == 0) total = spec_memory_limit(spec);
    if (total == 0) total = c.config.default_memory;
    mem = split_total(total, nodes_of(c.topology, cpus));
  }
  MKRUN_CHECK(check_memory_pool(c, mem));
  return mem;
}

Result<IkcMap> check_ikc_map(const Context& c, const IkcMap& map, const CpuList& cpus,
                             const std::optional<CpuList>& linux_cpus) {
  if (map.lwk_cpus().sorted() != cpus.sorted())
    return fail("the IKC map must route every McKernel CPU (" + cpus.to_string() +
                ") exactly once");
  CpuList targets = map.linux_cpus();
  for (int target : targets.ids()) {
    if (cpus.contains(target) || !c.topology.online.contains(target))
      return fail("IKC target CPU " + std::to_string(target) + " must be an online Linux CPU");
    if (linux_cpus && !linux_cpus->contains(target))
      return fail("IKC target CPU " + std::to_string(target) +
                  " is outside the container's Linux cpuset (" + linux_cpus->to_string() + ")");
  }
  return map;
}

IkcMap default_ikc_map(const Topology& topology, const CpuList& cpus, const CpuList& linux_cpus) {
  std::vector<IkcRoute> routes;
  for (int cpu : cpus.ids()) {
    int target = linux_cpus.ids().front();
    for (int candidate : linux_cpus.ids()) {
      if (topology.node(candidate) == topology.node(cpu)) {
        target = candidate;
        break;
      }
    }
    routes.push_back({cpu, target});
  }
  return IkcMap(std::move(routes));
}

// A CPU's core, by its package and core ids in sysfs. A CPU without those files is a core of
// its own in package 0 (its key: minus one minus its id, which no real core id takes).
std::pair<int, int> core_of(const std::string& sysfs, int cpu) {
  std::string dir = sysfs + "/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
  auto number = [&](const char* file) -> std::optional<int> {
    auto text = files::read_file(dir + file);
    if (!text) return std::nullopt;
    return parse_number<int>(trimmed(std::move(*text)));
  };
  auto package = number("physical_package_id");
  auto core = number("core_id");
  if (!package || !core) return {0, -1 - cpu};
  return {*package, *core};
}

// hwloc's logical order, which Slurm's abstract CPU ids follow: packages, then their cores,
// each ordered by its lowest CPU; a core's threads together, in ascending order.
std::vector<int> slurm_order_of(const std::string& sysfs, const CpuList& online) {
  using Core = std::vector<int>;
  std::map<int, std::map<int, Core>> packages;
  const CpuList ascending = online.sorted();
  for (int cpu : ascending.ids()) {
    auto [package, core] = core_of(sysfs, cpu);
    packages[package][core].push_back(cpu);  // ascending, as the ids come
  }
  std::vector<std::vector<Core>> ordered;
  for (auto& [package, cores] : packages) {
    std::vector<Core> list;
    for (auto& [core, threads] : cores) list.push_back(std::move(threads));
    std::ranges::sort(list, {}, [](const Core& threads) { return threads.front(); });
    ordered.push_back(std::move(list));
  }
  std::ranges::sort(ordered, {},
                    [](const std::vector<Core>& cores) { return cores.front().front(); });
  std::vector<int> order;
  for (const auto& cores : ordered) {
    for (const Core& threads : cores) order.insert(order.end(), threads.begin(), threads.end());
  }
  return order;
}

}  // namespace

uint64_t spec_memory_limit(const oci::Spec& spec) {
  if (!spec.linux || !spec.linux->resources || !spec.linux->resources->memory) return 0;
  auto limit = spec.linux->resources->memory->limit;
  return limit && *limit > 0 ? static_cast<uint64_t>(*limit) : 0;
}

int proxy_cpu(const CpuList& cpuset) {
  return cpuset.contains(0) ? 0 : cpuset.sorted().ids().front();
}

std::vector<int> nodes_of(const Topology& topology, const CpuList& cpus) {
  std::set<int> nodes;
  for (int cpu : cpus.ids()) nodes.insert(topology.node(cpu));
  return {nodes.begin(), nodes.end()};
}

CpuList lwk_share(const CpuList& cpuset, const CpuList& pool) {
  return cpuset.intersect(pool).minus(CpuList(std::vector<int>{proxy_cpu(cpuset)})).sorted();
}

int Topology::node(int cpu) const {
  auto it = node_of.find(cpu);
  return it == node_of.end() ? 0 : it->second;
}

Result<Topology> read_topology(const std::string& sysfs) {
  Topology topology;
  std::string online_path = sysfs + "/devices/system/cpu/online";
  auto online = files::read_file(online_path);
  if (!online) return std::unexpected(std::move(online).error());
  topology.online = MKRUN_TRY(CpuList::parse(*online));
  topology.slurm_order = slurm_order_of(sysfs, topology.online);
  std::string node_dir = sysfs + "/devices/system/node";
  DIR* dir = ::opendir(node_dir.c_str());
  if (dir == nullptr) return topology;  // no NUMA: everything on node 0
  std::vector<int> nodes;
  while (dirent* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (!name.starts_with("node")) continue;
    int node = parse_number<int>(name.substr(4)).value_or(-1);
    if (node >= 0) nodes.push_back(node);
  }
  ::closedir(dir);
  for (int node : nodes) {
    auto list = files::read_file(node_dir + "/node" + std::to_string(node) + "/cpulist");
    if (!list) continue;
    auto cpus = CpuList::parse(*list);
    if (!cpus) continue;
    for (int cpu : cpus->ids()) topology.node_of[cpu] = node;
  }
  return topology;
}

Result<CpuList> linux_cpus_of_slurm_ids(const Topology& topology, const CpuList& ids) {
  std::vector<int> cpus;
  for (int id : ids.ids()) {
    if (id < 0 || static_cast<size_t>(id) >= topology.slurm_order.size())
      return fail("Slurm CPU id " + std::to_string(id) + " is not on this node: it has " +
                  std::to_string(topology.slurm_order.size()) + " online CPUs (" +
                  topology.online.to_string() + ")");
    cpus.push_back(topology.slurm_order[static_cast<size_t>(id)]);
  }
  return CpuList(cpus).sorted();
}

Result<Selection> select_resources(const LwkRequest& request, const HostConfig& config,
                                   const oci::Spec& spec, const Topology& topology,
                                   const Occupied& occupied) {
  Context c{config, topology, occupied, MKRUN_TRY(spec_cpuset(spec))};
  Selection selection;
  selection.cpus = MKRUN_TRY(choose_cpus(c, request));
  if (c.cpuset) selection.linux_cpus = c.cpuset->minus(selection.cpus);
  selection.mem = MKRUN_TRY(choose_memory(c, request, spec, selection.cpus));
  if (request.ikc_map) {
    selection.ikc_map =
        MKRUN_TRY(check_ikc_map(c, *request.ikc_map, selection.cpus, selection.linux_cpus));
  } else if (selection.linux_cpus) {
    selection.ikc_map = default_ikc_map(topology, selection.cpus, *selection.linux_cpus);
  }
  return selection;
}

}  // namespace mkrun::lwk
