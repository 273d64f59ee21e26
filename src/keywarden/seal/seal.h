#ifndef KEYWARDEN_SEAL_SEAL_H_
#define KEYWARDEN_SEAL_SEAL_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "keywarden/common/secret_bytes.h"
#include "keywarden/crypto/aes_gcm.h"

namespace keywarden::seal {

// MasterKey encrypts every piece of key material at rest with AES-256-GCM
// (format: docs/formats/material.md, nonce || ciphertext || tag). `id`
// names the master key so that a later rekey can tell generations apart.
//
// It is a slot (ARCHITECTURE.md §3: sealed is a state of the running
// server): the managers hold one MasterKey for the life of the process, and
// the seal installs the key into it (unseal) and wipes it (seal) at run
// time. While empty, Encrypt and Decrypt fail with SealedError(), which
// IsSealedError() recognises. id() stays the last installed id after a
// wipe, so a row written right after an unseal never records an empty id.
// Thread-safe: Install and Wipe may run while other threads encrypt; a call
// in flight finishes with the key it started with, whose AES key schedule
// is cleansed when the last such call returns.
class MasterKey {
 public:
  // An empty slot: sealed until Install().
  MasterKey() = default;
  // A slot holding `key` (32 bytes) under `id`.
  static absl::StatusOr<std::unique_ptr<MasterKey>> Create(
      std::string id, std::span<const uint8_t> key);

  std::string id() const;
  bool sealed() const { return !installed_.load(std::memory_order_acquire); }

  // Unseal: puts `key` (32 bytes) in the slot under `id`, replacing what
  // was there.
  absl::Status Install(std::string id, std::span<const uint8_t> key);
  // Unseal from another slot (a key a seal loaded): shares its key.
  absl::Status InstallFrom(const MasterKey& other);
  // Seal: drops the key; later calls fail with SealedError().
  void Wipe();

  // A fresh random nonce per call.
  absl::StatusOr<std::vector<uint8_t>> Encrypt(
      std::span<const uint8_t> plaintext, std::span<const uint8_t> aad) const;
  // InvalidArgument "decryption failed" on any mismatch.
  absl::StatusOr<SecretBytes> Decrypt(std::span<const uint8_t> sealed,
                                      std::span<const uint8_t> aad) const;

 private:
  std::shared_ptr<const crypto::AesGcm> Current() const;

  mutable absl::Mutex mu_;
  std::string id_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const crypto::AesGcm> aead_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> installed_{false};
};

// Unavailable "the service is sealed": what a sealed MasterKey answers.
absl::Status SealedError();
bool IsSealedError(const absl::Status& status);

// Seal is how the process obtains the master key (ARCHITECTURE.md §3):
// `file` now; `shamir` and `pkcs11` later.
class Seal {
 public:
  virtual ~Seal() = default;
  virtual absl::StatusOr<std::unique_ptr<MasterKey>> Unseal() = 0;
};

// KeyWrapper encrypts the master key under a key that never leaves its
// holder (a PKCS#11 token's AES key, pkcs11_seal.h). `aad` binds the
// wrapped key to its id.
class KeyWrapper {
 public:
  virtual ~KeyWrapper() = default;
  virtual absl::StatusOr<std::vector<uint8_t>> Wrap(
      std::span<const uint8_t> key, std::span<const uint8_t> aad) = 0;
  virtual absl::StatusOr<SecretBytes> Unwrap(
      std::span<const uint8_t> wrapped, std::span<const uint8_t> aad) = 0;
};

// FileSeal keeps the master key in `<data_dir>/master.key`, generating it on
// first use with mode 0600. It refuses (FailedPrecondition, with a one-line
// reason) to use a file that group or others may read or write, or that is
// not a regular file of the expected format. For development: the key sits
// beside the data it protects.
std::unique_ptr<Seal> NewFileSeal(std::string data_dir);

}  // namespace keywarden::seal

#endif  // KEYWARDEN_SEAL_SEAL_H_
