// One descriptor per command: its name, its flags, its help texts, how many arguments it takes,
// the function that runs it and how it fails. The parser, the help screens and dispatch all read
// this one table (command_table.cpp), and so does packaging/check-docs.sh, through the help
// screens, when it checks the man page and the completion. Which commands run from the protected
// image is protected_commands.hpp's, which the launcher shares.
#pragma once

#include <cstddef>
#include <limits>
#include <span>
#include <string_view>

#include "flags.hpp"
#include "mkrun/base/error.hpp"

namespace mkrun::runtime {
class Runtime;
}

namespace mkrun::cli {

// runc's checkArgs: how many positional arguments a command takes.
struct ArgCount {
  std::size_t min = 0;
  std::size_t max = 0;
};
inline constexpr std::size_t kUnlimited = std::numeric_limits<std::size_t>::max();

// Runs a parsed command: mkrun's exit code, or the error to log.
using Handler = Result<int> (*)(runtime::Runtime&, const Invocation&);

struct CommandDescriptor {
  std::string_view name = {};
  // urfave/cli's Usage (the line in `mkrun --help`), ArgsUsage (after USAGE; empty shows
  // "[arguments...]") and Description (empty: no DESCRIPTION section).
  std::string_view summary = {};
  std::string_view args_usage = {};
  std::string_view description = {};
  std::span<const FlagSpec> flags = {};  // runc's order, which the help and two-forms error follow
  ArgCount args = {};
  // urfave's reorderArgs: flags after the arguments move in front, unless the command sets
  // SkipArgReorder because its trailing arguments belong to a process.
  bool reorders_args = true;
  Handler handler = nullptr;
  std::string_view failure_prefix = {};  // runc wraps some errors: "runc create failed: ..."
  int failure_code = 1;
};

// Every command, in the order `mkrun --help` lists them.
std::span<const CommandDescriptor> commands();

// nullptr for a command mkrun does not have.
const CommandDescriptor* find_command(std::string_view name);

}  // namespace mkrun::cli
