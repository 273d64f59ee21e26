#ifndef KEYWARDEN_SERVICE_LIFECYCLE_JOBS_H_
#define KEYWARDEN_SERVICE_LIFECYCLE_JOBS_H_

#include <functional>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "keywarden/common/clock.h"
#include "keywarden/service/background_loop.h"
#include "keywarden/service/key_manager.h"
#include "keywarden/store/store.h"

namespace keywarden::service {

struct LifecycleJobOptions {
  absl::Duration interval = absl::Minutes(1);
  // Lease holder name of this node: with several nodes on one database the
  // jobs run on one of them at a time.
  std::string node_id = "keywarden";
  // What a run did or why it failed (the server logs it).
  std::function<void(std::string_view job, const absl::StatusOr<int>&)>
      on_result;
};

// LifecycleJobs runs the background work of the key lifecycle at start and
// then every `interval`: the expiry sweep (Deactivated persisted), automatic rotation
// (rotation policies, keyprotect-api.md §7.1; a key is rotated within one
// interval after it is due, well inside Key Protect's 24 h window) and
// automatic purge (90 days after deletion, §3.7). A run happens only while
// this node holds the store lease "lifecycle-jobs". Thread-safe.
class LifecycleJobs {
 public:
  LifecycleJobs(KeyManager* keys, store::Store* store, const Clock* clock,
                LifecycleJobOptions options);
  ~LifecycleJobs();  // stops the thread

  void Start();
  void Stop();
  // One run of every job, on the calling thread (after the test clock
  // moves, and from the loop).
  void RunNow();

 private:

  KeyManager* keys_;
  store::Store* store_;
  const Clock* clock_;
  LifecycleJobOptions options_;
  std::mutex run_mu_;  // one run at a time
  BackgroundLoop loop_{[this] {
    RunNow();
    return options_.interval;
  }};
};

}  // namespace keywarden::service

#endif  // KEYWARDEN_SERVICE_LIFECYCLE_JOBS_H_
