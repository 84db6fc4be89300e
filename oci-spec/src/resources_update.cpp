// `update` on the config.json snapshot: the new limits are written into the document itself, so
// that whatever else the snapshot holds (and mkrun does not model) stays as it was.
#include "mkrun/oci/resources_update.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <optional>
#include <string_view>

#include "mkrun/oci/json/read.hpp"

namespace mkrun::oci {
namespace {

using Document = rapidjson::Document;
using Allocator = Document::AllocatorType;

// runc's "not set": absent or 0.
template <class T>
std::optional<T> given(const std::optional<T>& value) {
  if (!value || *value == 0) return std::nullopt;
  return value;
}

MemoryResources updatable_memory(const MemoryResources& memory) {
  MemoryResources out;
  out.limit = given(memory.limit);
  out.reservation = given(memory.reservation);
  out.swap = given(memory.swap);
  return out;
}

CpuResources updatable_cpu(const CpuResources& cpu) {
  CpuResources out;
  out.shares = given(cpu.shares);
  out.quota = given(cpu.quota);
  out.period = given(cpu.period);
  out.realtimeRuntime = given(cpu.realtimeRuntime);
  out.realtimePeriod = given(cpu.realtimePeriod);
  out.cpus = cpu.cpus;
  out.mems = cpu.mems;
  // runc 1.5 passes these on as given: a burst or idle of 0 clears the one in force.
  out.burst = cpu.burst;
  out.idle = cpu.idle;
  return out;
}

// runc 1.5 applies the block IO weights and every per-device limit; a device entry with nothing
// to change still reaches the snapshot, as in runc's upsert, and the cgroup writes skip it.
std::optional<BlockIoResources> updatable_block_io(const BlockIoResources& io) {
  BlockIoResources out = io;  // every device list as it is
  out.weight = given(io.weight);
  out.leafWeight = given(io.leafWeight);
  bool any = out.weight || out.leafWeight || !out.weightDevice.empty() ||
             !out.throttleReadBpsDevice.empty() || !out.throttleWriteBpsDevice.empty() ||
             !out.throttleReadIOPSDevice.empty() || !out.throttleWriteIOPSDevice.empty();
  if (!any) return std::nullopt;
  return out;
}

// The member `name` of `parent`, made an empty value of `type` (an object or an array) when it
// is missing or of another type.
rapidjson::Value& typed_member(rapidjson::Value& parent, const char* name, rapidjson::Type type,
                               Allocator& allocator) {
  // The member parse_spec() reads back ("Linux" or a repeated key included), not the first.
  rapidjson::Value* found = json::find_member(parent, name);
  if (found == nullptr) {
    parent.AddMember(rapidjson::Value(name, allocator), rapidjson::Value(type), allocator);
    found = &(parent.MemberEnd() - 1)->value;
  }
  if (found->GetType() != type) *found = rapidjson::Value(type);
  return *found;
}

rapidjson::Value& object_member(rapidjson::Value& parent, const char* name, Allocator& allocator) {
  return typed_member(parent, name, rapidjson::kObjectType, allocator);
}

// Sets the member the reader takes back: for a struct field the last case-insensitive match
// (json::find_member), for a map key (`unified`) the last exact one.
void set_member(rapidjson::Value& object, const std::string& name, rapidjson::Value value,
                Allocator& allocator, bool map_key = false) {
  rapidjson::Value* found = nullptr;
  if (map_key) {
    for (auto& member : object.GetObject()) {
      if (std::string_view(member.name.GetString(), member.name.GetStringLength()) == name) {
        found = &member.value;
      }
    }
  } else {
    found = json::find_member(object, name);
  }
  if (found != nullptr) {
    *found = std::move(value);
    return;
  }
  object.AddMember(rapidjson::Value(name.c_str(), allocator), std::move(value), allocator);
}

template <class T>
void set_if(rapidjson::Value& object, const char* name, const std::optional<T>& value,
            Allocator& allocator) {
  if (!value) return;
  if constexpr (std::is_signed_v<T>) {
    set_member(object, name, rapidjson::Value(static_cast<int64_t>(*value)), allocator);
  } else {
    set_member(object, name, rapidjson::Value(static_cast<uint64_t>(*value)), allocator);
  }
}

void set_text_if(rapidjson::Value& object, const char* name, const std::string& value,
                 Allocator& allocator) {
  if (value.empty()) return;
  set_member(object, name, rapidjson::Value(value.c_str(), allocator), allocator);
}

void write_memory(rapidjson::Value& resources, const MemoryResources& memory, Allocator& a) {
  if (!memory.limit && !memory.reservation && !memory.swap) return;
  rapidjson::Value& out = object_member(resources, "memory", a);
  set_if(out, "limit", memory.limit, a);
  set_if(out, "reservation", memory.reservation, a);
  set_if(out, "swap", memory.swap, a);
}

void write_cpu(rapidjson::Value& resources, const CpuResources& cpu, Allocator& a) {
  bool any = cpu.shares || cpu.quota || cpu.period || cpu.realtimeRuntime || cpu.realtimePeriod ||
             !cpu.cpus.empty() || !cpu.mems.empty() || cpu.burst || cpu.idle;
  if (!any) return;
  rapidjson::Value& out = object_member(resources, "cpu", a);
  set_if(out, "shares", cpu.shares, a);
  set_if(out, "quota", cpu.quota, a);
  set_if(out, "burst", cpu.burst, a);
  set_if(out, "period", cpu.period, a);
  set_if(out, "realtimeRuntime", cpu.realtimeRuntime, a);
  set_if(out, "realtimePeriod", cpu.realtimePeriod, a);
  set_text_if(out, "cpus", cpu.cpus, a);
  set_text_if(out, "mems", cpu.mems, a);
  set_if(out, "idle", cpu.idle, a);
}

bool is_device(const rapidjson::Value& entry, int64_t major, int64_t minor) {
  if (!entry.IsObject()) return false;
  const rapidjson::Value* entry_major = json::find_member(entry, "major");
  const rapidjson::Value* entry_minor = json::find_member(entry, "minor");
  return entry_major != nullptr && entry_minor != nullptr && entry_major->IsInt64() &&
         entry_minor->IsInt64() && entry_major->GetInt64() == major &&
         entry_minor->GetInt64() == minor;
}

// runc 1.5's upsert: the last entry for the device is changed, else a new one is appended.
rapidjson::Value& device_entry(rapidjson::Value& devices, int64_t major, int64_t minor,
                               Allocator& a) {
  for (rapidjson::SizeType i = devices.Size(); i > 0; --i) {
    if (is_device(devices[i - 1], major, minor)) return devices[i - 1];
  }
  rapidjson::Value entry(rapidjson::kObjectType);
  entry.AddMember("major", rapidjson::Value(major), a);
  entry.AddMember("minor", rapidjson::Value(minor), a);
  devices.PushBack(std::move(entry), a);
  return devices[devices.Size() - 1];
}

void write_block_io(rapidjson::Value& resources, const BlockIoResources& io, Allocator& a) {
  rapidjson::Value& out = object_member(resources, "blockIO", a);
  set_if(out, "weight", io.weight, a);
  set_if(out, "leafWeight", io.leafWeight, a);
  if (!io.weightDevice.empty()) {
    rapidjson::Value& devices = typed_member(out, "weightDevice", rapidjson::kArrayType, a);
    for (const WeightDevice& device : io.weightDevice) {
      rapidjson::Value& entry = device_entry(devices, device.major, device.minor, a);
      set_if(entry, "weight", device.weight, a);
      set_if(entry, "leafWeight", device.leafWeight, a);
    }
  }
  const std::pair<const char*, const std::vector<ThrottleDevice>*> throttles[] = {
      {"throttleReadBpsDevice", &io.throttleReadBpsDevice},
      {"throttleWriteBpsDevice", &io.throttleWriteBpsDevice},
      {"throttleReadIOPSDevice", &io.throttleReadIOPSDevice},
      {"throttleWriteIOPSDevice", &io.throttleWriteIOPSDevice}};
  for (const auto& [name, list] : throttles) {
    if (list->empty()) continue;
    rapidjson::Value& devices = typed_member(out, name, rapidjson::kArrayType, a);
    for (const ThrottleDevice& device : *list) {
      rapidjson::Value& entry = device_entry(devices, device.major, device.minor, a);
      set_if(entry, "rate", std::optional<uint64_t>(device.rate), a);
    }
  }
}

void write_update(rapidjson::Value& resources, const Resources& update, Allocator& a) {
  if (update.memory) write_memory(resources, *update.memory, a);
  if (update.cpu) write_cpu(resources, *update.cpu, a);
  if (update.blockIO) write_block_io(resources, *update.blockIO, a);
  if (update.pids && update.pids->limit) {
    set_if(object_member(resources, "pids", a), "limit", update.pids->limit, a);
  }
  if (!update.unified.empty()) {
    rapidjson::Value& unified = object_member(resources, "unified", a);
    for (const auto& [file, value] : update.unified) {
      set_member(unified, file, rapidjson::Value(value.c_str(), a), a, /*map_key=*/true);
    }
  }
}

}  // namespace

Resources updatable_part(const Resources& requested) {
  Resources out;
  if (requested.memory) out.memory = updatable_memory(*requested.memory);
  if (requested.cpu) out.cpu = updatable_cpu(*requested.cpu);
  if (requested.blockIO) out.blockIO = updatable_block_io(*requested.blockIO);
  // runtime-spec 1.3 and runc 1.5: a pids limit that is there is one, 0 included.
  if (requested.pids && requested.pids->limit) out.pids.emplace().limit = requested.pids->limit;
  out.unified = requested.unified;
  return out;
}

}  // namespace mkrun::oci

namespace mkrun::oci::json {
namespace {

// RapidJSON's Accept recurses once per level of nesting: at kMaxJsonDepth that is megabytes of
// stack, more under ASan. The same walk, with the path kept on the heap. False when a value
// cannot be written: a number the parser let through beyond a double's range (1e400 in an
// unknown member) has no JSON form once it is infinity.
bool write_without_recursion(const rapidjson::Value& root,
                             rapidjson::Writer<rapidjson::StringBuffer>& writer) {
  struct Open {
    const rapidjson::Value* container;
    rapidjson::SizeType next;
  };
  std::vector<Open> open;
  bool written = true;
  auto visit = [&](const rapidjson::Value& value) {
    if (value.IsObject()) {
      writer.StartObject();
      open.push_back({&value, 0});
    } else if (value.IsArray()) {
      writer.StartArray();
      open.push_back({&value, 0});
    } else {
      written = value.Accept(writer) && written;  // a scalar: no recursion
    }
  };
  visit(root);
  while (!open.empty()) {
    const rapidjson::Value& container = *open.back().container;
    rapidjson::SizeType index = open.back().next++;
    if (container.IsObject()) {
      if (index == container.MemberCount()) {
        writer.EndObject(index);
        open.pop_back();
        continue;
      }
      const auto& member = *(container.MemberBegin() + index);
      writer.Key(member.name.GetString(), member.name.GetStringLength());
      visit(member.value);
    } else {
      if (index == container.Size()) {
        writer.EndArray(index);
        open.pop_back();
        continue;
      }
      visit(container[index]);
    }
  }
  return written;
}

}  // namespace

std::optional<std::string> write_document(const Value& root) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  if (!write_without_recursion(root, writer)) return std::nullopt;
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace mkrun::oci::json

namespace mkrun::oci {

SpecResult<std::string> apply_resources_update(std::string_view config_json,
                                               const Resources& update) {
  Document doc;
  if (auto parsed = json::parse_document(config_json, doc); !parsed) {
    return std::unexpected(parsed.error());
  }
  if (!doc.IsObject()) return json::wrong_type("", "object", doc);
  Allocator& allocator = doc.GetAllocator();
  rapidjson::Value& linux_section = object_member(doc, "linux", allocator);
  write_update(object_member(linux_section, "resources", allocator), update, allocator);
  auto text = json::write_document(doc);
  if (!text) {
    return std::unexpected(SpecError{"the config holds a number beyond the range of a double"});
  }
  return std::move(*text);
}

}  // namespace mkrun::oci
