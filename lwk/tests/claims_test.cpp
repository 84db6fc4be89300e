#include <sys/stat.h>
#include <catch2/catch.hpp>
#include <cstdlib>

#include "mkrun/lwk/claims.hpp"

using namespace mkrun;
using namespace mkrun::lwk;

namespace {
Claim sample() {
  Claim claim;
  claim.token = "c1.0011223344556677";
  claim.container = "c1";
  claim.device = 0;
  claim.cpus = ihk::CpuList::parse("5,4").value();
  claim.mem = ihk::MemList::parse("1G@0").value();
  claim.os = 3;
  claim.os_before = std::vector<int>{0, 1};
  claim.os_node = 123456789012ull;
  claim.pid_namespace = "ns:4:4026531836";
  claim.step = "boot";
  claim.device_node = "240:3";
  return claim;
}
}  // namespace

TEST_CASE("a claim survives the journal and the claim file", "[claims]") {
  Claim claim = sample();
  auto entries = to_journal(claim);
  CHECK(entries.at("mckernel.cpus") == "5,4");
  CHECK(entries.at("mckernel.os-before") == "[0,1]");
  auto back = from_journal(entries);
  REQUIRE(back);
  CHECK(back->token == claim.token);
  CHECK(back->cpus == claim.cpus);
  CHECK(back->mem == claim.mem);
  CHECK(back->os == 3);
  CHECK(back->os_before == std::vector<int>{0, 1});
  CHECK(back->os_node == 123456789012ull);
  CHECK(back->pid_namespace == "ns:4:4026531836");
  CHECK(back->reached() == ihk::Step::kBoot);
  CHECK(back->device_node == "240:3");
}

TEST_CASE("a job's claim and an unprivileged attach survive the journal", "[claims]") {
  Claim job = sample();
  job.mode = Mode::kJob;
  job.job = "42";
  job.user = 65534;
  auto fields = to_fields(job);
  CHECK(fields.at("mode") == "job");
  CHECK(fields.at("user") == "65534");
  auto back = from_fields(fields);
  REQUIRE(back);
  CHECK(back->mode == Mode::kJob);
  CHECK(back->job == "42");
  CHECK(back->user == 65534u);
  CHECK_FALSE(back->unprivileged);
  Claim attach = sample();
  attach.mode = Mode::kAttach;
  attach.unprivileged = true;
  back = from_journal(to_journal(attach));
  REQUIRE(back);
  CHECK(back->mode == Mode::kAttach);
  CHECK(back->unprivileged);
  CHECK_FALSE(back->user);
  CHECK_FALSE(from_fields({{"user", "x"}}));
}

TEST_CASE("an empty snapshot of instances is not a missing one", "[claims]") {
  Claim claim = sample();
  claim.os_before = std::vector<int>{};
  claim.os.reset();
  auto back = from_journal(to_journal(claim));
  REQUIRE(back);
  CHECK(back->os_before == std::vector<int>{});
  CHECK_FALSE(back->os);
  claim.os_before.reset();
  CHECK_FALSE(from_journal(to_journal(claim))->os_before);
  CHECK(from_journal({})->token.empty());
}

TEST_CASE("the registry lists, saves and removes claims", "[claims]") {
  char pattern[] = "/tmp/mkrun-claims-XXXXXX";
  std::string dir = ::mkdtemp(pattern);
  ClaimRegistry registry(dir + "/claims");
  CHECK(registry.all()->empty());
  REQUIRE(registry.save(sample()));
  auto all = registry.all();
  REQUIRE(all);
  REQUIRE(all->size() == 1);
  CHECK((*all)[0].os == 3);
  // listable by all; a container's claim (with its key) root's only, a job's readable by all
  struct stat info {};
  REQUIRE(::stat((dir + "/claims").c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0755);
  REQUIRE(::stat((dir + "/claims/" + sample().token + ".claim").c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  Claim job = sample();
  job.token = "job.42";
  job.mode = Mode::kJob;
  REQUIRE(registry.save(job));
  REQUIRE(::stat((dir + "/claims/job.42.claim").c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0644);
  REQUIRE(registry.remove("job.42"));
  REQUIRE(registry.remove(sample().token));
  REQUIRE(registry.remove(sample().token));  // idempotent
  CHECK(registry.all()->empty());
  auto lock = HostLock::acquire(dir + "/lock");
  CHECK(lock);
  (void)std::system(("rm -rf " + dir).c_str());
}

TEST_CASE("claim keys are secret-sized, fresh and kept", "[claims]") {
  std::string key = new_claim_key();
  CHECK(key.size() == 32);
  CHECK(key != new_claim_key());
  Claim claim = sample();
  claim.key = key;
  CHECK(from_journal(to_journal(claim))->key == key);
}

TEST_CASE("claim tokens are unique", "[claims]") {
  CHECK(new_claim_token("c") != new_claim_token("c"));
  CHECK(new_claim_token("c").starts_with("c."));
}

TEST_CASE("a pool instance and the container lent it survive the journal", "[claims]") {
  Claim pooled = sample();
  pooled.mode = Mode::kPool;
  pooled.token = "pool.1";
  pooled.retiring = true;
  auto fields = to_fields(pooled);
  CHECK(fields.at("mode") == "pool");
  CHECK(fields.at("retiring") == "yes");
  auto back = from_fields(fields);
  REQUIRE(back);
  CHECK(back->mode == Mode::kPool);
  CHECK(back->retiring);
  CHECK(back->pool.empty());
  Claim lent = sample();
  lent.pool = "pool.1";
  lent.step = std::string(kPooled);
  back = from_journal(to_journal(lent));
  REQUIRE(back);
  CHECK(back->mode == Mode::kDedicated);
  CHECK(back->pool == "pool.1");
  CHECK(back->step == "pooled");
  CHECK_FALSE(back->retiring);
}
