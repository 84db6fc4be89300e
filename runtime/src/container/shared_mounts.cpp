#include "container/shared_mounts.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <ranges>

#include "core/proc.hpp"
#include "mkrun/base/files.hpp"

namespace mkrun::runtime::shared_mounts {
namespace {

bool at_or_below(const std::string& path, const std::string& directory) {
  if (path == directory) return true;
  std::string prefix = directory.ends_with('/') ? directory : directory + "/";
  return path.starts_with(prefix);
}

struct NamespaceId {
  uint64_t device = 0;
  uint64_t inode = 0;
};

Result<NamespaceId> namespace_of(int fd, const std::string& shown) {
  struct stat st {};
  if (::fstat(fd, &st) < 0) return fail_errno("stat `" + shown + "`");
  return NamespaceId{st.st_dev, st.st_ino};
}

// The noted namespace, opened: the joined one by its path, else mkrun's own. Either must still
// be the one noted at create.
Result<UniqueFd> open_noted_namespace(int proc_root, const state::SharedMountsRecord& noted) {
  const bool joined = !noted.namespace_path.empty();
  const std::string shown = joined ? noted.namespace_path : "/proc/self/ns/mnt";
  auto fd = joined ? files::open(noted.namespace_path, O_RDONLY)
                   : files::open_at(proc_root, "self/ns/mnt", O_RDONLY);
  if (!fd) return std::unexpected(std::move(fd).error());
  NamespaceId id = MKRUN_TRY(namespace_of(fd->get(), shown));
  if (id.device != noted.namespace_device || id.inode != noted.namespace_inode) {
    return fail("`" + shown + "` is not the mount namespace the container's mounts are in");
  }
  return std::move(*fd);
}

// Unmounts `mount` through `fd_directory` (self/fd of a verified procfs), so that the kernel
// unmounts the mount `fd` is the root of, not what its path names by now.
Result<void> unmount_checked(const mountinfo::MountLine& mount, int fd_directory) {
  auto root = MKRUN_TRY(files::open("/", O_PATH | O_DIRECTORY));
  std::string relative = mount.mount_point.substr(1);
  auto fd = files::open_beneath(root.get(), relative.empty() ? "." : relative, O_PATH | O_NOFOLLOW);
  if (!fd) return std::unexpected(std::move(fd).error().wrap("unmount"));
  struct statx st {};
  if (::statx(fd->get(), "", AT_EMPTY_PATH, STATX_MNT_ID, &st) < 0) {
    return fail_errno("statx `" + mount.mount_point + "`");
  }
  if (static_cast<int64_t>(st.stx_mnt_id) != mount.id ||
      (st.stx_attributes & STATX_ATTR_MOUNT_ROOT) == 0) {
    return fail("unmount `" + mount.mount_point + "`: the path no longer leads to mount " +
                std::to_string(mount.id));
  }
  if (::fchdir(fd_directory) < 0) return fail_errno("chdir to procfs's self/fd");
  if (::umount2(std::to_string(fd->get()).c_str(), MNT_DETACH) < 0) {
    return fail_errno("unmount `" + mount.mount_point + "`");
  }
  return {};
}

// In the current mount namespace: every mount below `rootfs` but the noted ones, last first.
Result<void> unmount_added_here(int proc_root, const state::SharedMountsRecord& noted,
                                const std::string& rootfs) {
  auto mountinfo_fd = MKRUN_TRY(files::open_at(proc_root, "self/mountinfo", O_RDONLY));
  auto text = MKRUN_TRY(files::read_fd(mountinfo_fd.get(), "/proc/self/mountinfo"));
  auto fd_directory = MKRUN_TRY(files::open_at(proc_root, "self/fd", O_PATH | O_DIRECTORY));
  Result<void> first_error;
  for (const auto& mount : std::views::reverse(mounts_below(text, rootfs))) {
    if (std::ranges::find(noted.mounts_before, mount.id) != noted.mounts_before.end()) continue;
    auto removed = unmount_checked(mount, fd_directory.get());
    if (!removed && first_error) first_error = std::move(removed);
  }
  return first_error;
}

// Runs `work` in the mount namespace `target`, then comes back to mkrun's own namespace and
// working directory (setns moves both).
Result<void> in_mount_namespace(int proc_root, int target,
                                const std::function<Result<void>()>& work) {
  auto home = MKRUN_TRY(files::open_at(proc_root, "self/ns/mnt", O_RDONLY));
  auto cwd = MKRUN_TRY(files::open(".", O_PATH | O_DIRECTORY));
  if (::setns(target, CLONE_NEWNS) < 0) return fail_errno("join the container's mount namespace");
  Result<void> result = work();
  if (::setns(home.get(), CLONE_NEWNS) < 0) {
    return fail_errno("return to mkrun's mount namespace");
  }
  if (::fchdir(cwd.get()) < 0) return fail_errno("return to the working directory");
  return result;
}

}  // namespace

std::vector<mountinfo::MountLine> mounts_below(std::string_view mountinfo_text,
                                               const std::string& rootfs) {
  std::vector<mountinfo::MountLine> below;
  for (auto& mount : mountinfo::parse(mountinfo_text)) {
    if (mount.id >= 0 && at_or_below(mount.mount_point, rootfs)) below.push_back(std::move(mount));
  }
  return below;
}

Result<state::SharedMountsRecord> note_before_setup(pid_t init_pid,
                                                    const std::string& namespace_path,
                                                    const std::string& rootfs) {
  auto proc_root = MKRUN_TRY(proc::open_verified_root());
  std::string pid = std::to_string(init_pid);
  auto ns = MKRUN_TRY(files::open_at(proc_root.get(), pid + "/ns/mnt", O_RDONLY));
  NamespaceId id = MKRUN_TRY(namespace_of(ns.get(), "/proc/" + pid + "/ns/mnt"));
  auto mountinfo_fd = MKRUN_TRY(files::open_at(proc_root.get(), pid + "/mountinfo", O_RDONLY));
  auto text = MKRUN_TRY(files::read_fd(mountinfo_fd.get(), "/proc/" + pid + "/mountinfo"));
  state::SharedMountsRecord noted{namespace_path, id.device, id.inode, {}};
  for (const auto& mount : mounts_below(text, rootfs)) noted.mounts_before.push_back(mount.id);
  return noted;
}

Result<void> remove_added(const state::SharedMountsRecord& noted, const std::string& rootfs) {
  auto proc_root = MKRUN_TRY(proc::open_verified_root());
  auto target = MKRUN_TRY(open_noted_namespace(proc_root.get(), noted));
  auto work = [&] { return unmount_added_here(proc_root.get(), noted, rootfs); };
  // Also for mkrun's own namespace: the same way in and out, and the working directory back.
  Result<void> result = in_mount_namespace(proc_root.get(), target.get(), work);
  if (!result) {
    return std::unexpected(
        std::move(result).error().wrap("remove the container's mounts below `" + rootfs + "`"));
  }
  return {};
}

}  // namespace mkrun::runtime::shared_mounts
