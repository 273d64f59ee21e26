#include "keywarden/seal/seal_record.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keywarden/common/ids.h"
#include "keywarden/crypto/random.h"

namespace keywarden::seal {
namespace {

using ::testing::HasSubstr;

SealRecord ShamirRecord(const MasterKey& key) {
  SealRecord r;
  r.type = SealType::kShamir;
  r.key_id = key.id();
  r.verifier = *MakeVerifier(key);
  r.shares = 5;
  r.threshold = 3;
  SecretBytes ck = crypto::RandomSecret(32);
  r.share_check_key.assign(ck.span().begin(), ck.span().end());
  return r;
}

TEST(SealRecordTest, EncodeParseRoundTripsEveryType) {
  auto key = *MasterKey::Create(NewUuid(), crypto::RandomSecret(32).span());
  for (SealType type : {SealType::kFile, SealType::kShamir, SealType::kPkcs11}) {
    SealRecord r = ShamirRecord(*key);
    r.type = type;
    if (type == SealType::kPkcs11) r.wrapped_key = {1, 2, 3};
    if (type != SealType::kShamir) {
      r.shares = r.threshold = 0;
      r.share_check_key.clear();
    }
    absl::StatusOr<SealRecord> back = ParseSealRecord(EncodeSealRecord(r));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->type, type);
    EXPECT_EQ(back->key_id, r.key_id);
    EXPECT_EQ(back->verifier, r.verifier);
    EXPECT_EQ(back->shares, r.shares);
    EXPECT_EQ(back->threshold, r.threshold);
    EXPECT_EQ(back->share_check_key, r.share_check_key);
    EXPECT_EQ(back->wrapped_key, r.wrapped_key);
    EXPECT_TRUE(CheckVerifier(*back, *key).ok());
  }
}

TEST(SealRecordTest, MalformedRecordsAreRefused) {
  auto key = *MasterKey::Create(NewUuid(), crypto::RandomSecret(32).span());
  const std::string good = EncodeSealRecord(ShamirRecord(*key));
  // Every truncation that cuts a line or drops a needed field.
  for (size_t n = 0; n + 1 < good.size(); ++n) {
    absl::StatusOr<SealRecord> r = ParseSealRecord(good.substr(0, n));
    EXPECT_FALSE(r.ok()) << n;
  }
  EXPECT_FALSE(ParseSealRecord(good + "extra=1\n").ok());
  EXPECT_FALSE(ParseSealRecord(good + "type=file\n").ok());
  std::string bad_type = good;
  bad_type.replace(bad_type.find("shamir"), 6, "vault!");
  EXPECT_FALSE(ParseSealRecord(bad_type).ok());
  EXPECT_TRUE(absl::IsDataLoss(ParseSealRecord("garbage").status()));
}

TEST(SealRecordTest, VerifierRefusesAnotherKey) {
  auto key = *MasterKey::Create(NewUuid(), crypto::RandomSecret(32).span());
  SealRecord r = ShamirRecord(*key);
  // Same id, other material: the verifier does not open.
  auto other = *MasterKey::Create(key->id(), crypto::RandomSecret(32).span());
  EXPECT_THAT(CheckVerifier(r, *other).message(), HasSubstr("does not open"));
  // Another id: named in the message.
  auto renamed = *MasterKey::Create(NewUuid(), crypto::RandomSecret(32).span());
  EXPECT_THAT(CheckVerifier(r, *renamed).message(),
              HasSubstr("same master key"));
  // A sealed slot says so.
  key->Wipe();
  EXPECT_TRUE(IsSealedError(CheckVerifier(r, *key)));
}

}  // namespace
}  // namespace keywarden::seal
