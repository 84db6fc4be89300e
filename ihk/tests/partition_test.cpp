#include <catch2/catch.hpp>
#include <map>
#include <set>

#include "mkrun/ihk/partition.hpp"

using namespace mkrun;
using namespace mkrun::ihk;

namespace {

// An in-memory IHK node with IHK's rules: CPUs and memory go Linux -> device pool -> instance
// and back; instances must be inactive to be configured; destroy gives everything to the pool.
class FakeIhk : public Ihk {
 public:
  struct Os {
    OsStatus status = OsStatus::kInactive;
    CpuList cpus;
    std::map<int, uint64_t> mem;
    bool loaded = false;
    std::string kargs;
  };
  struct Node {
    CpuList reserved;
    std::map<int, uint64_t> linux_free{{0, 8ull << 30}, {1, 8ull << 30}};
    std::map<int, uint64_t> pool;  // reserved, not assigned
    std::map<int, Os> instances;
    bool operator==(const Node& other) const {
      return reserved.sorted() == other.reserved.sorted() &&
             nonzero(linux_free) == nonzero(other.linux_free) &&
             nonzero(pool) == nonzero(other.pool) && instances.size() == other.instances.size();
    }
    static std::map<int, uint64_t> nonzero(std::map<int, uint64_t> sizes) {
      std::erase_if(sizes, [](const auto& entry) { return entry.second == 0; });
      return sizes;
    }
  };

  Node node;
  std::vector<std::string> log;
  std::map<std::string, int> fail_next;  // call -> errno, once
  OsStatus boot_result = OsStatus::kRunning;
  int destroy_busy = 0;
  std::string kmsg = "IHK/McKernel started.\n";

  Result<void> reserve_cpu(int, const CpuList& cpus) override {
    MKRUN_CHECK(call("reserve_cpu " + cpus.to_string()));
    if (node.reserved.overlaps(cpus)) return fail("ihk_reserve_cpu", EBUSY);
    node.reserved = node.reserved.plus(cpus);
    return {};
  }
  Result<void> release_cpu(int, const CpuList& cpus) override {
    MKRUN_CHECK(call("release_cpu " + cpus.to_string()));
    if (cpus.minus(node.reserved).size() > 0) return fail("ihk_release_cpu", EINVAL);
    node.reserved = node.reserved.minus(cpus);
    return {};
  }
  Result<CpuList> reserved_cpus(int) override { return node.reserved; }
  Result<void> reserve_mem(int, const MemList& mem) override {
    MKRUN_CHECK(call("reserve_mem " + mem.to_string()));
    for (const auto& c : mem.chunks()) {
      if (node.linux_free[c.numa_node] < c.size) return fail("ihk_reserve_mem", ENOMEM);
    }
    for (const auto& c : mem.chunks()) move(node.linux_free, node.pool, c);
    return {};
  }
  Result<void> release_mem(int, const MemList& mem) override {
    MKRUN_CHECK(call("release_mem " + mem.to_string()));
    for (const auto& c : mem.chunks()) {
      if (node.pool[c.numa_node] < c.size) return fail("ihk_release_mem", EINVAL);
    }
    for (const auto& c : mem.chunks()) move(node.pool, node.linux_free, c);
    return {};
  }
  Result<MemList> reserved_mem(int) override {
    std::vector<MemChunk> chunks;
    for (auto [n, size] : node.pool) {
      if (size > 0) chunks.push_back({size, n});
    }
    return MemList(chunks);
  }
  Result<int> create_os(int) override {
    MKRUN_CHECK(call("create_os"));
    int os = 0;
    while (node.instances.contains(os)) ++os;
    node.instances[os] = Os{};
    return os;
  }
  Result<std::vector<int>> os_instances(int) override {
    std::vector<int> all;
    for (const auto& [os, _] : node.instances) all.push_back(os);
    return all;
  }
  Result<void> destroy_os(int, int os) override {
    MKRUN_CHECK(call("destroy_os " + std::to_string(os)));
    if (destroy_busy > 0) {
      --destroy_busy;
      return fail("ihk_destroy_os", EBUSY);
    }
    auto it = node.instances.find(os);
    if (it == node.instances.end()) return fail("ihk_destroy_os", ENOENT);
    for (auto [n, size] : it->second.mem) node.pool[n] += size;
    node.instances.erase(it);
    return {};
  }
  Result<void> os_assign_cpu(int os, const CpuList& cpus) override {
    MKRUN_CHECK(call("os_assign_cpu " + cpus.to_string()));
    instance(os).cpus = cpus;
    return {};
  }
  Result<void> os_release_cpu(int os, const CpuList&) override {
    MKRUN_CHECK(call("os_release_cpu"));
    instance(os).cpus = CpuList();
    return {};
  }
  Result<void> os_assign_mem(int os, const MemList& mem) override {
    MKRUN_CHECK(call("os_assign_mem " + mem.to_string()));
    for (const auto& c : mem.chunks()) {
      if (node.pool[c.numa_node] < c.size) return fail("ihk_os_assign_mem", ENOMEM);
    }
    for (const auto& c : mem.chunks()) {
      node.pool[c.numa_node] -= c.size;
      instance(os).mem[c.numa_node] += c.size;
    }
    return {};
  }
  Result<void> os_release_mem(int os, const MemList&) override {
    MKRUN_CHECK(call("os_release_mem"));
    if (instance(os).status != OsStatus::kInactive) return fail("ihk_os_release_mem", EBUSY);
    for (auto [n, size] : instance(os).mem) node.pool[n] += size;
    instance(os).mem.clear();
    return {};
  }
  Result<void> os_set_ikc_map(int, const IkcMap& map) override {
    return call("os_set_ikc_map " + map.to_string());
  }
  Result<void> os_load(int os, const std::string& image) override {
    MKRUN_CHECK(call("os_load " + image));
    instance(os).loaded = true;
    return {};
  }
  Result<void> os_kargs(int os, const std::string& kargs) override {
    MKRUN_CHECK(call("os_kargs " + kargs));
    instance(os).kargs = kargs;
    return {};
  }
  Result<void> os_boot(int os) override {
    MKRUN_CHECK(call("os_boot"));
    instance(os).status = boot_result;
    if (boot_result == OsStatus::kPanic) kmsg += "kernel panic: out of memory\n";
    if (boot_result != OsStatus::kRunning) return fail("ihk_os_boot", EINVAL);
    return {};
  }
  Result<void> os_shutdown(int os) override {
    MKRUN_CHECK(call("os_shutdown"));
    instance(os).status = OsStatus::kInactive;
    return {};
  }
  Result<OsStatus> os_status(int os) override {
    if (!node.instances.contains(os)) return fail("ihk_os_get_status", ENOENT);
    return instance(os).status;
  }
  Result<std::string> os_kmsg(int) override { return kmsg; }

 private:
  Result<void> call(const std::string& what) {
    log.push_back(what);
    std::string name = what.substr(0, what.find(' '));
    if (auto it = fail_next.find(name); it != fail_next.end()) {
      int errc = it->second;
      fail_next.erase(it);
      return fail("ihk_" + name, errc);
    }
    return {};
  }
  Os& instance(int os) { return node.instances.at(os); }
  static void move(std::map<int, uint64_t>& from, std::map<int, uint64_t>& to, const MemChunk& c) {
    from[c.numa_node] -= c.size;
    to[c.numa_node] += c.size;
  }
};

PartitionSpec two_cpus() {
  PartitionSpec spec;
  spec.cpus = CpuList::parse("6-7").value();
  spec.mem = MemList::parse("1G@0").value();
  spec.image = "/opt/mckernel/smp-x86/kernel/mckernel.img";
  spec.kargs = "hidos dump_level=24";
  spec.boot_timeout = std::chrono::milliseconds(200);
  return spec;
}

// Records what a journal would: the last step begun and the instance.
struct Recorder {
  Holdings holdings;
  std::vector<std::string> steps;
  BootHooks hooks(const PartitionSpec& spec) {
    holdings.cpus = spec.cpus;
    holdings.mem = spec.mem;
    return {[this](Step step) -> Result<void> {
              holdings.reached = step;
              steps.emplace_back(to_string(step));
              return {};
            },
            [this](int os) -> Result<void> {
              holdings.os = os;
              return {};
            }};
  }
};

}  // namespace

TEST_CASE("a partition boots in mcreboot's order, each step announced first", "[partition]") {
  FakeIhk ihk;
  Recorder recorder;
  PartitionSpec spec = two_cpus();
  spec.ikc_map = IkcMap::parse("6-7:1").value();
  auto os = boot_partition(ihk, spec, recorder.hooks(spec));
  REQUIRE(os);
  CHECK(*os == 0);
  CHECK(ihk.log == std::vector<std::string>{"reserve_mem 1G@0", "reserve_cpu 6-7", "create_os",
                                            "os_assign_cpu 6-7", "os_set_ikc_map 6-7:1",
                                            "os_assign_mem 1G@0",
                                            "os_load /opt/mckernel/smp-x86/kernel/mckernel.img",
                                            "os_kargs hidos dump_level=24", "os_boot"});
  CHECK(recorder.steps == std::vector<std::string>{"reserve-mem", "reserve-cpu", "create-os",
                                                   "assign-cpu", "set-ikc-map", "assign-mem",
                                                   "load", "kargs", "boot", "running"});
  CHECK(ihk.node.instances.at(0).status == OsStatus::kRunning);
}

TEST_CASE("release undoes a running partition in reverse and leaves the node as it was",
          "[partition]") {
  FakeIhk ihk;
  FakeIhk::Node before = ihk.node;
  Recorder recorder;
  PartitionSpec spec = two_cpus();
  REQUIRE(boot_partition(ihk, spec, recorder.hooks(spec)));
  ihk.log.clear();
  REQUIRE(release_partition(ihk, recorder.holdings));
  CHECK(ihk.log == std::vector<std::string>{"os_shutdown", "os_release_cpu", "os_release_mem",
                                            "destroy_os 0", "release_cpu 6-7", "release_mem 1G@0"});
  CHECK(ihk.node == before);
  SECTION("a second release changes nothing") {
    ihk.log.clear();
    REQUIRE(release_partition(ihk, recorder.holdings));
    CHECK(ihk.log.empty());
    CHECK(ihk.node == before);
  }
}

TEST_CASE("a failure at any step is undone from what was recorded", "[partition]") {
  for (const char* call : {"reserve_mem", "reserve_cpu", "create_os", "os_assign_cpu",
                           "os_assign_mem", "os_load", "os_kargs", "os_boot"}) {
    INFO(call);
    FakeIhk ihk;
    FakeIhk::Node before = ihk.node;
    Recorder recorder;
    PartitionSpec spec = two_cpus();
    ihk.fail_next[call] = EINVAL;
    REQUIRE_FALSE(boot_partition(ihk, spec, recorder.hooks(spec)));
    REQUIRE(release_partition(ihk, recorder.holdings));
    CHECK(ihk.node == before);
  }
}

TEST_CASE("a step that was announced but never taken is released safely", "[partition]") {
  // As after a crash between the journal write and the call: nothing of it happened.
  FakeIhk ihk;
  FakeIhk::Node before = ihk.node;
  Holdings holdings;
  holdings.reached = Step::kCreateOs;
  holdings.cpus = CpuList::parse("6-7").value();
  holdings.mem = MemList::parse("1G@0").value();
  REQUIRE(ihk.reserve_mem(0, holdings.mem));
  REQUIRE(ihk.reserve_cpu(0, holdings.cpus));
  REQUIRE(release_partition(ihk, holdings));
  CHECK(ihk.node == before);
}

TEST_CASE("boot failures say what McKernel said", "[partition]") {
  FakeIhk ihk;
  Recorder recorder;
  PartitionSpec spec = two_cpus();
  SECTION("panic") {
    ihk.boot_result = OsStatus::kPanic;
    auto os = boot_partition(ihk, spec, recorder.hooks(spec));
    REQUIRE_FALSE(os);
    CHECK_THAT(os.error().render(), Catch::Contains("failed to boot") &&
                                        Catch::Contains("status PANIC") &&
                                        Catch::Contains("kernel panic: out of memory"));
  }
  SECTION("timeout") {
    ihk.boot_result = OsStatus::kBooting;
    auto os = boot_partition(ihk, spec, recorder.hooks(spec));
    REQUIRE_FALSE(os);
    CHECK_THAT(os.error().render(),
               Catch::Contains("boot timeout") && Catch::Contains("within 0.2 s") &&
                   Catch::Contains("status BOOTING") && Catch::Contains("IHK/McKernel started."));
  }
  SECTION("CPUs busy") {
    ihk.fail_next["reserve_cpu"] = EBUSY;
    auto os = boot_partition(ihk, spec, recorder.hooks(spec));
    REQUIRE_FALSE(os);
    CHECK(os.error().render() ==
          "CPUs busy or offline: IHK could not take CPUs 6-7 from Linux: ihk_reserve_cpu: device "
          "or resource busy");
  }
  SECTION("memory") {
    spec.mem = MemList::parse("16G@0").value();
    auto os = boot_partition(ihk, spec, recorder.hooks(spec));
    REQUIRE_FALSE(os);
    CHECK_THAT(os.error().render(), Catch::StartsWith("memory not reservable"));
  }
}

TEST_CASE("destroy is retried while the instance is busy", "[partition]") {
  FakeIhk ihk;
  FakeIhk::Node before = ihk.node;
  Recorder recorder;
  PartitionSpec spec = two_cpus();
  REQUIRE(boot_partition(ihk, spec, recorder.hooks(spec)));
  ihk.destroy_busy = 3;
  REQUIRE(release_partition(ihk, recorder.holdings));
  CHECK(ihk.node == before);
}

TEST_CASE("a hook's error stops the boot before the step", "[partition]") {
  FakeIhk ihk;
  PartitionSpec spec = two_cpus();
  BootHooks hooks{[](Step step) -> Result<void> {
                    if (step == Step::kCreateOs) return fail("journal full");
                    return {};
                  },
                  nullptr};
  auto os = boot_partition(ihk, spec, hooks);
  REQUIRE_FALSE(os);
  CHECK(os.error().render() == "journal full");
  CHECK(ihk.log == std::vector<std::string>{"reserve_mem 1G@0", "reserve_cpu 6-7"});
}

TEST_CASE("kmsg tails keep the last lines", "[partition]") {
  CHECK(kmsg_tail("a\nb\nc\n", 2) == "b\nc");
  CHECK(kmsg_tail("a\nb\nc", 5) == "a\nb\nc");
  CHECK(kmsg_tail("", 3).empty());
}
