#ifndef KEYWARDEN_INTEGRATIONS_CLEVIS_CLEVIS_PIN_H_
#define KEYWARDEN_INTEGRATIONS_CLEVIS_CLEVIS_PIN_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keywarden/client/key_protect.h"
#include "keywarden/common/secret_bytes.h"
#include "keywarden/integrations/clevis/pin_format.h"

// The Clevis pin's logic, apart from its command (clevis_pin_command.cc) and
// its shell scripts (integrations/clevis/): the pin scripts let `jose`
// generate a content-encryption JWK and build the JWE; this code wraps the
// JWK's key bytes with a Keywarden root key through the typed client, and
// unwraps them again. Nothing here builds an HTTP request.
//
// The JWE (docs/integrations/postgresql.md §3): a compact JWE with "alg":"dir",
// "enc":"A256GCM", whose protected header carries
//   "clevis": {"pin": "keywarden", "keywarden": <PinHeader as JSON>}
// The header member names where to unwrap (url, instance, key id, cacert),
// which credentials to use (apikey_file, never the API key itself) and the
// WDEK. It is public: it holds no secret.
namespace keywarden::integrations::clevis {

// WrapCek wraps `cek` with the configured key's current version, then (when
// `config.crn` is set) registers that resource with the key. The key is
// resolved to its id first, so a later alias change does not redirect the
// JWE. A resource registered already (CONFLICT_ERR: an earlier bind, maybe
// under an older key version) counts as registered; any other failed
// registration fails the whole call, and no JWE is written.
absl::StatusOr<PinHeader> WrapCek(client::KeyProtectClient& kp,
                                  const PinConfig& config,
                                  const SecretBytes& cek);

// UnwrapCek unwraps the header's WDEK; any version of the key that is still
// usable unwraps it. It fails while the key is disabled or deleted, with
// the server's reason in the message.
absl::StatusOr<SecretBytes> UnwrapCek(client::KeyProtectClient& kp,
                                      const PinHeader& header);

}  // namespace keywarden::integrations::clevis

#endif  // KEYWARDEN_INTEGRATIONS_CLEVIS_CLEVIS_PIN_H_
