#include "state/record.hpp"

#include "mkrun/oci/json/read.hpp"
#include "mkrun/oci/json/write.hpp"

namespace mkrun::state {

// Paths are bytes, not text: the record keeps invalid UTF-8 as it is so that it reads back equal.
std::string render_record(const ContainerRecord& record) {
  oci::json::Writer out("", /*keep_invalid_utf8=*/true);
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
  out.key("cgroup");
  out.begin_object();
  out.member("driver", record.cgroup.driver);
  out.member("directories", record.cgroup.directories);
  out.member("owned", record.cgroup.owned);
  out.end_object();
  out.member("kernel", record.kernel);
  out.member("kernel_journal", record.kernel_journal);
  if (const auto& shared = record.shared_mounts) {
    out.key("shared_mounts");
    out.begin_object();
    out.member("namespace_path", shared->namespace_path);
    out.member("namespace_device", shared->namespace_device);
    out.member("namespace_inode", shared->namespace_inode);
    out.key("mounts_before");
    out.begin_array();
    for (int64_t id : shared->mounts_before) out.value(id);
    out.end_array();
    out.end_object();
  }
  if (const auto& rdt = record.intel_rdt) {
    out.key("intel_rdt");
    out.begin_object();
    out.member("clos", rdt->clos);
    out.member("created", rdt->created);
    out.member("monitor", rdt->monitor);
    out.end_object();
  }
  out.end_object();
  return out.str();
}

// `static` in mkrun::state, not in an anonymous namespace: the generic readers of
// json/read.hpp find these by argument-dependent lookup.
static oci::json::Status read_json(const oci::json::Value& v, const std::string& path,
                                   CgroupRecord& out) {
  return oci::json::Fields(v, path)
      .get("driver", out.driver)
      .get("directories", out.directories)
      .get("owned", out.owned)
      .status();
}

static oci::json::Status read_json(const oci::json::Value& v, const std::string& path,
                                   SharedMountsRecord& out) {
  return oci::json::Fields(v, path)
      .get("namespace_path", out.namespace_path)
      .get("namespace_device", out.namespace_device)
      .get("namespace_inode", out.namespace_inode)
      .get("mounts_before", out.mounts_before)
      .status();
}

static oci::json::Status read_json(const oci::json::Value& v, const std::string& path,
                                   IntelRdtRecord& out) {
  return oci::json::Fields(v, path)
      .get("clos", out.clos)
      .get("created", out.created)
      .get("monitor", out.monitor)
      .status();
}

static oci::json::Status read_json(const oci::json::Value& v, const std::string& path,
                                   ContainerRecord& out) {
  return oci::json::Fields(v, path)
      .get("id", out.id)
      .get("ociVersion", out.ociVersion)
      .get("bundle", out.bundle)
      .get("rootfs", out.rootfs)
      .get("created", out.created)
      .get("annotations", out.annotations)
      .get("owner_uid", out.owner_uid)
      .get("pid", out.pid)
      .get("pid_start_time", out.pid_start_time)
      .get("cgroup", out.cgroup)
      .get("kernel", out.kernel)
      .get("kernel_journal", out.kernel_journal)
      .get("shared_mounts", out.shared_mounts)
      .get("intel_rdt", out.intel_rdt)
      .status();
}

oci::SpecResult<ContainerRecord> parse_record(std::string_view text) {
  rapidjson::Document doc;
  if (auto parsed = oci::json::parse_document(text, doc); !parsed)
    return std::unexpected(parsed.error());
  ContainerRecord record;
  if (auto read = read_json(doc, std::string{}, record); !read)
    return std::unexpected(read.error());
  return record;
}

}  // namespace mkrun::state
