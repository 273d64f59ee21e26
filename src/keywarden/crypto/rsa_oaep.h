#ifndef KEYWARDEN_CRYPTO_RSA_OAEP_H_
#define KEYWARDEN_CRYPTO_RSA_OAEP_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "keywarden/common/secret_bytes.h"

// RSA key pairs and RSAES-OAEP (RFC 8017 §7.1) with SHA-256 as both the
// hash and the MGF1 hash and an empty label: the encryption of Key
// Protect's secure import (keyprotect-api.md §8), via OpenSSL 3.
namespace keywarden::crypto {

struct RsaKeyPair {
  SecretBytes private_key_der;  // PKCS#8 PrivateKeyInfo, DER
  std::string public_key_pem;   // SubjectPublicKeyInfo, "-----BEGIN PUBLIC KEY-----"
};

// A fresh key pair of `bits` (2048..8192, a multiple of 1024) with public
// exponent 65537. Slow: an RSA-4096 key takes about a second of CPU, so
// callers keep it off latency-sensitive threads.
absl::StatusOr<RsaKeyPair> GenerateRsaKeyPair(int bits);

// Decrypts `ciphertext` with the PKCS#8 DER `private_key_der`. Every
// failure (wrong key, wrong padding, wrong length, a malformed key) is the
// same InvalidArgument "decryption failed", so callers leak no padding
// oracle through their errors.
absl::StatusOr<SecretBytes> RsaOaepSha256Decrypt(
    std::span<const uint8_t> private_key_der,
    std::span<const uint8_t> ciphertext);

// Encrypts `plaintext` to the PEM public key (for tests and clients).
absl::StatusOr<std::vector<uint8_t>> RsaOaepSha256Encrypt(
    std::string_view public_key_pem, std::span<const uint8_t> plaintext);

}  // namespace keywarden::crypto

#endif  // KEYWARDEN_CRYPTO_RSA_OAEP_H_
