// The help and version screens. Command help is runc 1.1.5's text with its own name replaced;
// everything passes through Go's tabwriter settings urfave/cli uses, so the columns line up as
// in runc.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mkrun::cli {

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

// `mkrun <command> --help`; nullopt for a command mkrun does not have.
std::optional<std::string> command_help(std::string_view command);

}  // namespace mkrun::cli
