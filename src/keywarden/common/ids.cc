#include "keywarden/common/ids.h"

#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace keywarden {
namespace {

// Positions of the hyphens in the 36-character 8-4-4-4-12 form (RFC 9562 §4).
constexpr size_t kUuidTextSize = 36;
constexpr bool IsHyphenPos(size_t i) {
  return i == 8 || i == 13 || i == 18 || i == 23;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string NewUuid() {
  std::array<uint8_t, 16> bytes;
  // common/ sits below crypto/, so it calls RAND_bytes directly. Like
  // crypto::RandomBytes, a CSPRNG failure aborts rather than hand out a
  // predictable id.
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    std::abort();
  }
  // Version 4 (random) and the RFC 9562 variant (10xx), RFC 9562 §5.4.
  bytes[6] = static_cast<uint8_t>((bytes[6] & 0x0f) | 0x40);
  bytes[8] = static_cast<uint8_t>((bytes[8] & 0x3f) | 0x80);
  return UuidFromBytes(bytes.data());
}

bool IsUuid(std::string_view text) { return UuidToBytes(text).has_value(); }

std::optional<std::array<uint8_t, 16>> UuidToBytes(std::string_view text) {
  if (text.size() != kUuidTextSize) return std::nullopt;
  std::array<uint8_t, 16> out{};
  size_t n = 0;
  for (size_t i = 0; i < kUuidTextSize;) {
    if (IsHyphenPos(i)) {
      if (text[i] != '-') return std::nullopt;
      ++i;
      continue;
    }
    const int hi = HexValue(text[i]);
    const int lo = HexValue(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[n++] = static_cast<uint8_t>((hi << 4) | lo);
    i += 2;
  }
  return out;
}

std::string UuidFromBytes(const uint8_t* bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(kUuidTextSize, '-');
  size_t pos = 0;
  for (size_t i = 0; i < 16; ++i) {
    if (IsHyphenPos(pos)) ++pos;
    out[pos++] = kHex[bytes[i] >> 4];
    out[pos++] = kHex[bytes[i] & 0x0f];
  }
  return out;
}

}  // namespace keywarden
