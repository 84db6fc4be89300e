// `ps` in table form, as runc's ps.go does it: run the host's `ps` (default `-ef`), keep its
// header and the rows whose PID column is a process of the container.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <vector>

namespace mkrun::cli {

// The header line and the rows of `output` whose PID column holds one of `pids`, each with a
// newline. Errors are runc's: "couldn't find PID field in ps output", "unable to parse pid: ...".
std::expected<std::string, std::string> filter_ps_output(std::string_view output,
                                                         const std::vector<int>& pids);

// Runs `ps args...` (found through PATH; stdin /dev/null) and returns what it wrote to stdout
// and stderr together, as Go's CombinedOutput. Errors as Go's exec package words them: `exec:
// "ps": executable file not found in $PATH`, or "exit status 1: <output>" when ps fails.
std::expected<std::string, std::string> run_host_ps(const std::vector<std::string>& args);

}  // namespace mkrun::cli
