// The systemd cgroup driver (--systemd-cgroup) with a running systemd, as runc 1.1's
// libcontainer/cgroups/systemd does it: the container's cgroup becomes a transient scope unit,
// created over D-Bus with StartTransientUnit, Delegate=yes and the resource properties runc sets,
// so systemd knows the limits and keeps them across daemon-reload. mkrun then writes every limit
// to the delegated cgroup itself, as with cgroupfs (systemd's defaults included, such as
// TasksMax, are overwritten where the spec says otherwise).
//
// Without systemd (sd_booted() false, as on the development host) none of this runs: the cgroup
// is made at the path systemd would have used, by cgroupfs. SystemdManager, at the end, is the
// peer: the cgroupfs one plus the unit.
//
// Differences from runc, on purpose: mkrun does not send DevicePolicy/DeviceAllow (it installs its
// own device program on v2, replacing any other, and systemd then attaches none of its own); the
// manager first creates the cgroup and clones the init into it (CLONE_INTO_CGROUP), then asks
// systemd to adopt the cgroup with PIDs=[init], since a scope cannot exist without a process.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cgroups/cgroupfs.hpp"
#include "cgroups/dbus.hpp"
#include "mkrun/base/error.hpp"
#include "mkrun/oci/spec.hpp"

namespace mkrun::cgroups::systemd {

// systemd is PID 1 (sd_booted(), runc's IsRunningSystemd): /run/systemd/system is a directory.
bool is_running();

struct Unit {
  std::string name;   // "mkrun-abc.scope", or a slice ("x.slice") when the container is one
  std::string slice;  // its parent: "system.slice", "a-b.slice", "-.slice" at the root
};

// The unit of the cgroup `directory` under the hierarchy mounted at `mount_point`, as
// resolve_cgroups_path() placed it for "slice:prefix:name":
// "/sys/fs/cgroup/a.slice/a-b.slice/p-n.scope" is {"p-n.scope", "a-b.slice"}.
Result<Unit> unit_of(std::string_view directory, std::string_view mount_point);

// systemd's Version property ("252.39-1~deb12u2") as its major number; 0 when unreadable.
unsigned major_version(std::string_view version);

// runc's RangeToBits: a cpuset list ("0-2,7") as the little-endian bit mask systemd takes for
// AllowedCPUs and AllowedMemoryNodes ({0x87}).
Result<std::vector<uint8_t>> cpuset_bits(std::string_view list);

// The resource properties runc 1.1 gives systemd (genV2ResourcesProperties on unified,
// genV1ResourcesProperties otherwise), linux.resources.unified included on v2
// (unifiedResToSystemdProps); properties systemd older than `systemd_version` lacks are left to
// the cgroupfs writes, as runc does.
Result<std::vector<dbus::Property>> resource_properties(const oci::Resources& resources,
                                                        unsigned systemd_version, bool unified);

// Everything StartTransientUnit gets: description, Slice= (Wants= for a slice), Delegate=yes,
// PIDs=[pid], accounting on, DefaultDependencies=no, then the resource properties.
Result<std::vector<dbus::Property>> unit_properties(const Unit& unit, pid_t pid,
                                                    const oci::Resources* resources,
                                                    unsigned systemd_version, bool unified);

// A connection to systemd's manager: the private socket /run/systemd/private for root, else the
// system bus. Every call waits for its reply; unit jobs wait for their JobRemoved signal.
class Client {
 public:
  enum class Transport {
    kAuto,       // the private socket when root and reachable, else the system bus
    kSystemBus,  // the bus daemon only (Hello, AddMatch and Subscribe for the job signals)
  };
  static Result<Client> connect(Transport transport = Transport::kAuto);

  Result<unsigned> version();
  // StartTransientUnit in "replace" mode, waiting until the job is done. A failed leftover unit of
  // the same name is reset and the start tried once more (runc's startUnit).
  Result<void> start_unit(const std::string& name, const std::vector<dbus::Property>& properties);
  // StopUnit, waiting for the job; a unit systemd no longer has is not an error (runc's
  // stopUnit), and a failed one is reset so that systemd forgets it.
  Result<void> stop_unit(const std::string& name);
  // SetUnitProperties(runtime=true), for `update`.
  Result<void> set_properties(const std::string& name,
                              const std::vector<dbus::Property>& properties);

 private:
  Client(dbus::Connection connection, bool bus) : connection_(std::move(connection)), bus_(bus) {}
  Result<dbus::Message> manager_call(std::string member, std::string signature,
                                     std::vector<uint8_t> body);
  Result<std::string> start_job(const std::string& name,
                                const std::vector<dbus::Property>& properties);
  Result<std::string> wait_for_job(const std::string& job);
  Result<void> subscribe();

  dbus::Connection connection_;
  bool bus_ = false;
  bool subscribed_ = false;
};

}  // namespace mkrun::cgroups::systemd

namespace mkrun::cgroups {

// The systemd peer (--systemd-cgroup, --cgroup-manager=systemd): the cgroupfs one, with systemd
// kept in step when systemd is running. runc's order: the unit's properties before the cgroupfs
// writes at update, the unit stopped before the rmdirs at destroy.
class SystemdManager final : public CgroupfsManager {
 public:
  using CgroupfsManager::CgroupfsManager;

  Driver driver() const override { return Driver::kSystemd; }
  // Has systemd adopt the cgroup, which `pid` has joined already, as a transient scope with
  // Delegate=yes and runc's resource properties, then writes `resources` again over the values
  // systemd wrote.
  Result<void> adopt(pid_t pid, const oci::Resources* resources) override;
  Result<void> update(const oci::Resources& resources) override;
  Result<void> destroy() override;

 private:
  // Whether there is a unit to keep in step: systemd runs, and the container has a cgroup.
  bool under_systemd() const;
  Result<systemd::Unit> unit() const;
  Result<void> set_unit_properties(const oci::Resources& resources) const;
  Result<void> stop_unit() const;
};

}  // namespace mkrun::cgroups
