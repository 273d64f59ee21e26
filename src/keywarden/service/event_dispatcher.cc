#include "keywarden/service/event_dispatcher.h"

#include <algorithm>
#include <atomic>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"

namespace keywarden::service {

EventDispatcher::EventDispatcher(store::Store* store,
                                 const WebhookRegistry* webhooks,
                                 EventSink* sink, const Clock* clock,
                                 EventDispatcherOptions options)
    : store_(store),
      webhooks_(webhooks),
      sink_(sink),
      clock_(clock),
      options_(std::move(options)) {}

EventDispatcher::~EventDispatcher() { Stop(); }

void EventDispatcher::Start() { loop_.Start(); }
void EventDispatcher::Stop() {
  loop_.Stop();
  // A node that stops cleanly hands delivery over at once.
  (void)store_->ReleaseLease("event-dispatch", options_.node_id);
}
void EventDispatcher::Wake() { loop_.Wake(); }

absl::Duration EventDispatcher::Backoff(int64_t attempts) const {
  absl::Duration d = options_.retry_initial;
  for (int64_t i = 1; i < attempts && d < options_.retry_max; ++i) d *= 2;
  return std::min(d, options_.retry_max);
}

absl::StatusOr<int> EventDispatcher::RunOnce() {
  absl::Time now = clock_->Now();
  // Held for a while beyond one run: a node that stops renewing it (crashed)
  // hands over after that.
  KW_ASSIGN_OR_RETURN(bool leader,
                      store_->TryAcquireLease("event-dispatch", options_.node_id,
                                              now, 2 * options_.poll_interval));
  if (!leader) return 0;
  KW_ASSIGN_OR_RETURN(std::vector<keys::KeyEvent> due,
                      store_->ListDueEvents(now, options_.batch));
  // By service, each in the store's order (earliest due first).
  std::vector<std::vector<const keys::KeyEvent*>> by_service;
  absl::flat_hash_map<std::string_view, size_t> index;
  for (const keys::KeyEvent& event : due) {
    auto [it, added] = index.try_emplace(event.service_id, by_service.size());
    if (added) by_service.emplace_back();
    by_service[it->second].push_back(&event);
  }

  std::atomic<size_t> next_service{0};
  absl::Mutex mu;
  absl::Status first_error;
  auto work = [&] {
    for (size_t i; (i = next_service++) < by_service.size();) {
      absl::Status s = DeliverInOrder(by_service[i]);
      if (!s.ok()) {
        absl::MutexLock lock(&mu);
        if (first_error.ok()) first_error = std::move(s);
      }
    }
  };
  const size_t threads = std::min<size_t>(
      by_service.size(), std::max(options_.parallel_services, 1));
  std::vector<std::thread> helpers;
  for (size_t i = 1; i < threads; ++i) helpers.emplace_back(work);
  work();
  for (std::thread& t : helpers) t.join();
  KW_RETURN_IF_ERROR(first_error);
  // Every due event got an attempt recorded.
  return static_cast<int>(due.size());
}

EventDispatcher::Attempt EventDispatcher::TryDelivery(
    const keys::KeyEvent& event, absl::Time at) {
  Attempt a;
  a.wait = Backoff(event.attempts + 1);
  absl::StatusOr<std::optional<WebhookTarget>> target =
      webhooks_->TargetFor(event.service_id);
  if (!target.ok()) {
    a.outcome.error = "the webhook secret could not be unsealed";
  } else if (!target->has_value()) {
    // Looked at again soon: the administrator may set the webhook.
    a.outcome.error = "the service id has no webhook";
    a.wait = std::min(a.wait, options_.poll_interval);
  } else {
    a.outcome = sink_->Deliver(**target, event, event.attempts + 1, at);
  }
  return a;
}

absl::Status EventDispatcher::DeliverInOrder(
    const std::vector<const keys::KeyEvent*>& events) {
  // The attempt that found the webhook unreachable: the rest of the
  // service's events are not sent, and wait until its retry.
  std::optional<absl::Time> held_until;
  std::string held_error;
  for (const keys::KeyEvent* event : events) {
    absl::Time at = clock_->Now();
    Attempt a;
    absl::Time next;
    if (held_until.has_value()) {
      a.outcome.error = held_error;
      next = *held_until;
    } else {
      a = TryDelivery(*event, at);
      next = a.outcome.delivered ? at + options_.ack_timeout : at + a.wait;
      if (a.outcome.unreachable) {
        held_until = next;
        held_error = StrCat("not sent: ", a.outcome.error);
      }
    }
    KW_RETURN_IF_ERROR(store_->RecordEventAttempt(
        event->id, at, a.outcome.delivered, next, a.outcome.error));
  }
  return absl::OkStatus();
}

absl::Duration EventDispatcher::Pass() {
  absl::StatusOr<int> ran = RunOnce();
  if (!ran.ok()) {
    if (options_.on_error) options_.on_error(ran.status());
    return options_.poll_interval;
  }
  absl::StatusOr<std::optional<absl::Time>> next = store_->NextEventDue();
  if (!next.ok() || !next->has_value()) return options_.poll_interval;
  return std::clamp(**next - clock_->Now(), absl::Milliseconds(10),
                    options_.poll_interval);
}

}  // namespace keywarden::service
