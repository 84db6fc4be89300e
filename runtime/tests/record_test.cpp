// mkrun's record of a container (state.json): what it keeps, byte for byte, and what it reads.
#include <catch2/catch.hpp>

#include "state/record.hpp"

using namespace mkrun::state;

namespace {

ContainerRecord full_record() {
  ContainerRecord record;
  record.id = "web-1";
  record.ociVersion = "1.2.0";
  record.bundle = "/srv/bundles/\xff\xfe-not-utf8";  // a path is bytes
  record.rootfs = "/srv/bundles/web/rootfs";
  record.created = "2024-05-06T07:08:09.123456789Z";
  record.annotations = {{"org.example/a", "<x> & \"y\""}, {"\xc3\xa9t\xc3\xa9", "line\nbreak"}};
  record.owner_uid = 4294967295u;
  record.pid = 2147483647;
  record.pid_start_time = 18446744073709551615ull;
  record.cgroup.driver = "systemd";
  record.cgroup.directories = {"/sys/fs/cgroup/system.slice/mkrun-web-1.scope"};
  record.cgroup.owned = false;
  record.kernel = "mckernel";
  record.kernel_journal = {{"os_index", "0"}, {"step", "booted"}};
  record.shared_mounts = SharedMountsRecord{"/proc/77/ns/mnt", 4, 4026532173, {21, 0, 9000}};
  record.intel_rdt = IntelRdtRecord{"web", true, "web-1"};
  return record;
}

void check_equal(const ContainerRecord& a, const ContainerRecord& b) {
  CHECK(a.id == b.id);
  CHECK(a.ociVersion == b.ociVersion);
  CHECK(a.bundle == b.bundle);
  CHECK(a.rootfs == b.rootfs);
  CHECK(a.created == b.created);
  CHECK(a.annotations == b.annotations);
  CHECK(a.owner_uid == b.owner_uid);
  CHECK(a.pid == b.pid);
  CHECK(a.pid_start_time == b.pid_start_time);
  CHECK(a.cgroup.driver == b.cgroup.driver);
  CHECK(a.cgroup.directories == b.cgroup.directories);
  CHECK(a.cgroup.owned == b.cgroup.owned);
  CHECK(a.kernel == b.kernel);
  CHECK(a.kernel_journal == b.kernel_journal);
  REQUIRE(a.shared_mounts.has_value() == b.shared_mounts.has_value());
  if (a.shared_mounts) {
    CHECK(a.shared_mounts->namespace_path == b.shared_mounts->namespace_path);
    CHECK(a.shared_mounts->namespace_device == b.shared_mounts->namespace_device);
    CHECK(a.shared_mounts->namespace_inode == b.shared_mounts->namespace_inode);
    CHECK(a.shared_mounts->mounts_before == b.shared_mounts->mounts_before);
  }
  REQUIRE(a.intel_rdt.has_value() == b.intel_rdt.has_value());
  if (a.intel_rdt) {
    CHECK(a.intel_rdt->clos == b.intel_rdt->clos);
    CHECK(a.intel_rdt->created == b.intel_rdt->created);
    CHECK(a.intel_rdt->monitor == b.intel_rdt->monitor);
  }
}

}  // namespace

TEST_CASE("record: round trip keeps every field, bytes included", "[state]") {
  ContainerRecord record = full_record();
  auto parsed = parse_record(render_record(record));
  INFO((parsed ? std::string() : parsed.error().message));
  REQUIRE(parsed);
  check_equal(*parsed, record);
}

TEST_CASE("record: round trip of a fresh record", "[state]") {
  auto parsed = parse_record(render_record(ContainerRecord{}));
  REQUIRE(parsed);
  check_equal(*parsed, ContainerRecord{});
}

TEST_CASE("record: the layout is one compact object", "[state]") {
  ContainerRecord record;
  record.id = "c";
  record.pid = 42;
  record.cgroup.driver = "cgroupfs";
  record.cgroup.directories = {"/sys/fs/cgroup/c"};
  CHECK(render_record(record) ==
        R"({"id":"c","ociVersion":"","bundle":"","rootfs":"","created":"","annotations":{},)"
        R"("owner_uid":0,"pid":42,"pid_start_time":0,"cgroup":{"driver":"cgroupfs",)"
        R"("directories":["/sys/fs/cgroup/c"],"owned":true},"kernel":"","kernel_journal":{}})");
}

// An older mkrun also wrote "status", "new_pid_namespace" and "rootless", which nothing read.
TEST_CASE("record: fields missing from an older record keep their defaults", "[state]") {
  auto parsed = parse_record(
      R"({"id":"old","pid":9,"status":"running","new_pid_namespace":false,"rootless":true,)"
      R"("future_field":[1,2]})");
  REQUIRE(parsed);
  CHECK(parsed->id == "old");
  CHECK(parsed->pid == 9);
  CHECK(parsed->cgroup.owned);
  CHECK(parsed->cgroup.directories.empty());
}

TEST_CASE("record: errors name the field", "[state]") {
  auto error = [](std::string_view json) {
    auto parsed = parse_record(json);
    REQUIRE_FALSE(parsed);
    return parsed.error().message;
  };
  CHECK(error(R"({"pid":"12"})") == "/pid: expected int32, got string");
  CHECK(error(R"({"owner_uid":-1})") == "/owner_uid: -1 is out of range for uint32");
  CHECK(error(R"({"cgroup":{"directories":["/a",1]}})") ==
        "/cgroup/directories/1: expected string, got number");
  CHECK(error(R"({"cgroup":{"owned":"yes"}})") == "/cgroup/owned: expected boolean, got string");
  CHECK(error(R"({"annotations":{"k":1}})") == "/annotations/k: expected string, got number");
  CHECK(error(R"([])") == "/: expected object, got array");
  CHECK(error(R"({"id":"x")") ==
        "unexpected end of JSON input: parse error at offset 9: Missing a comma or '}' after an "
        "object member.");
}

// The depth bound of oci-spec's JSON reader (oci-spec/tests/json_depth_test.cpp) holds here too.
TEST_CASE("record: a state file nested a million levels deep is refused", "[state]") {
  const size_t depth = 1'000'000;
  auto parsed =
      parse_record("{\"unknown\":" + std::string(depth, '[') + std::string(depth, ']') + "}");
  REQUIRE_FALSE(parsed);
  CHECK_THAT(parsed.error().message, Catch::Contains("deeper than 10000 levels"));
}
