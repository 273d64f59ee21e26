#ifndef KEYWARDEN_COMMON_IDS_H_
#define KEYWARDEN_COMMON_IDS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace keywarden {

// A version-4 UUID in canonical lower-case text form, from the CSPRNG.
std::string NewUuid();

// True if `text` is a UUID in 8-4-4-4-12 hex form (any case).
bool IsUuid(std::string_view text);

// The 16 bytes of a UUID in text form, or nullopt if it is not one.
std::optional<std::array<uint8_t, 16>> UuidToBytes(std::string_view text);

// Canonical lower-case text of 16 UUID bytes.
std::string UuidFromBytes(const uint8_t* bytes);

}  // namespace keywarden

#endif  // KEYWARDEN_COMMON_IDS_H_
