#include "log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <optional>
#include <string_view>

namespace mkrun::cli {
namespace {

constexpr char kLowerHex[] = "0123456789abcdef";

// One step of Go's utf8.DecodeRuneInString: a malformed sequence (bad continuation, overlong
// form, surrogate, beyond U+10FFFF) is one invalid byte.
struct Rune {
  char32_t value = 0;
  std::size_t size = 1;
  bool valid = true;
};

// The length and first-byte payload of a UTF-8 sequence, and the smallest value it may encode
// (anything smaller is an overlong form).
struct Sequence {
  std::size_t size;
  char32_t payload;
  char32_t smallest;
};

std::optional<Sequence> sequence_started_by(unsigned char lead) {
  if ((lead & 0xE0) == 0xC0) return Sequence{2, lead & 0x1Fu, 0x80};
  if ((lead & 0xF0) == 0xE0) return Sequence{3, lead & 0x0Fu, 0x800};
  if ((lead & 0xF8) == 0xF0) return Sequence{4, lead & 0x07u, 0x10000};
  return std::nullopt;
}

Rune decode_rune(std::string_view text) {
  constexpr Rune kInvalid{0xFFFD, 1, false};
  const auto lead = static_cast<unsigned char>(text[0]);
  if (lead < 0x80) return {lead, 1, true};
  const auto sequence = sequence_started_by(lead);
  if (!sequence || text.size() < sequence->size) return kInvalid;
  char32_t value = sequence->payload;
  for (std::size_t i = 1; i < sequence->size; ++i) {
    const auto next = static_cast<unsigned char>(text[i]);
    if ((next & 0xC0) != 0x80) return kInvalid;
    value = (value << 6) | (next & 0x3F);
  }
  const bool surrogate = value >= 0xD800 && value <= 0xDFFF;
  if (value < sequence->smallest || value > 0x10FFFF || surrogate) return kInvalid;
  return {value, sequence->size, true};
}

// unicode.IsPrint for the characters that show up in paths and messages: controls, the spaces
// other than U+0020, format characters, private use and non-characters are not printable.
// Unassigned code points count as printable here (Go would escape them; it needs Unicode tables).
bool is_printable(char32_t c) {
  auto in = [c](char32_t low, char32_t high) { return c >= low && c <= high; };
  return !(c < 0x20 || in(0x7F, 0xA0) || c == 0xAD || c == 0x1680 || in(0x2000, 0x200F) ||
           in(0x2028, 0x202F) || in(0x205F, 0x206F) || c == 0x3000 || in(0xE000, 0xF8FF) ||
           c == 0xFEFF || in(0xFFF9, 0xFFFB) || in(0xFFFE, 0xFFFF) || in(0xE0000, 0xE0FFF) ||
           c >= 0xF0000);
}

void append_hex(std::string& out, char32_t value, int digits) {
  for (int shift = 4 * (digits - 1); shift >= 0; shift -= 4) {
    out += kLowerHex[(value >> shift) & 0xF];
  }
}

// strconv's appendEscapedRune for a rune that is not printable as it is.
void append_escaped_rune(std::string& out, char32_t c) {
  constexpr std::string_view kControls = "\a\b\f\n\r\t\v";
  constexpr std::string_view kLetters = "abfnrtv";  // the same controls as Go writes them
  if (const std::size_t letter = kControls.find(static_cast<char>(c));
      c < 0x80 && letter != std::string_view::npos) {
    out += '\\';
    out += kLetters[letter];
  } else if (c < ' ' || c == 0x7F) {
    out += "\\x";
    append_hex(out, c, 2);
  } else if (c < 0x10000) {
    out += "\\u";
    append_hex(out, c, 4);
  } else {
    out += "\\U";
    append_hex(out, c, 8);
  }
}

// logrus TextFormatter.needsQuoting: a value made of these characters only is written bare.
bool is_bare_character(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("-._/@^+").find(c) != std::string_view::npos;
}

bool needs_quoting(std::string_view text) {
  for (char c : text) {
    if (!is_bare_character(c)) return true;
  }
  return false;
}

std::string_view level_name(LogLevel level) {
  switch (level) {
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warning:
      return "warning";
    case LogLevel::error:
      return "error";
  }
  return "error";
}

// Go's syscall.Errno strings are glibc's with a lower-case first letter.
std::string go_errno_text(int errc) {
  std::string text = std::strerror(errc);
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

}  // namespace

LogTime local_now() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  ::localtime_r(&now, &local);
  return {static_cast<std::int64_t>(now), static_cast<int>(local.tm_gmtoff)};
}

std::string format_rfc3339(LogTime time) {
  const std::time_t shifted = static_cast<std::time_t>(time.seconds + time.utc_offset);
  std::tm fields{};
  ::gmtime_r(&shifted, &fields);
  char text[64];
  int length = std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d",
                             fields.tm_year + 1900, fields.tm_mon + 1, fields.tm_mday,
                             fields.tm_hour, fields.tm_min, fields.tm_sec);
  std::string out(text, static_cast<std::size_t>(length));
  if (time.utc_offset == 0) return out + "Z";
  const int offset_minutes = (time.utc_offset < 0 ? -time.utc_offset : time.utc_offset) / 60;
  length = std::snprintf(text, sizeof text, "%c%02d:%02d", time.utc_offset < 0 ? '-' : '+',
                         offset_minutes / 60, offset_minutes % 60);
  return out.append(text, static_cast<std::size_t>(length));
}

std::string go_quote(std::string_view text) {
  std::string out = "\"";
  while (!text.empty()) {
    const Rune rune = decode_rune(text);
    if (!rune.valid) {
      out += "\\x";
      append_hex(out, static_cast<unsigned char>(text[0]), 2);
    } else if (rune.value == '"' || rune.value == '\\') {
      out += '\\';
      out += static_cast<char>(rune.value);
    } else if (is_printable(rune.value)) {
      out += text.substr(0, rune.size);
    } else {
      append_escaped_rune(out, rune.value);
    }
    text.remove_prefix(rune.size);
  }
  return out + "\"";
}

std::string go_json_string(std::string_view text) {
  std::string out = "\"";
  while (!text.empty()) {
    const Rune rune = decode_rune(text);
    const char32_t c = rune.value;
    if (!rune.valid) {
      out += "\\ufffd";
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0x2028 || c == 0x2029) {
      // Go 1.19, which runc 1.1.5 is built with, also writes \b and \f this way.
      out += "\\u";
      append_hex(out, c, 4);
    } else {
      out += text.substr(0, rune.size);
    }
    text.remove_prefix(rune.size);
  }
  return out + "\"";
}

std::string format_text_line(LogLevel level, std::string_view message, LogTime time) {
  auto value = [](std::string_view text) {
    return needs_quoting(text) ? go_quote(text) : std::string(text);
  };
  std::string line = "time=";
  line += value(format_rfc3339(time));
  line += " level=";
  line += level_name(level);
  line += " msg=";
  line += value(message);
  line += '\n';
  return line;
}

std::string format_json_line(LogLevel level, std::string_view message, LogTime time) {
  std::string line = "{\"level\":";
  line += go_json_string(level_name(level));
  line += ",\"msg\":";
  line += go_json_string(message);
  line += ",\"time\":";
  line += go_json_string(format_rfc3339(time));
  line += "}\n";
  return line;
}

Logger::Logger(int stderr_fd, Clock clock) : stderr_fd_(stderr_fd), fd_(stderr_fd), clock_(clock) {}

Logger::~Logger() {
  if (owns_fd_) ::close(fd_);
}

std::expected<void, std::string> Logger::configure(const LogSettings& settings) {
  debug_ = settings.debug;
  if (settings.format == "json") {
    format_ = LogFormat::json;
  } else if (settings.format != "text" && !settings.format.empty()) {
    return std::unexpected("invalid log-format: " + settings.format);
  }
  if (settings.path.empty()) return {};
  // Go opens every file close-on-exec; the container's processes must not inherit the log.
  const int fd =
      ::open(settings.path.c_str(), O_CREAT | O_WRONLY | O_APPEND | O_SYNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    // Still in the chosen format, but to stderr: runc sets the formatter before it opens the file.
    const int errc = errno;
    std::string error = "open ";
    error += settings.path;
    error += ": ";
    error += go_errno_text(errc);
    return std::unexpected(std::move(error));
  }
  if (owns_fd_) ::close(fd_);
  fd_ = fd;
  owns_fd_ = true;
  return {};
}

void Logger::log(LogLevel level, std::string_view message) {
  if (level == LogLevel::debug && !debug_) return;
  const LogTime now = clock_();
  write_fully(fd_, format_ == LogFormat::json ? format_json_line(level, message, now)
                                              : format_text_line(level, message, now));
}

void Logger::fatal(std::string_view message) {
  log(LogLevel::error, message);
  if (owns_fd_) {
    std::string line(message);
    line += '\n';
    write_fully(stderr_fd_, line);
  }
}

void Logger::fatal_verbatim(std::string_view text) {
  log(LogLevel::error, text);
  if (owns_fd_) write_fully(stderr_fd_, text);
}

// One write(2) per line when possible, so lines from runtimes appending to the same file
// (O_APPEND) do not interleave.
bool write_fully(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
  return true;
}

Logger& logger() {
  static Logger instance;
  return instance;
}

void log_debug(std::string_view message) {
  logger().log(LogLevel::debug, message);
}
void log_info(std::string_view message) {
  logger().log(LogLevel::info, message);
}
void log_warning(std::string_view message) {
  logger().log(LogLevel::warning, message);
}
void log_error(std::string_view message) {
  logger().log(LogLevel::error, message);
}

}  // namespace mkrun::cli
