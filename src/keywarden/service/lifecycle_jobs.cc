#include "keywarden/service/lifecycle_jobs.h"

#include <utility>

namespace keywarden::service {

LifecycleJobs::LifecycleJobs(KeyManager* keys, store::Store* store,
                             const Clock* clock, LifecycleJobOptions options)
    : keys_(keys), store_(store), clock_(clock), options_(std::move(options)) {}

LifecycleJobs::~LifecycleJobs() { Stop(); }

void LifecycleJobs::Start() { loop_.Start(); }
void LifecycleJobs::Stop() {
  loop_.Stop();
  (void)store_->ReleaseLease("lifecycle-jobs", options_.node_id);
}

void LifecycleJobs::RunNow() {
  std::lock_guard run(run_mu_);
  auto report = [this](std::string_view job, const absl::StatusOr<int>& r) {
    if (options_.on_result) options_.on_result(job, r);
  };
  absl::StatusOr<bool> leader = store_->TryAcquireLease(
      "lifecycle-jobs", options_.node_id, clock_->Now(), 3 * options_.interval);
  if (!leader.ok()) return report("lease", leader.status());
  if (!*leader) return;
  report("expiry", keys_->SweepExpiredKeys());
  report("rotation", keys_->RotateDueKeys());
  report("purge", keys_->PurgeDueKeys());
}

}  // namespace keywarden::service
