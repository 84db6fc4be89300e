// A minimal D-Bus client: just enough of the protocol to drive systemd's manager
// (org.freedesktop.systemd1) for the systemd cgroup driver, without libsystemd or libdbus.
//
// Covered: SASL EXTERNAL authentication, the little-endian message format, the value types the
// systemd calls use (y b u t s o g, arrays, structs, variants), method calls with their replies,
// and signals that arrive meanwhile (JobRemoved). Not covered: fd passing, big-endian peers'
// bodies beyond the header, introspection.
//
// The encoding and decoding are pure and unit-tested byte for byte; Connection does the I/O.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "mkrun/base/error.hpp"
#include "mkrun/base/fd.hpp"

namespace mkrun::cgroups::dbus {

// The values a systemd unit property can take here: b, u, t, s, ay, au, as.
using Value = std::variant<bool, uint32_t, uint64_t, std::string, std::vector<uint8_t>,
                           std::vector<uint32_t>, std::vector<std::string>>;

// One entry of an a(sv): a unit property such as ("MemoryMax", uint64_t{1 << 20}).
struct Property {
  std::string name;
  Value value;
  friend bool operator==(const Property&, const Property&) = default;
};

// The D-Bus signature of a value: "b", "u", "t", "s", "ay", "au" or "as".
std::string_view signature_of(const Value& value);

// Appends values in the wire format (little endian), padding each to its alignment, counted from
// the start of the buffer (a message body starts 8-aligned, so this is the message's alignment).
class Writer {
 public:
  void byte(uint8_t value);
  void boolean(bool value);
  void uint32(uint32_t value);
  void uint64(uint64_t value);
  void string(std::string_view value);  // also object paths ("o")
  void signature(std::string_view value);
  void value(const Value& value);                            // the bare value
  void variant(const Value& value);                          // signature, then the value
  void properties(const std::vector<Property>& properties);  // a(sv)
  // An array: begin_array() writes the length's place and pads to the elements' alignment (even
  // for an empty array), end_array() fills the length in: the bytes after that padding.
  struct ArrayMark {
    size_t length_at = 0;
    size_t elements_at = 0;
  };
  ArrayMark begin_array(size_t element_alignment);
  void end_array(const ArrayMark& mark);
  void begin_struct() { align(8); }
  void align(size_t alignment);

  const std::vector<uint8_t>& bytes() const { return bytes_; }
  std::vector<uint8_t> take() { return std::move(bytes_); }

 private:
  std::vector<uint8_t> bytes_;
};

// Reads values back, checking every length and padding against the buffer.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  Result<uint8_t> byte();
  Result<uint32_t> uint32();
  Result<uint64_t> uint64();
  Result<std::string> string();  // "s" and "o"
  Result<std::string> signature();
  // A variant holding a string ("s" or "o"), as Properties.Get returns for Version.
  Result<std::string> variant_string();
  // Skips one complete value of a basic type (header fields of unknown codes).
  Result<void> skip_basic(char type);
  Result<void> align(size_t alignment);
  size_t offset() const { return offset_; }
  bool at_end() const { return offset_ == bytes_.size(); }

 private:
  Result<std::span<const uint8_t>> take(size_t count);
  std::span<const uint8_t> bytes_;
  size_t offset_ = 0;
};

enum class MessageType : uint8_t {
  kInvalid = 0,
  kMethodCall = 1,
  kReturn = 2,
  kError = 3,
  kSignal = 4
};

struct Message {
  MessageType type = MessageType::kInvalid;
  uint8_t flags = 0;
  uint32_t serial = 0;
  uint32_t reply_serial = 0;  // replies and errors
  std::string path;
  std::string interface;
  std::string member;
  std::string error_name;
  std::string destination;
  std::string sender;
  std::string signature;  // of the body
  std::vector<uint8_t> body;

  // "org.freedesktop.systemd1.NoSuchUnit: Unit x.scope not loaded." for an error reply.
  std::string error_text() const;
};

// A method call, ready for encode(): destination, path, interface, member, and a body written
// with a Writer that matches `signature`.
Message method_call(std::string destination, std::string path, std::string interface,
                    std::string member, std::string signature = {}, std::vector<uint8_t> body = {});

// The whole message in the wire format, header fields in the order of their codes.
std::vector<uint8_t> encode(const Message& message);
// How long the message is that starts with these bytes (at least the 16-byte fixed header), so
// a reader knows how much more to wait for. Fails on a header no peer sends.
Result<size_t> message_length(std::span<const uint8_t> start);
Result<Message> decode(std::span<const uint8_t> bytes);

// The SASL line for EXTERNAL authentication as `uid`: "AUTH EXTERNAL <uid in decimal, each
// character in hex>\r\n" ("AUTH EXTERNAL 30\r\n" for root). The NUL byte that must come first on
// a new connection is sent separately.
std::string auth_external(uid_t uid);

class Connection {
 public:
  // Connects to the Unix socket at `path` and authenticates. `bus` means a bus daemon is on the
  // other end (the system bus), which wants Hello() first; systemd's private socket
  // (/run/systemd/private) is a direct connection and does not.
  static Result<Connection> open(const std::string& path, bool bus, int timeout_ms);

  // Sends `call` and waits for its reply (a return or an error message, both returned), keeping
  // the signals that arrive meanwhile for wait_for_signal().
  Result<Message> call(Message call);
  // The first signal, already received or arriving within the timeout, that `wanted` accepts.
  Result<Message> wait_for_signal(const std::function<bool(const Message&)>& wanted,
                                  int timeout_ms);

 private:
  using Deadline = std::chrono::steady_clock::time_point;

  Connection(UniqueFd fd, bool direct, int timeout_ms)
      : fd_(std::move(fd)), direct_(direct), timeout_ms_(timeout_ms) {}
  Result<void> authenticate();
  Result<void> send_all(std::string_view bytes);
  Result<void> send_message(Message& message);
  Result<void> nudge();
  // The next message; nullopt when the deadline passes first (what came so far stays buffered).
  Result<std::optional<Message>> receive(Deadline deadline);
  // Reads until `wanted` bytes are buffered: false when the deadline passes first.
  Result<bool> fill(size_t wanted, Deadline deadline);

  UniqueFd fd_;
  bool direct_ = false;  // no bus daemon in between: systemd's private socket
  int timeout_ms_ = 0;
  uint32_t next_serial_ = 1;
  std::vector<uint8_t> buffer_;
  std::deque<Message> signals_;
};

}  // namespace mkrun::cgroups::dbus
