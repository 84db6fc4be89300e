#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <set>

#include "mkrun/ihk/partition.hpp"

using namespace mkrun;
using namespace mkrun::ihk;

namespace {

// An in-memory IHK node with the driver's rules: CPUs and memory go Linux -> device pool ->
// instance and back; instances must be inactive to be configured; memory moves in whole chunks,
// never merged, released only by exact size; a shutdown gives a booted instance's CPUs and
// memory back to the pool, and destroying an instance that never booted loses what it holds.
class FakeIhk : public Ihk {
 public:
  using Chunks = std::vector<MemChunk>;
  struct Os {
    OsStatus status = OsStatus::kInactive;
    CpuList cpus;
    Chunks mem;
    bool loaded = false;
    std::string kargs;
  };
  struct Node {
    CpuList reserved;
    std::map<int, uint64_t> linux_free{{0, 8ull << 30}, {1, 8ull << 30}};
    Chunks pool;  // reserved, not assigned
    std::map<int, Os> instances;
    CpuList leaked_cpus;
    Chunks leaked_mem;
    bool operator==(const Node& other) const {
      return reserved.sorted() == other.reserved.sorted() &&
             nonzero(linux_free) == nonzero(other.linux_free) &&
             sorted(pool) == sorted(other.pool) && instances.size() == other.instances.size() &&
             leaked_cpus == other.leaked_cpus && leaked_mem == other.leaked_mem;
    }
    static std::map<int, uint64_t> nonzero(std::map<int, uint64_t> sizes) {
      std::erase_if(sizes, [](const auto& entry) { return entry.second == 0; });
      return sizes;
    }
    static Chunks sorted(Chunks chunks) {
      std::ranges::sort(chunks, [](const MemChunk& a, const MemChunk& b) {
        return std::pair(a.numa_node, a.size) < std::pair(b.numa_node, b.size);
      });
      return chunks;
    }
  };

  Node node;
  std::vector<std::string> log;
  std::map<std::string, int> fail_next;  // call -> errno, once
  OsStatus boot_result = OsStatus::kRunning;
  int destroy_busy = 0;
  uint64_t max_chunk = 0;  // Linux's free memory comes in areas no larger (0: one area)
  int status_of_missing = 0;
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
    for (const auto& [_, os] : node.instances) {
      if (os.cpus.overlaps(cpus)) return fail("ihk_release_cpu", EBUSY);
    }
    if (node.leaked_cpus.overlaps(cpus)) return fail("ihk_release_cpu", EBUSY);
    node.reserved = node.reserved.minus(cpus);
    return {};
  }
  Result<CpuList> reserved_cpus(int) override { return node.reserved; }
  Result<void> reserve_mem(int, const MemList& mem) override {
    MKRUN_CHECK(call("reserve_mem " + mem.to_string()));
    for (const auto& c : mem.chunks()) {
      if (node.linux_free[c.numa_node] < c.size) return fail("ihk_reserve_mem", ENOMEM);
    }
    for (const auto& c : mem.chunks()) {
      node.linux_free[c.numa_node] -= c.size;
      for (uint64_t left = c.size; left > 0;) {
        uint64_t piece = max_chunk != 0 ? std::min(left, max_chunk) : left;
        node.pool.push_back({piece, c.numa_node});
        left -= piece;
      }
    }
    return {};
  }
  Result<void> release_mem(int, const MemList& mem) override {
    MKRUN_CHECK(call("release_mem " + mem.to_string()));
    for (const auto& c : mem.chunks()) {
      if (!take_exact(node.pool, c)) return fail("ihk_release_mem", EINVAL);
      node.linux_free[c.numa_node] += c.size;
    }
    return {};
  }
  Result<MemList> reserved_mem(int) override { return MemList(node.pool); }
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
    if (it->second.status != OsStatus::kInactive) shut_down(it->second);
    node.leaked_cpus = node.leaked_cpus.plus(it->second.cpus);
    node.leaked_mem.insert(node.leaked_mem.end(), it->second.mem.begin(), it->second.mem.end());
    node.instances.erase(it);
    return {};
  }
  Result<void> os_assign_cpu(int os, const CpuList& cpus) override {
    MKRUN_CHECK(call("os_assign_cpu " + cpus.to_string()));
    instance(os).cpus = cpus;
    return {};
  }
  Result<void> os_release_cpu(int os, const CpuList& cpus) override {
    MKRUN_CHECK(call("os_release_cpu " + cpus.to_string()));
    if (instance(os).status != OsStatus::kInactive) return fail("ihk_os_release_cpu", EBUSY);
    if (cpus.minus(instance(os).cpus).size() > 0) return fail("ihk_os_release_cpu", EINVAL);
    instance(os).cpus = instance(os).cpus.minus(cpus);
    return {};
  }
  Result<void> os_assign_mem(int os, const MemList& mem) override {
    MKRUN_CHECK(call("os_assign_mem " + mem.to_string()));
    Chunks pool = node.pool;
    Chunks taken = instance(os).mem;
    for (const auto& c : mem.chunks()) {
      for (uint64_t left = c.size; left > 0;) {
        auto found = std::ranges::find(pool, MemChunk{left, c.numa_node});
        if (found == pool.end()) found = largest(pool, c.numa_node);
        if (found == pool.end()) return fail("ihk_os_assign_mem", ENOMEM);
        uint64_t piece = std::min(left, found->size);
        if (piece == found->size)
          pool.erase(found);
        else
          found->size -= piece;
        taken.push_back({piece, c.numa_node});
        left -= piece;
      }
    }
    node.pool = pool;
    instance(os).mem = taken;
    return {};
  }
  Result<void> os_release_mem(int os, const MemList& mem) override {
    MKRUN_CHECK(call("os_release_mem " + mem.to_string()));
    if (instance(os).status != OsStatus::kInactive) return fail("ihk_os_release_mem", EBUSY);
    for (const auto& c : mem.chunks()) {
      if (!take_exact(instance(os).mem, c)) return fail("ihk_os_release_mem", EINVAL);
      node.pool.push_back(c);
    }
    return {};
  }
  Result<CpuList> os_cpus(int os) override {
    if (!node.instances.contains(os)) return fail("ihk_os_query_cpu", ENOENT);
    return instance(os).cpus;
  }
  Result<MemList> os_mem(int os) override {
    if (!node.instances.contains(os)) return fail("ihk_os_query_mem", ENOENT);
    return MemList(instance(os).mem);
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
    if (instance(os).status != OsStatus::kInactive) shut_down(instance(os));
    return {};
  }
  Result<OsStatus> os_status(int os) override {
    if (!node.instances.contains(os)) {
      ++status_of_missing;
      return fail("ihk_os_get_status", ENOENT);
    }
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
  void shut_down(Os& os) {
    node.pool.insert(node.pool.end(), os.mem.begin(), os.mem.end());
    os.mem.clear();
    os.cpus = CpuList();
    os.status = OsStatus::kInactive;
  }
  static bool take_exact(Chunks& chunks, const MemChunk& chunk) {
    auto found = std::ranges::find(chunks, chunk);
    if (found == chunks.end()) return false;
    chunks.erase(found);
    return true;
  }
  static Chunks::iterator largest(Chunks& chunks, int numa_node) {
    auto best = chunks.end();
    for (auto it = chunks.begin(); it != chunks.end(); ++it) {
      if (it->numa_node == numa_node && (best == chunks.end() || it->size > best->size)) best = it;
    }
    return best;
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
  // The shutdown gave the instance's CPUs and memory back to the pool: nothing to release twice.
  CHECK(ihk.log == std::vector<std::string>{"os_shutdown", "destroy_os 0", "release_cpu 6-7",
                                            "release_mem 1G@0"});
  CHECK(ihk.node == before);
  CHECK(ihk.status_of_missing == 0);
  SECTION("a second release changes nothing") {
    ihk.log.clear();
    REQUIRE(release_partition(ihk, recorder.holdings));
    CHECK(ihk.log.empty());
    CHECK(ihk.node == before);
    CHECK(ihk.status_of_missing == 0);
  }
}

TEST_CASE("an instance that never booted has what IHK says it holds released before destroy",
          "[partition]") {
  FakeIhk ihk;
  FakeIhk::Node before = ihk.node;
  Recorder recorder;
  PartitionSpec spec = two_cpus();
  ihk.fail_next["os_load"] = ENOENT;
  REQUIRE_FALSE(boot_partition(ihk, spec, recorder.hooks(spec)));
  ihk.log.clear();
  REQUIRE(release_partition(ihk, recorder.holdings));
  CHECK(ihk.log == std::vector<std::string>{"os_release_cpu 6-7", "os_release_mem 1G@0",
                                            "destroy_os 0", "release_cpu 6-7", "release_mem 1G@0"});
  CHECK(ihk.node == before);  // nothing leaked by the destroy
}

TEST_CASE("a reservation IHK made in several chunks is released chunk by chunk", "[partition]") {
  FakeIhk ihk;
  ihk.max_chunk = 512ull << 20;
  FakeIhk::Node before = ihk.node;
  Recorder recorder;
  PartitionSpec spec = two_cpus();
  spec.mem = MemList::parse("1G@0,768M@1").value();
  REQUIRE(boot_partition(ihk, spec, recorder.hooks(spec)));
  CHECK(ihk.node.instances.at(0).mem.size() == 4);
  ihk.log.clear();
  REQUIRE(release_partition(ihk, recorder.holdings));
  CHECK(ihk.log.back() == "release_mem 512M@0,512M@0,512M@1,256M@1");
  CHECK(ihk.node == before);
  SECTION("as one size per node IHK refuses it") {
    REQUIRE(ihk.reserve_mem(0, MemList::parse("1G@0").value()));
    CHECK(ihk.release_mem(0, MemList::parse("1G@0").value()).error().errc() == EINVAL);
  }
}

TEST_CASE("release gives back no more memory than the partition took", "[partition]") {
  FakeIhk ihk;
  Recorder recorder;
  PartitionSpec spec = two_cpus();
  REQUIRE(ihk.reserve_mem(0, MemList::parse("256M@0").value()));  // a crashed create's
  REQUIRE(boot_partition(ihk, spec, recorder.hooks(spec)));
  ihk.log.clear();
  REQUIRE(release_partition(ihk, recorder.holdings));
  CHECK(ihk.log.back() == "release_mem 1G@0");
  CHECK(ihk.node.pool == FakeIhk::Chunks{{256ull << 20, 0}});
}

TEST_CASE("a retried release leaves another partition's instance at its index alone",
          "[partition]") {
  FakeIhk ihk;
  FakeIhk::Node before = ihk.node;
  Recorder first;
  PartitionSpec spec = two_cpus();
  REQUIRE(boot_partition(ihk, spec, first.hooks(spec)));
  ihk.fail_next["release_mem"] = EINVAL;
  REQUIRE_FALSE(release_partition(ihk, first.holdings));  // destroyed, memory still reserved
  Recorder second;
  PartitionSpec other = two_cpus();
  other.cpus = CpuList::parse("4-5").value();
  other.mem = MemList::parse("1G@1").value();
  REQUIRE(boot_partition(ihk, other, second.hooks(other)) == 0);  // IHK reuses index 0
  std::vector<std::string> warnings;
  first.holdings.is_ours = [](int) -> Result<bool> { return false; };
  first.holdings.warn = [&](const std::string& message) { warnings.push_back(message); };
  ihk.log.clear();
  REQUIRE(release_partition(ihk, first.holdings));
  CHECK(ihk.log == std::vector<std::string>{"release_mem 1G@0"});
  CHECK(ihk.node.instances.at(0).status == OsStatus::kRunning);
  REQUIRE(warnings.size() == 1);
  CHECK_THAT(warnings[0], Catch::StartsWith("McKernel instance 0 is not the one this container "
                                            "created") &&
                              Catch::EndsWith("left alone"));
  REQUIRE(release_partition(ihk, second.holdings));
  CHECK(ihk.node == before);
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
