#ifndef KEYWARDEN_CRYPTO_CIPHERS_H_
#define KEYWARDEN_CRYPTO_CIPHERS_H_

#include <cstddef>

#include <openssl/evp.h>

// The AES ciphers of crypto/, each fetched once: an implicit fetch in every
// EVP_EncryptInit_ex would take the provider's lock on the wrap/unwrap and
// KMIP Encrypt/Decrypt hot paths. Fetched ciphers are immutable and shared
// between threads (OpenSSL 3 "Algorithm fetching"). For crypto/'s own use.
namespace keywarden::crypto {

// AES-GCM / AES-CBC for a 16-, 24- or 32-byte key; nullptr for any other
// size. Aborts if OpenSSL has no default provider (an unusable library).
const EVP_CIPHER* AesGcmCipher(size_t key_size);
const EVP_CIPHER* AesCbcCipher(size_t key_size);

}  // namespace keywarden::crypto

#endif  // KEYWARDEN_CRYPTO_CIPHERS_H_
