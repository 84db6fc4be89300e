// The cgroup statistics: each file format from sample contents (taken from kernel 6.18 and
// runc's own test data), then read_stats() on fake v1, v2 and hybrid trees.
#include <catch2/catch.hpp>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "cgroups/stats.hpp"
#include "cgroups/tests/fake_tree.hpp"

namespace mkrun::cgroups {
namespace {

namespace fs = std::filesystem;

template <class T>
const T& ok(const Result<T>& result) {
  if (!result) FAIL(result.error().render());
  return *result;
}

TEST_CASE("cgroup numbers as runc reads them", "[stats]") {
  CHECK(ok(parse_cgroup_uint("4096\n", "f")) == 4096);
  CHECK(ok(parse_cgroup_uint("max\n", "f")) == std::numeric_limits<uint64_t>::max());
  CHECK(ok(parse_cgroup_uint("-1", "f")) == 0);
  CHECK(ok(parse_cgroup_int("-1\n", "f")) == -1);
  auto bad = parse_cgroup_uint("12a", "/sys/x/pids.max");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().what() == "parse `/sys/x/pids.max`: not a number: \"12a\"");
}

TEST_CASE("flat keyed files", "[stats]") {
  auto keyed = ok(parse_flat_keyed("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n", "f"));
  CHECK(keyed.at("oom_kill") == 3);
  CHECK(keyed.size() == 3);
  auto bad = parse_flat_keyed("cache 1\nrss\n", "/m/memory.stat");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().what() == "parse `/m/memory.stat`: line \"rss\" is not \"key value\"");
}

TEST_CASE("cpu lists and per-cpu usage", "[stats]") {
  CHECK(ok(parse_cpu_list("0-3,5\n", "f")) == std::vector<uint16_t>{0, 1, 2, 3, 5});
  CHECK(ok(parse_cpu_list("\n", "f")).empty());
  CHECK_FALSE(parse_cpu_list("3-1", "f"));
  CHECK(ok(parse_uint_list("575616 9141615 \n", "f")) == std::vector<uint64_t>{575616, 9141615});
  auto modes = ok(parse_cpuacct_usage_all("cpu user system\n0 10 20\n1 30 40\n", "f"));
  CHECK(modes.user == std::vector<uint64_t>{10, 30});
  CHECK(modes.kernel == std::vector<uint64_t>{20, 40});
}

TEST_CASE("v1 blkio files and v2 io.stat", "[stats]") {
  auto entries = ok(parse_blkio_file("8:0 Read 4096\n8:0 Write 0\n8:16 12\nTotal 4096\n", "f"));
  REQUIRE(entries.size() == 3);
  CHECK(entries[0] == oci::BlkioEntry{8, 0, "Read", 4096});
  CHECK(entries[2] == oci::BlkioEntry{8, 16, "", 12});
  CHECK_FALSE(parse_blkio_file("8:0 Read\n", "f"));

  auto io = ok(parse_io_stat("8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=5 dios=6\n", "f"));
  CHECK(io.io_service_bytes_recursive ==
        std::vector<oci::BlkioEntry>{{8, 0, "Read", 1}, {8, 0, "Write", 2}});
  CHECK(io.io_serviced_recursive ==
        std::vector<oci::BlkioEntry>{{8, 0, "Read", 3}, {8, 0, "Write", 4}});
}

TEST_CASE("hugepage sizes from /sys/kernel/mm/hugepages names", "[stats]") {
  CHECK(hugepage_sizes_from_names({".", "..", "hugepages-1048576kB", "hugepages-2048kB",
                                   "hugepages-64kB", "hugepages-xkB", "other"}) ==
        std::vector<std::string>{"1GB", "2MB", "64KB"});
}

std::unique_ptr<Manager> container_manager(std::string_view mountinfo,
                                           std::string_view unified_controllers) {
  auto host = parse_host(mountinfo, "0::/\n", unified_controllers);
  REQUIRE(host);
  state::CgroupRecord record;
  record.driver = "cgroupfs";
  for (const Hierarchy& hierarchy : host->hierarchies) {
    record.directories.push_back(hierarchy.mount_point + "/ctr");
  }
  auto manager = open_cgroup(*host, record);
  REQUIRE(manager);
  return std::move(*manager);
}

TEST_CASE("read_stats on a v1 tree, with hugetlb from the unified hierarchy (hybrid)", "[stats]") {
  FakeTree tree;
  std::string mountinfo =
      tree.mount("cpu", "cgroup", "rw,cpu") + tree.mount("cpuacct", "cgroup", "rw,cpuacct") +
      tree.mount("cpuset", "cgroup", "rw,cpuset") + tree.mount("memory", "cgroup", "rw,memory") +
      tree.mount("pids", "cgroup", "rw,pids") + tree.mount("blkio", "cgroup", "rw,blkio") +
      tree.mount("unified", "cgroup2", "rw");
  tree.touch("cpu/ctr/cpu.stat", "nr_periods 4\nnr_throttled 1\nthrottled_time 500\n");
  tree.touch("cpuacct/ctr/cpuacct.stat", "user 2\nsystem 1\n");
  tree.touch("cpuacct/ctr/cpuacct.usage", "9717231\n");
  tree.touch("cpuacct/ctr/cpuacct.usage_percpu", "575616 9141615 \n");
  tree.touch("cpuacct/ctr/cpuacct.usage_all", "cpu user system\n0 0 0\n1 4000000 4000000\n");
  tree.touch("cpuset/ctr/cpuset.cpus", "0-1\n");
  tree.touch("cpuset/ctr/cpuset.mems", "0\n");
  tree.touch("cpuset/ctr/cpuset.sched_load_balance", "1\n");
  tree.touch("cpuset/ctr/cpuset.sched_relax_domain_level", "-1\n");
  tree.touch("memory/ctr/memory.stat", "cache 4096\nrss 1417216\n");
  tree.touch("memory/ctr/memory.usage_in_bytes", "2248704\n");
  tree.touch("memory/ctr/memory.max_usage_in_bytes", "2252800\n");
  tree.touch("memory/ctr/memory.limit_in_bytes", "67108864\n");
  tree.touch("memory/ctr/memory.failcnt", "0\n");
  tree.touch("memory/ctr/memory.memsw.usage_in_bytes", "2248704\n");
  tree.touch("memory/ctr/memory.memsw.limit_in_bytes", "9223372036854771712\n");
  tree.touch("pids/ctr/pids.current", "5\n");
  tree.touch("pids/ctr/pids.max", "max\n");
  tree.touch("blkio/ctr/blkio.bfq.io_serviced_recursive", "");  // BFQ without statistics yet
  tree.touch("blkio/ctr/blkio.throttle.io_serviced_recursive", "8:0 Read 3\nTotal 3\n");
  tree.touch("blkio/ctr/blkio.throttle.io_service_bytes_recursive", "8:0 Read 12288\n");
  tree.touch("unified/ctr/hugetlb.2MB.current", "2097152\n");
  tree.touch("unified/ctr/hugetlb.2MB.events", "max 2\n");

  auto manager = container_manager(mountinfo, "hugetlb");
  CHECK(manager->layout() == Layout::kHybrid);
  oci::Stats stats = ok(read_stats(*manager, {"1GB", "2MB"}));
  CHECK(stats.cpu.throttling.periods == 4);
  CHECK(stats.cpu.throttling.throttled_time == 500);
  CHECK(stats.cpu.usage.total == 9717231);
  CHECK(stats.cpu.usage.percpu_user == std::vector<uint64_t>{0, 4000000});
  CHECK(stats.cpu.usage.user > 0);
  CHECK(stats.cpuset.cpus == std::vector<uint16_t>{0, 1});
  CHECK(stats.cpuset.sched_relax_domain_level == -1);
  CHECK(stats.memory.cache == 4096);
  CHECK(stats.memory.usage.limit == 67108864);
  CHECK(stats.memory.usage.max == 2252800);
  CHECK(stats.memory.swap.limit == 9223372036854771712ULL);
  CHECK(stats.memory.kernel.usage == 0);  // no kmem files: zero, as runc
  CHECK(stats.memory.raw.at("rss") == 1417216);
  CHECK(stats.pids.current == 5);
  CHECK(stats.pids.limit == 0);
  CHECK(stats.blkio.io_serviced_recursive == std::vector<oci::BlkioEntry>{{8, 0, "Read", 3}});
  CHECK(stats.blkio.io_service_bytes_recursive ==
        std::vector<oci::BlkioEntry>{{8, 0, "Read", 12288}});
  REQUIRE(stats.hugetlb.size() == 1);
  CHECK(stats.hugetlb.at("2MB").usage == 2097152);
  CHECK(stats.hugetlb.at("2MB").failcnt == 2);

  auto counter = oom_counter(*manager);
  REQUIRE(counter);
  CHECK(counter->file == "memory.oom_control");
  tree.touch("memory/ctr/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
  CHECK(ok(read_oom_kills(*counter)) == 2);
}

TEST_CASE("read_stats on a v2 tree", "[stats]") {
  FakeTree tree;
  std::string mountinfo = tree.mount("unified", "cgroup2", "rw");
  tree.touch("unified/ctr/cpu.stat",
             "usage_usec 100\nuser_usec 60\nsystem_usec 40\nnr_periods 3\nnr_throttled 2\n"
             "throttled_usec 7\n");
  tree.touch("unified/ctr/memory.stat", "anon 8192\nfile 4096\n");
  tree.touch("unified/ctr/memory.current", "12288\n");
  tree.touch("unified/ctr/memory.max", "1048576\n");
  tree.touch("unified/ctr/memory.swap.current", "4096\n");
  tree.touch("unified/ctr/memory.swap.max", "max\n");
  tree.touch("unified/ctr/memory.events", "low 0\nhigh 0\nmax 1\noom 1\noom_kill 1\n");
  tree.touch("unified/ctr/cgroup.procs", "10\n11\n");  // no pids controller: counted
  tree.touch("unified/ctr/io.stat", "8:0 rbytes=1 wbytes=2 rios=3 wios=4\n");
  tree.touch("unified/ctr/cpuset.cpus.effective", "0-1\n");

  auto manager = container_manager(mountinfo, "cpu memory io cpuset");
  CHECK(manager->layout() == Layout::kV2);
  oci::Stats stats = ok(read_stats(*manager, {"2MB"}));
  CHECK(stats.cpu.usage.total == 100000);
  CHECK(stats.cpu.usage.user == 60000);
  CHECK(stats.cpu.usage.kernel == 40000);
  CHECK(stats.cpu.throttling.throttled_time == 7000);
  CHECK(stats.memory.cache == 4096);
  CHECK(stats.memory.usage.usage == 12288);
  CHECK(stats.memory.usage.limit == 1048576);
  CHECK(stats.memory.swap.usage == 4096 + 12288);  // v1's memory + swap
  CHECK(stats.memory.swap.limit == std::numeric_limits<uint64_t>::max());
  CHECK(stats.pids.current == 2);
  CHECK(stats.blkio.io_service_bytes_recursive.size() == 2);
  CHECK(stats.cpuset.cpus == std::vector<uint16_t>{0, 1});
  CHECK(stats.hugetlb.empty());

  auto counter = oom_counter(*manager);
  REQUIRE(counter);
  CHECK(counter->file == "memory.events");
  CHECK(ok(read_oom_kills(*counter)) == 1);
}

}  // namespace
}  // namespace mkrun::cgroups
