// Intel RDT (linux/resctrl.hpp): the schemata rules, the host checks, and the group operations
// against a scratch directory laid out as resctrl lays its groups out. No host here has RDT, so
// where the kernel would make a group's files (tasks, schemata, mon_groups) the test makes
// them, and what a test asserts is what mkrun wrote, made or removed there.
#include "linux/resctrl.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "linux_test_util.hpp"
#include "mkrun/base/files.hpp"

using namespace mkrun;

namespace {

constexpr char kKernelSchemata[] = "    L3:0=7ff;1=7ff\n    MB:0=100;1=100\n";

resctrl::Root root_at(const std::string& path) {
  return resctrl::Root{UniqueFd(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)), path};
}

bool exists(const std::string& path) {
  struct stat info {};
  return ::lstat(path.c_str(), &info) == 0;
}

std::string contents(const std::string& path) {
  auto text = files::read_file(path);
  return text ? *text : "<" + text.error().render() + ">";
}

// A group as resctrl shows one: empty tasks and schemata files, and mon_groups.
void make_group(const std::string& path, const std::string& schemata = kKernelSchemata) {
  REQUIRE(files::make_directories(path + "/mon_groups"));
  REQUIRE(files::write_file(path + "/tasks", ""));
  REQUIRE(files::write_file(path + "/schemata", schemata));
}

oci::IntelRdt rdt_of(std::string clos, std::string l3 = "", std::string mb = "") {
  oci::IntelRdt rdt;
  rdt.closID = std::move(clos);
  rdt.l3CacheSchema = std::move(l3);
  rdt.memBwSchema = std::move(mb);
  return rdt;
}

}  // namespace

TEST_CASE("resctrl: schemata lines in the spec's order, empty ones left out", "[resctrl]") {
  oci::IntelRdt rdt = rdt_of("", "L3:0=f", "MB:0=20");
  rdt.schemata = {"L2:0=3", "", "L3CODE:0=f"};
  CHECK(resctrl::schemata_lines(rdt) ==
        std::vector<std::string>{"L3:0=f", "MB:0=20", "L2:0=3", "L3CODE:0=f"});
  CHECK(resctrl::schemata_lines(rdt_of("x")).empty());
}

TEST_CASE("resctrl: a CLOS holds a line when every domain it names has that value", "[resctrl]") {
  CHECK_FALSE(resctrl::first_mismatch(kKernelSchemata, {"L3:0=7ff;1=7ff", "MB:0=100;1=100"}));
  CHECK_FALSE(resctrl::first_mismatch(kKernelSchemata, {"L3:1=07FF"}));  // leading zeros, case
  CHECK_FALSE(resctrl::first_mismatch(kKernelSchemata, {" MB: 0=100 "}));
  CHECK(resctrl::first_mismatch(kKernelSchemata, {"MB:0=100", "L3:0=7f0"}) == "L3:0=7f0");
  CHECK(resctrl::first_mismatch(kKernelSchemata, {"L3:2=7ff"}) == "L3:2=7ff");  // no domain 2
  CHECK(resctrl::first_mismatch(kKernelSchemata, {"L3CODE:0=7ff"}) == "L3CODE:0=7ff");
  CHECK(resctrl::first_mismatch(kKernelSchemata, {"garbage"}) == "garbage");
  CHECK(resctrl::first_mismatch(kKernelSchemata, {"L3:0"}) == "L3:0");
}

TEST_CASE("resctrl: the host checks, in runc's words", "[resctrl]") {
  auto refusal = [](const oci::IntelRdt& rdt, std::optional<resctrl::Features> host) {
    auto checked = resctrl::check_host(rdt, host);
    return checked ? std::string() : checked.error().render();
  };
  const resctrl::Features none{}, all{true, true, true};
  CHECK(refusal(rdt_of("", "L3:0=f"), none) ==
        "intelRdt.l3CacheSchema is specified in config, but Intel RDT/CAT is not enabled");
  CHECK(refusal(rdt_of("", "", "MB:0=20"), resctrl::Features{true, false, false}) ==
        "intelRdt.memBwSchema is specified in config, but Intel RDT/MBA is not enabled");
  CHECK(refusal(rdt_of("x"), std::nullopt)
            .starts_with("intelRdt is specified in config, but Intel RDT is not enabled"));
  oci::IntelRdt monitored = rdt_of("x");
  monitored.enableMonitoring = true;
  CHECK(refusal(monitored, none).starts_with("intelRdt.enableMonitoring is specified"));
  CHECK(refusal(monitored, all).empty());
  CHECK(refusal(rdt_of("x", "L3:0=f", "MB:0=20"), all).empty());
}

TEST_CASE("resctrl: a CLOS of the container's own is made, written, joined and removed",
          "[resctrl]") {
  test::ScratchDir dir("mkrun-resctrl");
  make_group(dir.path);  // the root group
  resctrl::Root root = root_at(dir.path);

  SECTION("without schemata, nothing is written") {
    auto group = resctrl::prepare(root, rdt_of(""), "web");
    REQUIRE(group);
    CHECK(group->clos == "web");
    CHECK(group->created);
    CHECK(exists(dir.path + "/web"));
    REQUIRE(resctrl::remove(root, *group));
    CHECK_FALSE(exists(dir.path + "/web"));
  }
  SECTION("a write resctrl refuses undoes the directory it made") {
    // No schemata file in the new directory: the write fails as resctrl's would.
    auto group = resctrl::prepare(root, rdt_of("", "L3:0=f"), "web");
    REQUIRE_FALSE(group);
    CHECK(group.error().render().find(dir.path + "/web/schemata") != std::string::npos);
    CHECK_FALSE(exists(dir.path + "/web"));
  }
  SECTION("the pid goes into the CLOS's tasks") {
    REQUIRE(resctrl::prepare(root, rdt_of(""), "web"));
    make_group(dir.path + "/web");  // what resctrl puts in a new group
    REQUIRE(resctrl::write_schemata(root, {"web", true, ""}, {"L3:0=f", "MB:0=20"}));
    CHECK(contents(dir.path + "/web/schemata") == "L3:0=f\nMB:0=20\n");
    REQUIRE(resctrl::join(root, {"web", true, ""}, 4242));
    CHECK(contents(dir.path + "/web/tasks") == "4242");
    CHECK(contents(dir.path + "/tasks").empty());
  }
}

TEST_CASE("resctrl: a CLOS named by closID", "[resctrl]") {
  test::ScratchDir dir("mkrun-resctrl");
  make_group(dir.path);
  resctrl::Root root = root_at(dir.path);

  SECTION("without schemata it must exist, and nothing is made") {
    auto group = resctrl::prepare(root, rdt_of("gold"), "web");
    REQUIRE_FALSE(group);
    CHECK(group.error().render().starts_with("clos dir not accessible (must be pre-created"));
    CHECK_FALSE(exists(dir.path + "/gold"));
  }
  SECTION("one that exists is compared, never written, and stays at delete") {
    make_group(dir.path + "/gold");
    auto same = resctrl::prepare(root, rdt_of("gold", "L3:0=07ff"), "web");
    REQUIRE(same);
    CHECK(same->clos == "gold");
    CHECK_FALSE(same->created);
    auto other = resctrl::prepare(root, rdt_of("gold", "L3:0=f"), "db");
    REQUIRE_FALSE(other);
    CHECK(other.error().render().find("exists with other schemata") != std::string::npos);
    CHECK(contents(dir.path + "/gold/schemata") == kKernelSchemata);
    REQUIRE(resctrl::remove(root, *same));
    CHECK(exists(dir.path + "/gold"));
  }
  SECTION("a directory of the container's id that was there is not taken for its own") {
    make_group(dir.path + "/web");
    auto group = resctrl::prepare(root, rdt_of("", "L3:0=f"), "web");
    REQUIRE_FALSE(group);  // compared, and it differs
    CHECK(exists(dir.path + "/web"));
  }
  SECTION("\"/\" is the root group") {
    auto group = resctrl::prepare(root, rdt_of("/"), "web");
    REQUIRE(group);
    CHECK(group->clos.empty());
    REQUIRE(resctrl::join(root, *group, 77));
    CHECK(contents(dir.path + "/tasks") == "77");
    REQUIRE(resctrl::remove(root, *group));
    CHECK(exists(dir.path + "/tasks"));
  }
  SECTION("a symlink is not followed out of resctrl") {
    test::ScratchDir outside("mkrun-resctrl-outside");
    make_group(outside.path);
    REQUIRE(::symlink(outside.path.c_str(), (dir.path + "/evil").c_str()) == 0);
    CHECK_FALSE(resctrl::prepare(root, rdt_of("evil", "L3:0=7ff"), "web"));
    CHECK_FALSE(resctrl::join(root, {"evil", false, ""}, 77));
    CHECK(contents(outside.path + "/tasks").empty());
  }
}

TEST_CASE("resctrl: a monitoring group named after the container", "[resctrl]") {
  test::ScratchDir dir("mkrun-resctrl");
  make_group(dir.path);
  make_group(dir.path + "/gold");
  resctrl::Root root = root_at(dir.path);
  oci::IntelRdt rdt = rdt_of("gold");
  rdt.enableMonitoring = true;

  auto group = resctrl::prepare(root, rdt, "web");
  REQUIRE(group);
  CHECK(group->monitor == "web");
  REQUIRE(files::write_file(dir.path + "/gold/mon_groups/web/tasks", ""));  // resctrl's file
  REQUIRE(resctrl::join(root, *group, 99));
  CHECK(contents(dir.path + "/gold/tasks") == "99");  // the CLOS first: the kernel needs it
  CHECK(contents(dir.path + "/gold/mon_groups/web/tasks") == "99");
  REQUIRE(::unlink((dir.path + "/gold/mon_groups/web/tasks").c_str()) == 0);
  REQUIRE(resctrl::remove(root, *group));
  CHECK_FALSE(exists(dir.path + "/gold/mon_groups/web"));
  CHECK(exists(dir.path + "/gold"));

  SECTION("a CLOS without mon_groups cannot be monitored; a CLOS made for it is undone") {
    oci::IntelRdt own;
    own.enableMonitoring = true;
    auto failed = resctrl::prepare(root, own, "db");
    REQUIRE_FALSE(failed);
    CHECK(failed.error().render().find("no monitoring groups") != std::string::npos);
    CHECK_FALSE(exists(dir.path + "/db"));
  }
}
