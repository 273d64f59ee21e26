#ifndef KEYWARDEN_SERVICE_IMPORT_TOKENS_H_
#define KEYWARDEN_SERVICE_IMPORT_TOKENS_H_

#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "keywarden/common/clock.h"
#include "keywarden/common/secret_bytes.h"
#include "keywarden/seal/seal.h"
#include "keywarden/service/access_control.h"
#include "keywarden/service/request_context.h"
#include "keywarden/service/types.h"
#include "keywarden/store/store.h"

namespace keywarden::service {

struct ImportTokenOptions {
  int rsa_bits = 4096;  // keyprotect-api.md §8.1
};

// ImportTokenManager runs secure import (keyprotect-api.md §8): one import
// token per instance, an RSA key pair whose private key is sealed by the
// master key in the store and never leaves the service, plus a nonce the
// importer must encrypt under the material it imports. Create() generates
// an RSA-4096 key and takes about a second of CPU: the HTTP layer runs it
// off the I/O threads. Thread-safe.
class ImportTokenManager {
 public:
  ImportTokenManager(store::Store* store, const seal::MasterKey* master_key,
                     const AccessControl* access, const Clock* clock,
                     ImportTokenOptions options);

  // POST /import_token (Writer): replaces the instance's token.
  absl::StatusOr<ImportTokenResult> Create(const RequestContext& ctx,
                                           const CreateImportTokenRequest& req);
  // GET /import_token (Writer): the public key and nonce, counting one
  // retrieval. 404 without a token; 409 IMPORT_TOKEN_EXPIRED_ERR once it
  // has expired or its retrievals are used up.
  absl::StatusOr<ImportTokenResult> Retrieve(const RequestContext& ctx);

  // The material of a secure import into `instance_id` (create, rotate):
  // `payload` is the RSA-OAEP-SHA256 ciphertext of the material under the
  // token's public key, `encrypted_nonce` the AES-GCM ciphertext of the token
  // nonce under that material with the 12-byte `iv`; a field the transport
  // could not decode fails after the token checks. Errors as Key Protect:
  // IMPORT_TOKEN_EXPIRED_ERR (no or expired token), BAD_BODY_ERR (payload
  // not for this token, or not 16/24/32 bytes), INCORRECT_NONCE_IV_ERR
  // (the nonce does not open under the material and iv),
  // INCORRECT_NONCE_ERR (it opens to another nonce). The caller authorizes.
  absl::StatusOr<SecretBytes> OpenSecureImport(
      std::string_view instance_id, const Decoded<SecretBytes>& payload,
      const Decoded<SecretBytes>& encrypted_nonce,
      const Decoded<SecretBytes>& iv);

 private:
  store::Store* store_;
  const seal::MasterKey* master_key_;
  const AccessControl* access_;
  const Clock* clock_;
  ImportTokenOptions options_;
};

}  // namespace keywarden::service

#endif  // KEYWARDEN_SERVICE_IMPORT_TOKENS_H_
