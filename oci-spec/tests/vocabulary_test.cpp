#include "mkrun/oci/vocabulary.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <set>

#include "mkrun/oci/default_spec.hpp"

using namespace mkrun::oci;

namespace {

template <class Table>
bool names_unique(const Table& table) {
  auto names = vocabulary::names(table);
  return std::set<std::string>(names.begin(), names.end()).size() == names.size();
}

}  // namespace

TEST_CASE("each vocabulary names a thing once", "[vocabulary]") {
  CHECK(names_unique(vocabulary::kNamespaces));
  CHECK(names_unique(vocabulary::kRlimits));
  CHECK(names_unique(vocabulary::kSchedulerPolicies));
  CHECK(names_unique(vocabulary::kSchedulerFlags));
  CHECK(names_unique(vocabulary::kIoPriorityClasses));
  CHECK(names_unique(vocabulary::mount_flag_options()));
  CHECK(names_unique(vocabulary::propagation_options()));
}

TEST_CASE("lookups find by name and by flag", "[vocabulary]") {
  CHECK(vocabulary::find(vocabulary::kRlimits, "RLIMIT_NOFILE")->value == RLIMIT_NOFILE);
  CHECK(vocabulary::find(vocabulary::kRlimits, "rlimit_nofile") == nullptr);
  CHECK(vocabulary::find(vocabulary::kSchedulerPolicies, "SCHED_ISO")->value == 4);
  CHECK(vocabulary::find(vocabulary::propagation_options(), "") == nullptr);
  CHECK(vocabulary::namespace_of_flag(CLONE_NEWPID)->proc_file == "pid");
  CHECK(vocabulary::capability_number("CAP_SYS_ADMIN") == 21);
  CHECK(vocabulary::capability_number("cap_sys_admin") == -1);
}

TEST_CASE("the template's namespaces are all in the table", "[vocabulary]") {
  for (auto type : default_namespaces(true, true)) {
    CHECK(vocabulary::find(vocabulary::kNamespaces, type) != nullptr);
  }
  for (auto type : default_namespaces(false, false)) {
    CHECK(vocabulary::find(vocabulary::kNamespaces, type) != nullptr);
  }
}

TEST_CASE("a device access is a set of r, w and m; other letters are ignored", "[vocabulary]") {
  CHECK(vocabulary::device_access("rwm") == "rwm");
  CHECK(vocabulary::device_access("mwr") == "rwm");
  CHECK(vocabulary::device_access("rr") == "r");
  CHECK(vocabulary::device_access("m") == "m");
  CHECK(vocabulary::device_access("") == "rwm");    // absent: everything, as mkrun reads it
  CHECK(vocabulary::device_access("rwa") == "rw");  // runc's bats suite writes "rwa"
  // Nothing known: the rule changes nothing; above all it does not become "rwm".
  CHECK(vocabulary::device_access("a").empty());
  CHECK(vocabulary::device_access("xyz").empty());
}
