// Errors inside the library are values. An Error says what failed, on which path or value, and
// why (the errno text), and each caller may put its own context in front, so the user reads
//   unable to start container process: mount `proc` to `/proc`: Permission denied
// The CLI renders it once, in runc's log format, and maps it to runc's exit code.
#pragma once

#include <cerrno>
#include <expected>
#include <string>
#include <utility>

namespace mkrun {

// What a caller may act on rather than only print: runc's error kinds for a container's
// lifecycle (libcontainer's ErrNotExist, ErrExist, ErrRunning, ...). Most failures are kOther.
enum class ErrorKind {
  kOther,
  kNotExist,
  kExists,
  kInvalidId,
  kRunning,
  kNotRunning,
  kPaused,
  kNotPaused,
  kStopped
};

class Error {
 public:
  Error() = default;
  // `what` names the operation and its object; `errc` is the errno behind it, or 0.
  explicit Error(std::string what, int errc = 0) : what_(std::move(what)), errc_(errc) {}
  Error(ErrorKind kind, std::string what) : what_(std::move(what)), kind_(kind) {}

  // Puts context in front: "ctx: <what>: <errno text>".
  Error wrap(std::string_view context) &&;
  Error wrap(std::string_view context) const&;

  int errc() const { return errc_; }
  ErrorKind kind() const { return kind_; }
  const std::string& what() const { return what_; }
  std::string render() const;

 private:
  std::string what_;
  int errc_ = 0;
  ErrorKind kind_ = ErrorKind::kOther;
};

template <class T = void>
using Result = std::expected<T, Error>;

// An Error from the current errno: sys_error("open `/x`").
Error sys_error(std::string what, int errc = errno);

inline std::unexpected<Error> fail(std::string what, int errc = 0) {
  return std::unexpected(Error(std::move(what), errc));
}
inline std::unexpected<Error> fail(ErrorKind kind, std::string what) {
  return std::unexpected(Error(kind, std::move(what)));
}
inline std::unexpected<Error> fail_errno(std::string what, int errc = errno) {
  return std::unexpected(sys_error(std::move(what), errc));
}

}  // namespace mkrun

// Evaluates a Result-returning expression; on error returns it from the enclosing function,
// otherwise yields the value. A GCC statement expression (`__extension__` keeps -Wpedantic
// quiet about it), as the design notes propose.
#define MKRUN_TRY(expr)                                                                   \
  __extension__({                                                                         \
    auto mkrun_try_result_ = (expr);                                                      \
    if (!mkrun_try_result_) return std::unexpected(std::move(mkrun_try_result_).error()); \
    std::move(mkrun_try_result_).value();                                                 \
  })

// For Result<void>.
#define MKRUN_CHECK(expr)                                                                     \
  do {                                                                                        \
    auto mkrun_check_result_ = (expr);                                                        \
    if (!mkrun_check_result_) return std::unexpected(std::move(mkrun_check_result_).error()); \
  } while (0)
