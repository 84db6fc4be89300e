// /proc/<pid>/mountinfo, parsed: the one reader of the kernel's mount table.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mkrun::mountinfo {

struct MountLine {
  std::string root;         // field 4: the part of the file system this mount shows
  std::string mount_point;  // field 5, unescaped
  std::string fstype;       // after the lone "-"
  std::string super_options;
  int64_t id = -1;  // field 1: the mount's id, unique while it is mounted
};

// "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue"; nullopt for
// a line that does not have that shape.
std::optional<MountLine> parse_line(std::string_view line);
// Every well-formed line of a whole mountinfo text, in order.
std::vector<MountLine> parse(std::string_view text);

}  // namespace mkrun::mountinfo
