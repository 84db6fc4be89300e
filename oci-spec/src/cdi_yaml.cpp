// YAML spec files through libyaml's event parser, built into the JSON tree the CDI readers take.
// Iterative (a stack of open collections), so a deeply nested file cannot exhaust the stack.
#include <yaml.h>

#include <array>
#include <charconv>
#include <cstring>
#include <string>
#include <vector>

#include "cdi_internal.hpp"
#include "mkrun/base/numbers.hpp"
#include "mkrun/oci/json/read.hpp"

namespace mkrun::oci::cdi::internal {
namespace {

using Allocator = rapidjson::Document::AllocatorType;

class Parser {
 public:
  explicit Parser(std::string_view text) {
    ::yaml_parser_initialize(&parser_);
    ::yaml_parser_set_input_string(&parser_, reinterpret_cast<const unsigned char*>(text.data()),
                                   text.size());
  }
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;
  ~Parser() { ::yaml_parser_delete(&parser_); }
  yaml_parser_t* get() { return &parser_; }

 private:
  yaml_parser_t parser_{};
};

class Event {
 public:
  Event() = default;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  ~Event() { ::yaml_event_delete(&event_); }
  yaml_event_t* get() { return &event_; }
  const yaml_event_t& operator*() const { return event_; }

 private:
  yaml_event_t event_{};
};

// The CDI fields whose values are numbers or booleans; every other scalar is a string.
bool takes_typed_scalars(std::string_view key) {
  constexpr std::array<std::string_view, 8> kTyped = {
      "major", "minor", "filemode", "uid", "gid", "timeout", "additionalgids", "enablemonitoring"};
  std::string lower(key);
  for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  for (std::string_view typed : kTyped) {
    if (lower == typed) return true;
  }
  return false;
}

bool is_null_text(std::string_view text) {
  return text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL";
}

// An integer in YAML's notations: decimal, 0x hex, 0o octal, and YAML 1.1's leading-zero octal
// (CDI's decoder is YAML 1.1: `fileMode: 0666` is 438).
std::optional<rapidjson::Value> integer_value(std::string_view text) {
  bool negative = false;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  int base = 10;
  if (text.starts_with("0x") || text.starts_with("0X")) {
    base = 16;
    text.remove_prefix(2);
  } else if (text.starts_with("0o")) {
    base = 8;
    text.remove_prefix(2);
  } else if (text.size() > 1 && text[0] == '0') {
    base = 8;
    text.remove_prefix(1);
  }
  uint64_t magnitude = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), magnitude, base);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  if (!negative) return rapidjson::Value(magnitude);
  if (magnitude > (uint64_t{1} << 63)) return std::nullopt;
  return rapidjson::Value(static_cast<int64_t>(0 - magnitude));
}

rapidjson::Value typed_scalar(std::string_view text, Allocator& allocator) {
  if (is_null_text(text)) return rapidjson::Value();
  if (text == "true" || text == "True" || text == "TRUE") return rapidjson::Value(true);
  if (text == "false" || text == "False" || text == "FALSE") return rapidjson::Value(false);
  if (auto number = integer_value(text)) return std::move(*number);
  if (auto real = parse_real(text)) return rapidjson::Value(*real);
  return rapidjson::Value(text.data(), static_cast<rapidjson::SizeType>(text.size()), allocator);
}

// One open mapping or sequence: its value, and for a mapping the key waiting for its value.
struct Open {
  rapidjson::Value value;
  bool has_key = false;
  rapidjson::Value key;
  bool typed = false;         // scalars in it are numbers/booleans (a sequence under such a key)
  bool strings_only = false;  // an annotations map: its keys are names, not fields
};

class Builder {
 public:
  explicit Builder(rapidjson::Document& doc) : doc_(doc) {}

  SpecResult<void> scalar(const yaml_event_t& event, std::string_view where) {
    auto text = std::string_view(reinterpret_cast<const char*>(event.data.scalar.value),
                                 event.data.scalar.length);
    Allocator& a = doc_.GetAllocator();
    if (expects_key()) {
      return set_key(
          rapidjson::Value(text.data(), static_cast<rapidjson::SizeType>(text.size()), a), where);
    }
    const bool plain = event.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    rapidjson::Value value;
    if (plain && scalar_typed()) {
      value = typed_scalar(text, a);
    } else if (plain && is_null_text(text)) {
      value = rapidjson::Value();
    } else {
      value = rapidjson::Value(text.data(), static_cast<rapidjson::SizeType>(text.size()), a);
    }
    return add(std::move(value));
  }

  SpecResult<void> open(rapidjson::Type type, std::string_view where) {
    if (expects_key())
      return std::unexpected(SpecError{std::string(where) + ": a key must be text"});
    if (open_.size() >= json::kMaxJsonDepth) {
      return std::unexpected(SpecError{std::string(where) + ": exceeded max depth"});
    }
    bool typed = type == rapidjson::kArrayType && key_is_typed();
    bool strings_only = under_annotations();
    open_.push_back(Open{rapidjson::Value(type), false, rapidjson::Value(), typed, strings_only});
    return {};
  }

  SpecResult<void> close() {
    rapidjson::Value done = std::move(open_.back().value);
    open_.pop_back();
    return add(std::move(done));
  }

  bool finished() const { return finished_; }

 private:
  bool expects_key() const {
    return !open_.empty() && open_.back().value.IsObject() && !open_.back().has_key;
  }
  bool under_annotations() const {
    if (open_.empty()) return false;
    if (open_.back().strings_only) return true;
    if (!open_.back().has_key) return false;
    const rapidjson::Value& key = open_.back().key;
    std::string_view name(key.GetString(), key.GetStringLength());
    return name.size() == 11 && (name == "annotations" || name == "Annotations");
  }
  bool key_is_typed() const {
    if (open_.empty() || !open_.back().has_key || open_.back().strings_only) return false;
    const rapidjson::Value& key = open_.back().key;
    return takes_typed_scalars({key.GetString(), key.GetStringLength()});
  }
  bool scalar_typed() const { return key_is_typed() || (!open_.empty() && open_.back().typed); }

  SpecResult<void> set_key(rapidjson::Value key, std::string_view where) {
    Open& top = open_.back();
    std::string_view name(key.GetString(), key.GetStringLength());
    if (top.value.FindMember(key) != top.value.MemberEnd()) {
      return std::unexpected(
          SpecError{std::string(where) + ": key \"" + std::string(name) + "\" already set"});
    }
    top.key = std::move(key);
    top.has_key = true;
    return {};
  }

  SpecResult<void> add(rapidjson::Value value) {
    Allocator& a = doc_.GetAllocator();
    if (open_.empty()) {
      doc_.CopyFrom(value, a);  // the document's root: the value was made with its allocator
      finished_ = true;
      return {};
    }
    Open& top = open_.back();
    if (top.value.IsArray()) {
      top.value.PushBack(std::move(value), a);
    } else {
      top.value.AddMember(std::move(top.key), std::move(value), a);
      top.key = rapidjson::Value();
      top.has_key = false;
    }
    return {};
  }

  rapidjson::Document& doc_;
  std::vector<Open> open_;
  bool finished_ = false;
};

std::string position(const yaml_mark_t& mark) {
  return "line " + std::to_string(mark.line + 1) + " column " + std::to_string(mark.column + 1);
}

SpecError parser_error(yaml_parser_t* parser) {
  std::string text = "yaml: " + std::string(parser->problem ? parser->problem : "syntax error");
  text += " at " + position(parser->problem_mark);
  if (parser->context) text += " (" + std::string(parser->context) + ")";
  return SpecError{text};
}

}  // namespace

SpecResult<void> parse_yaml(std::string_view text, rapidjson::Document& doc) {
  Parser parser(text);
  Builder builder(doc);
  doc.SetNull();
  while (!builder.finished()) {
    Event event;
    if (!::yaml_parser_parse(parser.get(), event.get())) {
      return std::unexpected(parser_error(parser.get()));
    }
    const std::string where = "yaml: " + position((*event).start_mark);
    SpecResult<void> step;
    switch ((*event).type) {
      case YAML_STREAM_END_EVENT:
        return {};  // no document, or an empty one: the root stays null
      case YAML_SCALAR_EVENT:
        step = builder.scalar(*event, where);
        break;
      case YAML_MAPPING_START_EVENT:
        step = builder.open(rapidjson::kObjectType, where);
        break;
      case YAML_SEQUENCE_START_EVENT:
        step = builder.open(rapidjson::kArrayType, where);
        break;
      case YAML_MAPPING_END_EVENT:
      case YAML_SEQUENCE_END_EVENT:
        step = builder.close();
        break;
      case YAML_ALIAS_EVENT:
        return std::unexpected(SpecError{where + ": aliases are not supported"});
      default:
        break;  // stream and document starts, document ends
    }
    if (!step) return step;
  }
  return {};
}

}  // namespace mkrun::oci::cdi::internal
