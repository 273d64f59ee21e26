#ifndef KEYWARDEN_IAM_THROTTLE_H_
#define KEYWARDEN_IAM_THROTTLE_H_

#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace keywarden::iam {

// Counts authentication failures per key (an API-key prefix, a source
// address) in a sliding window and says how long a key must wait once it
// has failed too often: the 429 + Retry-After of docs/admin-api.md.
//
// Memory is bounded: each key keeps at most `max_failures` timestamps, and
// at most `max_tracked_keys` keys are tracked; past that the key whose last
// failure is oldest is forgotten first. (An attacker who sprays more keys
// than the cap can push a key out early; the cap is sized so that this takes
// far more requests than the limits it evades, and the per-address throttle
// still applies.) Time is passed in, never read. Thread-safe.
class FailureThrottle {
 public:
  struct Options {
    int max_failures = 5;                      // failures allowed per window
    absl::Duration window = absl::Minutes(1);  // sliding
    size_t max_tracked_keys = 100000;
  };
  // The limits of docs/admin-api.md: 5 failures per API-key prefix and 20
  // per source address, per minute.
  static Options ApiKeyPrefixOptions();
  static Options SourceAddressOptions();

  FailureThrottle() : FailureThrottle(Options{}) {}
  // Values below 1 (and a non-positive window) are raised to the minimum.
  explicit FailureThrottle(Options options);

  // How long `key` must wait if it has max_failures or more failures in
  // (now - window, now]; nullopt if it may try now. The wait is always
  // positive and at most the window (HTTP rounds it up to whole seconds).
  std::optional<absl::Duration> RetryAfter(std::string_view key,
                                           absl::Time now) const;
  void RecordFailure(std::string_view key, absl::Time now);
  // Forgets `key` (e.g. after a success).
  void Reset(std::string_view key);

  // Keys currently tracked, for tests and metrics.
  size_t tracked_keys() const;

 private:
  struct Entry {
    std::string key;
    std::vector<absl::Time> failures;  // oldest first, <= max_failures
  };
  using Lru = std::list<Entry>;  // least recently failed first

  const Options options_;
  mutable absl::Mutex mu_;
  Lru lru_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Lru::iterator> index_ ABSL_GUARDED_BY(mu_);
};

}  // namespace keywarden::iam

#endif  // KEYWARDEN_IAM_THROTTLE_H_
