// Reading typed values out of a RapidJSON DOM, with the JSON pointer of every value threaded
// through so that an error names what is wrong. Public for mkrun's own files (the state record)
// too.
//
// A struct reader is a function `read_json(const Value&, const std::string& path, T&)` declared
// in T's namespace (mkrun::oci); the generic readers below find it by argument-dependent lookup,
// so a struct field, a list of structs and a map of structs all read the same way:
//
//   static Status read_json(const Value& v, const std::string& path, IdMapping& out) {
//     return Fields(v, path)
//         .get("containerID", out.containerID)
//         .get("hostID", out.hostID)
//         .get("size", out.size)
//         .status();
//   }
//
// Decoding follows Go's encoding/json (what runc uses) where it matters for compatibility:
// unknown keys are ignored, null leaves a value at its default, the last of duplicated keys
// wins, keys match struct fields case-insensitively, and integers must be integral and in range.
#pragma once

#include <rapidjson/document.h>

#include <concepts>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "mkrun/oci/parse.hpp"

namespace mkrun::oci::json {

using Value = rapidjson::Value;
using Status = SpecResult<void>;

std::string_view type_name(const Value& v);

// `path` with one more JSON pointer token, escaped as RFC 6901 requires ('~' and '/').
std::string child(const std::string& path, std::string_view token);
std::string child(const std::string& path, size_t index);

// An error about the value at `path`. The root's pointer is the empty string; it is shown as
// "/" so that the message still starts with a pointer-looking token.
std::unexpected<SpecError> fail(const std::string& path, std::string_view message);
std::unexpected<SpecError> wrong_type(const std::string& path, std::string_view expected,
                                      const Value& got);

// How deeply arrays and objects may nest in any JSON mkrun reads, as in Go's encoding/json
// (runc): 10000 levels are accepted, one more is "exceeded max depth". The bound also keeps the
// recursive walks over a document (RapidJSON's Accept when `update` rewrites the config
// snapshot, which keeps unknown fields) within a thread's stack, ASan's larger frames included.
inline constexpr size_t kMaxJsonDepth = 10000;

// Parses a whole document without recursion; a syntax error reads like Go's ("invalid character
// 'x' ...") and carries RapidJSON's offset and text; nesting beyond kMaxJsonDepth is refused.
Status parse_document(std::string_view text, rapidjson::Document& doc);

// A document as compact JSON, walked without recursion (RapidJSON's Accept recurses once per
// level); nullopt when a number has no JSON form (beyond a double's range).
std::optional<std::string> write_document(const Value& root);

// The member of `object` that the readers below take for `key`: the last whose name matches
// exactly or case-insensitively, as in Go's decoder; null if none. Whoever writes a document
// that is read again (`update`'s snapshot rewrite) must write into this one.
const Value* find_member(const Value& object, std::string_view key);
Value* find_member(Value& object, std::string_view key);

// Scalars.
Status read_json(const Value& v, const std::string& path, std::string& out);
Status read_json(const Value& v, const std::string& path, bool& out);
Status read_integer(const Value& v, const std::string& path, int64_t min, uint64_t max,
                    std::string_view type, int64_t& as_signed, uint64_t& as_unsigned);

// A JSON number field; bool is an integral type in C++ but a separate type in JSON.
template <class T>
concept Integer = std::integral<T> && !std::same_as<T, bool> && sizeof(T) >= 2;

template <Integer T>
Status read_json(const Value& v, const std::string& path, T& out);

// Containers of anything readable.
template <class T>
Status read_json(const Value& v, const std::string& path, std::optional<T>& out);
template <class T>
Status read_json(const Value& v, const std::string& path, std::vector<T>& out);
template <class T>
Status read_json(const Value& v, const std::string& path, std::map<std::string, T>& out);

// Null means "not given", as in Go: the value keeps (here: gets) its default.
template <class T>
Status read_nullable(const Value& v, const std::string& path, T& out) {
  if (v.IsNull()) {
    out = T{};
    return {};
  }
  return read_json(v, path, out);
}

// The members of one JSON object, read field by field; the first error sticks and the later
// fields are skipped.
class Fields {
 public:
  // kRefuse decodes strictly, as Go's DisallowUnknownFields (CDI's specs): a member no get()
  // names is an "unknown field", a key given twice a "duplicate key", reported before any
  // error of the fields themselves.
  enum class Unknown { kIgnore, kRefuse };
  Fields(const Value& v, const std::string& path, Unknown unknown = Unknown::kIgnore);

  template <class T>
  Fields& get(std::string_view key, T& out) {
    if (unknown_ == Unknown::kRefuse) named_.push_back(key);
    if (!status_) return *this;
    if (const Value* member = find(key)) status_ = read_nullable(*member, child(path_, key), out);
    return *this;
  }

  Status status() const;

 private:
  const Value* find(std::string_view key) const;
  Status unnamed_members() const;

  const Value* object_ = nullptr;
  std::string path_;
  Unknown unknown_;
  std::vector<std::string_view> named_;  // with kRefuse: every key a get() asked for
  Status status_;
};

template <class T>
constexpr std::string_view integer_type_name() {
  if constexpr (std::is_signed_v<T>) {
    return sizeof(T) == 8 ? "int64" : sizeof(T) == 4 ? "int32" : "int16";
  } else {
    return sizeof(T) == 8 ? "uint64" : sizeof(T) == 4 ? "uint32" : "uint16";
  }
}

template <Integer T>
Status read_json(const Value& v, const std::string& path, T& out) {
  int64_t as_signed = 0;
  uint64_t as_unsigned = 0;
  auto status = read_integer(v, path, static_cast<int64_t>(std::numeric_limits<T>::min()),
                             static_cast<uint64_t>(std::numeric_limits<T>::max()),
                             integer_type_name<T>(), as_signed, as_unsigned);
  if (!status) return status;
  out = std::is_signed_v<T> ? static_cast<T>(as_signed) : static_cast<T>(as_unsigned);
  return {};
}

template <class T>
Status read_json(const Value& v, const std::string& path, std::optional<T>& out) {
  out.emplace();
  return read_json(v, path, *out);
}

template <class T>
Status read_json(const Value& v, const std::string& path, std::vector<T>& out) {
  if (!v.IsArray()) return wrong_type(path, "array", v);
  out.clear();
  out.resize(v.Size());
  for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
    if (auto status = read_nullable(v[i], child(path, i), out[i]); !status) return status;
  }
  return {};
}

template <class T>
Status read_json(const Value& v, const std::string& path, std::map<std::string, T>& out) {
  if (!v.IsObject()) return wrong_type(path, "object", v);
  out.clear();
  for (const auto& member : v.GetObject()) {
    std::string key(member.name.GetString(), member.name.GetStringLength());
    T value{};
    if (auto status = read_nullable(member.value, child(path, key), value); !status) return status;
    out.insert_or_assign(std::move(key), std::move(value));  // a repeated key: the last wins
  }
  return {};
}

}  // namespace mkrun::oci::json
