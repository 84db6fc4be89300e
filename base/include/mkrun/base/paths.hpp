// Lexical path rules: what a path names before any symlink is looked at.
#pragma once

#include <string>
#include <string_view>

namespace mkrun::paths {

// Go's filepath.Clean of an absolute path: no empty or "." components, each ".." taking the one
// before it away (never above "/"). "/a/./b/../c/" -> "/a/c"; "" -> "/".
std::string clean_absolute(std::string_view path);

}  // namespace mkrun::paths
