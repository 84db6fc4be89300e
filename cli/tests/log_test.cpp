// Log lines as logrus writes them for runc 1.1.5 (compared with `runc --log-format json ...` and
// text output on this host), with a fixed clock.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "commands.hpp"
#include "flags.hpp"
#include "log.hpp"

using namespace mkrun::cli;

namespace {

// 2026-11-25T01:30:03Z
constexpr std::int64_t kSeconds = 1795570203;

LogTime fixed_utc() {
  return {kSeconds, 0};
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A temporary directory for log files and a pipe standing in for stderr.
struct LogFixture {
  std::string dir;
  int stderr_pipe[2] = {-1, -1};

  LogFixture() {
    char pattern[] = "/tmp/mkrun-cli-log-XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    dir = pattern;
    REQUIRE(::pipe2(stderr_pipe, O_NONBLOCK) == 0);
  }
  ~LogFixture() {
    ::close(stderr_pipe[0]);
    ::close(stderr_pipe[1]);
    std::string command = "rm -rf '" + dir + "'";
    CHECK(std::system(command.c_str()) == 0);
  }

  std::string stderr_text() const {
    char buffer[4096];
    const ssize_t size = ::read(stderr_pipe[0], buffer, sizeof buffer);
    return size > 0 ? std::string(buffer, static_cast<std::size_t>(size)) : std::string();
  }
};

}  // namespace

TEST_CASE("time is Go's RFC3339 in the local zone", "[cli]") {
  CHECK(format_rfc3339({kSeconds, 0}) == "2026-11-25T01:30:03Z");
  CHECK(format_rfc3339({kSeconds, 3600}) == "2026-11-25T02:30:03+01:00");
  CHECK(format_rfc3339({kSeconds, -(4 * 3600 + 30 * 60)}) == "2026-11-24T21:00:03-04:30");
  CHECK(format_rfc3339({0, 0}) == "1970-01-01T00:00:00Z");
}

TEST_CASE("text lines are logrus' TextFormatter without a terminal", "[cli]") {
  CHECK(format_text_line(LogLevel::error, "container does not exist", fixed_utc()) ==
        "time=\"2026-11-25T01:30:03Z\" level=error msg=\"container does not exist\"\n");
  CHECK(format_text_line(LogLevel::warning, "w", fixed_utc()) ==
        "time=\"2026-11-25T01:30:03Z\" level=warning msg=w\n");
  CHECK(format_text_line(LogLevel::debug, "", fixed_utc()) ==
        "time=\"2026-11-25T01:30:03Z\" level=debug msg=\n");
  CHECK(format_text_line(LogLevel::info, "a-b.c_d/e@f^g+h", fixed_utc()) ==
        "time=\"2026-11-25T01:30:03Z\" level=info msg=a-b.c_d/e@f^g+h\n");
}

TEST_CASE("text lines quote like runc's usage errors", "[cli]") {
  CHECK(format_text_line(LogLevel::error, "runc: \"state\" requires exactly 1 argument(s)",
                         fixed_utc()) ==
        "time=\"2026-11-25T01:30:03Z\" level=error "
        "msg=\"runc: \\\"state\\\" requires exactly 1 argument(s)\"\n");
  CHECK(format_text_line(LogLevel::error, "No help topic for 'foo'\n", fixed_utc()) ==
        "time=\"2026-11-25T01:30:03Z\" level=error msg=\"No help topic for 'foo'\\n\"\n");
}

TEST_CASE("go_quote is strconv.Quote", "[cli]") {
  CHECK(go_quote("plain") == "\"plain\"");
  CHECK(go_quote("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(go_quote("\a\b\f\n\r\t\v") == "\"\\a\\b\\f\\n\\r\\t\\v\"");
  CHECK(go_quote(std::string("\x01\x1b\x7f", 3)) == "\"\\x01\\x1b\\x7f\"");
  CHECK(go_quote(std::string("nul\0", 4)) == "\"nul\\x00\"");
  CHECK(go_quote("caf\xC3\xA9 \xF0\x9F\x98\x80") == "\"caf\xC3\xA9 \xF0\x9F\x98\x80\"");
  CHECK(go_quote("\xff") == "\"\\xff\"");
  CHECK(go_quote("\xC0\xAF") == "\"\\xc0\\xaf\"");           // overlong '/'
  CHECK(go_quote("\xED\xA0\x80") == "\"\\xed\\xa0\\x80\"");  // a surrogate
  CHECK(go_quote("\xC2\xA0") == "\"\\u00a0\"");              // no-break space
  CHECK(go_quote("\xC2\x85") == "\"\\u0085\"");              // C1 control
  CHECK(go_quote("\xE2\x80\xA8") == "\"\\u2028\"");
  CHECK(go_quote("\xF3\xB0\x80\x80") == "\"\\U000f0000\"");  // private use
}

TEST_CASE("JSON lines are logrus' JSONFormatter", "[cli]") {
  CHECK(format_json_line(LogLevel::error, "container does not exist", fixed_utc()) ==
        "{\"level\":\"error\",\"msg\":\"container does not exist\","
        "\"time\":\"2026-11-25T01:30:03Z\"}\n");
  CHECK(format_json_line(LogLevel::warning, "w", {kSeconds, 3600}) ==
        "{\"level\":\"warning\",\"msg\":\"w\",\"time\":\"2026-11-25T02:30:03+01:00\"}\n");
}

TEST_CASE("JSON strings escape as Go's encoding/json with HTML escaping", "[cli]") {
  CHECK(go_json_string("<a href=\"x\">&</a>") ==
        "\"\\u003ca href=\\\"x\\\"\\u003e\\u0026\\u003c/a\\u003e\"");
  CHECK(go_json_string("back\\slash") == "\"back\\\\slash\"");
  CHECK(go_json_string("\n\r\t") == "\"\\n\\r\\t\"");
  CHECK(go_json_string("\b\f\x01\x1f") == "\"\\u0008\\u000c\\u0001\\u001f\"");
  CHECK(go_json_string("\x7f") == "\"\x7f\"");
  CHECK(go_json_string("\xE2\x80\xA8\xE2\x80\xA9") == "\"\\u2028\\u2029\"");
  CHECK(go_json_string("bad\xff") == "\"bad\\ufffd\"");
  CHECK(go_json_string("caf\xC3\xA9") == "\"caf\xC3\xA9\"");
  CHECK(go_json_string("nsexec-0[16396]: spawn stage-1") == "\"nsexec-0[16396]: spawn stage-1\"");
}

TEST_CASE("the logger writes to stderr in text until configured", "[cli]") {
  LogFixture fixture;
  Logger logger(fixture.stderr_pipe[1], fixed_utc);
  logger.fatal("container does not exist");
  // Logging to stderr itself, the bare message is not repeated.
  CHECK(fixture.stderr_text() ==
        "time=\"2026-11-25T01:30:03Z\" level=error msg=\"container does not exist\"\n");
}

TEST_CASE("a fatal error with --log goes to the file and, bare, to stderr", "[cli]") {
  LogFixture fixture;
  const std::string path = fixture.dir + "/log.json";
  Logger logger(fixture.stderr_pipe[1], fixed_utc);
  REQUIRE(logger.configure({.path = path, .format = "json", .debug = false}).has_value());
  logger.fatal("container does not exist");
  CHECK(read_file(path) ==
        "{\"level\":\"error\",\"msg\":\"container does not exist\","
        "\"time\":\"2026-11-25T01:30:03Z\"}\n");
  CHECK(fixture.stderr_text() == "container does not exist\n");
}

TEST_CASE("urfave's own errors reach stderr verbatim", "[cli]") {
  LogFixture fixture;
  const std::string path = fixture.dir + "/log";
  Logger logger(fixture.stderr_pipe[1], fixed_utc);
  REQUIRE(logger.configure({.path = path, .format = "text", .debug = false}).has_value());
  logger.fatal_verbatim("No help topic for 'foo'\n");
  CHECK(read_file(path) ==
        "time=\"2026-11-25T01:30:03Z\" level=error msg=\"No help topic for 'foo'\\n\"\n");
  CHECK(fixture.stderr_text() == "No help topic for 'foo'\n");
}

TEST_CASE("the log file is appended to, created 0644", "[cli]") {
  LogFixture fixture;
  const std::string path = fixture.dir + "/log";
  {
    std::ofstream existing(path);
    existing << "earlier\n";
  }
  const std::string fresh = fixture.dir + "/fresh";
  const mode_t old_umask = ::umask(022);
  {
    Logger logger(fixture.stderr_pipe[1], fixed_utc);
    REQUIRE(logger.configure({.path = path, .format = "text", .debug = false}).has_value());
    logger.log(LogLevel::warning, "w");
    Logger other(fixture.stderr_pipe[1], fixed_utc);
    REQUIRE(other.configure({.path = fresh, .format = "text", .debug = false}).has_value());
  }
  ::umask(old_umask);
  CHECK(read_file(path) == "earlier\ntime=\"2026-11-25T01:30:03Z\" level=warning msg=w\n");
  struct stat info {};
  REQUIRE(::stat(fresh.c_str(), &info) == 0);
  CHECK((info.st_mode & 07777) == 0644);
}

TEST_CASE("the log file is not inherited by the container's processes", "[cli]") {
  LogFixture fixture;
  const std::string path = fixture.dir + "/log";
  Logger logger(fixture.stderr_pipe[1], fixed_utc);
  REQUIRE(logger.configure({.path = path, .format = "json", .debug = false}).has_value());
  int log_fd = -1;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code error;
    if (std::filesystem::read_symlink(entry.path(), error) == path) {
      log_fd = std::stoi(entry.path().filename().string());
    }
  }
  REQUIRE(log_fd >= 0);
  CHECK((::fcntl(log_fd, F_GETFD) & FD_CLOEXEC) != 0);
  CHECK((::fcntl(log_fd, F_GETFL) & (O_APPEND | O_SYNC)) == (O_APPEND | O_SYNC));
}

TEST_CASE("debug lines appear only with --debug", "[cli]") {
  LogFixture fixture;
  const std::string quiet_path = fixture.dir + "/quiet";
  const std::string debug_path = fixture.dir + "/debug";
  Logger quiet(fixture.stderr_pipe[1], fixed_utc);
  REQUIRE(quiet.configure({.path = quiet_path, .format = "json", .debug = false}).has_value());
  quiet.log(LogLevel::debug, "hidden");
  quiet.log(LogLevel::info, "shown");
  CHECK(read_file(quiet_path) ==
        "{\"level\":\"info\",\"msg\":\"shown\",\"time\":\"2026-11-25T01:30:03Z\"}\n");
  Logger debug(fixture.stderr_pipe[1], fixed_utc);
  REQUIRE(debug.configure({.path = debug_path, .format = "json", .debug = true}).has_value());
  debug.log(LogLevel::debug, "seen");
  CHECK(read_file(debug_path) ==
        "{\"level\":\"debug\",\"msg\":\"seen\",\"time\":\"2026-11-25T01:30:03Z\"}\n");
  CHECK(fixture.stderr_text().empty());
}

TEST_CASE("the library's steps reach the log at level debug, only with --debug", "[cli]") {
  GlobalFlags flags;
  const auto quiet = runtime_options(flags);
  REQUIRE(quiet.has_value());
  CHECK_FALSE(quiet->debug);  // the library then says nothing, not even to a filtered log
  CHECK(quiet->warn);

  LogFixture fixture;
  const std::string path = fixture.dir + "/debug";
  REQUIRE(logger().configure({.path = path, .format = "text", .debug = true}).has_value());
  flags.debug = true;
  const auto debugging = runtime_options(flags);
  REQUIRE(debugging.has_value());
  REQUIRE(debugging->debug);
  debugging->debug("create c1: state directory /run/mkrun/c1");
  const std::string logged = read_file(path);
  REQUIRE(logger().configure({}).has_value());  // the process' logger back to stderr
  CHECK(logged.find(" level=debug msg=\"create c1: state directory /run/mkrun/c1\"\n") !=
        std::string::npos);
}

TEST_CASE("configure reports runc's errors", "[cli]") {
  LogFixture fixture;
  Logger logger(fixture.stderr_pipe[1], fixed_utc);
  const auto format = logger.configure({.path = "", .format = "xml", .debug = false});
  REQUIRE_FALSE(format.has_value());
  CHECK(format.error() == "invalid log-format: xml");
  // The format is checked before the file is opened, as in runc's configLogrus.
  const auto both = logger.configure({.path = "/nonexistent/x", .format = "xml", .debug = false});
  REQUIRE_FALSE(both.has_value());
  CHECK(both.error() == "invalid log-format: xml");
  const auto file = logger.configure({.path = "/nonexistent/x", .format = "json", .debug = false});
  REQUIRE_FALSE(file.has_value());
  CHECK(file.error() == "open /nonexistent/x: no such file or directory");
  // The error itself then goes to stderr in the format asked for, as runc does.
  logger.fatal(file.error());
  CHECK(fixture.stderr_text() ==
        "{\"level\":\"error\",\"msg\":\"open /nonexistent/x: no such file or directory\","
        "\"time\":\"2026-11-25T01:30:03Z\"}\n");
}
