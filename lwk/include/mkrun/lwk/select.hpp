// Which CPUs and how much memory a container's McKernel gets, from its request, its spec and
// what the host allows and still has free. Pure (the topology is read separately), so every
// rule is unit-tested:
//   - never CPU 0; only CPUs of the host configuration's pool, online, not reserved in IHK and
//     not claimed by another container;
//   - a count is filled NUMA-compact: from the node with the most free CPUs, highest ids first
//     (low ids usually carry Linux's housekeeping);
//   - with linux.resources.cpu.cpus, McKernel's CPUs come out of that set and the container's
//     Linux cpuset becomes the rest (the LWK CPUs go offline in Linux), keeping at least one CPU
//     for mcexec's proxy; the default then is all of the set but that one;
//   - memory: the annotation, else the spec's memory limit, else the host default; a total is
//     split evenly over the LWK CPUs' nodes; every chunk rounded up to 4 MiB, within the pool;
//   - the IKC map: the annotation, else, when the container has a cpuset, each LWK CPU routed
//     to a Linux CPU of that cpuset on its own node when there is one.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mkrun/base/error.hpp"
#include "mkrun/ihk/lists.hpp"
#include "mkrun/lwk/config.hpp"
#include "mkrun/lwk/request.hpp"
#include "mkrun/oci/spec.hpp"

namespace mkrun::lwk {

struct Topology {
  ihk::CpuList online;
  std::map<int, int> node_of;  // CPU -> NUMA node; absent: node 0
  // The online CPUs in Slurm's abstract numbering (the CPU_IDs of `scontrol show job -d`), which
  // is hwloc's logical order: package by package, core by core, the threads of a core together,
  // each ordered by its lowest Linux id. Without topology files: the Linux ids in order.
  std::vector<int> slurm_order;
  int node(int cpu) const;
};

// <sysfs>/devices/system/cpu/online, .../cpu/cpu<N>/topology/{physical_package_id,core_id} and
// <sysfs>/devices/system/node/node*/cpulist.
Result<Topology> read_topology(const std::string& sysfs);

// The Linux CPUs behind Slurm's abstract CPU ids on this node.
Result<ihk::CpuList> linux_cpus_of_slurm_ids(const Topology& topology, const ihk::CpuList& ids);

// The Linux CPU a container with a cpuset keeps for mcexec's proxy: CPU 0 when it has it,
// otherwise its lowest.
int proxy_cpu(const ihk::CpuList& cpuset);

// The CPUs of `cpuset` McKernel may have: those of the host's pool, but the proxy's. Ascending.
ihk::CpuList lwk_share(const ihk::CpuList& cpuset, const ihk::CpuList& pool);

// The NUMA nodes of `cpus`, ascending, each once.
std::vector<int> nodes_of(const Topology& topology, const ihk::CpuList& cpus);

// What other users hold right now.
struct Occupied {
  ihk::CpuList claimed;                    // by other mkrun containers
  std::map<int, uint64_t> claimed_memory;  // by other mkrun containers, per node
  ihk::CpuList reserved;                   // in IHK's pool, by anyone
};

struct Selection {
  ihk::CpuList cpus;                       // McKernel's, in LWK order
  ihk::MemList mem;                        // per node, 4 MiB multiples
  ihk::IkcMap ikc_map;                     // empty: IHK's default routing
  std::optional<ihk::CpuList> linux_cpus;  // the container's new cpuset, when it had one
};

// linux.resources.memory.limit, 0 when none.
uint64_t spec_memory_limit(const oci::Spec& spec);

Result<Selection> select_resources(const LwkRequest& request, const HostConfig& config,
                                   const oci::Spec& spec, const Topology& topology,
                                   const Occupied& occupied);

}  // namespace mkrun::lwk
