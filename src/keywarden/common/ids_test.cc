#include "keywarden/common/ids.h"

#include <array>
#include <cstdint>
#include <set>
#include <string>

#include "gtest/gtest.h"

namespace keywarden {
namespace {

TEST(NewUuidTest, IsCanonicalVersion4) {
  for (int i = 0; i < 100; ++i) {
    const std::string id = NewUuid();
    ASSERT_EQ(id.size(), 36u);
    EXPECT_TRUE(IsUuid(id)) << id;
    // RFC 9562 §5.4: version nibble 4, variant bits 10.
    EXPECT_EQ(id[14], '4') << id;
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;
    for (char c : id) {
      EXPECT_TRUE(c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))
          << id;
    }
  }
}

TEST(NewUuidTest, DoesNotRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(seen.insert(NewUuid()).second);
}

TEST(IsUuidTest, AcceptsAnyCase) {
  EXPECT_TRUE(IsUuid("12345678-9abc-def0-1234-56789abcdef0"));
  EXPECT_TRUE(IsUuid("12345678-9ABC-DEF0-1234-56789ABCDEF0"));
  EXPECT_TRUE(IsUuid("00000000-0000-0000-0000-000000000000"));
}

TEST(IsUuidTest, RejectsMalformed) {
  EXPECT_FALSE(IsUuid(""));
  EXPECT_FALSE(IsUuid("12345678-9abc-def0-1234-56789abcdef"));    // short
  EXPECT_FALSE(IsUuid("12345678-9abc-def0-1234-56789abcdef01"));  // long
  EXPECT_FALSE(IsUuid("12345678_9abc-def0-1234-56789abcdef0"));   // separator
  EXPECT_FALSE(IsUuid("123456789abc-def0-1234-56789abcdef0-"));   // misplaced
  EXPECT_FALSE(IsUuid("1234567g-9abc-def0-1234-56789abcdef0"));   // not hex
  EXPECT_FALSE(IsUuid("{2345678-9abc-def0-1234-56789abcdef0}"));
  EXPECT_FALSE(IsUuid("12345678-9abc-def0-1234-56789abcdef\n"));
  EXPECT_FALSE(IsUuid("123456789abcdef0123456789abcdef0"));  // no hyphens
  EXPECT_FALSE(IsUuid(std::string_view("12345678-9abc-def0-1234-56789abcdef\0", 36)));
}

TEST(UuidBytesTest, RoundTrips) {
  const auto bytes = UuidToBytes("00112233-4455-6677-8899-AABBCCDDEEFF");
  ASSERT_TRUE(bytes.has_value());
  const std::array<uint8_t, 16> want = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
                                        0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
                                        0xcc, 0xdd, 0xee, 0xff};
  EXPECT_EQ(*bytes, want);
  EXPECT_EQ(UuidFromBytes(bytes->data()),
            "00112233-4455-6677-8899-aabbccddeeff");
  for (int i = 0; i < 50; ++i) {
    const std::string id = NewUuid();
    const auto b = UuidToBytes(id);
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(UuidFromBytes(b->data()), id);
  }
}

TEST(UuidBytesTest, RejectsNonUuid) {
  EXPECT_EQ(UuidToBytes("not-a-uuid"), std::nullopt);
}

}  // namespace
}  // namespace keywarden
