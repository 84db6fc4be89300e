// What the CLI tests share: parsing a command line that must succeed, or must fail.
#pragma once

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "command.hpp"
#include "flags.hpp"

namespace mkrun::cli::testing {

using Args = std::vector<std::string>;

inline const ProgramInfo kInfo{"mkrun", "/run/mkrun", "2.5.4"};

inline Invocation command_ok(const Args& rest) {
  auto invocation = parse_command(GlobalFlags{}, rest, kInfo);
  INFO((invocation ? std::string() : invocation.error().error + invocation.error().out));
  REQUIRE(invocation.has_value());
  return std::move(*invocation);
}

inline Exit command_exit(const Args& rest) {
  auto invocation = parse_command(GlobalFlags{}, rest, kInfo);
  REQUIRE_FALSE(invocation.has_value());
  return invocation.error();
}

}  // namespace mkrun::cli::testing
