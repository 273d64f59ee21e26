#ifndef KEYWARDEN_SEAL_SEAL_H_
#define KEYWARDEN_SEAL_SEAL_H_

#include <atomic>
#include <cstdint>
#include <functional>
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
// names the master key so that a rekey can tell generations apart: every
// sealed row records the id it was sealed under.
//
// It is a slot (ARCHITECTURE.md §3: sealed is a state of the running
// server): the managers hold one MasterKey for the life of the process, and
// the seal installs the key into it (unseal) and wipes it (seal) at run
// time. While empty, Encrypt and Decrypt fail with SealedError(), which
// IsSealedError() recognises. id() stays the last installed id after a
// wipe, so a row written right after an unseal never records an empty id.
//
// During a rekey (docs/operations.md, "Rekey the master key") the slot
// holds two keys: the current one, which Encrypt uses, and the previous
// one, which Decrypt still finds by the id a row records. Invariant: the
// current key is always among the held keys.
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

  // The current key's id (the one Encrypt uses).
  std::string id() const;
  // The ids of every key held (current first); empty while sealed.
  std::vector<std::string> ids() const;
  bool sealed() const { return !installed_.load(std::memory_order_acquire); }

  // Unseal: puts `key` (32 bytes) in the slot under `id` as the only key,
  // replacing what was there.
  absl::Status Install(std::string id, std::span<const uint8_t> key);
  // Unseal from another slot (keys a seal loaded): shares its keys.
  absl::Status InstallFrom(const MasterKey& other);
  // Rekey: adds `key` under `id` to an unsealed slot; if `make_current`,
  // Encrypt uses it from now on and the key that was current stays for
  // Decrypt. FailedPrecondition while sealed.
  absl::Status AddKey(std::string id, std::span<const uint8_t> key,
                      bool make_current);
  // Rekey done: drops the key `id` unless it is the current one.
  void RetireKey(std::string_view id);
  // Seal: drops every key; later calls fail with SealedError().
  void Wipe();

  // Called (outside any lock of the slot) when Decrypt meets a key id the
  // slot does not hold, so that a node can learn a key another node made
  // (a rekey started elsewhere); after it returns OK the lookup is retried
  // once. Set before the slot is shared.
  void set_resolver(std::function<absl::Status(std::string_view id)> f) {
    resolver_ = std::move(f);
  }

  // Called (outside any lock of the slot) when the store refused a row
  // sealed under the current key because a rekey on another node retired
  // that key (store::IsRetiredMasterKeyError), so that this node learns
  // the database's current key before sealing again. Set before the slot
  // is shared.
  void set_refresher(std::function<absl::Status()> f) {
    refresher_ = std::move(f);
  }
  // Runs the refresher: OK when the current key may have changed (seal and
  // write again), an error when the database's key cannot be learnt here.
  absl::Status Refresh() const;

  // Under the current key, with a fresh random nonce per call.
  absl::StatusOr<std::vector<uint8_t>> Encrypt(
      std::span<const uint8_t> plaintext, std::span<const uint8_t> aad) const;
  // Under the key `key_id` (read from id() just before, and recorded with
  // the result), so that a rekey starting in between cannot make the row
  // name another key than the one that sealed it.
  absl::StatusOr<std::vector<uint8_t>> Encrypt(
      std::string_view key_id, std::span<const uint8_t> plaintext,
      std::span<const uint8_t> aad) const;
  // Under the current key. InvalidArgument "decryption failed" on any
  // mismatch.
  absl::StatusOr<SecretBytes> Decrypt(std::span<const uint8_t> sealed,
                                      std::span<const uint8_t> aad) const;
  // Under the key `key_id` (what the row records). FailedPrecondition when
  // no key of that id is held or can be learnt; otherwise as above.
  absl::StatusOr<SecretBytes> Decrypt(std::string_view key_id,
                                      std::span<const uint8_t> blob,
                                      std::span<const uint8_t> aad) const;

 private:
  struct Held {
    std::string id;
    std::shared_ptr<const crypto::AesGcm> aead;
  };
  std::shared_ptr<const crypto::AesGcm> Current() const;
  // Null if `id` is not held (or sealed).
  std::shared_ptr<const crypto::AesGcm> Find(std::string_view id) const;
  // The key `id` and whether the slot was unsealed, read under one lock, so
  // that a Wipe and Install racing the caller cannot make a sealed slot look
  // like one that lacks the key.
  absl::StatusOr<std::shared_ptr<const crypto::AesGcm>> Lookup(
      std::string_view id) const;

  mutable absl::Mutex mu_;
  std::string id_ ABSL_GUARDED_BY(mu_);
  // Every key held; the one named id_ is current. At most a few (a rekey
  // holds two).
  std::vector<Held> keys_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> installed_{false};
  std::function<absl::Status(std::string_view)> resolver_;
  std::function<absl::Status()> refresher_;
};

// Unavailable "the service is sealed": what a sealed MasterKey answers.
absl::Status SealedError();
bool IsSealedError(const absl::Status& status);

// Seal is how the process obtains the master key (ARCHITECTURE.md §3).
// A seal that keeps the key itself (the file seal) also keeps the next key
// of a rekey: staged beside the current one, then promoted in its place.
class Seal {
 public:
  virtual ~Seal() = default;
  virtual absl::StatusOr<std::unique_ptr<MasterKey>> Unseal() = 0;

  // Writes `key` (32 bytes) under `id` as the next master key, durably,
  // beside the current one, replacing an earlier staged key.
  virtual absl::Status StageNext(std::string_view id,
                                 std::span<const uint8_t> key) {
    return absl::UnimplementedError("this seal keeps no key of its own");
  }
  // The staged key; NotFound if none.
  virtual absl::StatusOr<std::unique_ptr<MasterKey>> LoadStaged() {
    return absl::NotFoundError("no staged master key");
  }
  // Makes the staged key the current one, atomically, and forgets the
  // key it replaces. NotFound if nothing is staged.
  virtual absl::Status PromoteStaged() {
    return absl::NotFoundError("no staged master key");
  }
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
