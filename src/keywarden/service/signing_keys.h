#ifndef KEYWARDEN_SERVICE_SIGNING_KEYS_H_
#define KEYWARDEN_SERVICE_SIGNING_KEYS_H_

#include <cstddef>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "keywarden/common/clock.h"
#include "keywarden/iam/jwt.h"
#include "keywarden/seal/seal.h"
#include "keywarden/store/identity_store.h"

namespace keywarden::service {

// The token rules shared by the signing keys, the issuer and the
// authenticator (docs/admin-api.md "Tokens").
struct TokenOptions {
  absl::Duration token_lifetime = absl::Hours(1);
  // A signing key signs for this long, then a new one takes over; the old
  // one verifies until its last token expires.
  absl::Duration signing_key_lifetime = absl::Hours(24 * 30);
  // Verified tokens TokenAuthenticator remembers (by hash) at most.
  size_t token_cache_capacity = 100000;
};

// SigningKeySet is the deployment's token signing keys: the public key of
// every signing key whose tokens may still be valid (in a TokenVerifier),
// and the one private key that signs now, unsealed from the IdentityStore
// with the master key. TokenIssuer signs with it and TokenAuthenticator
// verifies with it; both hold this one object, so a key the issuer rotates
// in verifies at once.
//
// Lifecycle: Start() loads it (tolerating a sealed master key: the public
// keys verify at once, the private key is unsealed by the first Current()
// after the unseal); Drop() forgets the private key when the server is
// sealed; Reload() learns the public keys another node added.
//
// Thread-safe. verifier() is lock-free to reach; the private key is
// guarded by a mutex taken only when a token is issued.
class SigningKeySet {
 public:
  SigningKeySet(store::IdentityStore* store, const seal::MasterKey* master_key,
                const Clock* clock, TokenOptions options);
  SigningKeySet(const SigningKeySet&) = delete;
  SigningKeySet& operator=(const SigningKeySet&) = delete;

  // Loads the verification keys, drops those whose tokens have all
  // expired, and unseals the current signing key, creating one if none is
  // current. A sealed master key is not an error here (see above).
  absl::Status Start();

  // Forgets the unsealed signing key (the server was sealed); the next
  // Current() unseals it again from the store.
  void Drop();

  // Another node added or retired signing keys: the verifier learns their
  // public keys, so tokens that node issues verify here.
  absl::Status Reload();

  // The signing key to use now: unsealed on first use, rotated when its
  // time is up (a new key is stored before it signs anything).
  absl::StatusOr<std::shared_ptr<const iam::SigningKey>> Current();

  const iam::TokenVerifier& verifier() const { return verifier_; }

 private:
  absl::Status Load(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Create(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  store::IdentityStore* store_;
  const seal::MasterKey* master_key_;
  const Clock* clock_;
  const TokenOptions options_;

  iam::TokenVerifier verifier_;
  absl::Mutex mu_;
  std::shared_ptr<const iam::SigningKey> current_ ABSL_GUARDED_BY(mu_);
  absl::Time current_retire_ ABSL_GUARDED_BY(mu_);
};

}  // namespace keywarden::service

#endif  // KEYWARDEN_SERVICE_SIGNING_KEYS_H_
