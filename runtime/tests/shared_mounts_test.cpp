// Which mounts belong to a container without a mount namespace of its own: the ones at or below
// its rootfs, by the kernel's (unescaped) mount points, never a sibling that shares a prefix.
#include <catch2/catch.hpp>

#include "container/shared_mounts.hpp"

using mkrun::runtime::shared_mounts::mounts_below;

TEST_CASE("shared mounts: at or below the rootfs, in mountinfo order", "[shared-mounts]") {
  const char* text =
      "21 1 8:1 / / rw shared:1 - ext4 /dev/sda1 rw\n"
      "30 21 0:5 / /srv/c/rootfs rw - tmpfs t rw\n"
      "31 30 0:6 / /srv/c/rootfs/proc rw - proc proc rw\n"
      "32 21 0:7 / /srv/c/rootfs2/proc rw - proc proc rw\n"
      "33 31 0:8 / /srv/c/rootfs/a\\040b rw - tmpfs t rw\n"
      "garbage line\n";
  auto below = mounts_below(text, "/srv/c/rootfs");
  REQUIRE(below.size() == 3);
  CHECK(below[0].id == 30);
  CHECK(below[1].id == 31);
  CHECK(below[2].id == 33);
  CHECK(below[2].mount_point == "/srv/c/rootfs/a b");
}

TEST_CASE("shared mounts: nothing below a rootfs nothing is mounted on", "[shared-mounts]") {
  CHECK(mounts_below("21 1 8:1 / / rw - ext4 /dev/sda1 rw\n", "/srv/none").empty());
}
