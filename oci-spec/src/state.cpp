// The state as runc prints it (Go's encoding/json of runc's containerState and of runtime-spec's
// State).
#include "mkrun/oci/state.hpp"

#include "mkrun/oci/json/write.hpp"

namespace mkrun::oci {

namespace {

// runc's containerState, fields in declaration order (Go marshals in that order); annotations
// carry `omitempty`.
void write_container_state(json::Writer& out, const State& state) {
  out.begin_object();
  out.member("ociVersion", state.ociVersion);
  out.member("id", state.id);
  out.member("pid", state.pid);
  out.member("status", state.status);
  out.member("bundle", state.bundle);
  out.member("rootfs", state.rootfs);
  out.member("created", state.created);
  if (!state.annotations.empty()) out.member("annotations", state.annotations);
  out.member("owner", state.owner);
  out.end_object();
}

}  // namespace

std::string render_state(const State& state) {
  json::Writer out("  ");  // runc: json.MarshalIndent(cs, "", "  "), written without a newline
  write_container_state(out, state);
  return out.str();
}

std::string render_state_list(const std::vector<State>& states) {
  if (states.empty()) return "null";  // Go encodes runc's nil slice as null
  json::Writer out;
  out.begin_array();
  for (const auto& state : states) write_container_state(out, state);
  out.end_array();
  return out.str();
}

namespace {

// runtime-spec's specs.State: pid and annotations carry `omitempty`.
void write_spec_state(json::Writer& out, const State& state) {
  out.begin_object();
  out.member("ociVersion", state.ociVersion);
  out.member("id", state.id);
  out.member("status", state.status);
  if (state.pid != 0) out.member("pid", state.pid);
  out.member("bundle", state.bundle);
  if (!state.annotations.empty()) out.member("annotations", state.annotations);
  out.end_object();
}

}  // namespace

std::string render_hook_state(const State& state) {
  json::Writer out;
  write_spec_state(out, state);
  return out.str();
}

// runtime-spec's specs.ContainerProcessState: fds and metadata carry `omitempty`; the one fd
// sent along is the seccomp listener.
std::string render_container_process_state(const State& state, int64_t pid,
                                           const std::string& metadata) {
  json::Writer out;
  out.begin_object();
  out.member("ociVersion", state.ociVersion);
  out.member("fds", std::vector<std::string>{"seccompFd"});
  out.member("pid", pid);
  if (!metadata.empty()) out.member("metadata", metadata);
  out.key("state");
  write_spec_state(out, state);
  out.end_object();
  return out.str();
}

}  // namespace mkrun::oci
