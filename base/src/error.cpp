#include "mkrun/base/error.hpp"

#include <cctype>
#include <cstring>

namespace mkrun {

Error Error::wrap(std::string_view context) && {
  what_.insert(0, std::string(context) + ": ");
  return std::move(*this);
}

Error Error::wrap(std::string_view context) const& {
  return Error(*this).wrap(context);
}

std::string Error::render() const {
  if (errc_ == 0) return what_;
  // Go's errno texts start in lower case ("permission denied"), and engines match them
  // case-sensitively (Docker's EACCES check), so mkrun writes them the same way.
  std::string reason = std::strerror(errc_);
  if (!reason.empty())
    reason[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(reason[0])));
  return what_ + ": " + reason;
}

Error sys_error(std::string what, int errc) {
  return Error(std::move(what), errc);
}

}  // namespace mkrun
