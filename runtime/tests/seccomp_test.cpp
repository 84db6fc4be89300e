#include <catch2/catch.hpp>

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
