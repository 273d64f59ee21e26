#include "keywarden/api/kmip/messages.h"

#include "gtest/gtest.h"

namespace keywarden::api::kmip {
namespace {

TEST(AttributeTest, OneXAttributeRoundTripsThroughTheNameTable) {
  Attribute a{.name = {static_cast<uint32_t>(Tag::kCryptographicLength), ""},
              .index = 0,
              .value = Item::Integer(Tag::kCryptographicLength, 256)};
  Item encoded = EncodeAttribute1x(a);
  EXPECT_EQ(encoded.Find(Tag::kAttributeName)->bytes(), "Cryptographic Length");
  auto decoded = DecodeAttribute1x(encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->name, a.name);
  EXPECT_EQ(decoded->value, a.value);
}

TEST(AttributeTest, OneXRejectsWrongTypesUnknownNamesAndMissingValues) {
  auto attr = [](std::string name, std::optional<Item> value) {
    Item a = Item::Structure(Tag::kAttribute, {Item::TextString(Tag::kAttributeName, name)});
    if (value) {
      value->set_tag(static_cast<uint32_t>(Tag::kAttributeValue));
      a.Add(*value);
    }
    return a;
  };
  EXPECT_FALSE(DecodeAttribute1x(attr("Cryptographic Length", Item::TextString(Tag::kAttributeValue, "256"))).ok());
  EXPECT_FALSE(DecodeAttribute1x(attr("Frobnication", Item::Integer(Tag::kAttributeValue, 1))).ok());
  EXPECT_FALSE(DecodeAttribute1x(attr("State", std::nullopt)).ok());
  EXPECT_FALSE(DecodeAttribute1x(attr("Name", Item::Structure(Tag::kAttributeValue,
                                                            {Item::TextString(Tag::kNameValue, "n")})))
                   .ok());  // Name Type missing
  EXPECT_TRUE(DecodeAttribute1x(attr("x-anything", Item::Boolean(Tag::kAttributeValue, true))).ok());
  EXPECT_FALSE(DecodeAttribute1x(attr("x-nested", Item::Structure(Tag::kAttributeValue))).ok());
}

TEST(AttributeTest, TwoZeroAttributesUseTheirOwnTags) {
  AttributeList list;
  list.AddEnum(Tag::kCryptographicAlgorithm, static_cast<uint32_t>(CryptographicAlgorithm::kAes));
  list.AddName("n1");
  Item encoded = EncodeAttributes20(Tag::kAttributes, list);
  ASSERT_EQ(encoded.children().size(), 2u);
  EXPECT_TRUE(encoded.children()[0].Is(Tag::kCryptographicAlgorithm));
  auto decoded = DecodeAttributes20(encoded);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->algorithm(), CryptographicAlgorithm::kAes);
  EXPECT_EQ(decoded->names(), std::vector<std::string>{"n1"});
  Item unknown = Item::Structure(Tag::kAttributes, {Item::Integer(Tag::kBatchCount, 1)});
  EXPECT_FALSE(DecodeAttributes20(unknown).ok());
}

TEST(ManagedObjectTest, TransparentRsaPrivateKeyRoundTrips) {
  ManagedObject o;
  o.object_type = ObjectType::kPrivateKey;
  o.key_format_type = KeyFormatType::kTransparentRsaPrivateKey;
  o.algorithm = CryptographicAlgorithm::kRsa;
  o.length = 2048;
  std::vector<uint8_t> eight(8, 7);
  o.transparent = {{Tag::kModulus, SecretBytes(eight)}, {Tag::kPrivateExponent, SecretBytes(eight)},
                   {Tag::kPublicExponent, SecretBytes(eight)}};
  auto item = EncodeManagedObject(o);
  ASSERT_TRUE(item.ok());
  auto decoded = DecodeManagedObject(*item);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->object_type, ObjectType::kPrivateKey);
  ASSERT_EQ(decoded->transparent.size(), 3u);
  EXPECT_EQ(decoded->transparent[1].first, Tag::kPrivateExponent);
  EXPECT_EQ(decoded->length, 2048);
}

TEST(ManagedObjectTest, SecretDataAndRefusals) {
  ManagedObject o;
  o.object_type = ObjectType::kSecretData;
  o.key_format_type = KeyFormatType::kOpaque;
  o.secret_data_type = SecretDataType::kPassword;
  std::vector<uint8_t> pw = {'p', 'w'};
  o.material = SecretBytes(pw);
  auto item = EncodeManagedObject(o);
  ASSERT_TRUE(item.ok());
  auto decoded = DecodeManagedObject(*item);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->material, SecretBytes(pw));
  EXPECT_EQ(decoded->secret_data_type, SecretDataType::kPassword);

  Item wrapped = *item;
  wrapped.mutable_children()[1].Add(Item::Structure(Tag::kKeyWrappingData));
  EXPECT_EQ(DecodeManagedObject(wrapped).status().code(), absl::StatusCode::kUnimplemented);
  Item no_value = *item;
  auto& block = no_value.mutable_children()[1].mutable_children();
  block.erase(block.begin() + 1);
  EXPECT_FALSE(DecodeManagedObject(no_value).ok());
}

TEST(CryptographicParametersTest, RoundTripAndStrictness) {
  CryptographicParameters p{.block_cipher_mode = BlockCipherMode::kCbc,
                            .padding_method = PaddingMethod::kPkcs5,
                            .hashing_algorithm = HashingAlgorithm::kSha256,
                            .cryptographic_algorithm = CryptographicAlgorithm::kAes,
                            .digital_signature_algorithm = std::nullopt,
                            .random_iv = true,
                            .iv_length = 128,
                            .tag_length = std::nullopt};
  auto decoded = DecodeCryptographicParameters(EncodeCryptographicParameters(p));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->padding_method, PaddingMethod::kPkcs5);
  EXPECT_EQ(decoded->random_iv, true);
  EXPECT_EQ(decoded->iv_length, 128);
  Item dup = EncodeCryptographicParameters(p);
  dup.Add(Item::Enum(Tag::kBlockCipherMode, BlockCipherMode::kGcm));
  EXPECT_FALSE(DecodeCryptographicParameters(dup).ok());
  Item negative = Item::Structure(Tag::kCryptographicParameters, {Item::Integer(Tag::kTagLength, -1)});
  EXPECT_FALSE(DecodeCryptographicParameters(negative).ok());
}

}  // namespace
}  // namespace keywarden::api::kmip
