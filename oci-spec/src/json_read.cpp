#include "mkrun/oci/json/read.hpp"

#include <algorithm>
#include <set>

#include <rapidjson/encodedstream.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include "mkrun/base/numbers.hpp"

#include <cmath>

namespace mkrun::oci::json {
namespace {

bool equal_ignoring_ascii_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view name_of(const Value& member_name) {
  return {member_name.GetString(), member_name.GetStringLength()};
}

// How Go's scanner names an unexpected byte: printable ASCII quoted, anything else in hex.
std::string quote_byte(unsigned char c) {
  if (c == '\'') return "'\\''";
  if (c >= 0x20 && c < 0x7f) return std::string{'\'', static_cast<char>(c), '\''};
  constexpr char kHex[] = "0123456789abcdef";
  return std::string{'\'', '\\', 'x', kHex[c >> 4], kHex[c & 0xf], '\''};
}

}  // namespace

std::string_view type_name(const Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType:
      return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      return "boolean";
    case rapidjson::kObjectType:
      return "object";
    case rapidjson::kArrayType:
      return "array";
    case rapidjson::kStringType:
      return "string";
    case rapidjson::kNumberType:
      return "number";
  }
  return "unknown";
}

std::string child(const std::string& path, std::string_view token) {
  std::string result = path + "/";
  for (char c : token) {
    if (c == '~') {
      result += "~0";
    } else if (c == '/') {
      result += "~1";
    } else {
      result += c;
    }
  }
  return result;
}

std::string child(const std::string& path, size_t index) {
  return path + "/" + std::to_string(index);
}

std::unexpected<SpecError> fail(const std::string& path, std::string_view message) {
  return std::unexpected(SpecError{(path.empty() ? "/" : path) + ": " + std::string(message)});
}

std::unexpected<SpecError> wrong_type(const std::string& path, std::string_view expected,
                                      const Value& got) {
  return fail(path, "expected " + std::string(expected) + ", got " + std::string(type_name(got)));
}

namespace {

// Forwards the parser's events to the document and stops the parse when containers nest deeper
// than kMaxJsonDepth, as Go's decoder, which runc uses, does. Nothing later walks the DOM
// recursively (`update` rewrites a snapshot without recursion), but a bound keeps every walk
// and every error message small.
class DepthLimit {
 public:
  explicit DepthLimit(rapidjson::Document& doc) : doc_(doc) {}

  bool Null() { return doc_.Null(); }
  bool Bool(bool b) { return doc_.Bool(b); }
  bool Int(int i) { return doc_.Int(i); }
  bool Uint(unsigned i) { return doc_.Uint(i); }
  bool Int64(int64_t i) { return doc_.Int64(i); }
  bool Uint64(uint64_t i) { return doc_.Uint64(i); }
  bool Double(double d) { return doc_.Double(d); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) {
    return doc_.RawNumber(s, n, copy);
  }
  bool String(const char* s, rapidjson::SizeType n, bool copy) { return doc_.String(s, n, copy); }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) { return doc_.Key(s, n, copy); }
  bool StartObject() { return enter() && doc_.StartObject(); }
  bool EndObject(rapidjson::SizeType members) {
    --depth_;
    return doc_.EndObject(members);
  }
  bool StartArray() { return enter() && doc_.StartArray(); }
  bool EndArray(rapidjson::SizeType elements) {
    --depth_;
    return doc_.EndArray(elements);
  }

  bool exceeded() const { return exceeded_; }

 private:
  bool enter() {
    if (++depth_ <= kMaxJsonDepth) return true;
    exceeded_ = true;
    return false;
  }

  rapidjson::Document& doc_;
  size_t depth_ = 0;
  bool exceeded_ = false;
};

}  // namespace

Status parse_document(std::string_view text, rapidjson::Document& doc) {
  // Iterative: the parser keeps its own heap stack, so no input depth can overflow the thread's.
  rapidjson::MemoryStream bytes(text.data(), text.size());
  rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> stream(bytes);
  DepthLimit limit(doc);
  rapidjson::ParseResult result;
  auto parse = [&](rapidjson::Document&) {
    rapidjson::Reader reader;
    result = reader.Parse<rapidjson::kParseIterativeFlag>(stream, limit);
    return !result.IsError();
  };
  doc.Populate(parse);
  if (!result.IsError()) return {};
  size_t offset = result.Offset();
  if (limit.exceeded()) {
    // Go's words ("invalid character '[' exceeded max depth"), then the bound and the place.
    // The iterative parser reports the offset of the bracket that opened one level too many.
    char opened = offset < text.size() ? text[offset] : '[';
    std::string bracket = quote_byte(static_cast<unsigned char>(opened));
    return std::unexpected(SpecError{"invalid character " + bracket +
                                     " exceeded max depth: arrays and objects nested deeper than " +
                                     std::to_string(kMaxJsonDepth) + " levels at offset " +
                                     std::to_string(offset)});
  }
  std::string what = offset < text.size() ? "invalid character " +
                                                quote_byte(static_cast<unsigned char>(text[offset]))
                                          : std::string("unexpected end of JSON input");
  return std::unexpected(SpecError{what + ": parse error at offset " + std::to_string(offset) +
                                   ": " + rapidjson::GetParseError_En(result.Code())});
}

Status read_json(const Value& v, const std::string& path, std::string& out) {
  if (!v.IsString()) return wrong_type(path, "string", v);
  out.assign(v.GetString(), v.GetStringLength());
  return {};
}

Status read_json(const Value& v, const std::string& path, bool& out) {
  if (!v.IsBool()) return wrong_type(path, "boolean", v);
  out = v.GetBool();
  return {};
}

Status read_integer(const Value& v, const std::string& path, int64_t min, uint64_t max,
                    std::string_view type, int64_t& as_signed, uint64_t& as_unsigned) {
  if (!v.IsNumber()) return wrong_type(path, type, v);
  auto out_of_range = [&](std::string_view value) {
    return fail(path, std::string(value) + " is out of range for " + std::string(type));
  };
  if (v.IsUint64()) {
    uint64_t value = v.GetUint64();
    if (value > max) return out_of_range(std::to_string(value));
    as_unsigned = value;
    as_signed = static_cast<int64_t>(value);  // max of a signed type keeps this exact
    return {};
  }
  if (v.IsInt64()) {  // not a uint64, so negative
    int64_t value = v.GetInt64();
    if (value < min) return out_of_range(std::to_string(value));
    as_signed = value;
    return {};
  }
  // RapidJSON makes a double of anything with a fraction or an exponent, or beyond 64 bits. Go
  // refuses all of them for an integer field. (A double that large is a whole number anyway.)
  double value = v.GetDouble();
  if (std::isfinite(value) && std::fabs(value) >= 9.2e18) {
    return out_of_range(format_real(value));
  }
  return fail(path,
              "expected " + std::string(type) + ", got non-integer number " + format_real(value));
}

Fields::Fields(const Value& v, const std::string& path, Unknown unknown)
    : path_(path), unknown_(unknown) {
  if (v.IsObject()) {
    object_ = &v;
  } else {
    status_ = wrong_type(path, "object", v);
  }
}

// Like Go's decoder: an exact or case-insensitive key match, and the last one wins.
const Value* find_member(const Value& object, std::string_view key) {
  const Value* found = nullptr;
  for (const auto& member : object.GetObject()) {
    if (equal_ignoring_ascii_case(name_of(member.name), key)) found = &member.value;
  }
  return found;
}

Value* find_member(Value& object, std::string_view key) {
  return const_cast<Value*>(find_member(static_cast<const Value&>(object), key));
}

const Value* Fields::find(std::string_view key) const {
  return find_member(*object_, key);
}

Status Fields::unnamed_members() const {
  std::set<std::string_view> seen;
  for (const auto& member : object_->GetObject()) {
    std::string_view name = name_of(member.name);
    if (!seen.insert(name).second) return fail(child(path_, name), "duplicate key");
    bool named = std::ranges::any_of(
        named_, [&](std::string_view key) { return equal_ignoring_ascii_case(key, name); });
    if (!named) return fail(child(path_, name), "unknown field");
  }
  return {};
}

Status Fields::status() const {
  if (object_ != nullptr && unknown_ == Unknown::kRefuse) {
    if (auto unnamed = unnamed_members(); !unnamed) return unnamed;
  }
  return status_;
}

}  // namespace mkrun::oci::json
