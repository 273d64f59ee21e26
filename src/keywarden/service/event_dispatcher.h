#ifndef KEYWARDEN_SERVICE_EVENT_DISPATCHER_H_
#define KEYWARDEN_SERVICE_EVENT_DISPATCHER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "keywarden/common/clock.h"
#include "keywarden/keys/registration.h"
#include "keywarden/service/background_loop.h"
#include "keywarden/service/webhooks.h"
#include "keywarden/store/store.h"

namespace keywarden::service {

// The transport of one delivery (the server wires an HTTP webhook sink).
class EventSink {
 public:
  struct Outcome {
    bool delivered = false;  // the receiver answered 2xx
    // No HTTP answer at all (resolve, connect, TLS or timeout), so not
    // delivered: the service's later events of the pass are not tried.
    bool unreachable = false;
    std::string error;       // why not, short and client-safe
  };
  virtual ~EventSink() = default;
  // Delivers `event` (attempt number `attempt`, from 1) to `target` at
  // `now`; blocks for at most the sink's own timeout. Called from several
  // threads at once (for different services).
  virtual Outcome Deliver(const WebhookTarget& target,
                          const keys::KeyEvent& event, int64_t attempt,
                          absl::Time now) = 0;
};

struct EventDispatcherOptions {
  // Backoff of failed deliveries: retry_initial, doubling, at most
  // retry_max between attempts.
  absl::Duration retry_initial = absl::Seconds(1);
  absl::Duration retry_max = absl::Minutes(15);
  // A delivered event that is not acknowledged within this is sent again
  // (services have 4 h to act on an event, keyprotect-api.md §12).
  absl::Duration ack_timeout = absl::Hours(4);
  // Without a wake-up the store is looked at least this often (events made
  // by another node, or due while asleep).
  absl::Duration poll_interval = absl::Seconds(30);
  // Lease holder name of this node (several nodes deliver one at a time).
  std::string node_id = "keywarden";
  int64_t batch = 100;
  // Services delivered to at the same time, one thread each: a service's
  // events go one after another in the order they were made, so a slow or
  // unreachable webhook holds up only its own service.
  int parallel_services = 8;
  // Told about store failures of the background loop (the server logs
  // them); the loop carries on at the next poll.
  std::function<void(const absl::Status&)> on_error;
};

// EventDispatcher delivers the lifecycle events the store holds until each
// is acknowledged (POST /event_ack): due events go to their service's
// webhook, failures are retried with exponential backoff, delivered but
// unacknowledged events are sent again after ack_timeout, and every attempt
// is recorded in the store, so a restart loses nothing (delivery is at
// least once; receivers deduplicate by eventId). Once a service's webhook
// cannot be reached, its other due events wait for the next attempt with
// the failed one (recorded as attempts, so they back off together). One
// thread, plus up to parallel_services - 1 for a pass that has events of
// several services; Wake() after a change that may have made an event
// due. Thread-safe.
class EventDispatcher {
 public:
  EventDispatcher(store::Store* store, const WebhookRegistry* webhooks,
                  EventSink* sink, const Clock* clock,
                  EventDispatcherOptions options);
  ~EventDispatcher();  // stops the thread

  void Start();
  void Stop();
  void Wake();

  // Delivers what is due now, on the calling thread; returns the number of
  // attempts made. (The thread's loop; also for tests.)
  absl::StatusOr<int> RunOnce();

 private:
  // One pass of the thread: RunOnce, then how long to sleep.
  absl::Duration Pass();
  absl::Duration Backoff(int64_t attempts) const;
  // One delivery of `event` at `at`, and how long to wait if it failed.
  struct Attempt {
    EventSink::Outcome outcome;
    absl::Duration wait;
  };
  Attempt TryDelivery(const keys::KeyEvent& event, absl::Time at);
  // Delivers one service's due events in order, recording each attempt.
  absl::Status DeliverInOrder(const std::vector<const keys::KeyEvent*>& events);

  store::Store* store_;
  const WebhookRegistry* webhooks_;
  EventSink* sink_;
  const Clock* clock_;
  EventDispatcherOptions options_;

  BackgroundLoop loop_{[this] { return Pass(); }};
};

}  // namespace keywarden::service

#endif  // KEYWARDEN_SERVICE_EVENT_DISPATCHER_H_
