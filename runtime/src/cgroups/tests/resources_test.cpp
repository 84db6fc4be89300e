// linux.resources -> cgroup writes, v1 and v2, without touching any file.
#include <catch2/catch.hpp>

#include <limits>
#include <string>
#include <vector>

#include "cgroups/resources.hpp"

namespace mkrun::cgroups {
namespace {

// "file=value" per write, in order.
std::vector<std::string> lines(const std::vector<Write>& writes) {
  std::vector<std::string> out;
  for (const Write& write : writes) out.push_back(write.file + "=" + write.value);
  return out;
}

std::vector<Write> writes_of(const oci::Resources& resources, Version version,
                             const TranslateOptions& options = {}) {
  auto writes = translate(resources, version, options);
  if (!writes) FAIL(writes.error().render());
  return *writes;
}

TranslateOptions no_devices() {
  TranslateOptions options;
  options.devices = false;
  return options;
}

std::vector<std::string> v1(const oci::Resources& resources, const TranslateOptions& options = {}) {
  TranslateOptions without_devices = options;
  without_devices.devices = false;  // the device rules have their own tests
  return lines(writes_of(resources, Version::kV1, without_devices));
}

std::vector<std::string> v2(const oci::Resources& resources) {
  return lines(writes_of(resources, Version::kV2));
}

std::string error_of(const oci::Resources& resources, Version version) {
  auto writes = translate(resources, version);
  REQUIRE_FALSE(writes);
  return writes.error().render();
}

oci::Resources memory(std::optional<int64_t> limit, std::optional<int64_t> swap = std::nullopt) {
  oci::Resources resources;
  resources.memory.emplace();
  resources.memory->limit = limit;
  resources.memory->swap = swap;
  return resources;
}

oci::Resources cpu(std::optional<uint64_t> shares, std::optional<int64_t> quota = std::nullopt,
                   std::optional<uint64_t> period = std::nullopt) {
  oci::Resources resources;
  resources.cpu.emplace();
  resources.cpu->shares = shares;
  resources.cpu->quota = quota;
  resources.cpu->period = period;
  return resources;
}

using Lines = std::vector<std::string>;

// ---- memory ----------------------------------------------------------------------------------

TEST_CASE("v1 memory: limit alone", "[cgroups]") {
  auto writes = writes_of(memory(1048576), Version::kV1, no_devices());
  REQUIRE(writes.size() == 1);
  CHECK(writes[0].controller == "memory");
  CHECK(writes[0].setting == "linux.resources.memory.limit");
  CHECK(writes[0].file == "memory.limit_in_bytes");
  CHECK(writes[0].value == "1048576");
  CHECK_FALSE(writes[0].skip_if_missing);
}

TEST_CASE("v1 memory: a new cgroup gets the limit before memsw", "[cgroups]") {
  CHECK(v1(memory(1048576, 2097152)) ==
        Lines{"memory.limit_in_bytes=1048576", "memory.memsw.limit_in_bytes=2097152"});
}

TEST_CASE("v1 memory: raising past the current limit writes memsw first", "[cgroups]") {
  TranslateOptions options;
  options.current_memory_limit = 1048576;
  CHECK(v1(memory(4194304, 8388608), options) ==
        Lines{"memory.memsw.limit_in_bytes=8388608", "memory.limit_in_bytes=4194304"});
  options.current_memory_limit = 16777216;  // lowering: limit first
  CHECK(v1(memory(4194304, 8388608), options) ==
        Lines{"memory.limit_in_bytes=4194304", "memory.memsw.limit_in_bytes=8388608"});
}

TEST_CASE("v1 memory: unlimited swap goes first", "[cgroups]") {
  CHECK(v1(memory(1048576, -1)) ==
        Lines{"memory.memsw.limit_in_bytes=-1", "memory.limit_in_bytes=1048576"});
}

TEST_CASE("v1 memory: limit -1 with swap unset lifts memsw too, where it exists", "[cgroups]") {
  auto writes = writes_of(memory(-1), Version::kV1, no_devices());
  CHECK(lines(writes) == Lines{"memory.memsw.limit_in_bytes=-1", "memory.limit_in_bytes=-1"});
  CHECK(writes[0].skip_if_missing);
  CHECK(writes[0].setting == "linux.resources.memory.limit");
  CHECK_FALSE(writes[1].skip_if_missing);
}

TEST_CASE("v1 memory: swap alone, and zero meaning unset", "[cgroups]") {
  CHECK(v1(memory(std::nullopt, 2097152)) == Lines{"memory.memsw.limit_in_bytes=2097152"});
  CHECK(v1(memory(0, 0)).empty());
}

TEST_CASE("v1 memory: reservation, kernel TCP, OOM killer and swappiness", "[cgroups]") {
  oci::Resources resources = memory(std::nullopt);
  resources.memory->reservation = 524288;
  resources.memory->kernel = 1048576;  // ignored, as runc 1.1 does
  resources.memory->kernelTCP = 65536;
  resources.memory->disableOOMKiller = true;
  resources.memory->swappiness = 60;
  auto writes = writes_of(resources, Version::kV1, no_devices());
  CHECK(lines(writes) == Lines{"memory.soft_limit_in_bytes=524288",
                               "memory.kmem.tcp.limit_in_bytes=65536", "memory.oom_control=1",
                               "memory.swappiness=60"});
  CHECK(writes[1].skip_if_missing);
}

TEST_CASE("v1 memory: swappiness out of range, or -1", "[cgroups]") {
  oci::Resources resources = memory(std::nullopt);
  resources.memory->swappiness = 101;
  CHECK(error_of(resources, Version::kV1) ==
        "invalid `linux.resources.memory.swappiness`: invalid memory swappiness value: 101 (valid "
        "range is 0-100)");
  resources.memory->swappiness = std::numeric_limits<uint64_t>::max();
  CHECK(v1(resources).empty());
  resources.memory->disableOOMKiller = false;
  CHECK(v1(resources).empty());
}

TEST_CASE("v2 memory: swap.max is memory+swap minus memory", "[cgroups]") {
  CHECK(v2(memory(1048576, 3145728)) == Lines{"memory.swap.max=2097152", "memory.max=1048576"});
}

TEST_CASE("v2 memory: equal memory and swap disable swap", "[cgroups]") {
  auto writes = writes_of(memory(1048576, 1048576), Version::kV2);
  CHECK(lines(writes) == Lines{"memory.swap.max=0", "memory.max=1048576"});
  CHECK(writes[0].skip_if_missing);
}

TEST_CASE("v2 memory: -1 is max", "[cgroups]") {
  auto writes = writes_of(memory(1048576, -1), Version::kV2);
  CHECK(lines(writes) == Lines{"memory.swap.max=max", "memory.max=1048576"});
  CHECK(writes[0].skip_if_missing);
  CHECK(v2(memory(-1)) == Lines{"memory.swap.max=max", "memory.max=max"});
  CHECK(v2(memory(1048576)) == Lines{"memory.max=1048576"});
}

TEST_CASE("v2 memory: swap needs a memory limit at least as large", "[cgroups]") {
  CHECK(error_of(memory(std::nullopt, 1048576), Version::kV2) ==
        "invalid `linux.resources.memory.swap`: unable to set swap limit without memory limit");
  CHECK(error_of(memory(-1, 1048576), Version::kV2).ends_with("without memory limit"));
  CHECK(error_of(memory(2097152, 1048576), Version::kV2)
            .ends_with("memory+swap limit should be >= memory limit"));
}

TEST_CASE("v2 memory: reservation is memory.low; v1-only knobs are ignored", "[cgroups]") {
  oci::Resources resources = memory(std::nullopt);
  resources.memory->reservation = 524288;
  resources.memory->kernelTCP = 65536;
  resources.memory->disableOOMKiller = true;
  resources.memory->swappiness = 60;
  CHECK(v2(resources) == Lines{"memory.low=524288"});
}

TEST_CASE("memory_swap_to_v2 follows runc", "[cgroups]") {
  CHECK(memory_swap_to_v2(0, -1).value() == -1);
  CHECK(memory_swap_to_v2(0, 100).value() == 0);
  CHECK(memory_swap_to_v2(-1, 100).value() == -1);
  CHECK(memory_swap_to_v2(300, 100).value() == 200);
  CHECK_FALSE(memory_swap_to_v2(300, -2));
}

// ---- cpu -------------------------------------------------------------------------------------

TEST_CASE("v1 cpu: shares are read back", "[cgroups]") {
  auto writes = writes_of(cpu(1024), Version::kV1, no_devices());
  CHECK(lines(writes) == Lines{"cpu.shares=1024"});
  CHECK(writes[0].verify);
  CHECK(writes[0].controller == "cpu");
}

TEST_CASE("v1 cpu: period, quota, then period again", "[cgroups]") {
  auto writes = writes_of(cpu(std::nullopt, 50000, 100000), Version::kV1, no_devices());
  CHECK(lines(writes) ==
        Lines{"cpu.cfs_period_us=100000", "cpu.cfs_quota_us=50000", "cpu.cfs_period_us=100000"});
  CHECK(writes[0].tolerate_einval);
  CHECK_FALSE(writes[2].tolerate_einval);
  CHECK(v1(cpu(std::nullopt, std::nullopt, 100000)) == Lines{"cpu.cfs_period_us=100000"});
  CHECK_FALSE(writes_of(cpu(std::nullopt, std::nullopt, 100000), Version::kV1, no_devices())[0]
                  .tolerate_einval);
  CHECK(v1(cpu(std::nullopt, -1)) == Lines{"cpu.cfs_quota_us=-1"});
}

TEST_CASE("v1 cpu: burst, idle and realtime", "[cgroups]") {
  oci::Resources resources = cpu(std::nullopt);
  resources.cpu->burst = 20000;
  resources.cpu->realtimePeriod = 1000000;
  resources.cpu->realtimeRuntime = 950000;
  resources.cpu->idle = 1;  // runc 1.5 writes it on v1 too (Linux 5.15+ has the file there)
  auto writes = writes_of(resources, Version::kV1, no_devices());
  // The realtime period goes in again after the runtime: the first may be refused (EINVAL) while
  // the old runtime is larger than the new period.
  CHECK(lines(writes) == Lines{"cpu.cfs_burst_us=20000", "cpu.idle=1", "cpu.rt_period_us=1000000",
                               "cpu.rt_runtime_us=950000", "cpu.rt_period_us=1000000"});
  CHECK(writes[2].tolerate_einval);
  CHECK_FALSE(writes[4].tolerate_einval);
  // A kernel without burst (before 5.14) ignores it, as runc does; cpu.idle must be there.
  CHECK(writes[0].skip_if_missing);
  CHECK_FALSE(writes[0].tolerate_einval);
  CHECK_FALSE(writes[1].skip_if_missing);
}

TEST_CASE("v1 cpu: a burst of 0 is written, to clear the burst", "[cgroups]") {
  oci::Resources resources = cpu(std::nullopt);
  resources.cpu->burst = 0;
  resources.cpu->idle = 0;
  CHECK(v1(resources) == Lines{"cpu.cfs_burst_us=0", "cpu.idle=0"});
  CHECK(v2(resources) == Lines{"cpu.idle=0", "cpu.max.burst=0"});
}

TEST_CASE("v1 cpu: burst around the quota, like the period", "[cgroups]") {
  oci::Resources resources = cpu(std::nullopt, 50000, 100000);
  resources.cpu->burst = 30000;
  auto writes = writes_of(resources, Version::kV1, no_devices());
  CHECK(lines(writes) == Lines{"cpu.cfs_period_us=100000", "cpu.cfs_burst_us=30000",
                               "cpu.cfs_quota_us=50000", "cpu.cfs_period_us=100000",
                               "cpu.cfs_burst_us=30000"});
  CHECK(writes[1].tolerate_einval);
  CHECK_FALSE(writes[4].tolerate_einval);
}

TEST_CASE("v2 cpu: shares become cpu.weight", "[cgroups]") {
  CHECK(v2(cpu(1024)) == Lines{"cpu.weight=39"});
  CHECK(v2(cpu(2)) == Lines{"cpu.weight=1"});
  CHECK(v2(cpu(262144)) == Lines{"cpu.weight=10000"});
  CHECK(cpu_shares_to_weight(0) == 0);
  CHECK(cpu_shares_to_weight(1) == 1);
  CHECK(cpu_shares_to_weight(512) == 20);
}

TEST_CASE("v2 cpu: cpu.max is \"quota period\" or \"max period\"", "[cgroups]") {
  CHECK(v2(cpu(std::nullopt, 50000, 100000)) == Lines{"cpu.max=50000 100000"});
  CHECK(v2(cpu(std::nullopt, -1, 100000)) == Lines{"cpu.max=max 100000"});
  CHECK(v2(cpu(std::nullopt, 50000)) == Lines{"cpu.max=50000"});
  CHECK(v2(cpu(std::nullopt, std::nullopt, 20000)) == Lines{"cpu.max=max 20000"});
}

TEST_CASE("v2 cpu: idle, and burst around cpu.max", "[cgroups]") {
  oci::Resources resources = cpu(std::nullopt, 50000, 100000);
  resources.cpu->idle = 1;
  resources.cpu->burst = 10000;
  auto writes = writes_of(resources, Version::kV2);
  CHECK(lines(writes) ==
        Lines{"cpu.idle=1", "cpu.max.burst=10000", "cpu.max=50000 100000", "cpu.max.burst=10000"});
  CHECK(writes[1].tolerate_einval);
  // No cpu.max.burst (before Linux 5.14) is an error on v2, as in runc.
  CHECK_FALSE(writes[1].skip_if_missing);
  resources = cpu(std::nullopt);
  resources.cpu->burst = 10000;
  CHECK(v2(resources) == Lines{"cpu.max.burst=10000"});
  // The kernel refuses a weight for an idle group: idle goes first, as in runc.
  resources = cpu(1024);
  resources.cpu->idle = 0;
  CHECK(v2(resources) == Lines{"cpu.idle=0", "cpu.weight=39"});
}

TEST_CASE("v2 cpu: realtime limits are refused", "[cgroups]") {
  oci::Resources resources = cpu(std::nullopt);
  resources.cpu->realtimeRuntime = 950000;
  CHECK(error_of(resources, Version::kV2) ==
        "invalid `linux.resources.cpu.realtimeRuntime`: realtime scheduling limits need cgroup "
        "v1");
  resources.cpu->realtimeRuntime.reset();
  resources.cpu->realtimePeriod = 1000000;
  CHECK(error_of(resources, Version::kV2)
            .starts_with("invalid `linux.resources.cpu.realtimePeriod`"));
}

TEST_CASE("cpuset: cpus and mems on both versions", "[cgroups]") {
  oci::Resources resources = cpu(std::nullopt);
  resources.cpu->cpus = "0-1";
  resources.cpu->mems = "0";
  Lines expected{"cpuset.cpus=0-1", "cpuset.mems=0"};
  CHECK(v1(resources) == expected);
  CHECK(v2(resources) == expected);
  CHECK(writes_of(resources, Version::kV2)[0].controller == "cpuset");
}

// ---- pids ------------------------------------------------------------------------------------

// runtime-spec 1.3: "`0` is a valid limit value for the `pids` cgroup controller from the
// kernel's perspective and SHOULD be treated as such by runtimes". runc 1.5 writes it as 1.
TEST_CASE("pids: unset is nothing, 0 is a real limit, negative is max", "[cgroups]") {
  oci::Resources resources;
  resources.pids = oci::PidsResources{100};
  CHECK(v1(resources) == Lines{"pids.max=100"});
  CHECK(v2(resources) == Lines{"pids.max=100"});
  resources.pids = oci::PidsResources{-1};
  CHECK(v1(resources) == Lines{"pids.max=max"});
  CHECK(v2(resources) == Lines{"pids.max=max"});
  resources.pids = oci::PidsResources{-5};
  CHECK(v2(resources) == Lines{"pids.max=max"});
  resources.pids = oci::PidsResources{0};
  CHECK(v1(resources) == Lines{"pids.max=1"});
  CHECK(v2(resources) == Lines{"pids.max=1"});
  resources.pids = oci::PidsResources{};  // "pids": {} or a null limit
  CHECK(v1(resources).empty());
  CHECK(v2(resources).empty());
}

// ---- block I/O -------------------------------------------------------------------------------

oci::Resources block_io() {
  oci::Resources resources;
  resources.blockIO.emplace();
  return resources;
}

TEST_CASE("v1 blkio: weight prefers BFQ's file", "[cgroups]") {
  oci::Resources resources = block_io();
  resources.blockIO->weight = 500;
  resources.blockIO->leafWeight = 300;
  resources.blockIO->weightDevice = {oci::WeightDevice{8, 0, 200, 100}};
  auto writes = writes_of(resources, Version::kV1, no_devices());
  CHECK(lines(writes) == Lines{"blkio.bfq.weight=500", "blkio.leaf_weight=300",
                               "blkio.bfq.weight_device=8:0 200",
                               "blkio.leaf_weight_device=8:0 100"});
  CHECK(writes[0].if_missing == FileValue{"blkio.weight", "500"});
  CHECK(writes[2].if_missing == FileValue{"blkio.weight_device", "8:0 200"});
  CHECK(writes[0].controller == "blkio");
}

TEST_CASE("v1 blkio: throttles", "[cgroups]") {
  oci::Resources resources = block_io();
  resources.blockIO->throttleReadBpsDevice = {{8, 0, 1048576}};
  resources.blockIO->throttleWriteBpsDevice = {{8, 0, 2097152}};
  resources.blockIO->throttleReadIOPSDevice = {{8, 16, 100}};
  resources.blockIO->throttleWriteIOPSDevice = {{8, 16, 200}};
  CHECK(v1(resources) == Lines{"blkio.throttle.read_bps_device=8:0 1048576",
                               "blkio.throttle.write_bps_device=8:0 2097152",
                               "blkio.throttle.read_iops_device=8:16 100",
                               "blkio.throttle.write_iops_device=8:16 200"});
}

TEST_CASE("v2 io: BFQ weight or converted io.weight", "[cgroups]") {
  oci::Resources resources = block_io();
  resources.blockIO->weight = 500;
  resources.blockIO->leafWeight = 300;  // no v2 equivalent
  resources.blockIO->weightDevice = {oci::WeightDevice{8, 0, 200, std::nullopt}};
  auto writes = writes_of(resources, Version::kV2);
  CHECK(lines(writes) == Lines{"io.bfq.weight=500", "io.bfq.weight=8:0 200"});
  CHECK(writes[0].if_missing == FileValue{"io.weight", "4950"});
  CHECK(writes[0].controller == "io");
  CHECK(writes[1].skip_if_missing);
  CHECK(blkio_weight_to_io_weight(10) == 1);
  CHECK(blkio_weight_to_io_weight(1000) == 10000);
  CHECK(blkio_weight_to_io_weight(0) == 0);
}

TEST_CASE("v2 io: one io.max line per device", "[cgroups]") {
  oci::Resources resources = block_io();
  resources.blockIO->throttleReadBpsDevice = {{8, 0, 1048576}};
  resources.blockIO->throttleWriteBpsDevice = {{8, 0, 2097152}};
  resources.blockIO->throttleReadIOPSDevice = {{8, 16, 100}};
  resources.blockIO->throttleWriteIOPSDevice = {{8, 0, 200}, {8, 16, 300}};
  CHECK(v2(resources) ==
        Lines{"io.max=8:0 rbps=1048576 wbps=2097152 wiops=200", "io.max=8:16 riops=100 wiops=300"});
}

// ---- hugetlb, network, rdma ------------------------------------------------------------------

TEST_CASE("hugetlb: file names per version", "[cgroups]") {
  oci::Resources resources;
  resources.hugepageLimits = {{"2MB", 4194304}, {"1GB", 0}};
  CHECK(v1(resources) ==
        Lines{"hugetlb.2MB.limit_in_bytes=4194304", "hugetlb.1GB.limit_in_bytes=0"});
  CHECK(v2(resources) == Lines{"hugetlb.2MB.max=4194304", "hugetlb.1GB.max=0"});
  CHECK(writes_of(resources, Version::kV2)[0].setting == "linux.resources.hugepageLimits");
}

TEST_CASE("hugetlb: a page size must look like 2MB", "[cgroups]") {
  oci::Resources resources;
  resources.hugepageLimits = {{"../../memory.max", 1}};
  CHECK(error_of(resources, Version::kV1) ==
        "invalid `linux.resources.hugepageLimits`: page size \"../../memory.max\" is not like "
        "\"2MB\"");
  resources.hugepageLimits = {{"MB", 1}};
  CHECK_FALSE(translate(resources, Version::kV2));
}

TEST_CASE("network: net_cls and net_prio on v1, nothing on v2", "[cgroups]") {
  oci::Resources resources;
  resources.network = oci::NetworkResources{0x100001, {{"eth0", 5}, {"lo", 2}}};
  auto writes = writes_of(resources, Version::kV1, no_devices());
  CHECK(lines(writes) ==
        Lines{"net_cls.classid=1048577", "net_prio.ifpriomap=eth0 5", "net_prio.ifpriomap=lo 2"});
  CHECK(writes[0].controller == "net_cls");
  CHECK(writes[1].controller == "net_prio");
  CHECK(v2(resources).empty());
  resources.network->priorities = {{"bad name", 1}};
  CHECK(error_of(resources, Version::kV1).find("interface name") != std::string::npos);
}

TEST_CASE("rdma: only the limits given", "[cgroups]") {
  oci::Resources resources;
  resources.rdma["mlx5_0"] = oci::RdmaLimit{10, std::nullopt};
  resources.rdma["mlx5_1"] = oci::RdmaLimit{3, 100};
  resources.rdma["mlx5_2"] = oci::RdmaLimit{};
  Lines expected{"rdma.max=mlx5_0 hca_handle=10", "rdma.max=mlx5_1 hca_handle=3 hca_object=100"};
  CHECK(v1(resources) == expected);
  CHECK(v2(resources) == expected);
}

// ---- devices ---------------------------------------------------------------------------------

std::vector<std::string> device_lines(const std::vector<oci::DeviceCgroupRule>& rules) {
  oci::Resources resources;
  resources.devices = rules;
  std::vector<std::string> out;
  for (const Write& write : writes_of(resources, Version::kV1)) {
    out.push_back(write.file + "=" + write.value);
  }
  return out;
}

const Lines kDefaultDeviceLines = {
    "devices.allow=c *:* m",   "devices.allow=b *:* m",     "devices.allow=c 1:3 rwm",
    "devices.allow=c 1:8 rwm", "devices.allow=c 1:7 rwm",   "devices.allow=c 5:0 rwm",
    "devices.allow=c 1:5 rwm", "devices.allow=c 1:9 rwm",   "devices.allow=c 136:* rwm",
    "devices.allow=c 5:2 rwm", "devices.allow=c 10:200 rwm"};

Lines with_defaults(Lines head) {
  head.insert(head.end(), kDefaultDeviceLines.begin(), kDefaultDeviceLines.end());
  return head;
}

TEST_CASE("v1 devices: deny all, then runc's default devices", "[cgroups]") {
  CHECK(device_lines({}) == with_defaults({"devices.deny=a"}));
  CHECK(default_device_rules().size() == 11);
}

TEST_CASE("v1 devices: the spec's rules in order, before the defaults", "[cgroups]") {
  std::vector<oci::DeviceCgroupRule> rules = {
      {false, "", std::nullopt, std::nullopt, "rwm"},  // runc spec's default: deny everything
      {true, "c", 10, 229, "rwm"},                     // /dev/fuse
      {true, "b", 8, std::nullopt, "r"},
      {false, "c", 1, 3, "w"},
      {true, "a", 4, std::nullopt, "rw"},  // narrower than a *:* rwm: both types
      {true, "a", std::nullopt, std::nullopt, ""},
  };
  CHECK(device_lines(rules) ==
        with_defaults({"devices.deny=a", "devices.deny=a", "devices.allow=c 10:229 rwm",
                       "devices.allow=b 8:* r", "devices.deny=c 1:3 w", "devices.allow=c 4:* rw",
                       "devices.allow=b 4:* rw", "devices.allow=a"}));
}

TEST_CASE("v1 devices: bad rules are refused", "[cgroups]") {
  oci::Resources resources;
  resources.devices = {{true, "x", 1, 3, "rwm"}};
  CHECK(error_of(resources, Version::kV1) ==
        "invalid `linux.resources.devices`: device type \"x\" is not one of a, b, c");
}

TEST_CASE("v1 devices: letters other than r, w and m are ignored, as runc does", "[cgroups]") {
  std::vector<oci::DeviceCgroupRule> rules = {
      {false, "", std::nullopt, std::nullopt, "rwm"},
      {false, "c", 1, 11, "rwa"},  // runc's bats suite
      {true, "c", 1, 3, "xyz"},    // nothing known: no line, and above all not "rwm"
  };
  CHECK(device_lines(rules) ==
        with_defaults({"devices.deny=a", "devices.deny=a", "devices.deny=c 1:11 rw"}));
}

TEST_CASE("devices: left alone on update, and on v2 (eBPF, elsewhere)", "[cgroups]") {
  oci::Resources resources;
  resources.devices = {{true, "c", 1, 3, "rwm"}};
  CHECK(v1(resources).empty());  // v1() translates with devices = false
  CHECK(v2(resources).empty());
}

// ---- unified ---------------------------------------------------------------------------------

TEST_CASE("unified: written last on v2, left to the caller on v1", "[cgroups]") {
  oci::Resources resources = memory(1048576);
  resources.unified = {{"memory.high", "900000"}, {"cgroup.max.depth", "4"}};
  auto writes = writes_of(resources, Version::kV2);
  CHECK(lines(writes) == Lines{"memory.max=1048576", "cgroup.max.depth=4", "memory.high=900000"});
  CHECK(writes[1].controller == "cgroup");
  CHECK(writes[1].setting == "linux.resources.unified");
  CHECK(writes[2].controller == "memory");
  CHECK(v1(resources) == Lines{"memory.limit_in_bytes=1048576"});
}

TEST_CASE("unified: keys must be file names CONTROLLER.PARAMETER", "[cgroups]") {
  CHECK(translate_unified({{"../memory.max", "1"}}).error().render() ==
        "invalid `linux.resources.unified`: unified resource \"../memory.max\" must be a file "
        "name (no slashes)");
  CHECK(translate_unified({{"memorymax", "1"}})
            .error()
            .render()
            .ends_with("must be in the form CONTROLLER.PARAMETER"));
  CHECK_FALSE(translate_unified({{".max", "1"}}));
  CHECK(translate_unified({}).value().empty());
}

// ---- the whole ---------------------------------------------------------------------------------

TEST_CASE("translate orders controllers like runc's subsystem list", "[cgroups]") {
  oci::Resources resources = memory(1048576);
  resources.cpu = oci::CpuResources{};
  resources.cpu->shares = 512;
  resources.cpu->cpus = "0";
  resources.pids = oci::PidsResources{10};
  resources.hugepageLimits = {{"2MB", 0}};
  CHECK(v1(resources) == Lines{"cpuset.cpus=0", "memory.limit_in_bytes=1048576", "cpu.shares=512",
                               "pids.max=10", "hugetlb.2MB.limit_in_bytes=0"});
  CHECK(v2(resources) == Lines{"cpuset.cpus=0", "memory.max=1048576", "cpu.weight=20",
                               "pids.max=10", "hugetlb.2MB.max=0"});
  CHECK(v1(oci::Resources{}).empty());
  CHECK(v2(oci::Resources{}).empty());
}

TEST_CASE("only_controller picks one v2 controller's settings", "[cgroups]") {
  oci::Resources resources = memory(1048576);
  resources.cpu = oci::CpuResources{};
  resources.cpu->shares = 512;
  resources.cpu->cpus = "0";
  resources.hugepageLimits = {{"2MB", 0}};
  CHECK(v2(only_controller(resources, "hugetlb")) == Lines{"hugetlb.2MB.max=0"});
  CHECK(v2(only_controller(resources, "cpu")) == Lines{"cpu.weight=20"});
  CHECK(v2(only_controller(resources, "cpuset")) == Lines{"cpuset.cpus=0"});
  CHECK(v2(only_controller(resources, "memory")) == Lines{"memory.max=1048576"});
  CHECK(v2(only_controller(resources, "io")).empty());
  CHECK(v2_controller_of("blkio") == "io");
  CHECK(v2_controller_of("hugetlb") == "hugetlb");
  CHECK(v2_controller_of("net_cls").empty());
  CHECK(v2_controller_of("devices").empty());
}

}  // namespace
}  // namespace mkrun::cgroups
