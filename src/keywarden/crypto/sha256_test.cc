#include "keywarden/crypto/sha256.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace keywarden::crypto {
namespace {

std::string HexOf(std::string_view text) {
  const auto digest = Sha256(std::span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  return absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(digest.data()), digest.size()));
}

// FIPS 180-2 Appendix B.1 / B.2 (the same examples are in the NIST CSRC
// "SHA256.pdf" example file for FIPS 180-4).
TEST(Sha256Test, FipsAbc) {
  EXPECT_EQ(HexOf("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256Test, FipsTwoBlockMessage) {
  EXPECT_EQ(HexOf("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Test, EmptyString) {
  EXPECT_EQ(HexOf(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256({}), Sha256(std::span<const uint8_t>()));
}

TEST(Sha256Test, MillionA) {
  // FIPS 180-2 Appendix B.3.
  EXPECT_EQ(HexOf(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

}  // namespace
}  // namespace keywarden::crypto
