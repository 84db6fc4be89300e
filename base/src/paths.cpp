#include "mkrun/base/paths.hpp"

#include <vector>

namespace mkrun::paths {

std::string clean_absolute(std::string_view path) {
  std::vector<std::string_view> kept;
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    path.remove_prefix(slash == std::string_view::npos ? path.size() : slash + 1);
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!kept.empty()) kept.pop_back();
      continue;
    }
    kept.push_back(part);
  }
  std::string out;
  for (std::string_view part : kept) out.append("/").append(part);
  return out.empty() ? "/" : out;
}

}  // namespace mkrun::paths
