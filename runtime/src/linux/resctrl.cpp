#include "linux/resctrl.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <map>

#include "core/mountinfo.hpp"
#include "mkrun/base/files.hpp"
#include "mkrun/base/text.hpp"

namespace mkrun::resctrl {
namespace {

constexpr char kDefaultMountPoint[] = "/sys/fs/resctrl";

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r'))
    text.remove_suffix(1);
  return text;
}

// A domain's value with its leading zeros dropped, in lower case: "0FF" and "ff" are one value,
// as are "020" and "20", whether the resource writes hex (L3) or decimal (MB).
std::string normalized_value(std::string_view value) {
  value = trimmed(value);
  while (value.size() > 1 && value.front() == '0') value.remove_prefix(1);
  std::string out(value);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// One schemata line, "L3:0=7f0;1=1f": the resource and its domains' values; nullopt if it does
// not have that shape.
struct SchemaLine {
  std::string resource;
  std::map<std::string, std::string> domains;
};

std::optional<SchemaLine> parse_schema_line(std::string_view line) {
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  SchemaLine parsed{std::string(trimmed(line.substr(0, colon))), {}};
  std::string_view rest = line.substr(colon + 1);
  while (!rest.empty()) {
    const size_t end = rest.find(';');
    std::string_view domain = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
    if (trimmed(domain).empty()) continue;
    const size_t equals = domain.find('=');
    if (equals == std::string_view::npos) return std::nullopt;
    parsed.domains[std::string(trimmed(domain.substr(0, equals)))] =
        normalized_value(domain.substr(equals + 1));
  }
  if (parsed.resource.empty() || parsed.domains.empty()) return std::nullopt;
  return parsed;
}

bool holds(const std::map<std::string, SchemaLine>& current, const SchemaLine& wanted) {
  auto found = current.find(wanted.resource);
  if (found == current.end()) return false;
  for (const auto& [domain, value] : wanted.domains) {
    auto have = found->second.domains.find(domain);
    if (have == found->second.domains.end() || have->second != value) return false;
  }
  return true;
}

bool is_resctrl(int fd) {
  struct statfs info {};
  return ::fstatfs(fd, &info) == 0 && info.f_type == RDTGROUP_SUPER_MAGIC;
}

std::optional<Root> open_verified(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd || !is_resctrl(fd.get())) return std::nullopt;
  return Root{std::move(fd), path};
}

std::string path_in(const Root& root, const std::string& below) {
  return below.empty() ? root.path : root.path + "/" + below;
}

// The CLOS's directory below the root ("" is the root group itself), never through a symlink.
Result<UniqueFd> open_clos(const Root& root, const std::string& clos) {
  if (clos.empty()) return UniqueFd(::fcntl(root.fd.get(), F_DUPFD_CLOEXEC, 0));
  return files::open_beneath(root.fd.get(), clos, O_PATH | O_DIRECTORY);
}

// resctrl says why it refused the last write in info/last_cmd_status; runc adds it, so do we.
Error with_last_command_status(const Root& root, Error error) {
  auto status = files::open_beneath(root.fd.get(), "info/last_cmd_status", O_RDONLY);
  if (!status) return error;
  auto text = files::read_fd(status->get(), path_in(root, "info/last_cmd_status"));
  if (!text) return error;
  return Error(error.render() + ", last_cmd_status: " + std::string(trimmed(*text)));
}

// Writes `data` to an existing file of the group `dir`: resctrl makes them, mkrun creates none.
Result<void> write_group_file(const Root& root, int dir, const std::string& group,
                              const std::string& name, const std::string& data) {
  const std::string path = path_in(root, group.empty() ? name : group + "/" + name);
  auto fd = files::open_beneath(dir, name, O_WRONLY | O_TRUNC);
  if (!fd)
    return std::unexpected(
        with_last_command_status(root, Error("open " + path, fd.error().errc())));
  auto written = files::write_all(fd->get(), data, path);
  if (!written) return std::unexpected(with_last_command_status(root, std::move(written).error()));
  return {};
}

std::string monitor_path(const std::string& clos, const std::string& monitor) {
  return (clos.empty() ? "" : clos + "/") + "mon_groups/" + monitor;
}

// mkdir of the CLOS; whether mkrun made it (false: it was there).
Result<bool> make_clos(const Root& root, const std::string& clos, bool must_exist) {
  if (must_exist) {
    const std::string why =
        "clos dir not accessible (must be pre-created when schemata, l3CacheSchema and "
        "memBwSchema are empty): " +
        path_in(root, clos);
    struct stat info {};
    if (::fstatat(root.fd.get(), clos.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0) {
      return fail_errno(why);
    }
    if (!S_ISDIR(info.st_mode)) return fail(why, ENOTDIR);
    return false;
  }
  if (::mkdirat(root.fd.get(), clos.c_str(), 0755) == 0) return true;
  if (errno == EEXIST) return false;
  return fail_errno("intelrdt: make the CLOS " + path_in(root, clos));
}

Result<void> check_schemata(const Root& root, int clos_fd, const std::string& clos,
                            const std::vector<std::string>& lines) {
  const std::string path = path_in(root, clos.empty() ? "schemata" : clos + "/schemata");
  auto fd = MKRUN_TRY(files::open_beneath(clos_fd, "schemata", O_RDONLY));
  const std::string current = MKRUN_TRY(files::read_fd(fd.get(), path));
  if (auto differs = first_mismatch(current, lines)) {
    return fail("intelRdt: the CLOS " + path_in(root, clos) + " exists with other schemata: `" +
                path + "` does not have \"" + *differs +
                "\" (a CLOS mkrun did not make is only compared, never changed)");
  }
  return {};
}

Result<void> make_monitor(const Root& root, int clos_fd, const std::string& clos,
                          const std::string& name) {
  auto groups = files::open_beneath(clos_fd, "mon_groups", O_PATH | O_DIRECTORY);
  if (!groups) {
    return std::unexpected(
        std::move(groups).error().wrap("intelrdt: no monitoring groups in " + path_in(root, clos)));
  }
  if (::mkdirat(groups->get(), name.c_str(), 0755) == 0 || errno == EEXIST) return {};
  return std::unexpected(with_last_command_status(
      root, Error("intelrdt: make the monitoring group " + path_in(root, monitor_path(clos, name)),
                  errno)));
}

Result<void> remove_directory(const Root& root, const std::string& below) {
  if (::unlinkat(root.fd.get(), below.c_str(), AT_REMOVEDIR) == 0 || errno == ENOENT) return {};
  return fail_errno("intelrdt: remove " + path_in(root, below));
}

}  // namespace

std::vector<std::string> schemata_lines(const oci::IntelRdt& rdt) {
  std::vector<std::string> lines;
  if (!rdt.l3CacheSchema.empty()) lines.push_back(rdt.l3CacheSchema);
  if (!rdt.memBwSchema.empty()) lines.push_back(rdt.memBwSchema);
  for (const std::string& line : rdt.schemata) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::optional<std::string> first_mismatch(std::string_view current,
                                          const std::vector<std::string>& wanted) {
  std::map<std::string, SchemaLine> have;
  while (!current.empty()) {
    const size_t end = current.find('\n');
    if (auto line = parse_schema_line(current.substr(0, end))) have[line->resource] = *line;
    current = end == std::string_view::npos ? std::string_view{} : current.substr(end + 1);
  }
  for (const std::string& line : wanted) {
    auto parsed = parse_schema_line(line);
    if (!parsed || !holds(have, *parsed)) return line;
  }
  return std::nullopt;
}

Result<void> check_host(const oci::IntelRdt& rdt, const std::optional<Features>& host) {
  if (!rdt.l3CacheSchema.empty() && !(host && host->cat)) {
    return fail("intelRdt.l3CacheSchema is specified in config, but Intel RDT/CAT is not enabled");
  }
  if (!rdt.memBwSchema.empty() && !(host && host->mba)) {
    return fail("intelRdt.memBwSchema is specified in config, but Intel RDT/MBA is not enabled");
  }
  if (!host) {
    return fail(
        "intelRdt is specified in config, but Intel RDT is not enabled (resctrl is not "
        "mounted)");
  }
  if (rdt.enableMonitoring && !host->monitoring) {
    return fail(
        "intelRdt.enableMonitoring is specified in config, but Intel RDT monitoring is "
        "not enabled (no info/L3_MON in resctrl)");
  }
  return {};
}

std::optional<Root> open_root() {
  if (auto root = open_verified(kDefaultMountPoint)) return root;
  auto table = files::read_file("/proc/self/mountinfo");
  if (!table) return std::nullopt;
  for (const mountinfo::MountLine& mount : mountinfo::parse(*table)) {
    if (mount.fstype != "resctrl") continue;
    if (auto root = open_verified(mount.mount_point)) return root;
  }
  return std::nullopt;
}

Features features_of(const Root& root) {
  auto has = [&root](const char* name) {
    struct stat info {};
    return ::fstatat(root.fd.get(), name, &info, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(info.st_mode);
  };
  return Features{has("info/L3"), has("info/MB"), has("info/L3_MON")};
}

Result<state::IntelRdtRecord> prepare(const Root& root, const oci::IntelRdt& rdt,
                                      const std::string& container_id) {
  const bool named = !rdt.closID.empty();
  const std::vector<std::string> lines = schemata_lines(rdt);
  state::IntelRdtRecord group;
  group.clos = rdt.closID == "/" ? "" : (named ? rdt.closID : container_id);
  bool made = false;
  if (!group.clos.empty()) made = MKRUN_TRY(make_clos(root, group.clos, named && lines.empty()));
  group.created = made && !named;
  // Until it succeeds, what this call made goes again: a failed create leaves nothing.
  auto undo = [&](Error error) -> Result<state::IntelRdtRecord> {
    if (made) (void)remove_directory(root, group.clos);
    return std::unexpected(std::move(error));
  };
  auto clos_fd = open_clos(root, group.clos);
  if (!clos_fd) return undo(std::move(clos_fd).error());
  if (!lines.empty()) {
    auto done = made ? write_schemata(root, group, lines)
                     : check_schemata(root, clos_fd->get(), group.clos, lines);
    if (!done) return undo(std::move(done).error());
  }
  if (rdt.enableMonitoring) {
    if (auto monitor = make_monitor(root, clos_fd->get(), group.clos, container_id); !monitor) {
      return undo(std::move(monitor).error());
    }
    group.monitor = container_id;
  }
  return group;
}

Result<void> join(const Root& root, const state::IntelRdtRecord& group, pid_t pid) {
  const std::string task = std::to_string(pid);
  auto wrap = [pid](Error error) {
    return std::unexpected(
        std::move(error).wrap("intelrdt: unable to add pid " + std::to_string(pid)));
  };
  auto clos_fd = MKRUN_TRY(open_clos(root, group.clos));
  if (auto joined = write_group_file(root, clos_fd.get(), group.clos, "tasks", task); !joined) {
    return wrap(std::move(joined).error());
  }
  if (group.monitor.empty()) return {};
  const std::string monitor = "mon_groups/" + group.monitor;
  auto monitor_fd = MKRUN_TRY(files::open_beneath(clos_fd.get(), monitor, O_PATH | O_DIRECTORY));
  auto joined = write_group_file(root, monitor_fd.get(), monitor_path(group.clos, group.monitor),
                                 "tasks", task);
  if (!joined) return wrap(std::move(joined).error());
  return {};
}

Result<void> write_schemata(const Root& root, const state::IntelRdtRecord& group,
                            const std::vector<std::string>& lines) {
  auto clos_fd = MKRUN_TRY(open_clos(root, group.clos));
  // One write: resctrl takes the lines of one write together, and says which one it refused.
  const std::string text = text::join(lines, "\n") + "\n";
  auto written = write_group_file(root, clos_fd.get(), group.clos, "schemata", text);
  if (!written) {
    return std::unexpected(std::move(written).error().wrap("intelrdt: unable to write \"" +
                                                           text::join(lines, "\\n") + "\""));
  }
  return {};
}

Result<void> remove(const Root& root, const state::IntelRdtRecord& group) {
  if (!group.monitor.empty()) {
    MKRUN_CHECK(remove_directory(root, monitor_path(group.clos, group.monitor)));
  }
  if (group.created && !group.clos.empty()) MKRUN_CHECK(remove_directory(root, group.clos));
  return {};
}

}  // namespace mkrun::resctrl
