// Protection against the CVE-2019-5736 class. mkrun forks the container's processes without
// re-executing, so until they execve, their /proc/self/exe is mkrun's own binary. A container
// that makes one of them execute /proc/self/exe (a `#!/proc/self/exe` script as its command)
// would run mkrun inside itself, keep a handle on the binary, and write it once mkrun exits.
// So the commands that start container processes first re-execute mkrun from a protected
// image: a read-only bind mount of its binary, made detached (open_tree; runc 1.2 has the same
// idea with overlayfs), or, where mounting is not allowed (rootless), a
// sealed in-memory copy (what crun does). /proc/self/exe then names a file nobody can write.
#pragma once

#include "mkrun/base/error.hpp"

namespace mkrun::runtime {

// True when this process runs from a protected image: a sealed memfd, or a file on a read-only
// mount (also true when mkrun is installed on a read-only file system).
bool runs_from_protected_image();

// Executes mkrun again, from a protected image, with the same arguments and environment.
// Returns only on failure.
Error reexec_from_protected_image(char* const* argv);

}  // namespace mkrun::runtime
