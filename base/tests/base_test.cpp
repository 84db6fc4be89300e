#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "mkrun/base/command.hpp"
#include "mkrun/base/error.hpp"
#include "mkrun/base/files.hpp"
#include "mkrun/base/numbers.hpp"
#include "mkrun/base/paths.hpp"
#include "mkrun/base/text.hpp"

using namespace mkrun;

namespace {

// A scratch directory under /tmp, removed with its contents when the test ends, failed or not.
struct ScratchDir {
  char path[32] = "/tmp/mkrun-base-test-XXXXXX";
  ScratchDir() { REQUIRE(::mkdtemp(path) != nullptr); }
  ~ScratchDir() { (void)files::remove_tree(path); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
};

}  // namespace

TEST_CASE("parse_number takes the whole string, in base 10, and nothing else", "[numbers]") {
  CHECK(parse_number<int>("42") == 42);
  CHECK(parse_number<int>("-7") == -7);
  CHECK(parse_number<uint64_t>("18446744073709551615") == UINT64_MAX);
  CHECK(parse_number<uint16_t>("65535") == 65535);
  for (const char* bad : {"", "+1", " 1", "1 ", "1\n", "12x", "0x10", "1.5"}) {
    INFO(bad);
    CHECK_FALSE(parse_number<int>(bad));
  }
  CHECK_FALSE(parse_number<uint64_t>("-1"));
  CHECK_FALSE(parse_number<uint64_t>("18446744073709551616"));
  CHECK_FALSE(parse_number<uint16_t>("65536"));
}

// parse_real stands in for std::from_chars(double) (without libm): the same answer for each text.
TEST_CASE("parse_real reads a whole real number exactly as std::from_chars does", "[numbers]") {
  const std::string beyond_double = "17976931348623157" + std::string(300, '0');
  for (std::string_view view : std::initializer_list<std::string_view>{
           "0",        "-0",   "42",       "-7",    "1.5",    ".5",         "5.",   "-.25",
           "1e3",      "1E-3", "-2.5e+10", "1e",    "1e+",    "1.2.3",      "inf",  "-INF",
           "Infinity", "nan",  "NaN(x)",   "1e400", "-1e400", "1e-400",     "",     "-",
           ".",        "+1",   " 1",       "1 ",    "\t1",    "1\n",        "0x10", "-0X1p3",
           "12x",      "i",    "n",        "e5",    "1,5",    beyond_double}) {
    INFO(view);
    double expected = 0;
    auto [end, ec] = std::from_chars(view.data(), view.data() + view.size(), expected);
    const bool whole = ec == std::errc() && end == view.data() + view.size();
    const auto parsed = parse_real(view);
    REQUIRE(parsed.has_value() == whole);
    if (whole && !std::isnan(expected)) CHECK(*parsed == expected);
    if (whole && std::isnan(expected)) CHECK(std::isnan(*parsed));
  }
}

// format_real stands in for std::to_chars(double) (without libm): the same text for each value.
TEST_CASE("format_real writes a double exactly as std::to_chars does", "[numbers]") {
  constexpr double kInfinity = std::numeric_limits<double>::infinity();
  // whole numbers (exact in fixed notation), the ends of double, and the switch of notations
  // clang-format off
  std::vector<double> values = {
      0.0, -0.0, 1, -1, 1.5, 0.1, 1e-7, 1e5, 100000, 1200, 1e15, 1e16, 1e17, 1e19, 1e21, 1e22,
      1e+30, 9.2e18, 4.35, 0.3, 0.001, 1e-4, 5e-324, 2.0 / 3, 123e-20, 123456.5,
      18446744073709551616.0, 12345678901234567890.0, 2.2250738585072014e-308,
      1.7976931348623157e308, kInfinity, -kInfinity, std::nan("")};
  // clang-format on
  std::mt19937_64 random(12345);
  for (int i = 0; i < 20000; ++i) {
    uint64_t bits = random();
    double value = 0;
    std::memcpy(&value, &bits, sizeof value);
    values.push_back(value);
    values.push_back(static_cast<double>(random() % 100000) / 1000);
  }
  for (double value : values) {
    char expected[64];
    auto [end, ec] = std::to_chars(expected, expected + sizeof expected, value);
    REQUIRE(ec == std::errc());
    INFO(std::string(expected, end));
    CHECK(format_real(value) == std::string(expected, end));
  }
}

TEST_CASE("file errors name the path and the errno, Go-style", "[files]") {
  auto missing = files::read_file("/nonexistent/mkrun-base-test");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().render() ==
        "open `/nonexistent/mkrun-base-test`: no such file or directory");
  CHECK(missing.error().wrap("load").render() ==
        "load: open `/nonexistent/mkrun-base-test`: no such file or directory");
}

TEST_CASE("write_file_atomic replaces the file whole, with its mode", "[files]") {
  ScratchDir scratch;
  const char* dir = scratch.path;
  std::string path = std::string(dir) + "/claim";
  REQUIRE(files::write_file_atomic(path, "first, longer", 0600));
  REQUIRE(files::write_file_atomic(path, "second", 0600));
  CHECK(files::read_file(path).value() == "second");
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  CHECK((info.st_mode & 07777) == 0600);
  CHECK(::access((std::string(dir) + "/.claim.tmp").c_str(), F_OK) != 0);
  REQUIRE(files::remove_tree(dir));
}

TEST_CASE(
    "make_in_root makes directories and files inside the root, never through a symlink "
    "out of it",
    "[files]") {
  ScratchDir scratch;
  const char* dir = scratch.path;
  const std::string base = dir;
  REQUIRE(::mkdir((base + "/root").c_str(), 0755) == 0);
  REQUIRE(::mkdir((base + "/outside").c_str(), 0755) == 0);
  // an image's symlinks: absolute and relative ones pointing out, and a dangling last component
  REQUIRE(::symlink((base + "/outside").c_str(), (base + "/root/abs").c_str()) == 0);
  REQUIRE(::symlink("../../outside", (base + "/root/rel").c_str()) == 0);
  REQUIRE(::symlink((base + "/outside/planted").c_str(), (base + "/root/file").c_str()) == 0);
  auto root = files::open(base + "/root", O_PATH | O_DIRECTORY);
  REQUIRE(root);
  // inside the root, the absolute link's target exists; outside it is a scratch directory
  REQUIRE(files::make_directories(base + "/root" + base + "/outside"));
  REQUIRE(::mkdir((base + "/root/outside").c_str(), 0755) == 0);
  REQUIRE(files::make_in_root(root->get(), "/abs/a/b", true, 0755));
  REQUIRE(files::make_in_root(root->get(), "rel/c", false, 0644));
  CHECK(files::make_in_root(root->get(), "/file", false, 0644).error().errc() == ELOOP);
  // "/abs" and "rel" resolved inside the root: to <root>/<base>/outside and <root>/outside
  struct stat info {};
  CHECK(::stat((base + "/root" + base + "/outside/a/b").c_str(), &info) == 0);
  CHECK(S_ISDIR(info.st_mode));
  CHECK(::stat((base + "/root/outside/c").c_str(), &info) == 0);
  CHECK(S_ISREG(info.st_mode));
  CHECK(::rmdir((base + "/outside").c_str()) == 0);  // still empty
  REQUIRE(files::remove_tree(dir));
}

TEST_CASE("join puts the separator between words only", "[text]") {
  CHECK(text::join({}, ", ") == "");
  CHECK(text::join({"a"}, ", ") == "a");
  CHECK(text::join({"a", "", "c"}, " ") == "a  c");
  CHECK(text::join({"", "b"}, ",") == ",b");
}

TEST_CASE("words are what runs of separators leave", "[text]") {
  using Words = std::vector<std::string_view>;
  CHECK(text::words("") == Words{});
  CHECK(text::words(" \t\n") == Words{});
  CHECK(text::words("  a  b\tc\n") == Words{"a", "b", "c"});
  CHECK(text::words("a\nb c", " \t") == Words{"a\nb", "c"});  // only the separators given
}

TEST_CASE("paths are cleaned as Go's filepath.Clean cleans absolute ones", "[paths]") {
  CHECK(paths::clean_absolute("/a/./b/../c/") == "/a/c");
  CHECK(paths::clean_absolute("/../../proc//sys") == "/proc/sys");
  CHECK(paths::clean_absolute("") == "/");
  CHECK(paths::clean_absolute("/..") == "/");
}

TEST_CASE("command::run captures stdout, stderr when asked, and the exit status") {
  using mkrun::command::Stderr;
  const std::vector<std::string> argv = {"sh", "-c", "echo out; echo err >&2; exit 3"};
  auto quiet = mkrun::command::run(argv, Stderr::kDiscard);
  REQUIRE(quiet);
  CHECK(quiet->text == "out\n");
  CHECK_FALSE(quiet->succeeded());
  CHECK(WEXITSTATUS(quiet->wait_status) == 3);
  auto both = mkrun::command::run(argv, Stderr::kCapture);
  REQUIRE(both);
  CHECK(both->text == "out\nerr\n");
  auto fine = mkrun::command::run({"true"}, Stderr::kDiscard);
  REQUIRE(fine);
  CHECK(fine->succeeded());
}

TEST_CASE("command::start_detached starts a program in its own session, on /dev/null") {
  ScratchDir scratch;
  const std::string report = std::string(scratch.path) + "/report";
  // the program reports its stdin, its session and its pid, then the test reaps it
  REQUIRE(mkrun::command::start_detached(
      {"/bin/sh", "-c",
       "echo \"$(readlink /proc/self/fd/0) $(cut -d' ' -f6 /proc/$$/stat) $$\" > " + report +
           ".tmp && mv " + report + ".tmp " + report}));
  std::string text;
  for (int i = 0; i < 500 && text.empty(); ++i) {
    if (auto read = files::read_file(report)) text = *read;
    if (text.empty()) ::usleep(10000);
  }
  std::vector<std::string> words;
  for (std::string_view word : text::words(text)) words.emplace_back(word);
  REQUIRE(words.size() == 3);
  int status = 0;
  CHECK(::waitpid(std::stoi(words[2]), &status, 0) > 0);  // the caller's child until it exits
  CHECK(words[0] == "/dev/null");
  CHECK(words[1] == words[2]);  // a session leader: its session id is its pid
  CHECK(words[1] != std::to_string(::getsid(0)));
  auto missing = mkrun::command::start_detached({"/nonexistent/mkrun-no-such-program"});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().errc() == ENOENT);
  CHECK(missing.error().what() == "start `/nonexistent/mkrun-no-such-program`");
}

TEST_CASE("command::run of a program that is not there is an error with ENOENT") {
  auto missing = mkrun::command::run({"mkrun-no-such-program"}, mkrun::command::Stderr::kDiscard);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().errc() == ENOENT);
  CHECK(missing.error().what() == "run `mkrun-no-such-program`");
}
