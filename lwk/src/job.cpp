#include "mkrun/lwk/job.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <optional>
#include <vector>

#include "host.hpp"
#include "mkrun/lwk/caller.hpp"
#include "mkrun/lwk/select.hpp"
#include "session.hpp"

namespace mkrun::lwk {

namespace {

std::string job_token(const std::string& job) {
  return "job." + job;
}

Result<void> check_job_id(const std::string& job) {
  bool valid = !job.empty() && job.size() <= 64 && std::ranges::all_of(job, [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
  if (!valid) return fail("invalid job id \"" + job + "\" (letters, digits, '.', '_', '-')");
  return {};
}

const Claim* find_claim(const std::vector<Claim>& claims, const std::string& token) {
  auto found = std::ranges::find(claims, token, &Claim::token);
  return found == claims.end() ? nullptr : &*found;
}

// The spec a job's instance is selected and given away with: no cpuset or memory limit of its
// own (the annotations or the host's defaults say), its process's user the job's.
oci::Spec job_spec(const JobBoot& boot) {
  oci::Spec spec;
  spec.process = oci::Process{};
  spec.process->user.uid = boot.uid;
  spec.process->user.gid = boot.gid;
  return spec;
}

// The job's CPUs on this node go to McKernel as far as the host's pool has them, all but the
// one that stays with Linux for mcexec's proxy (the spec's cpuset says which, as a container's
// would). Returns McKernel's CPUs, or the site's own choice (--cpus; none known for --ncpus).
Result<std::optional<ihk::CpuList>> size_cpus_from_allocation(const ihk::CpuList& slurm_cpus,
                                                              const HostConfig& config,
                                                              const Topology& topology,
                                                              LwkRequest& request,
                                                              oci::Spec& spec) {
  ihk::CpuList job_cpus = MKRUN_TRY(linux_cpus_of_slurm_ids(topology, slurm_cpus));
  if (job_cpus.empty()) return fail("the job has no CPUs on this node");
  if (!spec.linux) spec.linux = oci::Linux{};
  if (!spec.linux->resources) spec.linux->resources = oci::Resources{};
  if (!spec.linux->resources->cpu) spec.linux->resources->cpu = oci::CpuResources{};
  spec.linux->resources->cpu->cpus = job_cpus.to_string();
  if (request.cpus || request.ncpus) return request.cpus;
  const int proxy = proxy_cpu(job_cpus);
  ihk::CpuList lwk_cpus = lwk_share(job_cpus, config.cpus);
  if (lwk_cpus.empty())
    return fail("the job's CPUs on this node (" + job_cpus.to_string() +
                ") leave none for McKernel: CPU " + std::to_string(proxy) +
                " stays with Linux for mcexec, and McKernel may only have CPUs " +
                config.cpus.to_string() + " (cpus in " + config.path + ")");
  request.ncpus = static_cast<int>(lwk_cpus.size());
  return lwk_cpus;
}

// The most memory McKernel can get on these CPUs: a total is split evenly over their NUMA nodes,
// so each node's share must fit the pool's smallest there. All of the pool when the CPUs are
// not known yet.
uint64_t memory_cap(const HostConfig& config, const Topology& topology,
                    const std::optional<ihk::CpuList>& lwk_cpus) {
  if (!lwk_cpus) return config.memory.total();
  std::vector<int> nodes = nodes_of(topology, *lwk_cpus);
  uint64_t smallest = UINT64_MAX;
  for (int node : nodes) smallest = std::min(smallest, config.memory.on_node(node));
  return nodes.empty() ? 0 : smallest * nodes.size();
}

// The job's memory on this node, at most what the pool can give on McKernel's CPUs.
void size_memory_from_allocation(uint64_t slurm_memory, uint64_t cap, const HostConfig& config,
                                 LwkRequest& request, const Warn& warn) {
  if (slurm_memory > cap) {
    warn("the job's memory on this node (" + ihk::format_size(slurm_memory) +
         ") is more than McKernel may have on its CPUs (memory = " + config.memory.to_string() +
         " in " + config.path + "): McKernel gets " + ihk::format_size(cap));
    slurm_memory = cap;
  }
  request.mem_total = slurm_memory;
}

// Sizes the job's instance from its Slurm allocation; what the site named itself (the
// annotations) wins over the allocation.
Result<void> size_from_allocation(const JobBoot& boot, const HostConfig& config,
                                  LwkRequest& request, oci::Spec& spec, const Warn& warn) {
  if (!boot.slurm_cpus && boot.slurm_memory == 0) return {};
  Topology topology = MKRUN_TRY(read_topology(config.sysfs));
  std::optional<ihk::CpuList> lwk_cpus = request.cpus;
  if (boot.slurm_cpus)
    lwk_cpus =
        MKRUN_TRY(size_cpus_from_allocation(*boot.slurm_cpus, config, topology, request, spec));
  if (boot.slurm_memory != 0 && !request.mem && !request.mem_total)
    size_memory_from_allocation(boot.slurm_memory, memory_cap(config, topology, lwk_cpus), config,
                                request, warn);
  return {};
}

}  // namespace

Result<Claim> boot_job(const JobBoot& boot, const McKernelBackend::IhkLoader& loader,
                       const Warn& warn) {
  MKRUN_CHECK(check_job_id(boot.job));
  LwkRequest request = MKRUN_TRY(parse_request(boot.annotations));
  if (request.mode != Mode::kDedicated) return fail("a job's instance is booted, not attached");
  ClaimOnlyJournal journal;
  Session s = MKRUN_TRY(open_root_session(loader, journal, boot.config));
  MKRUN_CHECK(check_enabled(s.config));
  HostLock lock = MKRUN_TRY(HostLock::acquire(s.config.lock));
  MKRUN_CHECK(check_ihk_loaded(*s.ihk, s.config));
  MKRUN_CHECK(check_build_id(s.config));
  std::vector<Claim> others = MKRUN_TRY(s.registry.all());
  if (const Claim* old = find_claim(others, job_token(boot.job)))
    return fail("job " + boot.job + " already has a McKernel instance (step " + old->step +
                "): shut it down first (mkrun-lwk shutdown --job " + boot.job + ")");
  s.claim.token = job_token(boot.job);
  s.claim.container = "job " + boot.job;
  s.claim.mode = Mode::kJob;
  s.claim.device = s.config.device;
  s.claim.config = s.config.path;
  s.claim.job = boot.job;
  s.claim.user = boot.uid;
  oci::Spec spec = job_spec(boot);
  MKRUN_CHECK(size_from_allocation(boot, s.config, request, spec, warn));
  auto booted = prepare_dedicated(s, request, spec, others);
  if (!booted) {
    if (auto released = release_and_forget(s, {}); !released)
      return std::unexpected(std::move(booted).error().wrap(
          "(and releasing what it took failed: " + released.error().render() + ")"));
    return std::unexpected(std::move(booted).error());
  }
  return s.claim;
}

Result<void> shutdown_job(const std::string& job, const std::string& config,
                          const McKernelBackend::IhkLoader& loader, const Warn& warn) {
  MKRUN_CHECK(check_job_id(job));
  ClaimOnlyJournal journal;
  Session s = MKRUN_TRY(open_root_session(loader, journal, config));
  HostLock lock = MKRUN_TRY(HostLock::acquire(s.config.lock));
  std::vector<Claim> claims = MKRUN_TRY(s.registry.all());
  const Claim* claim = find_claim(claims, job_token(job));
  if (claim == nullptr) return {};  // never booted, or already shut down
  s.claim = *claim;
  // The configuration the job was booted under, as a container's delete reads its create's.
  if (s.claim.config != s.config.path) {
    s.config = MKRUN_TRY(load_claims_config(s.claim));
    s.ihk = MKRUN_TRY(open_ihk(loader, s.config));
  }
  return release_and_forget(s, warn);
}

Result<std::vector<ClaimStatus>> node_status(const std::string& config,
                                             const McKernelBackend::IhkLoader& loader) {
  ClaimOnlyJournal journal;
  Session s = MKRUN_TRY(open_root_session(loader, journal, config));
  std::vector<ClaimStatus> out;
  for (Claim& claim : MKRUN_TRY(s.registry.all())) {
    std::string status = "-";
    if (claim.os && still_claims(claim, {}, *claim.os).value_or(false)) {
      auto live = s.ihk->os_status(*claim.os);
      status = live ? std::string(ihk::to_string(*live)) : "UNKNOWN";
    } else if (claim.os) {
      status = "GONE";
    }
    out.push_back({std::move(claim), std::move(status)});
  }
  return out;
}

}  // namespace mkrun::lwk
