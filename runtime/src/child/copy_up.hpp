// tmpcopyup (crun's and Podman's mount option): a new tmpfs starts with a copy of the rootfs
// directory it is mounted over. The child copies it between the mount and pivot_root, so the
// copy is async-signal-safe: fixed buffers on the stack, recursion bounded by kMaxCopyDepth.
#pragma once

#include <climits>
#include <cstddef>

namespace mkrun::child {

constexpr int kMaxCopyDepth = 64;  // directory levels below the copied directory

// The entry a copy failed on, relative to the copied directory ("/sub/file").
struct CopyPath {
  char text[PATH_MAX] = {};
  size_t length = 0;
  bool too_deep = false;  // the failure: more than kMaxCopyDepth levels
  const char* c_str() const { return text; }
};

// Copies what directory `from` holds into directory `to`: directories, regular files,
// symlinks, fifos, sockets and device nodes, with their owners, modes and times (not the
// times or owner of `to` itself, which the mount options decide). Returns 0, or the errno of
// the first failure with `failed` naming its entry.
int copy_tree(int from, int to, CopyPath& failed) noexcept;

}  // namespace mkrun::child
