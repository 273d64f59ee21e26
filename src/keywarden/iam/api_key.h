#ifndef KEYWARDEN_IAM_API_KEY_H_
#define KEYWARDEN_IAM_API_KEY_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "keywarden/iam/identity.h"

// API keys: the long-lived secrets that /identity/token exchanges for access
// tokens (docs/admin-api.md). The text is
//
//   "kwk_" <8 lower-case hex: public id> "_" <43 base64url: 32 random bytes>
//
// The prefix ("kwk_" + public id) is not secret: listings show it, the store
// finds the key by it and the throttle counts failures against it. The 256
// random bits are the secret; only SHA-256 of the whole text is stored, so
// no salt or slow hash is needed (the input is uniformly random).
namespace keywarden::iam {

inline constexpr std::string_view kApiKeyTag = "kwk_";
inline constexpr size_t kApiKeyPrefixSize = 12;   // "kwk_" + 8 hex
inline constexpr size_t kApiKeySecretSize = 43;   // base64url of 32 bytes
inline constexpr size_t kApiKeySize = kApiKeyPrefixSize + 1 + kApiKeySecretSize;

// A new key. `text` is shown to its owner once and then dropped.
struct GeneratedApiKey {
  std::string text;
  std::string prefix;
  SecretHash hash{};
};

// What a presented key is looked up and checked by.
struct ParsedApiKey {
  std::string prefix;
  SecretHash hash{};
};

// A fresh key from the CSPRNG.
GeneratedApiKey GenerateApiKey();

// The prefix and hash of `text` if it has exactly the shape above (the
// secret part canonical base64url of 32 bytes); InvalidArgument otherwise,
// with a message that does not quote the input.
absl::StatusOr<ParsedApiKey> ParseApiKey(std::string_view text);

// As ParseApiKey, but a text of any other shape (an operator-chosen
// KEYWARDEN_ADMIN_APIKEY) is indexed by a prefix derived from its hash:
// "ext_" and the hash's first 4 bytes in hex.
ParsedApiKey ParseAnyApiKey(std::string_view text);

}  // namespace keywarden::iam

#endif  // KEYWARDEN_IAM_API_KEY_H_
