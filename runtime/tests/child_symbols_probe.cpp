// What check_child_symbols.sh must refuse: an allocation, and a call into mkrun outside the child
// library (which may allocate). Built only for the test that expects the check to fail on it.
#include <cstdlib>
#include <string>

#include "mkrun/base/files.hpp"

extern "C" int probe_calls_what_the_child_must_not() {
  static void* volatile kept;
  kept = std::malloc(16);
  return mkrun::files::read_file("/").has_value() ? 1 : 0;
}
