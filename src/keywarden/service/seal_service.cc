#include "keywarden/service/seal_service.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "keywarden/common/errors.h"
#include "keywarden/common/ids.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"
#include "keywarden/crypto/random.h"

namespace keywarden::service {
namespace {

using seal::SealRecord;
using seal::SealType;

constexpr size_t kMasterKeySize = 32;
constexpr size_t kShareCheckKeySize = 32;

std::vector<uint8_t> WrapAad(std::string_view key_id) {
  constexpr std::string_view kLabel = "keywarden wrapped master key";
  std::vector<uint8_t> aad(kLabel.begin(), kLabel.end());
  aad.push_back(0);
  aad.insert(aad.end(), key_id.begin(), key_id.end());
  return aad;
}

absl::Status NotAdmin(std::string_view what) {
  return DomainError(Reason::kForbidden,
                     StrCat("only administrators may ", what));
}

}  // namespace

SealService::SealService(store::Store* meta, seal::MasterKey* slot,
                         SealServiceOptions options)
    : meta_(meta), slot_(slot), options_(std::move(options)) {
  static const SystemClock kSystemClock;
  clock_ = options_.clock != nullptr ? options_.clock : &kSystemClock;
  // A row sealed under a key this node has not met: a rekey another node
  // started (seal_rekey.cc).
  if (options_.reseal != nullptr) {
    slot_->set_resolver(
        [this](std::string_view key_id) { return LearnKey(key_id); });
    slot_->set_refresher([this] { return RefreshKey(); });
  }
}

absl::StatusOr<std::optional<SealRecord>> SealService::ReadRecord() const {
  KW_ASSIGN_OR_RETURN(std::optional<std::string> text,
                      meta_->GetMeta(kMetaName));
  if (!text.has_value()) return std::optional<SealRecord>();
  KW_ASSIGN_OR_RETURN(SealRecord record, seal::ParseSealRecord(*text));
  return std::optional<SealRecord>(std::move(record));
}

absl::Status SealService::Start() {
  absl::MutexLock lock(&mu_);
  KW_ASSIGN_OR_RETURN(record_, ReadRecord());
  if (record_.has_value() && record_->type != options_.type) {
    const std::string_view recorded = seal::SealTypeName(record_->type);
    return absl::FailedPreconditionError(StrCat(
        "this database's master key is held by the ", recorded,
        " seal, but this node was started with --seal ",
        seal::SealTypeName(options_.type), "; start it with --seal ",
        recorded));
  }
  if (options_.type == SealType::kShamir) return absl::OkStatus();
  KW_RETURN_IF_ERROR(AutoUnsealLocked());
  return ResumeRekeyAuditedLocked();
}

absl::Status SealService::ResumeRekeyAuditedLocked() {
  const bool running = rekey_.has_value();
  KW_RETURN_IF_ERROR(ResumeRekeyLocked());
  if (running || !rekey_.has_value()) return absl::OkStatus();
  // This node takes up a rekey a crash (or a seal) interrupted.
  return ResumeWithLocked(SystemContext(), RekeyOptions());
}

absl::Status SealService::InstallChecked(const SealRecord& record,
                                         std::string_view key_id,
                                         std::span<const uint8_t> key) {
  KW_ASSIGN_OR_RETURN(std::unique_ptr<seal::MasterKey> candidate,
                      seal::MasterKey::Create(std::string(key_id), key));
  KW_RETURN_IF_ERROR(seal::CheckVerifier(record, *candidate));
  return slot_->InstallFrom(*candidate);
}

absl::Status SealService::AutoUnsealLocked() {
  if (options_.type == SealType::kFile) {
    if (options_.file == nullptr) {
      return absl::FailedPreconditionError("the file seal is not configured");
    }
    KW_ASSIGN_OR_RETURN(std::unique_ptr<seal::MasterKey> key,
                        options_.file->Unseal());
    if (record_.has_value() && key->id() != record_->key_id) {
      // A rekey finished (its record names the new key) before this node
      // put the staged key in place of master.key: finish that step.
      absl::StatusOr<std::unique_ptr<seal::MasterKey>> staged =
          options_.file->LoadStaged();
      if (staged.ok() && (*staged)->id() == record_->key_id) {
        KW_RETURN_IF_ERROR(seal::CheckVerifier(*record_, **staged));
        KW_RETURN_IF_ERROR(options_.file->PromoteStaged());
        key = *std::move(staged);
      }
    }
    if (!record_.has_value()) {
      // A database from before seal records, or a new one: record the key
      // the file holds, so another node's other key is refused.
      SealRecord record;
      record.type = SealType::kFile;
      record.key_id = key->id();
      KW_ASSIGN_OR_RETURN(record.verifier, seal::MakeVerifier(*key));
      KW_ASSIGN_OR_RETURN(bool created,
                          meta_->PutMetaIfAbsent(
                              kMetaName, seal::EncodeSealRecord(record)));
      if (created) {
        record_ = std::move(record);
      } else {
        KW_ASSIGN_OR_RETURN(record_, ReadRecord());  // another node won
      }
    }
    KW_RETURN_IF_ERROR(seal::CheckVerifier(*record_, *key));
    return slot_->InstallFrom(*key);
  }
  // pkcs11
  if (options_.wrapper == nullptr) {
    return absl::FailedPreconditionError("the pkcs11 seal is not configured");
  }
  if (!record_.has_value()) {
    const SecretBytes key = crypto::RandomSecret(kMasterKeySize);
    SealRecord record;
    record.type = SealType::kPkcs11;
    record.key_id = NewUuid();
    KW_ASSIGN_OR_RETURN(record.wrapped_key,
                        options_.wrapper->Wrap(key.span(), WrapAad(record.key_id)));
    KW_ASSIGN_OR_RETURN(std::unique_ptr<seal::MasterKey> candidate,
                        seal::MasterKey::Create(record.key_id, key.span()));
    KW_ASSIGN_OR_RETURN(record.verifier, seal::MakeVerifier(*candidate));
    KW_ASSIGN_OR_RETURN(bool created,
                        meta_->PutMetaIfAbsent(kMetaName,
                                               seal::EncodeSealRecord(record)));
    if (created) {
      record_ = std::move(record);
      return slot_->InstallFrom(*candidate);
    }
    KW_ASSIGN_OR_RETURN(record_, ReadRecord());  // another node won
    if (record_->type != SealType::kPkcs11) {
      return absl::FailedPreconditionError(
          "another node initialized this database with another seal");
    }
  }
  absl::StatusOr<SecretBytes> key = options_.wrapper->Unwrap(
      record_->wrapped_key, WrapAad(record_->key_id));
  if (!key.ok()) {
    return absl::FailedPreconditionError(StrCat(
        "the PKCS#11 key does not unwrap this database's master key (id ",
        record_->key_id, "): every node on one database needs the same "
        "token key (", key.status().message(), ")"));
  }
  return InstallChecked(*record_, record_->key_id, key->span());
}

SealStatus SealService::StatusLocked() const {
  SealStatus s;
  s.type = options_.type;
  s.initialized = record_.has_value();
  s.sealed = slot_->sealed();
  if (record_.has_value()) {
    s.key_id = record_->key_id;
    s.shares = record_->shares;
    s.threshold = record_->threshold;
  }
  s.progress = static_cast<int>(progress_.size());
  return s;
}

SealStatus SealService::Status() const {
  SealStatus s;
  // The rekey this node runs stays in progress until its last step (the
  // new seal record read, the staged file promoted, the old key retired)
  // is done here, though the database's record goes one step earlier.
  std::optional<std::string> running_to;
  int verify_progress = 0;
  {
    absl::MutexLock lock(&mu_);
    s = StatusLocked();
    s.rekey_error = rekey_error_;
    if (rekey_.has_value()) running_to = rekey_->to;
    verify_progress = static_cast<int>(verify_progress_.size());
  }
  if (options_.reseal == nullptr) return s;
  // From the database, so that every node shows a rekey another runs.
  absl::StatusOr<std::optional<std::string>> text =
      meta_->GetMeta(kRekeyMetaName);
  std::string_view t;
  size_t at = std::string_view::npos;
  if (text.ok() && text->has_value()) {
    t = **text;
    at = t.find("\nto=");
  }
  if (at != std::string_view::npos) {
    s.rekey_to = std::string(t.substr(at + 4, 36));
    FillRekeyStatus(t, s);
    if (!s.rekey_verified) s.rekey_verify_progress = verify_progress;
  } else if (running_to.has_value()) {
    s.rekey_to = *running_to;
  } else {
    return s;
  }
  s.rekey_in_progress = true;
  absl::StatusOr<int64_t> remaining =
      options_.reseal->CountSealedRows(s.rekey_to);
  if (remaining.ok()) s.rekey_remaining = *remaining;
  return s;
}

absl::StatusOr<SealInitResult> SealService::Init(const RequestContext& ctx,
                                                 int shares, int threshold) {
  if (!ctx.principal.is_admin) return NotAdmin("initialize the seal");
  absl::MutexLock lock(&mu_);
  if (options_.type != SealType::kShamir) {
    return DomainError(Reason::kConflict,
                 StrCat("this server uses the ",
                        seal::SealTypeName(options_.type),
                        " seal, which needs no init (init makes Shamir "
                        "shares)"));
  }
  if (record_.has_value()) {
    return DomainError(Reason::kConflict,
                       "the seal is already initialized; its shares were "
                       "shown once, at init");
  }
  if (absl::Status s = seal::CheckShamirParameters(shares, threshold);
      !s.ok()) {
    return Error(Reason::kBadBody, StrCat("Bad Request: ", s.message()));
  }
  const SecretBytes key = crypto::RandomSecret(kMasterKeySize);
  SealRecord record;
  record.type = SealType::kShamir;
  record.key_id = NewUuid();
  record.shares = shares;
  record.threshold = threshold;
  const SecretBytes check_key = crypto::RandomSecret(kShareCheckKeySize);
  record.share_check_key.assign(check_key.span().begin(),
                                check_key.span().end());
  KW_ASSIGN_OR_RETURN(std::unique_ptr<seal::MasterKey> candidate,
                      seal::MasterKey::Create(record.key_id, key.span()));
  KW_ASSIGN_OR_RETURN(record.verifier, seal::MakeVerifier(*candidate));
  KW_ASSIGN_OR_RETURN(std::vector<seal::Share> split,
                      seal::ShamirSplit(key.span(), shares, threshold));
  SealInitResult result;
  result.threshold = threshold;
  result.key_id = record.key_id;
  for (const seal::Share& share : split) {
    result.shares.push_back(
        seal::EncodeShare(share, record.key_id, record.share_check_key));
  }
  KW_ASSIGN_OR_RETURN(bool created,
                      meta_->PutMetaIfAbsent(kMetaName,
                                             seal::EncodeSealRecord(record)));
  if (!created) {
    // Another node initialized the database meanwhile; its shares count.
    for (std::string& s : result.shares) WipeString(s);
    KW_ASSIGN_OR_RETURN(record_, ReadRecord());
    return DomainError(Reason::kConflict,
                       "another node initialized the seal meanwhile");
  }
  record_ = std::move(record);
  // The server stays sealed: entering T of the shares is the proof that
  // they were kept.
  return result;
}

void SealService::ClearProgressLocked() { progress_.clear(); }

absl::StatusOr<SealStatus> SealService::Unseal(const RequestContext& ctx,
                                               std::string_view share) {
  bool changed = false;
  SealStatus status;
  {
    absl::MutexLock lock(&mu_);
    if (options_.type != SealType::kShamir) {
      if (!share.empty()) {
        return Error(Reason::kBadBody,
                     StrCat("Bad Request: the ",
                            seal::SealTypeName(options_.type),
                            " seal takes no shares"));
      }
      if (!ctx.principal.is_admin) return NotAdmin("unseal this server");
      if (slot_->sealed()) {
        KW_RETURN_IF_ERROR(AutoUnsealLocked());
        KW_RETURN_IF_ERROR(ResumeRekeyAuditedLocked());
        changed = true;
      }
      status = StatusLocked();
    } else {
      if (!record_.has_value()) {
        return DomainError(Reason::kConflict,
                           "the seal is not initialized; run `keywarden "
                           "operator init`");
      }
      if (!slot_->sealed()) return StatusLocked();
      if (share.empty()) {
        return Error(Reason::kBadBody, "Bad Request: `share` is required",
                     "share");
      }
      absl::StatusOr<seal::Share> decoded = seal::DecodeShare(
          share, record_->key_id, record_->share_check_key);
      if (!decoded.ok()) {
        return Error(Reason::kBadBody,
                     StrCat("Bad Request: ", decoded.status().message(),
                            "; the shares entered so far are kept"),
                     "share");
      }
      if (progress_.contains(decoded->index)) {
        return DomainError(Reason::kConflict,
                     StrCat("share ", decoded->index,
                            " was already entered; enter another"));
      }
      const uint8_t index = decoded->index;
      progress_.emplace(index, *std::move(decoded));
      if (static_cast<int>(progress_.size()) >= record_->threshold) {
        std::vector<seal::Share> shares;
        for (auto& [i, s] : progress_) shares.push_back(std::move(s));
        ClearProgressLocked();
        absl::StatusOr<SecretBytes> key = seal::ShamirCombine(shares);
        absl::Status installed =
            key.ok() ? InstallChecked(*record_, record_->key_id, key->span())
                     : key.status();
        if (!installed.ok()) {
          // Checked shares that still do not give the key: the record was
          // changed under us. Nothing tells which share is wrong.
          return DomainError(Reason::kConflict,
                             "the shares entered do not give this "
                             "database's master key; progress was reset, "
                             "enter the shares again");
        }
        // A rekey a restart interrupted (verified or not) goes on; its
        // failure is shown in the status, the unseal stands.
        if (absl::Status resumed = ResumeRekeyAuditedLocked(); !resumed.ok()) {
          rekey_error_ = std::string(resumed.message());
        }
        changed = true;
      }
      status = StatusLocked();
    }
  }
  if (changed) Changed(false);
  return status;
}

absl::StatusOr<SealStatus> SealService::Seal(const RequestContext& ctx) {
  if (!ctx.principal.is_admin) return NotAdmin("seal this server");
  SealStatus status;
  {
    absl::MutexLock lock(&mu_);
    slot_->Wipe();
    ClearProgressLocked();
    status = StatusLocked();
  }
  Changed(true);
  return status;
}

void SealService::Changed(bool now_sealed) {
  if (on_change_) on_change_(now_sealed);
}

}  // namespace keywarden::service
