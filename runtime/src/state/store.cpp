#include "state/store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "core/files.hpp"

namespace mkrun::state {
namespace {

Result<UniqueFd> lock_directory(const std::string& path) {
  auto fd = MKRUN_TRY(files::open(path, O_RDONLY | O_DIRECTORY));
  while (::flock(fd.get(), LOCK_EX) < 0) {
    if (errno != EINTR) return fail_errno("lock `" + path + "`");
  }
  return fd;
}

}  // namespace

Result<ContainerDir> ContainerDir::create(const std::string& root, std::string_view id) {
  if (::mkdir(root.c_str(), 0700) < 0 && errno != EEXIST) {
    MKRUN_CHECK(files::make_directories(root, 0700));
  }
  ContainerDir dir;
  dir.path_ = root + "/" + std::string(id);
  if (::mkdir(dir.path_.c_str(), 0711) < 0) {
    if (errno == EEXIST) return fail("container with given ID already exists");
    return fail_errno("mkdir `" + dir.path_ + "`");
  }
  auto lock = lock_directory(dir.path_);
  if (!lock) {
    (void)::rmdir(dir.path_.c_str());
    return std::unexpected(std::move(lock).error());
  }
  dir.lock_ = std::move(*lock);
  return dir;
}

Result<ContainerDir> ContainerDir::open(const std::string& root, std::string_view id) {
  ContainerDir dir;
  dir.path_ = root + "/" + std::string(id);
  auto lock = lock_directory(dir.path_);
  if (!lock) {
    if (lock.error().errc() == ENOENT || lock.error().errc() == ENOTDIR) {
      return fail("container does not exist");
    }
    return std::unexpected(std::move(lock).error());
  }
  dir.lock_ = std::move(*lock);
  // A concurrent delete may have removed it while we waited for the lock.
  struct stat info {};
  if (::fstat(dir.lock_.get(), &info) == 0 && info.st_nlink == 0)
    return fail("container does not exist");
  return dir;
}

Result<oci::ContainerRecord> ContainerDir::load() const {
  std::string path = file("state.json");
  auto text = files::read_file(path);
  if (!text) return std::unexpected(std::move(text).error());
  auto record = oci::parse_record(*text);
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
Result<void> ContainerDir::save(const oci::ContainerRecord& record) const {
  std::string target = file("state.json");
  std::string spare = file(".state.json.tmp");
  std::string text = oci::render_record(record);
  {
    // Overwritten, then cut to length, never truncated to zero first: on ext4 (auto_da_alloc) a
    // file truncated to zero and written again has its data written back when closed, and then
    // blocks to free, and discard, when deleted.
    auto fd = MKRUN_TRY(files::open(spare, O_WRONLY | O_CREAT | O_NOFOLLOW, 0600));
    MKRUN_CHECK(files::write_all(fd.get(), text, spare));
    if (::ftruncate(fd.get(), static_cast<off_t>(text.size())) < 0)
      return fail_errno("truncate `" + spare + "`");
  }
  if (::renameat2(AT_FDCWD, spare.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) == 0) {
    return {};
  }
  if (::rename(spare.c_str(), target.c_str()) < 0) {
    return fail_errno("rename `" + spare + "` to `" + target + "`");
  }
  return {};
}

bool ContainerDir::has_fifo() const {
  return ::access(file(kFifoName).c_str(), F_OK) == 0;
}

Result<void> ContainerDir::remove() {
  MKRUN_CHECK(files::remove_tree(path_));
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
  while (dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name == "." || name == ".." || entry->d_type != DT_DIR) continue;
    ids.push_back(std::move(name));
  }
  ::closedir(dir);
  std::ranges::sort(ids);
  return ids;
}

}  // namespace mkrun::state
