#include "mkrun/lwk/caller.hpp"

#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>

#include "mkrun/base/numbers.hpp"
#include "mkrun/base/text.hpp"
#include "text_files.hpp"

namespace mkrun::lwk {
namespace {

constexpr std::string_view kPackagedConfig = "/etc/mkrun/mckernel.conf";

std::string user_name(uint32_t uid) {
  char buffer[4096];
  passwd entry{};
  passwd* found = nullptr;
  if (::getpwuid_r(uid, &entry, buffer, sizeof buffer, &found) == 0 && found != nullptr)
    return std::string(found->pw_name) + " (uid " + std::to_string(uid) + ")";
  return "uid " + std::to_string(uid);
}

std::optional<uint32_t> user_id(const std::string& name) {
  char buffer[4096];
  passwd entry{};
  passwd* found = nullptr;
  if (::getpwnam_r(name.c_str(), &entry, buffer, sizeof buffer, &found) != 0 || !found)
    return std::nullopt;
  return found->pw_uid;
}

std::optional<uint32_t> group_id(const std::string& name) {
  char buffer[4096];
  ::group entry{};
  ::group* found = nullptr;
  if (::getgrnam_r(name.c_str(), &entry, buffer, sizeof buffer, &found) != 0 || !found)
    return std::nullopt;
  return found->gr_gid;
}

// A word of attach_users: a user name or uid, or "@" and a group name or gid.
bool names_caller(std::string_view word, const Caller& caller) {
  bool group = word.starts_with('@');
  if (group) word.remove_prefix(1);
  std::optional<uint32_t> id = parse_number<uint32_t>(word);
  if (!id) id = group ? group_id(std::string(word)) : user_id(std::string(word));
  if (!id) return false;
  if (!group) return *id == caller.uid;
  return std::ranges::find(caller.gids, *id) != caller.gids.end();
}

// `info`'s owner as the host sees it; nullopt: not visible (an id the caller's user namespace
// does not map shows as the overflow id).
std::optional<uint32_t> host_owner(const struct stat& info, const Caller& caller) {
  if (!caller.in_user_namespace) return info.st_uid;
  return map_outward(info.st_uid, caller.uid_map);
}

Result<void> check_trusted_entry(const std::string& path, bool is_file, const Caller& caller,
                                 bool owner_may_be_hidden, const std::string& config) {
  struct stat info {};
  if (::stat(path.c_str(), &info) < 0) return fail_errno("stat `" + path + "`");
  std::string why = "an unprivileged mkrun reads only a host configuration that is root's (" +
                    config + "): `" + path + "` ";
  auto owner = host_owner(info, caller);
  if (owner && *owner != 0) return fail(why + "is owned by uid " + std::to_string(*owner));
  if (!owner && !owner_may_be_hidden)
    return fail(why + "has an owner this user namespace does not map");
  bool others_write = (info.st_mode & (S_IWGRP | S_IWOTH)) != 0;
  if (others_write && (is_file || (info.st_mode & S_ISVTX) == 0))
    return fail(why + "is writable by others than root");
  return {};
}

}  // namespace

std::optional<uint32_t> map_outward(uint32_t id, std::string_view map) {
  size_t start = 0;
  while (start < map.size()) {
    size_t end = map.find('\n', start);
    if (end == std::string_view::npos) end = map.size();
    auto parts = text::words(map.substr(start, end - start), " \t");
    start = end + 1;
    if (parts.size() != 3) continue;
    auto inside = parse_number<uint64_t>(parts[0]);
    auto outside = parse_number<uint64_t>(parts[1]);
    auto count = parse_number<uint64_t>(parts[2]);
    if (!inside || !outside || !count) continue;
    if (id >= *inside && id - *inside < *count)
      return static_cast<uint32_t>(*outside + (id - *inside));
  }
  return std::nullopt;
}

bool is_identity_map(std::string_view map) {
  auto parts = text::words(map.substr(0, map.find('\n')), " \t");
  std::string_view rest = map.find('\n') == std::string_view::npos ? std::string_view()
                                                                   : map.substr(map.find('\n') + 1);
  bool single_line = text::words(rest).empty();
  return single_line && parts.size() == 3 && parts[0] == "0" && parts[1] == "0" &&
         parts[2] == "4294967295";
}

Caller caller_from(uid_t euid, gid_t egid, const std::vector<gid_t>& groups,
                   std::string_view uid_map, std::string_view gid_map) {
  Caller caller;
  caller.in_user_namespace = !is_identity_map(uid_map);
  caller.uid_map = std::string(uid_map);
  // An unmapped id would be the overflow id inside; it is no one's outside.
  caller.uid = map_outward(euid, uid_map).value_or(UINT32_MAX);
  caller.real_root = !caller.in_user_namespace && euid == 0;
  std::vector<gid_t> all = groups;
  all.push_back(egid);
  for (gid_t gid : all) {
    auto outside = map_outward(gid, gid_map);
    if (outside && std::ranges::find(caller.gids, *outside) == caller.gids.end())
      caller.gids.push_back(*outside);
  }
  return caller;
}

Result<Caller> current_caller() {
  auto uid_map = files::read_file("/proc/self/uid_map");
  auto gid_map = files::read_file("/proc/self/gid_map");
  // Without /proc: the initial namespace's view, which is all the process can know.
  std::string identity = "0 0 4294967295\n";
  int count = ::getgroups(0, nullptr);
  std::vector<gid_t> groups(static_cast<size_t>(std::max(count, 0)));
  if (count > 0 && ::getgroups(count, groups.data()) < 0) return fail_errno("getgroups");
  return caller_from(::geteuid(), ::getegid(), groups, uid_map ? *uid_map : identity,
                     gid_map ? *gid_map : identity);
}

Result<void> check_real_root(const Caller& caller) {
  if (caller.real_root) return {};
  std::string why =
      "McKernel needs real root to boot an instance: IHK's partitioning calls require the "
      "host's uid 0, so a rootless mkrun cannot boot a lightweight kernel";
  if (caller.in_user_namespace) why += " (mkrun runs in a user namespace)";
  return fail(why +
              "; it may attach to an instance its user is allowed to use "
              "(io.mkrun.mckernel.instance=attach:<N> with attach_users in the host "
              "configuration, or =job for the instance of the user's job)");
}

Result<void> check_attach_user(const HostConfig& config, const Caller& caller) {
  if (caller.real_root) return {};
  for (const std::string& word : config.attach_users) {
    if (names_caller(word, caller)) return {};
  }
  return fail("user " + user_name(caller.uid) +
              " may not attach to McKernel instances on this host: neither the user nor one of "
              "its groups is in attach_users in " +
              config.path);
}

Result<std::string> trusted_config_path(const std::string& path, const Caller& caller) {
  if (caller.real_root) return path;
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) return path;  // load_host_config says why
  bool packaged = path == kPackagedConfig;
  std::string entry = resolved;
  MKRUN_CHECK(check_trusted_entry(entry, true, caller, packaged, path));
  while (entry.size() > 1) {
    entry = entry.substr(0, std::max<size_t>(entry.rfind('/'), 1));
    MKRUN_CHECK(check_trusted_entry(entry, false, caller, packaged, path));
  }
  return std::string(resolved);  // every component root's and closed to others: it stays so
}

}  // namespace mkrun::lwk
