// The three drivers' names and the factories that pick the peer for a container's cgroup.
#include "cgroups/manager.hpp"

#include "cgroups/cgroupfs.hpp"
#include "cgroups/disabled.hpp"
#include "cgroups/systemd.hpp"

namespace mkrun::cgroups {
namespace {

std::unique_ptr<Manager> directory_peer(Driver driver, Placement placement) {
  if (driver == Driver::kSystemd) return std::make_unique<SystemdManager>(std::move(placement));
  return std::make_unique<CgroupfsManager>(std::move(placement));
}

}  // namespace

std::string_view driver_name(Driver driver) {
  switch (driver) {
    case Driver::kCgroupfs:
      return "cgroupfs";
    case Driver::kSystemd:
      return "systemd";
    case Driver::kDisabled:
      return "disabled";
  }
  return "cgroupfs";
}

Result<Driver> driver_named(std::string_view name) {
  if (name.empty()) return Driver::kCgroupfs;
  for (Driver driver : {Driver::kCgroupfs, Driver::kSystemd, Driver::kDisabled}) {
    if (name == driver_name(driver)) return driver;
  }
  return fail("unknown cgroup driver `" + std::string(name) + "` in the container's state");
}

Result<std::unique_ptr<Manager>> plan_new_cgroup(const Host& host, const CgroupPath& path,
                                                 Driver driver) {
  if (driver == Driver::kDisabled) return std::make_unique<DisabledManager>(host.layout);
  return directory_peer(driver, MKRUN_TRY(plan_placement(host, path)));
}

Result<std::unique_ptr<Manager>> open_cgroup(const Host& host, const state::CgroupRecord& record) {
  Driver driver = MKRUN_TRY(driver_named(record.driver));
  if (driver == Driver::kDisabled) return std::make_unique<DisabledManager>(host.layout);
  return directory_peer(driver, MKRUN_TRY(placement_of(host, record)));
}

}  // namespace mkrun::cgroups
