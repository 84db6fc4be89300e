// Layout detection from mountinfo and /proc/self/cgroup text.
#include <catch2/catch.hpp>

#include <string>

#include "cgroups/manager.hpp"

namespace mkrun::cgroups {
namespace {

// This development host: tmpfs with v1 hierarchies (cpu and cpuacct mounted separately) and a
// cgroup2 at /sys/fs/cgroup/unified that holds hugetlb.
constexpr std::string_view kHybridMountinfo =
    "22 1 8:1 / / rw,relatime - ext4 /dev/root rw\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
    "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

constexpr std::string_view kHybridProcCgroup =
    "9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n5:devices:/\n"
    "4:memory:/process_api/20fb9396140f8cca5cab122e5ca77154\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n"
    "0::/\n";

// A systemd host with only cgroup2.
constexpr std::string_view kV2Mountinfo =
    "24 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
    "29 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";

const Hierarchy& at(const Host& host, std::string_view mount_point) {
  for (const Hierarchy& hierarchy : host.hierarchies) {
    if (hierarchy.mount_point == mount_point) return hierarchy;
  }
  static const Hierarchy kNone;
  FAIL_CHECK("no hierarchy at " << mount_point);
  return kNone;
}

TEST_CASE("parse_host reads the hybrid layout of the development host", "[cgroups]") {
  auto host = parse_host(kHybridMountinfo, kHybridProcCgroup, "hugetlb\n");
  REQUIRE(host);
  CHECK(host->layout == Layout::kHybrid);
  REQUIRE(host->hierarchies.size() == 10);
  CHECK(host->hierarchies.front().mount_point == "/sys/fs/cgroup/cpu");
  CHECK(at(*host, "/sys/fs/cgroup/cpuacct").controllers == std::vector<std::string>{"cpuacct"});
  CHECK(at(*host, "/sys/fs/cgroup/systemd").controllers ==
        std::vector<std::string>{"name=systemd"});
  CHECK(at(*host, "/sys/fs/cgroup/memory").own_path ==
        "/process_api/20fb9396140f8cca5cab122e5ca77154");
  CHECK(at(*host, "/sys/fs/cgroup/pids").own_path == "/");

  const Hierarchy* unified = host->unified();
  REQUIRE(unified);
  CHECK(unified->mount_point == "/sys/fs/cgroup/unified");
  CHECK(unified->controllers == std::vector<std::string>{"hugetlb"});
  CHECK(unified->own_path == "/");
  CHECK_FALSE(unified->has("memory"));

  CHECK(host->v1_with("memory")->mount_point == "/sys/fs/cgroup/memory");
  CHECK(host->v1_with("hugetlb") == nullptr);
  CHECK(host->v1_with("name=systemd")->mount_point == "/sys/fs/cgroup/systemd");
}

TEST_CASE("parse_host leaves the unified controllers empty unless given", "[cgroups]") {
  auto host = parse_host(kHybridMountinfo, kHybridProcCgroup);
  REQUIRE(host);
  REQUIRE(host->unified());
  CHECK(host->unified()->controllers.empty());
}

TEST_CASE("parse_host reads a pure cgroup v2 host", "[cgroups]") {
  auto host = parse_host(kV2Mountinfo, "0::/user.slice/user-1000.slice/session-2.scope\n",
                         "cpuset cpu io memory hugetlb pids rdma misc\n");
  REQUIRE(host);
  CHECK(host->layout == Layout::kV2);
  REQUIRE(host->hierarchies.size() == 1);
  const Hierarchy& unified = host->hierarchies[0];
  CHECK(unified.unified);
  CHECK(unified.mount_point == "/sys/fs/cgroup");
  CHECK(unified.own_path == "/user.slice/user-1000.slice/session-2.scope");
  CHECK(unified.controllers.size() == 8);
  CHECK(unified.has("io"));
  CHECK(host->v1_with("memory") == nullptr);
}

TEST_CASE("parse_host reads a pure v1 host with co-mounted controllers", "[cgroups]") {
  constexpr std::string_view mountinfo =
      "25 24 0:21 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:9 - cgroup "
      "cgroup rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd\n"
      "27 24 0:23 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:10 - "
      "cgroup cgroup rw,cpu,cpuacct\n"
      "28 24 0:24 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid shared:11 - cgroup cgroup "
      "rw,net_cls,net_prio\n"
      "29 24 0:25 / /sys/fs/cgroup/memory rw,nosuid shared:12 - cgroup cgroup rw,memory\n";
  constexpr std::string_view proc =
      "4:memory:/user.slice\n3:net_cls,net_prio:/\n2:cpu,cpuacct:/user.slice\n"
      "1:name=systemd:/user.slice/user-0.slice/session-1.scope\n";
  auto host = parse_host(mountinfo, proc);
  REQUIRE(host);
  CHECK(host->layout == Layout::kV1);
  CHECK(host->unified() == nullptr);
  REQUIRE(host->hierarchies.size() == 4);
  CHECK(host->hierarchies[0].controllers == std::vector<std::string>{"name=systemd"});
  CHECK(host->hierarchies[0].own_path == "/user.slice/user-0.slice/session-1.scope");
  CHECK(host->hierarchies[1].controllers == std::vector<std::string>{"cpu", "cpuacct"});
  CHECK(host->v1_with("cpuacct") == &host->hierarchies[1]);
  CHECK(host->v1_with("cpu")->own_path == "/user.slice");
  CHECK(host->v1_with("net_prio")->mount_point == "/sys/fs/cgroup/net_cls,net_prio");
}

TEST_CASE("parse_host keeps the first mount of a hierarchy mounted twice", "[cgroups]") {
  constexpr std::string_view mountinfo =
      "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
      "90 88 0:32 / /var/lib/x/memory rw - cgroup cgroup rw,memory\n"
      "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
      "91 88 0:38 / /var/lib/x/unified rw - cgroup2 cgroup2 rw\n";
  auto host = parse_host(mountinfo, "4:memory:/\n0::/\n");
  REQUIRE(host);
  REQUIRE(host->hierarchies.size() == 2);
  CHECK(host->hierarchies[0].mount_point == "/sys/fs/cgroup/memory");
  CHECK(host->hierarchies[1].mount_point == "/sys/fs/cgroup/unified");
}

TEST_CASE("parse_host makes own_path relative to the mount's root", "[cgroups]") {
  // Inside a container without a cgroup namespace: the mount shows /docker/abc only.
  constexpr std::string_view mountinfo =
      "35 31 0:32 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n"
      "36 31 0:33 /docker/abc /sys/fs/cgroup/pids ro - cgroup cgroup rw,pids\n"
      "37 31 0:34 /docker/abc /sys/fs/cgroup/cpu ro - cgroup cgroup rw,cpu\n";
  auto host =
      parse_host(mountinfo, "3:memory:/docker/abc/inner\n2:pids:/docker/abc\n1:cpu:/elsewhere\n");
  REQUIRE(host);
  CHECK(host->v1_with("memory")->own_path == "/inner");
  CHECK(host->v1_with("pids")->own_path == "/");
  CHECK(host->v1_with("cpu")->own_path == "/elsewhere");
}

TEST_CASE("parse_host reads optional fields, escapes and unknown controllers", "[cgroups]") {
  constexpr std::string_view mountinfo =
      "50 31 0:40 / /mnt/cg\\040v1 rw,relatime shared:3 master:1 - cgroup cgroup "
      "rw,nosuid,newctl,clone_children\n"
      "51 31 0:41 / /mnt/named rw - cgroup none rw,name=mine\n"
      "52 31 0:42 / /mnt/nothing rw - cgroup none rw,noprefix\n"
      "53 31 0:43 / /mnt/proc rw - proc proc rw\n";
  auto host = parse_host(mountinfo, "2:newctl:/a\n1:name=mine:/b\n");
  REQUIRE(host);
  REQUIRE(host->hierarchies.size() == 2);  // the mount with no controller is ignored
  CHECK(host->hierarchies[0].mount_point == "/mnt/cg v1");
  CHECK(host->hierarchies[0].controllers == std::vector<std::string>{"newctl"});
  CHECK(host->hierarchies[0].own_path == "/a");
  CHECK(host->hierarchies[1].controllers == std::vector<std::string>{"name=mine"});
  CHECK(host->hierarchies[1].own_path == "/b");
}

TEST_CASE("parse_host fails without any cgroup mount", "[cgroups]") {
  auto host = parse_host("22 1 8:1 / / rw,relatime - ext4 /dev/root rw\n", "0::/\n");
  REQUIRE_FALSE(host);
  CHECK(host.error().render().find("no cgroup file system is mounted") != std::string::npos);
}

TEST_CASE("detect_host reads this machine", "[cgroups]") {
  auto host = detect_host();
  REQUIRE(host);
  REQUIRE_FALSE(host->hierarchies.empty());
  if (host->layout != Layout::kV1) {
    REQUIRE(host->unified());
  }
}

}  // namespace
}  // namespace mkrun::cgroups
