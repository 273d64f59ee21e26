#include "keywarden/seal/shamir.h"

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "keywarden/common/secret_bytes.h"
#include "keywarden/common/strings.h"
#include "keywarden/crypto/base64.h"
#include "keywarden/crypto/hmac.h"
#include "keywarden/crypto/random.h"

namespace keywarden::seal {
namespace {

constexpr std::string_view kSharePrefix = "kw1-";
constexpr size_t kCheckSize = 8;
constexpr size_t kMaxSecret = 64;  // a master key is 32 bytes
constexpr std::string_view kCheckLabel = "keywarden share v1";

// GF(2^8) product modulo x^8 + x^4 + x^3 + x + 1, without branches or
// tables that depend on the operands (FIPS 197 §4.2.1's xtime, masked).
uint8_t Mul(uint8_t a, uint8_t b) {
  uint8_t p = 0;
  for (int i = 0; i < 8; ++i) {
    p ^= static_cast<uint8_t>(-(b & 1) & a);
    const uint8_t high = static_cast<uint8_t>(-(a >> 7));
    a = static_cast<uint8_t>((a << 1) ^ (high & 0x1b));
    b >>= 1;
  }
  return p;
}

// a^254 = a^-1 for a != 0 (the multiplicative group has order 255).
uint8_t Inv(uint8_t a) {
  uint8_t result = 1;
  uint8_t power = a;
  for (int bit = 0; bit < 8; ++bit) {
    if ((254 >> bit) & 1) result = Mul(result, power);  // public exponent
    power = Mul(power, power);
  }
  return result;
}

std::array<uint8_t, 32> Check(const Share& share, std::string_view key_id,
                              std::span<const uint8_t> check_key) {
  std::vector<uint8_t> data;
  data.reserve(kCheckLabel.size() + 1 + key_id.size() + 1 + share.value.size());
  data.insert(data.end(), kCheckLabel.begin(), kCheckLabel.end());
  data.push_back(static_cast<uint8_t>(key_id.size()));
  data.insert(data.end(), key_id.begin(), key_id.end());
  data.push_back(share.index);
  data.insert(data.end(), share.value.span().begin(), share.value.span().end());
  std::array<uint8_t, 32> mac = crypto::HmacSha256(check_key, data);
  WipeMemory(data.data(), data.size());
  return mac;
}

absl::Status BadShare(std::string_view why) {
  return absl::InvalidArgumentError(StrCat("share refused: ", why));
}

}  // namespace

absl::Status CheckShamirParameters(int shares, int threshold) {
  if (shares < 1 || shares > kMaxShares) {
    return absl::InvalidArgumentError("shares must be 1 to 255");
  }
  if (threshold < 1 || threshold > shares) {
    return absl::InvalidArgumentError("threshold must be 1 to shares");
  }
  if (shares > 1 && threshold < 2) {
    return absl::InvalidArgumentError(
        "threshold must be at least 2 when there is more than one share (with "
        "1, every share would be the master key)");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Share>> ShamirSplit(std::span<const uint8_t> secret,
                                               int shares, int threshold) {
  if (absl::Status s = CheckShamirParameters(shares, threshold); !s.ok()) {
    return s;
  }
  if (secret.empty() || secret.size() > kMaxSecret) {
    return absl::InvalidArgumentError("secret must be 1 to 64 bytes");
  }
  std::vector<Share> out(static_cast<size_t>(shares));
  for (int i = 0; i < shares; ++i) {
    out[i].index = static_cast<uint8_t>(i + 1);
    out[i].value = SecretBytes(secret.size());
  }
  // Coefficients 1..threshold-1 of each byte's polynomial; the constant
  // term is the secret byte.
  const size_t degree = static_cast<size_t>(threshold - 1);
  SecretBytes coefficients = crypto::RandomSecret(degree * secret.size());
  for (size_t b = 0; b < secret.size(); ++b) {
    const uint8_t* c = coefficients.data() + b * degree;
    for (Share& share : out) {
      // Horner's rule from the highest coefficient down.
      uint8_t y = 0;
      for (size_t k = degree; k > 0; --k) y = Mul(y, share.index) ^ c[k - 1];
      share.value.data()[b] = Mul(y, share.index) ^ secret[b];
    }
  }
  return out;
}

absl::StatusOr<SecretBytes> ShamirCombine(std::span<const Share> shares) {
  if (shares.empty()) return absl::InvalidArgumentError("no shares");
  const size_t size = shares[0].value.size();
  if (size == 0 || size > kMaxSecret) {
    return absl::InvalidArgumentError("shares must hold 1 to 64 bytes");
  }
  for (size_t i = 0; i < shares.size(); ++i) {
    if (shares[i].index == 0) {
      return absl::InvalidArgumentError("share index 0 is not valid");
    }
    if (shares[i].value.size() != size) {
      return absl::InvalidArgumentError("shares differ in length");
    }
    for (size_t j = 0; j < i; ++j) {
      if (shares[j].index == shares[i].index) {
        return absl::InvalidArgumentError("two shares have the same index");
      }
    }
  }
  // Lagrange basis at 0: l_i = prod_{j != i} x_j / (x_j - x_i); in GF(2^8)
  // subtraction is XOR. Indexes are public, so the basis is too.
  SecretBytes secret(size);
  for (size_t i = 0; i < shares.size(); ++i) {
    uint8_t num = 1, den = 1;
    for (size_t j = 0; j < shares.size(); ++j) {
      if (j == i) continue;
      num = Mul(num, shares[j].index);
      den = Mul(den, shares[j].index ^ shares[i].index);
    }
    const uint8_t basis = Mul(num, Inv(den));
    for (size_t b = 0; b < size; ++b) {
      secret.data()[b] ^= Mul(shares[i].value.data()[b], basis);
    }
  }
  return secret;
}

std::string EncodeShare(const Share& share, std::string_view key_id,
                        std::span<const uint8_t> check_key) {
  const std::array<uint8_t, 32> mac = Check(share, key_id, check_key);
  SecretBytes payload(share.value.size() + kCheckSize);
  std::copy(share.value.span().begin(), share.value.span().end(),
            payload.data());
  std::copy(mac.begin(), mac.begin() + kCheckSize,
            payload.data() + share.value.size());
  return StrCat(kSharePrefix, static_cast<int>(share.index), "-",
                crypto::Base64UrlEncode(payload.span()));
}

absl::StatusOr<Share> DecodeShare(std::string_view text,
                                  std::string_view key_id,
                                  std::span<const uint8_t> check_key) {
  // Surrounding blanks (a pasted line) are not part of the share.
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' ||
                           text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  if (!text.starts_with(kSharePrefix)) {
    return BadShare("it does not start with kw1- (not a Keywarden share)");
  }
  text.remove_prefix(kSharePrefix.size());
  const size_t dash = text.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash > 3) {
    return BadShare("it has no share index (kw1-<index>-<data>)");
  }
  int index = 0;
  if (!absl::SimpleAtoi(AbslView(text.substr(0, dash)), &index) ||
      index < 1 || index > kMaxShares || text[0] == '0' || text[0] == '+') {
    return BadShare("its index is not a number from 1 to 255");
  }
  absl::StatusOr<std::vector<uint8_t>> payload =
      crypto::Base64UrlDecode(text.substr(dash + 1));
  if (!payload.ok()) return BadShare("its data is not base64url");
  SecretBytes bytes(*payload);
  WipeMemory(payload->data(), payload->size());
  if (bytes.size() <= kCheckSize || bytes.size() > kMaxSecret + kCheckSize) {
    return BadShare("its data has the wrong length");
  }
  Share share;
  share.index = static_cast<uint8_t>(index);
  share.value = SecretBytes(bytes.data(), bytes.size() - kCheckSize);
  const std::array<uint8_t, 32> mac = Check(share, key_id, check_key);
  if (!ConstantTimeEquals(
          std::span<const uint8_t>(mac).first(kCheckSize),
          bytes.span().subspan(bytes.size() - kCheckSize))) {
    return BadShare(
        "its checksum does not match (a typing error, or a share of another "
        "deployment or of an earlier init)");
  }
  return share;
}

}  // namespace keywarden::seal
