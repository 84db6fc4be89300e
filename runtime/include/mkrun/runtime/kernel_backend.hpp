// The kernel a container's application runs on. Linux is the default and needs nothing; another
// backend (McKernel, in lwk/) is selected by an annotation or by `--kernel`, prepares its kernel
// before the container's init is cloned, and rewrites the spec so the init execs the launcher
// (mcexec) inside the container's namespaces, rootfs and cgroup.
//
// runtime/ only declares this interface and calls it; it never includes ihk/ or lwk/. The CLI
// registers the backends it links (the only place that knows them).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mkrun/base/error.hpp"
#include "mkrun/oci/spec.hpp"

namespace mkrun::runtime {

// A backend's progress, kept in the container's state so that `delete` can undo exactly what
// was done, even after mkrun was killed half-way. Each record() merges the entries and saves
// the state atomically before returning.
class Journal {
 public:
  virtual ~Journal() = default;
  virtual Result<void> record(const std::map<std::string, std::string>& entries) = 0;
  virtual const std::map<std::string, std::string>& entries() const = 0;
};

class KernelBackend {
 public:
  virtual ~KernelBackend() = default;

  // "mckernel": the value of the kernel selector that picks this backend.
  virtual std::string_view name() const = 0;

  // Refuses a spec this backend cannot run, before anything is taken (annotations malformed,
  // rootless, a setting its kernel cannot honour, ...); else the warnings to give, one for each
  // setting that holds only in part. Pure: no side effects.
  virtual Result<std::vector<std::string>> validate(const oci::Spec& spec) const = 0;

  // During create, before the init is cloned: take and boot what the application needs,
  // recording each step in `journal` before taking it, then rewrite `spec` (process.args,
  // mounts, devices, device cgroup rules, personality, annotations) for the launch.
  virtual Result<void> prepare(oci::Spec& spec, std::string_view container_id,
                               Journal& journal) = 0;

  // During delete, and when a create fails: undo whatever `journal` shows, from any step.
  // Idempotent: a second call on the same journal succeeds and changes nothing. `warn` hears
  // what was deliberately left alone (not the container's any more).
  virtual Result<void> release(Journal& journal,
                               const std::function<void(const std::string&)>& warn) = 0;

  // For `state` and `events`: what the kernel instance is doing ("org.mkrun.lwk.status":
  // "RUNNING"), added to the container's annotations.
  virtual std::map<std::string, std::string> describe(const Journal& journal) const = 0;

  // Why the kernel instance the container runs on can no longer run it (McKernel: PANIC or
  // HUNGUP, with the kernel's last messages); nullopt while it is healthy or cannot be asked.
  // The runtime then kills the container's processes (kernel_watch.hpp).
  virtual std::optional<std::string> failure(const Journal& journal) const = 0;

  // For `mkrun features`: the annotations this backend reads, each with its grammar.
  virtual std::map<std::string, std::string> feature_annotations() const = 0;
};

// The annotation that selects the kernel ("linux" when absent), and its global default
// (`mkrun --kernel NAME`, for engines that cannot pass annotations).
inline constexpr std::string_view kKernelAnnotation = "io.mkrun.kernel";

void register_kernel_backend(std::shared_ptr<KernelBackend> backend);
// The backend `name` selects; null for "linux". Error for a name no backend registered.
Result<std::shared_ptr<KernelBackend>> find_kernel_backend(std::string_view name);
// Every registered backend, in registration order.
const std::vector<std::shared_ptr<KernelBackend>>& kernel_backends();

}  // namespace mkrun::runtime
