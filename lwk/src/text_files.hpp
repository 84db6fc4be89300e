// Small file helpers for lwk/ beyond base's (mkrun/base/files.hpp). Every descriptor is O_CLOEXEC.
#pragma once

#include <string>
#include <string_view>

#include "mkrun/base/error.hpp"
#include "mkrun/base/files.hpp"

namespace mkrun::lwk {

// Writes a temporary file next to `path`, then renames it over `path`: readers see the old or
// the new contents, never a mix.
Result<void> write_text_file_atomic(const std::string& path, std::string_view text);
Result<void> make_directory(const std::string& path, unsigned mode);

}  // namespace mkrun::lwk
