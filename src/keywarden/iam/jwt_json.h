#ifndef KEYWARDEN_IAM_JWT_JSON_H_
#define KEYWARDEN_IAM_JWT_JSON_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"

// A deliberately small JSON (RFC 8259) reader and writer for the flat
// objects of a JOSE header and a JWT claims set (RFC 7515 §4, RFC 7519 §4).
// iam may not use Boost.JSON (STYLE.md dependency rule), and a token
// verifier reads attacker-controlled bytes, so the reader accepts far less
// than JSON: one top-level object whose values are strings, integers or
// booleans. It rejects nested objects and arrays, null, fractions and
// exponents, integers outside int64, duplicate member names (RFC 7515 §4,
// RFC 7519 §4: a parser must reject them or use the last; we reject),
// invalid UTF-8, unpaired surrogates, and anything after the closing brace
// but whitespace. It must never crash on any input and allocates at most a
// small multiple of its (capped) input; Parse is a libFuzzer entry point as
// it stands (a target for tests/fuzz/ calls it on the raw bytes).
namespace keywarden::iam::jwt_json {

using Value = std::variant<std::string, int64_t, bool>;

// The members of an object in document order; names are unique.
class Object {
 public:
  // Adds a member; the caller keeps names unique (the writer's inputs are
  // fixed sets of claim names).
  void Set(std::string name, Value value) {
    members_.emplace_back(std::move(name), std::move(value));
  }
  const Value* Find(std::string_view name) const;
  const std::vector<std::pair<std::string, Value>>& members() const {
    return members_;
  }

 private:
  std::vector<std::pair<std::string, Value>> members_;
};

// The longest text Parse reads, and the most members an object may have:
// JOSE headers and our claims sets are a few hundred bytes.
inline constexpr size_t kMaxTextSize = 8192;
inline constexpr size_t kMaxMembers = 64;

// Parses `text` as one flat object. InvalidArgument (with an offset, never
// the input) on anything else.
absl::StatusOr<Object> Parse(std::string_view text);

// The compact serialisation of `object`: no whitespace, members in order,
// strings escaped per RFC 8259 §7 (quote, backslash and control characters;
// other UTF-8 is written as is).
std::string Serialize(const Object& object);

}  // namespace keywarden::iam::jwt_json

#endif  // KEYWARDEN_IAM_JWT_JSON_H_
