#include "keywarden/service/event_dispatcher.h"

#include <algorithm>
#include <utility>

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
  int attempts = 0;
  for (const keys::KeyEvent& event : due) {
    absl::Time at = clock_->Now();
    EventSink::Outcome outcome;
    absl::StatusOr<std::optional<WebhookTarget>> target =
        webhooks_->TargetFor(event.service_id);
    absl::Duration wait = Backoff(event.attempts + 1);
    if (!target.ok()) {
      outcome.error = "the webhook secret could not be unsealed";
    } else if (!target->has_value()) {
      // Looked at again soon: the administrator may set the webhook.
      outcome.error = "the service id has no webhook";
      wait = std::min(wait, options_.poll_interval);
    } else {
      outcome = sink_->Deliver(**target, event, event.attempts + 1, at);
    }
    absl::Time next =
        outcome.delivered ? at + options_.ack_timeout : at + wait;
    KW_RETURN_IF_ERROR(store_->RecordEventAttempt(
        event.id, at, outcome.delivered, next, outcome.error));
    ++attempts;
  }
  return attempts;
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
