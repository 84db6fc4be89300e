#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "mkrun/lwk/caller.hpp"

using namespace mkrun;
using namespace mkrun::lwk;

namespace {

constexpr std::string_view kIdentity = "         0          0 4294967295\n";

HostConfig config_with_users(std::vector<std::string> users) {
  HostConfig config;
  config.path = "/etc/mkrun/mckernel.conf";
  config.attach_users = std::move(users);
  return config;
}

}  // namespace

TEST_CASE("ids map outward through a uid_map", "[caller]") {
  std::string_view map = "0 1000 1\n1 100000 65536\n";
  CHECK(map_outward(0, map) == 1000u);
  CHECK(map_outward(1, map) == 100000u);
  CHECK(map_outward(65536, map) == 165535u);
  CHECK_FALSE(map_outward(65537, map));
  CHECK(map_outward(42, kIdentity) == 42u);
  CHECK(is_identity_map(kIdentity));
  CHECK_FALSE(is_identity_map(map));
  CHECK_FALSE(is_identity_map("0 0 4294967295\n5 5 1\n"));
}

TEST_CASE("a caller is real root only as uid 0 of the initial user namespace", "[caller]") {
  CHECK(caller_from(0, 0, {}, kIdentity, kIdentity).real_root);
  Caller nobody = caller_from(65534, 65534, {100}, kIdentity, kIdentity);
  CHECK_FALSE(nobody.real_root);
  CHECK(nobody.uid == 65534u);
  CHECK(nobody.gids == std::vector<uint32_t>{100, 65534});
  // rootless Podman: root inside, the user outside
  Caller podman = caller_from(0, 0, {}, "0 1000 1\n", "0 1000 1\n");
  CHECK_FALSE(podman.real_root);
  CHECK(podman.in_user_namespace);
  CHECK(podman.uid == 1000u);
  CHECK(podman.gids == std::vector<uint32_t>{1000});
  auto refused = check_real_root(podman);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().render().starts_with("McKernel needs real root to boot an instance"));
  CHECK(refused.error().render().find("(mkrun runs in a user namespace)") != std::string::npos);
}

TEST_CASE("attach_users names users and groups, by name or number", "[caller]") {
  Caller user = caller_from(1000, 1000, {27}, kIdentity, kIdentity);
  CHECK(check_attach_user(config_with_users({"1000"}), user));
  CHECK(check_attach_user(config_with_users({"root", "@27"}), user));
  CHECK(check_attach_user(config_with_users({"@1000"}), user));
  CHECK(check_attach_user(config_with_users({"@root"}),
                          caller_from(5, 5, {0}, kIdentity, kIdentity)));
  auto refused = check_attach_user(config_with_users({"root", "@0", "1001"}), user);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().render().starts_with("user "));
  CHECK(refused.error().render().find("uid 1000") != std::string::npos);
  CHECK(refused.error().render().find("attach_users in /etc/mkrun/mckernel.conf") !=
        std::string::npos);
  // root needs no listing
  CHECK(check_attach_user(config_with_users({}), caller_from(0, 0, {}, kIdentity, kIdentity)));
}

TEST_CASE("an unprivileged caller reads only a configuration of root's", "[caller]") {
  Caller user = caller_from(1000, 1000, {}, kIdentity, kIdentity);
  CHECK(trusted_config_path("/etc/passwd", user));  // root's, 0644, under root's directories
  char pattern[] = "/tmp/mkrun-trust-XXXXXX";
  REQUIRE(::mkdtemp(pattern) != nullptr);
  std::string file = std::string(pattern) + "/mckernel.conf";
  int fd = ::open(file.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  ::close(fd);
  REQUIRE(::chmod(file.c_str(), 0666) == 0);
  auto refused = trusted_config_path(file, user);
  REQUIRE_FALSE(refused);
  std::string text = refused.error().render();
  CHECK(text.starts_with("an unprivileged mkrun reads only a host configuration that is root's"));
  if (::geteuid() == 0) CHECK(text.find("is writable by others than root") != std::string::npos);
  // in a user namespace that maps its root to uid 1000, root's files are 1000's
  Caller podman = caller_from(0, 0, {}, "0 1000 1\n", "0 1000 1\n");
  auto mapped = trusted_config_path("/etc/passwd", podman);
  if (::geteuid() == 0) {
    REQUIRE_FALSE(mapped);
    CHECK(mapped.error().render().find("is owned by uid 1000") != std::string::npos);
  }
  // root reads any
  CHECK(trusted_config_path(file, caller_from(0, 0, {}, kIdentity, kIdentity)));
  // A symlink of the caller's to root's file: what is read is root's file itself, so the link
  // cannot be turned to another file between the check and the read.
  std::string link = std::string(pattern) + "/link";
  REQUIRE(::symlink("/etc/passwd", link.c_str()) == 0);
  auto through_link = trusted_config_path(link, user);
  REQUIRE(through_link);
  CHECK(*through_link == "/etc/passwd");
  ::unlink(link.c_str());
  ::unlink(file.c_str());
  ::rmdir(pattern);
}
