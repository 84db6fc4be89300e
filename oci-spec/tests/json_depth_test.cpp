// Nesting depth: every JSON mkrun reads is parsed without recursion and refused beyond 10000
// levels, as Go's decoder (runc) refuses it; deeper input must be an error, never a crash.
#include <pthread.h>

#include <catch2/catch.hpp>

#include <cstddef>
#include <functional>
#include <string>

#include "mkrun/oci/parse.hpp"
#include "mkrun/oci/resources_update.hpp"
#include "mkrun/oci/state.hpp"

using namespace mkrun::oci;

namespace {

constexpr size_t kBound = 10000;

// `{<prefix>"unknown": [[...]]}`: an object whose unknown member nests arrays so that the whole
// document is `depth` levels deep (the outer object is the first). Unknown keys are ignored, so
// any document type accepts it.
std::string nested_unknown(size_t depth, const std::string& prefix = "") {
  size_t arrays = depth - 1;
  return "{" + prefix + R"("unknown":)" + std::string(arrays, '[') + std::string(arrays, ']') + "}";
}

// The same depth with objects: {"a":{"a":...{}}}.
std::string nested_objects(size_t depth) {
  std::string text;
  text.reserve(depth * 6);
  for (size_t i = 1; i < depth; ++i) text += R"({"a":)";
  text += "{}";
  text.append(depth - 1, '}');
  return text;
}

template <class R>
void require_depth_error(const R& result) {
  REQUIRE_FALSE(result);
  CHECK_THAT(result.error().message, Catch::Contains("exceeded max depth"));
  CHECK_THAT(result.error().message, Catch::Contains("deeper than 10000 levels"));
}

// Runs `body` on a thread whose stack is `bytes` large, so that a test fails (by overflowing)
// if a recursive walk uses more than that at the depth bound.
void on_small_stack(size_t bytes, std::function<void()> body) {
  pthread_attr_t attr;
  REQUIRE(pthread_attr_init(&attr) == 0);
  REQUIRE(pthread_attr_setstacksize(&attr, bytes) == 0);
  pthread_t thread;
  auto run = [](void* arg) -> void* {
    (*static_cast<std::function<void()>*>(arg))();
    return nullptr;
  };
  REQUIRE(pthread_create(&thread, &attr, run, &body) == 0);
  pthread_attr_destroy(&attr);
  REQUIRE(pthread_join(thread, nullptr) == 0);
}

constexpr const char* kProcessFields = R"("args":["true"],"cwd":"/",)";

}  // namespace

TEST_CASE("a config nested as deep as the bound is read") {
  auto spec = parse_spec(nested_unknown(kBound, R"("ociVersion":"1.0.2",)"));
  REQUIRE(spec);
  CHECK(spec->ociVersion == "1.0.2");
}

TEST_CASE("a config one level deeper than the bound is refused") {
  auto spec = parse_spec(nested_unknown(kBound + 1));
  require_depth_error(spec);
  // The offset is the bracket that went one level too deep: the outer object is level 1.
  CHECK_THAT(spec.error().message, Catch::StartsWith("invalid character '[' exceeded max depth"));
  CHECK_THAT(spec.error().message, Catch::EndsWith("at offset " + std::to_string(11 + kBound - 1)));
  auto objects = parse_spec(nested_objects(kBound + 1));
  require_depth_error(objects);
  CHECK_THAT(objects.error().message, Catch::StartsWith("invalid character '{' exceeded"));
  CHECK_THAT(objects.error().message, Catch::EndsWith("at offset " + std::to_string(5 * kBound)));
  CHECK(parse_spec(nested_objects(kBound)));
}

TEST_CASE("a config nested a million levels deep is refused without a crash") {
  require_depth_error(parse_spec(nested_unknown(1'000'000)));
  require_depth_error(parse_spec(nested_objects(1'000'000)));
  // Unterminated: the depth is refused before the end of the input is reached.
  require_depth_error(parse_spec(std::string(1'000'000, '[')));
  std::string open_objects;
  for (int i = 0; i < 1'000'000; ++i) open_objects += R"({"a":)";
  require_depth_error(parse_spec(open_objects));
}

TEST_CASE("a resources update file nested past the bound is refused, at the bound read") {
  CHECK(parse_resources(nested_unknown(kBound, R"("pids":{"limit":5},)")));
  require_depth_error(parse_resources(nested_unknown(kBound + 1)));
  require_depth_error(parse_resources(nested_unknown(1'000'000)));
  require_depth_error(parse_resources(nested_objects(1'000'000)));
}

TEST_CASE("a process file nested past the bound is refused, at the bound read") {
  auto process = parse_process(nested_unknown(kBound, kProcessFields));
  REQUIRE(process);
  CHECK(process->args == std::vector<std::string>{"true"});
  require_depth_error(parse_process(nested_unknown(kBound + 1, kProcessFields)));
  require_depth_error(parse_process(nested_unknown(1'000'000, kProcessFields)));
  require_depth_error(parse_process(nested_objects(1'000'000)));
}

// `update` rewrites the container's config snapshot, unknown members included, without
// recursion: at the bound, the parse and the rewrite fit in a small fraction of the usual 8 MiB
// stack, under ASan too.
TEST_CASE("a snapshot nested as deep as the bound is rewritten on a 256 KiB stack") {
  std::string snapshot = nested_unknown(kBound, R"("ociVersion":"1.0.2",)");
  Resources update;
  update.pids.emplace().limit = 7;
  bool rewritten = false;
  on_small_stack(256 << 10, [&] {
    auto text = apply_resources_update(snapshot, update);
    if (!text || text->find(std::string(kBound - 1, '[')) == std::string::npos) return;
    auto spec = parse_spec(*text);
    rewritten = spec && spec->linux->resources->pids->limit == 7;
  });
  CHECK(rewritten);
}
