// SealService's rekey (docs/operations.md "Rekey the master key";
// docs/formats/material.md §4): a new master key, every sealed row
// re-sealed under it in batches, the old key retired. Crash-safe because
// every step is either one transaction or idempotent:
//   1. the new key K' is drawn; the file seal stages it beside master.key;
//   2. meta `rekey` is written once (absent -> record): K' sealed under the
//      current key K, the seal record that will name K', and the batch
//      settings; meta `master_keys` becomes `K,K'` in the same transaction;
//   3. batches of rows not under K' are re-sealed, each batch in one
//      transaction and only where a row still holds what was read;
//   4. in one transaction, only when no row remains under another key,
//      meta `seal` becomes the new record, meta `master_keys` `K'` (from
//      then on the store refuses a row sealed under K, whichever node
//      writes it: a node that missed the rekey learns K' and writes again,
//      sealed_write.h) and meta `rekey` goes;
//   5. the file seal renames the staged file over master.key; K is wiped.
// A restart between any two steps finds meta `rekey` (resume from 3, with
// the recorded batch settings) or the new seal record with a staged file
// (finish 5). Steps 2 and 4, and each resume, are audit records.
//
// Under the shamir seal the new key's shares are the only way to unseal
// after step 4, so they are proven kept first: step 2 records the rekey as
// not verified (the next seal record in it holds the new shares' check key
// and verifier, so verification works after a restart too), step 1 hands
// the new shares out once, and nothing goes on from step 2 until T of the
// new shares, entered with VerifyRekey, give the next key; then the record
// becomes verified (compare-and-swap) and step 3 starts. Until then K' is
// not in the slot, nothing is sealed under it, the old shares unseal, and
// a cancel only deletes the record: no row has to be re-sealed back.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "keywarden/common/errors.h"
#include "keywarden/common/ids.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"
#include "keywarden/crypto/base64.h"
#include "keywarden/crypto/random.h"
#include "keywarden/keys/envelope.h"
#include "keywarden/service/audit.h"
#include "keywarden/service/seal_service.h"

namespace keywarden::service {
namespace {

using seal::SealRecord;
using seal::SealType;

constexpr size_t kMasterKeySize = 32;
constexpr size_t kShareCheckKeySize = 32;
// v2 adds the batch size and pause, v3 whether the new shares are
// verified; v1 and v2 records (written before) still read, as verified.
constexpr std::string_view kRekeyHeaderV1 = "keywarden-rekey v1";
constexpr std::string_view kRekeyHeaderV2 = "keywarden-rekey v2";
constexpr std::string_view kRekeyHeader = "keywarden-rekey v3";
constexpr int kMaxBatch = 10000;
constexpr int64_t kMaxPauseMs = 60000;
constexpr int kDefaultBatch = 100;

// The rekey record (docs/formats/material.md §4).
struct RekeyRecord {
  std::string from;
  std::string to;
  std::vector<uint8_t> key;  // K' sealed under `from`
  std::string next_seal;     // the seal record text that will name `to`
  // How the batches run, as given at start (or at the last resume that
  // changed them): a restarted node runs them the same way.
  int batch_size = kDefaultBatch;
  int64_t pause_ms = 0;
  // shamir: false until T of the new shares were entered (VerifyRekey);
  // the other seals' rekeys are verified from the start.
  bool verified = true;
};

std::vector<uint8_t> NextKeyAad(std::string_view to) {
  constexpr std::string_view kLabel = "keywarden rekey next key";
  std::vector<uint8_t> aad(kLabel.begin(), kLabel.end());
  aad.push_back(0);
  aad.insert(aad.end(), to.begin(), to.end());
  return aad;
}

std::vector<uint8_t> WrapAad(std::string_view key_id) {
  // As seal_service.cc's: the pkcs11 seal's wrapped master key.
  constexpr std::string_view kLabel = "keywarden wrapped master key";
  std::vector<uint8_t> aad(kLabel.begin(), kLabel.end());
  aad.push_back(0);
  aad.insert(aad.end(), key_id.begin(), key_id.end());
  return aad;
}

std::string EncodeRekey(const RekeyRecord& r) {
  const std::string_view seal = r.next_seal;
  return StrCat(
      kRekeyHeader, "\n", "from=", r.from, "\n", "to=", r.to, "\n",
      "key=", crypto::Base64Encode(r.key), "\n", "seal=",
      crypto::Base64Encode(std::span<const uint8_t>(
          reinterpret_cast<const uint8_t*>(seal.data()), seal.size())),
      "\n", "batch=", r.batch_size, "\n", "pause_ms=", r.pause_ms, "\n",
      "verified=", r.verified ? "1" : "0", "\n");
}

absl::StatusOr<RekeyRecord> ParseRekey(std::string_view text) {
  auto bad = [] {
    return absl::DataLossError("the database's rekey record is malformed");
  };
  int lines = 0;
  if (text.starts_with(StrCat(kRekeyHeader, "\n"))) {
    lines = 7;
  } else if (text.starts_with(StrCat(kRekeyHeaderV2, "\n"))) {
    lines = 6;
  } else if (text.starts_with(StrCat(kRekeyHeaderV1, "\n"))) {
    lines = 4;
  } else {
    return bad();
  }
  text.remove_prefix(kRekeyHeader.size() + 1);
  RekeyRecord r;
  const char* names[] = {
      "from=", "to=", "key=", "seal=", "batch=", "pause_ms=", "verified="};
  std::string values[7];
  for (int i = 0; i < lines; ++i) {
    const size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return bad();
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    if (!line.starts_with(names[i])) return bad();
    values[i] = std::string(line.substr(std::string_view(names[i]).size()));
  }
  if (!text.empty() || !IsUuid(values[0]) || !IsUuid(values[1])) return bad();
  if (lines == 7) {
    if (values[6] != "0" && values[6] != "1") return bad();
    r.verified = values[6] == "1";
  }
  if (lines >= 6) {
    if (!absl::SimpleAtoi(values[4], &r.batch_size) || r.batch_size < 1 ||
        r.batch_size > kMaxBatch || !absl::SimpleAtoi(values[5], &r.pause_ms) ||
        r.pause_ms < 0 || r.pause_ms > kMaxPauseMs) {
      return bad();
    }
  }
  r.from = values[0];
  r.to = values[1];
  absl::StatusOr<SecretBytes> key = crypto::Base64Decode(values[2]);
  absl::StatusOr<SecretBytes> seal = crypto::Base64Decode(values[3]);
  if (!key.ok() || !seal.ok()) return bad();
  r.key.assign(key->span().begin(), key->span().end());
  r.next_seal.assign(reinterpret_cast<const char*>(seal->data()),
                     seal->size());
  return r;
}

std::vector<uint8_t> AadOf(const store::SealedRow& row) {
  switch (row.kind) {
    case store::SealedKind::kKeyMaterial:
      return keys::MaterialAad(row.ids[0], row.ids[1], row.ids[2]);
    case store::SealedKind::kImportToken:
      return keys::ImportTokenAad(row.ids[0], row.ids[1]);
    case store::SealedKind::kWebhookSecret:
      return keys::WebhookSecretAad(row.ids[0]);
    case store::SealedKind::kSigningKey:
      return keys::SigningKeyAad(row.ids[0]);
  }
  return {};
}

bool Holds(const seal::MasterKey& slot, std::string_view id) {
  for (const std::string& held : slot.ids()) {
    if (held == id) return true;
  }
  return false;
}

absl::Status Conflict(std::string_view why) {
  return DomainError(Reason::kConflict, why);
}

}  // namespace

RequestContext SealService::SystemContext() {
  RequestContext ctx;
  ctx.principal.id = "system";
  ctx.principal.is_admin = true;
  ctx.correlation_id = NewUuid();
  return ctx;
}

SealService::~SealService() {
  if (rekey_loop_ != nullptr) rekey_loop_->Stop();
}

absl::Status SealService::ResumeRekeyLocked() {
  if (options_.reseal == nullptr || slot_->sealed()) return absl::OkStatus();
  KW_ASSIGN_OR_RETURN(std::optional<std::string> text,
                      meta_->GetMeta(kRekeyMetaName));
  if (!text.has_value()) {
    rekey_.reset();
    verify_progress_.clear();
    return absl::OkStatus();
  }
  KW_ASSIGN_OR_RETURN(RekeyRecord r, ParseRekey(*text));
  if (!rekey_.has_value() || rekey_->to != r.to) verify_progress_.clear();
  if (!Holds(*slot_, r.from)) {
    return absl::FailedPreconditionError(StrCat(
        "a rekey from master key ", r.from, " to ", r.to,
        " is in progress, but this node holds neither"));
  }
  // Decrypt by id: `from` is held, so the resolver is not consulted.
  absl::StatusOr<SecretBytes> next =
      slot_->Decrypt(r.from, r.key, NextKeyAad(r.to));
  if (!next.ok()) {
    return absl::DataLossError(
        "the rekey record's next master key does not open under the "
        "current master key");
  }
  rekey_batch_ = r.batch_size;
  rekey_pause_ = absl::Milliseconds(r.pause_ms);
  if (!r.verified) {
    // Waits for its new shares (VerifyRekey): K' stays out of the slot.
    rekey_ = RekeyState{*text, r.from, r.to, r.next_seal, false};
    return absl::OkStatus();
  }
  if (options_.type == SealType::kFile && options_.file != nullptr) {
    absl::StatusOr<std::unique_ptr<seal::MasterKey>> staged =
        options_.file->LoadStaged();
    if (!staged.ok() || (*staged)->id() != r.to) {
      // Another node started the rekey (or a crash came before staging
      // here): this node's file needs the next key as well.
      KW_RETURN_IF_ERROR(options_.file->StageNext(r.to, next->span()));
    }
  }
  KW_RETURN_IF_ERROR(slot_->AddKey(r.to, next->span(), /*make_current=*/true));
  rekey_ = RekeyState{*text, r.from, r.to, r.next_seal, true};
  if (rekey_loop_ != nullptr) rekey_loop_->Wake();
  return absl::OkStatus();
}

absl::Status SealService::LearnKey(std::string_view key_id) {
  absl::MutexLock lock(&mu_);
  if (Holds(*slot_, key_id)) return absl::OkStatus();
  KW_RETURN_IF_ERROR(ResumeRekeyLocked());
  if (Holds(*slot_, key_id)) return absl::OkStatus();
  // A rekey finished elsewhere: the record names the key now.
  KW_ASSIGN_OR_RETURN(std::optional<SealRecord> record, ReadRecord());
  if (!record.has_value() || record->key_id != key_id) {
    return absl::NotFoundError("unknown master key id");
  }
  if (options_.type == SealType::kPkcs11 && options_.wrapper != nullptr) {
    KW_ASSIGN_OR_RETURN(SecretBytes key,
                        options_.wrapper->Unwrap(record->wrapped_key,
                                                 WrapAad(record->key_id)));
    KW_ASSIGN_OR_RETURN(std::unique_ptr<seal::MasterKey> candidate,
                        seal::MasterKey::Create(record->key_id, key.span()));
    KW_RETURN_IF_ERROR(seal::CheckVerifier(*record, *candidate));
    KW_RETURN_IF_ERROR(slot_->AddKey(record->key_id, key.span(), true));
    record_ = std::move(record);
    return absl::OkStatus();
  }
  if (options_.type == SealType::kFile && options_.file != nullptr) {
    absl::StatusOr<std::unique_ptr<seal::MasterKey>> staged =
        options_.file->LoadStaged();
    if (staged.ok() && (*staged)->id() == key_id) {
      KW_RETURN_IF_ERROR(seal::CheckVerifier(*record, **staged));
      KW_RETURN_IF_ERROR(slot_->InstallFrom(**staged));
      KW_RETURN_IF_ERROR(options_.file->PromoteStaged());
      record_ = std::move(record);
      return absl::OkStatus();
    }
  }
  return absl::NotFoundError("unknown master key id");
}

absl::Status SealService::RefreshKey() {
  std::string current;
  std::string stale;
  {
    absl::MutexLock lock(&mu_);
    if (slot_->sealed()) return seal::SealedError();
    // A rekey in progress: its next key becomes current here too.
    KW_RETURN_IF_ERROR(ResumeRekeyLocked());
    if (rekey_.has_value()) return absl::OkStatus();
    KW_ASSIGN_OR_RETURN(std::optional<SealRecord> record, ReadRecord());
    if (!record.has_value()) {
      return absl::FailedPreconditionError("the seal is not initialized");
    }
    current = record->key_id;
    stale = slot_->id();
  }
  if (current == stale) return absl::OkStatus();
  // A rekey finished on another node before this one heard of it.
  if (absl::Status learnt = LearnKey(current); !learnt.ok()) {
    return absl::FailedPreconditionError(StrCat(
        "a rekey on another node retired master key ", stale,
        " and this node cannot learn its successor ", current,
        "; restart it with the new key (docs/operations.md, Several nodes)"));
  }
  absl::MutexLock lock(&mu_);
  slot_->RetireKey(stale);
  return absl::OkStatus();
}

absl::StatusOr<RekeyResult> SealService::Rekey(const RequestContext& ctx,
                                               const RekeyOptions& options) {
  if (!ctx.principal.is_admin) {
    return DomainError(Reason::kForbidden,
                       "only administrators may rekey the master key");
  }
  if (options.batch_size.has_value() &&
      (*options.batch_size < 1 || *options.batch_size > kMaxBatch)) {
    return Error(Reason::kBadBody,
                 StrCat("Bad Request: `batchSize` must be 1 to ", kMaxBatch),
                 "batchSize");
  }
  if (options.pause.has_value() &&
      (*options.pause < absl::ZeroDuration() ||
       *options.pause > absl::Milliseconds(kMaxPauseMs))) {
    return Error(Reason::kBadBody,
                 StrCat("Bad Request: `pauseMs` must be 0 to ", kMaxPauseMs),
                 "pauseMs");
  }
  const bool shamir = options_.type == SealType::kShamir;
  if (!shamir &&
      (options.shares.has_value() || options.threshold.has_value())) {
    return Error(Reason::kBadBody,
                 StrCat("Bad Request: the ", seal::SealTypeName(options_.type),
                        " seal has no shares"),
                 options.shares.has_value() ? "shares" : "threshold");
  }
  RekeyResult result;
  {
    absl::MutexLock lock(&mu_);
    if (options_.reseal == nullptr) {
      return DomainError(Reason::kNotImplemented,
                         "this server cannot rekey");
    }
    if (slot_->sealed()) return Conflict("the server is sealed; unseal it");
    if (!record_.has_value()) return Conflict("the seal is not initialized");
    if (shamir) {
      const int shares = options.shares.value_or(record_->shares);
      const int threshold = options.threshold.value_or(record_->threshold);
      if (absl::Status s = seal::CheckShamirParameters(shares, threshold);
          !s.ok()) {
        return Error(Reason::kBadBody, StrCat("Bad Request: ", s.message()),
                     options.threshold.has_value() ? "threshold" : "shares");
      }
    }
    rekey_error_.clear();
    KW_RETURN_IF_ERROR(ResumeRekeyLocked());
    if (rekey_.has_value()) {
      if (options.shares.has_value() || options.threshold.has_value()) {
        return Conflict(
            "a rekey is in progress and its shares were shown when it "
            "started; verify it (`keywarden operator rekey --verify`) or "
            "cancel it (`--cancel`) and start again");
      }
      KW_RETURN_IF_ERROR(ResumeWithLocked(ctx, options));
    } else {
      KW_RETURN_IF_ERROR(StartRekeyLocked(ctx, options, &result));
    }
  }
  if (rekey_loop_ != nullptr) rekey_loop_->Wake();
  result.status = Status();
  return result;
}

absl::StatusOr<SealStatus> SealService::VerifyRekey(const RequestContext& ctx,
                                                    std::string_view share) {
  if (!ctx.principal.is_admin) {
    return DomainError(Reason::kForbidden,
                       "only administrators may verify a rekey's shares");
  }
  if (share.empty()) {
    return Error(Reason::kBadBody, "Bad Request: `share` is required", "share");
  }
  {
    absl::MutexLock lock(&mu_);
    if (options_.type != SealType::kShamir || options_.reseal == nullptr) {
      return Conflict(
          "only a rekey under the shamir seal has shares to verify");
    }
    if (slot_->sealed()) return Conflict("the server is sealed; unseal it");
    KW_RETURN_IF_ERROR(ResumeRekeyLocked());
    if (!rekey_.has_value()) return Conflict("no rekey is in progress");
    if (!rekey_->verified) {
      KW_ASSIGN_OR_RETURN(SealRecord next,
                          seal::ParseSealRecord(rekey_->next_seal_text));
      absl::StatusOr<seal::Share> decoded =
          seal::DecodeShare(share, next.key_id, next.share_check_key);
      if (!decoded.ok()) {
        return Error(Reason::kBadBody,
                     StrCat("Bad Request: ", decoded.status().message(),
                            " (a share of the new set, shown when the rekey "
                            "started, is needed); the shares entered so far "
                            "are kept"),
                     "share");
      }
      if (verify_progress_.contains(decoded->index)) {
        return Conflict(StrCat("share ", decoded->index,
                               " was already entered; enter another"));
      }
      const uint8_t index = decoded->index;
      verify_progress_.emplace(index, *std::move(decoded));
      if (static_cast<int>(verify_progress_.size()) >= next.threshold) {
        std::vector<seal::Share> shares;
        for (auto& [i, s] : verify_progress_) shares.push_back(std::move(s));
        verify_progress_.clear();
        absl::StatusOr<SecretBytes> key = seal::ShamirCombine(shares);
        absl::Status good = key.status();
        if (key.ok()) {
          absl::StatusOr<std::unique_ptr<seal::MasterKey>> candidate =
              seal::MasterKey::Create(next.key_id, key->span());
          good = candidate.ok() ? seal::CheckVerifier(next, **candidate)
                                : candidate.status();
        }
        if (!good.ok()) {
          return Conflict(
              "the shares entered do not give the rekey's new master key; "
              "progress was reset, enter the new shares again");
        }
        KW_ASSIGN_OR_RETURN(RekeyRecord r, ParseRekey(rekey_->record_text));
        r.verified = true;
        const std::string text = EncodeRekey(r);
        KW_ASSIGN_OR_RETURN(
            bool swapped, options_.reseal->SwapMeta(kRekeyMetaName,
                                                    rekey_->record_text, text));
        if (!swapped) {
          // Another node verified it (or changed its settings) meanwhile.
          KW_RETURN_IF_ERROR(ResumeRekeyLocked());
          if (rekey_.has_value() && !rekey_->verified) {
            return Conflict(
                "the rekey record changed meanwhile; enter the "
                "new shares again");
          }
        } else {
          KW_RETURN_IF_ERROR(options_.reseal->AppendAudit(MakeAudit(
              ctx, clock_->Now(), "kms.masterkey.rekey.verify",
              StrCat("masterkey:", r.from),
              StrCat("the ", next.threshold, "-of-", next.shares,
                     " shares of master key ", r.to, " were verified"))));
          // Installs K' as the current key: the batches may run.
          rekey_.reset();
          KW_RETURN_IF_ERROR(ResumeRekeyLocked());
        }
      }
    }
  }
  if (rekey_loop_ != nullptr) rekey_loop_->Wake();
  return Status();
}

absl::StatusOr<SealStatus> SealService::CancelRekey(const RequestContext& ctx) {
  if (!ctx.principal.is_admin) {
    return DomainError(Reason::kForbidden,
                       "only administrators may cancel a rekey");
  }
  {
    absl::MutexLock lock(&mu_);
    if (options_.reseal == nullptr) {
      return DomainError(Reason::kNotImplemented, "this server cannot rekey");
    }
    if (slot_->sealed()) return Conflict("the server is sealed; unseal it");
    KW_RETURN_IF_ERROR(ResumeRekeyLocked());
    if (!rekey_.has_value()) return Conflict("no rekey is in progress");
    if (rekey_->verified) {
      return Conflict(
          "the rekey's new key is verified and rows are being re-sealed "
          "under it; it cannot be cancelled, let it finish");
    }
    // Nothing is sealed under the next key before verification: deleting
    // the record discards it. Then `master_keys` names the current key
    // alone again (a crash between the two leaves `from,to`, which only
    // allows a key nobody holds).
    KW_ASSIGN_OR_RETURN(bool deleted,
                        options_.reseal->SwapMeta(
                            kRekeyMetaName, rekey_->record_text, std::nullopt));
    if (!deleted) return Conflict("the rekey record changed meanwhile; retry");
    const RekeyState cancelled = *rekey_;
    rekey_.reset();
    verify_progress_.clear();
    KW_RETURN_IF_ERROR(options_.reseal
                           ->SwapMeta(store::kMasterKeysMetaName,
                                      StrCat(cancelled.from, ",", cancelled.to),
                                      cancelled.from)
                           .status());
    KW_RETURN_IF_ERROR(options_.reseal->AppendAudit(
        MakeAudit(ctx, clock_->Now(), "kms.masterkey.rekey.cancel",
                  StrCat("masterkey:", cancelled.from),
                  StrCat("master key ", cancelled.to,
                         " discarded before verification"))));
  }
  return Status();
}

void SealService::FillRekeyStatus(std::string_view record_text,
                                  SealStatus& s) const {
  absl::StatusOr<RekeyRecord> r = ParseRekey(record_text);
  if (!r.ok()) return;
  s.rekey_verified = r->verified;
  if (absl::StatusOr<SealRecord> next = seal::ParseSealRecord(r->next_seal);
      next.ok() && next->type == SealType::kShamir) {
    s.rekey_shares = next->shares;
    s.rekey_threshold = next->threshold;
  }
}

absl::Status SealService::StartRekeyLocked(const RequestContext& ctx,
                                           const RekeyOptions& options,
                                           RekeyResult* result) {
  // The next key first reaches the seal's own storage (the file seal's
  // master.key.next), then the database names it.
  const SecretBytes next = crypto::RandomSecret(kMasterKeySize);
  RekeyRecord r;
  r.from = record_->key_id;
  r.to = NewUuid();
  r.batch_size = options.batch_size.value_or(kDefaultBatch);
  r.pause_ms = absl::ToInt64Milliseconds(
      options.pause.value_or(absl::ZeroDuration()));
  if (slot_->id() != r.from) {
    return absl::InternalError("the slot's key is not the seal record's");
  }
  KW_ASSIGN_OR_RETURN(std::unique_ptr<seal::MasterKey> candidate,
                      seal::MasterKey::Create(r.to, next.span()));
  SealRecord next_record;
  next_record.type = options_.type;
  next_record.key_id = r.to;
  KW_ASSIGN_OR_RETURN(next_record.verifier, seal::MakeVerifier(*candidate));
  if (options_.type == SealType::kPkcs11) {
    KW_ASSIGN_OR_RETURN(next_record.wrapped_key,
                        options_.wrapper->Wrap(next.span(), WrapAad(r.to)));
  }
  std::vector<seal::Share> split;
  if (options_.type == SealType::kShamir) {
    // A new share set with a check key of its own: a share of the old set
    // is refused after the finish as one "of an earlier init".
    next_record.shares = options.shares.value_or(record_->shares);
    next_record.threshold = options.threshold.value_or(record_->threshold);
    const SecretBytes check_key = crypto::RandomSecret(kShareCheckKeySize);
    next_record.share_check_key.assign(check_key.span().begin(),
                                       check_key.span().end());
    KW_ASSIGN_OR_RETURN(split,
                        seal::ShamirSplit(next.span(), next_record.shares,
                                          next_record.threshold));
    r.verified = false;
  }
  r.next_seal = seal::EncodeSealRecord(next_record);
  KW_ASSIGN_OR_RETURN(r.key, slot_->Encrypt(next.span(), NextKeyAad(r.to)));
  if (options_.type == SealType::kFile) {
    KW_RETURN_IF_ERROR(options_.file->StageNext(r.to, next.span()));
  }
  const std::string text = EncodeRekey(r);
  std::string what = StrCat("to master key ", r.to, ", batch size ",
                            r.batch_size, ", pause ", r.pause_ms, " ms");
  if (!r.verified) {
    StrAppend(&what, ", new shares ", next_record.threshold, " of ",
              next_record.shares, ", to be verified");
  }
  const iam::AuditRecord audit =
      MakeAudit(ctx, clock_->Now(), "kms.masterkey.rekey.start",
                StrCat("masterkey:", r.from), what);
  KW_ASSIGN_OR_RETURN(bool created,
                      options_.reseal->StartRekey(kRekeyMetaName, text, r.from,
                                                  r.to, audit));
  if (!created) {
    // Another node started one meanwhile: join it.
    KW_RETURN_IF_ERROR(ResumeRekeyLocked());
    return ResumeWithLocked(ctx, options);
  }
  verify_progress_.clear();
  if (r.verified) {
    KW_RETURN_IF_ERROR(slot_->AddKey(r.to, next.span(), true));
  } else {
    result->threshold = next_record.threshold;
    result->key_id = r.to;
    for (const seal::Share& share : split) {
      result->shares.push_back(
          seal::EncodeShare(share, r.to, next_record.share_check_key));
    }
  }
  rekey_ = RekeyState{text, r.from, r.to, r.next_seal, r.verified};
  rekey_batch_ = r.batch_size;
  rekey_pause_ = absl::Milliseconds(r.pause_ms);
  return absl::OkStatus();
}

absl::Status SealService::ResumeWithLocked(const RequestContext& ctx,
                                           const RekeyOptions& options) {
  if (!rekey_.has_value()) return absl::OkStatus();
  KW_ASSIGN_OR_RETURN(RekeyRecord r, ParseRekey(rekey_->record_text));
  r.batch_size = options.batch_size.value_or(r.batch_size);
  r.pause_ms = options.pause.has_value()
                   ? absl::ToInt64Milliseconds(*options.pause)
                   : r.pause_ms;
  const std::string text = EncodeRekey(r);
  if (text != rekey_->record_text) {
    // New settings: recorded, so that a restart keeps them. A record that
    // changed meanwhile (another node's resume) wins; this call retries.
    KW_ASSIGN_OR_RETURN(bool swapped,
                        options_.reseal->SwapMeta(kRekeyMetaName,
                                                  rekey_->record_text, text));
    if (!swapped) {
      return Conflict("the rekey record changed meanwhile; retry");
    }
    rekey_->record_text = text;
    rekey_batch_ = r.batch_size;
    rekey_pause_ = absl::Milliseconds(r.pause_ms);
  }
  return options_.reseal->AppendAudit(MakeAudit(
      ctx, clock_->Now(), "kms.masterkey.rekey.resume",
      StrCat("masterkey:", r.from),
      StrCat("to master key ", r.to, ", batch size ", r.batch_size,
             ", pause ", r.pause_ms, " ms")));
}

absl::StatusOr<bool> SealService::RekeyStep() {
  absl::MutexLock step(&step_mu_);
  RekeyState state;
  int batch = 0;
  {
    absl::MutexLock lock(&mu_);
    // Sealed: nothing to do until an unseal resumes the rekey (and wakes
    // the thread).
    if (!rekey_.has_value() || slot_->sealed()) return true;
    // Not verified: nothing may be sealed under the next key yet.
    if (!rekey_->verified) return true;
    state = *rekey_;
    batch = rekey_batch_;
  }
  store::ResealStore* store = options_.reseal;
  KW_ASSIGN_OR_RETURN(std::vector<store::SealedRow> rows,
                      store->ListSealedRows(state.to, batch));
  if (!rows.empty()) {
    std::vector<store::Resealed> resealed;
    resealed.reserve(rows.size());
    for (store::SealedRow& row : rows) {
      const std::vector<uint8_t> aad = AadOf(row);
      absl::StatusOr<SecretBytes> plain =
          slot_->Decrypt(row.master_key_id, row.sealed, aad);
      if (!plain.ok()) {
        // A row that does not open stops the rekey where it is (its old
        // key must not be retired); the status names the row's kind.
        return absl::DataLossError(StrCat(
            "a sealed row (", row.ids.empty() ? "" : row.ids.back(),
            ") does not open under master key ", row.master_key_id,
            "; the rekey stops here"));
      }
      KW_ASSIGN_OR_RETURN(std::vector<uint8_t> sealed,
                          slot_->Encrypt(state.to, plain->span(), aad));
      resealed.push_back(store::Resealed{std::move(row), state.to,
                                         std::move(sealed)});
    }
    KW_RETURN_IF_ERROR(store->ResealRows(resealed).status());
    return false;
  }
  const iam::AuditRecord audit = MakeAudit(
      SystemContext(), clock_->Now(), "kms.masterkey.rekey.finish",
      StrCat("masterkey:", state.to), StrCat("from master key ", state.from));
  KW_ASSIGN_OR_RETURN(bool finished,
                      store->FinishRekey(state.to, kMetaName,
                                         state.next_seal_text, kRekeyMetaName,
                                         state.record_text, audit));
  if (!finished) {
    // Rows appeared meanwhile (a node still writing under the old key),
    // another node finished, or another node's resume changed the
    // record's settings: look again.
    absl::MutexLock lock(&mu_);
    KW_ASSIGN_OR_RETURN(std::optional<std::string> text,
                        meta_->GetMeta(kRekeyMetaName));
    if (text.has_value()) {
      if (rekey_.has_value() && *text != rekey_->record_text) {
        KW_ASSIGN_OR_RETURN(RekeyRecord r, ParseRekey(*text));
        if (r.to == rekey_->to) {
          rekey_->record_text = *text;
          rekey_batch_ = r.batch_size;
          rekey_pause_ = absl::Milliseconds(r.pause_ms);
        }
      }
      return false;
    }
  }
  {
    absl::MutexLock lock(&mu_);
    KW_ASSIGN_OR_RETURN(record_, ReadRecord());
    if (options_.type == SealType::kFile && options_.file != nullptr) {
      KW_RETURN_IF_ERROR(options_.file->PromoteStaged());
    }
    slot_->RetireKey(state.from);
    rekey_.reset();
    rekey_error_.clear();
    verify_progress_.clear();
  }
  if (on_rekeyed_) on_rekeyed_();
  return true;
}

absl::Duration SealService::RekeyLoopBody() {
  absl::StatusOr<bool> done = RekeyStep();
  absl::MutexLock lock(&mu_);
  if (!done.ok()) {
    rekey_error_ = std::string(done.status().message());
    return absl::Seconds(5);
  }
  rekey_error_.clear();
  if (*done) return absl::Hours(1);
  return rekey_pause_;
}

void SealService::StartRekeyThread() {
  if (options_.reseal == nullptr || rekey_loop_ != nullptr) return;
  rekey_loop_ = std::make_unique<BackgroundLoop>([this] { return RekeyLoopBody(); });
  rekey_loop_->Start();
}

}  // namespace keywarden::service
