// The three cgroup drivers as peers: their names in the record, which peer the factories pick,
// and the disabled peer's behaviour (no directory, no limit, errors that say why).
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "cgroups/manager.hpp"
#include "cgroups/stats.hpp"
#include "cgroups/tests/fake_tree.hpp"

namespace mkrun::cgroups {
namespace {

// A hybrid host in a fake tree: memory and freezer v1 hierarchies plus the unified one.
Host hybrid_host(const FakeTree& tree) {
  std::string mountinfo = tree.mount("memory", "cgroup", "rw,memory") +
                          tree.mount("freezer", "cgroup", "rw,freezer") +
                          tree.mount("unified", "cgroup2", "rw");
  auto host = parse_host(mountinfo, "0::/\n", "hugetlb");
  REQUIRE(host);
  return *host;
}

std::unique_ptr<Manager> planned(const Host& host, Driver driver) {
  auto path = resolve_cgroups_path("/c", "ctr", false);
  REQUIRE(path);
  auto manager = plan_new_cgroup(host, *path, driver);
  REQUIRE(manager);
  return std::move(*manager);
}

std::vector<std::string> entries_of(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  return names;
}

oci::Resources memory_limit() {
  oci::Resources resources;
  resources.memory.emplace();
  resources.memory->limit = 64 << 20;
  return resources;
}

}  // namespace

TEST_CASE("driver names round-trip; an empty or old record means cgroupfs", "[cgroups]") {
  for (Driver driver : {Driver::kCgroupfs, Driver::kSystemd, Driver::kDisabled}) {
    auto named = driver_named(driver_name(driver));
    REQUIRE(named);
    CHECK(*named == driver);
  }
  CHECK(driver_named("") == Driver::kCgroupfs);
  auto unknown = driver_named("cgroupv3");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().render() == "unknown cgroup driver `cgroupv3` in the container's state");
}

TEST_CASE("the factories pick the peer the driver names, and reopen it from the record",
          "[cgroups]") {
  FakeTree tree;
  Host host = hybrid_host(tree);
  for (Driver driver : {Driver::kCgroupfs, Driver::kSystemd, Driver::kDisabled}) {
    auto manager = planned(host, driver);
    CHECK(manager->driver() == driver);
    state::CgroupRecord record = manager->record();
    CHECK(record.driver == driver_name(driver));
    auto reopened = open_cgroup(host, record);
    REQUIRE(reopened);
    CHECK((*reopened)->driver() == driver);
    CHECK((*reopened)->directories() == record.directories);
  }
  // Both directory peers place the cgroup alike; systemd only adds the unit.
  CHECK(planned(host, Driver::kSystemd)->directories() ==
        planned(host, Driver::kCgroupfs)->directories());
  // A record written before the driver field was filled in.
  auto old = open_cgroup(host, state::CgroupRecord{"", {tree.path("memory/c")}, true});
  REQUIRE(old);
  CHECK((*old)->driver() == Driver::kCgroupfs);
  CHECK(open_cgroup(host, state::CgroupRecord{"bogus", {}, true}).error().render() ==
        "unknown cgroup driver `bogus` in the container's state");
}

TEST_CASE("disabled: no directory in any hierarchy, no limit, nothing to remove", "[cgroups]") {
  FakeTree tree;
  Host host = hybrid_host(tree);
  auto manager = planned(host, Driver::kDisabled);
  CHECK(manager->record().directories.empty());
  CHECK_FALSE(manager->record().owned);
  CHECK(manager->directories().empty());
  CHECK(manager->layout() == Layout::kHybrid);

  REQUIRE_FALSE(manager->frozen_before_join().value_or(true));
  REQUIRE(manager->create());
  // crun's rule: a new container's limits are not applied, and that is not an error.
  REQUIRE(manager->apply(memory_limit(), false));
  REQUIRE(manager->adopt(4242, nullptr));
  REQUIRE(manager->add_process(4242));
  REQUIRE(manager->add_process_to_unified(4242));
  for (const char* hierarchy : {"memory", "freezer", "unified"}) {
    CHECK(entries_of(tree.path(hierarchy)).empty());
  }
  CHECK(manager->v1_task_files().empty());
  auto unified = manager->open_unified_dir();
  REQUIRE(unified);
  CHECK_FALSE(*unified);
  CHECK(manager->directory_of("memory").empty());
  CHECK(manager->directory_of("").empty());
  REQUIRE(manager->destroy());
}

TEST_CASE("disabled: what needs a cgroup fails and says so", "[cgroups]") {
  FakeTree tree;
  auto manager = planned(hybrid_host(tree), Driver::kDisabled);
  auto says = [](const auto& result, const std::string& action) {
    REQUIRE_FALSE(result);
    CHECK(result.error().render() ==
          "cannot " + action + ": the container has no cgroup (its cgroup manager is disabled)");
  };
  says(manager->pids(), "list the container's processes");
  says(manager->freeze(), "pause the container");
  says(manager->thaw(), "resume the container");
  says(manager->update(memory_limit()), "set limits");
  says(read_stats(*manager, {}), "read statistics");
  // Not frozen, so `state` says running; an update without limits has nothing to refuse.
  CHECK(manager->is_frozen() == false);
  REQUIRE(manager->update(oci::Resources{}));
  // Nothing to list, nothing to signal: `kill --all` signals the init instead (common.cpp).
  REQUIRE(manager->kill_all(9));
}

}  // namespace mkrun::cgroups
