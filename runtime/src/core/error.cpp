#include "mkrun/runtime/error.hpp"

#include <cstring>

namespace mkrun {

Error Error::wrap(std::string_view context) && {
  what_.insert(0, std::string(context) + ": ");
  return std::move(*this);
}

Error Error::wrap(std::string_view context) const& { return Error(*this).wrap(context); }

std::string Error::render() const {
  if (errc_ == 0) return what_;
  return what_ + ": " + std::strerror(errc_);
}

Error sys_error(std::string what, int errc) { return Error(std::move(what), errc); }

}  // namespace mkrun
