#include "keywarden/iam/authenticator.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "keywarden/common/secret_bytes.h"
#include "keywarden/common/strings.h"
#include "keywarden/crypto/random.h"
#include "keywarden/crypto/sha256.h"

namespace keywarden::iam {
namespace {

constexpr std::string_view kAdminTokenPrefix = "kwadm_";

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

std::string GenerateAdminToken() {
  SecretBytes raw = crypto::RandomSecret(32);
  return StrCat(
      AbslView(kAdminTokenPrefix),
      absl::BytesToHexString(absl::string_view(
          reinterpret_cast<const char*>(raw.data()), raw.size())));
}

TokenHash HashToken(std::string_view token) {
  return crypto::Sha256(Bytes(token));
}

std::string TokenHashToHex(const TokenHash& hash) {
  return absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(hash.data()), hash.size()));
}

bool TokenHashFromHex(std::string_view hex, TokenHash* out) {
  if (hex.size() != 64) return false;
  for (char c : hex) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  std::string bytes = absl::HexStringToBytes(AbslView(hex));
  std::copy(bytes.begin(), bytes.end(), out->begin());
  return true;
}


}  // namespace keywarden::iam
