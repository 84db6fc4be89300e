// The command line as runc 1.1.5 (urfave/cli v1 over Go's flag package) reads it. Each expected
// message and exit code here was checked against /usr/sbin/runc on this host.
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "command.hpp"
#include "flags.hpp"
#include "help.hpp"
#include "parse_helpers.hpp"

using namespace mkrun::cli;
using namespace mkrun::cli::testing;

namespace {

const CommandDescriptor& command_named(std::string_view name) {
  const CommandDescriptor* command = find_command(name);
  REQUIRE(command != nullptr);
  return *command;
}

po::options_description options_of(std::string_view command) {
  return command_options(command_named(command).flags);
}

std::string help_of(std::string_view command) {
  return command_help(command_named(command));
}

ParsedFlags parse_ok(std::string_view command, const Args& args) {
  auto parsed = parse_go_flags(options_of(command), args);
  INFO((parsed ? std::string() : parsed.error().message));
  REQUIRE(parsed.has_value());
  return std::move(*parsed);
}

std::string parse_error(std::string_view command, const Args& args) {
  auto parsed = parse_go_flags(options_of(command), args);
  REQUIRE_FALSE(parsed.has_value());
  return parsed.error().message;
}

GlobalParse global_ok(const Args& args) {
  auto parsed = parse_global(args, kInfo);
  INFO((parsed ? std::string() : parsed.error().out));
  REQUIRE(parsed.has_value());
  return std::move(*parsed);
}

Exit global_exit(const Args& args) {
  auto parsed = parse_global(args, kInfo);
  REQUIRE_FALSE(parsed.has_value());
  return parsed.error();
}

}  // namespace

TEST_CASE("a value flag accepts every Go spelling, by its name and its alias", "[cli]") {
  const std::vector<Args> spellings = {
      {"-bundle", "/b", "id"}, {"--bundle", "/b", "id"}, {"-bundle=/b", "id"},
      {"--bundle=/b", "id"},   {"-b", "/b", "id"},       {"--b", "/b", "id"},
      {"-b=/b", "id"},         {"--b=/b", "id"},
  };
  for (const Args& args : spellings) {
    INFO(args[0]);
    const ParsedFlags parsed = parse_ok("create", args);
    CHECK(parsed.text("bundle") == "/b");
    CHECK(parsed.given("bundle"));
    CHECK(parsed.args == Args{"id"});
  }
}

TEST_CASE("a flag value may itself start with a dash or hold '='", "[cli]") {
  // Go takes the next argument whatever it looks like; only '=' splits at its first occurrence.
  CHECK(parse_ok("create", {"--pid-file", "--no-pivot", "id"}).text("pid-file") == "--no-pivot");
  CHECK(parse_ok("create", {"--pid-file=a=b", "id"}).text("pid-file") == "a=b");
  CHECK(parse_ok("create", {"--pid-file=", "id"}).text("pid-file").empty());
}

TEST_CASE("flags not given have runc's defaults", "[cli]") {
  const ParsedFlags parsed = parse_ok("create", {"id"});
  CHECK(parsed.text("bundle").empty());
  CHECK_FALSE(parsed.given("bundle"));
  CHECK_FALSE(parsed.flag("no-pivot"));
  CHECK(parsed.number("preserve-fds") == 0);
  CHECK(parse_ok("list", {}).text("format") == "table");
}

TEST_CASE("the last value of a repeated flag wins, as in Go", "[cli]") {
  CHECK(parse_ok("create", {"--bundle", "x", "-bundle=y", "id"}).text("bundle") == "y");
}

TEST_CASE("a boolean flag never takes the next argument", "[cli]") {
  const ParsedFlags parsed = parse_ok("delete", {"--force", "false"});
  CHECK(parsed.flag("force"));
  CHECK(parsed.args == Args{"false"});
}

TEST_CASE("a boolean flag takes Go's ParseBool spellings after '='", "[cli]") {
  for (const char* yes : {"1", "t", "T", "TRUE", "true", "True"}) {
    CHECK(parse_ok("delete", {std::string("--force=") + yes, "id"}).flag("force"));
  }
  for (const char* no : {"0", "f", "F", "FALSE", "false", "False"}) {
    CHECK_FALSE(parse_ok("delete", {std::string("-force=") + no, "id"}).flag("force"));
  }
  CHECK(parse_ok("delete", {"-f", "id"}).flag("force"));
  CHECK(parse_ok("delete", {"--f=true", "id"}).flag("force"));
  CHECK(parse_ok("spec", {"--rootless=true"}).flag("rootless"));
}

TEST_CASE("a bad boolean value is Go's error", "[cli]") {
  CHECK(parse_error("delete", {"--force=yes", "id"}) ==
        "invalid boolean value \"yes\" for -force: parse error");
  CHECK(parse_error("delete", {"-f=on", "id"}) ==
        "invalid boolean value \"on\" for -f: parse error");
}

TEST_CASE("an int flag reads Go's ParseInt with base prefixes", "[cli]") {
  CHECK(parse_ok("create", {"--preserve-fds", "3", "id"}).number("preserve-fds") == 3);
  CHECK(parse_ok("create", {"--preserve-fds=0x10", "id"}).number("preserve-fds") == 16);
  CHECK(parse_ok("create", {"--preserve-fds=010", "id"}).number("preserve-fds") == 8);
  CHECK(parse_ok("create", {"--preserve-fds=0b11", "id"}).number("preserve-fds") == 3);
  CHECK(parse_ok("create", {"--preserve-fds", "-1", "id"}).number("preserve-fds") == -1);
  CHECK(parse_error("create", {"--preserve-fds", "x", "id"}) ==
        "invalid value \"x\" for flag -preserve-fds: parse error");
  CHECK(parse_error("create", {"--preserve-fds=99999999999999999999", "id"}) ==
        "invalid value \"99999999999999999999\" for flag -preserve-fds: value out of range");
}

TEST_CASE("an unknown flag is Go's error, whatever its dashes", "[cli]") {
  CHECK(parse_error("state", {"--bogus", "id"}) == "flag provided but not defined: -bogus");
  CHECK(parse_error("state", {"-bogus=1", "id"}) == "flag provided but not defined: -bogus");
  // No grouping of one-letter flags, as in Go.
  CHECK(parse_error("kill", {"-af", "id"}) == "flag provided but not defined: -af");
}

TEST_CASE("a value flag at the end needs its argument", "[cli]") {
  CHECK(parse_error("create", {"--bundle"}) == "flag needs an argument: -bundle");
  CHECK(parse_error("create", {"-b"}) == "flag needs an argument: -b");
}

TEST_CASE("three dashes or a leading '=' is bad flag syntax", "[cli]") {
  CHECK(parse_error("delete", {"---force", "id"}) == "bad flag syntax: ---force");
  CHECK(parse_error("delete", {"-=x", "id"}) == "bad flag syntax: -=x");
}

TEST_CASE("a flag given by its name and its alias is urfave's two-forms error", "[cli]") {
  auto parsed = parse_go_flags(options_of("create"), Args{"--bundle", "y", "-b", "x", "id"});
  REQUIRE_FALSE(parsed.has_value());
  CHECK(parsed.error().kind == FlagError::Kind::two_forms);
  CHECK(parsed.error().message == "Cannot use two forms of the same flag: b bundle");
}

TEST_CASE("flag parsing stops at the first argument, at '--', and not at '-'", "[cli]") {
  CHECK(parse_ok("state", {"id", "--bogus"}).args == Args{"id", "--bogus"});
  CHECK(parse_ok("delete", {"--", "--force"}).args == Args{"--force"});
  CHECK_FALSE(parse_ok("delete", {"--", "--force"}).flag("force"));
  CHECK(parse_ok("delete", {"-", "--force"}).args == Args{"-", "--force"});
}

TEST_CASE("flags after the arguments move in front", "[cli]") {
  const auto delete_options = options_of("delete");
  CHECK(reorder_args(delete_options, Args{"id", "--force"}) == Args{"--force", "id"});
  const auto kill_options = options_of("kill");
  CHECK(reorder_args(kill_options, Args{"id", "9", "--all"}) == Args{"--all", "id", "9"});
  CHECK(reorder_args(kill_options, Args{"id", "9", "-a"}) == Args{"-a", "id", "9"});
  const auto create_options = options_of("create");
  CHECK(reorder_args(create_options, Args{"id", "--bundle", "/b", "--no-pivot"}) ==
        Args{"--bundle", "/b", "--no-pivot", "id"});
  CHECK(reorder_args(create_options, Args{"id", "--pid-file=/p"}) == Args{"--pid-file=/p", "id"});
}

TEST_CASE("reordering keeps urfave's quirks", "[cli]") {
  const auto kill_options = options_of("kill");
  // The argument after a boolean flag moves with it: runc then kills container "9" with
  // signal "id" (checked: `runc kill t1 --all KILL` says "container does not exist").
  CHECK(reorder_args(kill_options, Args{"id", "--all", "9"}) == Args{"--all", "9", "id"});
  // Unknown flags stay where they are, so they end up as arguments.
  CHECK(reorder_args(kill_options, Args{"id", "--bogus"}) == Args{"id", "--bogus"});
  // Nothing after "--" moves, and "--" goes in front of the arguments: `kill id -- 9` is the
  // container id and signal 9 (checked: runc says "container does not exist", not a count).
  CHECK(reorder_args(kill_options, Args{"id", "--", "--all"}) == Args{"--", "id", "--all"});
  CHECK(reorder_args(kill_options, Args{"id", "--all", "--", "9"}) ==
        Args{"--all", "--", "id", "9"});
  // "-" (stdin) after a flag is its value, and the id after it stays an argument (go-runc sends
  // `update --resources - ID`).
  const auto update_options = options_of("update");
  CHECK(reorder_args(update_options, Args{"--resources", "-", "id"}) ==
        Args{"--resources", "-", "id"});
}

TEST_CASE("a flag's value may be a negative number (runc's -1 for unlimited)", "[cli]") {
  const auto update_options = options_of("update");
  CHECK(reorder_args(update_options, Args{"id", "--memory-swap", "-1"}) ==
        Args{"--memory-swap", "-1", "id"});
  CHECK(reorder_args(update_options, Args{"id", "--cpu-quota", "-1", "--cpu-period", "100000"}) ==
        Args{"--cpu-quota", "-1", "--cpu-period", "100000", "id"});
  const Invocation update = command_ok({"update", "id", "--pids-limit", "-1"});
  CHECK(update.flags.number("pids-limit") == -1);
  CHECK(update.flags.args == Args{"id"});
  // A flag of the command right after is a flag, not the value: Go then reports the missing one.
  CHECK(reorder_args(update_options, Args{"id", "--memory", "--memory-swap", "-1"}) ==
        Args{"--memory", "--memory-swap", "-1", "id"});
}

TEST_CASE("exec and ps keep their arguments in order", "[cli]") {
  CHECK_FALSE(command_named("exec").reorders_args);
  CHECK_FALSE(command_named("ps").reorders_args);
  CHECK(command_named("kill").reorders_args);
  // Even a flag the command knows: what follows the id belongs to the process, or to ps.
  const Invocation exec = command_ok({"exec", "id", "sh", "-c", "--tty"});
  CHECK(exec.flags.args == Args{"id", "sh", "-c", "--tty"});
  CHECK_FALSE(exec.flags.flag("tty"));
  const Invocation ps = command_ok({"ps", "id", "-f", "json"});
  CHECK(ps.flags.args == Args{"id", "-f", "json"});
  CHECK(ps.flags.text("format") == "table");
}

TEST_CASE("commands take flags after their arguments", "[cli]") {
  const Invocation removal = command_ok({"delete", "id", "--force"});
  CHECK(removal.command.name == "delete");
  CHECK(removal.flags.flag("force"));
  CHECK(removal.flags.args == Args{"id"});

  const Invocation kill = command_ok({"kill", "id", "9", "--all"});
  CHECK(kill.flags.flag("all"));
  CHECK(kill.flags.args == Args{"id", "9"});

  const Invocation run = command_ok({"run", "-d", "--bundle=/b", "id", "--keep"});
  CHECK(run.flags.flag("detach"));
  CHECK(run.flags.flag("keep"));
  CHECK(run.flags.text("bundle") == "/b");

  // go-runc's RestoreOpts spelling of a bool flag.
  CHECK(command_ok({"run", "-no-subreaper", "id"}).flags.flag("no-subreaper"));
  CHECK(command_ok({"list", "--format=json"}).flags.text("format") == "json");
  CHECK(command_ok({"list", "-q"}).flags.flag("quiet"));
}

TEST_CASE("a wrong argument count prints the usage and logs runc's message", "[cli]") {
  const Exit exit = command_exit({"state"});
  CHECK(exit.code == 1);
  CHECK(exit.out == "Incorrect Usage.\n\n" + help_of("state"));
  CHECK(exit.error == "mkrun: \"state\" requires exactly 1 argument(s)");
  CHECK_FALSE(exit.verbatim);

  CHECK(command_exit({"kill"}).error == "mkrun: \"kill\" requires a minimum of 1 argument(s)");
  CHECK(command_exit({"kill", "a", "b", "c"}).error ==
        "mkrun: \"kill\" requires a maximum of 2 argument(s)");
  CHECK(command_exit({"list", "x"}).error == "mkrun: \"list\" requires exactly 0 argument(s)");
  // An unknown flag after the id is not moved, so it counts as an argument.
  CHECK(command_exit({"delete", "id", "--bogus"}).error ==
        "mkrun: \"delete\" requires exactly 1 argument(s)");
}

TEST_CASE("the argument-count error names the program as invoked", "[cli]") {
  const ProgramInfo info{"/usr/local/bin/mkrun", "/run/mkrun", ""};
  auto invocation = parse_command(GlobalFlags{}, Args{"start"}, info);
  REQUIRE_FALSE(invocation.has_value());
  CHECK(invocation.error().error ==
        "/usr/local/bin/mkrun: \"start\" requires exactly 1 argument(s)");
}

TEST_CASE("an unknown command flag prints Incorrect Usage and the command help", "[cli]") {
  const Exit exit = command_exit({"list", "--root", "/x"});
  CHECK(exit.code == 1);
  CHECK(exit.out == "Incorrect Usage: flag provided but not defined: -root\n\n" + help_of("list"));
  CHECK(exit.error == "flag provided but not defined: -root");
}

TEST_CASE("an unknown command is exit 3, No help topic", "[cli]") {
  for (const Args& rest : std::vector<Args>{{"foo"}, {"help", "bogus"}, {"h", "nothing"}}) {
    INFO(rest[0]);
    const Exit exit = command_exit(rest);
    CHECK(exit.code == 3);
    CHECK(exit.out.empty());
    CHECK(exit.error ==
          "No help topic for '" + (rest[0].starts_with('h') ? rest[1] : rest[0]) + "'\n");
    CHECK(exit.verbatim);
  }
}

TEST_CASE("checkpoint and restore parse runc's flags", "[cli]") {
  CHECK(command_exit({"checkpoint", "--help"}).code == 0);
  CHECK(command_exit({"restore", "--help"}).code == 0);
  const Invocation checkpoint =
      command_ok({"checkpoint", "id", "--leave-running", "--empty-ns", "network", "--status-fd",
                  "5", "--page-server", "h:1", "--manage-cgroups-mode=full"});
  CHECK(checkpoint.flags.args == Args{"id"});
  CHECK(checkpoint.flags.flag("leave-running"));
  CHECK(checkpoint.flags.texts("empty-ns") == Args{"network"});
  CHECK(checkpoint.flags.number("status-fd") == 5);
  CHECK(checkpoint.flags.text("manage-cgroups-mode") == "full");
  CHECK(command_ok({"checkpoint", "id"}).flags.number("status-fd") == -1);
  const Invocation restore = command_ok({"restore", "-d", "-b", "/b", "--image-path", "/i", "id"});
  CHECK(restore.flags.flag("detach"));
  CHECK(restore.flags.text("bundle") == "/b");
  CHECK(restore.flags.text("image-path") == "/i");
  CHECK(command_exit({"restore"}).code == 1);
  CHECK(command_exit({"checkpoint", "a", "b"}).code == 1);
}

TEST_CASE("help screens exit 0", "[cli]") {
  for (const Args& rest : std::vector<Args>{{"state", "-h"},
                                            {"state", "--help"},
                                            {"state", "id", "-h"},
                                            {"help", "state"},
                                            {"h", "state"}}) {
    const Exit exit = command_exit(rest);
    CHECK(exit.code == 0);
    CHECK(exit.out == help_of("state"));
    CHECK(exit.error.empty());
  }
  CHECK(command_exit({}).out == app_help(kInfo));
  CHECK(command_exit({"help"}).out == app_help(kInfo));
  CHECK(command_exit({"h"}).code == 0);
}

TEST_CASE("global flags come before the command", "[cli]") {
  const GlobalParse parsed =
      global_ok({"--root", "/x", "--log=/l", "-log-format", "json", "--debug", "--systemd-cgroup",
                 "--rootless=true", "list", "-q"});
  CHECK(parsed.flags.root == "/x");
  CHECK(parsed.flags.log == "/l");
  CHECK(parsed.flags.log_format == "json");
  CHECK(parsed.flags.debug);
  CHECK(parsed.flags.systemd_cgroup);
  CHECK(parsed.flags.rootless == "true");
  CHECK(parsed.rest == Args{"list", "-q"});

  // After the command, --root is the command's business (and list has no such flag).
  const GlobalParse late = global_ok({"list", "--root", "/x"});
  CHECK_FALSE(late.flags.root.has_value());
  CHECK(late.rest == Args{"list", "--root", "/x"});
}

TEST_CASE("global flags have runc's defaults", "[cli]") {
  const GlobalParse parsed = global_ok({"state", "id"});
  CHECK_FALSE(parsed.flags.root.has_value());
  CHECK(parsed.flags.log.empty());
  CHECK(parsed.flags.log_format == "text");
  CHECK(parsed.flags.rootless == "auto");
  CHECK(parsed.flags.cgroup_manager.empty());
  CHECK_FALSE(parsed.flags.debug);
}

TEST_CASE("crun's --cgroup-manager and runc's --criu are accepted", "[cli]") {
  const GlobalParse parsed = global_ok({"--cgroup-manager", "systemd", "--criu=/bin/criu", "list"});
  CHECK(parsed.flags.cgroup_manager == "systemd");
  CHECK(parsed.rest == Args{"list"});
}

TEST_CASE("an unknown global flag prints Incorrect Usage. and the app help", "[cli]") {
  const Exit exit = global_exit({"--bogus", "list"});
  CHECK(exit.code == 1);
  CHECK(exit.out == "Incorrect Usage. flag provided but not defined: -bogus\n\n" + app_help(kInfo));
  CHECK(exit.error == "flag provided but not defined: -bogus");
}

TEST_CASE("global help and version exit 0", "[cli]") {
  CHECK(global_exit({"--help"}).out == app_help(kInfo));
  CHECK(global_exit({"-h", "list"}).out == app_help(kInfo));
  CHECK(global_exit({"--version"}).out == version_text(kInfo));
  CHECK(global_exit({"-v"}).code == 0);
  const Exit both = global_exit({"-h", "--help"});
  CHECK(both.code == 1);
  CHECK(both.out.starts_with("Cannot use two forms of the same flag: h help\nNAME:\n"));
}

TEST_CASE("the version screen has the lines Docker and go-runc read", "[cli]") {
  const std::string text = version_text(kInfo);
  CHECK(text.starts_with("mkrun version 0.1.0\ncommit: "));
  CHECK(text.ends_with("\nspec: 1.3.0\nlibseccomp: 2.5.4\n"));
  CHECK(std::ranges::count(text, '\n') == 4);
  CHECK(version_text({"mkrun", "/run/mkrun", ""}).ends_with("\nspec: 1.3.0\n"));
}

TEST_CASE("--rootless is true, false or auto", "[cli]") {
  CHECK(resolve_rootless("auto", true) == false);  // the real root
  CHECK(resolve_rootless("AUTO", false) == true);
  CHECK(resolve_rootless("", false) == true);
  CHECK(resolve_rootless("true", true) == true);
  CHECK(resolve_rootless("1", true) == true);
  CHECK(resolve_rootless("false", false) == false);
  const auto bad = resolve_rootless("maybe", true);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error() == "strconv.ParseBool: parsing \"maybe\": invalid syntax");
}

TEST_CASE("--cgroup-manager picks the peer; systemd is --systemd-cgroup", "[cli]") {
  using Kind = mkrun::runtime::CgroupManagerKind;
  CHECK(resolve_cgroup_manager(false, "") == Kind::kCgroupfs);
  CHECK(resolve_cgroup_manager(true, "") == Kind::kSystemd);
  CHECK(resolve_cgroup_manager(false, "systemd") == Kind::kSystemd);
  CHECK(resolve_cgroup_manager(false, "cgroupfs") == Kind::kCgroupfs);
  CHECK(resolve_cgroup_manager(true, "cgroupfs") == Kind::kSystemd);
  CHECK(resolve_cgroup_manager(false, "disabled") == Kind::kDisabled);
  CHECK(resolve_cgroup_manager(true, "disabled") == Kind::kDisabled);
  const auto bad = resolve_cgroup_manager(false, "x");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error() == "unknown cgroup manager specified");
}

TEST_CASE("paths are made absolute and cleaned like Go's filepath.Abs", "[cli]") {
  CHECK(absolute_path("/run/x/", "/cwd") == "/run/x");
  CHECK(absolute_path("state", "/cwd") == "/cwd/state");
  CHECK(absolute_path("./a//b/../c", "/cwd") == "/cwd/a/c");
  CHECK(absolute_path("", "/cwd") == "/cwd");
  CHECK(absolute_path("../..", "/cwd") == "/");
}
