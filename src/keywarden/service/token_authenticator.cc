#include "keywarden/service/token_authenticator.h"

#include <algorithm>
#include <span>
#include <utility>
#include <variant>

#include <openssl/crypto.h>

#include "keywarden/common/errors.h"
#include "keywarden/common/secret_bytes.h"
#include "keywarden/crypto/sha256.h"

namespace keywarden::service {
namespace {

absl::Status Unauthorized() {
  return Error(Reason::kUnauthorized,
               "Unauthorized: The user does not have access to the specified "
               "resource");
}

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

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

bool BootstrapToken::Accepts(const iam::TokenHash& hash) const {
  return ConstantTimeEquals(hash, hash_) &&
         !revoked_.load(std::memory_order_acquire);
}

TokenAuthenticator::TokenAuthenticator(const BootstrapToken* bootstrap,
                                       const iam::AccessIndex* access,
                                       const SigningKeySet* signing_keys,
                                       const Clock* clock, TokenOptions options)
    : bootstrap_(bootstrap),
      access_(access),
      signing_keys_(signing_keys),
      clock_(clock),
      cache_capacity_(options.token_cache_capacity) {}

TokenAuthenticator::~TokenAuthenticator() = default;

absl::StatusOr<iam::Principal> TokenAuthenticator::Authenticate(
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
  if (bootstrap_->Accepts(hash)) {
    return iam::Principal{std::string(BootstrapToken::kPrincipalId), true};
  }
  // An opaque string that is not the bootstrap token is simply a wrong
  // credential (401); BEARER_SUB_EXTRACTION_ERR (400) is kept for values
  // that try to be JWTs but cannot be read, as Key Protect answers them.
  if (token.find('.') == std::string_view::npos) return Unauthorized();
  return AuthenticateJwt(token, hash);
}

std::optional<iam::Principal> TokenAuthenticator::LastTokenOfThisThread(
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

void TokenAuthenticator::RememberTokenOfThisThread(
    std::string_view token, uint64_t generation, absl::Time expires_at,
    const iam::Principal& p) const {
  LastToken& last = last_token;
  OPENSSL_cleanse(last.token.data(), last.token.size());
  last.owner = this;
  last.token.assign(token);
  last.generation = generation;
  last.expires_at = expires_at;
  last.principal = p;
}

absl::StatusOr<iam::Principal> TokenAuthenticator::AuthenticateJwt(
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
    absl::StatusOr<iam::TokenClaims> claims =
        signing_keys_->verifier().Verify(token, now);
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
    if (token_cache_.size() >= cache_capacity_) {
      token_cache_.clear();  // simple bound; hot tokens come back at once
    }
    token_cache_.insert_or_assign(hash, *cached);
  }
  if (!principal.has_value()) return Unauthorized();
  RememberTokenOfThisThread(token, generation, cached->expires_at, *principal);
  return *std::move(principal);
}

}  // namespace keywarden::service
