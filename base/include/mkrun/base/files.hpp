// Whole-file reads and writes with errors that name the path. Every descriptor is O_CLOEXEC.
#pragma once

#include <sys/types.h>

#include <fcntl.h>

#include <string>
#include <string_view>

#include "mkrun/base/error.hpp"
#include "mkrun/base/fd.hpp"

namespace mkrun::files {

Result<UniqueFd> open(const std::string& path, int flags, mode_t mode = 0);
Result<UniqueFd> open_at(int dirfd, const std::string& path, int flags, mode_t mode = 0);
// Opens `path` below `root_fd` as if root_fd were "/": symlinks and ".." cannot leave it.
Result<UniqueFd> open_in_root(int root_fd, const std::string& path, int flags);
// Opens `path` below `dir_fd` refusing, rather than resolving, what could leave it: "..",
// absolute paths and every symlink (ELOOP/EXDEV). For names an untrusted caller chose.
Result<UniqueFd> open_beneath(int dir_fd, const std::string& path, int flags, mode_t mode = 0);
Result<std::string> read_file(const std::string& path);
Result<std::string> read_fd(int fd, const std::string& path_for_errors);
Result<void> write_all(int fd, std::string_view data, const std::string& path_for_errors);
Result<void> write_file(const std::string& path, std::string_view data,
                        int flags = O_WRONLY | O_CREAT | O_TRUNC, mode_t mode = 0644);
// Writes `<dir>/.<name>.tmp`, fsyncs it, then renames it over `path`, so readers see the old or
// the new file, never a partial one, also after a crash (runc's pid-file discipline, plus the
// fsync: see files.cpp).
Result<void> write_file_atomic(const std::string& path, std::string_view data, mode_t mode = 0644);
// mkdir -p; existing directories are fine.
Result<void> make_directories(const std::string& path, mode_t mode = 0755);
// mkdir -p of `path` below `root_fd` as if root_fd were "/", never leaving it: each parent is
// looked up as open_in_root does, and the last component is a directory (`directory`) or an
// empty file, made without following a symlink there. What exists already is fine.
Result<void> make_in_root(int root_fd, const std::string& path, bool directory, mode_t mode);
// rm -r of a directory on one file system, without following symlinks.
Result<void> remove_tree(const std::string& path);
// Removes everything inside the directory `dir_fd`, recursively, every step relative to a
// directory descriptor and no symlink followed, so nothing outside it can be reached. `path`
// only names it in errors.
Result<void> remove_contents(int dir_fd, const std::string& path);

}  // namespace mkrun::files
