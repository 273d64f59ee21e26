#include "keywarden/crypto/hmac.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "keywarden/crypto/sha256.h"

namespace keywarden::crypto {
namespace {

std::vector<uint8_t> Hex(std::string_view hex) {
  const std::string bytes =
      absl::HexStringToBytes(absl::string_view(hex.data(), hex.size()));
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

std::vector<uint8_t> Text(std::string_view text) {
  return std::vector<uint8_t>(text.begin(), text.end());
}

std::string HexOf(std::span<const uint8_t> bytes) {
  return absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

struct Rfc4231Case {
  const char* name;
  std::vector<uint8_t> key;
  std::vector<uint8_t> data;
  const char* hmac_sha256;  // hex; test case 5 gives only the first 128 bits
};

// RFC 4231 §4.2-§4.8, the HMAC-SHA-256 lines of test cases 1-7.
std::vector<Rfc4231Case> Rfc4231Cases() {
  return {
      {"TC1", std::vector<uint8_t>(20, 0x0b), Text("Hi There"),
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      // A key shorter than the output.
      {"TC2", Text("Jefe"), Text("what do ya want for nothing?"),
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {"TC3", std::vector<uint8_t>(20, 0xaa), std::vector<uint8_t>(50, 0xdd),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {"TC4", Hex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
       std::vector<uint8_t>(50, 0xcd),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      // Truncation to 128 bits (RFC 4231 §4.6).
      {"TC5", std::vector<uint8_t>(20, 0x0c), Text("Test With Truncation"),
       "a3b6167473100ee06e0c796c2955552b"},
      // Keys longer than the 64-byte block are hashed first.
      {"TC6", std::vector<uint8_t>(131, 0xaa),
       Text("Test Using Larger Than Block-Size Key - Hash Key First"),
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {"TC7", std::vector<uint8_t>(131, 0xaa),
       Text("This is a test using a larger than block-size key and a larger "
            "than block-size data. The key needs to be hashed before being "
            "used by the HMAC algorithm."),
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
}

TEST(HmacSha256Test, Rfc4231TestCases1To7) {
  for (const Rfc4231Case& c : Rfc4231Cases()) {
    const auto mac = HmacSha256(c.key, c.data);
    const std::string expected = c.hmac_sha256;
    EXPECT_EQ(HexOf(mac).substr(0, expected.size()), expected) << c.name;
  }
}

TEST(HmacSha256Test, EmptyKeyAndDataEqualAllZeroKey) {
  // RFC 2104 §2: a key shorter than the block is padded with zeros, so the
  // empty key and a block of zeros are the same key.
  const std::vector<uint8_t> zeros(64, 0);
  EXPECT_EQ(HmacSha256({}, {}), HmacSha256(zeros, {}));
  EXPECT_EQ(HmacSha256({}, Text("x")), HmacSha256(zeros, Text("x")));
}

TEST(HmacSha256Test, LongKeyIsItsHash) {
  // RFC 2104 §2: a key longer than the 64-byte block is replaced by H(key).
  const std::vector<uint8_t> long_key(65, 0xaa);
  const auto hashed = Sha256(long_key);
  EXPECT_EQ(HmacSha256(long_key, Text("x")), HmacSha256(hashed, Text("x")));
  // A key of exactly one block is used as is.
  const std::vector<uint8_t> block_key(64, 0xaa);
  EXPECT_NE(HmacSha256(block_key, Text("x")),
            HmacSha256(Sha256(block_key), Text("x")));
}

TEST(HmacSha256Test, AnyChangeOfKeyOrDataChangesTheMac) {
  const std::vector<uint8_t> key = Text("webhook-secret");
  const std::vector<uint8_t> data = Text(R"({"event":"key.rotated"})");
  const auto mac = HmacSha256(key, data);
  for (size_t i = 0; i < data.size(); ++i) {
    std::vector<uint8_t> flipped = data;
    flipped[i] ^= 0x01;
    EXPECT_NE(HmacSha256(key, flipped), mac) << "data byte " << i;
  }
  for (size_t i = 0; i < key.size(); ++i) {
    std::vector<uint8_t> flipped = key;
    flipped[i] ^= 0x01;
    EXPECT_NE(HmacSha256(flipped, data), mac) << "key byte " << i;
  }
  std::vector<uint8_t> truncated(data.begin(), data.end() - 1);
  EXPECT_NE(HmacSha256(key, truncated), mac);
  std::vector<uint8_t> extended = data;
  extended.push_back(0);
  EXPECT_NE(HmacSha256(key, extended), mac);
}

}  // namespace
}  // namespace keywarden::crypto
