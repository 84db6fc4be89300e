// mkrun: parse the command line as runc does, set up the log, run one command.
#include <algorithm>
#include <exception>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "command.hpp"
#include "commands.hpp"
#include "flags.hpp"
#include "log.hpp"
#include "mkrun/lwk/backend.hpp"
#include "mkrun/runtime/protected_image.hpp"
#include "protected_commands.hpp"

namespace mkrun::cli {
namespace {

// A help screen, a version or a usage error: the screen on stdout, the error in the log.
int finish(const Exit& exit) {
  write_stdout(exit.out);
  if (!exit.error.empty()) {
    if (exit.verbatim) {
      logger().fatal_verbatim(exit.error);
    } else {
      logger().fatal(exit.error);
    }
  }
  return exit.code;
}

LogSettings log_settings(const GlobalFlags& flags) {
  return {.path = flags.log, .format = flags.log_format, .debug = flags.debug};
}

// urfave's App.Run order: global flags, help and version, then runc's Before hook (the log),
// then the command with its own flags, so command usage errors land in --log.
int run_mkrun(std::span<const std::string> args, const ProgramInfo& info, char* const* argv) {
  auto global = parse_global(args, info);
  if (!global) return finish(global.error());
  if (auto configured = logger().configure(log_settings(global->flags)); !configured) {
    logger().fatal(configured.error());
    return 1;
  }
  auto invocation = parse_command(global->flags, global->rest, info);
  if (!invocation) return finish(invocation.error());
  const std::string_view name = invocation->command.name;
  if (names_protected_command(name.data(), name.size()) && !runtime::runs_from_protected_image()) {
    logger().fatal(runtime::reexec_from_protected_image(argv).render());
    return 1;
  }
  return run_command(*invocation);
}

// The same decision ahead of the parse, from the words alone: re-executing before parsing the
// command line and setting up the log saves this first process that work (0.1 ms). A word that
// only looks like such a command (an id, a path, a flag's value, exec's arguments) costs a
// needless re-execution at worst; any failure here is left to the checked path above, which
// reports it in the log.
void reexec_early(int argc, char** argv) {
  bool maybe = std::any_of(argv + std::min(argc, 1), argv + argc,
                           [](const char* word) { return names_protected_command(word); });
  if (maybe && !runtime::runs_from_protected_image()) {
    (void)runtime::reexec_from_protected_image(argv);
  }
}

}  // namespace
}  // namespace mkrun::cli

int main(int argc, char** argv) {
  mkrun::cli::reexec_early(argc, argv);
  mkrun::lwk::register_mckernel_backend();
  // The library reports errors as values; what can throw here is Boost.Program_options, the
  // standard library (bad_alloc) and Boost's any_cast on a programming error. None of it may
  // escape main as a crash: runc's callers expect a logged error and exit 1.
  try {
    const std::vector<std::string> args(argv + std::min(argc, 1), argv + argc);
    return mkrun::cli::run_mkrun(args, mkrun::cli::program_info(argc > 0 ? argv[0] : "mkrun"),
                                 argv);
  } catch (const std::exception& error) {
    mkrun::cli::logger().fatal(error.what());
    return 1;
  }
}
