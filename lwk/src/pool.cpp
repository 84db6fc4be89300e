#include "mkrun/lwk/pool.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "host.hpp"
#include "mkrun/base/command.hpp"
#include "mkrun/base/numbers.hpp"
#include "mkrun/lwk/select.hpp"
#include "session.hpp"

namespace mkrun::lwk {
namespace {

constexpr std::string_view kPoolTokenPrefix = "pool.";

std::string pool_token(int index) {
  return std::string(kPoolTokenPrefix) + std::to_string(index);
}

// The index of a pool claim's token ("pool.<k>"); -1 for a token of another form.
int pool_index(const std::string& token) {
  if (!token.starts_with(kPoolTokenPrefix)) return -1;
  return parse_number<int>(token.substr(kPoolTokenPrefix.size())).value_or(-1);
}

std::vector<Claim> pool_claims(const std::vector<Claim>& claims) {
  std::vector<Claim> pooled;
  for (const Claim& claim : claims) {
    if (claim.mode == Mode::kPool) pooled.push_back(claim);
  }
  std::ranges::sort(pooled, {}, [](const Claim& c) { return pool_index(c.token); });
  return pooled;
}

// What every pool instance is booted with: the pool's size, the host's image and arguments.
LwkRequest pool_request(const HostConfig& config) {
  LwkRequest request;
  request.ncpus = config.pool_ncpus;
  request.mem_total = config.pool_memory;
  return request;
}

// A pool instance's node is root's (0600) until a container takes it.
oci::Spec pool_spec() {
  oci::Spec spec;
  spec.process = oci::Process{};
  return spec;
}

// Whether a container's request is what a pool instance gives: no CPU list, IKC map, memory
// list, kernel arguments or image of its own, no cpuset to carve McKernel's CPUs from, and no
// more CPUs and memory than a pool instance has.
bool fits_pool(const HostConfig& config, const LwkRequest& request, const oci::Spec& spec) {
  if (request.cpus || request.ikc_map || request.mem || !request.kargs.empty()) return false;
  if (request.image && *request.image != config.image) return false;
  bool has_cpuset = spec.linux && spec.linux->resources && spec.linux->resources->cpu &&
                    !spec.linux->resources->cpu->cpus.empty();
  if (has_cpuset) return false;
  if (request.ncpus.value_or(config.default_ncpus) > config.pool_ncpus) return false;
  uint64_t memory = request.mem_total.value_or(0);
  if (memory == 0) memory = spec_memory_limit(spec);
  if (memory == 0) memory = config.default_memory;
  return memory <= config.pool_memory;
}

// Running, still the instance its claim booted (the node's inode), and RUNNING in IHK.
bool is_healthy(Session& s, const Claim& pooled) {
  if (pooled.step != ihk::to_string(ihk::Step::kRunning) || !pooled.os) return false;
  if (!still_claims(pooled, {}, *pooled.os).value_or(false)) return false;
  auto status = s.ihk->os_status(*pooled.os);
  return status && *status == ihk::OsStatus::kRunning;
}

// A session on pool claim `pooled` sharing `s`'s configuration, library and registry.
Session pool_session(Session& s, runtime::Journal& journal, Claim pooled) {
  return Session{s.config, s.ihk, s.registry, journal, std::move(pooled)};
}

Claim fresh_pool_claim(const HostConfig& config, int index) {
  Claim claim;
  claim.token = pool_token(index);
  claim.key = new_claim_key();
  claim.container = "pool " + std::to_string(index);
  claim.mode = Mode::kPool;
  claim.device = config.device;
  claim.config = config.path;
  return claim;
}

// Boots pool instance `ps.claim` anew (its claim without an instance); on failure releases what
// the boot took and removes the claim before returning the error.
Result<void> boot_pooled(Session& ps, const std::vector<Claim>& others) {
  auto booted = boot_instance(ps, pool_request(ps.config), pool_spec(), others);
  if (booted) return {};
  if (auto released = release_and_forget(ps, {}); !released)
    return std::unexpected(std::move(booted).error().wrap(
        "(and releasing what it took failed: " + released.error().render() + ")"));
  return std::unexpected(
      std::move(booted).error().wrap("boot McKernel pool instance " + ps.claim.token));
}

}  // namespace

bool awaits_reset(const Claim& pooled) {
  return pooled.mode == Mode::kPool && !pooled.os && pooled.step.empty() && !pooled.retiring;
}

std::string lent_to(const Claim& pooled, const std::vector<Claim>& claims) {
  auto found = std::ranges::find(claims, pooled.token, &Claim::pool);
  return found == claims.end() ? "" : found->container;
}

Result<std::optional<Instance>> take_pooled(Session& s, const LwkRequest& request,
                                            const oci::Spec& spec,
                                            const std::vector<Claim>& others) {
  if (s.config.pool == 0 || !fits_pool(s.config, request, spec)) return std::nullopt;
  for (const Claim& pooled : pool_claims(others)) {
    if (pooled.retiring || !lent_to(pooled, others).empty() || !is_healthy(s, pooled)) continue;
    s.claim.pool = pooled.token;
    s.claim.os = pooled.os;
    s.claim.os_node = pooled.os_node;
    s.claim.cpus = pooled.cpus;
    s.claim.mem = pooled.mem;
    s.claim.step = std::string(kPooled);
    s.claim.device_node = device_node_of(MKRUN_TRY(instance_device(*pooled.os)));
    MKRUN_CHECK(s.record());  // the take: from here the instance is this container's
    MKRUN_CHECK(give_device_to(*pooled.os, spec));
    return Instance{*pooled.os, std::nullopt};
  }
  return std::nullopt;
}

Result<void> return_pooled(Session& s, const std::vector<Claim>& all, const Warn& warn) {
  auto found = std::ranges::find(all, s.claim.pool, &Claim::token);
  // Reset already (a delete killed after the reboot): the pool claim names another instance.
  if (found == all.end() || found->os_node != s.claim.os_node) return {};
  ClaimOnlyJournal journal;
  Session ps = pool_session(s, journal, *found);
  std::vector<Claim> others = others_than(others_than(all, ps.claim.token), s.claim.token);
  MKRUN_CHECK(release_dedicated(ps, others, warn));
  if (ps.claim.retiring || pool_index(ps.claim.token) >= s.config.pool)
    return ps.registry.remove(ps.claim.token);
  // The same claim, booted again: until the first step is recorded it still names the old
  // instance, so a delete killed before then resets it again.
  ps.claim = fresh_pool_claim(ps.config, pool_index(ps.claim.token));
  if (ps.config.pool_reset_in_background) {
    // Recorded without an instance first: a retried delete then finds the reset done, and the
    // background boot acts only on this claim (awaits_reset), not on one a drain removed.
    MKRUN_CHECK(ps.record());
    auto started = command::start_detached({ps.config.mkrun_lwk, "--config", ps.config.path, "pool",
                                            "reset", "--instance", ps.claim.token});
    if (!started && warn)
      warn(started.error().wrap("reset " + ps.claim.token).render() +
           ": the pool is one instance short until `mkrun-lwk pool fill`");
    return {};
  }
  if (auto booted = boot_pooled(ps, others); !booted && warn)
    warn(booted.error().render() + ": the pool is one instance short until `mkrun-lwk pool fill`");
  return {};
}

Result<void> reset_pool_instance(const std::string& config, const std::string& token,
                                 const McKernelBackend::IhkLoader& loader) {
  ClaimOnlyJournal journal;
  Session s = MKRUN_TRY(open_root_session(loader, journal, config));
  HostLock lock = MKRUN_TRY(HostLock::acquire(s.config.lock));
  std::vector<Claim> all = MKRUN_TRY(s.registry.all());
  auto found = std::ranges::find(all, token, &Claim::token);
  if (found == all.end() || !awaits_reset(*found)) return {};  // drained, or repaired by a fill
  MKRUN_CHECK(check_ihk_loaded(*s.ihk, s.config));
  ClaimOnlyJournal own;
  Session ps = pool_session(s, own, *found);
  return boot_pooled(ps, others_than(all, token));
}

Result<std::vector<Claim>> fill_pool(const std::string& config,
                                     const McKernelBackend::IhkLoader& loader, const Warn& warn) {
  ClaimOnlyJournal journal;
  Session s = MKRUN_TRY(open_root_session(loader, journal, config));
  HostLock lock = MKRUN_TRY(HostLock::acquire(s.config.lock));
  MKRUN_CHECK(check_ihk_loaded(*s.ihk, s.config));
  MKRUN_CHECK(check_build_id(s.config));
  std::vector<Claim> all = MKRUN_TRY(s.registry.all());
  // Repair first: what a killed boot or reset left, what failed, what the pool no longer wants.
  for (const Claim& pooled : pool_claims(all)) {
    if (!lent_to(pooled, all).empty()) continue;
    if (pool_index(pooled.token) < s.config.pool && !pooled.retiring && is_healthy(s, pooled))
      continue;
    ClaimOnlyJournal own;
    Session ps = pool_session(s, own, pooled);
    MKRUN_CHECK(release_and_forget(ps, warn));
  }
  for (int index = 0; index < s.config.pool; ++index) {
    all = MKRUN_TRY(s.registry.all());
    if (std::ranges::find(all, pool_token(index), &Claim::token) != all.end()) continue;
    ClaimOnlyJournal own;
    Session ps = pool_session(s, own, fresh_pool_claim(s.config, index));
    MKRUN_CHECK(boot_pooled(ps, others_than(all, ps.claim.token)));
  }
  return pool_claims(MKRUN_TRY(s.registry.all()));
}

Result<void> drain_pool(const std::string& config, const McKernelBackend::IhkLoader& loader,
                        const Warn& warn) {
  ClaimOnlyJournal journal;
  Session s = MKRUN_TRY(open_root_session(loader, journal, config));
  HostLock lock = MKRUN_TRY(HostLock::acquire(s.config.lock));
  std::vector<Claim> all = MKRUN_TRY(s.registry.all());
  for (Claim pooled : pool_claims(all)) {
    ClaimOnlyJournal own;
    Session ps = pool_session(s, own, pooled);
    if (std::string user = lent_to(pooled, all); !user.empty()) {
      ps.claim.retiring = true;
      MKRUN_CHECK(ps.record());
      if (warn)
        warn("pool instance " + pooled.token + " is lent to container " + user +
             ": released at its delete");
      continue;
    }
    MKRUN_CHECK(release_and_forget(ps, warn));
  }
  return {};
}

}  // namespace mkrun::lwk
