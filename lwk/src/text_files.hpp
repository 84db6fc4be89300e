// Small file helpers for lwk/ beyond base's (mkrun/base/files.hpp). Every descriptor is O_CLOEXEC.
#pragma once

#include <string>
#include <string_view>

#include "mkrun/base/error.hpp"
#include "mkrun/base/files.hpp"

namespace mkrun::lwk {

Result<void> make_directory(const std::string& path, unsigned mode);

// `text` without its trailing newlines, spaces and NULs, as sysfs files and IHK's tools end
// their values.
std::string trimmed(std::string text);

}  // namespace mkrun::lwk
