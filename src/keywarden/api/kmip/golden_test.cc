// Golden vectors encoded by PyKMIP (tests/kat/kmip/gen_pykmip_vectors.py,
// checked in as tests/kat/kmip/pykmip_vectors.txt): KMIP 1.2, 1.4 and 2.0
// request and response messages. Every vector decodes and re-encodes to
// its own bytes; each request parses into the typed request PyKMIP meant;
// and the responses this layer builds for PyKMIP's requests are PyKMIP's
// response bytes, byte for byte.
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "keywarden/api/kmip/protocol.h"
#include "keywarden/api/kmip/scripted_backend_test_util.h"

namespace keywarden::api::kmip {
namespace {

struct Vector {
  std::string name, version, kind;
  std::vector<uint8_t> bytes;
};

std::vector<uint8_t> Hex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

const std::vector<Vector>& Vectors() {
  static const auto* vectors = [] {
    auto* out = new std::vector<Vector>;
    std::ifstream in(KW_KMIP_VECTORS);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      Vector v;
      std::string hex;
      fields >> v.name >> v.version >> v.kind >> hex;
      v.bytes = Hex(hex);
      out->push_back(std::move(v));
    }
    return out;
  }();
  return *vectors;
}

const Vector& Find(const std::string& name, const std::string& version,
                   const std::string& kind) {
  for (const Vector& v : Vectors()) {
    if (v.name == name && v.version == version && v.kind == kind) return v;
  }
  ADD_FAILURE() << "no vector " << name << " " << version << " " << kind;
  static const Vector empty;
  return empty;
}

std::vector<uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }

TEST(GoldenTest, TheVectorFileIsComplete) {
  EXPECT_EQ(Vectors().size(), 81u);  // 27 per version
}

TEST(GoldenTest, EveryVectorDecodesAndReEncodesToItsOwnBytes) {
  for (const Vector& v : Vectors()) {
    SCOPED_TRACE(v.name + " " + v.version + " " + v.kind);
    auto item = DecodeTtlv(v.bytes);
    ASSERT_TRUE(item.ok()) << item.status();
    auto again = EncodeTtlv(*item);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(Bytes(*again), v.bytes);
    if (v.kind == "request") {
      auto parsed = ParseRequestMessage(*item);
      ASSERT_TRUE(parsed.ok()) << parsed.status();
      EXPECT_EQ(parsed->version.major, v.version[0] - '0');
      EXPECT_EQ(parsed->version.minor, v.version[2] - '0');
    }
  }
}

class GoldenVersionTest : public ::testing::TestWithParam<std::string> {
 protected:
  // Runs PyKMIP's request `name` through the protocol and returns our
  // response bytes.
  std::vector<uint8_t> Run(const std::string& name) {
    KmipProtocol protocol(backend_, backend_, clock_);
    return Bytes(protocol.Process(Find(name, GetParam(), "request").bytes, client_));
  }
  std::vector<uint8_t> Expected(const std::string& name) {
    return Find(name, GetParam(), "response").bytes;
  }
  bool AtLeast14() const { return GetParam() != "1.2"; }

  ScriptedBackend backend_;
  FakeClock clock_;  // 1767225600, the vectors' time stamp
  KmipClient client_;
};

TEST_P(GoldenVersionTest, CreateParsesTheTemplateAndAnswersLikePyKmip) {
  backend_.next_create = {ObjectType::kSymmetricKey, "42"};
  EXPECT_EQ(Run("create_aes256"), Expected("create"));
  ASSERT_TRUE(backend_.create);
  const AttributeList& a = backend_.create->attributes;
  EXPECT_EQ(backend_.create->object_type, ObjectType::kSymmetricKey);
  EXPECT_EQ(a.algorithm(), CryptographicAlgorithm::kAes);
  EXPECT_EQ(a.length(), 256);
  EXPECT_EQ(a.usage_mask(), kUsageEncrypt | kUsageDecrypt);
  EXPECT_EQ(a.names(), std::vector<std::string>{"golden-key"});
}

TEST_P(GoldenVersionTest, GetAnswersWithTheRawKeyLikePyKmip) {
  backend_.next_get.unique_identifier = "42";
  backend_.next_get.object.algorithm = CryptographicAlgorithm::kAes;
  backend_.next_get.object.length = 256;
  std::vector<uint8_t> key(32);
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i);
  backend_.next_get.object.material = SecretBytes(key);
  EXPECT_EQ(Run("get"), Expected("get_raw_aes256"));
  ASSERT_TRUE(backend_.get);
  EXPECT_EQ(backend_.get->unique_identifier, "42");
  EXPECT_FALSE(backend_.get->key_format_type);
}

TEST_P(GoldenVersionTest, GetOfAMissingObjectAnswersItemNotFoundLikePyKmip) {
  backend_.error = absl::NotFoundError("no such object");
  EXPECT_EQ(Run("get"), Expected("item_not_found"));
}

TEST_P(GoldenVersionTest, LocateParsesTheFiltersAndAnswersLikePyKmip) {
  backend_.next_locate.unique_identifiers = {"42", "43"};
  EXPECT_EQ(Run("locate_by_name"), Expected("locate"));
  ASSERT_TRUE(backend_.locate);
  EXPECT_EQ(backend_.locate->maximum_items, 5);
  EXPECT_EQ(backend_.locate->attributes.names(), std::vector<std::string>{"golden-key"});
  EXPECT_EQ(backend_.locate->attributes.object_type(), ObjectType::kSymmetricKey);
}

TEST_P(GoldenVersionTest, EncryptParsesGcmParametersAndAnswersLikePyKmip) {
  backend_.next_encrypt.unique_identifier = "42";
  backend_.next_encrypt.data = std::string(32, '\x01');
  backend_.next_encrypt.tag = std::string(16, '\x02');
  EXPECT_EQ(Run("encrypt_gcm"), Expected("encrypt"));
  ASSERT_TRUE(backend_.encrypt);
  const EncryptRequest& r = *backend_.encrypt;
  EXPECT_EQ(r.unique_identifier, "42");
  ASSERT_TRUE(r.parameters);
  EXPECT_EQ(r.parameters->block_cipher_mode, BlockCipherMode::kGcm);
  EXPECT_EQ(r.parameters->tag_length, 16);
  std::string plain = "thirty-two bytes of plaintext!!!";
  EXPECT_EQ(r.data, SecretBytes(Bytes(plain)));
  EXPECT_EQ(r.iv_counter_nonce, std::string(12, '\0'));
  // PyKMIP writes Authenticated Encryption Additional Data from 1.4 on.
  EXPECT_EQ(r.aad, AtLeast14() ? std::optional<std::string>("aad") : std::nullopt);
}

TEST_P(GoldenVersionTest, GetAttributesNamesTheAttributes) {
  backend_.next_get_attributes.unique_identifier = "42";
  Run("get_attributes");
  ASSERT_TRUE(backend_.get_attributes);
  std::vector<AttributeName> want = {
      {static_cast<uint32_t>(Tag::kCryptographicAlgorithm), ""},
      {static_cast<uint32_t>(Tag::kState), ""},
      {static_cast<uint32_t>(Tag::kName), ""}};
  EXPECT_EQ(backend_.get_attributes->names, want);
}

TEST_P(GoldenVersionTest, RegisterParsesTheSymmetricKey) {
  Run("register_aes128");
  ASSERT_TRUE(backend_.reg);
  const RegisterRequest& r = *backend_.reg;
  EXPECT_EQ(r.object_type, ObjectType::kSymmetricKey);
  EXPECT_EQ(r.object.key_format_type, KeyFormatType::kRaw);
  EXPECT_EQ(r.object.algorithm, CryptographicAlgorithm::kAes);
  EXPECT_EQ(r.object.length, 128);
  std::vector<uint8_t> key(16);
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(r.object.material, SecretBytes(key));
  EXPECT_EQ(r.attributes.usage_mask(), kUsageEncrypt);
}

TEST_P(GoldenVersionTest, BatchOfActivateRevokeDestroyRunsInOrder) {
  auto bytes = Run("activate_revoke_destroy");
  EXPECT_EQ(backend_.activated, std::vector<std::string>{"42"});
  ASSERT_TRUE(backend_.revoke);
  EXPECT_EQ(backend_.revoke->reason, RevocationReasonCode::kCessationOfOperation);
  EXPECT_EQ(backend_.destroyed, std::vector<std::string>{"42"});
  auto response = DecodeTtlv(bytes);
  ASSERT_TRUE(response.ok());
  auto items = response->FindAll(Tag::kBatchItem);
  ASSERT_EQ(items.size(), 3u);
  for (size_t i = 0; i < items.size(); ++i) {
    EXPECT_EQ(items[i]->Find(Tag::kResultStatus)->int_value(), 0);
    EXPECT_EQ(items[i]->Find(Tag::kUniqueBatchItemId)->bytes(),
              std::string(1, static_cast<char>(i + 1)));
  }
}

TEST_P(GoldenVersionTest, DiscoverVersionsAnswersInTheClientsOrder) {
  auto response = DecodeTtlv(Run("discover_versions"));
  ASSERT_TRUE(response.ok());
  const Item* payload = response->Find(Tag::kBatchItem)->Find(Tag::kResponsePayload);
  ASSERT_NE(payload, nullptr);
  std::vector<std::pair<int64_t, int64_t>> got;
  for (const Item* v : payload->FindAll(Tag::kProtocolVersion)) {
    got.emplace_back(v->Find(Tag::kProtocolVersionMajor)->int_value(),
                     v->Find(Tag::kProtocolVersionMinor)->int_value());
  }
  EXPECT_EQ(got, (std::vector<std::pair<int64_t, int64_t>>{{2, 0}, {1, 4}, {1, 2}}));
}

TEST_P(GoldenVersionTest, CreateKeyPairParsesThreeTemplatesAndAnswersLikePyKmip) {
  backend_.next_create_key_pair = {"p1", "p2"};
  EXPECT_EQ(Run("create_key_pair_rsa2048"), Expected("create_key_pair"));
  ASSERT_TRUE(backend_.create_key_pair);
  const CreateKeyPairRequest& r = *backend_.create_key_pair;
  EXPECT_EQ(r.common_attributes.algorithm(), CryptographicAlgorithm::kRsa);
  EXPECT_EQ(r.common_attributes.length(), 2048);
  EXPECT_EQ(r.private_key_attributes.names(), std::vector<std::string>{"golden-private"});
  EXPECT_EQ(r.private_key_attributes.usage_mask(), kUsageSign);
  EXPECT_EQ(r.public_key_attributes.usage_mask(), kUsageVerify);
}

TEST_P(GoldenVersionTest, RegisterParsesAPkcs8PrivateKey) {
  Run("register_rsa_private_pkcs8");
  ASSERT_TRUE(backend_.reg);
  EXPECT_EQ(backend_.reg->object_type, ObjectType::kPrivateKey);
  EXPECT_EQ(backend_.reg->object.key_format_type, KeyFormatType::kPkcs8);
  EXPECT_EQ(backend_.reg->object.algorithm, CryptographicAlgorithm::kRsa);
  EXPECT_EQ(backend_.reg->object.material.size(), 256u);
}

TEST_P(GoldenVersionTest, SignParsesPssAndAnswersLikePyKmip) {
  backend_.next_sign = {"p1", std::string(256, '\x05')};
  EXPECT_EQ(Run("sign_pss"), Expected("sign"));
  ASSERT_TRUE(backend_.sign);
  ASSERT_TRUE(backend_.sign->parameters);
  EXPECT_EQ(backend_.sign->parameters->padding_method, PaddingMethod::kPss);
  EXPECT_EQ(backend_.sign->parameters->hashing_algorithm, HashingAlgorithm::kSha256);
  EXPECT_EQ(backend_.sign->parameters->cryptographic_algorithm, CryptographicAlgorithm::kRsa);
  EXPECT_EQ(backend_.sign->data, SecretBytes(Bytes("message to sign")));
}

TEST_P(GoldenVersionTest, SignatureVerifyAnswersLikePyKmip) {
  backend_.next_verify = {"p2", ValidityIndicator::kValid};
  EXPECT_EQ(Run("signature_verify"), Expected("signature_verify"));
  ASSERT_TRUE(backend_.verify);
  EXPECT_EQ(backend_.verify->parameters->digital_signature_algorithm,
            DigitalSignatureAlgorithm::kSha256WithRsaEncryption);
  EXPECT_EQ(backend_.verify->signature, std::string(256, '\x05'));
}

TEST_P(GoldenVersionTest, MacAnswersLikePyKmip) {
  backend_.next_mac = {"42", std::string(32, '\x06')};
  EXPECT_EQ(Run("mac_hmac_sha256"), Expected("mac"));
  ASSERT_TRUE(backend_.mac);
  EXPECT_EQ(backend_.mac->parameters->cryptographic_algorithm,
            CryptographicAlgorithm::kHmacSha256);
  EXPECT_EQ(backend_.mac->data, SecretBytes(Bytes("mac me")));
}

TEST_P(GoldenVersionTest, DecryptParsesCbcAndAnswersLikePyKmip) {
  backend_.next_decrypt.unique_identifier = "42";
  backend_.next_decrypt.data = SecretBytes(Bytes("plain text"));
  EXPECT_EQ(Run("decrypt_cbc"), Expected("decrypt"));
  ASSERT_TRUE(backend_.decrypt);
  EXPECT_EQ(backend_.decrypt->parameters->block_cipher_mode, BlockCipherMode::kCbc);
  EXPECT_EQ(backend_.decrypt->parameters->padding_method, PaddingMethod::kPkcs5);
  EXPECT_EQ(backend_.decrypt->iv_counter_nonce, std::string(16, '\x04'));
  EXPECT_EQ(backend_.decrypt->data, std::string(32, '\x03'));
}

TEST_P(GoldenVersionTest, GetAttributesAnswersInTheVersionsFormLikePyKmip) {
  backend_.next_get_attributes.unique_identifier = "42";
  AttributeList& a = backend_.next_get_attributes.attributes;
  a.AddEnum(Tag::kCryptographicAlgorithm, static_cast<uint32_t>(CryptographicAlgorithm::kAes));
  a.AddInteger(Tag::kCryptographicLength, 256);
  a.AddEnum(Tag::kState, static_cast<uint32_t>(State::kActive));
  EXPECT_EQ(Run("get_attributes"), Expected("get_attributes"));
}

TEST_P(GoldenVersionTest, GetAttributeListAnswersInTheVersionsFormLikePyKmip) {
  backend_.next_get_attribute_list = {
      "42",
      {{static_cast<uint32_t>(Tag::kCryptographicAlgorithm), ""},
       {static_cast<uint32_t>(Tag::kState), ""}}};
  EXPECT_EQ(Run("get_attribute_list"), Expected("get_attribute_list"));
  ASSERT_TRUE(backend_.get_attribute_list);
  EXPECT_EQ(backend_.get_attribute_list->unique_identifier, "42");
}

// KMIP Use Cases 1.0 §3.1.1 (Create / Destroy): the specification's own
// bytes for the Create request (AES-128, usage Encrypt|Decrypt, KMIP 1.0)
// and the server's answer at time stamp 0x4AFBE7C2.
constexpr char kUseCase311Request[] =
    "42007801000001204200770100000038420069010000002042006A020000000400000001"
    "0000000042006B0200000004000000000000000042000D02000000040000000100000000"
    "42000F01000000D842005C0500000004000000010000000042007901000000C042005705"
    "00000004000000020000000042009101000000A8420008010000003042000A0700000017"
    "43727970746F6772617068696320416C676F726974686D0042000B050000000400000003"
    "00000000420008010000003042000A070000001443727970746F67726170686963204C65"
    "6E6774680000000042000B02000000040000008000000000420008010000003042000A07"
    "0000001843727970746F67726170686963205573616765204D61736B42000B0200000004"
    "0000000C00000000";
constexpr char kUseCase311Response[] =
    "42007B01000000C042007A0100000048420069010000002042006A020000000400000001"
    "0000000042006B020000000400000000000000004200920900000008000000004AFBE7C2"
    "42000D0200000004000000010000000042000F010000006842005C050000000400000001"
    "0000000042007F0500000004000000000000000042007C01000000404200570500000004"
    "0000000200000000420094070000002466633838333364652D373064322D346563652D62"
    "3036332D66656465336133633539666500000000";

TEST(SpecUseCaseTest, CreateOfUseCase311AnswersTheSpecsBytes) {
  ScriptedBackend backend;
  backend.next_create = {ObjectType::kSymmetricKey, "fc8833de-70d2-4ece-b063-fede3a3c59fe"};
  FakeClock clock(absl::FromUnixSeconds(0x4AFBE7C2));
  KmipProtocol protocol(backend, backend, clock);
  std::string out = protocol.Process(Hex(kUseCase311Request), KmipClient());
  EXPECT_EQ(Bytes(out), Hex(kUseCase311Response));
  ASSERT_TRUE(backend.create);
  EXPECT_EQ(backend.create->attributes.algorithm(), CryptographicAlgorithm::kAes);
  EXPECT_EQ(backend.create->attributes.length(), 128);
  EXPECT_EQ(backend.create->attributes.usage_mask(), kUsageEncrypt | kUsageDecrypt);
  auto response = DecodeTtlv(Hex(kUseCase311Response));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(Bytes(*EncodeTtlv(*response)), Hex(kUseCase311Response));
}

INSTANTIATE_TEST_SUITE_P(Versions, GoldenVersionTest,
                         ::testing::Values("1.2", "1.4", "2.0"));

}  // namespace
}  // namespace keywarden::api::kmip
