#ifndef KEYWARDEN_SEAL_PKCS11_SEAL_H_
#define KEYWARDEN_SEAL_PKCS11_SEAL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "keywarden/common/secret_bytes.h"
#include "keywarden/seal/seal.h"

namespace keywarden::seal {

struct Pkcs11Options {
  std::string module;       // path of the PKCS#11 library (dlopen)
  std::string token_label;  // CK_TOKEN_INFO.label, blank-padded in the token
  std::string key_label;    // CKA_LABEL of the AES key
  SecretBytes pin;          // the user PIN
  // Generate the key in the token when no key has `key_label` (a new
  // database). Otherwise a missing key is an error.
  bool create_key_if_missing = false;
};

// The pkcs11 seal's KeyWrapper (ARCHITECTURE.md §3): the master key is
// encrypted with AES-256-GCM (CKM_AES_GCM, PKCS#11 v2.40 §2.10.4; 96-bit
// random IV, 128-bit tag, `aad` as the GCM AAD) by an AES key that lives in
// the token: CKA_SENSITIVE true, CKA_EXTRACTABLE false, so it never leaves
// the HSM. A key found by label that is extractable or not sensitive is
// refused. Wrapped form: iv (12) || ciphertext || tag (16).
//
// One logged-in session, used under a mutex (wraps happen at start and at
// an unseal only). The module is initialized with CKF_OS_LOCKING_OK and
// finalized and unloaded when the wrapper goes. Errors name the PKCS#11
// function and CKR_ code, never the PIN.
absl::StatusOr<std::unique_ptr<KeyWrapper>> OpenPkcs11Wrapper(
    const Pkcs11Options& options);

}  // namespace keywarden::seal

#endif  // KEYWARDEN_SEAL_PKCS11_SEAL_H_
