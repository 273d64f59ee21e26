#include "keywarden/server/run_server.h"
#include "keywarden/common/strings.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>

#include <spdlog/async.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "keywarden/api/http/http_api.h"
#include "keywarden/api/http/server.h"
#include "keywarden/common/clock.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/iam/access.h"
#include "keywarden/iam/authenticator.h"
#include "keywarden/service/identity_manager.h"
#include "keywarden/seal/seal.h"
#include "keywarden/service/key_manager.h"
#include "keywarden/store/sqlite/sqlite_store.h"

namespace keywarden::server {
namespace {

constexpr std::string_view kAdminTokenMeta = "admin_token_sha256";

// Every log line is one JSON object; messages are JSON members already.
void SetUpLogging(const Config& config) {
  spdlog::init_thread_pool(16384, 1);
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  // The access log must not cost the I/O threads a write(2) per request:
  // lines go through a queue to one logging thread, which blocks producers
  // only when the queue is full (lines are never dropped).
  auto logger = std::make_shared<spdlog::async_logger>(
      "keywarden", sink, spdlog::thread_pool(),
      spdlog::async_overflow_policy::block);
  logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","event":%v})",
                      spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(config.log_level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

// Loads the admin token hash, creating it on first start: from
// KEYWARDEN_ADMIN_TOKEN if set, else a fresh token printed once on stdout.
absl::StatusOr<iam::TokenHash> BootstrapAdminToken(store::Store& store) {
  KW_ASSIGN_OR_RETURN(std::optional<std::string> stored,
                      store.GetMeta(kAdminTokenMeta));
  iam::TokenHash hash;
  if (stored) {
    if (!iam::TokenHashFromHex(*stored, &hash)) {
      return absl::DataLossError("stored admin token hash is malformed");
    }
    return hash;
  }
  const char* from_env = std::getenv("KEYWARDEN_ADMIN_TOKEN");
  std::string token = from_env != nullptr && *from_env != '\0'
                          ? std::string(from_env)
                          : iam::GenerateAdminToken();
  hash = iam::HashToken(token);
  KW_ASSIGN_OR_RETURN(bool created,
                      store.PutMetaIfAbsent(kAdminTokenMeta,
                                            iam::TokenHashToHex(hash)));
  if (!created) return BootstrapAdminToken(store);  // another starter won
  if (from_env == nullptr || *from_env == '\0') {
    // Shown once, on stdout rather than in the log, and never stored.
    std::printf(
        "\nKeywarden bootstrap admin token (shown once, store it safely):\n"
        "  %s\n\n",
        token.c_str());
    std::fflush(stdout);
  }
  spdlog::info(R"({"msg":"bootstrap admin token created"})");
  return hash;
}

absl::Status PrepareDataDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::FailedPreconditionError(
        StrCat("cannot create data dir ", dir, ": ", strerror(errno)));
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        StrCat("data dir ", dir, " is not a directory"));
  }
  return absl::OkStatus();
}

// Moves expired keys to Deactivated every `interval` until stopped.
class ExpirySweeper {
 public:
  ExpirySweeper(service::KeyManager* keys, absl::Duration interval)
      : keys_(keys), interval_(interval), thread_([this] { Run(); }) {}
  ~ExpirySweeper() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void SweepNow() {
    absl::StatusOr<int> moved = keys_->SweepExpiredKeys();
    if (!moved.ok()) {
      spdlog::warn(R"({{"msg":"expiry sweep failed","status":"{}"}})",
                   moved.status().ToString());
    } else if (*moved > 0) {
      spdlog::info(R"({{"msg":"expired keys deactivated","count":{}}})",
                   *moved);
    }
  }

 private:
  void Run() {
    std::unique_lock lock(mu_);
    while (!stop_) {
      cv_.wait_for(lock, absl::ToChronoSeconds(interval_),
                   [this] { return stop_; });
      if (stop_) break;
      lock.unlock();
      SweepNow();
      lock.lock();
    }
  }

  service::KeyManager* keys_;
  absl::Duration interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

int Fail(std::string_view what, const absl::Status& status) {
  std::fprintf(stderr, "keywarden: %.*s: %.*s\n", static_cast<int>(what.size()),
               what.data(), static_cast<int>(status.message().size()),
               status.message().data());
  spdlog::shutdown();
  return 1;
}

}  // namespace

int RunServer(const Config& config) {
  // Block the shutdown signals before any thread starts so that only the
  // sigwait below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  SetUpLogging(config);
  if (absl::Status s = PrepareDataDir(config.data_dir); !s.ok()) {
    return Fail("data dir", s);
  }
  std::unique_ptr<seal::Seal> seal = seal::NewFileSeal(config.data_dir);
  absl::StatusOr<std::unique_ptr<seal::MasterKey>> master_key = seal->Unseal();
  if (!master_key.ok()) return Fail("seal", master_key.status());
  spdlog::warn(
      R"({"msg":"file seal in use: the master key is stored beside the data; for development only"})");

  absl::StatusOr<std::unique_ptr<store::SqliteStore>> store =
      store::SqliteStore::Open(config.data_dir + "/keywarden.db");
  if (!store.ok()) return Fail("store", store.status());

  absl::StatusOr<iam::TokenHash> admin = BootstrapAdminToken(**store);
  if (!admin.ok()) return Fail("admin token", admin.status());

  SystemClock system_clock;
  OffsetClock test_clock;
  const Clock* clock = config.test_clock ? static_cast<const Clock*>(&test_clock)
                                         : &system_clock;
  iam::AccessIndex access;
  service::IdentityOptions identity_options;
  identity_options.token_lifetime = config.token_lifetime;
  service::IdentityManager identity(store->get(), store->get(), &access,
                                    master_key->get(), clock, identity_options);
  std::optional<std::string> admin_api_key;
  if (const char* k = std::getenv("KEYWARDEN_ADMIN_APIKEY"); k && *k) {
    admin_api_key = k;
  }
  if (absl::Status s = identity.Start(*admin, admin_api_key); !s.ok()) {
    return Fail("identity", s);
  }

  service::KeyManagerOptions km_options;
  km_options.timers = config.timers;
  km_options.cache_capacity = config.cache_capacity;
  service::KeyManager keys(store->get(), master_key->get(), &access, clock,
                           km_options);
  ExpirySweeper sweeper(&keys, config.expiry_sweep_interval);

  api::http::ApiOptions api_options;
  api_options.crn_prefix = StrCat("crn:v1:keywarden:private:kms:",
                                        config.crn_region, ":a/",
                                        config.crn_account, ":");
  api_options.access_log = config.access_log;
  if (config.test_clock) {
    api_options.test_clock = &test_clock;
    api_options.after_clock_advance = [&sweeper] { sweeper.SweepNow(); };
    spdlog::warn(R"({"msg":"test clock enabled: clients can move time"})");
  }
  store::SqliteStore* sqlite = store->get();
  api_options.ready = [sqlite] { return sqlite->GetMeta("schema").ok(); };
  api::http::KeyProtectApi api(&keys, &identity, std::move(api_options));
  (void)api.metrics().AddGauge("keywarden_key_cache_entries",
                               "Keys held unsealed in the cache",
                               [&keys] { return double(keys.CacheSize()); });

  api::http::HttpServerOptions server_options;
  server_options.host = config.listen_host;
  server_options.port = config.listen_port;
  server_options.threads = config.threads;
  if (!config.tls_cert.empty()) {
    server_options.tls_cert_file = config.tls_cert;
    server_options.tls_key_file = config.tls_key;
  }
  server_options.error_responder = [&api](api::http::HttpStatus status,
                                          api::http::Response& res) {
    api.TransportError(static_cast<int>(status), res);
  };
  server_options.max_body_bytes = config.max_body_bytes;
  server_options.read_timeout = absl::ToChronoMilliseconds(config.read_timeout);
  server_options.idle_timeout = absl::ToChronoMilliseconds(config.idle_timeout);
  absl::StatusOr<std::unique_ptr<api::http::HttpServer>> http =
      api::http::HttpServer::Start(
          server_options,
          [&api](const api::http::Request& req, api::http::Response& res) {
            api.Handle(req, res);
          });
  if (!http.ok()) return Fail("listen", http.status());
  std::string scheme = config.tls_cert.empty() ? "http" : "https";
  spdlog::info(R"({{"msg":"listening on {}://{}","threads":{}}})", scheme,
               (*http)->endpoint(), config.threads);

  int received = 0;
  sigwait(&signals, &received);
  spdlog::info(R"({{"msg":"shutting down","signal":{}}})", received);
  (*http)->Stop();
  spdlog::info(R"({"msg":"stopped"})");
  spdlog::shutdown();
  return 0;
}

}  // namespace keywarden::server
