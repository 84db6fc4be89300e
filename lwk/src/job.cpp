#include "mkrun/lwk/job.hpp"

#include <algorithm>
#include <cctype>

#include "host.hpp"
#include "mkrun/lwk/caller.hpp"
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

}  // namespace

Result<Claim> boot_job(const JobBoot& boot, const McKernelBackend::IhkLoader& loader) {
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
