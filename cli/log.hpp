// The log sink behind --log, --log-format and --debug. runc logs through logrus, and callers
// parse what it writes: the containerd shim decodes --log-format json lines ({level,msg,time},
// time as RFC3339) and reports the last error; podman reads the whole file as one JSON object on
// failure. So the lines below are logrus' TextFormatter (no TTY) and JSONFormatter, byte for byte.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace mkrun::cli {

enum class LogLevel { debug, info, warning, error };
enum class LogFormat { text, json };

// A moment as logrus prints it: seconds since the epoch and the offset of the local time zone.
struct LogTime {
  std::int64_t seconds = 0;
  int utc_offset = 0;  // seconds east of UTC
};

LogTime local_now();

// Go's time.RFC3339 ("2006-01-02T15:04:05Z07:00"): "Z" for UTC, else "+01:00".
std::string format_rfc3339(LogTime time);

// Go's strconv.Quote (fmt's %q): what logrus' TextFormatter puts around a value that needs it.
std::string go_quote(std::string_view text);

// A JSON string literal as Go's encoding/json writes it with HTML escaping on, as logrus' JSON
// lines are: <, > and & become \u003c, \u003e and \u0026, control characters \u00XX (\n, \r
// and \t keep their short forms), U+2028 and U+2029 are escaped, invalid UTF-8 becomes \ufffd.
std::string go_json_string(std::string_view text);

// `time="2026-11-25T01:30:03Z" level=error msg="container does not exist"` + "\n". A value is
// quoted only if it holds a character other than [A-Za-z0-9-._/@^+], as logrus decides.
std::string format_text_line(LogLevel level, std::string_view message, LogTime time);

// `{"level":"error","msg":"container does not exist","time":"2026-11-25T01:30:03Z"}` + "\n":
// keys sorted, as encoding/json writes logrus' field map.
std::string format_json_line(LogLevel level, std::string_view message, LogTime time);

struct LogSettings {
  std::string path;             // --log; empty: stderr
  std::string format = "text";  // --log-format
  bool debug = false;           // --debug
};

class Logger {
 public:
  using Clock = LogTime (*)();

  // Logs to `stderr_fd` in text format at level info until configure() says otherwise; this is
  // where errors go that happen before the global flags are read.
  explicit Logger(int stderr_fd = 2, Clock clock = local_now);
  ~Logger();
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  // Applies the global flags in runc's order (configLogrus): debug level, then the format
  // (`invalid log-format: xml`), then the file (`open /x: no such file or directory`). On error
  // the logger keeps logging to stderr, in the format if that was valid.
  std::expected<void, std::string> configure(const LogSettings& settings);

  void log(LogLevel level, std::string_view message);

  // The error that ends the command (runc's fatalWithCode): logged, and, when the log is a file,
  // also written to stderr as the bare message and "\n" so a human or conmon sees it.
  void fatal(std::string_view message);
  // Like fatal(), but `text` goes to stderr unchanged: urfave/cli writes its own errors ("No help
  // topic for 'foo'\n") through a writer that runc wraps in a logger, newline and all.
  void fatal_verbatim(std::string_view text);

 private:
  int stderr_fd_;
  int fd_;
  bool owns_fd_ = false;
  LogFormat format_ = LogFormat::text;
  bool debug_ = false;
  Clock clock_;
};

// Writes all of `bytes` to `fd`, retrying on EINTR and short writes; false if the fd fails.
bool write_fully(int fd, std::string_view bytes);

// The process' logger, used by main and the commands.
Logger& logger();

void log_debug(std::string_view message);
void log_info(std::string_view message);
void log_warning(std::string_view message);
void log_error(std::string_view message);

}  // namespace mkrun::cli
