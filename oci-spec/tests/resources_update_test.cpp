// `update`: what runc 1.1 (and 1.5) applies of a LinuxResources, and the snapshot rewrite.
#include <catch2/catch.hpp>

#include "mkrun/oci/parse.hpp"
#include "mkrun/oci/resources_update.hpp"

using namespace mkrun::oci;

TEST_CASE("the updatable part drops zeros and what runc's update ignores") {
  auto requested = parse_resources(
      R"({"memory":{"limit":0,"reservation":1024,"swap":-1,"kernel":5,"swappiness":10},)"
      R"("cpu":{"shares":0,"quota":20000,"cpus":"0"},"pids":{"limit":0},)"
      R"("blockIO":{"weight":300,"weightDevice":[{"major":8,"minor":0,"weight":10}]},)"
      R"("hugepageLimits":[{"pageSize":"2MB","limit":0}],"unified":{"pids.max":"7"}})");
  REQUIRE(requested);
  Resources part = updatable_part(*requested);
  REQUIRE(part.memory);
  CHECK_FALSE(part.memory->limit);
  CHECK(part.memory->reservation == 1024);
  CHECK(part.memory->swap == -1);
  CHECK_FALSE(part.memory->kernel);
  CHECK_FALSE(part.memory->swappiness);
  REQUIRE(part.cpu);
  CHECK_FALSE(part.cpu->shares);
  CHECK(part.cpu->quota == 20000);
  CHECK(part.cpu->cpus == "0");
  REQUIRE(part.pids);  // runtime-spec 1.3, runc 1.5: a pids limit of 0 is a limit
  CHECK(part.pids->limit == 0);
  REQUIRE(part.blockIO);
  CHECK(part.blockIO->weight == 300);
  CHECK(part.blockIO->weightDevice.size() == 1);  // runc 1.5
  CHECK(part.hugepageLimits.empty());
  CHECK(part.unified.at("pids.max") == "7");
}

TEST_CASE("the snapshot gets the new values and keeps everything else") {
  const std::string config =
      R"({"ociVersion":"1.0.2","process":{"args":["sh"],"cwd":"/"},"root":{"path":"rootfs"},)"
      R"("linux":{"resources":{"memory":{"limit":1048576,"swap":2097152},)"
      R"("devices":[{"allow":false,"access":"rwm"}]},"namespaces":[{"type":"pid"}]},)"
      R"("x-unknown":{"kept":true}})";
  Resources update;
  update.memory.emplace().limit = 4194304;
  update.cpu.emplace().quota = 50000;
  update.pids.emplace().limit = 10;
  auto rewritten = apply_resources_update(config, update);
  REQUIRE(rewritten);
  auto spec = parse_spec(*rewritten);
  REQUIRE(spec);
  const Resources& resources = *spec->linux->resources;
  CHECK(resources.memory->limit == 4194304);
  CHECK(resources.memory->swap == 2097152);
  CHECK(resources.cpu->quota == 50000);
  CHECK(resources.pids->limit == 10);
  CHECK(resources.devices.size() == 1);
  CHECK(spec->linux->namespaces.size() == 1);
  CHECK(rewritten->find(R"("x-unknown":{"kept":true})") != std::string::npos);
}

TEST_CASE("a snapshot without linux.resources gets them") {
  Resources update;
  update.unified["memory.high"] = "max";
  auto rewritten = apply_resources_update(R"({"ociVersion":"1.0.2"})", update);
  REQUIRE(rewritten);
  CHECK(*rewritten == R"({"ociVersion":"1.0.2","linux":{"resources":{"unified":)"
                      R"({"memory.high":"max"}}}})");
}

TEST_CASE("a snapshot that is not an object is an error") {
  CHECK_FALSE(apply_resources_update("[1]", Resources{}));
  CHECK_FALSE(apply_resources_update("{", Resources{}));
}

// Found by fuzz-config: the rewrite went into the first "linux" while parse_spec() reads the last
// (and a "Linux" key was not found at all, so a new "linux" hid its namespaces).
TEST_CASE("the snapshot rewrite goes where parse_spec reads: last key, any case") {
  Resources update;
  update.pids.emplace().limit = 9;
  update.unified = {{"pids.max", "9"}};
  for (const std::string config :
       {R"({"linux":{"namespaces":[]},"linux":{"namespaces":[{"type":"pid"}]}})",
        R"({"Linux":{"namespaces":[{"type":"pid"}],"Resources":{"Pids":{"limit":1}}}})",
        R"({"linux":{"namespaces":[{"type":"pid"}],"resources":{)"
        R"("unified":{"pids.max":"1","pids.max":"2"}}}})"}) {
    auto rewritten = apply_resources_update(config, update);
    REQUIRE(rewritten);
    auto spec = parse_spec(*rewritten);
    REQUIRE(spec);
    CHECK(spec->linux->namespaces.size() == 1);
    CHECK(spec->linux->resources->pids->limit == 9);
    CHECK(spec->linux->resources->unified.at("pids.max") == "9");
  }
}

// Found by fuzz-config: RapidJSON reads 92233720368547758e308 in an unknown member as infinity,
// which has no JSON form; the rewrite must refuse rather than write a broken snapshot.
TEST_CASE("a snapshot with a number beyond a double's range is refused, not broken") {
  Resources update;
  update.pids.emplace().limit = 1;
  auto rewritten = apply_resources_update(
      R"({"ociVersion":"1.0.2","x":92233720368547758e308,"linux":{}})", update);
  REQUIRE_FALSE(rewritten);
  CHECK(rewritten.error().message == "the config holds a number beyond the range of a double");
}

TEST_CASE("runc 1.5: cpu burst and idle are kept as given, 0 included") {
  auto requested = parse_resources(R"({"cpu":{"burst":0,"idle":1}})");
  REQUIRE(requested);
  Resources part = updatable_part(*requested);
  REQUIRE(part.cpu);
  CHECK(part.cpu->burst == 0u);
  CHECK(part.cpu->idle == 1);
  auto rewritten = apply_resources_update(
      R"({"linux":{"resources":{"cpu":{"burst":5000,"quota":1000}}}})", part);
  REQUIRE(rewritten);
  CHECK(*rewritten == R"({"linux":{"resources":{"cpu":{"burst":0,"quota":1000,"idle":1}}}})");
}

TEST_CASE("runc 1.5: per-device block IO limits are kept, and nothing else of blockIO is") {
  auto requested = parse_resources(
      R"({"blockIO":{"throttleReadBpsDevice":[{"major":254,"minor":0,"rate":1048576}]}})");
  REQUIRE(requested);
  Resources part = updatable_part(*requested);
  REQUIRE(part.blockIO);
  CHECK_FALSE(part.blockIO->weight);
  REQUIRE(part.blockIO->throttleReadBpsDevice.size() == 1);
  CHECK(part.blockIO->throttleReadBpsDevice[0].rate == 1048576u);
  auto empty = parse_resources(R"({"blockIO":{"weight":0}})");
  REQUIRE(empty);
  CHECK_FALSE(updatable_part(*empty).blockIO);
}

TEST_CASE("runc 1.5: a device's entry is changed in place (the last one), else appended") {
  const std::string config = R"({"linux":{"resources":{"blockIO":{"weight":100,)"
                             R"("weightDevice":[{"major":8,"minor":0,"weight":10,"leafWeight":20},)"
                             R"({"major":8,"minor":0,"weight":11}],)"
                             R"("throttleWriteIOPSDevice":[{"major":8,"minor":16,"rate":5}]}}}})";
  auto requested =
      parse_resources(R"({"blockIO":{"weightDevice":[{"major":8,"minor":0,"leafWeight":30},)"
                      R"({"major":9,"minor":1,"weight":40}],)"
                      R"("throttleWriteIOPSDevice":[{"major":8,"minor":16,"rate":7},)"
                      R"({"major":8,"minor":32,"rate":8}],)"
                      R"("throttleReadBpsDevice":[{"major":8,"minor":0,"rate":9}]}})");
  REQUIRE(requested);
  auto rewritten = apply_resources_update(config, updatable_part(*requested));
  REQUIRE(rewritten);
  CHECK(*rewritten ==
        R"({"linux":{"resources":{"blockIO":{"weight":100,)"
        R"("weightDevice":[{"major":8,"minor":0,"weight":10,"leafWeight":20},)"
        R"({"major":8,"minor":0,"weight":11,"leafWeight":30},{"major":9,"minor":1,"weight":40}],)"
        R"("throttleWriteIOPSDevice":[{"major":8,"minor":16,"rate":7},)"
        R"({"major":8,"minor":32,"rate":8}],)"
        R"("throttleReadBpsDevice":[{"major":8,"minor":0,"rate":9}]}}}})");
  CHECK(parse_spec(*rewritten));
}
