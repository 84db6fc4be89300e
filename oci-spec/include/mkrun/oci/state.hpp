// The container state in two forms: what runc prints (`state`, `list`, hook stdin), and the record
// mkrun keeps on disk for each container. Pure data and JSON, no file or kernel access.
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

// What mkrun remembers about a container between commands (<root>/<id>/state.json).
struct CgroupRecord {
  std::string driver;                    // "cgroupfs" or "systemd"
  std::vector<std::string> directories;  // the cgroup's absolute directory in each hierarchy
  bool owned = true;                     // mkrun created it, so delete removes it
};

struct ContainerRecord {
  std::string id;
  std::string ociVersion;
  std::string bundle;
  std::string rootfs;
  std::string created;
  std::map<std::string, std::string> annotations;
  uint32_t owner_uid = 0;
  int pid = 0;                    // host pid of the init; 0 before it exists
  uint64_t pid_start_time = 0;    // field 22 of /proc/<pid>/stat, guards against pid reuse
  std::string status;             // last status mkrun set: "creating", "created", "running"
  bool new_pid_namespace = true;  // the init is the pid namespace's init (kill --all semantics)
  CgroupRecord cgroup;
  bool rootless = false;
  std::string kernel;  // the kernel backend running the application; empty for Linux
  std::map<std::string, std::string> kernel_journal;  // that backend's progress (Journal)
};

std::string render_record(const ContainerRecord& record);
SpecResult<ContainerRecord> parse_record(std::string_view json);

}  // namespace mkrun::oci
