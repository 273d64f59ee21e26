#ifndef KEYWARDEN_SERVICE_AUTH_FAILURES_H_
#define KEYWARDEN_SERVICE_AUTH_FAILURES_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "keywarden/common/clock.h"
#include "keywarden/iam/identity.h"
#include "keywarden/iam/throttle.h"
#include "keywarden/service/request_context.h"
#include "keywarden/store/identity_store.h"

namespace keywarden::service {

struct AuthFailureOptions {
  // Failed bearer checks per source address per minute before the address
  // is answered 429 (only failures are throttled; a valid token passes).
  int max_failures_per_minute = 100;
  // How long failures are counted together before one record is written.
  absl::Duration bucket = absl::Minutes(1);
  // Addresses with a count pending at once; past this, failures from new
  // addresses are counted under kOverflowAddress so memory stays bounded.
  size_t max_pending_addresses = 10000;
};

// AuthFailureLog turns failed bearer checks (a missing, malformed, wrong,
// expired or revoked token on /api/v2 or /admin/v1) into few durable audit
// records: per source address and bucket (a minute), one `auth.failure`
// record with the count and the first and last failure (time, correlation
// id, reason). Each failure used to be its own fsync'd audit write, which
// anyone on the network could cause at line rate.
//
// Record() only counts, in memory, under a mutex, and never touches the
// store; Flush() writes the buckets whose minute has ended (the server calls
// it from a background loop, and with `all` at shutdown). A crash loses at
// most the pending counts, never a record already written.
//
// It also throttles: RetryAfter() says how long an address that failed more
// than max_failures_per_minute times in the last minute must wait (the API
// answers 429 + Retry-After instead of 401). Time comes from `clock`.
// Thread-safe.
class AuthFailureLog {
 public:
  static constexpr std::string_view kOverflowAddress = "(other addresses)";

  AuthFailureLog(store::IdentityStore* store, const Clock* clock,
                 AuthFailureOptions options = {});
  AuthFailureLog(const AuthFailureLog&) = delete;
  AuthFailureLog& operator=(const AuthFailureLog&) = delete;

  // Counts one failed check of `ctx` (its source_address and
  // correlation_id); `why` is public text (the operation and reason code),
  // never the presented token.
  void Record(const RequestContext& ctx, std::string_view why);

  // How long `address` must wait before its next failure may be answered
  // 401 again; nullopt if it is under the limit.
  std::optional<absl::Duration> RetryAfter(std::string_view address) const;

  // Writes one audit record per bucket that has ended (all of them with
  // `all`). Returns how many were written; a failed write keeps the bucket
  // for the next call. `on_error` (optional) hears of failed writes.
  int Flush(bool all = false);

  // Counts waiting for Flush(), for tests.
  size_t pending() const;

  void set_on_error(std::function<void(const absl::Status&)> on_error) {
    on_error_ = std::move(on_error);
  }

 private:
  struct Sample {
    absl::Time time;
    std::string correlation_id;
    std::string why;
  };
  struct Bucket {
    std::string address;
    absl::Time start;  // of the bucket's minute
    int64_t count = 0;
    Sample first;
    Sample last;
  };

  absl::Time BucketStart(absl::Time t) const;
  iam::AuditRecord ToAudit(const Bucket& b) const;

  store::IdentityStore* const store_;
  const Clock* const clock_;
  const AuthFailureOptions options_;
  iam::FailureThrottle throttle_;
  std::function<void(const absl::Status&)> on_error_;

  mutable absl::Mutex mu_;
  // The current bucket of each address, and ended ones not yet written.
  absl::flat_hash_map<std::string, Bucket> open_ ABSL_GUARDED_BY(mu_);
  std::vector<Bucket> ended_ ABSL_GUARDED_BY(mu_);
  // Serialises Flush() so records are written in order.
  absl::Mutex flush_mu_;
};

}  // namespace keywarden::service

#endif  // KEYWARDEN_SERVICE_AUTH_FAILURES_H_
