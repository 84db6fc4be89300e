// A temporary directory standing in for /sys/fs/cgroup in the cgroup unit tests: plain
// directories and files, named to the code under test by synthetic mountinfo lines.
#pragma once

#include <catch2/catch.hpp>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace mkrun::cgroups {

// Removed with everything in it.
class FakeTree {
 public:
  FakeTree() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "mkrun-cgroups-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    root_ = pattern;
  }
  ~FakeTree() {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
  FakeTree(const FakeTree&) = delete;
  FakeTree& operator=(const FakeTree&) = delete;

  std::string path(std::string_view relative) const { return root_ + "/" + std::string(relative); }
  // Makes `relative` (a file) with `content`, and its directories.
  void touch(std::string_view relative, std::string_view content = {}) const {
    std::filesystem::create_directories(std::filesystem::path(path(relative)).parent_path());
    std::ofstream(path(relative)) << content;
  }
  std::string read(std::string_view relative) const {
    std::ifstream in(path(relative));
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  bool exists(std::string_view relative) const { return std::filesystem::exists(path(relative)); }
  // A mountinfo line for a hierarchy mounted at <root>/<name>.
  std::string mount(std::string_view name, std::string_view fstype,
                    std::string_view options) const {
    std::filesystem::create_directories(path(name));
    return "40 31 0:38 / " + path(name) + " rw,relatime - " + std::string(fstype) + " " +
           std::string(fstype) + " " + std::string(options) + "\n";
  }

 private:
  std::string root_;
};

}  // namespace mkrun::cgroups
