#ifndef KEYWARDEN_SEAL_SHAMIR_H_
#define KEYWARDEN_SEAL_SHAMIR_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "keywarden/common/secret_bytes.h"

namespace keywarden::seal {

// Shamir's secret sharing (Shamir 1979, "How to share a secret") over
// GF(2^8) with the AES polynomial x^8 + x^4 + x^3 + x + 1 (FIPS 197 §4.2),
// byte by byte: each byte of the secret is the constant term of its own
// random polynomial of degree threshold-1, and share i holds the values of
// all polynomials at x = i (1..255). Any `threshold` shares give the secret
// by Lagrange interpolation at x = 0; fewer give no information about it.
// Field arithmetic runs in constant time (no table indexed by secret bytes).

struct Share {
  uint8_t index = 0;  // x, 1..255
  SecretBytes value;  // one y per secret byte
};

// Limits of `keywarden operator init`.
inline constexpr int kMaxShares = 255;

// `shares` in 1..255, `threshold` in 1..shares, and at least 2 when there is
// more than one share (a threshold of 1 would make every share the secret).
absl::Status CheckShamirParameters(int shares, int threshold);

// Splits `secret` (non-empty) into `shares` shares with indexes 1..shares.
absl::StatusOr<std::vector<Share>> ShamirSplit(std::span<const uint8_t> secret,
                                               int shares, int threshold);

// Interpolates the secret from shares with distinct non-zero indexes and
// equal lengths. It cannot tell whether the result is right: with fewer
// than the threshold, or with a wrong share, it returns a wrong secret; the
// caller checks the result (seal_record.h's verifier).
absl::StatusOr<SecretBytes> ShamirCombine(std::span<const Share> shares);

// The text of a share an operator keeps and types back in:
//   kw1-<index>-<base64url(value || check)>
// `check` is HMAC-SHA256(check_key, "keywarden share v1" || key_id ||
// index || value) cut to 8 bytes. The check key is random per `init` and
// kept in the seal record, so a mistyped share, a share of another
// deployment or of an earlier init, and a share forged without the
// database are refused one by one, before they can spoil an unseal.
std::string EncodeShare(const Share& share, std::string_view key_id,
                        std::span<const uint8_t> check_key);
// InvalidArgument with a message safe to show (it never repeats the input).
absl::StatusOr<Share> DecodeShare(std::string_view text,
                                  std::string_view key_id,
                                  std::span<const uint8_t> check_key);

}  // namespace keywarden::seal

#endif  // KEYWARDEN_SEAL_SHAMIR_H_
