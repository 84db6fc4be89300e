// The D-Bus wire format (D-Bus Specification, "Message Protocol") and a blocking connection.
#include "cgroups/dbus.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace mkrun::cgroups::dbus {
namespace {

using Clock = std::chrono::steady_clock;

// The spec's limit; anything longer is a broken or hostile peer.
constexpr size_t kMaxMessage = size_t{128} << 20;
constexpr size_t kFixedHeader = 16;
constexpr uint8_t kNoReplyExpected = 0x1;  // header flag

enum HeaderField : uint8_t {
  kPath = 1,
  kInterface = 2,
  kMember = 3,
  kErrorName = 4,
  kReplySerial = 5,
  kDestination = 6,
  kSender = 7,
  kSignature = 8,
};

size_t align_up(size_t value, size_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

std::unexpected<Error> malformed(const std::string& what) {
  return fail("malformed D-Bus message: " + what);
}

void string_field(Writer& out, HeaderField code, char type, const std::string& value) {
  if (value.empty()) return;
  out.begin_struct();
  out.byte(code);
  out.signature(std::string_view(&type, 1));
  if (type == 'g') {
    out.signature(value);
  } else {
    out.string(value);
  }
}

void uint32_field(Writer& out, HeaderField code, uint32_t value) {
  if (value == 0) return;
  out.begin_struct();
  out.byte(code);
  out.signature("u");
  out.uint32(value);
}

Result<void> read_field(Reader& in, Message& message) {
  MKRUN_CHECK(in.align(8));
  uint8_t code = MKRUN_TRY(in.byte());
  std::string type = MKRUN_TRY(in.signature());
  if (type.size() != 1) return malformed("header field of type \"" + type + "\"");
  std::string* text = nullptr;
  switch (code) {
    case kPath:
      text = &message.path;
      break;
    case kInterface:
      text = &message.interface;
      break;
    case kMember:
      text = &message.member;
      break;
    case kErrorName:
      text = &message.error_name;
      break;
    case kDestination:
      text = &message.destination;
      break;
    case kSender:
      text = &message.sender;
      break;
    case kSignature:
      text = &message.signature;
      break;
    case kReplySerial:
      if (type != "u") return malformed("reply serial of type \"" + type + "\"");
      message.reply_serial = MKRUN_TRY(in.uint32());
      return {};
    default:  // the spec: unknown header fields are ignored
      return in.skip_basic(type[0]);
  }
  if (type == "g") {
    *text = MKRUN_TRY(in.signature());
  } else if (type == "s" || type == "o") {
    *text = MKRUN_TRY(in.string());
  } else {
    return malformed("header field " + std::to_string(code) + " of type \"" + type + "\"");
  }
  return {};
}

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

}  // namespace

// ---- values ----------------------------------------------------------------------------------

std::string_view signature_of(const Value& value) {
  static constexpr std::string_view kSignatures[] = {"b", "u", "t", "s", "ay", "au", "as"};
  return kSignatures[value.index()];
}

void Writer::align(size_t alignment) {
  bytes_.resize(align_up(bytes_.size(), alignment), 0);
}

void Writer::byte(uint8_t value) {
  bytes_.push_back(value);
}

void Writer::boolean(bool value) {
  uint32(value ? 1 : 0);
}

void Writer::uint32(uint32_t value) {
  align(4);
  for (int shift = 0; shift < 32; shift += 8) bytes_.push_back(uint8_t(value >> shift));
}

void Writer::uint64(uint64_t value) {
  align(8);
  for (int shift = 0; shift < 64; shift += 8) bytes_.push_back(uint8_t(value >> shift));
}

void Writer::string(std::string_view value) {
  uint32(static_cast<uint32_t>(value.size()));
  bytes_.insert(bytes_.end(), value.begin(), value.end());
  bytes_.push_back(0);
}

void Writer::signature(std::string_view value) {
  byte(static_cast<uint8_t>(value.size()));
  bytes_.insert(bytes_.end(), value.begin(), value.end());
  bytes_.push_back(0);
}

Writer::ArrayMark Writer::begin_array(size_t element_alignment) {
  ArrayMark mark;
  uint32(0);
  mark.length_at = bytes_.size() - 4;
  align(element_alignment);
  mark.elements_at = bytes_.size();
  return mark;
}

void Writer::end_array(const ArrayMark& mark) {
  auto length = static_cast<uint32_t>(bytes_.size() - mark.elements_at);
  for (int i = 0; i < 4; ++i) bytes_[mark.length_at + i] = uint8_t(length >> (8 * i));
}

void Writer::value(const Value& value) {
  struct Visitor {
    Writer& out;
    void operator()(bool v) { out.boolean(v); }
    void operator()(uint32_t v) { out.uint32(v); }
    void operator()(uint64_t v) { out.uint64(v); }
    void operator()(const std::string& v) { out.string(v); }
    void operator()(const std::vector<uint8_t>& v) {
      auto mark = out.begin_array(1);
      for (uint8_t b : v) out.byte(b);
      out.end_array(mark);
    }
    void operator()(const std::vector<uint32_t>& v) {
      auto mark = out.begin_array(4);
      for (uint32_t u : v) out.uint32(u);
      out.end_array(mark);
    }
    void operator()(const std::vector<std::string>& v) {
      auto mark = out.begin_array(4);
      for (const std::string& s : v) out.string(s);
      out.end_array(mark);
    }
  };
  std::visit(Visitor{*this}, value);
}

void Writer::variant(const Value& value) {
  signature(signature_of(value));
  this->value(value);
}

void Writer::properties(const std::vector<Property>& properties) {
  auto mark = begin_array(8);
  for (const Property& property : properties) {
    begin_struct();
    string(property.name);
    variant(property.value);
  }
  end_array(mark);
}

Result<std::span<const uint8_t>> Reader::take(size_t count) {
  if (count > bytes_.size() - offset_) return malformed("value runs past the end");
  auto part = bytes_.subspan(offset_, count);
  offset_ += count;
  return part;
}

Result<void> Reader::align(size_t alignment) {
  MKRUN_TRY(take(align_up(offset_, alignment) - offset_));
  return {};
}

Result<uint8_t> Reader::byte() {
  return MKRUN_TRY(take(1))[0];
}

Result<uint32_t> Reader::uint32() {
  MKRUN_CHECK(align(4));
  auto raw = MKRUN_TRY(take(4));
  uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = (value << 8) | raw[i];
  return value;
}

Result<uint64_t> Reader::uint64() {
  MKRUN_CHECK(align(8));
  auto raw = MKRUN_TRY(take(8));
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | raw[i];
  return value;
}

Result<std::string> Reader::string() {
  uint32_t length = MKRUN_TRY(uint32());
  if (length >= bytes_.size()) return malformed("string length " + std::to_string(length));
  auto raw = MKRUN_TRY(take(size_t{length} + 1));
  if (raw[length] != 0) return malformed("string without its NUL");
  return std::string(raw.begin(), raw.end() - 1);
}

Result<std::string> Reader::signature() {
  uint8_t length = MKRUN_TRY(byte());
  auto raw = MKRUN_TRY(take(size_t{length} + 1));
  if (raw[length] != 0) return malformed("signature without its NUL");
  return std::string(raw.begin(), raw.end() - 1);
}

Result<std::string> Reader::variant_string() {
  std::string type = MKRUN_TRY(signature());
  if (type != "s" && type != "o")
    return malformed("expected a string variant, got \"" + type + "\"");
  return string();
}

Result<void> Reader::skip_basic(char type) {
  switch (type) {
    case 'y':
      MKRUN_TRY(byte());
      return {};
    case 'n':
    case 'q':
      MKRUN_CHECK(align(2));
      MKRUN_TRY(take(2));
      return {};
    case 'b':
    case 'i':
    case 'u':
    case 'h':
      MKRUN_TRY(uint32());
      return {};
    case 'x':
    case 't':
    case 'd':
      MKRUN_TRY(uint64());
      return {};
    case 's':
    case 'o':
      MKRUN_TRY(string());
      return {};
    case 'g':
      MKRUN_TRY(signature());
      return {};
    default:
      return malformed(std::string("cannot skip a value of type '") + type + "'");
  }
}

// ---- messages --------------------------------------------------------------------------------

std::string Message::error_text() const {
  std::string text = error_name;
  if (signature.starts_with('s')) {
    Reader in(body);
    if (auto detail = in.string()) text += ": " + *detail;
  }
  return text;
}

Message method_call(std::string destination, std::string path, std::string interface,
                    std::string member, std::string signature, std::vector<uint8_t> body) {
  Message message;
  message.type = MessageType::kMethodCall;
  message.destination = std::move(destination);
  message.path = std::move(path);
  message.interface = std::move(interface);
  message.member = std::move(member);
  message.signature = std::move(signature);
  message.body = std::move(body);
  return message;
}

std::vector<uint8_t> encode(const Message& message) {
  Writer out;
  out.byte('l');  // little endian
  out.byte(static_cast<uint8_t>(message.type));
  out.byte(message.flags);
  out.byte(1);  // protocol version
  out.uint32(static_cast<uint32_t>(message.body.size()));
  out.uint32(message.serial);
  auto fields = out.begin_array(8);
  string_field(out, kPath, 'o', message.path);
  string_field(out, kInterface, 's', message.interface);
  string_field(out, kMember, 's', message.member);
  string_field(out, kErrorName, 's', message.error_name);
  uint32_field(out, kReplySerial, message.reply_serial);
  string_field(out, kDestination, 's', message.destination);
  string_field(out, kSender, 's', message.sender);
  string_field(out, kSignature, 'g', message.signature);
  out.end_array(fields);
  out.align(8);  // the body starts 8-aligned
  std::vector<uint8_t> bytes = out.take();
  bytes.insert(bytes.end(), message.body.begin(), message.body.end());
  return bytes;
}

Result<size_t> message_length(std::span<const uint8_t> start) {
  if (start.size() < kFixedHeader) return malformed("shorter than its fixed header");
  if (start[0] != 'l') return fail("big-endian D-Bus messages are not supported");
  Reader in(start.subspan(0, kFixedHeader));
  MKRUN_TRY(in.uint32());  // endianness, type, flags, version
  uint32_t body = MKRUN_TRY(in.uint32());
  MKRUN_TRY(in.uint32());  // serial
  uint32_t fields = MKRUN_TRY(in.uint32());
  size_t total = align_up(kFixedHeader + size_t{fields}, 8) + size_t{body};
  if (total > kMaxMessage) return malformed("length " + std::to_string(total));
  return total;
}

Result<Message> decode(std::span<const uint8_t> bytes) {
  size_t length = MKRUN_TRY(message_length(bytes));
  if (bytes.size() != length) return malformed("length does not match its header");
  if (bytes[3] != 1) return malformed("protocol version " + std::to_string(bytes[3]));
  Message message;
  Reader in(bytes);
  MKRUN_TRY(in.byte());
  message.type = static_cast<MessageType>(MKRUN_TRY(in.byte()));
  message.flags = MKRUN_TRY(in.byte());
  MKRUN_TRY(in.byte());
  uint32_t body_length = MKRUN_TRY(in.uint32());
  message.serial = MKRUN_TRY(in.uint32());
  uint32_t fields_length = MKRUN_TRY(in.uint32());
  size_t fields_end = in.offset() + fields_length;
  while (in.offset() < fields_end) MKRUN_CHECK(read_field(in, message));
  if (in.offset() != fields_end) return malformed("header fields overrun their array");
  MKRUN_CHECK(in.align(8));
  if (bytes.size() - in.offset() != body_length) return malformed("body length");
  message.body.assign(bytes.begin() + static_cast<ptrdiff_t>(in.offset()), bytes.end());
  return message;
}

std::string auth_external(uid_t uid) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string line = "AUTH EXTERNAL ";
  for (char digit : std::to_string(uid)) {
    line += kHex[static_cast<unsigned char>(digit) >> 4];
    line += kHex[static_cast<unsigned char>(digit) & 0xf];
  }
  return line + "\r\n";
}

// ---- the connection --------------------------------------------------------------------------

Result<Connection> Connection::open(const std::string& path, bool bus, int timeout_ms) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) return fail("D-Bus socket path too long: " + path);
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return fail_errno("socket for D-Bus");
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    return fail_errno("connect to D-Bus at " + path);
  }
  Connection connection(std::move(fd), !bus, timeout_ms);
  if (auto authenticated = connection.authenticate(); !authenticated) {
    return std::unexpected(std::move(authenticated).error().wrap("D-Bus at " + path));
  }
  if (bus) {
    auto hello = MKRUN_TRY(connection.call(method_call(
        "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello")));
    if (hello.type != MessageType::kReturn) return fail("D-Bus Hello: " + hello.error_text());
  }
  return connection;
}

Result<void> Connection::authenticate() {
  // A NUL byte first (it would carry credentials on systems that need them sent), then SASL.
  MKRUN_CHECK(send_all(std::string_view("\0", 1)));
  MKRUN_CHECK(send_all(auth_external(::geteuid())));
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms_);
  const uint8_t crlf[] = {'\r', '\n'};
  for (;;) {
    auto end = std::search(buffer_.begin(), buffer_.end(), std::begin(crlf), std::end(crlf));
    if (end != buffer_.end()) {
      std::string line(buffer_.begin(), end);
      buffer_.erase(buffer_.begin(), end + 2);
      if (!line.starts_with("OK ")) return fail("authentication refused: " + line);
      return send_all("BEGIN\r\n");
    }
    if (!MKRUN_TRY(fill(buffer_.size() + 1, deadline))) {
      return fail("no answer to authentication within " + std::to_string(timeout_ms_) + " ms");
    }
  }
}

Result<void> Connection::send_all(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t sent = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0) return fail_errno("send to D-Bus");
    bytes.remove_prefix(static_cast<size_t>(sent));
  }
  return {};
}

Result<void> Connection::send_message(Message& message) {
  message.serial = next_serial_++;
  std::vector<uint8_t> bytes = encode(message);
  return send_all(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

// systemd's D-Bus server (sd-bus, seen with v252) does not look at bytes that it read in one go
// with the SASL "BEGIN" line until the socket becomes readable again: a call that arrives right
// behind BEGIN can sit unread for good. A Ping that wants no reply makes the socket readable, and
// systemd then handles both.
Result<void> Connection::nudge() {
  Message ping = method_call("org.freedesktop.systemd1", "/", "org.freedesktop.DBus.Peer", "Ping");
  ping.flags = kNoReplyExpected;
  return send_message(ping);
}

Result<bool> Connection::fill(size_t wanted, Deadline deadline) {
  while (buffer_.size() < wanted) {
    pollfd readable{fd_.get(), POLLIN, 0};
    int ready = ::poll(&readable, 1, remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return fail_errno("wait for D-Bus");
    if (ready == 0) return false;
    uint8_t chunk[4096];
    ssize_t got = ::recv(fd_.get(), chunk, sizeof chunk, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return fail_errno("read from D-Bus");
    if (got == 0) return fail("D-Bus closed the connection");
    buffer_.insert(buffer_.end(), chunk, chunk + got);
  }
  return true;
}

Result<std::optional<Message>> Connection::receive(Deadline deadline) {
  if (!MKRUN_TRY(fill(kFixedHeader, deadline))) return std::optional<Message>();
  size_t length = MKRUN_TRY(message_length(buffer_));
  if (!MKRUN_TRY(fill(length, deadline))) return std::optional<Message>();
  auto message = decode(std::span<const uint8_t>(buffer_).subspan(0, length));
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<ptrdiff_t>(length));
  if (!message) return std::unexpected(std::move(message).error());
  return std::optional<Message>(std::move(*message));
}

Result<Message> Connection::call(Message call) {
  auto failed = [&](Error error) {
    return std::unexpected(
        std::move(error).wrap("D-Bus call " + call.interface + "." + call.member));
  };
  if (auto sent = send_message(call); !sent) return failed(std::move(sent).error());
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms_);
  auto patience = std::chrono::milliseconds(100);  // before a nudge; doubled after each
  for (;;) {
    auto slice = direct_ ? std::min(deadline, Clock::now() + patience) : deadline;
    auto received = receive(slice);
    if (!received) return failed(std::move(received).error());
    if (!*received) {
      if (Clock::now() >= deadline) {
        return failed(Error("no answer within " + std::to_string(timeout_ms_) + " ms"));
      }
      if (auto nudged = nudge(); !nudged) return failed(std::move(nudged).error());
      patience = std::min(patience * 2, std::chrono::milliseconds(2000));
      continue;
    }
    Message message = std::move(**received);
    bool reply = message.type == MessageType::kReturn || message.type == MessageType::kError;
    if (reply && message.reply_serial == call.serial) return message;
    if (message.type == MessageType::kSignal) signals_.push_back(std::move(message));
  }
}

Result<Message> Connection::wait_for_signal(const std::function<bool(const Message&)>& wanted,
                                            int timeout_ms) {
  for (auto it = signals_.begin(); it != signals_.end(); ++it) {
    if (!wanted(*it)) continue;
    Message found = std::move(*it);
    signals_.erase(it);
    return found;
  }
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    auto received = receive(deadline);
    if (!received) return std::unexpected(std::move(received).error().wrap("D-Bus signal"));
    if (!*received) return fail("no D-Bus signal within " + std::to_string(timeout_ms) + " ms");
    Message& message = **received;
    if (message.type == MessageType::kSignal && wanted(message)) return std::move(message);
  }
}

}  // namespace mkrun::cgroups::dbus
