#ifndef KEYWARDEN_SEAL_SEAL_H_
#define KEYWARDEN_SEAL_SEAL_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "keywarden/common/secret_bytes.h"
#include "keywarden/crypto/aes_gcm.h"

namespace keywarden::seal {

// MasterKey encrypts every piece of key material at rest with AES-256-GCM
// (format: docs/formats/material.md, nonce || ciphertext || tag). `id`
// names the master key so that a later rekey can tell generations apart.
// Immutable and thread-safe.
class MasterKey {
 public:
  static absl::StatusOr<std::unique_ptr<MasterKey>> Create(
      std::string id, std::span<const uint8_t> key);

  const std::string& id() const { return id_; }

  // A fresh random nonce per call.
  absl::StatusOr<std::vector<uint8_t>> Encrypt(
      std::span<const uint8_t> plaintext, std::span<const uint8_t> aad) const;
  // InvalidArgument "decryption failed" on any mismatch.
  absl::StatusOr<SecretBytes> Decrypt(std::span<const uint8_t> sealed,
                                      std::span<const uint8_t> aad) const;

 private:
  MasterKey(std::string id, crypto::AesGcm aead)
      : id_(std::move(id)), aead_(std::move(aead)) {}
  std::string id_;
  crypto::AesGcm aead_;
};

// Seal is how the process obtains the master key (ARCHITECTURE.md §3):
// `file` now; `shamir` and `pkcs11` later.
class Seal {
 public:
  virtual ~Seal() = default;
  virtual absl::StatusOr<std::unique_ptr<MasterKey>> Unseal() = 0;
};

// FileSeal keeps the master key in `<data_dir>/master.key`, generating it on
// first use with mode 0600. It refuses (FailedPrecondition, with a one-line
// reason) to use a file that group or others may read or write, or that is
// not a regular file of the expected format. For development: the key sits
// beside the data it protects.
std::unique_ptr<Seal> NewFileSeal(std::string data_dir);

}  // namespace keywarden::seal

#endif  // KEYWARDEN_SEAL_SEAL_H_
