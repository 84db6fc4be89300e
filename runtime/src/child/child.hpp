// The container's init from clone() to execve(). Async-signal-safe: it only reads the plan,
// makes syscalls and never returns.
#pragma once

#include "plan/child_plan.hpp"

namespace mkrun::child {

[[noreturn]] void child_main(const plan::ChildPlan& plan) noexcept;

}  // namespace mkrun::child
