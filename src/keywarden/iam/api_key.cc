#include "keywarden/iam/api_key.h"

#include <openssl/crypto.h>

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "keywarden/common/secret_bytes.h"
#include "keywarden/crypto/base64.h"
#include "keywarden/crypto/random.h"
#include "keywarden/crypto/sha256.h"

namespace keywarden::iam {
namespace {

constexpr size_t kPublicIdBytes = 4;
constexpr size_t kSecretBytes = 32;

SecretHash HashText(std::string_view text) {
  return crypto::Sha256(
      {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

bool IsLowerHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

}  // namespace

GeneratedApiKey GenerateApiKey() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::array<uint8_t, kPublicIdBytes> id{};
  crypto::RandomPublicBytes(id);
  GeneratedApiKey key;
  key.prefix.assign(kApiKeyTag);
  for (const uint8_t b : id) {
    key.prefix.push_back(kHex[b >> 4]);
    key.prefix.push_back(kHex[b & 0xf]);
  }
  const SecretBytes secret = crypto::RandomSecret(kSecretBytes);
  key.text = key.prefix + "_" + crypto::Base64UrlEncode(secret.span());
  key.hash = HashText(key.text);
  return key;
}

absl::StatusOr<ParsedApiKey> ParseApiKey(std::string_view text) {
  const auto invalid = [] {
    return absl::InvalidArgumentError("API key is malformed");
  };
  if (text.size() != kApiKeySize || !text.starts_with(kApiKeyTag) ||
      text[kApiKeyPrefixSize] != '_') {
    return invalid();
  }
  for (size_t i = kApiKeyTag.size(); i < kApiKeyPrefixSize; ++i) {
    if (!IsLowerHex(text[i])) return invalid();
  }
  // Strict decoding also rejects a non-canonical last symbol, so one key has
  // one text (and one hash).
  auto secret = crypto::Base64UrlDecode(text.substr(kApiKeyPrefixSize + 1));
  const bool ok = secret.ok() && secret->size() == kSecretBytes;
  if (secret.ok()) OPENSSL_cleanse(secret->data(), secret->size());
  if (!ok) return invalid();
  return ParsedApiKey{std::string(text.substr(0, kApiKeyPrefixSize)),
                      HashText(text)};
}

ParsedApiKey ParseAnyApiKey(std::string_view text) {
  absl::StatusOr<ParsedApiKey> parsed = ParseApiKey(text);
  if (parsed.ok()) return *std::move(parsed);
  ParsedApiKey external;
  external.hash = HashText(text);
  external.prefix = absl::StrCat(
      "ext_", absl::BytesToHexString(absl::string_view(
                  reinterpret_cast<const char*>(external.hash.data()), 4)));
  return external;
}

}  // namespace keywarden::iam
