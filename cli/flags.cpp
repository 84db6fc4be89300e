#include "flags.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <limits>
#include <map>
#include <utility>

#include "command.hpp"
#include "log.hpp"
#include "mkrun/base/paths.hpp"

namespace mkrun::cli {
namespace {

std::optional<bool> parse_go_bool(std::string_view text) {
  constexpr std::array<std::string_view, 6> kTrue = {"1", "t", "T", "TRUE", "true", "True"};
  constexpr std::array<std::string_view, 6> kFalse = {"0", "f", "F", "FALSE", "false", "False"};
  if (std::ranges::find(kTrue, text) != kTrue.end()) return true;
  if (std::ranges::find(kFalse, text) != kFalse.end()) return false;
  return std::nullopt;
}

// Go's base prefixes for ParseInt(s, 0, ...): 0x, 0o, 0b, or a leading 0 for octal.
int take_base_prefix(std::string_view& digits) {
  if (digits.size() < 2 || digits[0] != '0') return 10;
  switch (std::tolower(static_cast<unsigned char>(digits[1]))) {
    case 'x':
      digits.remove_prefix(2);
      return 16;
    case 'o':
      digits.remove_prefix(2);
      return 8;
    case 'b':
      digits.remove_prefix(2);
      return 2;
    default:
      digits.remove_prefix(1);
      return 8;
  }
}

// strconv.ParseInt(text, 0, 64), without the '_' digit separators Go also allows there.
std::expected<long long, std::string> parse_go_int(std::string_view text) {
  const bool negative = text.starts_with('-');
  if (negative || text.starts_with('+')) text.remove_prefix(1);
  const int base = take_base_prefix(text);
  if (text.empty()) return std::unexpected("parse error");
  unsigned long long magnitude = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), magnitude, base);
  if (ec == std::errc::invalid_argument || end != text.data() + text.size()) {
    return std::unexpected("parse error");
  }
  constexpr auto kMax = static_cast<unsigned long long>(std::numeric_limits<long long>::max());
  // The most negative value has a magnitude one past the largest positive one.
  if (ec == std::errc::result_out_of_range || magnitude > kMax + (negative ? 1 : 0)) {
    return std::unexpected("value out of range");
  }
  return negative ? static_cast<long long>(0 - magnitude) : static_cast<long long>(magnitude);
}

// One "<number>[.<fraction>]<unit>" of time.ParseDuration, in nanoseconds; consumed from `text`.
std::optional<unsigned long long> take_duration_term(std::string_view& text) {
  constexpr std::array<std::pair<std::string_view, unsigned long long>, 8> kUnits = {{
      {"ns", 1ULL},
      {"us", 1'000ULL},
      {"\u00b5s", 1'000ULL},  // µs, micro sign
      {"\u03bcs", 1'000ULL},  // μs, Greek mu
      {"ms", 1'000'000ULL},
      {"s", 1'000'000'000ULL},
      {"m", 60'000'000'000ULL},
      {"h", 3'600'000'000'000ULL},
  }};
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  if (text.empty() || !(is_digit(text[0]) || text[0] == '.')) return std::nullopt;
  unsigned long long whole = 0;
  std::size_t i = 0;
  for (; i < text.size() && is_digit(text[i]); ++i) {
    if (whole > (std::numeric_limits<long long>::max() - 9) / 10) return std::nullopt;
    whole = whole * 10 + static_cast<unsigned>(text[i] - '0');
  }
  const bool had_whole = i > 0;
  unsigned long long fraction = 0;
  double scale = 1;
  bool had_fraction = false;
  if (i < text.size() && text[i] == '.') {
    for (++i; i < text.size() && is_digit(text[i]); ++i) {
      had_fraction = true;
      if (fraction > (std::numeric_limits<long long>::max() - 9) / 10) continue;  // Go drops them
      fraction = fraction * 10 + static_cast<unsigned>(text[i] - '0');
      scale *= 10;
    }
  }
  if (!had_whole && !had_fraction) return std::nullopt;
  std::size_t unit_end = i;
  while (unit_end < text.size() && !is_digit(text[unit_end]) && text[unit_end] != '.') ++unit_end;
  const std::string_view unit = text.substr(i, unit_end - i);
  const auto found =
      std::ranges::find_if(kUnits, [&](const auto& known) { return known.first == unit; });
  if (found == kUnits.end()) return std::nullopt;
  const unsigned long long per_unit = found->second;
  if (whole > (1ULL << 63) / per_unit) return std::nullopt;
  unsigned long long value = whole * per_unit;
  if (fraction > 0) {
    value += static_cast<unsigned long long>(static_cast<double>(fraction) *
                                             (static_cast<double>(per_unit) / scale));
  }
  text.remove_prefix(unit_end);
  return value;
}

// The value kinds of the flag tables. A Go bool flag is marked zero_tokens: it never takes the
// next argument (Go's IsBoolFlag); the parser hands it "true" or the text after '='.
po::typed_value<GoBool>* go_bool() {
  return po::value<GoBool>()->zero_tokens()->default_value(GoBool{}, "false");
}
po::typed_value<GoInt>* go_int(std::string_view fallback) {
  return po::value<GoInt>()->default_value(GoInt{parse_go_int(fallback).value()},
                                           std::string(fallback));
}
po::typed_value<std::string>* go_string(std::string fallback = "") {
  return po::value<std::string>()->default_value(std::move(fallback));
}
// Slices are multitoken: the parser hands Boost every occurrence's value at once.
po::typed_value<GoStringSlice>* go_string_slice() {
  return po::value<GoStringSlice>()->multitoken()->default_value(GoStringSlice{}, "");
}
po::typed_value<GoInt64Slice>* go_int64_slice() {
  return po::value<GoInt64Slice>()->multitoken()->default_value(GoInt64Slice{}, "");
}
po::typed_value<GoDuration>* go_duration(std::string_view fallback) {
  return po::value<GoDuration>()->default_value(GoDuration{parse_go_duration(fallback).value()},
                                                std::string(fallback));
}

// A bad default in the command table throws here, at the first parse of that command.
const po::value_semantic* flag_value(const FlagSpec& flag) {
  switch (flag.kind) {
    case FlagKind::boolean:
      return go_bool();
    case FlagKind::text:
      return go_string(std::string(flag.default_value));
    case FlagKind::integer:
      return go_int(flag.default_value);
    case FlagKind::duration:
      return go_duration(flag.default_value);
    case FlagKind::text_list:
      return go_string_slice();
    case FlagKind::integer_list:
      return go_int64_slice();
  }
  return nullptr;
}

bool is_bool_flag(const po::option_description& option) {
  return option.semantic()->max_tokens() == 0;
}

bool is_slice_flag(const po::option_description& option) {
  return option.semantic()->max_tokens() > 1;
}

// A flag by one of its names as typed without dashes: a long name, or a one-letter alias, which
// Boost keeps as the short name "-b".
const po::option_description* find_flag(const po::options_description& options,
                                        std::string_view name) {
  if (name.empty()) return nullptr;
  std::string key(name);
  if (const auto* option = options.find_nothrow(key, false)) return option;
  if (name.size() == 1) return options.find_nothrow("-" + key, false);
  return nullptr;
}

// urfave's argIsFlag: "--x", "-x", "--x=v" or "-x=v" where x is a name in the table.
bool names_flag(const po::options_description& options, std::string_view arg) {
  if (arg == "-" || !arg.starts_with('-')) return false;
  if (arg.starts_with("--")) arg.remove_prefix(2);
  if (arg.starts_with('-')) arg.remove_prefix(1);
  return find_flag(options, arg.substr(0, arg.find('='))) != nullptr;
}

// Runs the flag's Boost validator on `value`: Go's flag.Value.Set reports a bad value at once,
// before it looks at the flags that follow.
std::optional<std::string> value_error(const po::option_description& option,
                                       const std::string& value) {
  boost::any scratch;
  try {
    option.semantic()->parse(scratch, {value}, true);
  } catch (const GoValueError& error) {
    return error.reason();
  }
  return std::nullopt;
}

FlagError usage_error(std::string message) {
  return {FlagError::Kind::usage, std::move(message)};
}

// One flag as Go's FlagSet.parseOne sees it, after the dashes.
struct FlagToken {
  std::string name;
  std::optional<std::string> value;  // the text after '=', if any
};

std::expected<FlagToken, FlagError> split_flag_token(std::string_view arg) {
  std::string_view name = arg.substr(arg[1] == '-' ? 2 : 1);
  if (name.empty() || name[0] == '-' || name[0] == '=') {
    return std::unexpected(usage_error("bad flag syntax: " + std::string(arg)));
  }
  const std::size_t equals = name.find('=', 1);
  if (equals == std::string_view::npos) return FlagToken{std::string(name), std::nullopt};
  return FlagToken{std::string(name.substr(0, equals)), std::string(name.substr(equals + 1))};
}

// The flags given so far: the last value of each (Go keeps the last one) and the names it came
// under (for urfave's two-forms check), by the flag's long name.
struct FlagsSeen {
  std::map<std::string, po::option> last_value;
  std::map<std::string, std::vector<std::string>> names;

  void add(const po::option_description& option, const std::string& name, std::string value) {
    auto existing = last_value.find(option.long_name());
    if (is_slice_flag(option) && existing != last_value.end()) {
      existing->second.value.push_back(std::move(value));  // urfave's slices append
    } else {
      po::option parsed(option.long_name(), {std::move(value)});
      parsed.original_tokens = {"-" + name};
      last_value.insert_or_assign(option.long_name(), std::move(parsed));
    }
    auto& spellings = names[option.long_name()];
    if (std::ranges::find(spellings, name) == spellings.end()) spellings.push_back(name);
  }
};

// urfave's normalizeFlags: "Cannot use two forms of the same flag: b bundle" when a flag came
// under its long name and its alias. The first such flag in table order is named.
std::optional<FlagError> two_forms_error(const po::options_description& options,
                                         const FlagsSeen& seen) {
  for (const auto& option : options.options()) {
    const std::string& long_name = option->long_name();
    const auto found = seen.names.find(long_name);
    if (found == seen.names.end() || found->second.size() < 2) continue;
    const auto alias = std::ranges::find_if(
        found->second, [&](const std::string& name) { return name != long_name; });
    return FlagError{FlagError::Kind::two_forms,
                     "Cannot use two forms of the same flag: " + *alias + " " + long_name};
  }
  return std::nullopt;
}

// Go's parseOne for one flag whose name is known; may take the next argument as its value.
std::expected<void, FlagError> take_flag(const po::option_description& option,
                                         const FlagToken& token, std::span<const std::string> args,
                                         std::size_t& next, FlagsSeen& seen) {
  std::string value;
  if (is_bool_flag(option)) {
    value = token.value.value_or("true");
    if (auto reason = value_error(option, value)) {
      return std::unexpected(usage_error("invalid boolean value " + go_quote(value) + " for -" +
                                         token.name + ": " + *reason));
    }
  } else {
    if (token.value) {
      value = *token.value;
    } else if (next < args.size()) {
      value = args[next++];
    } else {
      return std::unexpected(usage_error("flag needs an argument: -" + token.name));
    }
    if (auto reason = value_error(option, value)) {
      return std::unexpected(usage_error("invalid value " + go_quote(value) + " for flag -" +
                                         token.name + ": " + *reason));
    }
  }
  seen.add(option, token.name, std::move(value));
  return {};
}

// runc's checkArgs messages; the program is named as invoked (os.Args[0]).
std::optional<std::string> argument_count_error(const ProgramInfo& info,
                                                const CommandDescriptor& command,
                                                std::size_t count) {
  const ArgCount& wanted = command.args;
  std::string requirement;
  std::size_t expected = 0;
  if (wanted.min == wanted.max && count != wanted.min) {
    requirement = "exactly", expected = wanted.min;
  } else if (count < wanted.min) {
    requirement = "a minimum of", expected = wanted.min;
  } else if (count > wanted.max) {
    requirement = "a maximum of", expected = wanted.max;
  } else {
    return std::nullopt;
  }
  return info.program + ": \"" + std::string(command.name) + "\" requires " + requirement + " " +
         std::to_string(expected) + " argument(s)";
}

// A help or version screen: stdout, exit 0.
Exit screen(std::string out) {
  return Exit{0, std::move(out), "", false};
}

// A usage error: the screen on stdout, `error` in the log, exit 1.
Exit usage_failure(std::string out, std::string error) {
  return Exit{1, std::move(out), std::move(error), false};
}

// urfave's helpCommand: an unknown topic is an ExitCoder with status 3, whose text urfave writes
// to its ErrWriter with a newline; runc's ErrWriter logs that text as it is.
Exit no_help_topic(std::string_view topic) {
  return Exit{3, "", "No help topic for '" + std::string(topic) + "'\n", true};
}

Exit help_topic(std::span<const std::string> topics, const ProgramInfo& info) {
  if (topics.empty() || topics[0] == "help" || topics[0] == "h") {
    return screen(app_help(info));
  }
  if (const CommandDescriptor* command = find_command(topics[0])) {
    return screen(command_help(*command));
  }
  return no_help_topic(topics[0]);
}

// urfave's App.Run on a global flag error: "Incorrect Usage." with a period, then the app help.
Exit global_usage_error(const FlagError& error, const ProgramInfo& info) {
  std::string out = error.kind == FlagError::Kind::two_forms
                        ? error.message + "\n"
                        : "Incorrect Usage. " + error.message + "\n\n";
  out += app_help(info);
  return usage_failure(std::move(out), error.message);
}

// What urfave hands Go's flag parsing: the arguments reordered, unless the command skips that.
std::vector<std::string> arguments_in_parse_order(const CommandDescriptor& command,
                                                  const po::options_description& options,
                                                  std::span<const std::string> args) {
  if (!command.reorders_args) return {args.begin(), args.end()};
  return reorder_args(options, args);
}

GlobalFlags global_flags(const ParsedFlags& parsed) {
  GlobalFlags flags;
  flags.debug = parsed.flag("debug");
  flags.log = parsed.text("log");
  flags.log_format = parsed.text("log-format");
  if (parsed.given("root")) flags.root = parsed.text("root");
  flags.systemd_cgroup = parsed.flag("systemd-cgroup");
  flags.rootless = parsed.text("rootless");
  flags.cgroup_manager = parsed.text("cgroup-manager");
  flags.kernel = parsed.text("kernel");
  flags.criu = parsed.text("criu");
  flags.cdi_devices = parsed.texts("cdi-device");
  flags.cdi_spec_dirs = parsed.text("cdi-spec-dirs");
  return flags;
}

}  // namespace

void validate(boost::any& store, const std::vector<std::string>& tokens, GoBool*, int) {
  const std::string& text = po::validators::get_single_string(tokens);
  const std::optional<bool> value = parse_go_bool(text);
  if (!value) throw GoValueError("parse error");
  store = GoBool{*value};
}

void validate(boost::any& store, const std::vector<std::string>& tokens, GoInt*, int) {
  const auto value = parse_go_int(po::validators::get_single_string(tokens));
  if (!value) throw GoValueError(value.error());
  store = GoInt{*value};
}

void validate(boost::any& store, const std::vector<std::string>& tokens, GoStringSlice*, int) {
  store = GoStringSlice{tokens};
}

void validate(boost::any& store, const std::vector<std::string>& tokens, GoInt64Slice*, int) {
  GoInt64Slice slice;
  for (const std::string& token : tokens) {
    const auto value = parse_go_int(token);
    if (!value) {
      const std::string reason = value.error() == "parse error" ? "invalid syntax" : value.error();
      throw GoValueError("strconv.ParseInt: parsing " + go_quote(token) + ": " + reason);
    }
    slice.values.push_back(*value);
  }
  store = std::move(slice);
}

void validate(boost::any& store, const std::vector<std::string>& tokens, GoDuration*, int) {
  const auto value = parse_go_duration(po::validators::get_single_string(tokens));
  if (!value) throw GoValueError("parse error");
  store = GoDuration{*value};
}

std::optional<long long> parse_go_duration(std::string_view text) {
  constexpr unsigned long long kLimit = 1ULL << 63;
  const bool negative = text.starts_with('-');
  if (negative || text.starts_with('+')) text.remove_prefix(1);
  if (text == "0") return 0;
  if (text.empty()) return std::nullopt;
  unsigned long long total = 0;
  while (!text.empty()) {
    const auto term = take_duration_term(text);
    if (!term || *term > kLimit - total) return std::nullopt;
    total += *term;
  }
  if (negative) return static_cast<long long>(0 - total);
  if (total > kLimit - 1) return std::nullopt;
  return static_cast<long long>(total);
}

bool ParsedFlags::flag(std::string_view name) const {
  return values[std::string(name)].as<GoBool>().value;
}

std::string ParsedFlags::text(std::string_view name) const {
  return values[std::string(name)].as<std::string>();
}

long long ParsedFlags::number(std::string_view name) const {
  return values[std::string(name)].as<GoInt>().value;
}

std::vector<std::string> ParsedFlags::texts(std::string_view name) const {
  return values[std::string(name)].as<GoStringSlice>().values;
}

std::vector<long long> ParsedFlags::numbers(std::string_view name) const {
  return values[std::string(name)].as<GoInt64Slice>().values;
}

long long ParsedFlags::nanoseconds(std::string_view name) const {
  return values[std::string(name)].as<GoDuration>().nanoseconds;
}

bool ParsedFlags::given(std::string_view name) const {
  const auto found = values.find(std::string(name));
  return found != values.end() && !found->second.defaulted();
}

std::expected<ParsedFlags, FlagError> parse_go_flags(const po::options_description& options,
                                                     std::span<const std::string> args) {
  FlagsSeen seen;
  std::size_t next = 0;
  while (next < args.size()) {
    const std::string& arg = args[next];
    if (arg.size() < 2 || arg[0] != '-') break;  // the first argument that is not a flag
    ++next;
    if (arg == "--") break;
    const auto token = split_flag_token(arg);
    if (!token) return std::unexpected(token.error());
    const po::option_description* option = find_flag(options, token->name);
    if (option == nullptr) {
      return std::unexpected(usage_error("flag provided but not defined: -" + token->name));
    }
    if (auto taken = take_flag(*option, *token, args, next, seen); !taken) {
      return std::unexpected(taken.error());
    }
  }
  if (auto error = two_forms_error(options, seen)) return std::unexpected(*error);

  ParsedFlags parsed;
  po::parsed_options given(&options);
  for (auto& [name, option] : seen.last_value) given.options.push_back(std::move(option));
  po::store(given, parsed.values);  // the values were validated above; this adds the defaults
  parsed.args.assign(args.begin() + static_cast<std::ptrdiff_t>(next), args.end());
  return parsed;
}

std::vector<std::string> reorder_args(const po::options_description& options,
                                      std::span<const std::string> args) {
  std::vector<std::string> flags;
  std::vector<std::string> rest;
  // After a flag without '=', the next argument moves with it as its value unless it names a
  // flag itself: `--memory-swap -1 ID` keeps its -1, and after a boolean flag the argument moves
  // too, so `kill ID --all 9` becomes `--all 9 ID`, as in runc.
  bool next_may_be_value = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (next_may_be_value && !names_flag(options, arg)) {
      flags.push_back(arg);  // even "-" (stdin) or "--": a value here, not the end of flags
      next_may_be_value = false;
    } else if (arg == "--") {
      // The end of the flags moves in front of the arguments before it, so they stay arguments.
      rest.insert(rest.begin(), arg);
      rest.insert(rest.end(), args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      break;
    } else if (names_flag(options, arg)) {
      flags.push_back(arg);
      next_may_be_value = arg.find('=') == std::string::npos;
    } else {
      rest.push_back(arg);
    }
  }
  flags.insert(flags.end(), rest.begin(), rest.end());
  return flags;
}

po::options_description global_options() {
  po::options_description options;
  auto add = options.add_options();
  add("debug", go_bool())("log", go_string())("log-format", go_string("text"));
  add("root", po::value<std::string>());  // no default: without --root, default_root() applies
  // runc 1.1's path to criu for checkpoint and restore (runc 1.2 dropped the flag and finds criu
  // in PATH, which is also the default here).
  add("criu", go_string("criu"));
  add("systemd-cgroup", go_bool())("rootless", go_string("auto"));
  // crun's name for the cgroup driver, which podman passes to the runtimes it knows as crun.
  add("cgroup-manager", go_string());
  // mkrun's own: the kernel for containers that do not choose one by annotation, so that an
  // engine that cannot pass annotations (Docker 20.10) selects McKernel through runtimeArgs.
  add("kernel", go_string());
  // mkrun's own too: CDI devices for engines that pass no cdi.k8s.io/ annotation (Slurm, Docker
  // 20.10), and where the CDI specs are (tests and sites that keep them elsewhere).
  add("cdi-device", go_string_slice());
  add("cdi-spec-dirs", go_string());
  add("help,h", go_bool())("version,v", go_bool());
  return options;
}

po::options_description command_options(std::span<const FlagSpec> flags) {
  po::options_description options;
  auto add = options.add_options();
  for (const FlagSpec& flag : flags) add(std::string(flag.names).c_str(), flag_value(flag));
  add("help,h", go_bool());  // urfave appends its help flag to every command's flags
  return options;
}

std::expected<GlobalParse, Exit> parse_global(std::span<const std::string> args,
                                              const ProgramInfo& info) {
  auto parsed = parse_go_flags(global_options(), args);
  if (!parsed) return std::unexpected(global_usage_error(parsed.error(), info));
  if (parsed->flag("help")) return std::unexpected(screen(app_help(info)));
  if (parsed->flag("version")) return std::unexpected(screen(version_text(info)));
  return GlobalParse{global_flags(*parsed), std::move(parsed->args)};
}

std::expected<Invocation, Exit> parse_command(const GlobalFlags& global,
                                              std::span<const std::string> rest,
                                              const ProgramInfo& info) {
  // urfave runs its help action when no command is named, and for `help`/`h`.
  if (rest.empty()) return std::unexpected(screen(app_help(info)));
  const std::string& name = rest[0];
  if (name == "help" || name == "h") return std::unexpected(help_topic(rest.subspan(1), info));
  const CommandDescriptor* command = find_command(name);
  if (command == nullptr) return std::unexpected(no_help_topic(name));

  const po::options_description options = command_options(command->flags);
  const std::string help = command_help(*command);
  auto parsed =
      parse_go_flags(options, arguments_in_parse_order(*command, options, rest.subspan(1)));
  if (!parsed) {
    const std::string& message = parsed.error().message;
    return std::unexpected(usage_failure("Incorrect Usage: " + message + "\n\n" + help, message));
  }
  if (parsed->flag("help")) return std::unexpected(screen(help));
  if (auto error = argument_count_error(info, *command, parsed->args.size())) {
    return std::unexpected(usage_failure("Incorrect Usage.\n\n" + help, *error));
  }
  return Invocation{global, *command, std::move(*parsed)};
}

std::expected<bool, std::string> resolve_rootless(std::string_view value, bool privileged) {
  std::string lower(value);
  std::ranges::transform(lower, lower.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower.empty() || lower == "auto") return !privileged;
  if (const auto parsed = parse_go_bool(value)) return *parsed;
  // runc's parseBoolOrAuto returns strconv.ParseBool's error as it is.
  return std::unexpected("strconv.ParseBool: parsing " + go_quote(value) + ": invalid syntax");
}

std::expected<runtime::CgroupManagerKind, std::string> resolve_cgroup_manager(
    bool systemd_cgroup, std::string_view cgroup_manager) {
  using Kind = runtime::CgroupManagerKind;
  if (cgroup_manager == "disabled") return Kind::kDisabled;
  if (cgroup_manager == "systemd") return Kind::kSystemd;
  if (cgroup_manager.empty() || cgroup_manager == "cgroupfs") {
    return systemd_cgroup ? Kind::kSystemd : Kind::kCgroupfs;
  }
  return std::unexpected("unknown cgroup manager specified");  // crun's words
}

std::string absolute_path(std::string_view path, std::string_view cwd) {
  if (path.starts_with('/')) return paths::clean_absolute(path);
  std::string joined(cwd);
  joined += '/';
  joined += path;
  return paths::clean_absolute(joined);
}

}  // namespace mkrun::cli
