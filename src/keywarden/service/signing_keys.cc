#include "keywarden/service/signing_keys.h"

#include <utility>

#include "keywarden/common/ids.h"
#include "keywarden/common/secret_bytes.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/keys/envelope.h"
#include "keywarden/service/sealed_write.h"

namespace keywarden::service {

SigningKeySet::SigningKeySet(store::IdentityStore* store,
                             const seal::MasterKey* master_key,
                             const Clock* clock, TokenOptions options)
    : store_(store),
      master_key_(master_key),
      clock_(clock),
      options_(std::move(options)) {}

absl::Status SigningKeySet::Start() {
  absl::MutexLock lock(&mu_);
  absl::Status loaded = Load(clock_->Now());
  // Sealed (a Shamir seal starts so): the public keys verify already; the
  // signing key is unsealed on the first token issued after the unseal.
  if (!loaded.ok() && !seal::IsSealedError(loaded)) return loaded;
  return absl::OkStatus();
}

void SigningKeySet::Drop() {
  absl::MutexLock lock(&mu_);
  current_.reset();
}

absl::Status SigningKeySet::Reload() {
  KW_ASSIGN_OR_RETURN(auto signing_keys, store_->ListSigningKeys());
  for (const iam::SigningKeyRecord& k : signing_keys) {
    KW_RETURN_IF_ERROR(verifier_.AddKey(k.kid, k.public_key_der));
  }
  return absl::OkStatus();
}

absl::Status SigningKeySet::Load(absl::Time now) {
  KW_ASSIGN_OR_RETURN(auto signing_keys, store_->ListSigningKeys());
  for (const iam::SigningKeyRecord& k : signing_keys) {
    if (now > k.retire_time + options_.token_lifetime) {
      (void)store_->DeleteSigningKey(k.kid);  // nothing it signed is valid
      continue;
    }
    KW_RETURN_IF_ERROR(verifier_.AddKey(k.kid, k.public_key_der));
    if (now < k.retire_time &&
        (current_ == nullptr || k.retire_time > current_retire_)) {
      // The AAD binds the sealed blob to its kid.
      KW_ASSIGN_OR_RETURN(
          SecretBytes der,
          master_key_->Decrypt(k.master_key_id, k.sealed_private_key,
                               keys::SigningKeyAad(k.kid)));
      KW_ASSIGN_OR_RETURN(iam::SigningKey key,
                          iam::SigningKey::FromPkcs8Der(k.kid, der.span()));
      current_ = std::make_shared<const iam::SigningKey>(std::move(key));
      current_retire_ = k.retire_time;
    }
  }
  if (current_ == nullptr) KW_RETURN_IF_ERROR(Create(now));
  return absl::OkStatus();
}

absl::Status SigningKeySet::Create(absl::Time now) {
  KW_ASSIGN_OR_RETURN(iam::SigningKey key, iam::SigningKey::Generate(NewUuid()));
  iam::SigningKeyRecord record;
  record.kid = key.kid();
  record.algorithm = "ES256";
  SecretBytes der = key.Pkcs8Der();
  record.public_key_der = key.PublicKeyDer();
  record.creation_time = now;
  record.retire_time = now + options_.signing_key_lifetime;
  // Sealed and stored under the database's current master key; a node that
  // missed a rekey learns the new key and seals once more (sealed_write.h).
  KW_RETURN_IF_ERROR(WithCurrentMasterKey(*master_key_, [&]() -> absl::Status {
    record.master_key_id = master_key_->id();
    KW_ASSIGN_OR_RETURN(record.sealed_private_key,
                        master_key_->Encrypt(record.master_key_id, der.span(),
                                             keys::SigningKeyAad(key.kid())));
    return store_->PutSigningKey(record);
  }));
  KW_RETURN_IF_ERROR(verifier_.AddKey(record.kid, record.public_key_der));
  current_ = std::make_shared<const iam::SigningKey>(std::move(key));
  current_retire_ = record.retire_time;
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const iam::SigningKey>>
SigningKeySet::Current() {
  absl::MutexLock lock(&mu_);
  absl::Time now = clock_->Now();
  if (current_ == nullptr) KW_RETURN_IF_ERROR(Load(now));
  if (now >= current_retire_) {
    // The old key keeps verifying (it stays in the verifier) until its last
    // token has expired; Start() drops it from the store after that.
    KW_RETURN_IF_ERROR(Create(now));
  }
  return current_;
}

}  // namespace keywarden::service
