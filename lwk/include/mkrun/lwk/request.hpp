// What a container asks of McKernel, read from its annotations (config.json). Pure: the
// annotations are checked here, before anything on the host is touched; what the host allows
// is checked against the host configuration later (select.hpp).
//
//   io.mkrun.kernel=mckernel                     the selector (runtime/kernel_backend.hpp)
//   io.mkrun.mckernel.instance=dedicated         boot an instance for this container (default)
//   io.mkrun.mckernel.instance=attach:<N>        use instance N, booted by the administrator
//   io.mkrun.mckernel.instance=job               use the instance `mkrun-lwk boot` made for
//                                                the caller's batch job
//   io.mkrun.mckernel.cpus=4-7,12                Linux CPU ids for McKernel, in LWK order
//   io.mkrun.mckernel.ncpus=8                    or a count; mkrun picks, NUMA-compact
//   io.mkrun.mckernel.mem=2G@0,2G@1              IHK memory list; or a total: 4G
//   io.mkrun.mckernel.ikc_map=4-5:1+6-7:2        IKC routing, <lwk cpus>:<linux cpu>+...
//   io.mkrun.mckernel.kargs=allow_oversubscribe  extra kernel arguments (known ones only)
//   io.mkrun.mckernel.mcexec_args=-t 8 --mpol-no-stack   extra mcexec options (allow-list)
//   io.mkrun.mckernel.image=/path                one of the host configuration's `images`
//   io.mkrun.mckernel.boot_timeout=60s
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mkrun/base/error.hpp"
#include "mkrun/ihk/lists.hpp"

namespace mkrun::lwk {

inline constexpr std::string_view kAnnotationPrefix = "io.mkrun.mckernel.";

// kJob: an instance `mkrun-lwk boot` made for a batch job (claims only, never asked for).
// kPool: an instance `mkrun-lwk pool fill` booted ahead, lent to one dedicated container at a
// time (claims only; no request asks for it).
enum class Mode { kDedicated, kAttach, kJob, kPool };

struct LwkRequest {
  Mode mode = Mode::kDedicated;
  int attach_os = -1;
  bool attach_job = false;  // attach to the caller's job's instance (attach_os unknown yet)
  std::optional<ihk::CpuList> cpus;
  std::optional<int> ncpus;
  std::optional<ihk::MemList> mem;    // per node, as written
  std::optional<uint64_t> mem_total;  // to be split over the LWK CPUs' nodes
  std::optional<ihk::IkcMap> ikc_map;
  std::vector<std::string> kargs;        // checked against the known McKernel arguments
  std::vector<std::string> mcexec_args;  // checked against mcexec's option grammar
  std::optional<std::string> image;
  std::optional<std::chrono::milliseconds> boot_timeout;
};

Result<LwkRequest> parse_request(const std::map<std::string, std::string>& annotations);

// Checks one mcexec option list (whitespace-separated) against the allow-list.
Result<std::vector<std::string>> parse_mcexec_args(std::string_view text);
// Checks extra kernel arguments against the known McKernel ones.
Result<std::vector<std::string>> parse_kargs(std::string_view text);

// For `mkrun features`: each annotation mkrun understands, with its grammar.
std::map<std::string, std::string> feature_annotations();

}  // namespace mkrun::lwk
