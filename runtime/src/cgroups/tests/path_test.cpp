// cgroupsPath resolution: runc's cgroupfs and systemd rules.
#include <catch2/catch.hpp>

#include <string>

#include "cgroups/manager.hpp"

namespace mkrun::cgroups {
namespace {

CgroupPath resolved(std::string_view path, bool systemd = false) {
  auto result = resolve_cgroups_path(path, "ctr1", systemd);
  if (!result) FAIL(std::string(path) + ": " + result.error().render());
  return *result;
}

std::string error_of(std::string_view path, bool systemd = false) {
  auto result = resolve_cgroups_path(path, "ctr1", systemd);
  INFO(path);
  REQUIRE_FALSE(result);
  return result.error().render();
}

TEST_CASE("cgroupfs: an absolute cgroupsPath is taken from the hierarchy root", "[cgroups]") {
  CgroupPath path = resolved("/docker/abc");
  CHECK(path.path == "/docker/abc");
  CHECK(path.absolute);
}

TEST_CASE("cgroupfs: a relative cgroupsPath is under the caller's cgroup", "[cgroups]") {
  CgroupPath path = resolved("foo/bar");
  CHECK(path.path == "foo/bar");
  CHECK_FALSE(path.absolute);
}

TEST_CASE("cgroupfs: an empty cgroupsPath is the container id, relative", "[cgroups]") {
  CgroupPath path = resolved("");
  CHECK(path.path == "ctr1");
  CHECK_FALSE(path.absolute);
}

TEST_CASE("cgroupfs: the path is cleaned and cannot climb out", "[cgroups]") {
  CHECK(resolved("/a//b/./c/").path == "/a/b/c");
  CHECK(resolved("/a/../../../b").path == "/b");
  CHECK(resolved("/../../etc").path == "/etc");
  CgroupPath relative = resolved("../../x/./y/..");
  CHECK(relative.path == "x");
  CHECK_FALSE(relative.absolute);
}

TEST_CASE("cgroupfs: a path naming the root or the caller's own cgroup is refused", "[cgroups]") {
  CHECK(error_of("/").find("names the root") != std::string::npos);
  CHECK(error_of("/a/..").find("names the root") != std::string::npos);
  CHECK(error_of(".").find("names the root") != std::string::npos);
  CHECK(error_of("a/../..").find("names the root") != std::string::npos);
}

TEST_CASE("systemd: slice:prefix:name becomes the scope under the expanded slice", "[cgroups]") {
  CgroupPath docker = resolved("system.slice:docker:abc", true);
  CHECK(docker.path == "/system.slice/docker-abc.scope");
  CHECK(docker.absolute);
  CHECK(resolved("kubepods-besteffort-pod12.slice:cri-containerd:abc", true).path ==
        "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12.slice/"
        "cri-containerd-abc.scope");
  CHECK(resolved("machine.slice:libpod:abc", true).path == "/machine.slice/libpod-abc.scope");
}

TEST_CASE("systemd: -.slice is the root and an empty slice is system.slice", "[cgroups]") {
  CHECK(resolved("-.slice:p:n", true).path == "/p-n.scope");
  CHECK(resolved(":p:n", true).path == "/system.slice/p-n.scope");
}

TEST_CASE("systemd: an empty cgroupsPath is mkrun-<id>.scope in system.slice", "[cgroups]") {
  CgroupPath path = resolved("", true);
  CHECK(path.path == "/system.slice/mkrun-ctr1.scope");
  CHECK(path.absolute);
}

TEST_CASE("systemd: a name ending in .slice is that slice itself", "[cgroups]") {
  CHECK(resolved("system.slice:ignored:my.slice", true).path == "/system.slice/my.slice");
}

TEST_CASE("systemd: other forms fail with runc's message", "[cgroups]") {
  CHECK(error_of("/docker/abc", true) ==
        "expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups, got "
        "\"/docker/abc\" instead");
  CHECK(error_of("a:b", true) ==
        "expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups, got "
        "\"a:b\" instead");
  CHECK(error_of("a:b:c:d", true).starts_with("expected cgroupsPath to be of format"));
}

TEST_CASE("systemd: invalid slice names are refused", "[cgroups]") {
  CHECK(error_of("foo:p:n", true) == "invalid slice name: foo");
  CHECK(error_of("a--b.slice:p:n", true) == "invalid slice name: a--b.slice");
  CHECK(error_of("-a.slice:p:n", true) == "invalid slice name: -a.slice");
  CHECK(error_of(".slice:p:n", true) == "invalid slice name: .slice");
  CHECK(error_of("a/b.slice:p:n", true) == "invalid slice name: a/b.slice");
}

TEST_CASE("systemd: a prefix or name that would leave the slice is refused", "[cgroups]") {
  CHECK(error_of("system.slice:p:../../x", true).find("not a valid systemd unit name part") !=
        std::string::npos);
  CHECK(error_of("system.slice:a/b:n", true).find("\"a/b\"") != std::string::npos);
  CHECK(error_of("system.slice:p:..", true).find("\"..\"") != std::string::npos);
}

}  // namespace
}  // namespace mkrun::cgroups
