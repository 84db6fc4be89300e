// What the McKernel backend (backend.cpp) and a job's instance (job.cpp) share: one partitioning
// or release session under the host lock, and the steps both take. Internal to lwk/.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mkrun/ihk/ihk.hpp"
#include "mkrun/lwk/backend.hpp"
#include "mkrun/lwk/claims.hpp"
#include "mkrun/lwk/config.hpp"
#include "mkrun/lwk/request.hpp"
#include "mkrun/oci/spec.hpp"
#include "mkrun/runtime/kernel_backend.hpp"

namespace mkrun::lwk {

// Everything one prepare() or release() works with, under the host lock.
struct Session {
  HostConfig config;
  std::unique_ptr<ihk::Ihk> ihk;
  ClaimRegistry registry;
  runtime::Journal& journal;
  Claim claim;

  // The journal first, then the claim file: a claim is never ahead of the journal that
  // release() reads. An unprivileged attach has its journal only.
  Result<void> record() {
    MKRUN_CHECK(journal.record(to_journal(claim)));
    if (claim.unprivileged) return {};
    return registry.save(claim);
  }
};

// What prepare_dedicated or prepare_attach got.
struct Instance {
  int os = 0;
  std::optional<ihk::CpuList> linux_cpus;
};

// libihk.so as the configuration names it; "IHK is not installed (...)" when it is missing.
Result<std::unique_ptr<ihk::Ihk>> open_ihk(const McKernelBackend::IhkLoader& loader,
                                           const HostConfig& config);
Result<Session> open_session(const McKernelBackend::IhkLoader& loader, runtime::Journal& journal,
                             HostConfig config);

// Selects CPUs and memory (the spec's cpuset and memory limit, the request, the host's defaults,
// minus what `others` claim) and boots an instance, recording each step first; the instance's
// node is given to the spec's process user.
Result<Instance> prepare_dedicated(Session& s, const LwkRequest& request, oci::Spec& spec,
                                   const std::vector<Claim>& others);
// Releases what `s.claim` holds, from the step it shows.
Result<void> release_dedicated(Session& s, const std::vector<Claim>& others,
                               const std::function<void(const std::string&)>& warn);

// Whether instance `os` is still the one `claim` created (its node's inode).
Result<bool> still_claims(const Claim& claim, const std::vector<Claim>& others, int os);
// The host configuration a claim was made under, if it is root's.
Result<HostConfig> load_claims_config(const Claim& claim);
std::vector<Claim> others_than(const std::vector<Claim>& all, const std::string& token);

}  // namespace mkrun::lwk
