// The D-Bus wire format, byte for byte: values with their padding, a whole method call (against
// the Hello message every libdbus client sends), and decoding of replies, errors and signals.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "cgroups/dbus.hpp"

namespace mkrun::cgroups::dbus {
namespace {

using Bytes = std::vector<uint8_t>;

// "l\x01..." literals keep their NULs with an explicit length.
template <size_t N>
Bytes literal(const char (&text)[N]) {
  return Bytes(text, text + N - 1);
}

TEST_CASE("dbus Writer: basic values and their alignment", "[dbus]") {
  Writer out;
  out.byte(1);
  out.uint32(0x01020304);  // padded to 4
  out.boolean(true);
  out.uint64(5);  // padded to 8
  out.string("ab");
  out.signature("a(sv)");
  Bytes expected;
  auto add = [&](const Bytes& part) { expected.insert(expected.end(), part.begin(), part.end()); };
  add({1});                                   // the byte
  add({0, 0, 0, 4, 3, 2, 1});                 // padding to 4, then the uint32
  add({1, 0, 0, 0});                          // true
  add({0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0});  // padding to 8, then the uint64
  add({2, 0, 0, 0, 'a', 'b', 0});             // the string: length, bytes, NUL
  add({5, 'a', '(', 's', 'v', ')', 0});       // the signature: a one-byte length
  CHECK(out.bytes() == expected);
}

TEST_CASE("dbus Writer: arrays count their elements, not the padding before them", "[dbus]") {
  Writer bytes;
  bytes.value(std::vector<uint8_t>{0x87});
  CHECK(bytes.bytes() == Bytes{1, 0, 0, 0, 0x87});

  Writer pids;
  pids.value(std::vector<uint32_t>{1234});
  CHECK(pids.bytes() == Bytes{4, 0, 0, 0, 0xd2, 0x04, 0, 0});

  Writer names;
  names.value(std::vector<std::string>{"x"});
  CHECK(names.bytes() == Bytes{6, 0, 0, 0, 1, 0, 0, 0, 'x', 0});

  // An empty array of structs still pads to 8 after its length.
  Writer empty;
  empty.byte(9);
  empty.end_array(empty.begin_array(8));
  CHECK(empty.bytes() == Bytes{9, 0, 0, 0, 0, 0, 0, 0});
}

TEST_CASE("dbus Writer: a(sv) with a uint64 and a bool", "[dbus]") {
  Writer out;
  out.properties({{"TasksMax", uint64_t{5}}, {"Delegate", true}});
  Bytes expected = {
      44, 0,   0, 0, 0,   0,   0,   0,                           // length 44, pad to 8
      8,  0,   0, 0, 'T', 'a', 's', 'k', 's', 'M', 'a', 'x', 0,  // "TasksMax"
      1,  't', 0,                                                // variant signature "t"
      5,  0,   0, 0, 0,   0,   0,   0,                           // uint64 5 (at 24)
      8,  0,   0, 0, 'D', 'e', 'l', 'e', 'g', 'a', 't', 'e', 0,  // struct at 32: "Delegate"
      1,  'b', 0,                                                // "b"
      1,  0,   0, 0,                                             // true (at 48)
  };
  CHECK(out.bytes() == expected);
  CHECK(signature_of(Value{std::vector<uint32_t>{}}) == "au");
  CHECK(signature_of(Value{std::string()}) == "s");
}

TEST_CASE("dbus encode: the Hello call is the bytes libdbus sends", "[dbus]") {
  Message hello =
      method_call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello");
  hello.serial = 1;
  CHECK(encode(hello) ==
        literal("l\x01\x00\x01\x00\x00\x00\x00\x01\x00\x00\x00m\x00\x00\x00"
                "\x01\x01o\x00\x15\x00\x00\x00/org/freedesktop/DBus\x00\x00\x00"
                "\x02\x01s\x00\x14\x00\x00\x00org.freedesktop.DBus\x00\x00\x00\x00"
                "\x03\x01s\x00\x05\x00\x00\x00Hello\x00\x00\x00"
                "\x06\x01s\x00\x14\x00\x00\x00org.freedesktop.DBus\x00\x00\x00\x00"));
}

TEST_CASE("dbus encode: a body with its signature field", "[dbus]") {
  Writer body;
  body.string("x.scope");
  body.string("replace");
  Message stop = method_call("org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                             "org.freedesktop.systemd1.Manager", "StopUnit", "ss", body.take());
  stop.serial = 7;
  Bytes bytes = encode(stop);
  // The fixed header: little endian, method call, no flags, version 1, body length 24, serial 7.
  CHECK(Bytes(bytes.begin(), bytes.begin() + 12) == Bytes{'l', 1, 0, 1, 24, 0, 0, 0, 7, 0, 0, 0});
  // The body starts 8-aligned and ends the message.
  Bytes tail(bytes.end() - 24, bytes.end());
  CHECK(tail == literal("\x07\x00\x00\x00x.scope\x00\x07\x00\x00\x00replace\x00"));
  CHECK((bytes.size() - 24) % 8 == 0);
  auto length = message_length(bytes);
  REQUIRE(length);
  CHECK(*length == bytes.size());

  auto decoded = decode(bytes);
  REQUIRE(decoded);
  CHECK(decoded->type == MessageType::kMethodCall);
  CHECK(decoded->serial == 7);
  CHECK(decoded->member == "StopUnit");
  CHECK(decoded->interface == "org.freedesktop.systemd1.Manager");
  CHECK(decoded->path == "/org/freedesktop/systemd1");
  CHECK(decoded->destination == "org.freedesktop.systemd1");
  CHECK(decoded->signature == "ss");
  CHECK(decoded->body == tail);
}

TEST_CASE("dbus decode: replies, errors and the JobRemoved signal", "[dbus]") {
  Message error;
  error.type = MessageType::kError;
  error.serial = 3;
  error.reply_serial = 2;
  error.error_name = "org.freedesktop.systemd1.NoSuchUnit";
  error.sender = ":1.0";
  error.signature = "s";
  Writer text;
  text.string("Unit x.scope not loaded.");
  error.body = text.take();
  auto decoded = decode(encode(error));
  REQUIRE(decoded);
  CHECK(decoded->type == MessageType::kError);
  CHECK(decoded->reply_serial == 2);
  CHECK(decoded->sender == ":1.0");
  CHECK(decoded->error_text() == "org.freedesktop.systemd1.NoSuchUnit: Unit x.scope not loaded.");

  Message signal;
  signal.type = MessageType::kSignal;
  signal.serial = 9;
  signal.path = "/org/freedesktop/systemd1";
  signal.interface = "org.freedesktop.systemd1.Manager";
  signal.member = "JobRemoved";
  signal.signature = "uoss";
  Writer args;
  args.uint32(42);
  args.string("/org/freedesktop/systemd1/job/42");
  args.string("x.scope");
  args.string("done");
  signal.body = args.take();
  decoded = decode(encode(signal));
  REQUIRE(decoded);
  Reader in(decoded->body);
  CHECK(in.uint32().value() == 42);
  CHECK(in.string().value() == "/org/freedesktop/systemd1/job/42");
  CHECK(in.string().value() == "x.scope");
  CHECK(in.string().value() == "done");
  CHECK(in.at_end());
}

TEST_CASE("dbus decode: unknown header fields are skipped, bad input refused", "[dbus]") {
  Message reply;
  reply.type = MessageType::kReturn;
  reply.serial = 5;
  reply.reply_serial = 4;
  Bytes bytes = encode(reply);
  // Add field 9 (UNIX_FDS, "u") by hand: 8 more bytes of header fields.
  Bytes fds = {9, 1, 'u', 0, 0, 0, 0, 0};
  size_t fields = bytes[12];
  bytes.insert(bytes.begin() + 16 + static_cast<ptrdiff_t>((fields + 7) / 8 * 8), fds.begin(),
               fds.end());
  bytes[12] = static_cast<uint8_t>((fields + 7) / 8 * 8 + fds.size());
  bytes.resize(16 + (bytes[12] + 7) / 8 * 8);
  auto decoded = decode(bytes);
  REQUIRE(decoded);
  CHECK(decoded->reply_serial == 4);

  CHECK_FALSE(message_length(Bytes{'l', 1, 0, 1}));  // shorter than the fixed header
  Bytes big_endian = encode(reply);
  big_endian[0] = 'B';
  CHECK_FALSE(message_length(big_endian));
  Bytes truncated = encode(reply);
  truncated.pop_back();
  CHECK_FALSE(decode(truncated));
  Bytes huge = encode(reply);
  huge[7] = 0x7f;  // a body of 2 GiB
  CHECK_FALSE(message_length(huge));
}

TEST_CASE("dbus Reader: variants and bounds", "[dbus]") {
  Writer out;
  out.variant(std::string("252.39-1~deb12u2"));
  Reader in(out.bytes());
  CHECK(in.variant_string().value() == "252.39-1~deb12u2");

  Writer number;
  number.variant(uint32_t{1});
  Reader wrong(number.bytes());
  CHECK_FALSE(wrong.variant_string());

  Bytes lying = {200, 0, 0, 0, 'a', 0};  // claims a 200-byte string
  Reader short_read(lying);
  CHECK_FALSE(short_read.string());
}

TEST_CASE("dbus SASL: EXTERNAL sends the uid's decimal digits in hex", "[dbus]") {
  CHECK(auth_external(0) == "AUTH EXTERNAL 30\r\n");
  CHECK(auth_external(1000) == "AUTH EXTERNAL 31303030\r\n");
}

// A fake peer on a socketpair: checks the client's handshake and answers one call, with an
// unrelated signal first, so that Connection's buffering and signal queue are exercised.
TEST_CASE("dbus Connection: handshake, a call, and a signal kept for later", "[dbus]") {
  // Connection::open takes a path: the peer listens on a temporary socket.
  std::string path = "/tmp/mkrun-dbus-test-" + std::to_string(::getpid());
  (void)::unlink(path.c_str());
  UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(listener);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(listener.get(), 1) == 0);

  std::string handshake;
  std::thread peer([&] {
    UniqueFd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    auto read_until = [&](std::string_view end) {
      char c;
      while (handshake.find(end) == std::string::npos && ::read(conn.get(), &c, 1) == 1) {
        handshake += c;
      }
    };
    read_until("\r\n");
    (void)!::write(conn.get(), "OK 0123456789abcdef\r\n", 21);
    read_until("BEGIN\r\n");
    // Catch2's assertions are not thread-safe: the main thread checks what this one saw.
    Bytes request(16);
    if (::read(conn.get(), request.data(), 16) != 16) return;
    auto length = message_length(request);
    if (!length) return;
    request.resize(*length);
    size_t have = 16;
    while (have < *length) {
      ssize_t got = ::read(conn.get(), request.data() + have, *length - have);
      if (got <= 0) return;
      have += static_cast<size_t>(got);
    }
    auto call = decode(request);
    if (!call) return;

    Message noise;
    noise.type = MessageType::kSignal;
    noise.serial = 100;
    noise.path = "/org/freedesktop/systemd1";
    noise.interface = "org.freedesktop.systemd1.Manager";
    noise.member = "UnitNew";
    Message reply;
    reply.type = MessageType::kReturn;
    reply.serial = 101;
    reply.reply_serial = call->serial;
    reply.signature = "s";
    Writer body;
    body.string("pong:" + call->member);
    reply.body = body.take();
    Bytes out = encode(noise);
    Bytes second = encode(reply);
    out.insert(out.end(), second.begin(), second.end());
    // Dribble it out in small pieces.
    for (size_t i = 0; i < out.size(); i += 5) {
      (void)!::write(conn.get(), out.data() + i, std::min<size_t>(5, out.size() - i));
    }
  });

  auto connection = Connection::open(path, false, 5000);
  if (!connection) FAIL(connection.error().render());
  auto reply = connection->call(method_call("org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                            "org.freedesktop.systemd1.Manager", "Ping"));
  peer.join();
  (void)::unlink(path.c_str());
  REQUIRE(reply);
  CHECK(handshake == std::string(1, '\0') + auth_external(::geteuid()) + "BEGIN\r\n");
  Reader in(reply->body);
  CHECK(in.string().value() == "pong:Ping");
  auto signal =
      connection->wait_for_signal([](const Message& m) { return m.member == "UnitNew"; }, 100);
  REQUIRE(signal);
  CHECK(signal->serial == 100);
  CHECK_FALSE(connection->wait_for_signal([](const Message&) { return true; }, 50));
}

}  // namespace
}  // namespace mkrun::cgroups::dbus
