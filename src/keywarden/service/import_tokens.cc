#include "keywarden/service/import_tokens.h"

#include <utility>

#include "keywarden/common/errors.h"
#include "keywarden/common/ids.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"
#include "keywarden/crypto/aes_gcm.h"
#include "keywarden/crypto/random.h"
#include "keywarden/crypto/rsa_oaep.h"
#include "keywarden/keys/envelope.h"
#include "keywarden/keys/rules.h"
#include "keywarden/service/audit.h"
#include "keywarden/service/sealed_write.h"
#include "keywarden/service/fields.h"

namespace keywarden::service {
namespace {

// keyprotect-api.md §8.1.
constexpr int64_t kMinExpirationSeconds = 300;
constexpr int64_t kMaxExpirationSeconds = 86400;
constexpr int64_t kDefaultExpirationSeconds = 600;
constexpr int64_t kMinRetrievals = 1;
constexpr int64_t kMaxRetrievals = 500;
constexpr int64_t kDefaultRetrievals = 1;
constexpr size_t kNonceSize = 12;

absl::Status TokenExpired(std::string_view detail) {
  return DomainError(Reason::kImportTokenExpired, detail);
}

ImportTokenResult InfoOf(const store::ImportToken& t) {
  ImportTokenResult r;
  r.id = t.id;
  r.creation_time = t.creation_time;
  r.expiration_time = t.expiration_time;
  r.max_retrievals = t.max_retrievals;
  r.remaining_retrievals = t.remaining_retrievals;
  return r;
}

}  // namespace

ImportTokenManager::ImportTokenManager(store::Store* store,
                                       const seal::MasterKey* master_key,
                                       const AccessControl* access,
                                       const Clock* clock,
                                       ImportTokenOptions options)
    : store_(store),
      master_key_(master_key),
      access_(access),
      clock_(clock),
      options_(options) {}

absl::StatusOr<ImportTokenResult> ImportTokenManager::Create(
    const RequestContext& ctx, const CreateImportTokenRequest& req) {
  KW_RETURN_IF_ERROR(
      access_->Authorize(ctx, iam::Operation::kImportToken).status());
  const int64_t expiration =
      req.expiration_seconds.value_or(kDefaultExpirationSeconds);
  if (expiration < kMinExpirationSeconds || expiration > kMaxExpirationSeconds) {
    return BadField("expiration",
                    StrCat("a number of seconds from ", kMinExpirationSeconds,
                           " to ", kMaxExpirationSeconds));
  }
  const int64_t retrievals = req.max_retrievals.value_or(kDefaultRetrievals);
  if (retrievals < kMinRetrievals || retrievals > kMaxRetrievals) {
    return BadField("maxAllowedRetrievals",
                    StrCat("an integer from ", kMinRetrievals, " to ",
                           kMaxRetrievals));
  }

  // The slow part: about a second of CPU for RSA-4096.
  KW_ASSIGN_OR_RETURN(crypto::RsaKeyPair pair,
                      crypto::GenerateRsaKeyPair(options_.rsa_bits));
  store::ImportToken token;
  token.instance_id = ctx.instance_id;
  token.id = NewUuid();
  // Times are whole microseconds, as the store keeps them.
  token.creation_time =
      absl::FromUnixMicros(absl::ToUnixMicros(clock_->Now()));
  token.expiration_time = token.creation_time + absl::Seconds(expiration);
  token.max_retrievals = retrievals;
  token.remaining_retrievals = retrievals;
  token.nonce.resize(kNonceSize);
  crypto::RandomBytes(token.nonce);
  token.public_key_pem = std::move(pair.public_key_pem);
  token.created_by = ctx.principal.id;
  KW_RETURN_IF_ERROR(WithCurrentMasterKey(*master_key_, [&]() -> absl::Status {
    token.master_key_id = master_key_->id();
    KW_ASSIGN_OR_RETURN(
        token.sealed_private_key,
        master_key_->Encrypt(token.master_key_id, pair.private_key_der.span(),
                             keys::ImportTokenAad(token.instance_id, token.id)));
    return store_->PutImportToken(
        token, MakeAudit(ctx, token.creation_time, "kms.importtoken.create",
                         StrCat("instance:", token.instance_id),
                         StrCat("token ", token.id, ", expires ",
                                AuditTime(token.expiration_time), ", ",
                                retrievals, " retrievals")));
  }));
  return InfoOf(token);
}

absl::StatusOr<ImportTokenResult> ImportTokenManager::Retrieve(
    const RequestContext& ctx) {
  KW_RETURN_IF_ERROR(
      access_->Authorize(ctx, iam::Operation::kImportToken).status());
  absl::StatusOr<store::ImportToken> token =
      store_->RetrieveImportToken(ctx.instance_id, clock_->Now());
  if (absl::IsNotFound(token.status())) {
    return DomainError(Reason::kNotFound,
                       "the instance has no import token; create one "
                       "with POST /api/v2/import_token");
  }
  if (absl::IsFailedPrecondition(token.status())) {
    return Error(Reason::kImportTokenExpired,
                 "Import Token could not be retrieved: it has reached its "
                 "maxAllowedRetrievals or expirationDate; create a new one");
  }
  KW_RETURN_IF_ERROR(token.status());
  ImportTokenResult result = InfoOf(*token);
  result.public_key_pem = std::move(token->public_key_pem);
  result.nonce = std::move(token->nonce);
  return result;
}

absl::StatusOr<SecretBytes> ImportTokenManager::OpenSecureImport(
    std::string_view instance_id, const Decoded<SecretBytes>& payload,
    const Decoded<SecretBytes>& encrypted_nonce, const Decoded<SecretBytes>& iv) {
  absl::StatusOr<store::ImportToken> token = store_->GetImportToken(instance_id);
  if (absl::IsNotFound(token.status())) {
    return TokenExpired(
        "the instance has no import token; create one with POST "
        "/api/v2/import_token");
  }
  KW_RETURN_IF_ERROR(token.status());
  if (clock_->Now() >= token->expiration_time) {
    return TokenExpired(
        "the import token that was used to encrypt this key has reached its "
        "expirationDate; create a new one");
  }

  // Fields the transport could not decode are reported in this order,
  // after the token checks above.
  KW_RETURN_IF_ERROR(payload.status());
  KW_RETURN_IF_ERROR(encrypted_nonce.status());
  KW_RETURN_IF_ERROR(iv.status());
  const SecretBytes& ciphertext = *payload;
  const SecretBytes& sealed_nonce = *encrypted_nonce;
  const SecretBytes& iv_bytes = *iv;

  absl::StatusOr<SecretBytes> private_key = master_key_->Decrypt(
      token->master_key_id, token->sealed_private_key,
      keys::ImportTokenAad(token->instance_id, token->id));
  if (seal::IsSealedError(private_key.status())) return private_key.status();
  if (!private_key.ok()) {
    return absl::DataLossError(
        StrCat("the sealed private key of import token ", token->id,
               " failed its integrity check"));
  }
  absl::StatusOr<SecretBytes> material =
      crypto::RsaOaepSha256Decrypt(private_key->span(), ciphertext.span());
  if (!material.ok()) {
    return BadField("payload",
                    "key material encrypted (RSAES_OAEP_SHA_256) with the "
                    "public key of the instance's current import token");
  }
  if (!keys::IsValidRootKeySize(material->size())) {
    return BadField("payload",
                    "16, 24 or 32 bytes of root key material once decrypted");
  }

  // keyprotect-api.md §8.3: the nonce proves the importer holds the token.
  absl::StatusOr<SecretBytes> nonce;
  if (iv_bytes.size() == crypto::kGcmNonceSize) {
    absl::StatusOr<crypto::AesGcm> aead = crypto::AesGcm::Create(material->span());
    if (aead.ok()) nonce = aead->Decrypt(iv_bytes.span(), sealed_nonce.span(), {});
  }
  if (!nonce.ok()) {
    return DomainError(Reason::kIncorrectNonceIv,
                       "the nonce does not open with the given material and "
                       "IV");
  }
  if (!ConstantTimeEquals(nonce->span(), token->nonce)) {
    return DomainError(Reason::kIncorrectNonce,
                       "encrypt the nonce of the instance's current import "
                       "token");
  }
  return *std::move(material);
}

}  // namespace keywarden::service
