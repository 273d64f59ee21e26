#include "keywarden/crypto/aes_gcm.h"
#include "keywarden/crypto/aes_gcm_segments.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "keywarden/crypto/random.h"

namespace keywarden::crypto {
namespace {

std::vector<uint8_t> Hex(std::string_view hex) {
  const std::string bytes =
      absl::HexStringToBytes(absl::string_view(hex.data(), hex.size()));
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

std::vector<uint8_t> ToVector(const SecretBytes& s) {
  return std::vector<uint8_t>(s.span().begin(), s.span().end());
}

// Known-answer vectors from D. McGrew and J. Viega, "The Galois/Counter Mode
// of Operation (GCM)", revised 2005, Appendix B (the test cases NIST
// SP 800-38D points to), all with a 96-bit IV. Cases 5/6 and 11/12 and
// 17/18 use other IV lengths, which this API does not accept by design
// (SP 800-38D §8.2.2: random 96-bit IVs only).
struct Vector {
  const char* name;
  const char* key;
  const char* iv;
  const char* plaintext;
  const char* aad;
  const char* ciphertext;
  const char* tag;
};

constexpr char kP64[] =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
constexpr char kP60[] =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
constexpr char kAad20[] = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
constexpr char kIv[] = "cafebabefacedbaddecaf888";
constexpr char kZeroIv[] = "000000000000000000000000";

const Vector kVectors[] = {
    // AES-128.
    {"TC1", "00000000000000000000000000000000", kZeroIv, "", "", "",
     "58e2fccefa7e3061367f1d57a4e7455a"},
    {"TC2", "00000000000000000000000000000000", kZeroIv,
     "00000000000000000000000000000000", "", "0388dace60b6a392f328c2b971b2fe78",
     "ab6e47d42cec13bdf53a67b21257bddf"},
    {"TC3", "feffe9928665731c6d6a8f9467308308", kIv, kP64, "",
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
     "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
     "4d5c2af327cd64a62cf35abd2ba6fab4"},
    {"TC4", "feffe9928665731c6d6a8f9467308308", kIv, kP60, kAad20,
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
     "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
     "5bc94fbc3221a5db94fae95ae7121a47"},
    // AES-192.
    {"TC7", "000000000000000000000000000000000000000000000000", kZeroIv, "",
     "", "", "cd33b28ac773f74ba00ed1f312572435"},
    {"TC8", "000000000000000000000000000000000000000000000000", kZeroIv,
     "00000000000000000000000000000000", "", "98e7247c07f0fe411c267e4384b0f600",
     "2ff58d80033927ab8ef4d4587514f0fb"},
    // AES-256.
    {"TC13",
     "0000000000000000000000000000000000000000000000000000000000000000",
     kZeroIv, "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    {"TC14",
     "0000000000000000000000000000000000000000000000000000000000000000",
     kZeroIv, "00000000000000000000000000000000", "",
     "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
    {"TC15",
     "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", kIv,
     kP64, "",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
     "b094dac5d93471bdec1a502270e3cc6c"},
    {"TC16",
     "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", kIv,
     kP60, kAad20,
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

class AesGcmKatTest : public testing::TestWithParam<Vector> {};

TEST_P(AesGcmKatTest, EncryptMatchesVector) {
  const Vector& v = GetParam();
  auto aead = AesGcm::Create(Hex(v.key));
  ASSERT_TRUE(aead.ok()) << aead.status();
  auto sealed = aead->Encrypt(Hex(v.iv), Hex(v.plaintext), Hex(v.aad));
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  EXPECT_EQ(absl::BytesToHexString(
                std::string(sealed->begin(), sealed->end())),
            std::string(v.ciphertext) + v.tag);
}

TEST_P(AesGcmKatTest, DecryptMatchesVector) {
  const Vector& v = GetParam();
  auto aead = AesGcm::Create(Hex(v.key));
  ASSERT_TRUE(aead.ok()) << aead.status();
  auto opened =
      aead->Decrypt(Hex(v.iv), Hex(std::string(v.ciphertext) + v.tag), Hex(v.aad));
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(ToVector(*opened), Hex(v.plaintext));
}

INSTANTIATE_TEST_SUITE_P(McGrewViega, AesGcmKatTest, testing::ValuesIn(kVectors),
                         [](const testing::TestParamInfo<Vector>& info) {
                           return std::string(info.param.name);
                         });

void ExpectDecryptionFailed(const absl::StatusOr<SecretBytes>& result) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(result.status().message(), "decryption failed");
}

// A sealed TC16 message to tamper with.
struct Fixture {
  std::vector<uint8_t> key = Hex(kVectors[9].key);
  std::vector<uint8_t> iv = Hex(kIv);
  std::vector<uint8_t> aad = Hex(kAad20);
  std::vector<uint8_t> sealed =
      Hex(std::string(kVectors[9].ciphertext) + kVectors[9].tag);
};

TEST(AesGcmDecryptTest, EveryFlippedBitOfCiphertextOrTagFails) {
  Fixture f;
  auto aead = AesGcm::Create(f.key);
  ASSERT_TRUE(aead.ok());
  for (size_t i = 0; i < f.sealed.size(); ++i) {
    for (uint8_t mask : {0x01, 0x80, 0xff}) {
      std::vector<uint8_t> bad = f.sealed;
      bad[i] ^= mask;
      SCOPED_TRACE(i);
      ExpectDecryptionFailed(aead->Decrypt(f.iv, bad, f.aad));
    }
  }
}

TEST(AesGcmDecryptTest, EveryTruncationFails) {
  Fixture f;
  auto aead = AesGcm::Create(f.key);
  ASSERT_TRUE(aead.ok());
  for (size_t len = 0; len < f.sealed.size(); ++len) {
    SCOPED_TRACE(len);
    ExpectDecryptionFailed(aead->Decrypt(
        f.iv, std::span<const uint8_t>(f.sealed.data(), len), f.aad));
  }
}

TEST(AesGcmDecryptTest, AppendedByteFails) {
  Fixture f;
  auto aead = AesGcm::Create(f.key);
  ASSERT_TRUE(aead.ok());
  f.sealed.push_back(0);
  ExpectDecryptionFailed(aead->Decrypt(f.iv, f.sealed, f.aad));
}

TEST(AesGcmDecryptTest, WrongAadFails) {
  Fixture f;
  auto aead = AesGcm::Create(f.key);
  ASSERT_TRUE(aead.ok());
  for (size_t i = 0; i < f.aad.size(); ++i) {
    std::vector<uint8_t> bad = f.aad;
    bad[i] ^= 0x01;
    ExpectDecryptionFailed(aead->Decrypt(f.iv, f.sealed, bad));
  }
  ExpectDecryptionFailed(aead->Decrypt(f.iv, f.sealed, {}));
  std::vector<uint8_t> longer = f.aad;
  longer.push_back(0);
  ExpectDecryptionFailed(aead->Decrypt(f.iv, f.sealed, longer));
}

TEST(AesGcmDecryptTest, WrongKeyFails) {
  Fixture f;
  for (size_t i = 0; i < f.key.size(); ++i) {
    std::vector<uint8_t> key = f.key;
    key[i] ^= 0x01;
    auto aead = AesGcm::Create(key);
    ASSERT_TRUE(aead.ok());
    ExpectDecryptionFailed(aead->Decrypt(f.iv, f.sealed, f.aad));
  }
  // Same bytes, shorter key: AES-128 under the first 16 bytes.
  auto short_key =
      AesGcm::Create(std::span<const uint8_t>(f.key.data(), 16));
  ASSERT_TRUE(short_key.ok());
  ExpectDecryptionFailed(short_key->Decrypt(f.iv, f.sealed, f.aad));
}

TEST(AesGcmDecryptTest, WrongNonceFails) {
  Fixture f;
  auto aead = AesGcm::Create(f.key);
  ASSERT_TRUE(aead.ok());
  for (size_t i = 0; i < f.iv.size(); ++i) {
    std::vector<uint8_t> iv = f.iv;
    iv[i] ^= 0x01;
    ExpectDecryptionFailed(aead->Decrypt(iv, f.sealed, f.aad));
  }
}

TEST(AesGcmDecryptTest, BadNonceSizeFailsUniformly) {
  Fixture f;
  auto aead = AesGcm::Create(f.key);
  ASSERT_TRUE(aead.ok());
  for (size_t n : {0, 8, 11, 13, 16}) {
    std::vector<uint8_t> iv(n, 0);
    ExpectDecryptionFailed(aead->Decrypt(iv, f.sealed, f.aad));
  }
}

TEST(AesGcmCreateTest, RejectsBadKeySizes) {
  for (size_t n : {0, 1, 15, 17, 23, 25, 31, 33, 64}) {
    std::vector<uint8_t> key(n, 0x42);
    auto aead = AesGcm::Create(key);
    ASSERT_FALSE(aead.ok()) << n;
    EXPECT_EQ(aead.status().code(), absl::StatusCode::kInvalidArgument);
  }
  for (size_t n : {16, 24, 32}) {
    std::vector<uint8_t> key(n, 0x42);
    EXPECT_TRUE(AesGcm::Create(key).ok()) << n;
  }
}

TEST(AesGcmEncryptTest, RejectsBadNonceSizes) {
  auto aead = AesGcm::Create(std::vector<uint8_t>(32, 1));
  ASSERT_TRUE(aead.ok());
  const std::vector<uint8_t> pt = {1, 2, 3};
  for (size_t n : {0, 8, 11, 13, 16, 64}) {
    std::vector<uint8_t> iv(n, 0);
    auto sealed = aead->Encrypt(iv, pt, {});
    ASSERT_FALSE(sealed.ok()) << n;
    EXPECT_EQ(sealed.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(AesGcmEncryptTest, EncryptIntoRejectsWrongOutputSize) {
  auto aead = AesGcm::Create(std::vector<uint8_t>(32, 1));
  ASSERT_TRUE(aead.ok());
  const std::vector<uint8_t> iv(12, 0), pt = {1, 2, 3};
  for (size_t n : {0, 3, 18, 20}) {
    std::vector<uint8_t> out(n);
    EXPECT_EQ(aead->EncryptInto(iv, pt, {}, out).code(),
              absl::StatusCode::kInvalidArgument)
        << n;
  }
  std::vector<uint8_t> out(19);
  ASSERT_TRUE(aead->EncryptInto(iv, pt, {}, out).ok());
  auto sealed = aead->Encrypt(iv, pt, {});
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(out, *sealed);
}

TEST(AesGcmRoundTripTest, RandomSizesAndKeys) {
  for (size_t key_size : {16, 24, 32}) {
    SecretBytes key = RandomSecret(key_size);
    auto aead = AesGcm::Create(key.span());
    ASSERT_TRUE(aead.ok());
    for (size_t len : {0, 1, 15, 16, 17, 31, 32, 33, 255, 1000}) {
      std::vector<uint8_t> iv(kGcmNonceSize), pt(len), aad(len % 7);
      RandomBytes(iv);
      RandomBytes(pt);
      RandomBytes(aad);
      auto sealed = aead->Encrypt(iv, pt, aad);
      ASSERT_TRUE(sealed.ok());
      ASSERT_EQ(sealed->size(), len + kGcmTagSize);
      auto opened = aead->Decrypt(iv, *sealed, aad);
      ASSERT_TRUE(opened.ok()) << opened.status();
      EXPECT_EQ(ToVector(*opened), pt);
    }
  }
}

TEST(AesGcmTest, CopiesAreIndependentAndUsable) {
  auto aead = AesGcm::Create(Hex(kVectors[9].key));
  ASSERT_TRUE(aead.ok());
  AesGcm copy = *aead;
  AesGcm moved = std::move(*aead);
  auto a = copy.Encrypt(Hex(kIv), Hex(kP60), Hex(kAad20));
  auto b = moved.Encrypt(Hex(kIv), Hex(kP60), Hex(kAad20));
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*a, *b);
}

}  // namespace
}  // namespace keywarden::crypto

namespace keywarden::crypto {
namespace {

// The one-time-key calls against the AES-256 vectors (TC13-TC16).
TEST(AesGcmOnceTest, MatchesTheAes256Vectors) {
  for (const Vector& v : kVectors) {
    std::vector<uint8_t> key = Hex(v.key);
    if (key.size() != 32) continue;
    std::vector<uint8_t> pt = Hex(v.plaintext);
    std::vector<uint8_t> out(pt.size() + kGcmTagSize);
    ASSERT_TRUE(
        AesGcm::EncryptOnceInto(key, Hex(v.iv), pt, Hex(v.aad), out).ok());
    EXPECT_EQ(absl::BytesToHexString(std::string(out.begin(), out.end())),
              std::string(v.ciphertext) + v.tag)
        << v.name;
    auto opened = AesGcm::DecryptOnce(key, Hex(v.iv), out, Hex(v.aad));
    ASSERT_TRUE(opened.ok()) << v.name;
    EXPECT_EQ(ToVector(*opened), pt);
  }
}

TEST(AesGcmOnceTest, FailuresAreUniformAndKeysDoNotLeakBetweenCalls) {
  Fixture f;
  ExpectDecryptionFailed(AesGcm::DecryptOnce(f.key, f.iv, f.sealed, {}));
  std::vector<uint8_t> bad = f.sealed;
  bad.back() ^= 1;
  ExpectDecryptionFailed(AesGcm::DecryptOnce(f.key, f.iv, bad, f.aad));
  ExpectDecryptionFailed(AesGcm::DecryptOnce(
      std::vector<uint8_t>(16, 0), f.iv, f.sealed, f.aad));  // not AES-256
  std::vector<uint8_t> other_key = f.key;
  other_key[0] ^= 1;
  ExpectDecryptionFailed(AesGcm::DecryptOnce(other_key, f.iv, f.sealed, f.aad));
  // After failures, the thread's context opens a good message again.
  EXPECT_TRUE(AesGcm::DecryptOnce(f.key, f.iv, f.sealed, f.aad).ok());
  std::vector<uint8_t> out(4 + kGcmTagSize);
  std::vector<uint8_t> pt(4, 1);
  EXPECT_FALSE(
      AesGcm::EncryptOnceInto(std::vector<uint8_t>(24, 0), f.iv, pt, {}, out)
          .ok());
  std::vector<uint8_t> short_out(4);
  EXPECT_FALSE(AesGcm::EncryptOnceInto(f.key, f.iv, pt, {}, short_out).ok());
}

TEST(AesGcmSegmentsTest, MatchesAesGcmAndWipesTheBufferOnFailure) {
  const std::vector<uint8_t> key = Hex(kVectors[9].key);  // TC16: AES-256
  const std::vector<uint8_t> iv = Hex(kIv);
  const std::vector<uint8_t> aad = Hex(kAad20);
  const std::vector<uint8_t> plaintext = Hex(kP60);
  auto segments = AesGcmSegments::Create(key);
  ASSERT_TRUE(segments.ok()) << segments.status();
  auto reference = AesGcm::Create(key);
  ASSERT_TRUE(reference.ok());
  std::vector<uint8_t> sealed(plaintext.size() + kGcmTagSize);
  // Twice: the context is re-used with a new nonce, not re-keyed.
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(segments->SealInto(iv, plaintext, aad, sealed).ok());
    EXPECT_EQ(sealed, *reference->Encrypt(iv, plaintext, aad));
  }
  std::vector<uint8_t> out(plaintext.size());
  ASSERT_TRUE(segments->OpenInto(iv, sealed, aad, out).ok());
  EXPECT_EQ(out, plaintext);

  std::vector<uint8_t> bad = sealed;
  bad.back() ^= 1;  // the tag: OpenSSL has decrypted into `out` already
  absl::Status s = segments->OpenInto(iv, bad, aad, out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "decryption failed");
  EXPECT_EQ(out, std::vector<uint8_t>(out.size(), 0));
  // And the context still opens the next good message.
  ASSERT_TRUE(segments->OpenInto(iv, sealed, aad, out).ok());
  EXPECT_EQ(out, plaintext);

  std::vector<uint8_t> short_out(out.size() - 1);
  EXPECT_EQ(segments->OpenInto(iv, sealed, aad, short_out).message(),
            "decryption failed");
  EXPECT_FALSE(AesGcmSegments::Create(Hex(kVectors[0].key)).ok());
}

}  // namespace
}  // namespace keywarden::crypto
