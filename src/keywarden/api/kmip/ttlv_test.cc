#include "keywarden/api/kmip/ttlv.h"

#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace keywarden::api::kmip {
namespace {

std::vector<uint8_t> Hex(std::string_view hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::vector<uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }

// KMIP 1.4 §9.1.2 examples, one per item type.
TEST(TtlvTest, DecodesTheSpecExamplesAndReEncodesThemExactly) {
  struct Case {
    const char* hex;
    ItemType type;
  };
  const Case cases[] = {
      {"42002002000000040000000800000000", ItemType::kInteger},           // 8
      {"420020030000000801B6C6AC0C7F2E3B", ItemType::kLongInteger},
      {"42002004000000100000000000000000" "0000000012345678", ItemType::kBigInteger},
      {"42002005000000040000FF0000000000", ItemType::kEnumeration},
      {"42002006000000080000000000000001", ItemType::kBoolean},
      {"420020070000000B" "48656C6C6F20576F726C640000000000", ItemType::kTextString},
      {"42002008000000030102030000000000", ItemType::kByteString},
      {"42002009000000080000000047DA67F8", ItemType::kDateTime},
      {"4200200A00000004000D2F0000000000", ItemType::kInterval},
      {"4200200B0000000800045A8A6B1A0F40", ItemType::kDateTimeExtended},
      {"42002001000000204200040500000004" "000000FE000000004200050200000004" "0000FF0000000000",
       ItemType::kStructure},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.hex);
    std::vector<uint8_t> bytes = Hex(c.hex);
    auto item = DecodeTtlv(bytes);
    ASSERT_TRUE(item.ok()) << item.status();
    EXPECT_EQ(item->tag(), 0x420020u);
    EXPECT_EQ(item->type(), c.type);
    auto again = EncodeTtlv(*item);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(Bytes(*again), bytes);
  }
  auto text = DecodeTtlv(Hex(cases[5].hex));
  EXPECT_EQ(text->bytes(), "Hello World");
  auto integer = DecodeTtlv(Hex(cases[0].hex));
  EXPECT_EQ(integer->int_value(), 8);
  auto date = DecodeTtlv(Hex(cases[7].hex));
  EXPECT_EQ(date->int_value(), 0x47DA67F8);
  auto structure = DecodeTtlv(Hex(cases[10].hex));
  ASSERT_EQ(structure->children().size(), 2u);
  EXPECT_EQ(structure->children()[0].int_value(), 0xFE);
  EXPECT_EQ(structure->children()[1].int_value(), 0xFF00);
}

TEST(TtlvTest, NegativeIntegerIsSignExtended) {
  auto item = DecodeTtlv(Hex("4200200200000004FFFFFFFF00000000"));
  ASSERT_TRUE(item.ok());
  EXPECT_EQ(item->int_value(), -1);
}

TEST(TtlvTest, RejectsNonCanonicalEncodings) {
  const char* bad[] = {
      "",                                          // empty
      "420020020000000400000008",                  // truncated value
      "42002002000000040000000800000001",          // non-zero padding
      "42002002000000080000000800000000",          // Integer of length 8
      "42002006000000080000000000000002",          // Boolean 2
      "42002007000000024142000000000001",          // text padding non-zero
      "4200200700000002C328000000000000",          // invalid UTF-8
      "4200200700000002C0AF000000000000",          // overlong '/'
      "42002004000000040000000100000000",          // Big Integer of 4 bytes
      "420020010000000442002002",                  // structure length not 8k
      "42002001000000184200200200000004" "0000000100000000",  // overruns
      "4200200C00000000",                          // unknown type
      "00002002000000040000000800000000",          // tag outside 0x42/0x54
      "42002002000000040000000800000000" "00",     // trailing byte
      "42002001000000104200200200000004" "0000000100000000" "4200200200000004",
  };
  for (const char* hex : bad) {
    SCOPED_TRACE(hex);
    std::vector<uint8_t> bytes = Hex(hex);
    EXPECT_FALSE(DecodeTtlv(bytes).ok());
  }
}

TEST(TtlvTest, ExtensionTagsAreAccepted) {
  EXPECT_TRUE(DecodeTtlv(Hex("54000102000000040000000800000000")).ok());
}

std::vector<uint8_t> Nested(int depth) {
  Item item = Item::Integer(Tag::kBatchCount, 1);
  for (int i = 0; i < depth; ++i) item = Item::Structure(Tag::kBatchItem, {item});
  auto bytes = EncodeTtlv(item);
  return Bytes(*bytes);
}

TEST(TtlvTest, DepthIsBounded) {
  EXPECT_TRUE(DecodeTtlv(Nested(kMaxTtlvDepth)).ok());
  auto deep = DecodeTtlv(Nested(kMaxTtlvDepth + 1));
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.status().message().find("nesting"), absl::string_view::npos);
}

TEST(TtlvTest, ItemCountIsBounded) {
  Item flat = Item::Structure(Tag::kRequestMessage);
  for (size_t i = 0; i < kMaxTtlvItems; ++i) flat.Add(Item::Boolean(Tag::kBatchOrderOption, true));
  auto bytes = EncodeTtlv(flat);  // kMaxTtlvItems + 1 items
  auto decoded = DecodeTtlv(Bytes(*bytes));
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.status().message().find("items"), absl::string_view::npos);
  flat.mutable_children().pop_back();
  EXPECT_TRUE(DecodeTtlv(Bytes(*EncodeTtlv(flat))).ok());
}

TEST(TtlvTest, TotalLengthIsBounded) {
  std::string big(kMaxTtlvMessageBytes, 'a');
  auto bytes = EncodeTtlv(Item::ByteString(Tag::kData, big));
  EXPECT_FALSE(DecodeTtlv(Bytes(*bytes)).ok());
  TtlvLimits roomy{.max_bytes = kMaxTtlvMessageBytes * 2};
  EXPECT_TRUE(DecodeTtlv(Bytes(*bytes), roomy).ok());
}

TEST(TtlvTest, MessageSizeFromHeader) {
  auto size = TtlvMessageSize(Hex("4200780100000010"));
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 24u);
  EXPECT_FALSE(TtlvMessageSize(Hex("4200780200000010")).ok());  // not a structure
  EXPECT_FALSE(TtlvMessageSize(Hex("4200780100000011")).ok());  // not 8k
  EXPECT_FALSE(TtlvMessageSize(Hex("42007801FFFFFFF8")).ok());  // too large
  EXPECT_FALSE(TtlvMessageSize(Hex("42007801")).ok());          // short
  EXPECT_FALSE(TtlvMessageSize(Hex("0100780100000010")).ok());  // bad tag
}

TEST(TtlvTest, EveryTruncationAndByteFlipOfAMessageIsHandled) {
  Item msg = Item::Structure(
      Tag::kRequestMessage,
      {Item::TextString(Tag::kUniqueIdentifier, "abc"),
       Item::ByteString(Tag::kData, std::string("\x01\x02\x03", 3)),
       Item::LongInteger(Tag::kMaximumItems, -5), Item::Boolean(Tag::kRandomIv, true),
       Item::BigInteger(Tag::kModulus, std::string(8, '\x7f')),
       Item::DateTimeExtended(Tag::kTimeStamp, 1234567)});
  std::vector<uint8_t> bytes = Bytes(*EncodeTtlv(msg));
  ASSERT_EQ(*DecodeTtlv(bytes), msg);
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(DecodeTtlv(std::span(bytes).first(n)).ok()) << n;
  }
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::vector<uint8_t> flipped = bytes;
    flipped[i] ^= 0x01;
    auto decoded = DecodeTtlv(flipped);
    if (decoded.ok()) {
      // Whatever decodes re-encodes to the same bytes (canonical form).
      EXPECT_EQ(Bytes(*EncodeTtlv(*decoded)), flipped) << i;
    }
  }
}

TEST(TtlvTest, EncoderRejectsWhatItCannotRepresent) {
  EXPECT_FALSE(EncodeTtlv(Item::BigInteger(Tag::kModulus, "abc")).ok());
  EXPECT_FALSE(EncodeTtlv(Item::BigInteger(Tag::kModulus, "")).ok());
  EXPECT_FALSE(EncodeTtlv(Item::TextString(Tag::kName, "\xff")).ok());
}

TEST(TtlvTest, DebugStringNeverShowsByteStrings) {
  Item item = Item::Structure(Tag::kKeyBlock,
                              {Item::ByteString(Tag::kKeyMaterial, std::string("SECRET")),
                               Item::TextString(Tag::kNameValue, "label")});
  std::string dump = DebugString(item);
  EXPECT_EQ(dump.find("SECRET"), std::string::npos);
  EXPECT_NE(dump.find("KeyMaterial ByteString (6 bytes)"), std::string::npos);
  EXPECT_NE(dump.find("\"label\""), std::string::npos);
}

}  // namespace
}  // namespace keywarden::api::kmip
