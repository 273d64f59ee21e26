#ifndef KEYWARDEN_SERVICE_SEAL_SERVICE_H_
#define KEYWARDEN_SERVICE_SEAL_SERVICE_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "keywarden/common/clock.h"
#include "keywarden/common/secret_bytes.h"
#include "keywarden/seal/seal.h"
#include "keywarden/seal/seal_record.h"
#include "keywarden/seal/shamir.h"
#include "keywarden/service/request_context.h"
#include "keywarden/service/background_loop.h"
#include "keywarden/store/reseal_store.h"
#include "keywarden/store/store.h"

namespace keywarden::service {

// What GET /admin/v1/seal answers.
struct SealStatus {
  seal::SealType type = seal::SealType::kFile;
  bool initialized = false;  // the database has a seal record
  bool sealed = true;
  std::string key_id;        // empty before init
  int shares = 0;            // shamir
  int threshold = 0;         // shamir
  int progress = 0;          // shamir: valid shares entered so far
  // A rekey in progress (store meta `rekey`): from the key `key_id` to
  // `rekey_to`, `rekey_remaining` sealed rows still under another key, and
  // the last batch's failure if it failed (empty otherwise).
  bool rekey_in_progress = false;
  std::string rekey_to;
  int64_t rekey_remaining = 0;
  std::string rekey_error;
  // shamir: a rekey's new shares are verified (T of them entered with
  // VerifyRekey) before any row is re-sealed; until then `rekey_verified`
  // is false and `rekey_verify_progress` of `rekey_threshold` (of
  // `rekey_shares`) new shares were entered on this node.
  bool rekey_verified = true;
  int rekey_verify_progress = 0;
  int rekey_shares = 0;
  int rekey_threshold = 0;
};

// POST /admin/v1/seal/rekey. Unset: at start, 100 rows and no pause; on a
// resume, what the rekey record holds (docs/formats/material.md §4).
struct RekeyOptions {
  std::optional<int> batch_size;        // rows re-sealed per transaction
  std::optional<absl::Duration> pause;  // between batches
  // shamir, at start only: the new share set (default: the current one).
  std::optional<int> shares;
  std::optional<int> threshold;
};

// What Rekey() answers: the status, and under shamir, at start only, the
// new shares (shamir.h's text form; shown once, stored nowhere).
struct RekeyResult {
  SealStatus status;
  std::vector<std::string> shares;
  int threshold = 0;
  std::string key_id;  // the new master key's
};

struct SealInitResult {
  std::vector<std::string> shares;  // shamir.h's text form; shown once
  int threshold = 0;
  std::string key_id;
};

struct SealServiceOptions {
  seal::SealType type = seal::SealType::kFile;
  // file: the master key in the data dir (seal::NewFileSeal).
  std::unique_ptr<seal::Seal> file;
  // pkcs11: the token's wrapping key (pkcs11_seal.h); not owned.
  seal::KeyWrapper* wrapper = nullptr;
  // The sealed rows, for a rekey (the same database as `meta`); null: no
  // rekey.
  store::ResealStore* reseal = nullptr;
  // The time of the rekey's audit records; null: the system clock.
  const Clock* clock = nullptr;
};

// SealService holds the seal state of the running server (ARCHITECTURE.md
// §3): it installs the master key into the slot every manager holds
// (unseal) and wipes it (seal), without a restart.
//   - file and pkcs11 unseal themselves at Start() and on Unseal() with no
//     share (an administrator's "unseal again" after a seal);
//   - shamir starts sealed: Init() makes the master key, prints its shares
//     once and stores only the seal record; Unseal() takes one share at a
//     time; the T-th share installs the key.
// The seal record (seal_record.h, store meta `seal`) names the seal and
// carries the key's verifier: a node started with another seal type, or
// whose key does not open the verifier, is refused with the reason.
// Rekey (seal_rekey.cc; docs/operations.md "Rekey the master key") makes
// a new master key and re-seals every sealed row under it, in batches, on
// a background thread, resuming after a crash from store meta `rekey`.
// Who may call what (docs/operations.md): Status anyone; Init, Seal and
// Rekey administrators; Unseal with a share anyone who holds one (the share is
// the credential: tokens cannot be issued while sealed), without a share
// administrators. Thread-safe.
class SealService {
 public:
  static constexpr std::string_view kMetaName = "seal";
  static constexpr std::string_view kRekeyMetaName = "rekey";

  // `meta` keeps the seal record; `slot` is the MasterKey the managers
  // hold. Both outlive this.
  SealService(store::Store* meta, seal::MasterKey* slot,
              SealServiceOptions options);
  // Stops the rekey thread.
  ~SealService();

  // Reads (or for file and pkcs11, on a new database, writes) the seal
  // record and unseals file and pkcs11. FailedPrecondition with the reason
  // when this node cannot serve this database.
  absl::Status Start();

  // Run after each unseal and each seal (the server drops its caches of
  // unsealed material on seal, and logs both). Set before Start().
  void set_on_change(std::function<void(bool sealed)> f) {
    on_change_ = std::move(f);
  }

  bool sealed() const { return slot_->sealed(); }
  SealStatus Status() const;
  absl::StatusOr<SealInitResult> Init(const RequestContext& ctx, int shares,
                                      int threshold);
  // A refused share (malformed, wrong check, entered twice) leaves the
  // shares entered so far in place.
  absl::StatusOr<SealStatus> Unseal(const RequestContext& ctx,
                                    std::string_view share);
  absl::StatusOr<SealStatus> Seal(const RequestContext& ctx);

  // Starts a rekey, or resumes the one in progress, recording what
  // `options` sets (docs/formats/material.md §4); returns at once, the rows
  // are re-sealed in the background.
  // Under shamir a new rekey splits the new key into a new share set,
  // returned once, and re-seals nothing until VerifyRekey has seen T of
  // them: until then the old shares unseal and CancelRekey discards it.
  // Conflict while sealed.
  absl::StatusOr<RekeyResult> Rekey(const RequestContext& ctx,
                                    const RekeyOptions& options);
  // shamir: one of the new shares of the rekey waiting for verification
  // (administrators). A refused share (malformed, wrong check, entered
  // twice) keeps the shares entered so far; the T-th share that gives the
  // new key records the rekey as verified and lets its batches run.
  absl::StatusOr<SealStatus> VerifyRekey(const RequestContext& ctx,
                                         std::string_view share);
  // Discards a rekey that is not verified yet (its new key and shares);
  // Conflict once it is (its rows are being re-sealed: let it finish).
  absl::StatusOr<SealStatus> CancelRekey(const RequestContext& ctx);
  // One batch of the rekey in progress, for the background thread and
  // tests: true when the rekey has finished (or none is in progress).
  absl::StatusOr<bool> RekeyStep();
  // Run after a rekey finished on this node (e.g. reload what holds
  // sealed rows in memory). Set before StartRekeyThread().
  void set_on_rekeyed(std::function<void()> f) { on_rekeyed_ = std::move(f); }
  // Starts the background rekey thread (after Start()).
  void StartRekeyThread();

 private:
  SealStatus StatusLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // file and pkcs11: obtains the key, writing the record on a new database.
  absl::Status AutoUnsealLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status InstallChecked(const seal::SealRecord& record,
                              std::string_view key_id,
                              std::span<const uint8_t> key)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::optional<seal::SealRecord>> ReadRecord() const;
  void ClearProgressLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Changed(bool now_sealed);
  // After an unseal: re-adds the next key of a rekey in progress to the
  // slot (seal_rekey.cc).
  absl::Status ResumeRekeyLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The same at start and unseal, with an audit record when it takes up a
  // rekey.
  absl::Status ResumeRekeyAuditedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The slot's resolver: learns `key_id` from a rekey another node started.
  absl::Status LearnKey(std::string_view key_id);
  // The slot's refresher: makes the database's current key (a rekey's next
  // key, or the seal record's) the slot's current one, learning it if
  // needed.
  absl::Status RefreshKey();
  absl::Duration RekeyLoopBody();
  // The rekey fields of Status() from the rekey record's text.
  void FillRekeyStatus(std::string_view record_text, SealStatus& s) const;
  // Who the audit records of what a node does on its own name: `system`.
  static RequestContext SystemContext();

  store::Store* meta_;
  seal::MasterKey* slot_;
  SealServiceOptions options_;
  const Clock* clock_;
  std::function<void(bool)> on_change_;

  mutable absl::Mutex mu_;
  std::optional<seal::SealRecord> record_ ABSL_GUARDED_BY(mu_);
  // shamir: the shares entered so far, by index.
  std::map<uint8_t, seal::Share> progress_ ABSL_GUARDED_BY(mu_);

  // Rekey() of a new rekey, and of one in progress (new settings are
  // recorded); each writes its audit record.
  absl::Status StartRekeyLocked(const RequestContext& ctx,
                                const RekeyOptions& options,
                                RekeyResult* result)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ResumeWithLocked(const RequestContext& ctx,
                                const RekeyOptions& options)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // The rekey this node runs: the meta record's text, the key ids, and
  // the next seal record.
  struct RekeyState {
    std::string record_text;
    std::string from;
    std::string to;
    std::string next_seal_text;
    // false: a shamir rekey whose new shares are not verified yet; the
    // next key is not in the slot and no row is re-sealed.
    bool verified = true;
  };
  std::optional<RekeyState> rekey_ ABSL_GUARDED_BY(mu_);
  // The running rekey's settings, from its record.
  int rekey_batch_ ABSL_GUARDED_BY(mu_) = 100;
  absl::Duration rekey_pause_ ABSL_GUARDED_BY(mu_);
  std::string rekey_error_ ABSL_GUARDED_BY(mu_);
  // shamir: the new shares entered for the rekey's verification, by index
  // (this node's memory only: a restart starts the count again).
  std::map<uint8_t, seal::Share> verify_progress_ ABSL_GUARDED_BY(mu_);
  // Serialises RekeyStep (the background thread and a test or a resumed
  // request).
  absl::Mutex step_mu_;
  std::function<void()> on_rekeyed_;
  std::unique_ptr<BackgroundLoop> rekey_loop_;
};

}  // namespace keywarden::service

#endif  // KEYWARDEN_SERVICE_SEAL_SERVICE_H_
