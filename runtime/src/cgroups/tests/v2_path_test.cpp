// Where a relative cgroupsPath lands on pure cgroup v2: under the parent of the caller's own
// cgroup, as runc's fs2 driver puts it (the caller's cgroup has processes, so its children could
// not get domain controllers). v1 and hybrid keep runc's v1 rule: under the caller's own cgroup.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "cgroups/manager.hpp"

namespace mkrun::cgroups {
namespace {

constexpr const char* kUnifiedMount =
    "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec - cgroup2 cgroup2 rw,nsdelegate\n";
constexpr const char* kHybridMounts =
    "31 23 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
    "32 23 0:28 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";

std::vector<std::string> directories_for(std::string_view mountinfo, std::string_view proc_cgroup,
                                         std::string_view cgroups_path) {
  auto host = parse_host(mountinfo, proc_cgroup, "memory pids");
  REQUIRE(host);
  auto path = resolve_cgroups_path(cgroups_path, "ctr", false);
  REQUIRE(path);
  auto manager = plan_new_cgroup(*host, *path, Driver::kCgroupfs);
  REQUIRE(manager);
  return (*manager)->directories();
}

TEST_CASE("v2: a relative cgroupsPath goes under the parent of the caller's cgroup", "[cgroups]") {
  std::string proc = "0::/system.slice/containerd.service\n";
  CHECK(directories_for(kUnifiedMount, proc, "") ==
        std::vector<std::string>{"/sys/fs/cgroup/system.slice/ctr"});
  CHECK(directories_for(kUnifiedMount, proc, "pods/x") ==
        std::vector<std::string>{"/sys/fs/cgroup/system.slice/pods/x"});
  // A caller in the root cgroup, or just below it: the root.
  CHECK(directories_for(kUnifiedMount, "0::/\n", "") ==
        std::vector<std::string>{"/sys/fs/cgroup/ctr"});
  CHECK(directories_for(kUnifiedMount, "0::/init.scope\n", "") ==
        std::vector<std::string>{"/sys/fs/cgroup/ctr"});
  // Absolute paths are unchanged.
  CHECK(directories_for(kUnifiedMount, proc, "/a/b") ==
        std::vector<std::string>{"/sys/fs/cgroup/a/b"});
}

TEST_CASE("hybrid: a relative cgroupsPath stays under the caller's own cgroups", "[cgroups]") {
  std::string proc = "4:memory:/m\n0::/u\n";
  CHECK(directories_for(kHybridMounts, proc, "") ==
        std::vector<std::string>{"/sys/fs/cgroup/unified/u/ctr", "/sys/fs/cgroup/memory/m/ctr"});
}

}  // namespace
}  // namespace mkrun::cgroups
