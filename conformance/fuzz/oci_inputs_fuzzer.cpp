// libFuzzer target over every JSON document mkrun reads from its user or from its state
// directory. Built four times (see meson.build), once per document kind, so that each target's
// seed corpus is plain JSON of that kind:
//   FUZZ_CONFIG     config.json: parse_spec, validate_spec, unknown_capabilities, and the
//                   `update` rewrite of the config snapshot (apply_resources_update)
//   FUZZ_PROCESS    `exec --process` files: parse_process
//   FUZZ_RESOURCES  `update --resources` files: parse_resources, updatable_part, the rewrite
//   FUZZ_STATE      state.json: parse_record and its round trip through render_record
// A crash, a sanitizer report or a broken invariant (abort) is a finding; an error is not.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mkrun/oci/default_spec.hpp"
#include "mkrun/oci/parse.hpp"
#include "mkrun/oci/resources_update.hpp"
#include "mkrun/oci/state.hpp"
#include "state/record.hpp"

namespace oci = mkrun::oci;
namespace state = mkrun::state;

namespace {

// What mkrun relies on: a document it wrote itself reads back.
void require(bool condition) {
  if (!condition) std::abort();
}

[[maybe_unused]] void fuzz_config(std::string_view text) {
  auto spec = oci::parse_spec(text);
  if (!spec) return;
  (void)oci::validate_spec(*spec);
  (void)oci::unknown_capabilities(*spec);
  // `update` rewrites the stored config.json as it is, unknown members and all.
  oci::Resources update;
  update.pids.emplace().limit = 42;
  auto rewritten = oci::apply_resources_update(text, update);
  if (!rewritten) return;  // a document that is not an object
  auto merged = oci::parse_spec(*rewritten);
  require(merged.has_value());
  require(merged->linux && merged->linux->resources && merged->linux->resources->pids &&
          merged->linux->resources->pids->limit == 42);
}

[[maybe_unused]] void fuzz_process(std::string_view text) {
  (void)oci::parse_process(text);
}

[[maybe_unused]] void fuzz_resources(std::string_view text) {
  auto resources = oci::parse_resources(text);
  if (!resources) return;
  static const std::string snapshot = oci::default_spec_json(false);
  auto rewritten = oci::apply_resources_update(snapshot, oci::updatable_part(*resources));
  require(rewritten.has_value());
  require(oci::parse_spec(*rewritten).has_value());
}

[[maybe_unused]] void fuzz_state(std::string_view text) {
  auto record = state::parse_record(text);
  if (!record) return;
  auto again = state::parse_record(state::render_record(*record));
  require(again.has_value());
  require(state::render_record(*again) == state::render_record(*record));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
#if defined(FUZZ_CONFIG)
  fuzz_config(text);
#elif defined(FUZZ_PROCESS)
  fuzz_process(text);
#elif defined(FUZZ_RESOURCES)
  fuzz_resources(text);
#elif defined(FUZZ_STATE)
  fuzz_state(text);
#else
#error "define one of FUZZ_CONFIG, FUZZ_PROCESS, FUZZ_RESOURCES, FUZZ_STATE"
#endif
  return 0;
}
