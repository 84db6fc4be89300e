// Runs OCI hooks without allocating, so the same code serves the container's init (which may not
// allocate) and mkrun itself. Each hook gets the state JSON on stdin, its stdout and stderr are
// captured for the error message, and it is killed when it runs past its timeout.
#pragma once

#include "child/text.hpp"
#include "plan/child_plan.hpp"

namespace mkrun::child {

// Runs the hooks in order and stops at the first failure. Returns true when all succeeded;
// otherwise `error` says which hook failed and how, and `errc` holds the errno if one applies.
bool run_hooks(const plan::HookList& hooks, Text& error, int& errc) noexcept;
// Runs hook `index` of the list alone; the same results.
bool run_hook(const plan::HookList& hooks, size_t index, Text& error, int& errc) noexcept;

}  // namespace mkrun::child
