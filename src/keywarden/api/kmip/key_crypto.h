#ifndef KEYWARDEN_API_KMIP_KEY_CRYPTO_H_
#define KEYWARDEN_API_KMIP_KEY_CRYPTO_H_

// The cryptography of the KMIP operations on a managed object's value,
// shared by the service backend and the protocol tests' in-memory backend:
// key generation for Create and Create Key Pair, and Encrypt, Decrypt, MAC,
// Sign and Signature Verify (KMIP 1.4 §4.29-4.33). The callers check the
// object's ownership and state first; these check the parameters against
// the key. Primitives are crypto/key_ops.h. Thread-safe.
//
//   Encrypt/Decrypt  AES-GCM (IV 12 bytes generated unless given, tag 12-16
//                    bytes, 16 by default, AAD), AES-CBC with PKCS#5
//                    padding (IV 16 bytes generated unless given)
//   MAC              HMAC-SHA256/384/512 with an HMAC key of that hash, or
//                    the one the parameters name with any symmetric key
//   Sign/Verify      RSA PKCS#1 v1.5 or PSS, SHA-256/384/512

#include <cstdint>
#include <utility>

#include "absl/status/statusor.h"
#include "keywarden/api/kmip/messages.h"

namespace keywarden::api::kmip {

// A new symmetric key: AES 128/192/256, or HMAC-SHA256/384/512 of `bits`
// (a multiple of 8, 128 to 1024; absent: the hash's output size).
absl::StatusOr<ManagedObject> GenerateSymmetricKey(
    CryptographicAlgorithm algorithm, std::optional<int32_t> bits);

// A new RSA key pair of 2048, 3072 or 4096 bits: the private key as PKCS#8,
// the public key as X.509 SubjectPublicKeyInfo.
absl::StatusOr<std::pair<ManagedObject, ManagedObject>> GenerateRsaKeyPair(
    int32_t bits);

absl::StatusOr<EncryptResponse> EncryptWith(const ManagedObject& key,
                                            const EncryptRequest& req);
absl::StatusOr<DecryptResponse> DecryptWith(const ManagedObject& key,
                                            const DecryptRequest& req);
absl::StatusOr<MacResponse> MacWith(const ManagedObject& key,
                                    const MacRequest& req);
absl::StatusOr<SignResponse> SignWith(const ManagedObject& private_key,
                                      const SignRequest& req);
absl::StatusOr<SignatureVerifyResponse> VerifyWith(
    const ManagedObject& public_key, const SignatureVerifyRequest& req);

}  // namespace keywarden::api::kmip

#endif  // KEYWARDEN_API_KMIP_KEY_CRYPTO_H_
