#include "mkrun/lwk/config.hpp"

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <functional>
#include <map>
#include <set>

#include "mkrun/base/numbers.hpp"
#include "mkrun/base/text.hpp"
#include "text_files.hpp"

#ifndef MKRUN_LWK_INIT
#define MKRUN_LWK_INIT "/usr/local/libexec/mkrun/mkrun-lwk-init"
#endif
#ifndef MKRUN_LWK_TOOL
#define MKRUN_LWK_TOOL "/usr/local/sbin/mkrun-lwk"
#endif

namespace mkrun::lwk {
namespace {

using ihk::CpuList;
using ihk::MemList;

#if defined(__aarch64__)
constexpr std::string_view kImageTarget = "smp-arm64";
#else
constexpr std::string_view kImageTarget = "smp-x86";
#endif

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\r'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r'))
    text.remove_suffix(1);
  return text;
}

// A comment starts at a '#' at the beginning of the line or after blank space, so a value may
// still contain one ("a#b").
std::string_view strip_comment(std::string_view line) {
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t'))
      return line.substr(0, i);
  }
  return line;
}

Result<bool> parse_bool(std::string_view value) {
  if (value == "yes" || value == "true" || value == "1") return true;
  if (value == "no" || value == "false" || value == "0") return false;
  return fail("expected yes or no, got \"" + std::string(value) + "\"");
}

Result<int> parse_in_range(std::string_view value, int min, int max) {
  auto number = parse_number<int>(value);
  if (!number || *number < min || *number > max)
    return fail("expected a number from " + std::to_string(min) + " to " + std::to_string(max) +
                ", got \"" + std::string(value) + "\"");
  return *number;
}

Result<std::string> absolute_path(std::string_view value) {
  if (!value.starts_with('/'))
    return fail("expected an absolute path, got \"" + std::string(value) + "\"");
  return std::string(value);
}

Result<std::vector<std::string>> absolute_paths(std::string_view value) {
  std::vector<std::string> paths;
  for (std::string_view word : text::words(value, " \t")) {
    paths.push_back(MKRUN_TRY(absolute_path(std::string(word))));
  }
  return paths;
}

Result<CpuList> parse_pool_cpus(std::string_view value) {
  CpuList cpus = MKRUN_TRY(CpuList::parse(value));
  if (cpus.contains(0)) return fail("CPU 0 can never be given to McKernel: Linux needs it");
  return cpus;
}

Result<std::vector<int>> parse_instances(std::string_view value) {
  CpuList list = MKRUN_TRY(CpuList::parse(value));  // same grammar: "0,2-3"
  return list.ids();
}

Result<std::vector<std::string>> parse_attach_users(std::string_view value) {
  std::vector<std::string> names;
  for (std::string_view word : text::words(value, " \t")) names.emplace_back(word);
  for (const std::string& name : names) {
    if (name == "@") return fail("\"@\" needs a group name or gid");
  }
  return names;
}

using Setter = std::function<Result<void>(HostConfig&, std::string_view)>;

template <class T, class Parse>
Setter field(T HostConfig::*member, Parse parse) {
  return [member, parse](HostConfig& config, std::string_view value) -> Result<void> {
    config.*member = MKRUN_TRY(parse(value));
    return {};
  };
}

// `pool_reset = delete | background`: whether the reset runs in the background.
Result<bool> parse_pool_reset(std::string_view value) {
  if (value == "delete") return false;
  if (value == "background") return true;
  return fail("must be delete or background, not \"" + std::string(value) + "\"");
}

Result<std::string> any_text(std::string_view value) {
  return std::string(value);
}

const std::map<std::string, Setter, std::less<>>& setters() {
  static const std::map<std::string, Setter, std::less<>> table = {
      {"prefix", field(&HostConfig::prefix, absolute_path)},
      {"libihk", field(&HostConfig::libihk, absolute_path)},
      {"mcexec", field(&HostConfig::mcexec, absolute_path)},
      {"ihkconfig", field(&HostConfig::ihkconfig, absolute_path)},
      {"libdir", field(&HostConfig::libdir, absolute_path)},
      {"image", field(&HostConfig::image, absolute_path)},
      {"images", field(&HostConfig::images, absolute_paths)},
      {"init", field(&HostConfig::init, absolute_path)},
      {"binds", field(&HostConfig::binds, absolute_paths)},
      {"device", field(&HostConfig::device, [](auto v) { return parse_in_range(v, 0, 63); })},
      {"cpus", field(&HostConfig::cpus, parse_pool_cpus)},
      {"memory", field(&HostConfig::memory, MemList::parse)},
      {"boot", field(&HostConfig::boot, parse_bool)},
      {"attach", field(&HostConfig::attach, parse_instances)},
      {"attach_users", field(&HostConfig::attach_users, parse_attach_users)},
      {"build_id", field(&HostConfig::build_id, any_text)},
      {"kargs", field(&HostConfig::kargs, any_text)},
      {"boot_timeout", field(&HostConfig::boot_timeout, parse_duration)},
      {"default_ncpus",
       field(&HostConfig::default_ncpus, [](auto v) { return parse_in_range(v, 1, 4096); })},
      {"default_memory", field(&HostConfig::default_memory, ihk::parse_size)},
      {"pool", field(&HostConfig::pool, [](auto v) { return parse_in_range(v, 0, 63); })},
      {"pool_ncpus",
       field(&HostConfig::pool_ncpus, [](auto v) { return parse_in_range(v, 1, 4096); })},
      {"pool_memory", field(&HostConfig::pool_memory, ihk::parse_size)},
      {"pool_reset", field(&HostConfig::pool_reset_in_background, parse_pool_reset)},
      {"mkrun_lwk", field(&HostConfig::mkrun_lwk, absolute_path)},
      {"lock", field(&HostConfig::lock, absolute_path)},
      {"claims", field(&HostConfig::claims, absolute_path)},
      {"sysfs", field(&HostConfig::sysfs, absolute_path)},
  };
  return table;
}

void fill_install_paths(HostConfig& config) {
  const std::string& p = config.prefix;
  if (config.libihk.empty()) config.libihk = p + "/lib64/libihk.so";
  if (config.mcexec.empty()) config.mcexec = p + "/bin/mcexec";
  if (config.ihkconfig.empty()) config.ihkconfig = p + "/sbin/ihkconfig";
  if (config.libdir.empty()) config.libdir = p + "/lib64";
  if (config.image.empty())
    config.image = p + "/" + std::string(kImageTarget) + "/kernel/mckernel.img";
  if (config.init.empty()) config.init = MKRUN_LWK_INIT;
  if (config.mkrun_lwk.empty()) config.mkrun_lwk = MKRUN_LWK_TOOL;
}

}  // namespace

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + digits, value);
  std::string_view unit = text.substr(digits);
  if (digits == 0 || error != std::errc() || value > 24 * 3600 * 1000)
    return fail("invalid duration \"" + std::string(text) + "\"");
  if (unit.empty() || unit == "s") return std::chrono::milliseconds(value * 1000);
  if (unit == "ms") return std::chrono::milliseconds(value);
  if (unit == "m") return std::chrono::milliseconds(value * 60000);
  return fail("invalid duration \"" + std::string(text) + "\" (units: ms, s, m)");
}

Result<HostConfig> parse_host_config(std::string_view text, const std::string& path) {
  HostConfig config;
  config.path = path;
  std::set<std::string, std::less<>> seen;
  int number = 0;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = trim(strip_comment(text.substr(start, end - start)));
    start = end + 1;
    ++number;
    if (line.empty()) continue;
    std::string where = path + ":" + std::to_string(number);
    size_t equals = line.find('=');
    if (equals == std::string_view::npos) return fail(where + ": expected `key = value`");
    std::string_view key = trim(line.substr(0, equals));
    std::string_view value = trim(line.substr(equals + 1));
    auto setter = setters().find(key);
    if (setter == setters().end())
      return fail(where + ": unknown key \"" + std::string(key) + "\"");
    if (!seen.insert(std::string(key)).second)
      return fail(where + ": \"" + std::string(key) + "\" is set twice");
    if (auto set = setter->second(config, value); !set)
      return std::unexpected(std::move(set).error().wrap(where + ": " + std::string(key)));
  }
  fill_install_paths(config);
  return config;
}

std::string host_config_path() {
  const char* path = std::getenv("MKRUN_MCKERNEL_CONF");
  return path != nullptr && *path != '\0' ? path : "/etc/mkrun/mckernel.conf";
}

Result<HostConfig> load_host_config(const std::string& path) {
  auto text = files::read_file(path);
  if (!text && text.error().errc() == ENOENT) {
    // Said in words, not with ENOENT's text: engines read "no such file or directory" as a
    // missing executable (Podman and Docker exit 127), which would hide a host that has no
    // McKernel configured.
    return fail("McKernel is not configured on this host: " + path +
                " is missing (the administrator writes it; see mkrun(8))");
  }
  if (!text)
    return std::unexpected(std::move(text).error().wrap("McKernel is not configured on this host"));
  return parse_host_config(*text, path);
}

Result<void> check_enabled(const HostConfig& config) {
  if (config.boot || !config.attach.empty() || config.pool > 0) return {};
  return fail("McKernel is disabled on this host: " + config.path +
              " lets mkrun neither boot instances (boot = no) nor attach to one (attach is "
              "empty), and keeps no pool (pool = 0)");
}

}  // namespace mkrun::lwk
