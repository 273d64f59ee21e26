#include "keywarden/service/auth_failures.h"

#include <utility>

#include "keywarden/common/strings.h"
#include "keywarden/service/audit.h"

namespace keywarden::service {
namespace {

iam::FailureThrottle::Options ThrottleOptions(const AuthFailureOptions& o) {
  iam::FailureThrottle::Options t;
  t.max_failures = o.max_failures_per_minute;
  t.window = absl::Minutes(1);
  t.max_tracked_keys = o.max_pending_addresses;
  return t;
}

std::string Describe(std::string_view which, const std::string& why,
                     absl::Time time, const std::string& correlation_id) {
  return StrCat(which, " ", AuditTime(time), " ", why, " (correlation ",
                correlation_id, ")");
}

}  // namespace

AuthFailureLog::AuthFailureLog(store::IdentityStore* store, const Clock* clock,
                               AuthFailureOptions options)
    : store_(store),
      clock_(clock),
      options_(options),
      throttle_(ThrottleOptions(options)) {}

absl::Time AuthFailureLog::BucketStart(absl::Time t) const {
  return absl::UnixEpoch() + absl::Floor(t - absl::UnixEpoch(),
                                         options_.bucket);
}

void AuthFailureLog::Record(const RequestContext& ctx, std::string_view why) {
  const absl::Time now = clock_->Now();
  throttle_.RecordFailure(ctx.source_address, now);
  Sample sample{now, ctx.correlation_id, std::string(why)};
  const absl::Time start = BucketStart(now);
  absl::MutexLock lock(&mu_);
  std::string address = ctx.source_address;
  if (!open_.contains(address) &&
      open_.size() >= options_.max_pending_addresses) {
    address = std::string(kOverflowAddress);
  }
  auto [it, added] = open_.try_emplace(address);
  Bucket& b = it->second;
  if (!added && b.start != start) {
    // The address's earlier minute has ended: it waits for Flush().
    if (ended_.size() < 2 * options_.max_pending_addresses) {
      ended_.push_back(std::move(b));
    }
    b = Bucket{};
    added = true;
  }
  if (added) {
    b.address = address;
    b.start = start;
    b.first = sample;
  }
  ++b.count;
  b.last = std::move(sample);
}

std::optional<absl::Duration> AuthFailureLog::RetryAfter(
    std::string_view address) const {
  return throttle_.RetryAfter(address, clock_->Now());
}

iam::AuditRecord AuthFailureLog::ToAudit(const Bucket& b) const {
  RequestContext ctx;  // no principal: the actor is "anonymous"
  ctx.correlation_id = b.first.correlation_id;
  ctx.source_address = b.address;
  std::string details =
      StrCat(b.count, b.count == 1 ? " failed authentication" :
                                     " failed authentications",
             " from ", b.address, " in the minute from ", AuditTime(b.start),
             "; ", Describe("first", b.first.why, b.first.time,
                            b.first.correlation_id));
  if (b.count > 1) {
    StrAppend(&details, "; ",
              Describe("last", b.last.why, b.last.time,
                       b.last.correlation_id));
  }
  iam::AuditRecord r = MakeAudit(ctx, clock_->Now(), "auth.failure",
                                 StrCat("address:", b.address),
                                 std::move(details));
  r.outcome = iam::AuditOutcome::kFailure;
  return r;
}

int AuthFailureLog::Flush(bool all) {
  absl::MutexLock flush_lock(&flush_mu_);
  std::vector<Bucket> due;
  {
    const absl::Time current = BucketStart(clock_->Now());
    absl::MutexLock lock(&mu_);
    due.swap(ended_);
    for (auto it = open_.begin(); it != open_.end();) {
      if (all || it->second.start != current) {
        due.push_back(std::move(it->second));
        open_.erase(it++);
      } else {
        ++it;
      }
    }
  }
  int written = 0;
  for (size_t i = 0; i < due.size(); ++i) {
    absl::Status s = store_->AppendAudit(ToAudit(due[i]));
    if (!s.ok()) {
      if (on_error_) on_error_(s);
      // Keep the rest (this one included) for the next try.
      absl::MutexLock lock(&mu_);
      for (size_t j = i; j < due.size(); ++j) {
        if (ended_.size() < 2 * options_.max_pending_addresses) {
          ended_.push_back(std::move(due[j]));
        }
      }
      break;
    }
    ++written;
  }
  return written;
}

size_t AuthFailureLog::pending() const {
  absl::MutexLock lock(&mu_);
  return open_.size() + ended_.size();
}

}  // namespace keywarden::service
