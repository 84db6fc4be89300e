// `events` lines against what runc 1.1.5 printed on this project's development host (hybrid
// cgroups, a busybox `sleep` with a 64 MiB memory and 100 pids limit, captured once).
#include <catch2/catch.hpp>

#include "mkrun/oci/stats.hpp"

using namespace mkrun::oci;

namespace {

constexpr uint64_t kUnlimited = 9223372036854771712ULL;  // v1's "no limit", page-rounded

Stats runc_sample_stats() {
  Stats stats;
  stats.cpu.usage.total = 9717231;
  stats.cpu.usage.percpu = {575616, 9141615};
  stats.cpu.usage.percpu_kernel = {0, 4000000};
  stats.cpu.usage.percpu_user = {0, 4000000};
  stats.cpuset.cpus = {0, 1};
  stats.cpuset.mems = {0};
  stats.cpuset.sched_load_balance = 1;
  stats.cpuset.sched_relax_domain_level = -1;
  stats.memory.usage = {67108864, 2248704, 2252800, 0};
  stats.memory.swap = {kUnlimited, 2248704, 2252800, 0};
  stats.memory.kernel = {kUnlimited, 593920, 598016, 0};
  stats.memory.kernel_tcp = {kUnlimited, 0, 0, 0};
  stats.memory.raw = {{"active_anon", 4096}, {"cache", 0}, {"rss", 1417216}};
  stats.pids = {5, 100};
  return stats;
}

}  // namespace

TEST_CASE("a stats event is runc's line, zero values omitted as Go's omitempty does") {
  Event event{"stats", "b1evt", runc_sample_stats()};
  CHECK(render_event(event) ==
        R"({"type":"stats","id":"b1evt","data":{"cpu":{"usage":{"total":9717231,)"
        R"("percpu":[575616,9141615],"percpu_kernel":[0,4000000],"percpu_user":[0,4000000],)"
        R"("kernel":0,"user":0},"throttling":{}},"cpuset":{"cpus":[0,1],"cpu_exclusive":0,)"
        R"("mems":[0],"mem_hardwall":0,"mem_exclusive":0,"memory_migrate":0,)"
        R"("memory_spread_page":0,"memory_spread_slab":0,"memory_pressure":0,)"
        R"("sched_load_balance":1,"sched_relax_domain_level":-1},"memory":{"usage":)"
        R"({"limit":67108864,"usage":2248704,"max":2252800,"failcnt":0},"swap":)"
        R"({"limit":9223372036854771712,"usage":2248704,"max":2252800,"failcnt":0},"kernel":)"
        R"({"limit":9223372036854771712,"usage":593920,"max":598016,"failcnt":0},"kernelTCP":)"
        R"({"limit":9223372036854771712,"failcnt":0},"raw":{"active_anon":4096,"cache":0,)"
        R"("rss":1417216}},"pids":{"current":5,"limit":100},"blkio":{},"hugetlb":{},)"
        R"("intel_rdt":{},"network_interfaces":null}})"
        "\n");
}

TEST_CASE("a kernel backend's annotations close the data, only when there are some") {
  Stats stats;
  CHECK(render_event({"stats", "x", stats}).find("annotations") == std::string::npos);
  stats.annotations["io.mkrun.lwk.status"] = "RUNNING";
  stats.annotations["io.mkrun.lwk.os"] = "0";
  CHECK(render_event({"stats", "x", stats})
            .ends_with(R"("network_interfaces":null,"annotations":{"io.mkrun.lwk.os":"0",)"
                       R"("io.mkrun.lwk.status":"RUNNING"}}})"
                       "\n"));
}

TEST_CASE("an oom event has no data") {
  CHECK(render_event({"oom", "c1", std::nullopt}) == "{\"type\":\"oom\",\"id\":\"c1\"}\n");
}

TEST_CASE("blkio entries, throttling and hugetlb") {
  Stats stats;
  stats.cpu.throttling = {10, 2, 3000};
  stats.blkio.io_service_bytes_recursive = {{8, 0, "Read", 4096}, {8, 0, "Total", 0}};
  stats.blkio.io_queued_recursive = {{0, 0, "", 7}};
  stats.hugetlb["2MB"] = {0, 0, 0};
  stats.hugetlb["1GB"] = {2097152, 4194304, 1};
  std::string line = render_event({"stats", "x", stats});
  CHECK(line.find(R"("throttling":{"periods":10,"throttledPeriods":2,"throttledTime":3000})") !=
        std::string::npos);
  CHECK(line.find(R"("blkio":{"ioServiceBytesRecursive":[{"major":8,"op":"Read","value":4096},)"
                  R"({"major":8,"op":"Total"}],"ioQueueRecursive":[{"value":7}]})") !=
        std::string::npos);
  CHECK(line.find(R"("hugetlb":{"1GB":{"usage":2097152,"max":4194304,"failcnt":1},)"
                  R"("2MB":{"failcnt":0}})") != std::string::npos);
  CHECK(line.find(R"("memory":{"usage":{"limit":0,"failcnt":0},)") != std::string::npos);
  CHECK(line.find(R"("pids":{})") != std::string::npos);
}
