#include <catch2/catch.hpp>

#include "mkrun/lwk/request.hpp"

using namespace mkrun;
using namespace mkrun::lwk;

namespace {
Result<LwkRequest> parse(std::map<std::string, std::string> annotations) {
  annotations["io.mkrun.kernel"] = "mckernel";
  annotations["org.example.other"] = "ignored";
  return parse_request(annotations);
}
}  // namespace

TEST_CASE("no annotation: a dedicated instance with defaults", "[request]") {
  auto r = parse({});
  REQUIRE(r);
  CHECK(r->mode == Mode::kDedicated);
  CHECK_FALSE(r->cpus);
  CHECK_FALSE(r->ncpus);
  CHECK_FALSE(r->mem);
  CHECK_FALSE(r->mem_total);
}

TEST_CASE("CPUs as a list or as a count, never both, never CPU 0", "[request]") {
  CHECK(parse({{"io.mkrun.mckernel.cpus", "5,4,6-7"}})->cpus->ids() ==
        std::vector<int>{5, 4, 6, 7});
  CHECK(parse({{"io.mkrun.mckernel.ncpus", "8"}})->ncpus == 8);
  CHECK(parse({{"io.mkrun.mckernel.cpus", "0-3"}}).error().render() ==
        "annotation io.mkrun.mckernel.cpus: CPU 0 is never given to McKernel: Linux needs it");
  CHECK_FALSE(parse({{"io.mkrun.mckernel.ncpus", "0"}}));
  CHECK_FALSE(parse({{"io.mkrun.mckernel.ncpus", "two"}}));
  CHECK_FALSE(parse({{"io.mkrun.mckernel.cpus", "4"}, {"io.mkrun.mckernel.ncpus", "1"}}));
}

TEST_CASE("memory as an IHK list or a total", "[request]") {
  CHECK(parse({{"io.mkrun.mckernel.mem", "2G@0,2G@1"}})->mem->to_string() == "2G@0,2G@1");
  CHECK(parse({{"io.mkrun.mckernel.mem", "4G"}})->mem_total == 4ull << 30);
  CHECK(parse({{"io.mkrun.mckernel.mem", "2G,2G"}}).error().render() ==
        "annotation io.mkrun.mckernel.mem: give either a total (4G) or a list with NUMA nodes "
        "(2G@0,2G@1), not \"2G,2G\"");
  CHECK_FALSE(parse({{"io.mkrun.mckernel.mem", "all@0"}}));
  CHECK_FALSE(parse({{"io.mkrun.mckernel.mem", "0"}}));
}

TEST_CASE("instance: dedicated, attach:<N> or job", "[request]") {
  auto r = parse({{"io.mkrun.mckernel.instance", "attach:3"}});
  REQUIRE(r);
  CHECK(r->mode == Mode::kAttach);
  CHECK(r->attach_os == 3);
  CHECK_FALSE(parse({{"io.mkrun.mckernel.instance", "attach:"}}));
  CHECK_FALSE(parse({{"io.mkrun.mckernel.instance", "attach:64"}}));
  CHECK_FALSE(parse({{"io.mkrun.mckernel.instance", "shared"}}));
  auto job = parse({{"io.mkrun.mckernel.instance", "job"}});
  REQUIRE(job);
  CHECK(job->mode == Mode::kAttach);
  CHECK(job->attach_job);
  CHECK_FALSE(r->attach_job);
  CHECK_FALSE(parse({{"io.mkrun.mckernel.instance", "job"}, {"io.mkrun.mckernel.ncpus", "1"}}));
  CHECK(parse({{"io.mkrun.mckernel.instance", "attach:0"}, {"io.mkrun.mckernel.ncpus", "2"}})
            .error()
            .render() ==
        "an attached instance is already booted: only io.mkrun.mckernel.mcexec_args applies to it");
  CHECK(parse(
      {{"io.mkrun.mckernel.instance", "attach:0"}, {"io.mkrun.mckernel.mcexec_args", "-t 4"}}));
}

TEST_CASE("unknown annotations in the namespace are refused", "[request]") {
  CHECK(parse({{"io.mkrun.mckernel.cpu", "4"}}).error().render() ==
        "unknown annotation io.mkrun.mckernel.cpu");
}

TEST_CASE("mcexec options are checked against mcexec's grammar", "[request]") {
  CHECK(parse_mcexec_args("-t 8 --mpol-no-stack -n4 --extend-heap-by=1G -s 2M,1G -m 0-1").value() ==
        std::vector<std::string>{"-t", "8", "--mpol-no-stack", "-n4", "--extend-heap-by=1G", "-s",
                                 "2M,1G", "-m", "0-1"});
  CHECK(parse_mcexec_args("--mpol-threshold 4M --profile").value() ==
        std::vector<std::string>{"--mpol-threshold", "4M", "--profile"});
  CHECK(parse_mcexec_args("").value().empty());
  for (const char* bad : {"-e LD_PRELOAD=/x", "-t", "-t x", "/bin/sh", "3", "--mpol-no-heap=1",
                          "--enable-uti=x", "--bind-mount", "-s 1G,x", "-m a"}) {
    INFO(bad);
    CHECK_FALSE(parse_mcexec_args(bad));
  }
  CHECK_THAT(parse_mcexec_args("-e A=B").error().render(),
             Catch::StartsWith("mcexec option \"-e\" is not allowed (allowed: -n -t -c -m -h -s"));
}

TEST_CASE("kernel arguments must be McKernel's", "[request]") {
  CHECK(parse_kargs("allow_oversubscribe time_sharing dump_level=0").value().size() == 3);
  CHECK_FALSE(parse_kargs("init=/bin/sh"));
  CHECK_FALSE(parse_kargs("dump_level=x"));
  CHECK_FALSE(parse_kargs("time_sharing=1"));
}

TEST_CASE("an IKC map needs the CPU list it routes", "[request]") {
  CHECK(parse({{"io.mkrun.mckernel.cpus", "4-5"}, {"io.mkrun.mckernel.ikc_map", "4-5:1"}}));
  CHECK_FALSE(parse({{"io.mkrun.mckernel.cpus", "4-6"}, {"io.mkrun.mckernel.ikc_map", "4-5:1"}}));
  CHECK_FALSE(parse({{"io.mkrun.mckernel.ncpus", "2"}, {"io.mkrun.mckernel.ikc_map", "4-5:1"}}));
}

TEST_CASE("features list every annotation with its grammar", "[request]") {
  auto features = feature_annotations();
  CHECK_FALSE(features.contains("io.mkrun.kernel"));  // the runtime's own, not the backend's
  for (const char* key : {"instance", "cpus", "ncpus", "mem", "ikc_map", "kargs", "mcexec_args",
                          "image", "boot_timeout"}) {
    INFO(key);
    CHECK(features.contains(std::string("io.mkrun.mckernel.") + key));
  }
}

// The numbers a container's config steers are read whole and in range: no sign, padding, other
// base or overflow sneaks past the bounds.
TEST_CASE("annotation numbers at and past their limits", "[request]") {
  CHECK(parse({{"io.mkrun.mckernel.ncpus", "4096"}})->ncpus == 4096);
  CHECK(parse({{"io.mkrun.mckernel.instance", "attach:63"}})->attach_os == 63);
  for (const char* bad :
       {"4097", "-1", "+8", " 8", "8 ", "0x8", "8.0", "2147483648", "99999999999999999999", ""}) {
    INFO(bad);
    CHECK_FALSE(parse({{"io.mkrun.mckernel.ncpus", bad}}));
  }
  for (const char* bad : {"attach:-1", "attach:+3", "attach: 3", "attach:3 ", "attach:0x3",
                          "attach:4294967299", "attach:99999999999999999999"}) {
    INFO(bad);
    CHECK_FALSE(parse({{"io.mkrun.mckernel.instance", bad}}));
  }
}
