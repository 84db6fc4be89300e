// What McKernel cannot honour: refused where the application would silently lack what it asked
// for, a warning where the setting still holds for mcexec (lwk/README.md, "What McKernel does
// not honour").
#include <catch2/catch.hpp>

#include "mkrun/lwk/unhonoured.hpp"
#include "mkrun/oci/parse.hpp"

using namespace mkrun;

namespace {

oci::Spec spec_with(const std::string& process_extra, const std::string& linux_extra) {
  std::string json = R"({"ociVersion":"1.3.0","root":{"path":"rootfs"},)"
                     R"("process":{"args":["app"],"cwd":"/")" +
                     process_extra + R"(},"linux":{"namespaces":[{"type":"mount"}])" + linux_extra +
                     "}}";
  auto spec = oci::parse_spec(json);
  INFO(json);
  REQUIRE(spec);
  return *spec;
}

std::string refusal(const oci::Spec& spec) {
  auto checked = lwk::check_unhonoured_settings(spec);
  REQUIRE_FALSE(checked);
  return checked.error().what();
}

}  // namespace

TEST_CASE("a spec that asks nothing McKernel ignores passes without a word", "[unhonoured]") {
  auto checked = lwk::check_unhonoured_settings(
      spec_with(R"(,"scheduler":{"policy":"SCHED_OTHER"})",
                R"(,"memoryPolicy":{"mode":"MPOL_BIND","nodes":"0"})"));
  REQUIRE(checked);
  CHECK(checked->empty());
}

TEST_CASE("empty lists and a plain scheduler ask nothing", "[unhonoured]") {
  auto checked = lwk::check_unhonoured_settings(
      spec_with(R"(,"rlimits":[],"scheduler":{"policy":"SCHED_OTHER","nice":0})",
                R"(,"timeOffsets":{},"memoryPolicy":{"mode":"MPOL_DEFAULT","flags":[]})"));
  REQUIRE(checked);
  CHECK(checked->empty());
}

TEST_CASE("rlimits and the I/O priority are warnings that name them", "[unhonoured]") {
  auto checked = lwk::check_unhonoured_settings(spec_with(
      R"(,"rlimits":[{"type":"RLIMIT_AS","hard":1,"soft":1},{"type":"RLIMIT_NOFILE","hard":8,"soft":8}],)"
      R"("ioPriority":{"class":"IOPRIO_CLASS_IDLE"})",
      ""));
  REQUIRE(checked);
  REQUIRE(checked->size() == 2);
  CHECK_THAT((*checked)[0], Catch::StartsWith("process.rlimits (RLIMIT_AS, RLIMIT_NOFILE)"));
  CHECK_THAT((*checked)[0], Catch::Contains("does not enforce rlimits"));
  CHECK_THAT((*checked)[1], Catch::StartsWith("process.ioPriority (IOPRIO_CLASS_IDLE)"));
}

TEST_CASE("a scheduling policy, priority or nice value is refused", "[unhonoured]") {
  CHECK_THAT(refusal(spec_with(R"(,"scheduler":{"policy":"SCHED_FIFO","priority":10})", "")),
             Catch::StartsWith("process.scheduler (SCHED_FIFO) cannot be honoured on McKernel"));
  CHECK_THAT(refusal(spec_with(R"(,"scheduler":{"policy":"SCHED_OTHER","nice":5})", "")),
             Catch::Contains("nice values"));
}

TEST_CASE("interleaving, relative nodes and time offsets are refused", "[unhonoured]") {
  CHECK_THAT(refusal(spec_with("", R"(,"memoryPolicy":{"mode":"MPOL_INTERLEAVE","nodes":"0-1"})")),
             Catch::Contains("MPOL_INTERLEAVE cannot be honoured on McKernel"));
  CHECK_THAT(refusal(spec_with("", R"(,"memoryPolicy":{"mode":"MPOL_BIND","nodes":"0",)"
                                   R"("flags":["MPOL_F_RELATIVE_NODES"]})")),
             Catch::Contains("MPOL_F_RELATIVE_NODES"));
  CHECK_THAT(refusal(spec_with("", R"(,"timeOffsets":{"monotonic":{"secs":1}})")),
             Catch::StartsWith("linux.timeOffsets cannot be honoured on McKernel"));
}
