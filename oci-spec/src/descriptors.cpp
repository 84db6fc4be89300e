#include "mkrun/oci/descriptors.hpp"

#include "mkrun/oci/json/read.hpp"
#include "mkrun/oci/json/write.hpp"

namespace mkrun::oci {

std::string render_descriptors(const std::vector<std::string>& descriptors) {
  json::Writer writer;
  writer.begin_array();
  for (const std::string& descriptor : descriptors) writer.value(descriptor);
  writer.end_array();
  return writer.str();
}

SpecResult<std::vector<std::string>> parse_descriptors(std::string_view text) {
  rapidjson::Document doc;
  if (auto parsed = json::parse_document(text, doc); !parsed) {
    return std::unexpected(parsed.error());
  }
  std::vector<std::string> descriptors;
  if (auto read = json::read_json(doc, std::string{}, descriptors); !read) {
    return std::unexpected(read.error());
  }
  return descriptors;
}

}  // namespace mkrun::oci
