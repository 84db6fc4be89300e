// Who holds what of the node. IHK's pool does not say which container a reserved CPU or an OS
// instance belongs to, and each container's journal lives in its own state directory (under
// whatever --root it was created with), so mkrun keeps a host-wide registry: one small file per
// container under <claims>/ (default /run/mkrun-ihk), written under the host lock before each
// step, exactly like the container's journal. Selection skips what others claim; a container's
// release only touches what its own claim names.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mkrun/base/error.hpp"
#include "mkrun/base/fd.hpp"
#include "mkrun/ihk/lists.hpp"
#include "mkrun/ihk/partition.hpp"
#include "mkrun/lwk/request.hpp"

namespace mkrun::lwk {

// A container's hold on the node: the same fields in its journal (keys "mckernel.<field>") and
// in its claim file (lines "<field>=<value>").
struct Claim {
  std::string token;  // the claim file's name: unique per container
  // A secret shared by the container's journal and its claim file (readable by root only): the
  // journal lives in a state directory its user may write, and names of claim files can be
  // listed, so a release acts on a registered claim only for the journal that holds its key.
  std::string key;
  std::string container;  // the container's id, for messages
  Mode mode = Mode::kDedicated;
  int device = 0;
  ihk::CpuList cpus;
  ihk::MemList mem;
  std::optional<int> os;
  // The inode of /dev/mcos<os> right after ihk_create_os: the instance's identity (see
  // instance_identity in host.hpp); absent in claims written before it was recorded.
  std::optional<uint64_t> os_node;
  std::optional<std::vector<int>> os_before;  // instances that existed before create-os
  // Where the container's mcexec runs (pid_namespace_of in host.hpp): attached containers may
  // share an instance only when they share this, and it is not "new". Empty in older claims.
  std::string pid_namespace;
  std::string step;         // the last step begun (ihk::Step names), "attached", or "released"
  std::string device_node;  // "major:minor" of /dev/mcos<os>
  // The host configuration create read. `delete` and `state` read the same file: an engine may
  // run them with another environment than `create` (Podman passes only XDG_RUNTIME_DIR), so
  // $MKRUN_MCKERNEL_CONF may be gone by then.
  std::string config;
  // A job's instance (mode kJob): the job and the host uid whose containers may attach to it.
  std::string job;
  std::optional<uint32_t> user;
  // An attach by an unprivileged mkrun: kept in the container's journal only. It changes nothing
  // in IHK, and the caller can neither take the host lock nor write the registry (root's).
  bool unprivileged = false;
  // A container's: the token of the pool instance it was lent (its CPUs and memory stay the
  // pool claim's). A pool instance is lent exactly while such a container claim exists.
  std::string pool;
  // A pool instance's: drained while lent; released, not rebooted, when it comes back.
  bool retiring = false;

  std::optional<ihk::Step> reached() const { return ihk::step_from_string(step); }
};

inline constexpr std::string_view kJournalPrefix = "mckernel.";
inline constexpr std::string_view kReleased = "released";
inline constexpr std::string_view kAttached = "attached";
inline constexpr std::string_view kPooled = "pooled";  // a container on a pool instance

std::string_view mode_name(Mode mode);  // "dedicated", "attach", "job"

std::map<std::string, std::string> to_fields(const Claim& claim);
Result<Claim> from_fields(const std::map<std::string, std::string>& fields);

// The journal's view: fields with the "mckernel." prefix.
std::map<std::string, std::string> to_journal(const Claim& claim);
Result<Claim> from_journal(const std::map<std::string, std::string>& entries);

// flock(LOCK_EX) on the host lock file: one partitioning or release at a time on the node.
class HostLock {
 public:
  static Result<HostLock> acquire(const std::string& path);

 private:
  explicit HostLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

class ClaimRegistry {
 public:
  explicit ClaimRegistry(std::string directory) : directory_(std::move(directory)) {}

  Result<std::vector<Claim>> all() const;
  Result<void> save(const Claim& claim) const;
  Result<void> remove(const std::string& token) const;

 private:
  std::string directory_;
};

// A fresh token: "<container>.<16 hex digits>".
std::string new_claim_token(const std::string& container);
// A fresh key: 32 hex digits.
std::string new_claim_key();

}  // namespace mkrun::lwk
