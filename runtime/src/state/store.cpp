#include "state/store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "mkrun/base/files.hpp"
#include "mkrun/runtime/runtime.hpp"

namespace mkrun::state {
namespace {

constexpr const char* kStateName = "state.json";
constexpr const char* kSpareName = ".state.json.tmp";

// What open() reports as a missing container: no such entry, a file, a symlink (ELOOP from
// RESOLVE_NO_SYMLINKS) or anything else the beneath-resolution refuses (EXDEV).
bool means_not_found(int errc) {
  return errc == ENOENT || errc == ENOTDIR || errc == ELOOP || errc == EXDEV;
}

// Opens <root>/<name> beneath the root's descriptor and takes its flock.
Result<UniqueFd> lock_directory(int root_fd, const std::string& name, const std::string& path) {
  auto opened = files::open_beneath(root_fd, name, O_RDONLY | O_DIRECTORY);
  if (!opened) return fail("open `" + path + "`", opened.error().errc());
  UniqueFd fd = std::move(*opened);
  while (::flock(fd.get(), LOCK_EX) < 0) {
    if (errno != EINTR) return fail_errno("lock `" + path + "`");
  }
  return fd;
}

}  // namespace

Result<void> check_id(std::string_view id) {
  if (id.empty()) return fail(ErrorKind::kInvalidId, "container id cannot be empty");
  if (!runtime::is_valid_container_id(id))
    return fail(ErrorKind::kInvalidId, "invalid container ID format");
  return {};
}

Result<ContainerDir> ContainerDir::create(const std::string& root, std::string_view id) {
  MKRUN_CHECK(check_id(id));
  if (::mkdir(root.c_str(), 0700) < 0 && errno != EEXIST) {
    MKRUN_CHECK(files::make_directories(root, 0700));
  }
  auto root_fd = MKRUN_TRY(files::open(root, O_PATH | O_DIRECTORY));
  ContainerDir dir;
  dir.root_ = root;
  dir.name_ = std::string(id);
  dir.path_ = root + "/" + dir.name_;
  // mkdirat never follows a symlink in its last component: a planted `<root>/<id>` symlink is
  // EEXIST.
  if (::mkdirat(root_fd.get(), dir.name_.c_str(), 0711) < 0) {
    if (errno == EEXIST) return fail(ErrorKind::kExists, "container with given ID already exists");
    return fail_errno("mkdir `" + dir.path_ + "`");
  }
  auto lock = lock_directory(root_fd.get(), dir.name_, dir.path_);
  if (!lock) {
    (void)::unlinkat(root_fd.get(), dir.name_.c_str(), AT_REMOVEDIR);
    return std::unexpected(std::move(lock).error());
  }
  dir.lock_ = std::move(*lock);
  return dir;
}

Result<ContainerDir> ContainerDir::open(const std::string& root, std::string_view id) {
  MKRUN_CHECK(check_id(id));
  ContainerDir dir;
  dir.root_ = root;
  dir.name_ = std::string(id);
  dir.path_ = root + "/" + dir.name_;
  auto root_fd = files::open(root, O_PATH | O_DIRECTORY);
  if (!root_fd) {
    if (means_not_found(root_fd.error().errc()))
      return fail(ErrorKind::kNotExist, "container does not exist");
    return std::unexpected(std::move(root_fd).error());
  }
  auto lock = lock_directory(root_fd->get(), dir.name_, dir.path_);
  if (!lock) {
    if (means_not_found(lock.error().errc()))
      return fail(ErrorKind::kNotExist, "container does not exist");
    return std::unexpected(std::move(lock).error());
  }
  dir.lock_ = std::move(*lock);
  // A concurrent delete may have removed it while we waited for the lock.
  struct stat info {};
  if (::fstat(dir.lock_.get(), &info) == 0 && info.st_nlink == 0)
    return fail(ErrorKind::kNotExist, "container does not exist");
  return dir;
}

Result<void> ContainerDir::remove_stale_entry(const std::string& root, std::string_view id) {
  MKRUN_CHECK(check_id(id));
  const std::string name(id);
  const std::string path = root + "/" + name;
  auto root_fd = files::open(root, O_PATH | O_DIRECTORY);
  if (!root_fd) {
    if (means_not_found(root_fd.error().errc())) return {};
    return std::unexpected(std::move(root_fd).error());
  }
  struct stat info {};
  if (::fstatat(root_fd->get(), name.c_str(), &info, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT) return {};
    return fail_errno("stat `" + path + "`");
  }
  // A directory here would have been opened as a container; one that vanished meanwhile is
  // not ours to judge.
  if (S_ISDIR(info.st_mode)) return {};
  if (::unlinkat(root_fd->get(), name.c_str(), 0) < 0 && errno != ENOENT)
    return fail_errno("remove `" + path + "`");
  return {};
}

Result<state::ContainerRecord> ContainerDir::load() const {
  std::string path = file(kStateName);
  int fd = ::openat(lock_.get(), kStateName, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return fail_errno("open `" + path + "`");
  UniqueFd owned(fd);
  auto text = MKRUN_TRY(files::read_fd(owned.get(), path));
  auto record = state::parse_record(text);
  if (!record) return fail("parse `" + path + "`: " + record.error().message);
  return std::move(*record);
}

// state.json is replaced whole: the new record is written to a spare file, which is then
// exchanged with state.json (RENAME_EXCHANGE), so readers see the old or the new record. The
// spare, now holding the old record, is kept and overwritten by the next save (saves are under
// the directory's lock). Compared with a new temporary renamed over state.json, a save creates
// no inode and frees none: on ext4, creating files where many were recently deleted is slow
// (without a journal it scans past every inode freed in the last minute), and a rename that
// replaces a file starts writing its data back (auto_da_alloc); `run` saves four times. The
// first save, or a file system that cannot exchange (EINVAL), falls back to a plain rename.
// Both names are relative to the directory's descriptor.
Result<void> ContainerDir::save(const state::ContainerRecord& record) const {
  std::string target = file(kStateName);
  std::string spare = file(kSpareName);
  std::string text = state::render_record(record);
  {
    // Overwritten, then cut to length, never truncated to zero first: on ext4 (auto_da_alloc) a
    // file truncated to zero and written again has its data written back when closed, and then
    // blocks to free, and discard, when deleted.
    int fd = ::openat(lock_.get(), kSpareName, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return fail_errno("open `" + spare + "`");
    UniqueFd owned(fd);
    MKRUN_CHECK(files::write_all(owned.get(), text, spare));
    if (::ftruncate(owned.get(), static_cast<off_t>(text.size())) < 0)
      return fail_errno("truncate `" + spare + "`");
  }
  if (::renameat2(lock_.get(), kSpareName, lock_.get(), kStateName, RENAME_EXCHANGE) == 0) {
    return {};
  }
  if (::renameat(lock_.get(), kSpareName, lock_.get(), kStateName) < 0) {
    return fail_errno("rename `" + spare + "` to `" + target + "`");
  }
  return {};
}

bool ContainerDir::has_fifo() const {
  struct stat info {};
  return ::fstatat(lock_.get(), kFifoName, &info, AT_SYMLINK_NOFOLLOW) == 0;
}

// The contents through the directory's descriptor, then the entry itself, looked up again in the
// root without following anything: rmdir of a symlink is ENOTDIR.
Result<void> ContainerDir::remove() {
  MKRUN_CHECK(files::remove_contents(lock_.get(), path_));
  auto root_fd = MKRUN_TRY(files::open(root_, O_PATH | O_DIRECTORY));
  if (::unlinkat(root_fd.get(), name_.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT)
    return fail_errno("rmdir `" + path_ + "`");
  lock_.reset();
  return {};
}

Result<std::vector<std::string>> list_ids(const std::string& root) {
  std::vector<std::string> ids;
  DIR* dir = ::opendir(root.c_str());
  if (dir == nullptr) {
    if (errno == ENOENT) return ids;
    return fail_errno("open `" + root + "`");
  }
  // Directories only (a symlink is DT_LNK), and only names open() accepts.
  while (dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (entry->d_type != DT_DIR || !check_id(name)) continue;
    ids.push_back(std::move(name));
  }
  ::closedir(dir);
  std::ranges::sort(ids);
  return ids;
}

}  // namespace mkrun::state
