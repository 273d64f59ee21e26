#include "keywarden/service/identity_manager.h"
#include "keywarden/service/audit.h"
#include "keywarden/service/sealed_write.h"

#include <algorithm>

#include <openssl/crypto.h>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "keywarden/common/errors.h"
#include "keywarden/common/ids.h"
#include "keywarden/common/secret_bytes.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"
#include "keywarden/crypto/sha256.h"
#include "keywarden/iam/api_key.h"
#include "keywarden/keys/envelope.h"

namespace keywarden::service {
namespace {

using iam::PrincipalKind;

constexpr std::string_view kApiKeyGrant =
    "urn:ibm:params:oauth:grant-type:apikey";
constexpr std::string_view kRetryAfterPayload = "keywarden/retry-after-ms";
constexpr size_t kMaxNameLength = 100;
constexpr std::string_view kBootstrapRevokedMeta = "admin_token_revoked";

absl::Status Unauthorized() {
  return Error(Reason::kUnauthorized,
               "Unauthorized: The user does not have access to the specified "
               "resource");
}

absl::Status Forbidden() {
  return Error(Reason::kForbidden,
               "Forbidden: Your access token is not authorized to access this "
               "resource");
}

absl::Status BadRequest(std::string_view message,
                        std::optional<std::string_view> field = std::nullopt) {
  return Error(Reason::kBadRequest, StrCat("Bad Request: ", message), field);
}

absl::Status NotFound(std::string_view what, std::string_view id) {
  return Error(Reason::kNotFound,
               StrCat("Not Found: ", what, " `", id, "` does not exist"));
}

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// The AAD of a sealed signing key: binds the blob to its kid.
absl::Status ValidateName(std::string_view name, std::string_view field) {
  if (name.empty() || name.size() > kMaxNameLength) {
    return BadRequest(StrCat("`", field, "` must be 1 to ", kMaxNameLength,
                             " characters"),
                      field);
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      return BadRequest(StrCat("`", field, "` must not contain control "
                               "characters"),
                        field);
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateServiceType(std::string_view type) {
  if (type.size() > 64) return BadRequest("`serviceType` is too long");
  for (unsigned char c : type) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '-') {
      return BadRequest(
          "`serviceType` must be lower-case letters, digits and '-'",
          "serviceType");
    }
  }
  return absl::OkStatus();
}

// application/x-www-form-urlencoded (WHATWG URL §5.1): '+' is a space and
// %XX escapes are decoded.
absl::StatusOr<std::string> FormDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= in.size() || !absl::ascii_isxdigit(in[i + 1]) ||
          !absl::ascii_isxdigit(in[i + 2])) {
        return BadRequest("the form body has a malformed escape");
      }
      out.push_back(static_cast<char>(
          std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

absl::StatusOr<std::optional<std::string>> FormField(std::string_view body,
                                                     std::string_view name) {
  // A repeated field is refused rather than resolved: as with repeated JSON
  // members (RFC 7493 §2.3), two readers that pick different copies would
  // check one value and use another.
  std::optional<std::string> found;
  size_t start = 0;
  while (start <= body.size()) {
    size_t end = body.find('&', start);
    if (end == std::string_view::npos) end = body.size();
    std::string_view pair = body.substr(start, end - start);
    size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (key == name) {
      if (found.has_value()) {
        return BadRequest(StrCat("`", name, "` is given more than once"),
                          name);
      }
      if (eq == std::string_view::npos) {
        found.emplace();
      } else {
        KW_ASSIGN_OR_RETURN(found, FormDecode(pair.substr(eq + 1)));
      }
    }
    start = end + 1;
  }
  return found;
}

// API keys that are not in Keywarden's own format (an operator-chosen
// KEYWARDEN_ADMIN_APIKEY) are indexed by a prefix derived from their hash.
iam::ParsedApiKey ParseAnyApiKey(std::string_view text) {
  absl::StatusOr<iam::ParsedApiKey> parsed = iam::ParseApiKey(text);
  if (parsed.ok()) return *parsed;
  iam::ParsedApiKey external;
  external.hash = crypto::Sha256(Bytes(text));
  external.prefix = StrCat(
      "ext_", absl::BytesToHexString(absl::string_view(
                  reinterpret_cast<const char*>(external.hash.data()), 4)));
  return external;
}

std::string FormatRfc3339Utc(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

absl::Status Throttled(absl::Duration wait) {
  absl::Status s = Error(Reason::kTooManyRequests,
                         "Too Many Requests: Please wait and try again");
  s.SetPayload(AbslView(kRetryAfterPayload),
               absl::Cord(std::to_string(absl::ToInt64Milliseconds(wait))));
  return s;
}

}  // namespace

IdentityManager::IdentityManager(store::IdentityStore* store,
                                 store::Store* meta, iam::AccessIndex* access,
                                 const seal::MasterKey* master_key,
                                 const Clock* clock, IdentityOptions options)
    : store_(store),
      meta_(meta),
      access_(access),
      master_key_(master_key),
      clock_(clock),
      options_(options),
      prefix_throttle_(iam::FailureThrottle::ApiKeyPrefixOptions()),
      address_throttle_(iam::FailureThrottle::SourceAddressOptions()) {}

IdentityManager::~IdentityManager() = default;

std::optional<absl::Duration> IdentityManager::RetryAfterOf(
    const absl::Status& s) {
  auto payload = s.GetPayload(AbslView(kRetryAfterPayload));
  if (!payload.has_value()) return std::nullopt;
  int64_t ms = 0;
  if (!absl::SimpleAtoi(std::string(*payload), &ms)) return std::nullopt;
  return absl::Milliseconds(ms);
}

iam::AuditRecord IdentityManager::Audit(const RequestContext& ctx,
                                        std::string action, std::string target,
                                        std::string details) const {
  return MakeAudit(ctx, clock_->Now(), std::move(action), std::move(target),
                   std::move(details));
}

absl::Status IdentityManager::Start(const iam::TokenHash& bootstrap_token_hash,
                                    std::optional<std::string> admin_api_key) {
  bootstrap_token_hash_ = bootstrap_token_hash;
  KW_ASSIGN_OR_RETURN(std::optional<std::string> revoked,
                      meta_->GetMeta(kBootstrapRevokedMeta));
  bootstrap_revoked_ = revoked.has_value();
  KW_RETURN_IF_ERROR(LoadInto(*access_));

  RequestContext system;
  system.principal = {"system", true};
  system.correlation_id = "startup";
  if (!access_->FindPrincipal(kAdminUserId).has_value()) {
    iam::PrincipalRecord admin;
    admin.id = std::string(kAdminUserId);
    admin.kind = PrincipalKind::kUser;
    admin.name = "admin";
    admin.admin = true;
    admin.creation_time = clock_->Now();
    admin.created_by = "system";
    KW_RETURN_IF_ERROR(store_->CreatePrincipal(
        admin, Audit(system, "iam.principal.create",
                     StrCat("principal:", kAdminUserId),
                     "first administrator")));
    access_->PutPrincipal(admin);
  }
  if (admin_api_key.has_value() && !admin_api_key->empty()) {
    bool has_key = false;
    for (const auto& k : access_->ApiKeys()) {
      if (k.principal_id == kAdminUserId) has_key = true;
    }
    if (!has_key) {
      if (admin_api_key->size() < 32) {
        return absl::InvalidArgumentError(
            "KEYWARDEN_ADMIN_APIKEY must be at least 32 characters");
      }
      iam::ParsedApiKey parsed = ParseAnyApiKey(*admin_api_key);
      iam::ApiKeyRecord key;
      key.id = NewUuid();
      key.principal_id = std::string(kAdminUserId);
      key.name = "bootstrap";
      key.prefix = parsed.prefix;
      key.secret_hash = parsed.hash;
      key.creation_time = clock_->Now();
      key.created_by = "system";
      KW_RETURN_IF_ERROR(store_->CreateApiKey(
          key, Audit(system, "iam.apikey.create", StrCat("apikey:", key.id),
                     "from KEYWARDEN_ADMIN_APIKEY")));
      access_->PutApiKey(key);
    }
  }

  absl::MutexLock lock(&signing_mu_);
  absl::Status loaded = LoadSigningKeys(clock_->Now());
  // Sealed (a Shamir seal starts so): the public keys verify already; the
  // signing key is unsealed on the first token issued after the unseal.
  if (!loaded.ok() && !seal::IsSealedError(loaded)) return loaded;
  return absl::OkStatus();
}

absl::Status IdentityManager::LoadInto(iam::AccessIndex& index) {
  KW_ASSIGN_OR_RETURN(auto principals, store_->ListPrincipals());
  for (auto& p : principals) index.PutPrincipal(std::move(p));
  KW_ASSIGN_OR_RETURN(auto keys, store_->ListApiKeys());
  for (auto& k : keys) index.PutApiKey(std::move(k));
  KW_ASSIGN_OR_RETURN(auto instances, store_->ListInstances());
  for (auto& i : instances) index.PutInstance(std::move(i));
  KW_ASSIGN_OR_RETURN(auto policies, store_->ListPolicies());
  for (auto& p : policies) index.PutPolicy(std::move(p));
  KW_ASSIGN_OR_RETURN(auto authorizations, store_->ListAuthorizations());
  for (auto& a : authorizations) index.PutAuthorization(std::move(a));
  return absl::OkStatus();
}

absl::Status IdentityManager::Reload() {
  // Revocation only ever goes one way.
  KW_ASSIGN_OR_RETURN(std::optional<std::string> revoked,
                      meta_->GetMeta(kBootstrapRevokedMeta));
  if (revoked.has_value()) {
    bootstrap_revoked_.store(true, std::memory_order_release);
  }
  // A local change bumps the generation after its commit: a reload that
  // overlapped one reads again rather than put back what it replaced.
  for (int attempt = 0;; ++attempt) {
    const uint64_t before = access_->generation();
    iam::AccessIndex fresh;
    KW_RETURN_IF_ERROR(LoadInto(fresh));
    if (access_->ReplaceIfUnchanged(before, fresh)) return absl::OkStatus();
    if (attempt == 8) {
      return absl::AbortedError("identity reload kept racing local changes");
    }
  }
}

absl::Status IdentityManager::ReloadSigningKeys() {
  KW_ASSIGN_OR_RETURN(auto signing_keys, store_->ListSigningKeys());
  for (const iam::SigningKeyRecord& k : signing_keys) {
    KW_RETURN_IF_ERROR(verifier_.AddKey(k.kid, k.public_key_der));
  }
  return absl::OkStatus();
}

void IdentityManager::DropSigningKey() {
  absl::MutexLock lock(&signing_mu_);
  signing_key_.reset();
}

absl::Status IdentityManager::LoadSigningKeys(absl::Time now) {
  KW_ASSIGN_OR_RETURN(auto signing_keys, store_->ListSigningKeys());
  for (const iam::SigningKeyRecord& k : signing_keys) {
    if (now > k.retire_time + options_.token_lifetime) {
      (void)store_->DeleteSigningKey(k.kid);  // nothing it signed is valid
      continue;
    }
    KW_RETURN_IF_ERROR(verifier_.AddKey(k.kid, k.public_key_der));
    if (now < k.retire_time &&
        (signing_key_ == nullptr || k.retire_time > signing_key_retire_)) {
      KW_ASSIGN_OR_RETURN(
          SecretBytes der,
          master_key_->Decrypt(k.master_key_id, k.sealed_private_key,
                               keys::SigningKeyAad(k.kid)));
      KW_ASSIGN_OR_RETURN(iam::SigningKey key,
                          iam::SigningKey::FromPkcs8Der(k.kid, der.span()));
      signing_key_ = std::make_shared<const iam::SigningKey>(std::move(key));
      signing_key_retire_ = k.retire_time;
    }
  }
  if (signing_key_ == nullptr) KW_RETURN_IF_ERROR(CreateSigningKey(now));
  return absl::OkStatus();
}

absl::Status IdentityManager::CreateSigningKey(absl::Time now) {
  KW_ASSIGN_OR_RETURN(iam::SigningKey key, iam::SigningKey::Generate(NewUuid()));
  iam::SigningKeyRecord record;
  record.kid = key.kid();
  record.algorithm = "ES256";
  SecretBytes der = key.Pkcs8Der();
  record.public_key_der = key.PublicKeyDer();
  record.creation_time = now;
  record.retire_time = now + options_.signing_key_lifetime;
  KW_RETURN_IF_ERROR(WithCurrentMasterKey(*master_key_, [&]() -> absl::Status {
    record.master_key_id = master_key_->id();
    KW_ASSIGN_OR_RETURN(record.sealed_private_key,
                        master_key_->Encrypt(record.master_key_id, der.span(),
                                             keys::SigningKeyAad(key.kid())));
    return store_->PutSigningKey(record);
  }));
  KW_RETURN_IF_ERROR(verifier_.AddKey(record.kid, record.public_key_der));
  signing_key_ = std::make_shared<const iam::SigningKey>(std::move(key));
  signing_key_retire_ = record.retire_time;
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const iam::SigningKey>>
IdentityManager::CurrentSigningKey() {
  absl::MutexLock lock(&signing_mu_);
  absl::Time now = clock_->Now();
  if (signing_key_ == nullptr) KW_RETURN_IF_ERROR(LoadSigningKeys(now));
  if (now >= signing_key_retire_) {
    // The old key keeps verifying (it stays in the verifier) until its last
    // token has expired; Start() drops it from the store after that.
    KW_RETURN_IF_ERROR(CreateSigningKey(now));
  }
  return signing_key_;
}

absl::StatusOr<iam::Principal> IdentityManager::Authenticate(
    const iam::Credential& credential) const {
  const auto* bearer = std::get_if<iam::BearerToken>(&credential);
  if (bearer == nullptr || bearer->token.empty()) return Unauthorized();
  std::string_view token = bearer->token;
  if (std::optional<iam::Principal> p = LastTokenOfThisThread(token)) {
    return *std::move(p);
  }
  // One SHA-256 serves both checks: the bootstrap token is known only by
  // its hash, and verified JWTs are cached by theirs.
  iam::TokenHash hash = crypto::Sha256(Bytes(token));
  if (ConstantTimeEquals(hash, bootstrap_token_hash_) &&
      !bootstrap_revoked_.load(std::memory_order_acquire)) {
    return iam::Principal{std::string(kAdminUserId), true};
  }
  // An opaque string that is not the bootstrap token is simply a wrong
  // credential (401); BEARER_SUB_EXTRACTION_ERR (400) is kept for values
  // that try to be JWTs but cannot be read, as Key Protect answers them.
  if (token.find('.') == std::string_view::npos) return Unauthorized();
  return AuthenticateJwt(token, hash);
}

namespace {

// The last JWT this thread authenticated. A client sends the same token on
// every request of a connection, and connections stay on one I/O thread, so
// comparing against it (constant time) skips even the SHA-256 of the cache
// lookup. It holds one token per thread, wiped when replaced.
struct LastToken {
  const void* owner = nullptr;
  std::string token;
  uint64_t generation = 0;
  absl::Time expires_at;
  iam::Principal principal;
  ~LastToken() { OPENSSL_cleanse(token.data(), token.size()); }
};
thread_local LastToken last_token;

}  // namespace

std::optional<iam::Principal> IdentityManager::LastTokenOfThisThread(
    std::string_view token) const {
  const LastToken& last = last_token;
  if (last.owner != this || last.token.size() != token.size() ||
      last.generation != access_->generation() ||
      last.expires_at <= clock_->Now() ||
      CRYPTO_memcmp(last.token.data(), token.data(), token.size()) != 0) {
    return std::nullopt;
  }
  return last.principal;
}

void IdentityManager::RememberTokenOfThisThread(std::string_view token,
                                                uint64_t generation,
                                                absl::Time expires_at,
                                                const iam::Principal& p) const {
  LastToken& last = last_token;
  OPENSSL_cleanse(last.token.data(), last.token.size());
  last.owner = this;
  last.token.assign(token);
  last.generation = generation;
  last.expires_at = expires_at;
  last.principal = p;
}

absl::StatusOr<iam::Principal> IdentityManager::AuthenticateJwt(
    std::string_view token, const iam::TokenHash& hash) const {
  // Verified tokens are cached by hash until they expire, so the data plane
  // pays one SHA-256 per request instead of an ECDSA verification; while the
  // access index is unchanged the resolved principal is reused as well.
  absl::Time now = clock_->Now();
  uint64_t generation = access_->generation();
  std::optional<CachedToken> cached;
  {
    absl::ReaderMutexLock lock(&cache_mu_);
    auto it = token_cache_.find(hash);
    if (it != token_cache_.end() && it->second.expires_at > now) {
      if (it->second.generation == generation && it->second.principal) {
        RememberTokenOfThisThread(token, generation, it->second.expires_at,
                                  *it->second.principal);
        return *it->second.principal;
      }
      cached = it->second;
    }
  }
  if (!cached.has_value()) {
    absl::StatusOr<iam::TokenClaims> claims = verifier_.Verify(token, now);
    if (!claims.ok()) {
      // A value with three segments is a JWT even when its header is one
      // this server cannot read (e.g. an embedded jwk): a wrong credential.
      if (ReasonOf(claims.status()) == Reason::kBearerSubExtraction &&
          std::count(token.begin(), token.end(), '.') == 2) {
        return Unauthorized();
      }
      return claims.status();
    }
    cached = CachedToken{claims->subject, claims->api_key_id,
                         claims->expires_at, 0, std::nullopt};
  }
  // Revocation is checked against the live index, so a deleted principal or
  // API key loses its tokens on the next request.
  std::optional<iam::Principal> principal;
  if (cached->api_key_id.empty() || access_->ApiKeyExists(cached->api_key_id)) {
    principal = access_->ResolvePrincipal(cached->principal_id);
  }
  cached->generation = generation;
  cached->principal = principal;
  {
    absl::MutexLock lock(&cache_mu_);
    if (token_cache_.size() >= options_.token_cache_capacity) {
      token_cache_.clear();  // simple bound; hot tokens come back at once
    }
    token_cache_.insert_or_assign(hash, *cached);
  }
  if (!principal.has_value()) return Unauthorized();
  RememberTokenOfThisThread(token, generation, cached->expires_at, *principal);
  return *std::move(principal);
}

void IdentityManager::RecordAuthFailure(const RequestContext& ctx,
                                        std::string_view why) {
  iam::AuditRecord r = Audit(ctx, "auth.failure", "", std::string(why));
  r.outcome = iam::AuditOutcome::kFailure;
  (void)store_->AppendAudit(r);
}

absl::StatusOr<TokenGrant> IdentityManager::IssueToken(
    const RequestContext& ctx, std::string_view form_body) {
  absl::Time now = clock_->Now();
  if (auto wait = address_throttle_.RetryAfter(ctx.source_address, now)) {
    return Throttled(*wait);
  }
  KW_ASSIGN_OR_RETURN(std::optional<std::string> grant,
                      FormField(form_body, "grant_type"));
  if (!grant.has_value() || *grant != kApiKeyGrant) {
    return BadRequest(StrCat("`grant_type` must be ", kApiKeyGrant),
                      "grant_type");
  }
  KW_ASSIGN_OR_RETURN(std::optional<std::string> apikey,
                      FormField(form_body, "apikey"));
  if (!apikey.has_value() || apikey->empty()) {
    return BadRequest("`apikey` is required", "apikey");
  }
  iam::ParsedApiKey parsed = ParseAnyApiKey(*apikey);
  if (auto wait = prefix_throttle_.RetryAfter(parsed.prefix, now)) {
    return Throttled(*wait);
  }
  std::optional<iam::ApiKeyRecord> key =
      access_->FindApiKeyByPrefix(parsed.prefix);
  std::optional<iam::PrincipalRecord> principal;
  if (key.has_value() && ConstantTimeEquals(key->secret_hash, parsed.hash)) {
    principal = access_->FindPrincipal(key->principal_id);
  }
  if (!principal.has_value()) {
    prefix_throttle_.RecordFailure(parsed.prefix, now);
    address_throttle_.RecordFailure(ctx.source_address, now);
    // The prefix is public (shown in listings); the secret never is.
    RecordAuthFailure(ctx, StrCat("unknown or revoked API key ", parsed.prefix));
    return Unauthorized();
  }

  KW_ASSIGN_OR_RETURN(std::shared_ptr<const iam::SigningKey> signer,
                      CurrentSigningKey());
  iam::TokenClaims claims;
  claims.issuer = std::string(iam::kTokenIssuer);
  claims.subject = principal->id;
  claims.jwt_id = NewUuid();
  claims.api_key_id = key->id;
  claims.kind = std::string(iam::PrincipalKindCode(principal->kind));
  claims.service_type = principal->service_type;
  claims.issued_at = now;
  claims.not_before = now;
  claims.expires_at = now + options_.token_lifetime;
  KW_ASSIGN_OR_RETURN(std::string token, signer->Sign(claims));
  return TokenGrant{std::move(token), claims.expires_at,
                    absl::ToInt64Seconds(options_.token_lifetime)};
}

absl::Status IdentityManager::RequireAdmin(const RequestContext& ctx) const {
  return ctx.principal.is_admin ? absl::OkStatus() : Forbidden();
}

absl::Status IdentityManager::RequireGrantor(
    const RequestContext& ctx, const iam::Scope& scope,
    std::span<const iam::Role> roles) const {
  if (ctx.principal.is_admin) {
    return access_->InstanceExists(scope.instance_id) ? absl::OkStatus()
                                                      : Forbidden();
  }
  // A ring grant covers the keys in the ring: a key scope needs the key's
  // ring (none when the key does not exist, so only instance and key grants
  // cover it then).
  std::string key_ring;
  if (scope.key_id.has_value()) {
    absl::StatusOr<keys::Key> key =
        meta_->GetKey(scope.instance_id, *scope.key_id);
    if (key.ok()) key_ring = key->key_ring_id;
  }
  const std::vector<iam::Role> held =
      access_->PolicyRolesOn(ctx.principal, scope, key_ring);
  auto holds = [&](auto pred) {
    return std::any_of(held.begin(), held.end(), pred);
  };
  if (!holds([](iam::Role h) {
        return iam::RoleAllows(h, iam::Operation::kManageGrants);
      })) {
    return Forbidden();
  }
  for (iam::Role wanted : roles) {
    if (wanted == iam::Role::kKeyPurge ||
        !holds([&](iam::Role h) { return iam::RoleImplies(h, wanted); })) {
      return Forbidden();
    }
  }
  return absl::OkStatus();
}

bool IdentityManager::ManagesIn(const RequestContext& ctx,
                                std::string_view instance_id) const {
  if (ctx.principal.is_admin) return access_->InstanceExists(instance_id);
  return !access_
              ->ReachOf(ctx.principal, iam::Operation::kManageGrants,
                        instance_id)
              .None();
}

absl::StatusOr<iam::PrincipalRecord> IdentityManager::CreatePrincipal(
    const RequestContext& ctx, PrincipalKind kind, std::string name,
    std::string service_type, bool admin) {
  KW_RETURN_IF_ERROR(RequireAdmin(ctx));
  KW_RETURN_IF_ERROR(ValidateName(name, "name"));
  if (kind == PrincipalKind::kUser && !service_type.empty()) {
    return BadRequest("users have no `serviceType`", "serviceType");
  }
  KW_RETURN_IF_ERROR(ValidateServiceType(service_type));
  iam::PrincipalRecord p;
  p.id = StrCat(kind == PrincipalKind::kUser ? "user-" : "serviceid-",
                NewUuid());
  p.kind = kind;
  p.name = std::move(name);
  p.service_type = std::move(service_type);
  p.admin = admin;
  p.creation_time = clock_->Now();
  p.created_by = ctx.principal.id;
  KW_RETURN_IF_ERROR(store_->CreatePrincipal(
      p, Audit(ctx, "iam.principal.create", StrCat("principal:", p.id),
               StrCat(iam::PrincipalKindCode(kind), admin ? " admin" : ""))));
  access_->PutPrincipal(p);
  return p;
}

absl::StatusOr<std::vector<iam::PrincipalRecord>>
IdentityManager::ListPrincipals(const RequestContext& ctx,
                                std::optional<PrincipalKind> kind) {
  KW_RETURN_IF_ERROR(RequireAdmin(ctx));
  std::vector<iam::PrincipalRecord> all = access_->Principals();
  if (kind.has_value()) {
    std::erase_if(all, [&](const auto& p) { return p.kind != *kind; });
  }
  return all;
}

absl::Status IdentityManager::DeletePrincipal(const RequestContext& ctx,
                                              std::string_view id) {
  KW_RETURN_IF_ERROR(RequireAdmin(ctx));
  if (!access_->FindPrincipal(id).has_value()) {
    return NotFound("principal", id);
  }
  if (id == kAdminUserId) {
    return Error(Reason::kBadRequest,
                 "Bad Request: the first administrator cannot be deleted");
  }
  KW_RETURN_IF_ERROR(store_->DeletePrincipal(
      id, Audit(ctx, "iam.principal.delete", StrCat("principal:", id))));
  access_->RemovePrincipal(id);
  return absl::OkStatus();
}

absl::StatusOr<NewApiKey> IdentityManager::CreateApiKey(
    const RequestContext& ctx, std::string principal_id, std::string name) {
  KW_RETURN_IF_ERROR(RequireAdmin(ctx));
  KW_RETURN_IF_ERROR(ValidateName(name, "name"));
  if (!access_->FindPrincipal(principal_id).has_value()) {
    return NotFound("principal", principal_id);
  }
  iam::GeneratedApiKey generated = iam::GenerateApiKey();
  NewApiKey result;
  iam::ApiKeyRecord& key = result.record;
  key.id = NewUuid();
  key.principal_id = std::move(principal_id);
  key.name = std::move(name);
  key.prefix = generated.prefix;
  key.secret_hash = generated.hash;
  key.creation_time = clock_->Now();
  key.created_by = ctx.principal.id;
  KW_RETURN_IF_ERROR(store_->CreateApiKey(
      key, Audit(ctx, "iam.apikey.create", StrCat("apikey:", key.id),
                 StrCat("for ", key.principal_id, ", prefix ", key.prefix))));
  access_->PutApiKey(key);
  result.secret = std::move(generated.text);
  return result;
}

absl::StatusOr<std::vector<iam::ApiKeyRecord>> IdentityManager::ListApiKeys(
    const RequestContext& ctx, std::optional<std::string> principal_id) {
  KW_RETURN_IF_ERROR(RequireAdmin(ctx));
  std::vector<iam::ApiKeyRecord> all = access_->ApiKeys();
  if (principal_id.has_value()) {
    std::erase_if(all,
                  [&](const auto& k) { return k.principal_id != *principal_id; });
  }
  return all;
}

absl::Status IdentityManager::DeleteApiKey(const RequestContext& ctx,
                                           std::string_view id) {
  KW_RETURN_IF_ERROR(RequireAdmin(ctx));
  if (!access_->ApiKeyExists(id)) return NotFound("API key", id);
  KW_RETURN_IF_ERROR(store_->DeleteApiKey(
      id, Audit(ctx, "iam.apikey.delete", StrCat("apikey:", id))));
  access_->RemoveApiKey(id);
  return absl::OkStatus();
}

absl::StatusOr<iam::InstanceRecord> IdentityManager::CreateInstance(
    const RequestContext& ctx, std::string name) {
  KW_RETURN_IF_ERROR(RequireAdmin(ctx));
  KW_RETURN_IF_ERROR(ValidateName(name, "name"));
  iam::InstanceRecord instance{NewUuid(), std::move(name), clock_->Now(),
                               ctx.principal.id};
  KW_RETURN_IF_ERROR(store_->CreateInstance(
      instance, Audit(ctx, "iam.instance.create",
                      StrCat("instance:", instance.id))));
  access_->PutInstance(instance);
  return instance;
}

absl::StatusOr<std::vector<iam::InstanceRecord>> IdentityManager::ListInstances(
    const RequestContext& ctx) {
  KW_RETURN_IF_ERROR(RequireAdmin(ctx));
  return access_->Instances();
}

absl::Status IdentityManager::DeleteInstance(const RequestContext& ctx,
                                             std::string_view id) {
  KW_RETURN_IF_ERROR(RequireAdmin(ctx));
  if (!access_->InstanceExists(id)) return NotFound("instance", id);
  absl::Status deleted = store_->DeleteInstance(
      id, Audit(ctx, "iam.instance.delete", StrCat("instance:", id)));
  if (absl::IsFailedPrecondition(deleted)) {
    return Error(Reason::kInstanceNotEmpty,
                 "Conflict: the instance still holds keys; delete and purge "
                 "them first");
  }
  KW_RETURN_IF_ERROR(deleted);
  access_->RemoveInstance(id);
  return absl::OkStatus();
}

absl::Status IdentityManager::ValidateScope(const iam::Scope& scope) const {
  if (!access_->InstanceExists(scope.instance_id)) {
    return NotFound("instance", scope.instance_id);
  }
  if (scope.key_ring_id.has_value() && scope.key_id.has_value()) {
    return BadRequest("give `keyRingId` or `keyId`, not both");
  }
  if (scope.key_id.has_value() && !IsUuid(*scope.key_id)) {
    return BadRequest("`keyId` must be a key id (UUID)", "keyId");
  }
  if (scope.key_ring_id.has_value()) {
    KW_RETURN_IF_ERROR(ValidateName(*scope.key_ring_id, "keyRingId"));
  }
  return absl::OkStatus();
}

absl::StatusOr<iam::AccessPolicyRecord> IdentityManager::CreatePolicy(
    const RequestContext& ctx, PolicyRequest req) {
  if (req.scope.key_id.has_value()) {
    req.scope.key_id = absl::AsciiStrToLower(AbslView(*req.scope.key_id));
  }
  req.scope.instance_id = absl::AsciiStrToLower(AbslView(req.scope.instance_id));
  KW_RETURN_IF_ERROR(RequireGrantor(ctx, req.scope, {}));
  KW_RETURN_IF_ERROR(ValidateScope(req.scope));
  if (!access_->FindPrincipal(req.principal_id).has_value()) {
    return NotFound("principal", req.principal_id);
  }
  iam::AccessPolicyRecord p;
  if (req.roles.empty()) return BadRequest("`roles` must not be empty", "roles");
  for (const std::string& name : req.roles) {
    std::optional<iam::Role> role = iam::RoleFromName(name);
    if (!role.has_value()) {
      return BadRequest(StrCat("unknown role `", name, "`"), "roles");
    }
    if (std::find(p.roles.begin(), p.roles.end(), *role) == p.roles.end()) {
      p.roles.push_back(*role);
    }
  }
  KW_RETURN_IF_ERROR(RequireGrantor(ctx, req.scope, p.roles));
  p.id = NewUuid();
  p.principal_id = std::move(req.principal_id);
  p.scope = std::move(req.scope);
  p.creation_time = clock_->Now();
  p.created_by = ctx.principal.id;
  std::string roles;
  for (iam::Role r : p.roles) StrAppend(&roles, roles.empty() ? "" : ",", iam::RoleName(r));
  KW_RETURN_IF_ERROR(store_->CreatePolicy(
      p, Audit(ctx, "iam.policy.create", StrCat("policy:", p.id),
               StrCat(roles, " for ", p.principal_id, " on instance ",
                      p.scope.instance_id))));
  access_->PutPolicy(p);
  return p;
}

bool IdentityManager::ManagesAnyInstance(const RequestContext& ctx) const {
  if (ctx.principal.is_admin) return true;
  for (const iam::InstanceRecord& i : access_->Instances()) {
    if (ManagesIn(ctx, i.id)) return true;
  }
  return false;
}

absl::StatusOr<std::vector<iam::AccessPolicyRecord>>
IdentityManager::ListPolicies(const RequestContext& ctx,
                              std::optional<std::string> instance_id,
                              std::optional<std::string> principal_id) {
  // Only administrators and Managers read grants; anyone else is refused
  // outright rather than shown an empty list.
  if (!ManagesAnyInstance(ctx)) return Forbidden();
  std::vector<iam::AccessPolicyRecord> all = access_->Policies();
  std::erase_if(all, [&](const iam::AccessPolicyRecord& p) {
    return (instance_id && p.scope.instance_id != *instance_id) ||
           (principal_id && p.principal_id != *principal_id) ||
           !RequireGrantor(ctx, p.scope, {}).ok();
  });
  if (all.empty() && !ctx.principal.is_admin && instance_id &&
      !ManagesIn(ctx, *instance_id)) {
    return Forbidden();
  }
  return all;
}

absl::Status IdentityManager::DeletePolicy(const RequestContext& ctx,
                                           std::string_view id) {
  std::optional<iam::AccessPolicyRecord> found;
  for (const auto& p : access_->Policies()) {
    if (p.id == id) found = p;
  }
  if (!found.has_value()) {
    return ctx.principal.is_admin ? NotFound("policy", id) : Forbidden();
  }
  KW_RETURN_IF_ERROR(RequireGrantor(ctx, found->scope, {}));
  KW_RETURN_IF_ERROR(store_->DeletePolicy(
      id, Audit(ctx, "iam.policy.delete", StrCat("policy:", id))));
  access_->RemovePolicy(id);
  return absl::OkStatus();
}

absl::StatusOr<iam::ServiceAuthorizationRecord>
IdentityManager::CreateAuthorization(const RequestContext& ctx,
                                     AuthorizationRequest req) {
  if (req.target.key_id.has_value()) {
    req.target.key_id = absl::AsciiStrToLower(AbslView(*req.target.key_id));
  }
  req.target.instance_id =
      absl::AsciiStrToLower(AbslView(req.target.instance_id));
  KW_RETURN_IF_ERROR(RequireGrantor(ctx, req.target, {}));
  KW_RETURN_IF_ERROR(ValidateScope(req.target));
  if (req.source_service_id.empty() == req.source_service_type.empty()) {
    return BadRequest(
        "give exactly one of `sourceServiceId` and `sourceServiceType`");
  }
  if (!req.source_service_id.empty()) {
    std::optional<iam::PrincipalRecord> source =
        access_->FindPrincipal(req.source_service_id);
    if (!source.has_value() || source->kind != PrincipalKind::kServiceId) {
      return NotFound("service id", req.source_service_id);
    }
  } else {
    KW_RETURN_IF_ERROR(ValidateServiceType(req.source_service_type));
  }
  iam::ServiceAuthorizationRecord a;
  a.role = iam::Role::kReader;
  if (req.role.has_value()) {
    std::optional<iam::Role> role = iam::RoleFromName(*req.role);
    if (!role.has_value()) {
      return BadRequest(StrCat("unknown role `", *req.role, "`"), "role");
    }
    a.role = *role;
  }
  const iam::Role role = a.role;
  KW_RETURN_IF_ERROR(RequireGrantor(ctx, req.target, {&role, 1}));
  a.id = NewUuid();
  a.source_service_id = std::move(req.source_service_id);
  a.source_service_type = std::move(req.source_service_type);
  a.target = std::move(req.target);
  a.creation_time = clock_->Now();
  a.created_by = ctx.principal.id;
  KW_RETURN_IF_ERROR(store_->CreateAuthorization(
      a, Audit(ctx, "iam.authorization.create", StrCat("authorization:", a.id),
               StrCat(iam::RoleName(a.role), " for ",
                      a.source_service_id.empty()
                          ? StrCat("service type ", a.source_service_type)
                          : a.source_service_id,
                      " on instance ", a.target.instance_id))));
  access_->PutAuthorization(a);
  return a;
}

absl::StatusOr<std::vector<iam::ServiceAuthorizationRecord>>
IdentityManager::ListAuthorizations(const RequestContext& ctx,
                                    std::optional<std::string> instance_id) {
  if (!ManagesAnyInstance(ctx)) return Forbidden();
  std::vector<iam::ServiceAuthorizationRecord> all = access_->Authorizations();
  std::erase_if(all, [&](const iam::ServiceAuthorizationRecord& a) {
    return (instance_id && a.target.instance_id != *instance_id) ||
           !RequireGrantor(ctx, a.target, {}).ok();
  });
  if (all.empty() && !ctx.principal.is_admin && instance_id &&
      !ManagesIn(ctx, *instance_id)) {
    return Forbidden();
  }
  return all;
}

absl::Status IdentityManager::DeleteAuthorization(const RequestContext& ctx,
                                                  std::string_view id) {
  std::optional<iam::ServiceAuthorizationRecord> found;
  for (const auto& a : access_->Authorizations()) {
    if (a.id == id) found = a;
  }
  if (!found.has_value()) {
    return ctx.principal.is_admin ? NotFound("authorization", id) : Forbidden();
  }
  KW_RETURN_IF_ERROR(RequireGrantor(ctx, found->target, {}));
  KW_RETURN_IF_ERROR(store_->DeleteAuthorization(
      id, Audit(ctx, "iam.authorization.delete", StrCat("authorization:", id))));
  access_->RemoveAuthorization(id);
  return absl::OkStatus();
}

absl::Status IdentityManager::RevokeBootstrapToken(const RequestContext& ctx) {
  KW_RETURN_IF_ERROR(RequireAdmin(ctx));
  bool admin_with_key = false;
  for (const iam::ApiKeyRecord& k : access_->ApiKeys()) {
    std::optional<iam::PrincipalRecord> p = access_->FindPrincipal(k.principal_id);
    if (p.has_value() && p->admin) admin_with_key = true;
  }
  if (!admin_with_key) {
    return Error(Reason::kConflict,
                 "Conflict: no administrator holds an API key; create one "
                 "before revoking the bootstrap token");
  }
  // Durable first: once this returns, a restart keeps the token revoked.
  KW_RETURN_IF_ERROR(
      meta_->PutMetaIfAbsent(kBootstrapRevokedMeta, FormatRfc3339Utc(clock_->Now()))
          .status());
  bootstrap_revoked_.store(true, std::memory_order_release);
  (void)store_->AppendAudit(
      Audit(ctx, "iam.bootstrap_token.revoke", "bootstrap-token"));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<iam::AuditRecord>> IdentityManager::ListAudit(
    const RequestContext& ctx, int64_t after_seq, int64_t limit) {
  KW_RETURN_IF_ERROR(RequireAdmin(ctx));
  if (limit < 1 || limit > 1000) {
    return BadRequest("`limit` must be 1 to 1000", "limit");
  }
  return store_->ListAudit(after_seq, limit);
}

}  // namespace keywarden::service
