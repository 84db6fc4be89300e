#include "mkrun/runtime/kernel_backend.hpp"

#include <vector>

namespace mkrun::runtime {
namespace {

std::vector<std::shared_ptr<KernelBackend>>& registry() {
  static std::vector<std::shared_ptr<KernelBackend>> backends;
  return backends;
}

}  // namespace

void register_kernel_backend(std::shared_ptr<KernelBackend> backend) {
  registry().push_back(std::move(backend));
}

const std::vector<std::shared_ptr<KernelBackend>>& kernel_backends() {
  return registry();
}

Result<std::shared_ptr<KernelBackend>> find_kernel_backend(std::string_view name) {
  if (name.empty() || name == "linux") return std::shared_ptr<KernelBackend>();
  for (const auto& backend : registry()) {
    if (backend->name() == name) return backend;
  }
  return fail("unknown kernel \"" + std::string(name) + "\" (" + std::string(kKernelAnnotation) +
              "): this mkrun knows linux" +
              (registry().empty() ? "" : " and its registered backends"));
}

}  // namespace mkrun::runtime
