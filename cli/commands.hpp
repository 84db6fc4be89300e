// One short function per command: parsed flags in, one library call, runc's output out.
#pragma once

#include <string>
#include <string_view>

#include "command.hpp"
#include "flags.hpp"
#include "help.hpp"

namespace mkrun::cli {

// The commands' handlers, which the command table (command_table.cpp) names.
namespace handlers {
Result<int> checkpoint(runtime::Runtime& runtime, const Invocation& invocation);
Result<int> create(runtime::Runtime& runtime, const Invocation& invocation);
Result<int> remove(runtime::Runtime& runtime, const Invocation& invocation);  // `delete`
Result<int> events(runtime::Runtime& runtime, const Invocation& invocation);
Result<int> exec(runtime::Runtime& runtime, const Invocation& invocation);
Result<int> features(runtime::Runtime& runtime, const Invocation& invocation);
Result<int> kill(runtime::Runtime& runtime, const Invocation& invocation);
Result<int> list(runtime::Runtime& runtime, const Invocation& invocation);
Result<int> pause(runtime::Runtime& runtime, const Invocation& invocation);
Result<int> ps(runtime::Runtime& runtime, const Invocation& invocation);
Result<int> restore(runtime::Runtime& runtime, const Invocation& invocation);
Result<int> resume(runtime::Runtime& runtime, const Invocation& invocation);
Result<int> run(runtime::Runtime& runtime, const Invocation& invocation);
Result<int> spec(runtime::Runtime& runtime, const Invocation& invocation);
Result<int> start(runtime::Runtime& runtime, const Invocation& invocation);
Result<int> state(runtime::Runtime& runtime, const Invocation& invocation);
Result<int> update(runtime::Runtime& runtime, const Invocation& invocation);
}  // namespace handlers

// The global flags as the library takes them: --root made absolute, the cgroup manager and
// rootless resolved, warnings logged at level warning and, with --debug only, the library's
// steps at level debug. An error is runc's text for a bad --rootless or --cgroup-manager.
std::expected<runtime::GlobalOptions, std::string> runtime_options(const GlobalFlags& flags);

// Runs a parsed command and returns mkrun's exit code: 0, the container's status for `run`, or
// the command's failure code after logging the library's error with its failure prefix.
int run_command(const Invocation& invocation);

// The host facts the help and version screens show: the default root and libseccomp's version.
ProgramInfo program_info(std::string program);

// stdout, unbuffered: the one result a command prints.
void write_stdout(std::string_view text);

}  // namespace mkrun::cli
