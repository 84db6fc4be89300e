// The McKernel kernel backend (runtime/kernel_backend.hpp), selected by
// io.mkrun.kernel=mckernel or `mkrun --kernel mckernel`.
//
// create -> prepare(): under the host lock (flock), pick CPUs and memory, write each step to the
//   container's journal and to the host's claim registry before taking it, boot a dedicated
//   instance (or claim an administrator's), then rewrite the spec so the init runs mcexec.
// delete -> release(): under the host lock, undo from whatever step the journal shows.
// state  -> describe(): the instance, its resources and its live IHK status.
// failure(): the instance went PANIC or HUNGUP, with McKernel's last messages (the runtime then
//   kills the container).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "mkrun/ihk/ihk.hpp"
#include "mkrun/runtime/kernel_backend.hpp"

namespace mkrun::lwk {

struct Claim;

class McKernelBackend final : public runtime::KernelBackend {
 public:
  using IhkLoader = std::function<Result<std::unique_ptr<ihk::Ihk>>(const std::string& path)>;

  explicit McKernelBackend(IhkLoader loader = ihk::load_libihk) : loader_(std::move(loader)) {}

  std::string_view name() const override { return "mckernel"; }
  Result<std::vector<std::string>> validate(const oci::Spec& spec) const override;
  Result<void> prepare(oci::Spec& spec, std::string_view container_id,
                       runtime::Journal& journal) override;
  Result<void> release(runtime::Journal& journal,
                       const std::function<void(const std::string&)>& warn) override;
  std::map<std::string, std::string> describe(const runtime::Journal& journal) const override;
  std::optional<std::string> failure(const runtime::Journal& journal) const override;
  std::map<std::string, std::string> feature_annotations() const override;

 private:
  // libihk.so at `path`, loaded once per process: state, list and the kernel watcher ask about
  // instances again and again.
  Result<ihk::Ihk*> opened_ihk(const std::string& path) const;
  // The instance a claim holds, with the IHK that answers for it; nullopt when there is none
  // (not booted yet, released) or IHK cannot be reached.
  struct LiveInstance;
  std::optional<LiveInstance> live_instance(const Claim& claim) const;

  IhkLoader loader_;
  mutable std::map<std::string, std::unique_ptr<ihk::Ihk>> opened_;
};

// Registers the backend with the runtime; the CLI calls it once at start.
void register_mckernel_backend();

}  // namespace mkrun::lwk
