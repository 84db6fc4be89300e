// The state root (`--root`, /run/mkrun): one directory per container holding state.json (the
// record), config.json (the spec as it was at create) and exec.fifo (present while `created`).
// Every command holds the directory's flock while it reads or changes it, so two mkrun
// processes on the same id never interleave.
//
// Every command reaches a container through ContainerDir::create or ::open, which is where the
// id is checked: it must name one directory right below the root, and that directory is opened
// beneath the root's descriptor with no symlink followed, so neither `../x` nor a symlink planted
// in the root reaches anything outside it. The files inside are then reached through the
// directory's own descriptor.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mkrun/base/error.hpp"
#include "mkrun/base/fd.hpp"
#include "state/record.hpp"

namespace mkrun::state {

inline constexpr const char* kFifoName = "exec.fifo";
inline constexpr const char* kConfigName = "config.json";

// runc's rules and messages for an id: "container id cannot be empty", "invalid container ID
// format" (anything but one path component of [A-Za-z0-9_+.-], "." and ".." excluded).
Result<void> check_id(std::string_view id);

class ContainerDir {
 public:
  // Creates and locks <root>/<id>; fails with runc's "container with given ID already exists".
  static Result<ContainerDir> create(const std::string& root, std::string_view id);
  // Locks an existing one; fails with runc's "container does not exist", also when <root>/<id>
  // is a symlink or not a directory.
  static Result<ContainerDir> open(const std::string& root, std::string_view id);
  // `delete --force` of an id that open() did not find: removes a leftover entry of that name
  // that is not a directory (a symlink: the link itself, never its target), as runc's
  // os.RemoveAll does. A missing entry is fine.
  static Result<void> remove_stale_entry(const std::string& root, std::string_view id);

  const std::string& path() const { return path_; }
  int lock_fd() const { return lock_.get(); }
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

  Result<state::ContainerRecord> load() const;
  Result<void> save(const state::ContainerRecord& record) const;
  bool has_fifo() const;
  // Removes the directory and everything in it, through its descriptor.
  Result<void> remove();

 private:
  std::string root_;
  std::string name_;  // the id: one checked path component
  std::string path_;
  UniqueFd lock_;  // the directory itself, O_RDONLY, flocked
};

// Ids of every container under `root`, sorted; none when the root does not exist.
Result<std::vector<std::string>> list_ids(const std::string& root);

}  // namespace mkrun::state
