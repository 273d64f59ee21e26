#ifndef KEYWARDEN_INTEGRATIONS_CLEVIS_PIN_FORMAT_H_
#define KEYWARDEN_INTEGRATIONS_CLEVIS_PIN_FORMAT_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keywarden/common/secret_bytes.h"

// What the Clevis pin reads and writes, apart from any I/O (so that
// tests/fuzz/clevis_pin_fuzzer links nothing else): its configuration, the
// JWE header member it records (docs/integrations/postgresql.md §2, §3), and
// the content-encryption JWK.
namespace keywarden::integrations::clevis {

// The content-encryption key: an A256GCM JWK's 32 bytes.
inline constexpr size_t kCekBytes = 32;
// Bound into every WDEK the pin makes (the unwrap `aad`): a WDEK made for
// another purpose with the same root key does not unwrap here.
inline constexpr std::string_view kWrapAad = "keywarden:clevis";
// Inputs are small JSON objects; anything larger is refused.
inline constexpr size_t kMaxInputBytes = 16 * 1024;

// The pin's configuration, as `clevis encrypt keywarden CONFIG` gives it:
// {"url":…,"instance":…,"key":…,"apikey_file":…,"cacert":…,"crn":…}.
struct PinConfig {
  std::string url;          // required: http[s]://HOST[:PORT]
  std::string instance;     // required: the Key Protect instance id
  std::string key;          // required: the root key's id or alias
  std::string apikey_file;  // optional, absolute: else $KEYWARDEN_APIKEY
  std::string cacert;       // optional, absolute: PEM CA file for https
  std::string crn;          // optional: registered with the key at encrypt
};

// What the JWE's protected header records ("clevis"."keywarden").
struct PinHeader {
  std::string url;
  std::string instance;
  std::string key;          // the root key's id (an alias is resolved)
  std::string key_version;  // the version that wrapped the CEK
  std::string wdek;         // the wrapped CEK, as the server returned it
  std::string apikey_file;
  std::string cacert;
  std::string crn;
};

// ParsePinConfig reads the configuration. It must be a JSON object with the
// required members as non-empty strings, paths absolute, and no other
// members (a misspelt "apikey-file" is an error, not a silent default).
absl::StatusOr<PinConfig> ParsePinConfig(std::string_view json);

// ParsePinHeader reads the header member back, with the same strictness
// (url, instance, key and wdek required).
absl::StatusOr<PinHeader> ParsePinHeader(std::string_view json);
std::string FormatPinHeader(const PinHeader& header);

// CekOfJwk reads an A256GCM JWK ({"kty":"oct","k":…}, as `jose jwk gen`
// makes it): its 32 key bytes. The JSON is parsed in a buffer that is wiped
// afterwards; the message of an error holds none of the input.
absl::StatusOr<SecretBytes> CekOfJwk(std::string_view json);
// JwkOfCek is the JWK of `cek` ({"alg":"A256GCM","k":…,"kty":"oct"}); the
// caller wipes the string when done (WipeString).
std::string JwkOfCek(const SecretBytes& cek);

}  // namespace keywarden::integrations::clevis

#endif  // KEYWARDEN_INTEGRATIONS_CLEVIS_PIN_FORMAT_H_
