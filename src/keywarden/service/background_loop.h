#ifndef KEYWARDEN_SERVICE_BACKGROUND_LOOP_H_
#define KEYWARDEN_SERVICE_BACKGROUND_LOOP_H_

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/time/time.h"

namespace keywarden::service {

// One background thread that runs `body` and then sleeps for what it
// returned, or until Wake() or Stop(): the loop of the event dispatcher
// and of the lifecycle jobs. Thread-safe.
class BackgroundLoop {
 public:
  explicit BackgroundLoop(std::function<absl::Duration()> body)
      : body_(std::move(body)) {}
  ~BackgroundLoop() { Stop(); }

  void Start() {
    std::lock_guard lock(mu_);
    if (thread_.joinable()) return;
    stop_ = false;
    thread_ = std::thread([this] { Loop(); });
  }
  // Lets a running body finish, then joins the thread.
  void Stop() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  // Ends the current sleep (or the next one, if the body is running).
  void Wake() {
    {
      std::lock_guard lock(mu_);
      woken_ = true;
    }
    cv_.notify_all();
  }

 private:
  void Loop() {
    std::unique_lock lock(mu_);
    while (!stop_) {
      woken_ = false;
      lock.unlock();
      absl::Duration wait = body_();
      lock.lock();
      if (stop_) break;
      cv_.wait_for(lock, absl::ToChronoMilliseconds(wait),
                   [this] { return stop_ || woken_; });
    }
  }

  std::function<absl::Duration()> body_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace keywarden::service

#endif  // KEYWARDEN_SERVICE_BACKGROUND_LOOP_H_
