// One short function per command: parsed flags in, one library call, runc's output out.
#pragma once

#include <string>
#include <string_view>

#include "flags.hpp"
#include "help.hpp"

namespace mkrun::cli {

// Runs a parsed command and returns mkrun's exit code: 0, the container's status for `run`, or
// 1 after logging the library's error (prefixed "mkrun create failed: " and "mkrun run failed: "
// as runc prefixes those two).
int run_command(const Invocation& invocation);

// The host facts the help and version screens show: the default root and libseccomp's version.
ProgramInfo program_info(std::string program);

// stdout, unbuffered: the one result a command prints.
void write_stdout(std::string_view text);

}  // namespace mkrun::cli
