#include <catch2/catch.hpp>

#include "mkrun/lwk/launch.hpp"

using namespace mkrun;
using namespace mkrun::lwk;

namespace {

oci::Spec busybox_spec() {
  oci::Spec spec;
  spec.process = oci::Process{};
  spec.process->args = {"sh", "-c", "echo hi"};
  spec.process->user.uid = 1000;
  spec.process->user.gid = 100;
  spec.mounts = {{"/proc", "proc", "proc", {}, {}, {}}, {"/dev", "tmpfs", "tmpfs", {}, {}, {}}};
  spec.linux = oci::Linux{};
  spec.linux->namespaces = {{"pid", ""}, {"mount", ""}};
  spec.linux->maskedPaths = {"/proc/kcore", "/proc/mcos2", "/sys/devices/virtual"};
  spec.linux->readonlyPaths = {"/proc/sys", "/sys"};
  return spec;
}

Launch launch_on(int os) {
  Launch launch;
  launch.os = os;
  launch.major = 240;
  launch.minor = os;
  launch.mcexec = "/opt/mckernel/bin/mcexec";
  launch.mcexec_args = {"-t", "4"};
  launch.read_only_binds = {"/opt/mckernel/lib64"};
  return launch;
}

}  // namespace

TEST_CASE("mcexec takes the instance right before the program", "[launch]") {
  CHECK(mcexec_argv("/m", {"-t", "4", "--mpol-no-stack"}, 3, {"./a.out", "-x"}) ==
        std::vector<std::string>{"/m", "-t", "4", "--mpol-no-stack", "3", "./a.out", "-x"});
  CHECK(mcexec_argv("/m", {}, 0, {"app"}) == std::vector<std::string>{"/m", "0", "app"});
}

TEST_CASE("the spec is rewritten for mcexec", "[launch]") {
  oci::Spec spec = busybox_spec();
  Launch launch = launch_on(2);
  launch.init = "/usr/libexec/mkrun/mkrun-lwk-init";
  launch.linux_cpus = ihk::CpuList::parse("4").value();
  launch.annotations["io.mkrun.mckernel.os"] = "2";
  REQUIRE(rewrite_spec(spec, launch));

  CHECK(spec.process->args == std::vector<std::string>{"/usr/libexec/mkrun/mkrun-lwk-init",
                                                       "/opt/mckernel/bin/mcexec", "-t", "4", "2",
                                                       "sh", "-c", "echo hi"});
  auto& linux = *spec.linux;
  REQUIRE(linux.personality);
  CHECK(linux.personality->domain == "LINUX");
  CHECK(linux.personality->flags == std::vector<std::string>{"ADDR_NO_RANDOMIZE"});

  REQUIRE(linux.devices.size() == 1);
  const oci::Device& device = linux.devices[0];
  CHECK(device.type == "c");
  CHECK(device.path == "/dev/mcos2");
  CHECK(device.major == 240);
  CHECK(device.minor == 2);
  CHECK(device.fileMode == 0600u);
  CHECK(device.uid == 1000u);
  CHECK(device.gid == 100u);
  REQUIRE(linux.resources);
  REQUIRE(linux.resources->devices.size() == 1);
  const oci::DeviceCgroupRule& rule = linux.resources->devices[0];
  CHECK(rule.allow);
  CHECK(rule.type == "c");
  CHECK(rule.major == 240);
  CHECK(rule.minor == 2);
  CHECK(rule.access == "rwm");
  CHECK(linux.resources->cpu->cpus == "4");

  std::vector<std::string> binds;
  for (const auto& m : spec.mounts) {
    if (m.type == "bind") {
      binds.push_back(m.destination);
      CHECK(m.source == m.destination);
      CHECK(std::find(m.options.begin(), m.options.end(), "ro") != m.options.end());
    }
  }
  CHECK(binds == std::vector<std::string>{"/opt/mckernel/bin/mcexec",
                                          "/usr/libexec/mkrun/mkrun-lwk-init",
                                          "/opt/mckernel/lib64"});
  // sysfs added, proc kept; the instance's /proc and /sys parts are not masked any more.
  CHECK(std::count_if(spec.mounts.begin(), spec.mounts.end(), [](const auto& m) {
          return m.type == "sysfs" && m.destination == "/sys";
        }) == 1);
  CHECK(linux.maskedPaths == std::vector<std::string>{"/proc/kcore"});
  CHECK(linux.readonlyPaths == std::vector<std::string>{"/proc/sys", "/sys"});
  CHECK(spec.annotations.at("io.mkrun.mckernel.os") == "2");
}

TEST_CASE("without its own pid namespace mcexec is the first process", "[launch]") {
  oci::Spec spec = busybox_spec();
  spec.linux->namespaces = {{"mount", ""}};
  CHECK_FALSE(has_own_pid_namespace(spec));
  spec.linux->namespaces.push_back({"pid", "/proc/1/ns/pid"});
  CHECK_FALSE(has_own_pid_namespace(spec));
  REQUIRE(rewrite_spec(spec, launch_on(0)));
  CHECK(spec.process->args.front() == "/opt/mckernel/bin/mcexec");
  CHECK(has_own_pid_namespace(busybox_spec()));
}

TEST_CASE("a 32-bit personality cannot run on McKernel", "[launch]") {
  oci::Spec spec = busybox_spec();
  spec.linux->personality = oci::Personality{"LINUX32", {}};
  CHECK_FALSE(rewrite_spec(spec, launch_on(0)));
  spec.linux->personality = oci::Personality{"LINUX", {"ADDR_NO_RANDOMIZE"}};
  REQUIRE(rewrite_spec(spec, launch_on(0)));
  CHECK(spec.linux->personality->flags.size() == 1);
}

TEST_CASE("a device the config listed for the same path is replaced", "[launch]") {
  oci::Spec spec = busybox_spec();
  spec.linux->devices.push_back({"c", "/dev/mcos0", 1, 3, 0666u, 0u, 0u});
  REQUIRE(rewrite_spec(spec, launch_on(0)));
  REQUIRE(spec.linux->devices.size() == 1);
  CHECK(spec.linux->devices[0].major == 240);
}
