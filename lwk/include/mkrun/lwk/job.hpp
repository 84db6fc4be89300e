// A batch job's McKernel instance, booted before the job and torn down after it (`mkrun-lwk
// boot|shutdown|status`, run as root by a Slurm prolog and epilog).
//
// The job's instance is a claim in the host's registry like a container's (token "job.<id>",
// mode "job"), written before each step with the same order and crash safety as a dedicated
// container's create, and released by the same code as its delete. The claim names the job's
// user: that user's containers attach to it (io.mkrun.mckernel.instance=job) without privilege,
// and /dev/mcos<N> is given to that user alone, as mcreboot.sh -o does.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mkrun/lwk/backend.hpp"
#include "mkrun/lwk/claims.hpp"

namespace mkrun::lwk {

using Warn = std::function<void(const std::string&)>;

struct JobBoot {
  std::string job;  // the job id: letters, digits, '.', '_' and '-'
  uint32_t uid = 0;
  uint32_t gid = 0;
  // What to boot, as a container asks it (io.mkrun.mckernel.cpus/ncpus/mem/kargs/image/...).
  std::map<std::string, std::string> annotations;
  // The job's share of this node as Slurm allocated it (`scontrol show job -d`): its CPUs in
  // Slurm's abstract numbering, its memory in bytes (0: Slurm tracks none). McKernel then gets
  // the job's CPUs that the host's pool has, but one that stays with Linux for mcexec, and the
  // job's memory (at most the pool's); the annotations above win over either.
  std::optional<ihk::CpuList> slurm_cpus;
  uint64_t slurm_memory = 0;
  std::string config;  // the host configuration's path
};

// Boots the job's instance; on failure releases whatever was taken before returning the error.
Result<Claim> boot_job(const JobBoot& boot, const McKernelBackend::IhkLoader& loader,
                       const Warn& warn);

// Releases the job's instance from whatever step its claim shows: idempotent (a job without a
// claim has nothing left), safe to retry, and it leaves alone an instance at the index that is
// not the one the job booted.
Result<void> shutdown_job(const std::string& job, const std::string& config,
                          const McKernelBackend::IhkLoader& loader, const Warn& warn);

// Every claim on the node (jobs' and containers'), with each instance's live IHK status.
struct ClaimStatus {
  Claim claim;
  std::string status;  // RUNNING, ... or UNKNOWN
};
Result<std::vector<ClaimStatus>> node_status(const std::string& config,
                                             const McKernelBackend::IhkLoader& loader);

}  // namespace mkrun::lwk
