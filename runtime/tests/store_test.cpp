#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>

#include "core/files.hpp"
#include "state/store.hpp"

using namespace mkrun;

namespace {
struct TempRoot {
  TempRoot() {
    char pattern[] = "/tmp/mkrun-store-test-XXXXXX";
    path = ::mkdtemp(pattern);
  }
  ~TempRoot() { (void)files::remove_tree(path); }
  std::string path;
};
}  // namespace

TEST_CASE("a container directory is created once and found again", "[store]") {
  TempRoot root;
  auto dir = state::ContainerDir::create(root.path, "c1");
  REQUIRE(dir);
  auto again = state::ContainerDir::create(root.path, "c1");
  REQUIRE_FALSE(again);
  CHECK(again.error().render() == "container with given ID already exists");

  oci::ContainerRecord record;
  record.id = "c1";
  record.pid = 42;
  record.bundle = "/b";
  REQUIRE(dir->save(record));
  dir = {};  // unlock

  auto opened = state::ContainerDir::open(root.path, "c1");
  REQUIRE(opened);
  auto loaded = opened->load();
  REQUIRE(loaded);
  CHECK(loaded->pid == 42);
  CHECK(state::list_ids(root.path).value() == std::vector<std::string>{"c1"});
  REQUIRE(opened->remove());
  CHECK(state::ContainerDir::open(root.path, "c1").error().render() == "container does not exist");
  CHECK(state::list_ids(root.path + "/missing").value().empty());
}

TEST_CASE("atomic writes replace the file whole", "[store]") {
  TempRoot root;
  std::string path = root.path + "/pid";
  REQUIRE(files::write_file_atomic(path, "123"));
  REQUIRE(files::write_file_atomic(path, "45"));
  CHECK(files::read_file(path).value() == "45");
  CHECK(::access((root.path + "/.pid.tmp").c_str(), F_OK) != 0);
}
