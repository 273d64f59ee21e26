#include "keywarden/iam/throttle.h"

#include <algorithm>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "keywarden/common/strings.h"

namespace keywarden::iam {
namespace {

FailureThrottle::Options Sanitize(FailureThrottle::Options o) {
  o.max_failures = std::max(o.max_failures, 1);
  if (o.window <= absl::ZeroDuration()) o.window = absl::Seconds(1);
  o.max_tracked_keys = std::max<size_t>(o.max_tracked_keys, 1);
  return o;
}

}  // namespace

FailureThrottle::Options FailureThrottle::ApiKeyPrefixOptions() {
  return Options{.max_failures = 5, .window = absl::Minutes(1)};
}

FailureThrottle::Options FailureThrottle::SourceAddressOptions() {
  return Options{.max_failures = 20, .window = absl::Minutes(1)};
}

FailureThrottle::FailureThrottle(Options options)
    : options_(Sanitize(options)) {}

std::optional<absl::Duration> FailureThrottle::RetryAfter(
    std::string_view key, absl::Time now) const {
  absl::MutexLock lock(&mu_);
  auto it = index_.find(AbslView(key));
  if (it == index_.end()) return std::nullopt;
  const std::vector<absl::Time>& failures = it->second->failures;
  // Failures still inside the window; at most max_failures are kept, so
  // the limit is reached only when every kept one is inside.
  const absl::Time horizon = now - options_.window;
  const auto first_live =
      std::find_if(failures.begin(), failures.end(),
                   [&](absl::Time t) { return t > horizon; });
  const auto live = static_cast<size_t>(failures.end() - first_live);
  if (live < static_cast<size_t>(options_.max_failures)) return std::nullopt;
  // The count drops below the limit when the oldest live failure leaves the
  // window. Clamped for a clock that stepped back.
  const absl::Duration wait = *first_live + options_.window - now;
  return std::clamp(wait, absl::Nanoseconds(1), options_.window);
}

void FailureThrottle::RecordFailure(std::string_view key, absl::Time now) {
  absl::MutexLock lock(&mu_);
  const absl::Time horizon = now - options_.window;
  // Drop keys whose last failure has left the window: they no longer limit
  // anything. The LRU order puts them at the front.
  while (!lru_.empty() && lru_.front().failures.back() <= horizon) {
    index_.erase(lru_.front().key);
    lru_.pop_front();
  }
  auto it = index_.find(AbslView(key));
  if (it == index_.end()) {
    if (index_.size() >= options_.max_tracked_keys) {
      index_.erase(lru_.front().key);
      lru_.pop_front();
    }
    lru_.push_back(Entry{std::string(key), {}});
    it = index_.emplace(lru_.back().key, std::prev(lru_.end())).first;
  } else {
    lru_.splice(lru_.end(), lru_, it->second);
  }
  std::vector<absl::Time>& failures = it->second->failures;
  failures.erase(failures.begin(),
                 std::find_if(failures.begin(), failures.end(),
                              [&](absl::Time t) { return t > horizon; }));
  if (failures.size() == static_cast<size_t>(options_.max_failures)) {
    failures.erase(failures.begin());
  }
  failures.push_back(now);
}

void FailureThrottle::Reset(std::string_view key) {
  absl::MutexLock lock(&mu_);
  auto it = index_.find(AbslView(key));
  if (it == index_.end()) return;
  lru_.erase(it->second);
  index_.erase(it);
}

size_t FailureThrottle::tracked_keys() const {
  absl::MutexLock lock(&mu_);
  return index_.size();
}

}  // namespace keywarden::iam
