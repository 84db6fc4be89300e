// CDI on the host: spec directories, their owners and modes, and the host's device nodes.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>

#include "container/cdi.hpp"
#include "linux_test_util.hpp"
#include "mkrun/base/files.hpp"

using namespace mkrun;
using namespace mkrun::runtime::internal;

namespace {

using TempDir = test::ScratchDir;

std::string spec(const char* env) {
  return std::string(R"({"cdiVersion":"0.3.0","kind":"v.com/c","devices":[{"name":"d",)") +
         R"("containerEdits":{"env":[")" + env + R"("]}}]})";
}

void write(const std::string& path, const std::string& text, mode_t mode = 0644) {
  REQUIRE(files::write_file(path, text));
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

}  // namespace

TEST_CASE("cdi: spec directories by priority; missing ones skipped; other files ignored", "[cdi]") {
  TempDir low, high;
  write(low.path + "/a.json", spec("FROM=low"));
  write(high.path + "/a.yaml",
        "cdiVersion: 0.3.0\nkind: v.com/c\ndevices:\n- name: d\n"
        "  containerEdits:\n    env: [FROM=high]\n");
  write(high.path + "/notes.txt", "not a spec");
  REQUIRE(::mkdir((high.path + "/sub.json").c_str(), 0755) == 0);
  auto registry = load_cdi_registry({low.path, "/nonexistent/cdi", high.path});
  REQUIRE(registry);
  CHECK(registry->broken().empty());
  auto edits = registry->edits_for({"v.com/c=d"});
  REQUIRE(edits);
  CHECK(edits->env == std::vector<std::string>{"FROM=high"});
}

TEST_CASE("cdi: a broken file is recorded with its path and field, the others still load",
          "[cdi]") {
  TempDir dir;
  write(dir.path + "/good.json", spec("A=1"));
  write(dir.path + "/bad.json",
        R"({"cdiVersion":"0.3.0","kind":"v.com/c","devices":[{"name":"-x","containerEdits":{}}]})");
  auto registry = load_cdi_registry({dir.path});
  REQUIRE(registry);
  REQUIRE(registry->broken().size() == 1);
  CHECK(registry->broken()[0] ==
        dir.path + "/bad.json: devices[0].name: \"-x\" should start with a letter or digit");
  CHECK(registry->edits_for({"v.com/c=d"}));
}

TEST_CASE("cdi: a spec directory or file writable by others is refused", "[cdi]") {
  TempDir dir;
  write(dir.path + "/a.json", spec("A=1"));
  REQUIRE(::chmod(dir.path.c_str(), 0777) == 0);
  auto refused = load_cdi_registry({dir.path});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().render() == "cdi: spec directory " + dir.path +
                                        " is writable by group or others (mode 0777): refusing "
                                        "its specs");
  REQUIRE(::chmod(dir.path.c_str(), 0755) == 0);
  REQUIRE(::chmod((dir.path + "/a.json").c_str(), 0666) == 0);
  auto registry = load_cdi_registry({dir.path});
  REQUIRE(registry);
  REQUIRE(registry->broken().size() == 1);
  CHECK(registry->broken()[0] == dir.path + "/a.json: writable by group or others (mode 0666)");
}

TEST_CASE("cdi: a spec directory that is a symlink is refused", "[cdi]") {
  TempDir dir;
  std::string link = dir.path + "/link";
  REQUIRE(::symlink("/etc", link.c_str()) == 0);
  auto refused = load_cdi_registry({link});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().render().starts_with("cdi: spec directory: open"));
}

TEST_CASE("cdi: host device nodes are stat'ed without following a final symlink", "[cdi]") {
  auto null = stat_host_device("/dev/null");
  REQUIRE(null);
  CHECK(null->type == "c");
  CHECK(null->major == 1);
  CHECK(null->minor == 3);
  CHECK(null->mode == 0666u);
  CHECK_FALSE(stat_host_device("/etc/hostname"));
  CHECK_FALSE(stat_host_device("/nonexistent"));
  TempDir dir;
  std::string link = dir.path + "/null";
  REQUIRE(::symlink("/dev/null", link.c_str()) == 0);
  auto through_link = stat_host_device(link);
  REQUIRE_FALSE(through_link);
  CHECK(through_link.error().message == "not a device node");
}
