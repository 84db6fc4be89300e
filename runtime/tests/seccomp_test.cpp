#include <catch2/catch.hpp>

#include <linux/seccomp.h>

#include <algorithm>

#include "plan/seccomp.hpp"

using namespace mkrun;

TEST_CASE("a seccomp profile compiles to a BPF program", "[seccomp]") {
  oci::Seccomp profile;
  profile.defaultAction = "SCMP_ACT_ERRNO";
  profile.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
  profile.flags = {"SECCOMP_FILTER_FLAG_SPEC_ALLOW"};
  profile.syscalls = {
      {{"read", "write", "no_such_syscall"}, "SCMP_ACT_ALLOW", std::nullopt, {}},
      {{"personality"},
       "SCMP_ACT_ALLOW",
       std::nullopt,
       {{0, 0, 0, "SCMP_CMP_EQ"}, {0, 8, 0, "SCMP_CMP_EQ"}}},
      {{"clone"}, "SCMP_ACT_ALLOW", std::nullopt, {{0, 0x7E020000, 0, "SCMP_CMP_MASKED_EQ"}}},
  };
  auto program = plan::compile_seccomp(profile);
  REQUIRE(program);
  CHECK(program->filter.size() > 10);
  CHECK(program->flags != 0);
}

TEST_CASE("seccomp errors name the bad value", "[seccomp]") {
  oci::Seccomp profile;
  profile.defaultAction = "SCMP_ACT_BOGUS";
  CHECK(plan::compile_seccomp(profile).error().render() ==
        "unknown seccomp action \"SCMP_ACT_BOGUS\"");
  profile.defaultAction = "SCMP_ACT_ALLOW";
  profile.syscalls = {{{"read"}, "SCMP_ACT_ERRNO", 1, {{0, 1, 0, "SCMP_CMP_SOMETIMES"}}}};
  CHECK(plan::compile_seccomp(profile).error().render() ==
        "unknown seccomp operator \"SCMP_CMP_SOMETIMES\"");
  profile.syscalls = {};
  profile.architectures = {"SCMP_ARCH_VAX"};
  CHECK(plan::compile_seccomp(profile).error().render() ==
        "unknown seccomp architecture \"SCMP_ARCH_VAX\"");
}

namespace {

oci::Seccomp notify_profile(std::vector<std::string> names) {
  oci::Seccomp profile;
  profile.defaultAction = "SCMP_ACT_ALLOW";
  profile.listenerPath = "/run/agent.sock";
  profile.syscalls = {{std::move(names), "SCMP_ACT_NOTIFY", std::nullopt, {}}};
  return profile;
}

}  // namespace

TEST_CASE("SCMP_ACT_NOTIFY asks the kernel for a listener", "[seccomp]") {
  auto program = plan::compile_seccomp(notify_profile({"mkdir"}));
  REQUIRE(program);
  CHECK(program->new_listener);
  CHECK((program->flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) != 0);

  oci::Seccomp plain = notify_profile({"mkdir"});
  plain.syscalls[0].action = "SCMP_ACT_ERRNO";
  auto without = plan::compile_seccomp(plain);
  REQUIRE(without);
  CHECK_FALSE(without->new_listener);
  CHECK((without->flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) == 0);
}

TEST_CASE("SCMP_ACT_NOTIFY is refused where the listener could never reach the agent",
          "[seccomp]") {
  CHECK(plan::compile_seccomp(notify_profile({"mkdir", "write"})).error().render() ==
        "SCMP_ACT_NOTIFY cannot be used for the write syscall");
  CHECK(plan::compile_seccomp(notify_profile({"sendmsg"})).error().render() ==
        "SCMP_ACT_NOTIFY cannot be used for the sendmsg syscall");
  oci::Seccomp as_default = notify_profile({});
  as_default.defaultAction = "SCMP_ACT_NOTIFY";
  CHECK(plan::compile_seccomp(as_default).error().render() ==
        "SCMP_ACT_NOTIFY cannot be used as default action");
  oci::Seccomp no_listener = notify_profile({"mkdir"});
  no_listener.listenerPath.clear();
  CHECK(plan::compile_seccomp(no_listener).error().render() ==
        "linux.seccomp uses SCMP_ACT_NOTIFY: listenerPath is not set");
}

TEST_CASE("`features` lists SCMP_ACT_NOTIFY", "[seccomp]") {
  auto actions = plan::seccomp_actions();
  CHECK(std::find(actions.begin(), actions.end(), "SCMP_ACT_NOTIFY") != actions.end());
}
