// The command line of exec, ps, pause, resume, update and events, and the value parsing behind
// it. Each expected message was checked against /usr/sbin/runc 1.1.5 on this host.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "command.hpp"
#include "flags.hpp"
#include "go_values.hpp"
#include "help.hpp"
#include "parse_helpers.hpp"
#include "ps_table.hpp"

using namespace mkrun::cli;
using namespace mkrun::cli::testing;

namespace {}  // namespace

TEST_CASE("exec: repeatable flags collect every value, the command keeps its own flags", "[cli]") {
  const Invocation exec =
      command_ok({"exec",           "-e", "A=1",      "-e=B=2",   "-g",       "10",     "-g",
                  "0x20",           "-c", "CAP_KILL", "--cgroup", "memory:x", "-t",     "-d",
                  "--preserve-fds", "2",  "id",       "sh",       "-c",       "echo -e"});
  CHECK(exec.flags.texts("env") == Args{"A=1", "B=2"});
  CHECK(exec.flags.numbers("additional-gids") == std::vector<long long>{10, 32});
  CHECK(exec.flags.texts("cap") == Args{"CAP_KILL"});
  CHECK(exec.flags.texts("cgroup") == Args{"memory:x"});
  CHECK(exec.flags.flag("tty"));
  CHECK(exec.flags.flag("detach"));
  CHECK(exec.flags.number("preserve-fds") == 2);
  CHECK(exec.flags.args == Args{"id", "sh", "-c", "echo -e"});
  // Not given: empty, not an error.
  const Invocation bare = command_ok({"exec", "id", "true"});
  CHECK(bare.flags.texts("env").empty());
  CHECK(bare.flags.numbers("additional-gids").empty());
}

TEST_CASE("exec: a bad -g value is urfave's Int64Slice error, a usage error", "[cli]") {
  const Exit exit = command_exit({"exec", "-g", "abc", "id", "true"});
  CHECK(exit.code == 1);
  CHECK(exit.error ==
        "invalid value \"abc\" for flag -g: strconv.ParseInt: parsing \"abc\": "
        "invalid syntax");
  CHECK(exit.out.starts_with("Incorrect Usage: invalid value \"abc\" for flag -g"));
}

TEST_CASE("argument counts of the new commands", "[cli]") {
  CHECK(command_exit({"exec"}).error == "mkrun: \"exec\" requires a minimum of 1 argument(s)");
  CHECK(command_exit({"ps"}).error == "mkrun: \"ps\" requires a minimum of 1 argument(s)");
  CHECK(command_exit({"pause", "a", "b"}).error ==
        "mkrun: \"pause\" requires exactly 1 argument(s)");
  CHECK(command_exit({"resume"}).error == "mkrun: \"resume\" requires exactly 1 argument(s)");
  CHECK(command_exit({"update"}).error == "mkrun: \"update\" requires exactly 1 argument(s)");
  CHECK(command_exit({"events"}).error == "mkrun: \"events\" requires exactly 1 argument(s)");
  CHECK(command_ok({"exec", "id"}).flags.args == Args{"id"});  // -p may follow... or not
  CHECK(command_ok({"ps", "id", "-o", "pid"}).flags.args == Args{"id", "-o", "pid"});
}

TEST_CASE("ps takes --format before the id only", "[cli]") {
  CHECK(command_ok({"ps", "--format", "json", "id"}).flags.text("format") == "json");
  CHECK(command_ok({"ps", "-f=json", "id"}).flags.text("format") == "json");
  CHECK(command_ok({"ps", "id", "--format", "json"}).flags.text("format") == "table");
}

TEST_CASE("update: flags after the id move in front, kernel memory flags are accepted", "[cli]") {
  const Invocation update =
      command_ok({"update", "id", "--memory", "64M", "--kernel-memory=1M", "-r=-"});
  CHECK(update.flags.text("memory") == "64M");
  CHECK(update.flags.text("kernel-memory") == "1M");
  CHECK(update.flags.text("resources") == "-");
  CHECK(update.flags.number("pids-limit") == 0);
  CHECK(update.flags.args == Args{"id"});
  CHECK(command_exit({"update", "--blkio-weight", "abc", "id"}).error ==
        "invalid value \"abc\" for flag -blkio-weight: parse error");
}

TEST_CASE("update: runc 1.5's --cpu-burst and --cpu-idle, in runc 1.5's places", "[cli]") {
  const Invocation update = command_ok({"update", "id", "--cpu-burst", "1000", "--cpu-idle=1"});
  CHECK(update.flags.text("cpu-burst") == "1000");
  CHECK(update.flags.text("cpu-idle") == "1");
  const std::string help = command_help(*find_command("update"));
  const auto at = [&](std::string_view flag) { return help.find("\n   --" + std::string(flag)); };
  REQUIRE(at("cpu-burst") != std::string::npos);
  REQUIRE(at("cpu-idle") != std::string::npos);
  CHECK(at("cpu-quota") < at("cpu-burst"));
  CHECK(at("cpu-burst") < at("cpu-share"));
  CHECK(at("memory ") < at("cpu-idle"));
  CHECK(at("cpu-idle") < at("memory-reservation"));
}

TEST_CASE("events: --interval is a Go duration", "[cli]") {
  CHECK(command_ok({"events", "id"}).flags.nanoseconds("interval") == 5'000'000'000LL);
  CHECK(command_ok({"events", "--interval=250ms", "id"}).flags.nanoseconds("interval") ==
        250'000'000LL);
  CHECK(command_ok({"events", "id", "--stats"}).flags.flag("stats"));
  const Exit exit = command_exit({"events", "--interval", "abc", "id"});
  CHECK(exit.code == 1);
  CHECK(exit.error == "invalid value \"abc\" for flag -interval: parse error");
}

TEST_CASE("Go's time.ParseDuration", "[cli]") {
  CHECK(parse_go_duration("5s") == 5'000'000'000LL);
  CHECK(parse_go_duration("1m30s") == 90'000'000'000LL);
  CHECK(parse_go_duration("1.5h") == 5'400'000'000'000LL);
  CHECK(parse_go_duration(".5s") == 500'000'000LL);
  CHECK(parse_go_duration("300us") == 300'000LL);
  CHECK(parse_go_duration("300\u00b5s") == 300'000LL);
  CHECK(parse_go_duration("-2ms") == -2'000'000LL);
  CHECK(parse_go_duration("0") == 0);
  CHECK_FALSE(parse_go_duration(""));
  CHECK_FALSE(parse_go_duration("5"));
  CHECK_FALSE(parse_go_duration("5x"));
  CHECK_FALSE(parse_go_duration("."));
  CHECK_FALSE(parse_go_duration("9999999999h"));
}

TEST_CASE("strconv errors as runc prints them", "[cli]") {
  CHECK(parse_go_uint64("100000") == 100000u);
  CHECK(parse_go_uint64("abc").error() == "strconv.ParseUint: parsing \"abc\": invalid syntax");
  CHECK(parse_go_uint64("-1").error() == "strconv.ParseUint: parsing \"-1\": invalid syntax");
  CHECK(parse_go_uint64("99999999999999999999").error() ==
        "strconv.ParseUint: parsing \"99999999999999999999\": value out of range");
  CHECK(parse_go_int64("-1") == -1);
  CHECK(parse_go_int64("+7") == 7);
  CHECK(parse_go_int64("0x10").error() == "strconv.ParseInt: parsing \"0x10\": invalid syntax");
  CHECK(parse_go_atoi("abc").error() == "strconv.Atoi: parsing \"abc\": invalid syntax");
}

TEST_CASE("memory sizes are go-units' RAMInBytes", "[cli]") {
  CHECK(ram_in_bytes("512") == 512);
  CHECK(ram_in_bytes("64M") == 64LL << 20);
  CHECK(ram_in_bytes("64m") == 64LL << 20);
  CHECK(ram_in_bytes("64MiB") == 64LL << 20);
  CHECK(ram_in_bytes("64 mb") == 64LL << 20);
  CHECK(ram_in_bytes("1.5g") == 3LL << 29);
  CHECK(ram_in_bytes("2k") == 2048);
  CHECK(ram_in_bytes("1b") == 1);
  CHECK(ram_in_bytes("64X").error() == "invalid size: '64X'");
  CHECK(ram_in_bytes("-1").error() == "invalid size: '-1'");
  CHECK(ram_in_bytes("").error() == "invalid size: ''");
  CHECK(ram_in_bytes("1.2.3").error() == "strconv.ParseFloat: parsing \"1.2.3\": invalid syntax");
}

TEST_CASE("ps table: the header and the container's rows", "[cli]") {
  const std::string output =
      "UID        PID  PPID  C STIME TTY          TIME CMD\n"
      "root         1     0  0 04:00 ?        00:00:01 /sbin/init\n"
      "root       764     1  0 04:14 ?        00:00:00 sleep 1000\n"
      "root       765   764  0 04:14 ?        00:00:00 sh\n";
  CHECK(filter_ps_output(output, {764, 765}) ==
        "UID        PID  PPID  C STIME TTY          TIME CMD\n"
        "root       764     1  0 04:14 ?        00:00:00 sleep 1000\n"
        "root       765   764  0 04:14 ?        00:00:00 sh\n");
  CHECK(filter_ps_output(output, {}) == "UID        PID  PPID  C STIME TTY          TIME CMD\n");
  CHECK(filter_ps_output("  PID COMMAND\n  764 sleep\n", {764}) == "  PID COMMAND\n  764 sleep\n");
  CHECK(filter_ps_output("COMMAND\nsleep\n", {1}).error() ==
        "couldn't find PID field in ps output");
  CHECK(filter_ps_output("PID CMD\nx sleep\n", {1}).error() ==
        "unable to parse pid: strconv.Atoi: parsing \"x\": invalid syntax");
}

TEST_CASE("the host's ps runs with the given arguments", "[cli]") {
  auto output = run_host_ps({"-o", "pid=", "-p", "1"});
  REQUIRE(output);
  CHECK(output->find('1') != std::string::npos);
  auto failed = run_host_ps({"-o", "bogus"});
  REQUIRE_FALSE(failed);
  CHECK(failed.error().starts_with("exit status 1: "));
}

TEST_CASE("the new commands have runc's help screens", "[cli]") {
  for (const char* command : {"exec", "ps", "pause", "resume", "update", "events"}) {
    INFO(command);
    const CommandDescriptor* descriptor = find_command(command);
    REQUIRE(descriptor != nullptr);
    const std::string help = command_help(*descriptor);
    CHECK(help.starts_with("NAME:\n   mkrun " + std::string(command) + " - "));
    CHECK(command_exit({command, "--help"}).out == help);
  }
  CHECK(command_help(*find_command("exec"))
            .find("   --ignore-paused                    allow exec in a "
                  "paused container\n") != std::string::npos);
  const std::string app = app_help(kInfo);
  CHECK(app.find("   update      update container resource constraints\n") != std::string::npos);
  CHECK(app.find("\n   checkpoint  checkpoint a running container\n") != std::string::npos);
}

TEST_CASE("a repeatable flag under its name and its alias is urfave's two-forms error", "[cli]") {
  CHECK(command_exit({"exec", "-e", "A=1", "--env=B=2", "id", "true"}).error ==
        "Cannot use two forms of the same flag: e env");
}
