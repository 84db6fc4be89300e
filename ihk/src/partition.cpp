#include "mkrun/ihk/partition.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <functional>
#include <thread>

namespace mkrun::ihk {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::array<std::string_view, 10> kStepNames = {
    "reserve-mem", "reserve-cpu", "create-os", "assign-cpu", "set-ikc-map",
    "assign-mem",  "load",        "kargs",     "boot",       "running"};

// How long teardown waits for a shut-down instance to become INACTIVE, and for mcexec's file
// descriptors on /dev/mcos<N> to close (ihk_destroy_os answers EBUSY until they are).
constexpr milliseconds kShutdownWait{10000};
constexpr milliseconds kDestroyWait{10000};
constexpr milliseconds kPoll{50};

bool reached(const Holdings& h, Step step) {
  return h.reached && *h.reached >= step;
}

std::string seconds_text(milliseconds duration) {
  auto tenths = duration.count() / 100;
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " s";
}

Result<void> take(const BootHooks& hooks, Step step) {
  if (hooks.before) MKRUN_CHECK(hooks.before(step));
  return {};
}

Result<void> reserve(Ihk& ihk, const PartitionSpec& spec, const BootHooks& hooks) {
  MKRUN_CHECK(take(hooks, Step::kReserveMem));
  if (auto done = ihk.reserve_mem(spec.device, spec.mem); !done)
    return std::unexpected(std::move(done).error().wrap(
        "memory not reservable: IHK could not take " + spec.mem.to_string() + " from Linux"));
  MKRUN_CHECK(take(hooks, Step::kReserveCpu));
  if (auto done = ihk.reserve_cpu(spec.device, spec.cpus); !done)
    return std::unexpected(std::move(done).error().wrap(
        "CPUs busy or offline: IHK could not take CPUs " + spec.cpus.to_string() + " from Linux"));
  return {};
}

Result<int> create(Ihk& ihk, const PartitionSpec& spec, const BootHooks& hooks) {
  MKRUN_CHECK(take(hooks, Step::kCreateOs));
  auto os = ihk.create_os(spec.device);
  if (!os) return std::unexpected(std::move(os).error().wrap("create an IHK OS instance"));
  if (hooks.created) MKRUN_CHECK(hooks.created(*os));
  return *os;
}

Result<void> configure(Ihk& ihk, int os, const PartitionSpec& spec, const BootHooks& hooks) {
  std::string where = "McKernel instance " + std::to_string(os);
  MKRUN_CHECK(take(hooks, Step::kAssignCpu));
  if (auto done = ihk.os_assign_cpu(os, spec.cpus); !done)
    return std::unexpected(std::move(done).error().wrap("assign CPUs to " + where));
  if (!spec.ikc_map.empty()) {
    MKRUN_CHECK(take(hooks, Step::kSetIkcMap));
    if (auto done = ihk.os_set_ikc_map(os, spec.ikc_map); !done)
      return std::unexpected(std::move(done).error().wrap("set the IKC map of " + where));
  }
  MKRUN_CHECK(take(hooks, Step::kAssignMem));
  if (auto done = ihk.os_assign_mem(os, spec.mem); !done)
    return std::unexpected(std::move(done).error().wrap("assign memory to " + where));
  MKRUN_CHECK(take(hooks, Step::kLoad));
  if (auto done = ihk.os_load(os, spec.image); !done)
    return std::unexpected(std::move(done).error().wrap("load the McKernel image into " + where));
  MKRUN_CHECK(take(hooks, Step::kKargs));
  if (auto done = ihk.os_kargs(os, spec.kargs); !done)
    return std::unexpected(std::move(done).error().wrap("set the kernel arguments of " + where));
  return {};
}

bool is_dead(OsStatus status) {
  return status == OsStatus::kPanic || status == OsStatus::kHungup ||
         status == OsStatus::kInactive || status == OsStatus::kShutdown;
}

// ihk_os_boot itself polls for about 10 s; the instance may need longer (large memory), so the
// status is polled on until the spec's timeout, from the moment the boot was asked for.
Result<void> wait_running(Ihk& ihk, int os, const PartitionSpec& spec) {
  auto start = Clock::now();
  auto booted = ihk.os_boot(os);
  while (true) {
    auto status = ihk.os_status(os);
    if (!status) return std::unexpected(std::move(status).error().wrap("boot McKernel"));
    if (*status == OsStatus::kRunning) return {};
    auto waited = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
    if (is_dead(*status)) {
      std::string cause = booted ? "" : " (" + booted.error().render() + ")";
      return fail("McKernel instance " + std::to_string(os) + " failed to boot" + cause + ": " +
                  describe_instance(ihk, os));
    }
    if (waited >= spec.boot_timeout) {
      return fail("boot timeout: McKernel instance " + std::to_string(os) +
                  " did not reach RUNNING within " + seconds_text(spec.boot_timeout) + ": " +
                  describe_instance(ihk, os));
    }
    std::this_thread::sleep_for(kPoll);
  }
}

bool is_errno(const Error& error, int errc) {
  return error.errc() == errc;
}

void wait_inactive(Ihk& ihk, int os) {
  auto deadline = Clock::now() + kShutdownWait;
  while (Clock::now() < deadline) {
    auto status = ihk.os_status(os);
    if (!status || *status == OsStatus::kInactive) return;
    std::this_thread::sleep_for(kPoll);
  }
}

// ihk_destroy_os answers EBUSY while a file descriptor on /dev/mcos<N> is open (mcexec that is
// still exiting); it already retries for a second, this waits some more.
Result<void> destroy(Ihk& ihk, int device, int os) {
  auto deadline = Clock::now() + kDestroyWait;
  while (true) {
    auto done = ihk.destroy_os(device, os);
    if (done || is_errno(done.error(), ENOENT)) return {};
    if (!is_errno(done.error(), EBUSY) || Clock::now() >= deadline)
      return std::unexpected(std::move(done).error().wrap(
          "destroy McKernel instance " + std::to_string(os) +
          (is_errno(done.error(), EBUSY)
               ? " (a process still has /dev/mcos" + std::to_string(os) + " open)"
               : "")));
    std::this_thread::sleep_for(milliseconds(100));
  }
}

Result<bool> instance_exists(Ihk& ihk, int device, int os) {
  auto instances = ihk.os_instances(device);
  if (!instances) return std::unexpected(std::move(instances).error().wrap("list IHK instances"));
  return std::ranges::find(*instances, os) != instances->end();
}

// Shuts the instance down if it ever started, releases what it still holds and destroys it.
// ihk_os_shutdown already hands the instance's CPUs and memory back to the device's pool
// (smp_ihk_os_shutdown); releasing them again would get EINVAL. An instance that never booted
// keeps what was assigned, and ihk_destroy_os would not give it back (it only shuts down a booted
// instance): so release exactly what IHK says it holds, nothing remembered.
Result<void> release_instance(Ihk& ihk, const Holdings& h, int os) {
  std::string where = "McKernel instance " + std::to_string(os);
  if (!MKRUN_TRY(instance_exists(ihk, h.device, os))) return {};
  if (h.is_ours && !MKRUN_TRY(h.is_ours(os))) {
    if (h.warn)
      h.warn(where + " is not the one this container created (ours was destroyed and IHK gave " +
             "its index to a new instance): left alone");
    return {};
  }
  auto status = ihk.os_status(os);
  if (!status) return std::unexpected(std::move(status).error().wrap("ask " + where));
  if (*status != OsStatus::kInactive) {
    if (*status != OsStatus::kShutdown) {  // a shutdown under way answers EBUSY
      if (auto done = ihk.os_shutdown(os); !done)
        return std::unexpected(std::move(done).error().wrap("shut " + where + " down"));
    }
    wait_inactive(ihk, os);
  }
  auto cpus = ihk.os_cpus(os);
  if (!cpus) return std::unexpected(std::move(cpus).error().wrap("ask " + where + "'s CPUs"));
  if (!cpus->empty()) {
    if (auto done = ihk.os_release_cpu(os, *cpus); !done)
      return std::unexpected(std::move(done).error().wrap("release " + where + "'s CPUs"));
  }
  auto mem = ihk.os_mem(os);
  if (!mem) return std::unexpected(std::move(mem).error().wrap("ask " + where + "'s memory"));
  if (!mem->empty()) {
    if (auto done = ihk.os_release_mem(os, *mem); !done)
      return std::unexpected(std::move(done).error().wrap("release " + where + "'s memory"));
  }
  return destroy(ihk, h.device, os);
}

// Only the CPUs that are still reserved: after a crash the reservation may never have been made,
// or already undone.
Result<void> release_cpus(Ihk& ihk, const Holdings& h) {
  auto reserved = ihk.reserved_cpus(h.device);
  if (!reserved) return std::unexpected(std::move(reserved).error().wrap("query IHK's CPUs"));
  CpuList mine = h.cpus.intersect(*reserved);
  if (mine.empty()) return {};
  if (auto done = ihk.release_cpu(h.device, mine); !done)
    return std::unexpected(
        std::move(done).error().wrap("give CPUs " + mine.to_string() + " back to Linux"));
  return {};
}

// The indices of `sizes` that add up to exactly `budget`, if some do (a small search: a node's
// pool holds a handful of chunks); else the largest that fit, largest first.
std::vector<size_t> chunks_within(const std::vector<uint64_t>& sizes, uint64_t budget) {
  constexpr size_t kSearchLimit = 20;
  std::vector<size_t> picked;
  std::function<bool(size_t, uint64_t)> search = [&](size_t from, uint64_t left) {
    if (left == 0) return true;
    for (size_t i = from; i < sizes.size(); ++i) {
      if (sizes[i] > left) continue;
      picked.push_back(i);
      if (search(i + 1, left - sizes[i])) return true;
      picked.pop_back();
    }
    return false;
  };
  if (sizes.size() <= kSearchLimit && search(0, budget)) return picked;
  picked.clear();
  std::vector<size_t> order(sizes.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::ranges::stable_sort(order, [&](size_t a, size_t b) { return sizes[a] > sizes[b]; });
  for (size_t i : order) {
    if (sizes[i] > budget) continue;
    picked.push_back(i);
    budget -= sizes[i];
  }
  return picked;
}

// IHK's pool is a list of chunks, as each reservation found them (never merged), and a chunk is
// released only whole, by its exact size (__ihk_smp_release_mem). It does not say whose a chunk
// is: per node, give back chunks as the pool lists them that add up to what this partition took
// there, never more (after our instance is gone the pool holds ours, plus what a crashed create
// may have left).
Result<void> release_memory(Ihk& ihk, const Holdings& h) {
  auto pool = ihk.reserved_mem(h.device);
  if (!pool) return std::unexpected(std::move(pool).error().wrap("query IHK's memory"));
  std::vector<MemChunk> give_back;
  MemList taken = h.mem.merged();
  for (const MemChunk& mine : taken.chunks()) {
    std::vector<MemChunk> on_node;
    std::vector<uint64_t> sizes;
    for (const MemChunk& chunk : pool->chunks()) {
      if (chunk.numa_node != mine.numa_node) continue;
      on_node.push_back(chunk);
      sizes.push_back(chunk.size);
    }
    for (size_t i : chunks_within(sizes, mine.size)) give_back.push_back(on_node[i]);
  }
  if (give_back.empty()) return {};
  MemList list(std::move(give_back));
  if (auto done = ihk.release_mem(h.device, list); !done)
    return std::unexpected(
        std::move(done).error().wrap("give memory " + list.to_string() + " back to Linux"));
  return {};
}

}  // namespace

std::string_view to_string(Step step) {
  return kStepNames[static_cast<size_t>(step)];
}

std::optional<Step> step_from_string(std::string_view name) {
  for (size_t i = 0; i < kStepNames.size(); ++i) {
    if (kStepNames[i] == name) return static_cast<Step>(i);
  }
  return std::nullopt;
}

Result<int> boot_partition(Ihk& ihk, const PartitionSpec& spec, const BootHooks& hooks) {
  MKRUN_CHECK(reserve(ihk, spec, hooks));
  int os = MKRUN_TRY(create(ihk, spec, hooks));
  MKRUN_CHECK(configure(ihk, os, spec, hooks));
  MKRUN_CHECK(take(hooks, Step::kBoot));
  MKRUN_CHECK(wait_running(ihk, os, spec));
  MKRUN_CHECK(take(hooks, Step::kRunning));
  return os;
}

Result<void> release_partition(Ihk& ihk, const Holdings& h) {
  if (!h.reached) return {};
  if (reached(h, Step::kCreateOs) && h.os) MKRUN_CHECK(release_instance(ihk, h, *h.os));
  if (reached(h, Step::kReserveCpu)) MKRUN_CHECK(release_cpus(ihk, h));
  MKRUN_CHECK(release_memory(ihk, h));
  return {};
}

std::string describe_instance(Ihk& ihk, int os) {
  std::string text;
  auto status = ihk.os_status(os);
  text = status ? "status " + std::string(to_string(*status)) : status.error().render();
  auto kmsg = ihk.os_kmsg(os);
  if (!kmsg) return text + "; no kernel messages (" + kmsg.error().render() + ")";
  std::string tail = kmsg_tail(*kmsg, 20);
  if (tail.empty()) return text + "; McKernel printed no messages";
  return text + "; McKernel's last messages:\n" + tail;
}

}  // namespace mkrun::ihk
