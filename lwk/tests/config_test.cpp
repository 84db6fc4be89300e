#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "mkrun/lwk/config.hpp"
#include "text_files.hpp"

using namespace mkrun;
using namespace mkrun::lwk;

TEST_CASE("the shipped mckernel.conf parses", "[config]") {
  auto text = files::read_file(std::string(MKRUN_SOURCE_ROOT) + "/lwk/mckernel.conf");
  REQUIRE(text);
  auto config = parse_host_config(*text, "mckernel.conf");
  REQUIRE(config);
  // As shipped (a conffile of the package) it lets mkrun take nothing.
  CHECK(config->prefix == "/opt/mckernel");
  CHECK(config->cpus.empty());
  CHECK(config->memory.empty());
  CHECK_FALSE(config->boot);
  CHECK(config->attach.empty());
  CHECK(config->pool == 0);
  CHECK(config->build_id.empty());
  CHECK(config->boot_timeout == std::chrono::seconds(30));
}

TEST_CASE("install paths derive from the prefix unless set", "[config]") {
  auto config = parse_host_config("prefix = /x\nmcexec = /y/mcexec\n", "c");
  REQUIRE(config);
  CHECK(config->libihk == "/x/lib64/libihk.so");
  CHECK(config->mcexec == "/y/mcexec");
  CHECK(config->ihkconfig == "/x/sbin/ihkconfig");
  CHECK(config->libdir == "/x/lib64");
  CHECK(config->image == "/x/smp-x86/kernel/mckernel.img");
  CHECK_FALSE(config->init.empty());
}

TEST_CASE("host configuration errors name the line", "[config]") {
  CHECK(parse_host_config("cpus = 0-3\n", "/etc/c").error().render() ==
        "/etc/c:1: cpus: CPU 0 can never be given to McKernel: Linux needs it");
  CHECK(parse_host_config("\n# x\nbogus = 1\n", "/etc/c").error().render() ==
        "/etc/c:3: unknown key \"bogus\"");
  CHECK(parse_host_config("boot = maybe", "c").error().render() ==
        "c:1: boot: expected yes or no, got \"maybe\"");
  CHECK(parse_host_config("prefix = relative", "c").error().render() ==
        "c:1: prefix: expected an absolute path, got \"relative\"");
  CHECK(parse_host_config("cpus = 1\ncpus = 2", "c").error().render() ==
        "c:2: \"cpus\" is set twice");
  CHECK(parse_host_config("just words", "c").error().render() == "c:1: expected `key = value`");
  CHECK_FALSE(parse_host_config("memory = all@0", "c"));
}

TEST_CASE("attach_users: users and @groups", "[config]") {
  auto config = parse_host_config("attach = 5\nattach_users = alice @hpc 1000 @27\n", "c");
  REQUIRE(config);
  CHECK(config->attach_users == std::vector<std::string>{"alice", "@hpc", "1000", "@27"});
  CHECK(parse_host_config("", "c")->attach_users.empty());
  CHECK(parse_host_config("attach_users = @", "c").error().render() ==
        "c:1: attach_users: \"@\" needs a group name or gid");
}

TEST_CASE("comments, attach lists, durations", "[config]") {
  auto config = parse_host_config(
      "attach = 0,2-3  # the admin's\nkargs = time_sharing\nboot_timeout = 500ms\n"
      "default_memory = 1G\nbinds = /a /b\n",
      "c");
  REQUIRE(config);
  CHECK(config->attach == std::vector<int>{0, 2, 3});
  CHECK(config->kargs == "time_sharing");
  CHECK(config->boot_timeout == std::chrono::milliseconds(500));
  CHECK(config->default_memory == 1ull << 30);
  CHECK(config->binds == std::vector<std::string>{"/a", "/b"});
  CHECK(parse_duration("2m").value() == std::chrono::minutes(2));
  CHECK(parse_duration("7").value() == std::chrono::seconds(7));
  CHECK_FALSE(parse_duration("7h"));
  CHECK_FALSE(parse_duration("s"));
}

TEST_CASE("the warm pool's keys", "[config]") {
  auto config = parse_host_config("pool = 2\npool_ncpus = 4\npool_memory = 2G\n", "c");
  REQUIRE(config);
  CHECK(config->pool == 2);
  CHECK(config->pool_ncpus == 4);
  CHECK(config->pool_memory == 2ull << 30);
  auto defaults = parse_host_config("", "c");
  CHECK(defaults->pool == 0);
  CHECK(defaults->pool_ncpus == 1);
  CHECK_FALSE(parse_host_config("pool = -1\n", "c"));
  CHECK_FALSE(parse_host_config("pool_ncpus = 0\n", "c"));
  // the reset: in the delete unless the configuration says background
  CHECK_FALSE(defaults->pool_reset_in_background);
  CHECK(parse_host_config("pool_reset = background\n", "c")->pool_reset_in_background);
  CHECK_FALSE(parse_host_config("pool_reset = delete\n", "c")->pool_reset_in_background);
  auto wrong = parse_host_config("pool_reset = later\n", "c");
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().render().find("must be delete or background, not \"later\"") !=
        std::string::npos);
  CHECK(defaults->mkrun_lwk.ends_with("/sbin/mkrun-lwk"));
  CHECK(parse_host_config("mkrun_lwk = /opt/x\n", "c")->mkrun_lwk == "/opt/x");
  CHECK_FALSE(parse_host_config("mkrun_lwk = relative\n", "c"));
  // a pool alone enables McKernel: its containers need no boot of their own
  CHECK(check_enabled(*parse_host_config("boot = no\npool = 1\n", "c")));
  CHECK_FALSE(check_enabled(*parse_host_config("boot = no\n", "c")));
}

TEST_CASE("the host configuration is /etc/mkrun/mckernel.conf unless the environment says",
          "[config]") {
  const char* saved = std::getenv("MKRUN_MCKERNEL_CONF");
  std::string restore = saved != nullptr ? saved : "";
  ::unsetenv("MKRUN_MCKERNEL_CONF");
  CHECK(host_config_path() == "/etc/mkrun/mckernel.conf");
  ::setenv("MKRUN_MCKERNEL_CONF", "/tmp/other.conf", 1);
  CHECK(host_config_path() == "/tmp/other.conf");
  if (saved != nullptr) {
    ::setenv("MKRUN_MCKERNEL_CONF", restore.c_str(), 1);
  } else {
    ::unsetenv("MKRUN_MCKERNEL_CONF");
  }
}
