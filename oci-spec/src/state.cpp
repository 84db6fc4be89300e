// The state as runc prints it (Go's encoding/json of runc's containerState and of runtime-spec's
// State), and mkrun's own per-container record.
#include "mkrun/oci/state.hpp"

#include "json_read.hpp"
#include "json_write.hpp"

namespace mkrun::oci {

// --- what runc prints ---

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

// --- mkrun's record ---

// Paths are bytes, not text: the record keeps invalid UTF-8 as it is so that it reads back equal.
std::string render_record(const ContainerRecord& record) {
  json::Writer out("", /*keep_invalid_utf8=*/true);
  out.begin_object();
  out.member("id", record.id);
  out.member("ociVersion", record.ociVersion);
  out.member("bundle", record.bundle);
  out.member("rootfs", record.rootfs);
  out.member("created", record.created);
  out.member("annotations", record.annotations);
  out.member("owner_uid", record.owner_uid);
  out.member("pid", record.pid);
  out.member("pid_start_time", record.pid_start_time);
  out.member("status", record.status);
  out.member("new_pid_namespace", record.new_pid_namespace);
  out.key("cgroup");
  out.begin_object();
  out.member("driver", record.cgroup.driver);
  out.member("directories", record.cgroup.directories);
  out.member("owned", record.cgroup.owned);
  out.end_object();
  out.member("rootless", record.rootless);
  out.member("kernel", record.kernel);
  out.member("kernel_journal", record.kernel_journal);
  out.end_object();
  return out.str();
}

// `static` in mkrun::oci, not in an anonymous namespace: the generic readers of json_read.hpp
// find these by argument-dependent lookup.
static json::Status read_json(const json::Value& v, const std::string& path, CgroupRecord& out) {
  return json::Fields(v, path)
      .get("driver", out.driver)
      .get("directories", out.directories)
      .get("owned", out.owned)
      .status();
}

// A field missing from the file keeps its default, so that a record written by an older mkrun
// still reads.
static json::Status read_json(const json::Value& v, const std::string& path, ContainerRecord& out) {
  return json::Fields(v, path)
      .get("id", out.id)
      .get("ociVersion", out.ociVersion)
      .get("bundle", out.bundle)
      .get("rootfs", out.rootfs)
      .get("created", out.created)
      .get("annotations", out.annotations)
      .get("owner_uid", out.owner_uid)
      .get("pid", out.pid)
      .get("pid_start_time", out.pid_start_time)
      .get("status", out.status)
      .get("new_pid_namespace", out.new_pid_namespace)
      .get("cgroup", out.cgroup)
      .get("rootless", out.rootless)
      .get("kernel", out.kernel)
      .get("kernel_journal", out.kernel_journal)
      .status();
}

SpecResult<ContainerRecord> parse_record(std::string_view text) {
  rapidjson::Document doc;
  if (auto parsed = json::parse_document(text, doc); !parsed)
    return std::unexpected(parsed.error());
  ContainerRecord record;
  if (auto read = read_json(doc, std::string{}, record); !read)
    return std::unexpected(read.error());
  return record;
}

}  // namespace mkrun::oci
