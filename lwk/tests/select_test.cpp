#include <catch2/catch.hpp>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "mkrun/lwk/select.hpp"

using namespace mkrun;
using namespace mkrun::lwk;
using ihk::CpuList;
using ihk::MemList;

namespace {

CpuList cpus(const char* text) {
  return CpuList::parse(text).value();
}

// Two NUMA nodes: 0-7 on node 0, 8-15 on node 1; pool 1-15, 8G per node.
struct Fixture {
  HostConfig config;
  Topology topology;
  Occupied occupied;
  oci::Spec spec;
  LwkRequest request;
  Fixture() {
    config.path = "/etc/mkrun/mckernel.conf";
    config.cpus = cpus("1-15");
    config.memory = MemList::parse("8G@0,8G@1").value();
    topology.online = cpus("0-15");
    for (int cpu = 0; cpu < 16; ++cpu) topology.node_of[cpu] = cpu < 8 ? 0 : 1;
    spec.linux = oci::Linux{};
  }
  Result<Selection> select() { return select_resources(request, config, spec, topology, occupied); }
  void cpuset(const char* text) {
    spec.linux->resources = oci::Resources{};
    spec.linux->resources->cpu = oci::CpuResources{};
    spec.linux->resources->cpu->cpus = text;
  }
};

}  // namespace

TEST_CASE("a count is taken NUMA-compact, highest ids first", "[select]") {
  Fixture f;
  f.request.ncpus = 4;
  auto s = f.select();
  REQUIRE(s);
  CHECK(s->cpus.to_string() == "12-15");  // node 1 has 8 free, node 0 only 7 (CPU 0 is Linux's)
  CHECK(s->mem.to_string() == "512M@1");  // the host default, on the CPUs' node
  CHECK(s->ikc_map.empty());
  CHECK_FALSE(s->linux_cpus);
}

TEST_CASE("a count spills to the next node only when needed", "[select]") {
  Fixture f;
  f.request.ncpus = 10;
  f.request.mem_total = 4ull << 30;
  auto s = f.select();
  REQUIRE(s);
  CHECK(s->cpus.to_string() == "6-15");
  CHECK(s->mem.to_string() == "2G@0,2G@1");
}

TEST_CASE("claimed, reserved and offline CPUs are never chosen", "[select]") {
  Fixture f;
  f.occupied.claimed = cpus("12-15");
  f.occupied.reserved = cpus("11");
  f.topology.online = f.topology.online.minus(cpus("10"));
  f.request.ncpus = 3;
  auto s = f.select();
  REQUIRE(s);
  CHECK(s->cpus.to_string() == "5-7");  // node 1 has 8-9 only now; node 0 has 1-7
  CHECK_FALSE(s->cpus.overlaps(cpus("10-15")));
}

TEST_CASE("explicit CPUs are checked one by one", "[select]") {
  Fixture f;
  f.occupied.claimed = cpus("5");
  f.occupied.reserved = cpus("6");
  f.topology.online = f.topology.online.minus(cpus("7"));
  f.config.cpus = cpus("1-8");
  f.request.cpus = cpus("4-7,9");
  CHECK(f.select().error().render() ==
        "CPUs busy or offline: CPU 5 is held by another container, CPU 6 is reserved in IHK by "
        "someone else, CPU 7 is offline, CPU 9 is not in the pool mkrun may use (cpus = 1-8 in "
        "/etc/mkrun/mckernel.conf)");
  f.request.cpus = cpus("3,2");
  auto s = f.select();
  REQUIRE(s);
  CHECK(s->cpus.ids() == std::vector<int>{3, 2});  // LWK order kept
}

TEST_CASE("not enough CPUs says what is free", "[select]") {
  Fixture f;
  f.config.cpus = cpus("1-2");
  f.request.ncpus = 3;
  CHECK(f.select().error().render() ==
        "CPUs busy or offline: 3 CPUs asked for McKernel, 2 free (1-2) in the pool 1-2 "
        "(/etc/mkrun/mckernel.conf)");
}

TEST_CASE("with a cpuset, McKernel takes all of it but one CPU for the proxy", "[select]") {
  Fixture f;
  f.cpuset("4-7");
  auto s = f.select();
  REQUIRE(s);
  CHECK(s->cpus.to_string() == "5-7");
  CHECK(s->linux_cpus->to_string() == "4");
  CHECK(s->ikc_map.to_string() == "5-7:4");
  SECTION("CPU 0 in the cpuset is the proxy's") {
    f.cpuset("0-3");
    s = f.select();
    REQUIRE(s);
    CHECK(s->cpus.to_string() == "1-3");
    CHECK(s->linux_cpus->to_string() == "0");
  }
  SECTION("a count comes out of the cpuset") {
    f.request.ncpus = 2;
    f.cpuset("4-11");
    s = f.select();
    REQUIRE(s);
    CHECK(s->cpus.to_string() == "10-11");
    CHECK(s->linux_cpus->to_string() == "4-9");
    CHECK(s->ikc_map.to_string() == "10-11:8");  // a Linux CPU on their node
  }
  SECTION("explicit CPUs must leave a Linux CPU") {
    f.request.cpus = cpus("4-7");
    CHECK_THAT(f.select().error().render(), Catch::Contains("must keep a Linux CPU for mcexec"));
  }
  SECTION("explicit CPUs outside the cpuset") {
    f.request.cpus = cpus("8");
    CHECK_THAT(f.select().error().render(),
               Catch::Contains("CPU 8 is outside the container's cpuset (4-7)"));
  }
  SECTION("a one-CPU cpuset leaves nothing") {
    f.cpuset("4");
    CHECK_FALSE(f.select());
  }
}

TEST_CASE("memory: annotation, else the spec's limit, else the default; 4 MiB units", "[select]") {
  Fixture f;
  f.request.cpus = cpus("1,9");
  SECTION("a list is kept, rounded up") {
    f.request.mem = MemList::parse("1M@0,6M@1").value();
    CHECK(f.select()->mem.to_string() == "4M@0,8M@1");
  }
  SECTION("the memory limit split over the nodes") {
    f.spec.linux->resources = oci::Resources{};
    f.spec.linux->resources->memory = oci::MemoryResources{};
    f.spec.linux->resources->memory->limit = 3ll << 30;
    CHECK(f.select()->mem.to_string() == "1536M@0,1536M@1");
  }
  SECTION("the pool's limit, net of other containers") {
    f.occupied.claimed_memory[1] = 7ull << 30;
    f.request.mem = MemList::parse("2G@1").value();
    CHECK(f.select().error().render() ==
          "memory not reservable: 2G asked on NUMA node 1, the pool has 1G left there (memory = "
          "8G@0,8G@1 in /etc/mkrun/mckernel.conf)");
  }
  SECTION("no pool") {
    f.config.memory = MemList();
    CHECK_THAT(f.select().error().render(), Catch::StartsWith("memory not reservable: no memory"));
  }
}

TEST_CASE("an explicit IKC map must target online Linux CPUs of the container", "[select]") {
  Fixture f;
  f.request.cpus = cpus("5-6");
  f.request.ikc_map = ihk::IkcMap::parse("5-6:1").value();
  CHECK(f.select()->ikc_map.to_string() == "5-6:1");
  f.request.ikc_map = ihk::IkcMap::parse("5:6+6:1").value();
  CHECK_FALSE(f.select());
  f.cpuset("1-7");
  f.request.ikc_map = ihk::IkcMap::parse("5-6:7").value();
  CHECK(f.select());
  f.request.ikc_map = ihk::IkcMap::parse("5-6:9").value();
  CHECK_THAT(f.select().error().render(), Catch::Contains("outside the container's Linux cpuset"));
}

namespace {

// A sysfs tree of CPUs in a scratch directory, removed with it.
struct FakeSysfs {
  std::filesystem::path root;
  FakeSysfs() {
    char pattern[] = "/tmp/mkrun-sysfs-XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    root = pattern;
  }
  ~FakeSysfs() { std::filesystem::remove_all(root); }
  void write(const std::string& file, const std::string& text) const {
    std::filesystem::path path = root / "devices/system/cpu" / file;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
  }
  void cpu(int id, int package, int core) const {
    std::string dir = "cpu" + std::to_string(id) + "/topology/";
    write(dir + "physical_package_id", std::to_string(package) + "\n");
    write(dir + "core_id", std::to_string(core) + "\n");
  }
};

}  // namespace

TEST_CASE("Slurm's abstract CPU ids follow packages, cores and threads", "[select][slurm]") {
  FakeSysfs sysfs;
  sysfs.write("online", "0-7\n");
  // Two packages of two cores with two threads each; Linux numbers the first threads 0-3 and
  // their siblings 4-7, as Intel machines do. Core ids need not be dense (0 and 8 here).
  for (int cpu = 0; cpu < 8; ++cpu) sysfs.cpu(cpu, (cpu % 4) / 2, cpu % 2 == 0 ? 0 : 8);
  auto topology = read_topology(sysfs.root.string());
  REQUIRE(topology);
  CHECK(topology->slurm_order == std::vector<int>{0, 4, 1, 5, 2, 6, 3, 7});
  // a job of two whole cores: Slurm's 0-3 are Linux's 0,1 and their siblings 4,5
  CHECK(linux_cpus_of_slurm_ids(*topology, cpus("0-3"))->to_string() == "0-1,4-5");
  CHECK(linux_cpus_of_slurm_ids(*topology, cpus("6,7"))->to_string() == "3,7");
  auto beyond = linux_cpus_of_slurm_ids(*topology, cpus("7-8"));
  REQUIRE_FALSE(beyond);
  CHECK(beyond.error().render() ==
        "Slurm CPU id 8 is not on this node: it has 8 online CPUs (0-7)");
}

TEST_CASE("without topology files Slurm's ids are Linux's", "[select][slurm]") {
  FakeSysfs sysfs;
  sysfs.write("online", "0-3,6\n");
  auto topology = read_topology(sysfs.root.string());
  REQUIRE(topology);
  CHECK(topology->slurm_order == std::vector<int>{0, 1, 2, 3, 6});
  CHECK(linux_cpus_of_slurm_ids(*topology, cpus("3-4"))->to_string() == "3,6");
}
