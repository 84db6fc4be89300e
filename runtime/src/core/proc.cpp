#include "core/proc.hpp"

#include <charconv>
#include <string>
#include <string_view>

#include "core/files.hpp"

namespace mkrun::proc {

std::optional<ProcessStat> read_stat(pid_t pid) {
  auto text = files::read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return std::nullopt;
  // The command name (field 2) may hold spaces and parentheses: parse after the last ')'.
  auto close = text->rfind(')');
  if (close == std::string::npos || close + 2 >= text->size()) return std::nullopt;
  std::string_view rest = std::string_view(*text).substr(close + 2);
  ProcessStat stat;
  stat.state = rest.front();
  // rest starts at field 3; the start time is field 22, 19 spaces further.
  for (int field = 3; field < 22; ++field) {
    auto space = rest.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(space + 1);
  }
  std::from_chars(rest.data(), rest.data() + rest.size(), stat.start_time);
  return stat;
}

bool is_alive(pid_t pid, uint64_t start_time) {
  if (pid <= 0) return false;
  auto stat = read_stat(pid);
  return stat && stat->state != 'Z' && stat->state != 'X' && stat->start_time == start_time;
}

}  // namespace mkrun::proc
