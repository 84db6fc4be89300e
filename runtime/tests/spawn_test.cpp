// The Spawner's rules that hold without cloning anything: the order of its steps, runc's console
// options, and the single-thread check its clone relies on.
#include <catch2/catch.hpp>

#include <mutex>
#include <thread>

#include "cgroups/manager.hpp"
#include "container/spawn.hpp"
#include "core/proc.hpp"

using namespace mkrun;
using runtime::internal::check_console_options;
using runtime::internal::Spawner;

namespace {

// The disabled manager: nothing to create, nothing to thaw.
std::unique_ptr<cgroups::Manager> no_cgroup() {
  auto manager = cgroups::plan_new_cgroup(cgroups::Host{}, cgroups::CgroupPath{"/t", true},
                                          cgroups::Driver::kDisabled);
  REQUIRE(manager);
  return std::move(*manager);
}

std::string error_of(const Result<void>& result) {
  REQUIRE_FALSE(result);
  return result.error().what();
}

}  // namespace

TEST_CASE("spawner: a step out of order is refused, naming both steps", "[spawn]") {
  plan::PreparedPlan prepared;
  auto cgroup = no_cgroup();
  Spawner spawner(prepared, *cgroup);
  CHECK(error_of(spawner.started()) == "spawn the process: started cannot follow new");
  CHECK(error_of(spawner.go()) == "spawn the process: go cannot follow new");
  CHECK(error_of(spawner.clone()) == "spawn the process: clone cannot follow new");
  Spawner::Setup setup;
  setup.what = "exec process";
  setup.child_joins_cgroup = false;
  REQUIRE(spawner.prepare(setup));
  CHECK(prepared.plan.proc_fd >= 0);
  CHECK(error_of(spawner.prepare(setup)) ==
        "spawn the exec process: prepare cannot follow prepare");
  CHECK(error_of(spawner.ready(true)) == "spawn the exec process: ready cannot follow prepare");
  CHECK(spawner.pid() == 0);  // nothing was cloned, nothing to kill
}

TEST_CASE("spawner: runc's rules for a terminal and a console socket", "[spawn]") {
  const std::string no_socket_for_tty =
      "cannot allocate tty if mkrun will detach without setting console socket";
  const std::string socket_unused =
      "cannot use console socket if mkrun will not detach or allocate tty";
  // terminal, detach, socket
  CHECK(check_console_options(true, true, true));
  CHECK(check_console_options(true, false, false));
  CHECK(check_console_options(false, true, false));
  CHECK(check_console_options(false, false, false));
  CHECK(error_of(check_console_options(true, true, false)) == no_socket_for_tty);
  CHECK(error_of(check_console_options(false, true, true)) == socket_unused);
  CHECK(error_of(check_console_options(true, false, true)) == socket_unused);
  CHECK(error_of(check_console_options(false, false, true)) == socket_unused);
}

TEST_CASE("spawner: the thread count the clone checks is this process's", "[spawn]") {
  auto procfs = proc::open_verified_root();
  REQUIRE(procfs);
  auto alone = proc::thread_count(procfs->get());
  REQUIRE(alone);
  long before = *alone;
  std::thread other([&] {
    auto together = proc::thread_count(procfs->get());
    REQUIRE(together);
    CHECK(*together == before + 1);
  });
  other.join();
}

TEST_CASE("spawner: no clone while another thread runs", "[spawn]") {
  plan::PreparedPlan prepared;
  auto cgroup = no_cgroup();
  Spawner spawner(prepared, *cgroup);
  Spawner::Setup setup;
  setup.child_joins_cgroup = false;
  REQUIRE(spawner.prepare(setup));
  std::mutex lock;
  std::unique_lock held(lock);
  std::thread waiting([&] { std::lock_guard wait_for_the_test(lock); });
  auto cloned = spawner.clone();
  held.unlock();
  waiting.join();
  CHECK_THAT(error_of(cloned), Catch::Contains(" threads: it must be single-threaded to clone"));
  CHECK(spawner.pid() == 0);
}
