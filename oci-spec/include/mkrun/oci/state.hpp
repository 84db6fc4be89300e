// The runtime-spec state as runc prints it (`state`, `list`, hook stdin, the seccomp agent's
// message). Pure data and JSON, no file or kernel access. mkrun's own record of a container is
// not the spec's: runtime/src/state/record.hpp.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "mkrun/oci/parse.hpp"

namespace mkrun::oci {

// runtime-spec `state` as runc prints it.
struct State {
  std::string ociVersion;
  std::string id;
  int pid = 0;          // host pid; 0 when stopped
  std::string status;   // "creating", "created", "running", "paused", "stopped"
  std::string bundle;   // absolute
  std::string rootfs;   // absolute
  std::string created;  // RFC3339Nano UTC, trailing zeros trimmed
  std::map<std::string, std::string> annotations;
  std::string owner;  // "" in `state`, the user name in `list`
};

// `state`: pretty JSON, 2-space indent, runc's key order, annotations omitted when empty, no
// trailing newline.
std::string render_state(const State& state);

// `list --format json`: one line, the array of states, "null" for none (no newline added).
std::string render_state_list(const std::vector<State>& states);

// Hook stdin: compact runtime-spec state {"ociVersion","id","status","pid","bundle","annotations"};
// pid omitted when 0.
std::string render_hook_state(const State& state);

// What a seccomp agent receives along with the listener fd (runtime-spec ContainerProcessState):
// {"ociVersion","fds":["seccompFd"],"pid","metadata","state":<the hook state>}, compact; `pid` is
// the process the listener filters, `metadata` is linux.seccomp.listenerMetadata (omitted empty).
std::string render_container_process_state(const State& state, int64_t pid,
                                           const std::string& metadata);

}  // namespace mkrun::oci
