// The state renderings against what runc 1.1.5 printed for a container with awkward annotations
// (`runc state`, `runc list --format json` and a hook's stdin, captured once), and the record's
// round trip.
#include <catch2/catch.hpp>

#include "mkrun/oci/state.hpp"

using namespace mkrun::oci;

namespace {

// Everything Go escapes, or famously does not: HTML characters, line and paragraph separators,
// control characters (DEL is left alone), and multi-byte UTF-8.
const std::map<std::string, std::string> kAwkwardAnnotations = {
    {"a", "<tag>"},
    {"z<>&", "a\u2028b\u2029c\x01\x1f\x7f\"\\\n\r\t\b\f/\u00e9\U0001F600"},
};

State runc_created_state() {
  State state;
  state.ociVersion = "1.0.2-dev";
  state.id = "ocitest";
  state.pid = 13696;
  state.status = "created";
  state.bundle = "/tmp/rb";
  state.rootfs = "/tmp/rb/rootfs";
  state.created = "2026-11-25T03:24:03.208764659Z";
  state.annotations = kAwkwardAnnotations;
  return state;
}

// `runc state ocitest`
const std::string kRuncState =
    R"golden({
  "ociVersion": "1.0.2-dev",
  "id": "ocitest",
  "pid": 13696,
  "status": "created",
  "bundle": "/tmp/rb",
  "rootfs": "/tmp/rb/rootfs",
  "created": "2026-11-25T03:24:03.208764659Z",
  "annotations": {
    "a": "\u003ctag\u003e",
    "z\u003c\u003e\u0026": "a\u2028b\u2029c\u0001\u001f)golden"
    "\x7f"
    R"golden(\"\\\n\r\t\u0008\u000c/é😀"
  },
  "owner": ""
})golden";

// `runc list --format json`, without the newline runc's json.Encoder adds
const std::string kRuncList =
    R"golden([{"ociVersion":"1.0.2-dev","id":"ocitest","pid":13696,"status":"created","bundle":"/tmp/rb","rootfs":"/tmp/rb/rootfs","created":"2026-11-25T03:24:03.208764659Z","annotations":{"a":"\u003ctag\u003e","z\u003c\u003e\u0026":"a\u2028b\u2029c\u0001\u001f)golden"
    "\x7f"
    R"golden(\"\\\n\r\t\u0008\u000c/é😀"},"owner":"root"}])golden";

// What a createRuntime hook read on its stdin
const std::string kRuncHookState =
    R"golden({"ociVersion":"1.0.2-dev","id":"ocitest2","status":"creating","pid":1610,"bundle":"/tmp/rb","annotations":{"a":"\u003ctag\u003e","z\u003c\u003e\u0026":"a\u2028b\u2029c\u0001\u001f)golden"
    "\x7f"
    R"golden(\"\\\n\r\t\u0008\u000c/é😀"}})golden";

}  // namespace

TEST_CASE("render_state: identical to runc state", "[state]") {
  CHECK(render_state(runc_created_state()) == kRuncState);
}

TEST_CASE("render_state: no annotations, no key", "[state]") {
  State state = runc_created_state();
  state.annotations.clear();
  state.pid = 0;
  state.status = "stopped";
  CHECK(render_state(state) ==
        "{\n"
        "  \"ociVersion\": \"1.0.2-dev\",\n"
        "  \"id\": \"ocitest\",\n"
        "  \"pid\": 0,\n"
        "  \"status\": \"stopped\",\n"
        "  \"bundle\": \"/tmp/rb\",\n"
        "  \"rootfs\": \"/tmp/rb/rootfs\",\n"
        "  \"created\": \"2026-11-25T03:24:03.208764659Z\",\n"
        "  \"owner\": \"\"\n"
        "}");
}

TEST_CASE("render_state_list: identical to runc list --format json", "[state]") {
  State state = runc_created_state();
  state.owner = "root";
  CHECK(render_state_list({state}) == kRuncList);
}

TEST_CASE("render_state_list: none is null, several are comma-separated", "[state]") {
  CHECK(render_state_list({}) == "null");
  State a;
  a.ociVersion = "1.0.2";
  a.id = "a";
  a.pid = 7;
  a.status = "running";
  a.bundle = "/b/a";
  a.rootfs = "/b/a/rootfs";
  a.created = "2024-01-02T03:04:05.5Z";
  a.owner = "alice";
  State b = a;
  b.id = "b";
  b.pid = 0;
  b.status = "stopped";
  b.annotations = {{"k", "v"}};
  CHECK(render_state_list({a, b}) ==
        R"([{"ociVersion":"1.0.2","id":"a","pid":7,"status":"running","bundle":"/b/a",)"
        R"("rootfs":"/b/a/rootfs","created":"2024-01-02T03:04:05.5Z","owner":"alice"},)"
        R"({"ociVersion":"1.0.2","id":"b","pid":0,"status":"stopped","bundle":"/b/a",)"
        R"("rootfs":"/b/a/rootfs","created":"2024-01-02T03:04:05.5Z","annotations":{"k":"v"},)"
        R"("owner":"alice"}])");
}

TEST_CASE("render_hook_state: identical to runc's hook stdin", "[state]") {
  State state = runc_created_state();
  state.id = "ocitest2";
  state.status = "creating";
  state.pid = 1610;
  CHECK(render_hook_state(state) == kRuncHookState);
}

TEST_CASE("render_hook_state: pid 0 and empty annotations are left out", "[state]") {
  State state;
  state.ociVersion = "1.2.0";
  state.id = "c";
  state.status = "stopped";
  state.bundle = "/b";
  state.rootfs = "/b/rootfs";  // not part of the runtime-spec state
  state.owner = "root";        // neither
  CHECK(render_hook_state(state) ==
        R"({"ociVersion":"1.2.0","id":"c","status":"stopped","bundle":"/b"})");
}

// What runc 1.1.5 sent a seccomp agent for `create` (captured by the integration test's agent).
TEST_CASE("render_container_process_state: identical to runc's message to the seccomp agent",
          "[state]") {
  State state;
  state.ociVersion = "1.0.2-dev";
  state.id = "notify-hands-lis-804cf7";
  state.status = "creating";
  state.pid = 27948;
  state.bundle = "/tmp/b/bundle";
  state.annotations = {{"org.example.seccomp", "agent"}};
  CHECK(render_container_process_state(state, 27948, "meta") ==
        R"({"ociVersion":"1.0.2-dev","fds":["seccompFd"],"pid":27948,"metadata":"meta",)"
        R"("state":{"ociVersion":"1.0.2-dev","id":"notify-hands-lis-804cf7","status":"creating",)"
        R"("pid":27948,"bundle":"/tmp/b/bundle","annotations":{"org.example.seccomp":"agent"}}})");
}

TEST_CASE("render_container_process_state: empty metadata is left out", "[state]") {
  State state;
  state.ociVersion = "1.0.2-dev";
  state.id = "c";
  state.status = "running";
  state.pid = 7;
  state.bundle = "/b";
  CHECK(render_container_process_state(state, 9, "") ==
        R"({"ociVersion":"1.0.2-dev","fds":["seccompFd"],"pid":9,)"
        R"("state":{"ociVersion":"1.0.2-dev","id":"c","status":"running","pid":7,"bundle":"/b"}})");
}

TEST_CASE("render_state: invalid UTF-8 becomes U+FFFD, one per bad byte, as in Go", "[state]") {
  State state;
  auto annotation = [&](std::string value) {
    state.annotations = {{"k", std::move(value)}};
    std::string out = render_hook_state(state);
    auto start = out.find(R"("k":)") + 4;
    return out.substr(start, out.size() - start - 2);
  };
  CHECK(annotation("\xff") == R"("\ufffd")");
  CHECK(annotation("a\xc3") == R"("a\ufffd")");                              // truncated sequence
  CHECK(annotation("\xc0\x80") == R"("\ufffd\ufffd")");                      // overlong NUL
  CHECK(annotation("\xed\xa0\x80") == R"("\ufffd\ufffd\ufffd")");            // a surrogate
  CHECK(annotation("\xf4\x90\x80\x80") == R"("\ufffd\ufffd\ufffd\ufffd")");  // > U+10FFFF
  CHECK(annotation("\xef\xbf\xbd") == "\"\xef\xbf\xbd\"");          // U+FFFD itself is valid
  CHECK(annotation("\xf4\x8f\xbf\xbf") == "\"\xf4\x8f\xbf\xbf\"");  // U+10FFFF is valid
  CHECK(annotation(std::string("\0", 1)) == R"("\u0000")");
}
