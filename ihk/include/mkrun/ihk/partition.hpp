// One IHK partition's life: reserve memory and CPUs from Linux, create an OS instance, assign
// them, route its interrupts, load McKernel, set its arguments, boot it and wait for RUNNING;
// then the reverse, from whatever step was reached.
//
// The order is mcreboot.sh's (reserve mem, reserve cpu, create, assign cpu, ikc map, assign mem,
// load, kargs, boot). The caller is told before each step is taken (`before`), so it can write
// the step down first: after a crash at any point, `release_partition` can undo exactly what
// may have been done.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mkrun/ihk/ihk.hpp"
#include "mkrun/ihk/lists.hpp"

namespace mkrun::ihk {

enum class Step {
  kReserveMem,
  kReserveCpu,
  kCreateOs,
  kAssignCpu,
  kSetIkcMap,
  kAssignMem,
  kLoad,
  kKargs,
  kBoot,
  kRunning,  // reached, nothing is taken by it
};

// "reserve-mem", "reserve-cpu", "create-os", "assign-cpu", "set-ikc-map", "assign-mem", "load",
// "kargs", "boot", "running": the names kept in journals.
std::string_view to_string(Step step);
std::optional<Step> step_from_string(std::string_view name);

struct PartitionSpec {
  int device = 0;
  CpuList cpus;    // in LWK order
  MemList mem;     // multiples of 4 MiB
  IkcMap ikc_map;  // empty: IHK's default routing
  std::string image;
  std::string kargs;  // must hold "hidos"
  std::chrono::milliseconds boot_timeout{30000};
};

struct BootHooks {
  // Before each step; an error stops the boot before that step is taken.
  std::function<Result<void>(Step)> before;
  // Right after ihk_create_os gave the instance's index; must be written down at once.
  std::function<Result<void>(int os)> created;
};

// Takes the steps in order and returns the instance's index once it is RUNNING. On failure it
// does not undo anything: the caller releases from what `before` and `created` recorded (one
// teardown path for failures and for crashes). A failed boot's error carries the status and
// the tail of McKernel's kernel messages.
Result<int> boot_partition(Ihk& ihk, const PartitionSpec& spec, const BootHooks& hooks);

// What a partition may hold, as recorded while it was booted.
struct Holdings {
  int device = 0;
  std::optional<Step> reached;  // the last step begun; none: nothing was taken
  std::optional<int> os;        // the instance, when known
  CpuList cpus;
  MemList mem;
  // Whether instance `os` is still the one this partition created. IHK reuses the index of a
  // destroyed instance for the next ihk_create_os, so a retried release may find another
  // container's instance there; null: not checked.
  std::function<Result<bool>(int os)> is_ours;
  // Told what was deliberately left alone (another's instance at our index).
  std::function<void(const std::string&)> warn;
};

// Undoes `holdings` from the step reached, in reverse: shut the instance down (if it booted:
// IHK then gives its CPUs and memory back to the device's pool itself), release what it still
// holds (ihk_os_query_cpu/mem: a never-booted one keeps what was assigned), destroy it (retrying
// while IHK answers EBUSY, as long as mcexec's file descriptors close), then give the CPUs and
// the memory chunks back to Linux. Idempotent: what is already gone (no such instance, CPUs not
// reserved any more) is skipped, so a second call, or one after a crash half-way, succeeds.
Result<void> release_partition(Ihk& ihk, const Holdings& holdings);

// A human reading of a failed or sick instance: "status PANIC; McKernel's last messages: ...".
std::string describe_instance(Ihk& ihk, int os);

}  // namespace mkrun::ihk
