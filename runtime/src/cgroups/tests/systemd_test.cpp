// The systemd driver's pure parts (unit names, runc's property translation), and, where systemd
// runs (the guest suite), a transient scope made and stopped for real over D-Bus.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "cgroups/manager.hpp"
#include "cgroups/systemd.hpp"

namespace mkrun::cgroups::systemd {
namespace {

constexpr uint64_t kInfinity = std::numeric_limits<uint64_t>::max();

using Properties = std::vector<dbus::Property>;

Properties resource_props(const oci::Resources& resources, unsigned version, bool unified) {
  auto properties = resource_properties(resources, version, unified);
  if (!properties) FAIL(properties.error().render());
  return *properties;
}

TEST_CASE("systemd unit_of: scope and slice from the cgroup path", "[systemd]") {
  auto unit = unit_of("/sys/fs/cgroup/a.slice/a-b.slice/p-n.scope", "/sys/fs/cgroup");
  REQUIRE(unit);
  CHECK(unit->name == "p-n.scope");
  CHECK(unit->slice == "a-b.slice");
  auto root = unit_of("/sys/fs/cgroup/mkrun-x.scope", "/sys/fs/cgroup");
  REQUIRE(root);
  CHECK(root->slice == "-.slice");
  auto v1 = unit_of("/sys/fs/cgroup/memory/system.slice/docker-1.scope", "/sys/fs/cgroup/memory");
  REQUIRE(v1);
  CHECK(v1->name == "docker-1.scope");
  CHECK(v1->slice == "system.slice");
  auto slice = unit_of("/sys/fs/cgroup/machine.slice/ctr.slice", "/sys/fs/cgroup");
  REQUIRE(slice);
  CHECK(slice->name == "ctr.slice");
  CHECK(slice->slice == "machine.slice");
  CHECK_FALSE(unit_of("/sys/fs/cgroup/docker/abc", "/sys/fs/cgroup"));
}

TEST_CASE("systemd major_version reads distribution version strings", "[systemd]") {
  CHECK(major_version("252.39-1~deb12u2") == 252);
  CHECK(major_version("239 (239-58.el8)") == 239);
  CHECK(major_version("v245.4-4ubuntu3") == 245);
  CHECK(major_version("") == 0);
}

TEST_CASE("systemd cpuset_bits is runc's RangeToBits", "[systemd]") {
  CHECK(cpuset_bits("0-2,7").value() == std::vector<uint8_t>{0x87});
  CHECK(cpuset_bits("8").value() == std::vector<uint8_t>{0x00, 0x01});
  CHECK(cpuset_bits(" 0 , 9-10 ").value() == std::vector<uint8_t>{0x01, 0x06});
  CHECK(cpuset_bits("0-63").value() == std::vector<uint8_t>(8, 0xff));
  CHECK_FALSE(cpuset_bits(""));
  CHECK_FALSE(cpuset_bits("3-1"));
  CHECK_FALSE(cpuset_bits("a"));
  CHECK_FALSE(cpuset_bits("0-99999999"));
}

TEST_CASE("systemd v2 properties: memory, cpu, pids and cpuset as runc sets them", "[systemd]") {
  oci::Resources r;
  r.memory.emplace();
  r.memory->limit = 64 << 20;
  r.memory->reservation = 32 << 20;
  r.memory->swap = 96 << 20;
  r.cpu.emplace();
  r.cpu->shares = 512;
  r.cpu->quota = 50000;
  r.cpu->period = 100000;
  r.cpu->cpus = "0-1";
  r.cpu->mems = "0";
  r.pids = oci::PidsResources{100};
  Properties expected = {
      {"MemoryMax", uint64_t{64 << 20}},
      {"MemoryLow", uint64_t{32 << 20}},
      {"MemorySwapMax", uint64_t{32 << 20}},
      {"CPUWeight", uint64_t{20}},  // runc: 1 + (512 - 2) * 9999 / 262142
      {"CPUQuotaPeriodUSec", uint64_t{100000}},
      {"CPUQuotaPerSecUSec", uint64_t{500000}},
      {"TasksMax", uint64_t{100}},
      {"AllowedCPUs", std::vector<uint8_t>{0x03}},
      {"AllowedMemoryNodes", std::vector<uint8_t>{0x01}},
  };
  CHECK(resource_props(r, 252, true) == expected);

  // systemd before 242/244 lacks the period and the cpuset properties: cgroupfs only.
  Properties old = resource_props(r, 241, true);
  for (const auto& p : old) {
    CHECK(p.name != "CPUQuotaPeriodUSec");
    CHECK(p.name != "AllowedCPUs");
  }
}

TEST_CASE("systemd properties: unlimited values and quota rounding", "[systemd]") {
  oci::Resources r;
  r.memory.emplace();
  r.memory->limit = -1;
  r.pids = oci::PidsResources{-1};
  r.cpu.emplace();
  r.cpu->quota = 12345;  // 12.345% of a CPU: rounded up to whole percent
  Properties expected = {
      {"MemoryMax", kInfinity},
      {"MemorySwapMax", kInfinity},  // unlimited memory with swap unset: unlimited swap
      {"CPUQuotaPerSecUSec", uint64_t{130000}},
      {"TasksMax", kInfinity},
  };
  CHECK(resource_props(r, 252, true) == expected);

  oci::Resources no_tasks;  // runtime-spec 1.3's pids limit 0, as runc 1.5 gives it to systemd
  no_tasks.pids = oci::PidsResources{0};
  CHECK(resource_props(no_tasks, 252, true) == Properties{{"TasksMax", uint64_t{1}}});
  no_tasks.pids = oci::PidsResources{};
  CHECK(resource_props(no_tasks, 252, true).empty());

  oci::Resources period_only;
  period_only.cpu.emplace();
  period_only.cpu->period = 50000;
  CHECK(resource_props(period_only, 252, true) ==
        Properties{{"CPUQuotaPeriodUSec", uint64_t{50000}}, {"CPUQuotaPerSecUSec", kInfinity}});

  oci::Resources bad_swap;
  bad_swap.memory.emplace();
  bad_swap.memory->swap = 1 << 20;  // swap without a memory limit
  CHECK_FALSE(resource_properties(bad_swap, 252, true));
}

TEST_CASE("systemd v1 properties use the legacy names", "[systemd]") {
  oci::Resources r;
  r.memory.emplace();
  r.memory->limit = 1 << 20;
  r.cpu.emplace();
  r.cpu->shares = 512;
  r.blockIO.emplace();
  r.blockIO->weight = 300;
  r.pids = oci::PidsResources{10};
  Properties expected = {
      {"MemoryLimit", uint64_t{1 << 20}},
      {"CPUShares", uint64_t{512}},
      {"BlockIOWeight", uint64_t{300}},
      {"TasksMax", uint64_t{10}},
  };
  CHECK(resource_props(r, 252, false) == expected);
}

TEST_CASE("systemd properties from linux.resources.unified (runc's unifiedResToSystemdProps)",
          "[systemd]") {
  oci::Resources r;
  r.unified = {{"cpu.max", "max 50000"},     {"cpu.weight", "77"},       {"cpuset.cpus", "1"},
               {"memory.high", " 1048576 "}, {"memory.swap.max", "max"}, {"pids.max", "12"},
               {"io.weight", "default 100"}};  // no systemd property: cgroupfs only
  Properties expected = {
      {"CPUQuotaPeriodUSec", uint64_t{50000}},
      {"CPUQuotaPerSecUSec", kInfinity},
      {"CPUWeight", uint64_t{77}},
      {"AllowedCPUs", std::vector<uint8_t>{0x02}},
      {"MemoryHigh", uint64_t{1048576}},
      {"MemorySwapMax", kInfinity},
      {"TasksMax", uint64_t{12}},
  };
  CHECK(resource_props(r, 252, true) == expected);

  oci::Resources bad;
  bad.unified = {{"memory.max", "lots"}};
  auto refused = resource_properties(bad, 252, true);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().render() == "unified resource \"memory.max\" value invalid: \"lots\"");
  bad.unified = {{"cpu.max", "1 2 3"}};
  CHECK_FALSE(resource_properties(bad, 252, true));
}

TEST_CASE("systemd unit properties: a delegated scope holding the init", "[systemd]") {
  oci::Resources r;
  r.pids = oci::PidsResources{5};
  auto properties = unit_properties({"mkrun-c1.scope", "system.slice"}, 4242, &r, 252, true);
  REQUIRE(properties);
  Properties expected = {
      {"Description", std::string("mkrun container mkrun-c1.scope")},
      {"Slice", std::string("system.slice")},
      {"Delegate", true},
      {"PIDs", std::vector<uint32_t>{4242}},
      {"MemoryAccounting", true},
      {"CPUAccounting", true},
      {"IOAccounting", true},
      {"TasksAccounting", true},
      {"DefaultDependencies", false},
      {"TasksMax", uint64_t{5}},
  };
  CHECK(*properties == expected);

  auto slice = unit_properties({"c1.slice", "machine.slice"}, 1, nullptr, 252, false);
  REQUIRE(slice);
  CHECK((*slice)[1] == dbus::Property{"Wants", std::vector<std::string>{"machine.slice"}});
  CHECK((*slice)[5] == dbus::Property{"BlockIOAccounting", true});
}

// ---- with a running systemd ------------------------------------------------------------------

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  std::getline(in, text, '\0');
  return text;
}

TEST_CASE("systemd: a transient scope started and stopped over D-Bus (needs systemd)",
          "[systemd][root]") {
  if (::geteuid() != 0 || !is_running()) {
    WARN("skipped: needs root and a running systemd");
    return;
  }
  // Once through the private socket (what mkrun uses as root), once through the bus daemon.
  auto transport = GENERATE(Client::Transport::kAuto, Client::Transport::kSystemBus);
  auto host = detect_host();
  REQUIRE(host);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // Stopping the scope sends SIGTERM: die of it, without Catch2's handler writing a report.
    ::signal(SIGTERM, SIG_DFL);
    for (;;) ::pause();
  }
  std::string name = "mkrun-unit-test-" + std::to_string(::getpid()) + "-" +
                     std::to_string(static_cast<int>(transport)) + ".scope";
  std::string dir;
  Result<void> started;
  Result<void> stopped;
  {
    auto client = Client::connect(transport);
    if (!client) FAIL(client.error().render());
    auto version = client->version();
    REQUIRE(version);
    CHECK(*version >= 200);
    oci::Resources r;
    r.pids = oci::PidsResources{7};
    bool unified = host->layout == Layout::kV2;
    auto properties = unit_properties({name, "system.slice"}, child, &r, *version, unified);
    REQUIRE(properties);
    started = client->start_unit(name, *properties);
    if (unified) dir = host->unified()->mount_point + "/system.slice/" + name;
    if (started && unified) {
      CHECK(read_file(dir + "/pids.max") == "7\n");
      CHECK(read_file(dir + "/cgroup.procs") == std::to_string(child) + "\n");
    }
    // Stopping kills the scope's processes (SIGTERM) and removes its cgroup.
    stopped = client->stop_unit(name);
    // Stopping a unit systemd no longer has is fine.
    CHECK(client->stop_unit(name));
  }
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  if (!started) FAIL(started.error().render());
  if (!stopped) FAIL(stopped.error().render());
  if (!dir.empty()) CHECK_FALSE(std::filesystem::exists(dir));
}

}  // namespace
}  // namespace mkrun::cgroups::systemd
