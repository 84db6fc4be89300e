// The help and version screens, laid out as urfave/cli's templates lay out runc 1.1.5's: the
// command list and each command's screen come from the command descriptors (command.hpp), and
// everything passes through Go's tabwriter settings urfave/cli uses, so the columns line up as
// in runc.
#pragma once

#include <string>

namespace mkrun::cli {

struct CommandDescriptor;

// The facts the help screens and usage errors show that depend on the host or the invocation.
struct ProgramInfo {
  std::string program = "mkrun";   // argv[0]: runc's argument-count errors name it
  std::string default_root;        // shown as the default of --root
  std::string libseccomp_version;  // empty when unknown
};

// `mkrun --help`, `mkrun help` and `mkrun` alone.
std::string app_help(const ProgramInfo& info);

// `mkrun --version`: "mkrun version X", "commit: Y", "spec: Z" and "libseccomp: V".
std::string version_text(const ProgramInfo& info);

// `mkrun <command> --help`.
std::string command_help(const CommandDescriptor& command);

}  // namespace mkrun::cli
