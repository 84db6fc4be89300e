// The state root (`--root`, /run/mkrun): one directory per container holding state.json (the
// record), config.json (the spec as it was at create) and exec.fifo (present while `created`).
// Every command holds the directory's flock while it reads or changes it, so two mkrun
// processes on the same id never interleave.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mkrun/oci/state.hpp"
#include "mkrun/runtime/error.hpp"
#include "mkrun/runtime/fd.hpp"

namespace mkrun::state {

inline constexpr const char* kFifoName = "exec.fifo";
inline constexpr const char* kConfigName = "config.json";

class ContainerDir {
 public:
  // Creates and locks <root>/<id>; fails with runc's "container with given ID already exists".
  static Result<ContainerDir> create(const std::string& root, std::string_view id);
  // Locks an existing one; fails with runc's "container does not exist".
  static Result<ContainerDir> open(const std::string& root, std::string_view id);

  const std::string& path() const { return path_; }
  int lock_fd() const { return lock_.get(); }
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

  Result<oci::ContainerRecord> load() const;
  Result<void> save(const oci::ContainerRecord& record) const;
  bool has_fifo() const;
  // Removes the directory and everything in it.
  Result<void> remove();

 private:
  std::string path_;
  UniqueFd lock_;
};

// Ids of every container under `root`, sorted; none when the root does not exist.
Result<std::vector<std::string>> list_ids(const std::string& root);

}  // namespace mkrun::state
