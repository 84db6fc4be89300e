#include <signal.h>

#include <catch2/catch.hpp>

#include "mkrun/runtime/runtime.hpp"

using mkrun::runtime::is_valid_container_id;
using mkrun::runtime::parse_signal;

TEST_CASE("container ids follow runc's rule", "[ids]") {
  CHECK(is_valid_container_id("abc"));
  CHECK(is_valid_container_id("a.b-c_d+e"));
  CHECK(is_valid_container_id(std::string(64, 'f')));
  CHECK_FALSE(is_valid_container_id(""));
  CHECK_FALSE(is_valid_container_id("."));
  CHECK_FALSE(is_valid_container_id(".."));
  CHECK_FALSE(is_valid_container_id("a/b"));
  CHECK_FALSE(is_valid_container_id("../x"));
  CHECK_FALSE(is_valid_container_id("a b"));
}

TEST_CASE("signals by number or name, any case, with or without SIG", "[ids]") {
  CHECK(parse_signal("9").value() == SIGKILL);
  CHECK(parse_signal("KILL").value() == SIGKILL);
  CHECK(parse_signal("sigkill").value() == SIGKILL);
  CHECK(parse_signal("usr1").value() == SIGUSR1);
  CHECK(parse_signal("SIGTERM").value() == SIGTERM);
  CHECK(parse_signal("FOO").error().render() == "unknown signal \"FOO\"");
  CHECK(parse_signal("0").value() == 0);  // the null signal, as runc's parseSignal reads it
  CHECK(parse_signal(std::to_string(SIGRTMAX)).value() == SIGRTMAX);
  CHECK(parse_signal(std::to_string(SIGRTMAX + 1)).error().render() ==
        "unknown signal \"" + std::to_string(SIGRTMAX + 1) + "\"");
  CHECK_FALSE(parse_signal("-1").has_value());
}
