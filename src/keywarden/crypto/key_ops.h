#ifndef KEYWARDEN_CRYPTO_KEY_OPS_H_
#define KEYWARDEN_CRYPTO_KEY_OPS_H_

// The operations a KMIP server performs with a client's managed keys
// (api/kmip: the service backend and the protocol tests' in-memory
// backend share them): AES-CBC, HMAC with the SHA-2 family, RSA signatures,
// and reading X.509 certificates. Via OpenSSL 3. Thread-safe (no state).

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "keywarden/common/secret_bytes.h"

namespace keywarden::crypto {

enum class HashAlgorithm { kSha256, kSha384, kSha512 };

// HMAC (RFC 2104) with `hash`.
std::vector<uint8_t> Hmac(HashAlgorithm hash, std::span<const uint8_t> key,
                          std::span<const uint8_t> data);

// AES-CBC (NIST SP 800-38A §6.2) with PKCS#7 padding (RFC 5652 §6.3, the
// PKCS#5 padding of 16-byte blocks) under a 16/24/32-byte key and a 16-byte
// IV. Decrypt fails with one DataLoss "decryption failed" for every bad
// input (padding, length), so no padding oracle shows in the error.
absl::StatusOr<std::vector<uint8_t>> AesCbcEncrypt(
    std::span<const uint8_t> key, std::span<const uint8_t> iv,
    std::span<const uint8_t> plaintext);
absl::StatusOr<SecretBytes> AesCbcDecrypt(std::span<const uint8_t> key,
                                          std::span<const uint8_t> iv,
                                          std::span<const uint8_t> ciphertext);

// AES-GCM (NIST SP 800-38D) with a caller's IV (12 to 64 bytes; 12 is
// what §8.2 recommends and what servers generate) and a tag of 12 to 16
// bytes (§5.2.1.2). Returns ciphertext || tag. Decrypt fails with one
// DataLoss "decryption failed" for every bad input.
absl::StatusOr<std::vector<uint8_t>> AesGcmSeal(
    std::span<const uint8_t> key, std::span<const uint8_t> iv,
    std::span<const uint8_t> plaintext, std::span<const uint8_t> aad,
    size_t tag_size);
absl::StatusOr<SecretBytes> AesGcmOpen(std::span<const uint8_t> key,
                                       std::span<const uint8_t> iv,
                                       std::span<const uint8_t> ciphertext,
                                       std::span<const uint8_t> tag,
                                       std::span<const uint8_t> aad);

enum class RsaPadding { kPkcs1v15, kPss };

// RSASSA-PKCS1-v1_5 or RSASSA-PSS (RFC 8017 §8; PSS with MGF1 of the same
// hash and a salt as long as the hash) over `hash` of `data`, with a PKCS#8
// DER private key.
absl::StatusOr<std::vector<uint8_t>> RsaSign(
    std::span<const uint8_t> private_key_der, RsaPadding padding,
    HashAlgorithm hash, std::span<const uint8_t> data);
// True if `signature` verifies with the SubjectPublicKeyInfo DER public key.
absl::StatusOr<bool> RsaVerify(std::span<const uint8_t> public_key_der,
                               RsaPadding padding, HashAlgorithm hash,
                               std::span<const uint8_t> data,
                               std::span<const uint8_t> signature);

// A fresh RSA key pair of `bits` (2048, 3072 or 4096; e = 65537): the
// private key as PKCS#8 DER, the public key as SubjectPublicKeyInfo DER.
struct RsaKeyPairDer {
  SecretBytes private_key_der;
  std::vector<uint8_t> public_key_der;
};
absl::StatusOr<RsaKeyPairDer> GenerateRsaKeyPairDer(int bits);

// The DER of the one X.509 certificate in `pem`; InvalidArgument when it
// is not exactly one parseable certificate.
absl::StatusOr<std::vector<uint8_t>> CertificatePemToDer(std::string_view pem);

}  // namespace keywarden::crypto

#endif  // KEYWARDEN_CRYPTO_KEY_OPS_H_
