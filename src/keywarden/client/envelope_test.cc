#include "keywarden/client/envelope.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keywarden/client/test_server.h"

namespace keywarden::client {
namespace {

using ::testing::HasSubstr;

class MemorySource : public ByteSource {
 public:
  explicit MemorySource(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {}
  absl::StatusOr<size_t> Read(std::span<uint8_t> out) override {
    const size_t n = std::min(out.size(), bytes_.size() - pos_);
    std::copy_n(bytes_.begin() + pos_, n, out.begin());
    pos_ += n;
    return n;
  }
  size_t consumed() const { return pos_; }

 private:
  std::vector<uint8_t> bytes_;
  size_t pos_ = 0;
};

class MemorySink : public ByteSink {
 public:
  absl::Status Write(std::span<const uint8_t> bytes) override {
    bytes_.insert(bytes_.end(), bytes.begin(), bytes.end());
    return absl::OkStatus();
  }
  std::vector<uint8_t> bytes_;
};

std::vector<uint8_t> Pattern(size_t n) {
  std::vector<uint8_t> b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 13 + 1);
  return b;
}

constexpr char kBucketCrn[] =
    "crn:v1:keywarden:private:cloud-object-storage:local:a/acct:cos-1:bucket:"
    "photos";

// The shared fixture (test_server.h), as a cloud-object-storage service id
// authorized Reader on a fresh instance; key_ is its root key.
class EnvelopeTest : public testing::TenantTest {
 protected:
  std::string ServiceType() const override { return "cloud-object-storage"; }

  absl::StatusOr<EnvelopeInfo> Encrypt(const std::vector<uint8_t>& plaintext,
                                       std::vector<uint8_t>* sealed,
                                       EncryptOptions options = {}) {
    if (options.key.empty()) options.key = key_.id;
    MemorySource in(plaintext);
    MemorySink out;
    auto info = EncryptObject(*service_, options, in, out);
    *sealed = std::move(out.bytes_);
    return info;
  }

  absl::StatusOr<EnvelopeInfo> Decrypt(const std::vector<uint8_t>& sealed,
                                       std::vector<uint8_t>* plaintext,
                                       DecryptOptions options = {}) {
    MemorySource in(sealed);
    MemorySink out;
    auto info = DecryptObject(*service_, options, in, out);
    *plaintext = std::move(out.bytes_);
    return info;
  }

  const Key& key_ = root_;
};

TEST_F(EnvelopeTest, RoundTripNamesTheKeyAndItsVersion) {
  const std::vector<uint8_t> plaintext = Pattern(3 * kEnvelopeSegmentSize + 7);
  std::vector<uint8_t> sealed, opened;
  EncryptOptions options;
  options.aad = *ParseEnvelopeAad({"bucket=photos", "object=cat.jpg"});
  auto info = Encrypt(plaintext, &sealed, options);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->key_id, key_.id);
  EXPECT_EQ(info->key_version_id, key_.key_version_id);
  EXPECT_EQ(info->plaintext_bytes, plaintext.size());

  DecryptOptions check;
  check.expected_aad = options.aad;
  auto opened_info = Decrypt(sealed, &opened, check);
  ASSERT_TRUE(opened_info.ok()) << opened_info.status();
  EXPECT_EQ(opened, plaintext);
  EXPECT_EQ(opened_info->aad, options.aad);
}

TEST_F(EnvelopeTest, WrongAadIsRefusedBeforeAskingTheServer) {
  std::vector<uint8_t> sealed, opened;
  EncryptOptions options;
  options.aad = *ParseEnvelopeAad({"object=cat.jpg"});
  ASSERT_TRUE(Encrypt(Pattern(10), &sealed, options).ok());
  DecryptOptions check;
  check.expected_aad = *ParseEnvelopeAad({"object=dog.jpg"});
  auto info = Decrypt(sealed, &opened, check);
  EXPECT_EQ(info.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(info.status().message(), HasSubstr("--aad"));
  EXPECT_TRUE(opened.empty());
}

TEST_F(EnvelopeTest, AnotherObjectsWrappedKeyDoesNotOpen) {
  std::vector<uint8_t> a, b, opened;
  ASSERT_TRUE(Encrypt(Pattern(100), &a).ok());
  EncryptOptions other;
  other.aad = *ParseEnvelopeAad({"object=b"});
  ASSERT_TRUE(Encrypt(Pattern(100), &b, other).ok());
  MemorySource ha(a), hb(b);
  auto header_a = ParseEnvelopeHeader(*ReadEnvelopeHeader(ha));
  auto header_b = ParseEnvelopeHeader(*ReadEnvelopeHeader(hb));
  // a's segments under a header carrying b's WDEK (with a's AAD): the
  // server refuses the WDEK, which is bound to b's AAD.
  header_a->wdek = header_b->wdek;
  std::vector<uint8_t> swapped = *EncodeEnvelopeHeader(*header_a);
  swapped.insert(swapped.end(), a.begin() + ha.consumed(), a.end());
  auto info = Decrypt(swapped, &opened);
  EXPECT_FALSE(info.ok());
  EXPECT_THAT(info.status().message(),
              HasSubstr("cannot unwrap the object's data key"));
  EXPECT_TRUE(opened.empty());
}

TEST_F(EnvelopeTest, DisabledKeyStopsBothWaysAndEnableRestores) {
  std::vector<uint8_t> sealed, opened;
  ASSERT_TRUE(Encrypt(Pattern(1000), &sealed).ok());
  ASSERT_TRUE(admin_->DisableKey(key_.id).ok());

  std::vector<uint8_t> nothing;
  auto enc = Encrypt(Pattern(1000), &nothing);
  EXPECT_FALSE(enc.ok());
  EXPECT_THAT(enc.status().message(),
              HasSubstr("cannot wrap the object's data key with root key " +
                        key_.id));
  EXPECT_TRUE(nothing.empty());
  auto dec = Decrypt(sealed, &opened);
  EXPECT_FALSE(dec.ok());
  EXPECT_THAT(dec.status().message(),
              HasSubstr("cannot unwrap the object's data key with root key " +
                        key_.id));
  EXPECT_TRUE(opened.empty());

  // A key's state may change again 30 s after its last change.
  ASSERT_TRUE(server_->AdvanceClock(31).ok());
  ASSERT_TRUE(admin_->EnableKey(key_.id).ok());
  ASSERT_TRUE(Decrypt(sealed, &opened).ok());
  EXPECT_EQ(opened, Pattern(1000));
}

TEST_F(EnvelopeTest, RotationMovesNewObjectsAndOldOnesStillOpen) {
  std::vector<uint8_t> before, after, opened;
  auto first = Encrypt(Pattern(70000), &before);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(admin_->RotateKey(key_.id).ok());
  auto second = Encrypt(Pattern(70000), &after);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NE(first->key_version_id, second->key_version_id);
  ASSERT_TRUE(Decrypt(before, &opened).ok());
  EXPECT_EQ(opened, Pattern(70000));
  ASSERT_TRUE(Decrypt(after, &opened).ok());
  EXPECT_EQ(opened, Pattern(70000));
}

TEST_F(EnvelopeTest, RegisterNamesTheResourceAndRepeatsAfterRotation) {
  std::vector<uint8_t> sealed;
  EncryptOptions options;
  options.register_crn = kBucketCrn;
  ASSERT_TRUE(Encrypt(Pattern(10), &sealed, options).ok());
  // Every object of the bucket registers it again; after a rotation the
  // registration names the older version and stands.
  ASSERT_TRUE(Encrypt(Pattern(10), &sealed, options).ok());
  ASSERT_TRUE(admin_->RotateKey(key_.id).ok());
  auto again = Encrypt(Pattern(10), &sealed, options);
  ASSERT_TRUE(again.ok()) << again.status();

  auto registrations = admin_->ListRegistrations(key_.id);
  ASSERT_TRUE(registrations.ok()) << registrations.status();
  ASSERT_EQ(registrations->size(), 1u);
  EXPECT_EQ((*registrations)[0].resource_crn, kBucketCrn);
}

TEST_F(EnvelopeTest, AliasIsResolvedToTheKeyIdForTheHeader) {
  // Not a UUID: looked up, and the header names the id.
  std::vector<uint8_t> sealed;
  EncryptOptions options;
  options.key = "no-such-alias";
  auto info = Encrypt(Pattern(10), &sealed, options);
  EXPECT_EQ(info.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(info.status().message(),
              HasSubstr("cannot look up the root key no-such-alias"));
  EXPECT_TRUE(sealed.empty());
}

}  // namespace
}  // namespace keywarden::client
