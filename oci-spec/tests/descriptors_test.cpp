#include "mkrun/oci/descriptors.hpp"

#include <catch2/catch.hpp>

using namespace mkrun::oci;

TEST_CASE("descriptors.json is runc's compact array of the init's stdio", "[descriptors]") {
  const std::vector<std::string> fds = {"pipe:[42]", "/dev/null", "/tmp/a \"b\""};
  const std::string json = render_descriptors(fds);
  CHECK(json == R"(["pipe:[42]","/dev/null","/tmp/a \"b\""])");
  auto parsed = parse_descriptors(json);
  REQUIRE(parsed);
  CHECK(*parsed == fds);
}

TEST_CASE("descriptors.json that is not an array of strings is refused", "[descriptors]") {
  CHECK_FALSE(parse_descriptors("{}"));
  CHECK_FALSE(parse_descriptors("[1]"));
  CHECK_FALSE(parse_descriptors("["));
}
