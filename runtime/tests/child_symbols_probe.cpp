// What check_child_symbols.sh must refuse: an allocation, and a call into mkrun outside the child
// library (which may allocate). Built only for the test that expects the check to fail on it.
#include <cstdlib>
#include <string>

#include "mkrun/base/files.hpp"

extern "C" void* probe_allocates() {
  return std::malloc(16);
}

extern "C" bool probe_calls_into_mkrun() {
  return mkrun::files::read_file("/").has_value();
}
