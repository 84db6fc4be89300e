#include "mkrun/lwk/request.hpp"

#include <algorithm>
#include <array>
#include <functional>

#include "mkrun/base/numbers.hpp"
#include "mkrun/base/text.hpp"
#include "mkrun/lwk/config.hpp"

namespace mkrun::lwk {
namespace {

using ihk::CpuList;
using ihk::IkcMap;
using ihk::MemList;

bool all_digits(std::string_view text) {
  return !text.empty() && std::ranges::all_of(text, [](char c) { return c >= '0' && c <= '9'; });
}

// ---- mcexec options ---------------------------------------------------------------------------

enum class Value { kNone, kNumber, kSize, kNodes, kPremap };

struct McexecOption {
  char short_name;  // 0: long only
  std::string_view long_name;
  Value value;
};

// mcexec's own options (executer/user/mcexec.c) that only tune how the application runs on
// McKernel. Left out: -e (the environment belongs in process.env) and anything that is not an
// option, since mkrun puts the instance index and the program right after these.
constexpr std::array<McexecOption, 17> kMcexecOptions = {{
    {'n', "", Value::kNumber},
    {'t', "", Value::kNumber},
    {'c', "", Value::kNumber},
    {'m', "", Value::kNodes},
    {'h', "extend-heap-by", Value::kSize},
    {'s', "stack-premap", Value::kPremap},
    {'M', "mpol-threshold", Value::kSize},
    {0, "mpol-no-heap", Value::kNone},
    {0, "mpol-no-stack", Value::kNone},
    {0, "mpol-no-bss", Value::kNone},
    {0, "mpol-shm-premap", Value::kNone},
    {0, "disable-sched-yield", Value::kNone},
    {0, "enable-uti", Value::kNone},
    {0, "uti-thread-rank", Value::kNumber},
    {0, "uti-use-last-cpu", Value::kNone},
    {0, "no-bind-ikc-map", Value::kNone},
    {0, "enable-straight-map", Value::kNone},
}};
constexpr std::array<std::string_view, 1> kMoreMcexecFlags = {"profile"};

bool value_is_valid(Value kind, std::string_view value) {
  switch (kind) {
    case Value::kNone:
      return value.empty();
    case Value::kNumber:
      return all_digits(value);
    case Value::kSize:
      return static_cast<bool>(ihk::parse_size(value));
    case Value::kNodes:
      return static_cast<bool>(CpuList::parse(value)) && !value.empty();
    case Value::kPremap: {
      size_t comma = value.find(',');
      if (comma == std::string_view::npos) return static_cast<bool>(ihk::parse_size(value));
      return ihk::parse_size(value.substr(0, comma)) && ihk::parse_size(value.substr(comma + 1));
    }
  }
  return false;
}

const McexecOption* find_short(char name) {
  for (const auto& option : kMcexecOptions) {
    if (option.short_name == name) return &option;
  }
  return nullptr;
}

const McexecOption* find_long(std::string_view name) {
  for (const auto& option : kMcexecOptions) {
    if (!option.long_name.empty() && option.long_name == name) return &option;
  }
  static constexpr McexecOption kProfile{0, "profile", Value::kNone};
  if (std::ranges::find(kMoreMcexecFlags, name) != kMoreMcexecFlags.end()) return &kProfile;
  return nullptr;
}

std::string allowed_mcexec_options() {
  std::string text;
  for (const auto& option : kMcexecOptions) {
    if (!text.empty()) text += ' ';
    text += option.short_name != 0 ? std::string("-") + option.short_name
                                   : "--" + std::string(option.long_name);
  }
  return text + " --profile";
}

Error bad_mcexec_option(std::string_view token, std::string_view why) {
  return Error("mcexec option \"" + std::string(token) + "\" " + std::string(why) +
               " (allowed: " + allowed_mcexec_options() + ")");
}

// One option starting at tokens[i]; appends what it consumed to `out` and returns how many
// tokens that was.
Result<size_t> take_mcexec_option(const std::vector<std::string>& tokens, size_t i,
                                  std::vector<std::string>& out) {
  const std::string& token = tokens[i];
  const McexecOption* option = nullptr;
  std::string_view inline_value;
  bool has_inline = false;
  if (token.starts_with("--")) {
    std::string_view body = std::string_view(token).substr(2);
    size_t equals = body.find('=');
    option = find_long(body.substr(0, equals));
    has_inline = equals != std::string_view::npos;
    if (has_inline) inline_value = body.substr(equals + 1);
  } else if (token.size() >= 2 && token[0] == '-') {
    option = find_short(token[1]);
    has_inline = token.size() > 2;
    if (has_inline) inline_value = std::string_view(token).substr(2);
  }
  if (option == nullptr) return std::unexpected(bad_mcexec_option(token, "is not allowed"));
  if (option->value == Value::kNone) {
    if (has_inline) return std::unexpected(bad_mcexec_option(token, "takes no value"));
    out.push_back(token);
    return 1;
  }
  if (has_inline) {
    if (!value_is_valid(option->value, inline_value))
      return std::unexpected(bad_mcexec_option(token, "has an invalid value"));
    out.push_back(token);
    return 1;
  }
  if (i + 1 >= tokens.size() || !value_is_valid(option->value, tokens[i + 1]))
    return std::unexpected(bad_mcexec_option(token, "needs a valid value"));
  out.push_back(token);
  out.push_back(tokens[i + 1]);
  return 2;
}

// ---- kernel arguments --------------------------------------------------------------------------

// McKernel's command line (find_command_line in kernel/init.c, ap.c, mem.c, cpu.c).
constexpr std::array<std::string_view, 10> kKargFlags = {
    "hidos",          "allow_oversubscribe",
    "time_sharing",   "idle_halt",
    "turbo",          "safe_kernel_map",
    "anon_on_demand", "hugetlbfs_on_demand",
    "memdebug",       "xpmem_page_in_remote_on_attach"};
constexpr std::array<std::string_view, 1> kKargNumbers = {"dump_level"};

Result<void> check_karg(std::string_view karg) {
  size_t equals = karg.find('=');
  std::string_view name = karg.substr(0, equals);
  if (equals == std::string_view::npos && std::ranges::find(kKargFlags, name) != kKargFlags.end())
    return {};
  if (equals != std::string_view::npos &&
      std::ranges::find(kKargNumbers, name) != kKargNumbers.end() &&
      all_digits(karg.substr(equals + 1)))
    return {};
  std::string known;
  for (auto flag : kKargFlags) known += std::string(flag) + " ";
  return fail("McKernel kernel argument \"" + std::string(karg) +
              "\" is not allowed (known: " + known + "dump_level=N)");
}

// ---- the annotations ---------------------------------------------------------------------------

using Reader = std::function<Result<void>(LwkRequest&, std::string_view)>;

Result<void> read_instance(LwkRequest& r, std::string_view value) {
  if (value == "dedicated") {
    r.mode = Mode::kDedicated;
    return {};
  }
  if (value == "job") {
    r.mode = Mode::kAttach;
    r.attach_job = true;
    return {};
  }
  if (value.starts_with("attach:")) {
    std::string_view index = value.substr(7);
    int os = parse_number<int>(index).value_or(-1);
    if (os >= 0 && os < 64) {
      r.mode = Mode::kAttach;
      r.attach_os = os;
      return {};
    }
  }
  return fail("expected \"dedicated\", \"attach:<instance number>\" or \"job\", got \"" +
              std::string(value) + "\"");
}

Result<void> read_cpus(LwkRequest& r, std::string_view value) {
  CpuList cpus = MKRUN_TRY(CpuList::parse(value));
  if (cpus.empty()) return fail("the CPU list is empty");
  if (cpus.contains(0)) return fail("CPU 0 is never given to McKernel: Linux needs it");
  r.cpus = cpus;
  return {};
}

Result<void> read_ncpus(LwkRequest& r, std::string_view value) {
  int count = parse_number<int>(value).value_or(0);
  if (count < 1 || count > 4096)
    return fail("expected a number of CPUs, got \"" + std::string(value) + "\"");
  r.ncpus = count;
  return {};
}

// "2G@0,2G@1" names the nodes; "4G" is a total. A list without nodes would put everything on
// node 0 (IHK's default), which is rarely what was meant: refused.
Result<void> read_mem(LwkRequest& r, std::string_view value) {
  if (value.find('@') != std::string_view::npos) {
    r.mem = MKRUN_TRY(MemList::parse(value));
    return {};
  }
  if (value.find(',') != std::string_view::npos)
    return fail("give either a total (4G) or a list with NUMA nodes (2G@0,2G@1), not \"" +
                std::string(value) + "\"");
  uint64_t total = MKRUN_TRY(ihk::parse_size(value));
  if (total == 0) return fail("the memory size is zero");
  r.mem_total = total;
  return {};
}

Result<void> read_ikc_map(LwkRequest& r, std::string_view value) {
  r.ikc_map = MKRUN_TRY(IkcMap::parse(value));
  return {};
}

Result<void> read_kargs(LwkRequest& r, std::string_view value) {
  r.kargs = MKRUN_TRY(parse_kargs(value));
  return {};
}

Result<void> read_mcexec_args(LwkRequest& r, std::string_view value) {
  r.mcexec_args = MKRUN_TRY(parse_mcexec_args(value));
  return {};
}

Result<void> read_image(LwkRequest& r, std::string_view value) {
  if (!value.starts_with('/')) return fail("expected an absolute path");
  r.image = std::string(value);
  return {};
}

Result<void> read_boot_timeout(LwkRequest& r, std::string_view value) {
  r.boot_timeout = MKRUN_TRY(parse_duration(value));
  return {};
}

struct Annotation {
  std::string_view suffix;
  Reader read;
  std::string_view grammar;  // for `mkrun features`
};

const std::vector<Annotation>& annotations() {
  static const std::vector<Annotation> table = {
      {"instance", read_instance, "dedicated (default) | attach:<instance> | job"},
      {"cpus", read_cpus, "Linux CPU list for McKernel, in LWK order: 4-7,12 (never CPU 0)"},
      {"ncpus", read_ncpus, "number of CPUs for McKernel, chosen NUMA-compact: 8"},
      {"mem", read_mem, "IHK memory list 2G@0,2G@1, or a total split over the CPUs' nodes: 4G"},
      {"ikc_map", read_ikc_map, "IKC routing <lwk cpus>:<linux cpu>+...: 4-5:1+6-7:2"},
      {"kargs", read_kargs, "extra McKernel arguments: allow_oversubscribe time_sharing ..."},
      {"mcexec_args", read_mcexec_args, "extra mcexec options: -t 8 --mpol-no-stack ..."},
      {"image", read_image, "McKernel image, one the host configuration lists in `images`"},
      {"boot_timeout", read_boot_timeout, "how long to wait for RUNNING: 30s, 500ms, 2m"},
  };
  return table;
}

Result<void> check_consistency(const LwkRequest& r) {
  if (r.cpus && r.ncpus)
    return fail(std::string(kAnnotationPrefix) + "cpus and " + std::string(kAnnotationPrefix) +
                "ncpus are exclusive: give a list or a count");
  if (r.ikc_map && r.ncpus)
    return fail(std::string(kAnnotationPrefix) +
                "ikc_map needs an explicit CPU list (io.mkrun.mckernel.cpus), not a count");
  if (r.ikc_map && r.cpus && r.ikc_map->lwk_cpus().sorted() != r.cpus->sorted())
    return fail(std::string(kAnnotationPrefix) + "ikc_map must route every McKernel CPU (" +
                r.cpus->to_string() + ") exactly once");
  bool shapes = r.cpus || r.ncpus || r.mem || r.mem_total || r.ikc_map || !r.kargs.empty() ||
                r.image || r.boot_timeout;
  if (r.mode == Mode::kAttach && shapes)
    return fail("an attached instance is already booted: only " + std::string(kAnnotationPrefix) +
                "mcexec_args applies to it");
  return {};
}

}  // namespace

Result<std::vector<std::string>> parse_mcexec_args(std::string_view text) {
  std::vector<std::string> tokens;
  for (std::string_view word : text::words(text)) tokens.emplace_back(word);
  std::vector<std::string> out;
  for (size_t i = 0; i < tokens.size();) i += MKRUN_TRY(take_mcexec_option(tokens, i, out));
  return out;
}

Result<std::vector<std::string>> parse_kargs(std::string_view text) {
  std::vector<std::string> kargs;
  for (std::string_view word : text::words(text)) kargs.emplace_back(word);
  for (const std::string& karg : kargs) MKRUN_CHECK(check_karg(karg));
  return kargs;
}

Result<LwkRequest> parse_request(const std::map<std::string, std::string>& all) {
  LwkRequest request;
  for (const auto& [key, value] : all) {
    if (!key.starts_with(kAnnotationPrefix)) continue;
    std::string_view suffix = std::string_view(key).substr(kAnnotationPrefix.size());
    auto known = std::ranges::find(annotations(), suffix, &Annotation::suffix);
    if (known == annotations().end()) return fail("unknown annotation " + key);
    if (auto read = known->read(request, value); !read)
      return std::unexpected(std::move(read).error().wrap("annotation " + key));
  }
  MKRUN_CHECK(check_consistency(request));
  return request;
}

std::map<std::string, std::string> feature_annotations() {
  std::map<std::string, std::string> features;
  for (const Annotation& annotation : annotations())
    features[std::string(kAnnotationPrefix) + std::string(annotation.suffix)] =
        std::string(annotation.grammar);
  return features;
}

}  // namespace mkrun::lwk
