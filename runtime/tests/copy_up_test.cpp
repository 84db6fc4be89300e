// copy_tree (tmpcopyup) on a scratch directory of the caller's own files: runs unprivileged.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "child/copy_up.hpp"

namespace fs = std::filesystem;
using mkrun::child::copy_tree;
using mkrun::child::CopyPath;

namespace {

struct Scratch {
  Scratch() {
    char pattern[] = "/tmp/mkrun-copy-up-XXXXXX";
    root = ::mkdtemp(pattern);
    fs::create_directory(root / "from");
    fs::create_directory(root / "to");
  }
  ~Scratch() { fs::remove_all(root); }
  int open(const char* name) const {
    return ::open((root / name).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  }
  fs::path root;
};

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("copy_tree copies files, directories, symlinks and fifos with their modes and times",
          "[copy_up]") {
  Scratch s;
  fs::path from = s.root / "from";
  std::ofstream(from / "file") << "contents\n";
  ::chmod((from / "file").c_str(), 0640);
  timespec old_times[2] = {{1000000000, 0}, {1000000000, 0}};
  ::utimensat(AT_FDCWD, (from / "file").c_str(), old_times, 0);
  fs::create_directories(from / "sub" / "deeper");
  std::ofstream(from / "sub" / "deeper" / "leaf") << std::string(100000, 'x');
  ::chmod((from / "sub").c_str(), 0710);
  fs::create_symlink("sub/deeper/leaf", from / "link");
  ::mkfifo((from / "fifo").c_str(), 0604);

  int source = s.open("from");
  int target = s.open("to");
  CopyPath failed;
  CHECK(copy_tree(source, target, failed) == 0);
  ::close(source);
  ::close(target);

  fs::path to = s.root / "to";
  struct stat info {};
  REQUIRE(::stat((to / "file").c_str(), &info) == 0);
  CHECK((info.st_mode & 07777) == 0640);
  CHECK(info.st_mtim.tv_sec == 1000000000);
  CHECK(read_text(to / "file") == "contents\n");
  REQUIRE(::stat((to / "sub").c_str(), &info) == 0);
  CHECK((info.st_mode & 07777) == 0710);
  CHECK(fs::file_size(to / "sub" / "deeper" / "leaf") == 100000);
  CHECK(fs::read_symlink(to / "link") == "sub/deeper/leaf");
  CHECK(fs::is_fifo(to / "fifo"));
  REQUIRE(::stat((to / "fifo").c_str(), &info) == 0);
  CHECK((info.st_mode & 07777) == 0604);
}

TEST_CASE("copy_tree stops at kMaxCopyDepth levels and names the entry", "[copy_up]") {
  Scratch s;
  fs::path deep = s.root / "from";
  for (int level = 0; level <= mkrun::child::kMaxCopyDepth; ++level) deep /= "d";
  fs::create_directories(deep);

  int source = s.open("from");
  int target = s.open("to");
  CopyPath failed;
  CHECK(copy_tree(source, target, failed) == ELOOP);
  CHECK(failed.too_deep);
  std::string expected;
  for (int level = 0; level <= mkrun::child::kMaxCopyDepth; ++level) expected += "/d";
  CHECK(std::string(failed.c_str()) == expected);
  ::close(source);
  ::close(target);
}

TEST_CASE("copy_tree reports the entry it could not create", "[copy_up]") {
  Scratch s;
  std::ofstream(s.root / "from" / "clash") << "x";
  std::ofstream(s.root / "to" / "clash") << "y";
  int source = s.open("from");
  int target = s.open("to");
  CopyPath failed;
  CHECK(copy_tree(source, target, failed) == EEXIST);
  CHECK(std::string(failed.c_str()) == "/clash");
  CHECK_FALSE(failed.too_deep);
  ::close(source);
  ::close(target);
}
