#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>

#include "mkrun/base/files.hpp"
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

  state::ContainerRecord record;
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

TEST_CASE("ids that are not one plain name below the root are refused", "[store]") {
  TempRoot root;
  for (const char* id : {"../x", "a/b", "..", ".", "/abs", "a\nb"}) {
    CHECK(state::ContainerDir::open(root.path, id).error().render() ==
          "invalid container ID format");
    CHECK(state::ContainerDir::create(root.path, id).error().render() ==
          "invalid container ID format");
    CHECK(state::ContainerDir::remove_stale_entry(root.path, id).error().render() ==
          "invalid container ID format");
  }
  CHECK(state::ContainerDir::open(root.path, "").error().render() ==
        "container id cannot be empty");
}

TEST_CASE("a symlink in the root is no container and is never followed", "[store]") {
  TempRoot root;
  TempRoot outside;
  REQUIRE(files::write_file(outside.path + "/state.json", "{}"));
  REQUIRE(::symlink(outside.path.c_str(), (root.path + "/evil").c_str()) == 0);
  CHECK(state::ContainerDir::open(root.path, "evil").error().render() ==
        "container does not exist");
  CHECK(state::ContainerDir::create(root.path, "evil").error().render() ==
        "container with given ID already exists");
  CHECK(state::list_ids(root.path).value().empty());
  REQUIRE(state::ContainerDir::remove_stale_entry(root.path, "evil"));
  struct stat info {};
  CHECK(::lstat((root.path + "/evil").c_str(), &info) != 0);
  CHECK(::access((outside.path + "/state.json").c_str(), F_OK) == 0);
}

TEST_CASE("removing a container directory leaves what its symlinks point to", "[store]") {
  TempRoot root;
  TempRoot outside;
  REQUIRE(files::write_file(outside.path + "/marker", "x"));
  auto dir = state::ContainerDir::create(root.path, "c1");
  REQUIRE(dir);
  REQUIRE(::symlink(outside.path.c_str(), (dir->path() + "/to-dir").c_str()) == 0);
  REQUIRE(::mkdir((dir->path() + "/sub").c_str(), 0700) == 0);
  REQUIRE(::symlink((outside.path + "/marker").c_str(), (dir->path() + "/sub/to-file").c_str()) ==
          0);
  REQUIRE(dir->remove());
  CHECK(::access(dir->path().c_str(), F_OK) != 0);
  CHECK(files::read_file(outside.path + "/marker").value() == "x");
}
