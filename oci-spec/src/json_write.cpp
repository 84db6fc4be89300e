#include "mkrun/oci/json/write.hpp"

#include <utility>

namespace mkrun::oci::json {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void append_unicode_escape(std::string& out, unsigned code) {
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(code >> shift) & 0xf];
}

// The length of the valid UTF-8 sequence starting s[i], or 0 where Go's utf8.DecodeRune would
// return RuneError of width 1 (bad lead byte, bad or missing continuation, overlong form,
// surrogate, beyond U+10FFFF).
size_t utf8_sequence_length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char lead = byte(i);
  size_t length = 0;
  unsigned char low = 0x80;  // range of the first continuation byte, which depends on the lead
  unsigned char high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) low = 0xa0;
    if (lead == 0xed) high = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) low = 0x90;
    if (lead == 0xf4) high = 0x8f;
  } else {
    return 0;
  }
  if (i + length > s.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) return 0;
  }
  return length;
}

void append_ascii(std::string& out, char c) {
  switch (c) {
    case '"':
      out += "\\\"";
      return;
    case '\\':
      out += "\\\\";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    case '<':
    case '>':
    case '&':  // Go's HTML-safe default
      append_unicode_escape(out, static_cast<unsigned>(c));
      return;
    default:
      if (static_cast<unsigned char>(c) < 0x20) {
        append_unicode_escape(out, static_cast<unsigned>(c));
      } else {
        out += c;
      }
  }
}

}  // namespace

void append_quoted(std::string& out, std::string_view s, bool keep_invalid_utf8) {
  out += '"';
  for (size_t i = 0; i < s.size();) {
    auto lead = static_cast<unsigned char>(s[i]);
    if (lead < 0x80) {
      append_ascii(out, s[i++]);
      continue;
    }
    size_t length = utf8_sequence_length(s, i);
    if (length == 0) {
      if (keep_invalid_utf8) {
        out += s[i];
      } else {
        append_unicode_escape(out, 0xfffd);
      }
      ++i;
      continue;
    }
    std::string_view sequence = s.substr(i, length);
    // U+2028 and U+2029 (E2 80 A8/A9) end lines in JavaScript; Go escapes them.
    if (sequence == "\xe2\x80\xa8" || sequence == "\xe2\x80\xa9") {
      append_unicode_escape(out, sequence[2] == '\xa8' ? 0x2028 : 0x2029);
    } else {
      out += sequence;
    }
    i += length;
  }
  out += '"';
}

Writer::Writer(std::string indent, bool keep_invalid_utf8)
    : indent_(std::move(indent)), keep_invalid_utf8_(keep_invalid_utf8) {}

void Writer::newline() {
  if (indent_.empty()) return;
  out_ += '\n';
  for (size_t level = 0; level < counts_.size(); ++level) out_ += indent_;
}

// Separates a value from its predecessor in the enclosing container; a value after a key is
// already placed.
void Writer::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (counts_.empty()) return;
  if (counts_.back()++ > 0) out_ += ',';
  newline();
}

// Go writes an empty container as {} or [] even when indenting.
void Writer::close(char bracket) {
  bool empty = counts_.back() == 0;
  counts_.pop_back();
  if (!empty) newline();
  out_ += bracket;
}

void Writer::begin_object() {
  before_value();
  out_ += '{';
  counts_.push_back(0);
}

void Writer::end_object() {
  close('}');
}

void Writer::begin_array() {
  before_value();
  out_ += '[';
  counts_.push_back(0);
}

void Writer::end_array() {
  close(']');
}

void Writer::key(std::string_view name) {
  before_value();
  append_quoted(out_, name, keep_invalid_utf8_);
  out_ += indent_.empty() ? ":" : ": ";
  after_key_ = true;
}

void Writer::value(std::string_view s) {
  before_value();
  append_quoted(out_, s, keep_invalid_utf8_);
}

void Writer::value(bool b) {
  before_value();
  out_ += b ? "true" : "false";
}

void Writer::null_value() {
  before_value();
  out_ += "null";
}

void Writer::value(int64_t n) {
  before_value();
  out_ += std::to_string(n);
}

void Writer::value(uint64_t n) {
  before_value();
  out_ += std::to_string(n);
}

void Writer::member(std::string_view name, const std::vector<std::string>& list) {
  key(name);
  begin_array();
  for (const auto& item : list) value(item);
  end_array();
}

void Writer::member(std::string_view name, const std::map<std::string, std::string>& map) {
  key(name);
  begin_object();
  for (const auto& [k, v] : map) member(k, v);
  end_object();
}

}  // namespace mkrun::oci::json
