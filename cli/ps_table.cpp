#include "ps_table.hpp"

#include "mkrun/base/command.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>

extern char** environ;

namespace mkrun::cli {
namespace {

std::vector<std::string_view> fields_of(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    std::size_t start = i;
    while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    if (i > start) fields.push_back(line.substr(start, i - start));
  }
  return fields;
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  for (;;) {
    auto newline = text.find('\n');
    lines.push_back(text.substr(0, newline));
    if (newline == std::string_view::npos) return lines;
    text.remove_prefix(newline + 1);
  }
}

// Go's ExitError text: "exit status 1", "signal: killed".
std::string wait_status_text(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  std::string name = ::strsignal(WTERMSIG(status));
  if (!name.empty()) name[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[0])));
  return "signal: " + name;
}

}  // namespace

std::expected<std::string, std::string> filter_ps_output(std::string_view output,
                                                         const std::vector<int>& pids) {
  const auto lines = lines_of(output);
  const auto titles = fields_of(lines[0]);
  const auto pid_column = std::find(titles.begin(), titles.end(), "PID");
  if (pid_column == titles.end()) return std::unexpected("couldn't find PID field in ps output");
  const auto index = static_cast<std::size_t>(pid_column - titles.begin());
  std::string table = std::string(lines[0]) + "\n";
  for (std::size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    const auto fields = fields_of(lines[i]);
    const std::string_view field = index < fields.size() ? fields[index] : std::string_view();
    int pid = 0;
    auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), pid);
    if (ec != std::errc() || end != field.data() + field.size()) {
      return std::unexpected("unable to parse pid: strconv.Atoi: parsing \"" + std::string(field) +
                             "\": invalid syntax");
    }
    if (std::find(pids.begin(), pids.end(), pid) != pids.end()) {
      table += std::string(lines[i]) + "\n";
    }
  }
  return table;
}

std::expected<std::string, std::string> run_host_ps(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"ps"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto ran = command::run(argv, command::Stderr::kCapture);
  if (!ran && ran.error().errc() == ENOENT) {
    return std::unexpected("exec: \"ps\": executable file not found in $PATH");
  }
  if (!ran && ran.error().errc() != 0) {
    return std::unexpected(std::string("fork/exec ps: ") + strerror(ran.error().errc()));
  }
  if (!ran) return std::unexpected(ran.error().render());
  if (!ran->succeeded())
    return std::unexpected(wait_status_text(ran->wait_status) + ": " + ran->text);
  return ran->text;
}

}  // namespace mkrun::cli
