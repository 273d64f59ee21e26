// Fuzz target: the flat JSON reader of JOSE headers and claims sets
// (iam/jwt_json.h), which reads attacker-controlled bytes before any
// signature is checked. Targets jwt_json::Parse and jwt_json::Serialize.
//
// Properties (each checked with __builtin_trap()):
// - nothing longer than kMaxTextSize is accepted;
// - a parsed object has at most kMaxMembers members, all names unique;
// - Serialize(Parse(x)) parses again to the same members, and serializing
//   that gives the same text (the writer's output is a fixed point).
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "keywarden/iam/jwt_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace jwt_json = keywarden::iam::jwt_json;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto object = jwt_json::Parse(text);
  if (!object.ok()) return 0;
  if (size > jwt_json::kMaxTextSize) __builtin_trap();
  if (object->members().size() > jwt_json::kMaxMembers) __builtin_trap();
  std::set<std::string_view> names;
  for (const auto& [name, value] : object->members()) {
    if (!names.insert(name).second) __builtin_trap();
  }

  const std::string once = jwt_json::Serialize(*object);
  auto reparsed = jwt_json::Parse(once);
  if (!reparsed.ok() || reparsed->members() != object->members()) {
    __builtin_trap();
  }
  if (jwt_json::Serialize(*reparsed) != once) __builtin_trap();
  return 0;
}
