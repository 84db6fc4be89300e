// The warm pool: McKernel instances booted ahead (`mkrun-lwk pool fill`, as root) and lent to
// dedicated containers, so that a container's create does not wait for McKernel's boot.
//
// A pool instance is a claim in the host's registry (token "pool.<k>", mode "pool") booted by the
// code, and with the journal and crash safety, of a dedicated container's instance. A container
// takes one under the host lock by writing its own claim with `pool=pool.<k>` (one atomic file
// write): an instance is lent exactly while such a claim exists, so two containers never get the
// same one, and a create killed before that write took nothing. At the container's delete the
// instance is reset (McKernel has no reset: shut down, released and booted again) and so is free
// again, inside the delete or, with `pool_reset = background`, by a detached `mkrun-lwk pool
// reset`. See lwk/README.md ("A warm pool").
#pragma once

#include <string>
#include <vector>

#include "mkrun/lwk/backend.hpp"
#include "mkrun/lwk/claims.hpp"
#include "mkrun/lwk/job.hpp"

namespace mkrun::lwk {

// Boots the pool up to `pool` instances of `pool_ncpus` CPUs and `pool_memory`, and repairs it:
// an instance whose boot was killed, that failed, or that is not at its index any more is
// released and booted again; instances beyond `pool` that are not lent are released. Returns
// the pool's claims.
Result<std::vector<Claim>> fill_pool(const std::string& config,
                                     const McKernelBackend::IhkLoader& loader, const Warn& warn);

// Releases every pool instance that is not lent; a lent one is marked retiring and released at
// its container's delete instead of being reset.
Result<void> drain_pool(const std::string& config, const McKernelBackend::IhkLoader& loader,
                        const Warn& warn);

// The background reset (`pool_reset = background`) of pool instance `token`: boots it again if
// its claim still waits for that (its container's delete released it and recorded it without
// an instance); does nothing when a drain removed it or a fill booted it meanwhile.
Result<void> reset_pool_instance(const std::string& config, const std::string& token,
                                 const McKernelBackend::IhkLoader& loader);

// Whether pool claim `pooled` waits for a background reset's boot: recorded fresh by its
// container's delete (no instance, no step begun), neither drained nor repaired since (a drain
// removes the claim, a fill boots it at once).
bool awaits_reset(const Claim& pooled);

// The container a pool instance is lent to, or "" when it is free.
std::string lent_to(const Claim& pooled, const std::vector<Claim>& claims);

}  // namespace mkrun::lwk
