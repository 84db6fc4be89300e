#include "mkrun/lwk/claims.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mkrun/base/numbers.hpp"
#include "text_files.hpp"

namespace mkrun::lwk {
namespace {

std::string join(const std::vector<int>& numbers) {
  std::string text;
  for (int n : numbers) text += (text.empty() ? "" : ",") + std::to_string(n);
  return text;
}

Result<int> to_int(const std::string& text, const char* field) {
  auto value = parse_number<int>(text);
  if (!value) return fail(std::string("bad ") + field + " \"" + text + "\"");
  return *value;
}

const std::string* find(const std::map<std::string, std::string>& fields, const char* key) {
  auto it = fields.find(key);
  return it == fields.end() ? nullptr : &it->second;
}

std::string format_lines(const std::map<std::string, std::string>& fields) {
  std::string text;
  for (const auto& [key, value] : fields) text += key + "=" + value + "\n";
  return text;
}

std::map<std::string, std::string> parse_lines(const std::string& text) {
  std::map<std::string, std::string> fields;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    size_t equals = line.find('=');
    if (equals != std::string::npos) fields[line.substr(0, equals)] = line.substr(equals + 1);
  }
  return fields;
}

}  // namespace

std::string_view mode_name(Mode mode) {
  switch (mode) {
    case Mode::kAttach:
      return "attach";
    case Mode::kJob:
      return "job";
    case Mode::kPool:
      return "pool";
    case Mode::kDedicated:
      break;
  }
  return "dedicated";
}

std::map<std::string, std::string> to_fields(const Claim& claim) {
  std::map<std::string, std::string> fields;
  fields["token"] = claim.token;
  fields["key"] = claim.key;
  fields["container"] = claim.container;
  fields["mode"] = mode_name(claim.mode);
  fields["device"] = std::to_string(claim.device);
  fields["cpus"] = claim.cpus.to_string();
  fields["mem"] = claim.mem.to_string();
  fields["os"] = claim.os ? std::to_string(*claim.os) : "";
  fields["os-node"] = claim.os_node ? std::to_string(*claim.os_node) : "";
  fields["os-before"] = claim.os_before ? "[" + join(*claim.os_before) + "]" : "";
  fields["pid-namespace"] = claim.pid_namespace;
  fields["step"] = claim.step;
  fields["device-node"] = claim.device_node;
  fields["config"] = claim.config;
  fields["job"] = claim.job;
  fields["user"] = claim.user ? std::to_string(*claim.user) : "";
  fields["unprivileged"] = claim.unprivileged ? "yes" : "";
  fields["pool"] = claim.pool;
  fields["retiring"] = claim.retiring ? "yes" : "";
  return fields;
}

Result<Claim> from_fields(const std::map<std::string, std::string>& fields) {
  Claim claim;
  if (auto v = find(fields, "token")) claim.token = *v;
  if (auto v = find(fields, "key")) claim.key = *v;
  if (auto v = find(fields, "container")) claim.container = *v;
  if (auto v = find(fields, "mode"))
    claim.mode = *v == "attach" ? Mode::kAttach
                 : *v == "job"  ? Mode::kJob
                 : *v == "pool" ? Mode::kPool
                                : Mode::kDedicated;
  if (auto v = find(fields, "device"); v && !v->empty())
    claim.device = MKRUN_TRY(to_int(*v, "device"));
  if (auto v = find(fields, "cpus")) claim.cpus = MKRUN_TRY(ihk::CpuList::parse(*v));
  if (auto v = find(fields, "mem")) claim.mem = MKRUN_TRY(ihk::MemList::parse(*v));
  if (auto v = find(fields, "os"); v && !v->empty()) claim.os = MKRUN_TRY(to_int(*v, "os"));
  if (auto v = find(fields, "os-node"); v && !v->empty()) {
    auto node = parse_number<uint64_t>(*v);
    if (!node) return fail("bad os-node \"" + *v + "\"");
    claim.os_node = *node;
  }
  if (auto v = find(fields, "os-before"); v && v->size() >= 2) {
    ihk::CpuList list = MKRUN_TRY(ihk::CpuList::parse(v->substr(1, v->size() - 2)));
    claim.os_before = list.ids();
  }
  if (auto v = find(fields, "pid-namespace")) claim.pid_namespace = *v;
  if (auto v = find(fields, "step")) claim.step = *v;
  if (auto v = find(fields, "device-node")) claim.device_node = *v;
  if (auto v = find(fields, "config")) claim.config = *v;
  if (auto v = find(fields, "job")) claim.job = *v;
  if (auto v = find(fields, "user"); v && !v->empty()) {
    auto user = parse_number<uint32_t>(*v);
    if (!user) return fail("bad user \"" + *v + "\"");
    claim.user = *user;
  }
  if (auto v = find(fields, "unprivileged")) claim.unprivileged = *v == "yes";
  if (auto v = find(fields, "pool")) claim.pool = *v;
  if (auto v = find(fields, "retiring")) claim.retiring = *v == "yes";
  return claim;
}

std::map<std::string, std::string> to_journal(const Claim& claim) {
  std::map<std::string, std::string> entries;
  for (const auto& [key, value] : to_fields(claim))
    entries[std::string(kJournalPrefix) + key] = value;
  return entries;
}

Result<Claim> from_journal(const std::map<std::string, std::string>& entries) {
  std::map<std::string, std::string> fields;
  for (const auto& [key, value] : entries) {
    if (key.starts_with(kJournalPrefix)) fields[key.substr(kJournalPrefix.size())] = value;
  }
  return from_fields(fields);
}

Result<HostLock> HostLock::acquire(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return fail_errno("open the IHK lock `" + path + "`");
  while (::flock(fd.get(), LOCK_EX) < 0) {
    if (errno != EINTR) return fail_errno("lock `" + path + "`");
  }
  return HostLock(std::move(fd));
}

Result<std::vector<Claim>> ClaimRegistry::all() const {
  std::vector<Claim> claims;
  DIR* dir = ::opendir(directory_.c_str());
  if (dir == nullptr) {
    if (errno == ENOENT) return claims;
    return fail_errno("open `" + directory_ + "`");
  }
  std::vector<std::string> names;
  while (dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name.ends_with(".claim")) names.push_back(name);
  }
  ::closedir(dir);
  for (const std::string& name : names) {
    auto text = files::read_file(directory_ + "/" + name);
    if (!text) continue;  // removed meanwhile, or a container's (root's only) read by a user
    auto claim = from_fields(parse_lines(*text));
    if (!claim)
      return std::unexpected(
          std::move(claim).error().wrap("claim `" + directory_ + "/" + name + "`"));
    claims.push_back(std::move(*claim));
  }
  return claims;
}

// The directory is listable and a job's claim readable by everyone: an unprivileged mkrun finds
// the instance booted for its job there. A container's claim, with its key, is root's only.
Result<void> ClaimRegistry::save(const Claim& claim) const {
  MKRUN_CHECK(make_directory(directory_, 0755));
  // One an earlier mkrun made (0700) is opened up too.
  if (::chmod(directory_.c_str(), 0755) < 0) return fail_errno("chmod `" + directory_ + "`");
  return files::write_file_atomic(directory_ + "/" + claim.token + ".claim",
                                  format_lines(to_fields(claim)),
                                  claim.mode == Mode::kJob ? 0644 : 0600);
}

Result<void> ClaimRegistry::remove(const std::string& token) const {
  std::string path = directory_ + "/" + token + ".claim";
  if (::unlink(path.c_str()) < 0 && errno != ENOENT) return fail_errno("remove `" + path + "`");
  return {};
}

namespace {

std::string random_hex(size_t count) {
  std::vector<unsigned char> bytes(count);
  if (::getrandom(bytes.data(), count, 0) != static_cast<ssize_t>(count)) {
    // Without entropy the pid and time are unique enough on one host.
    uint64_t fallback =
        static_cast<uint64_t>(::getpid()) << 32 ^ static_cast<uint64_t>(::time(nullptr));
    for (size_t i = 0; i < count; ++i)
      bytes[i] = static_cast<unsigned char>(fallback >> (8 * (i % 8)));
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  for (unsigned char byte : bytes) {
    text += kHex[byte >> 4];
    text += kHex[byte & 15];
  }
  return text;
}

}  // namespace

std::string new_claim_token(const std::string& container) {
  return container + "." + random_hex(8);
}

std::string new_claim_key() {
  return random_hex(16);
}

}  // namespace mkrun::lwk
