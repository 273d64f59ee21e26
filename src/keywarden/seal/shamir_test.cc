#include "keywarden/seal/shamir.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "keywarden/crypto/random.h"

namespace keywarden::seal {
namespace {

using ::testing::HasSubstr;

constexpr char kKeyId[] = "9b1d4c2e-0c4f-4f6a-8f1e-2b3c4d5e6f70";

std::vector<Share> Pick(const std::vector<Share>& all, uint32_t mask) {
  std::vector<Share> out;
  for (size_t i = 0; i < all.size(); ++i) {
    if (mask & (1u << i)) out.push_back(all[i]);
  }
  return out;
}

TEST(ShamirTest, EveryThresholdSubsetOfFiveSharesGivesTheSecret) {
  const SecretBytes secret = crypto::RandomSecret(32);
  for (int t = 2; t <= 5; ++t) {
    absl::StatusOr<std::vector<Share>> shares = ShamirSplit(secret.span(), 5, t);
    ASSERT_TRUE(shares.ok()) << shares.status();
    int subsets = 0;
    for (uint32_t mask = 1; mask < 32; ++mask) {
      const int k = __builtin_popcount(mask);
      if (k < t) continue;
      absl::StatusOr<SecretBytes> back = ShamirCombine(Pick(*shares, mask));
      ASSERT_TRUE(back.ok()) << back.status();
      EXPECT_TRUE(*back == secret) << "t=" << t << " mask=" << mask;
      ++subsets;
    }
    EXPECT_GT(subsets, 0);
  }
}

TEST(ShamirTest, FewerThanThresholdSharesGiveAnotherValue) {
  const SecretBytes secret = crypto::RandomSecret(32);
  std::vector<Share> shares = *ShamirSplit(secret.span(), 5, 3);
  for (uint32_t mask = 1; mask < 32; ++mask) {
    if (__builtin_popcount(mask) >= 3) continue;
    EXPECT_FALSE(*ShamirCombine(Pick(shares, mask)) == secret) << mask;
  }
}

TEST(ShamirTest, MaximumSharesRoundTrip) {
  const SecretBytes secret = crypto::RandomSecret(32);
  std::vector<Share> shares = *ShamirSplit(secret.span(), 255, 255);
  EXPECT_EQ(shares.back().index, 255);
  EXPECT_TRUE(*ShamirCombine(shares) == secret);
  shares.pop_back();
  EXPECT_FALSE(*ShamirCombine(shares) == secret);
}

TEST(ShamirTest, SplitIsRandomized) {
  const SecretBytes secret = crypto::RandomSecret(32);
  std::vector<Share> a = *ShamirSplit(secret.span(), 3, 2);
  std::vector<Share> b = *ShamirSplit(secret.span(), 3, 2);
  EXPECT_FALSE(a[0].value == b[0].value);
  EXPECT_FALSE(a[0].value == secret);
}

TEST(ShamirTest, BadParametersAreRefused) {
  const SecretBytes secret = crypto::RandomSecret(32);
  EXPECT_FALSE(ShamirSplit(secret.span(), 0, 0).ok());
  EXPECT_FALSE(ShamirSplit(secret.span(), 256, 2).ok());
  EXPECT_FALSE(ShamirSplit(secret.span(), 3, 4).ok());
  EXPECT_FALSE(ShamirSplit(secret.span(), 3, 1).ok());
  EXPECT_FALSE(ShamirSplit({}, 3, 2).ok());
  EXPECT_TRUE(ShamirSplit(secret.span(), 1, 1).ok());
}

TEST(ShamirTest, CombineRefusesDuplicateZeroAndUnequalShares) {
  const SecretBytes secret = crypto::RandomSecret(32);
  std::vector<Share> shares = *ShamirSplit(secret.span(), 3, 2);
  std::vector<Share> dup = {shares[0], shares[0]};
  EXPECT_THAT(ShamirCombine(dup).status().message(), HasSubstr("same index"));
  std::vector<Share> zero = {shares[0], shares[1]};
  zero[1].index = 0;
  EXPECT_FALSE(ShamirCombine(zero).ok());
  std::vector<Share> unequal = {shares[0], shares[1]};
  unequal[1].value.Truncate(31);
  EXPECT_FALSE(ShamirCombine(unequal).ok());
  EXPECT_FALSE(ShamirCombine({}).ok());
}

class ShareTextTest : public testing::Test {
 protected:
  SecretBytes check_key_ = crypto::RandomSecret(32);
  SecretBytes secret_ = crypto::RandomSecret(32);
  std::vector<Share> shares_ = *ShamirSplit(secret_.span(), 5, 3);
};

TEST_F(ShareTextTest, EncodeDecodeRoundTrips) {
  for (const Share& s : shares_) {
    std::string text = EncodeShare(s, kKeyId, check_key_.span());
    EXPECT_TRUE(text.starts_with("kw1-" + std::to_string(s.index) + "-"));
    absl::StatusOr<Share> back =
        DecodeShare(" " + text + "\n", kKeyId, check_key_.span());
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->index, s.index);
    EXPECT_TRUE(back->value == s.value);
  }
}

TEST_F(ShareTextTest, EveryChangedCharacterIsRefused) {
  const std::string text = EncodeShare(shares_[2], kKeyId, check_key_.span());
  for (size_t i = 0; i < text.size(); ++i) {
    for (char c : std::string("0aZ-_9")) {
      if (text[i] == c) continue;
      std::string bad = text;
      bad[i] = c;
      absl::StatusOr<Share> got = DecodeShare(bad, kKeyId, check_key_.span());
      if (got.ok()) {
        // Only the index may change into another valid index, and then the
        // check fails; nothing else decodes.
        ADD_FAILURE() << "accepted a change at " << i;
      } else {
        EXPECT_THAT(got.status().message(), HasSubstr("share refused"));
        // The message never repeats the share.
        EXPECT_THAT(std::string(got.status().message()),
                    ::testing::Not(HasSubstr(text.substr(8, 16))));
      }
    }
  }
}

TEST_F(ShareTextTest, TruncatedOrExtendedIsRefused) {
  const std::string text = EncodeShare(shares_[0], kKeyId, check_key_.span());
  for (size_t n = 0; n < text.size(); ++n) {
    EXPECT_FALSE(DecodeShare(text.substr(0, n), kKeyId, check_key_.span()).ok());
  }
  EXPECT_FALSE(DecodeShare(text + "AA", kKeyId, check_key_.span()).ok());
}

TEST_F(ShareTextTest, ShareOfAnotherInitIsRefused) {
  const std::string text = EncodeShare(shares_[0], kKeyId, check_key_.span());
  SecretBytes other_key = crypto::RandomSecret(32);
  EXPECT_THAT(DecodeShare(text, kKeyId, other_key.span()).status().message(),
              HasSubstr("checksum"));
  EXPECT_FALSE(DecodeShare(text, "00000000-0000-4000-8000-000000000000",
                           check_key_.span())
                   .ok());
}

TEST_F(ShareTextTest, MalformedTextIsRefusedCleanly) {
  for (std::string bad : std::vector<std::string>{"", "kw1-", "kw1--AAAA", "kw1-0-AAAA", "kw1-256-AAAA",
                          "kw1-01-AAAA", "kw1-+1-AAAA", "kw2-1-AAAA",
                          "kw1-1-!!!!", "kw1-1-", "kw1-1-AAAAAAAAAAAA",
                          std::string(5000, 'k')}) {
    absl::StatusOr<Share> got = DecodeShare(bad, kKeyId, check_key_.span());
    EXPECT_FALSE(got.ok()) << bad;
    EXPECT_TRUE(absl::IsInvalidArgument(got.status()));
  }
}

// Freezes the share text of docs/formats/material.md §3 (the same vector
// seeds tests/fuzz/corpus/seal_fuzzer/share-valid); computed independently
// with Python's hmac module.
TEST(ShareTextKnownAnswerTest, DecodesAndReencodesTheVector) {
  const std::vector<uint8_t> check_key(32, 0x5a);
  const std::string text =
      "kw1-7-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9_NNB1WEhEBQ";
  absl::StatusOr<Share> share = DecodeShare(text, kKeyId, check_key);
  ASSERT_TRUE(share.ok()) << share.status();
  EXPECT_EQ(share->index, 7);
  ASSERT_EQ(share->value.size(), 32u);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(share->value.data()[i], i);
  EXPECT_EQ(EncodeShare(*share, kKeyId, check_key), text);
}

// Interpolation checked by hand: for f(x) = 0x2a + 0x53*x in GF(2^8),
// f(1) = 0x2a ^ 0x53 = 0x79 and f(2) = 0x2a ^ xtime(0x53) = 0x2a ^ 0xa6 =
// 0x8c (FIPS 197 §4.2.1), so two shares must give back 0x2a.
TEST(ShamirTest, LinearPolynomialByHand) {
  // f(x) = 0x2a ^ 0x53*x: f(1) = 0x79, f(2) = 0x2a ^ 0xa6 = 0x8c.
  std::vector<Share> shares(2);
  shares[0].index = 1;
  shares[0].value = SecretBytes(std::vector<uint8_t>{0x79});
  shares[1].index = 2;
  shares[1].value = SecretBytes(std::vector<uint8_t>{0x8c});
  absl::StatusOr<SecretBytes> s = ShamirCombine(shares);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->data()[0], 0x2a);
}

}  // namespace
}  // namespace keywarden::seal
