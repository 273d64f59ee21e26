#ifndef KEYWARDEN_IAM_AUTHENTICATOR_H_
#define KEYWARDEN_IAM_AUTHENTICATOR_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "keywarden/iam/credential.h"
#include "keywarden/iam/principal.h"

namespace keywarden::iam {

// Authenticator turns the credential a request presents into a principal
// (service::TokenAuthenticator is the implementation). Implementations are
// thread-safe and cheap: they run on every request of the data plane.
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // Errors carry Reason::kUnauthorized (or kBearerSubExtraction for a
  // bearer token that tries to be a JWT and cannot be read).
  virtual absl::StatusOr<Principal> Authenticate(
      const Credential& credential) const = 0;
};

using TokenHash = std::array<uint8_t, 32>;

// The bootstrap administrator's token: 32 random bytes, hex, with a prefix
// that makes it recognisable in a secret scanner.
std::string GenerateAdminToken();

// SHA-256 of a token; only this is stored.
TokenHash HashToken(std::string_view token);
std::string TokenHashToHex(const TokenHash& hash);
bool TokenHashFromHex(std::string_view hex, TokenHash* out);


}  // namespace keywarden::iam

#endif  // KEYWARDEN_IAM_AUTHENTICATOR_H_
