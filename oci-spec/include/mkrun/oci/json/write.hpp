// A small JSON writer that produces the bytes Go's encoding/json produces (json.Marshal and
// json.MarshalIndent with an empty prefix), because runc's output is what engines parse and
// what we test against. Public for mkrun's own files (the state record) too.
//
// RapidJSON's PrettyWriter is close but not equal: it escapes control characters with upper-case
// hex and as \b \f, and knows nothing of Go's HTML-safe escaping of <, >, & or of U+2028/U+2029.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace mkrun::oci::json {

// Go's string escaping: ", \ and \n \r \t short; other control characters and <, >, & as
// \u00xx (lower-case hex); U+2028, U+2029 as \u2028, \u2029; each byte of invalid UTF-8 as
// \ufffd. `keep_invalid_utf8` passes bytes >= 0x80 through untouched instead, for files only we
// read back, where a path with arbitrary bytes must survive the round trip.
void append_quoted(std::string& out, std::string_view s, bool keep_invalid_utf8 = false);

class Writer {
 public:
  // `indent` empty: compact, as json.Marshal. Otherwise one `indent` per level, as
  // json.MarshalIndent(v, "", indent).
  explicit Writer(std::string indent = "", bool keep_invalid_utf8 = false);

  void begin_object();
  void end_object();
  void begin_array();
  void end_array();
  void key(std::string_view name);

  void value(std::string_view s);
  void value(const char* s) { value(std::string_view(s)); }
  void value(bool b);
  void null_value();  // Go's encoding of a nil slice, map or pointer
  void value(int64_t n);
  void value(uint64_t n);
  void value(int n) { value(static_cast<int64_t>(n)); }
  void value(uint32_t n) { value(static_cast<uint64_t>(n)); }

  // Shorthands for the common member shapes.
  template <class T>
  void member(std::string_view name, const T& v) {
    key(name);
    value(v);
  }
  void member(std::string_view name, const std::vector<std::string>& list);
  void member(std::string_view name, const std::map<std::string, std::string>& map);

  const std::string& str() const { return out_; }

 private:
  void before_value();
  void close(char bracket);
  void newline();

  std::string indent_;
  bool keep_invalid_utf8_;
  std::string out_;
  std::vector<size_t> counts_;  // values written so far in each open container
  bool after_key_ = false;
};

}  // namespace mkrun::oci::json
