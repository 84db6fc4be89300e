// What the McKernel backend (backend.cpp) and a job's instance (job.cpp) share: one partitioning
// or release session under the host lock, and the steps both take. Internal to lwk/.
#pragma once

#include <functional>
#include <map>
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
  std::shared_ptr<ihk::Ihk> ihk;  // shared by the sessions of one command (a pool reset)
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

// A claim that has no container state (a job's, a pool instance's): its claim in the registry
// is its only record, written before each step by Session::record; this journal only mirrors it
// for the shared code.
class ClaimOnlyJournal final : public runtime::Journal {
 public:
  Result<void> record(const std::map<std::string, std::string>& entries) override {
    for (const auto& [key, value] : entries) entries_[key] = value;
    return {};
  }
  const std::map<std::string, std::string>& entries() const override { return entries_; }

 private:
  std::map<std::string, std::string> entries_;
};

using Warn = std::function<void(const std::string&)>;

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

// A session of root's on the host configuration at `path` (mkrun-lwk's commands).
Result<Session> open_root_session(const McKernelBackend::IhkLoader& loader,
                                  runtime::Journal& journal, const std::string& path);

// Selects CPUs and memory (the spec's cpuset and memory limit, the request, the host's defaults,
// minus what `others` claim) and boots an instance, recording each step first; the instance's
// node is given to the spec's process user.
Result<Instance> boot_instance(Session& s, const LwkRequest& request, const oci::Spec& spec,
                               const std::vector<Claim>& others);
// A dedicated container's (or a job's) instance: a pool instance when one fits (pool.cpp),
// else boot_instance if the host lets mkrun boot.
Result<Instance> prepare_dedicated(Session& s, const LwkRequest& request, oci::Spec& spec,
                                   const std::vector<Claim>& others);
// Releases what `s.claim` holds, from the step it shows.
Result<void> release_dedicated(Session& s, const std::vector<Claim>& others,
                               const std::function<void(const std::string&)>& warn);

// Releases what `s.claim` holds (others: the registry's other claims), then removes the claim.
Result<void> release_and_forget(Session& s, const Warn& warn);

// ---- the warm pool (pool.cpp) ----
// Lends a running, unlent pool instance to the container of `s.claim` when its request fits
// one: recorded by one claim write under the host lock. nullopt: none fits or none is free.
Result<std::optional<Instance>> take_pooled(Session& s, const LwkRequest& request,
                                            const oci::Spec& spec,
                                            const std::vector<Claim>& others);
// At the delete of a container on a pool instance (`s.claim`): resets the instance (shut down,
// released, booted again with the pool's size) and so returns it to the pool, or releases it
// when it was drained meanwhile. `all`: every claim of the registry.
Result<void> return_pooled(Session& s, const std::vector<Claim>& all, const Warn& warn);

// Whether instance `os` is still the one `claim` created (its node's inode).
Result<bool> still_claims(const Claim& claim, const std::vector<Claim>& others, int os);
// The host configuration a claim was made under, if it is root's.
Result<HostConfig> load_claims_config(const Claim& claim);
std::vector<Claim> others_than(const std::vector<Claim>& all, const std::string& token);

}  // namespace mkrun::lwk
