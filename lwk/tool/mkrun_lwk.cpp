// mkrun-lwk: a batch job's McKernel instance, for a site's job prolog and epilog (as root).
//
//   mkrun-lwk [--config PATH] boot --job ID --user USER [--cpus LIST | --ncpus N] [--mem MEM]
//             [--kargs ARGS] [--image PATH] [--boot-timeout DURATION]
//             [--slurm-cpus LIST] [--slurm-mem SIZE]
//   mkrun-lwk [--config PATH] shutdown --job ID
//   mkrun-lwk [--config PATH] status
//   mkrun-lwk [--config PATH] pool fill|drain|status
//   mkrun-lwk [--config PATH] pool reset --instance TOKEN   (run by a background pool reset)
//
// A name of its own, never one of runc's commands: engines call `mkrun <command>` as they call
// runc. The options after `boot` are the container annotations io.mkrun.mckernel.<name> (checked
// by the same code); the host configuration bounds them as it bounds containers.
#include <pwd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mkrun/base/numbers.hpp"
#include "mkrun/lwk/config.hpp"
#include "mkrun/lwk/job.hpp"
#include "mkrun/lwk/pool.hpp"

namespace {

using namespace mkrun;
using namespace mkrun::lwk;

constexpr const char* kUsage =
    "usage: mkrun-lwk [--config PATH] boot --job ID --user USER [--cpus LIST | --ncpus N]\n"
    "                 [--mem MEM] [--kargs ARGS] [--image PATH] [--boot-timeout DURATION]\n"
    "                 [--slurm-cpus LIST] [--slurm-mem SIZE]\n"
    "       mkrun-lwk [--config PATH] shutdown --job ID\n"
    "       mkrun-lwk [--config PATH] status\n"
    "       mkrun-lwk [--config PATH] pool fill|drain|status\n"
    "       mkrun-lwk [--config PATH] pool reset --instance TOKEN\n";

struct Options {
  std::string config = host_config_path();
  std::string command;
  std::map<std::string, std::string> values;  // --name value, after the command
};

// The boot options that are container annotations (io.mkrun.mckernel.<key>).
const std::map<std::string, std::string>& annotation_options() {
  static const std::map<std::string, std::string> table = {
      {"--cpus", "cpus"},   {"--ncpus", "ncpus"}, {"--mem", "mem"},
      {"--kargs", "kargs"}, {"--image", "image"}, {"--boot-timeout", "boot_timeout"}};
  return table;
}

Result<Options> parse(int argc, char** argv) {
  Options options;
  int i = 1;
  if (i + 1 < argc && std::string(argv[i]) == "--config") {
    options.config = argv[i + 1];
    i += 2;
  }
  if (i >= argc) return fail("a command is needed");
  options.command = argv[i++];
  if (options.command == "pool") {  // "pool fill" is one command
    if (i >= argc) return fail("pool needs fill, drain, status or reset");
    options.command += std::string(" ") + argv[i++];
  }
  for (; i < argc; i += 2) {
    std::string name = argv[i];
    bool known = name == "--job" || name == "--user" || name == "--slurm-cpus" ||
                 name == "--slurm-mem" || annotation_options().contains(name);
    if (options.command == "pool reset")
      known = name == "--instance";
    else if (options.command == "status" || options.command.starts_with("pool"))
      known = false;
    if (!known) return fail("unknown option " + name);
    if (i + 1 >= argc) return fail(name + " needs a value");
    options.values[name] = argv[i + 1];
  }
  return options;
}

// A user name or uid, with its primary group.
Result<std::pair<uint32_t, uint32_t>> resolve_user(const std::string& user) {
  char buffer[4096];
  passwd entry{};
  passwd* found = nullptr;
  auto uid = parse_number<uint32_t>(user);
  if (uid)
    ::getpwuid_r(*uid, &entry, buffer, sizeof buffer, &found);
  else
    ::getpwnam_r(user.c_str(), &entry, buffer, sizeof buffer, &found);
  if (found != nullptr) return std::pair{found->pw_uid, found->pw_gid};
  if (uid) return std::pair{*uid, *uid};  // no passwd entry: its own group number
  return fail("no such user \"" + user + "\"");
}

Result<std::string> required(const Options& options, const std::string& name) {
  auto found = options.values.find(name);
  if (found == options.values.end()) return fail(options.command + " needs " + name);
  return found->second;
}

void print_warning(const std::string& warning) {
  std::fprintf(stderr, "mkrun-lwk: warning: %s\n", warning.c_str());
}

Result<void> boot(const Options& options) {
  JobBoot job;
  job.job = MKRUN_TRY(required(options, "--job"));
  std::tie(job.uid, job.gid) = MKRUN_TRY(resolve_user(MKRUN_TRY(required(options, "--user"))));
  job.config = options.config;
  for (const auto& [name, value] : options.values) {
    auto key = annotation_options().find(name);
    if (key != annotation_options().end())
      job.annotations["io.mkrun.mckernel." + key->second] = value;
  }
  if (auto cpus = options.values.find("--slurm-cpus"); cpus != options.values.end()) {
    auto list = ihk::CpuList::parse(cpus->second);
    if (!list) return std::unexpected(std::move(list).error().wrap("--slurm-cpus"));
    job.slurm_cpus = *list;
  }
  if (auto mem = options.values.find("--slurm-mem"); mem != options.values.end()) {
    auto size = ihk::parse_size(mem->second);
    if (!size) return std::unexpected(std::move(size).error().wrap("--slurm-mem"));
    job.slurm_memory = *size;
  }
  Claim claim = MKRUN_TRY(boot_job(job, ihk::load_libihk, print_warning));
  std::printf("job %s: McKernel instance %d on CPUs %s, memory %s, for uid %u\n", job.job.c_str(),
              claim.os.value_or(-1), claim.cpus.to_string().c_str(), claim.mem.to_string().c_str(),
              job.uid);
  return {};
}

Result<void> shutdown(const Options& options) {
  return shutdown_job(MKRUN_TRY(required(options, "--job")), options.config, ihk::load_libihk,
                      print_warning);
}

Result<void> status(const Options& options) {
  for (const ClaimStatus& entry : MKRUN_TRY(node_status(options.config, ihk::load_libihk))) {
    const Claim& c = entry.claim;
    std::printf("%s mode=%s os=%s cpus=%s mem=%s step=%s user=%s status=%s\n", c.container.c_str(),
                std::string(mode_name(c.mode)).c_str(), c.os ? std::to_string(*c.os).c_str() : "-",
                c.cpus.to_string().c_str(), c.mem.to_string().c_str(), c.step.c_str(),
                c.user ? std::to_string(*c.user).c_str() : "-", entry.status.c_str());
  }
  return {};
}

// What a pool instance is doing: lent to a container; free (booted, RUNNING: the next container
// may take it); resetting (waiting for a background reset's boot); or unready (a boot under way,
// or one that failed or was killed half-way, which `pool fill` repairs).
std::string pool_use(const ClaimStatus& entry, const std::vector<Claim>& all) {
  const Claim& c = entry.claim;
  if (std::string user = lent_to(c, all); !user.empty()) return "lent=" + user;
  if (awaits_reset(c)) return "resetting";
  if (c.step == ihk::to_string(ihk::Step::kRunning) &&
      entry.status == ihk::to_string(ihk::OsStatus::kRunning))
    return "free";
  return "unready";
}

void print_pool(std::vector<ClaimStatus> claims) {
  std::vector<Claim> all;
  for (const ClaimStatus& entry : claims) all.push_back(entry.claim);
  // pool.0, pool.1, ..., pool.10 (the registry lists in no order)
  std::ranges::sort(claims, {}, [](const ClaimStatus& entry) {
    return std::pair(entry.claim.token.size(), entry.claim.token);
  });
  for (const ClaimStatus& entry : claims) {
    const Claim& c = entry.claim;
    if (c.mode != Mode::kPool) continue;
    std::printf("%s os=%s cpus=%s mem=%s step=%s status=%s %s%s\n", c.token.c_str(),
                c.os ? std::to_string(*c.os).c_str() : "-", c.cpus.to_string().c_str(),
                c.mem.to_string().c_str(), c.step.c_str(), entry.status.c_str(),
                pool_use(entry, all).c_str(), c.retiring ? " retiring" : "");
  }
}

Result<void> pool(const Options& options) {
  if (options.command == "pool fill")
    MKRUN_CHECK(fill_pool(options.config, ihk::load_libihk, print_warning));
  else if (options.command == "pool drain")
    MKRUN_CHECK(drain_pool(options.config, ihk::load_libihk, print_warning));
  else if (options.command == "pool reset")
    return reset_pool_instance(options.config, MKRUN_TRY(required(options, "--instance")),
                               ihk::load_libihk);
  else if (options.command != "pool status")
    return fail("unknown command \"" + options.command + "\"");
  print_pool(MKRUN_TRY(node_status(options.config, ihk::load_libihk)));
  return {};
}

Result<void> run(const Options& options) {
  if (options.command.starts_with("pool ")) return pool(options);
  if (options.command == "boot") return boot(options);
  if (options.command == "shutdown") return shutdown(options);
  if (options.command == "status") return status(options);
  return fail("unknown command \"" + options.command + "\"");
}

}  // namespace

int main(int argc, char** argv) {
  auto options = parse(argc, argv);
  if (!options) {
    std::fprintf(stderr, "mkrun-lwk: %s\n%s", options.error().render().c_str(), kUsage);
    return 2;
  }
  if (auto done = run(*options); !done) {
    std::fprintf(stderr, "mkrun-lwk: error: %s\n", done.error().render().c_str());
    return 1;
  }
  return 0;
}
