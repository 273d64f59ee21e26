#include "keywarden/server/run_server.h"
#include "keywarden/common/strings.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include <spdlog/async.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "keywarden/api/keyprotect/keyprotect_api.h"
#include "keywarden/api/kmip/protocol.h"
#include "keywarden/api/kmip/server.h"
#include "keywarden/api/kmip/service_backend.h"
#include "keywarden/api/http/server.h"
#include "keywarden/api/keyprotect/webhook_sink.h"
#include "keywarden/common/cidr.h"
#include "keywarden/common/clock.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/iam/access.h"
#include "keywarden/iam/authenticator.h"
#include "keywarden/service/identity_manager.h"
#include "keywarden/service/signing_keys.h"
#include "keywarden/service/token_authenticator.h"
#include "keywarden/service/token_issuer.h"
#include "keywarden/seal/pkcs11_seal.h"
#include "keywarden/seal/seal.h"
#include "keywarden/seal/seal_record.h"
#include "keywarden/server/hardening.h"
#include "keywarden/service/access_control.h"
#include "keywarden/service/auth_failures.h"
#include "keywarden/service/background_loop.h"
#include "keywarden/service/event_dispatcher.h"
#include "keywarden/service/import_tokens.h"
#include "keywarden/service/instance_policies.h"
#include "keywarden/service/instance_policy_index.h"
#include "keywarden/service/key_manager.h"
#include "keywarden/service/kmip_adapters.h"
#include "keywarden/service/kmip_cache.h"
#include "keywarden/service/lifecycle_jobs.h"
#include "keywarden/service/registrations.h"
#include "keywarden/service/seal_service.h"
#include "keywarden/service/webhooks.h"
#include "keywarden/store/postgres/postgres_store.h"
#include "keywarden/store/sqlite/sqlite_store.h"

namespace keywarden::server {
namespace {

constexpr std::string_view kAdminTokenMeta = "admin_token_sha256";
// As for KEYWARDEN_ADMIN_APIKEY: the token is an administrator's credential
// until revoked, and the generated one has 256 bits.
constexpr size_t kMinAdminTokenChars = 32;

// KEYWARDEN_ADMIN_TOKEN if set and non-empty. Checked on every start, not
// only the first, so a short value in a unit file is found at once.
absl::StatusOr<std::optional<std::string>> AdminTokenFromEnvironment() {
  const char* from_env = std::getenv("KEYWARDEN_ADMIN_TOKEN");
  if (from_env == nullptr || *from_env == '\0') return std::nullopt;
  std::string token(from_env);
  if (token.size() < kMinAdminTokenChars) {
    return absl::InvalidArgumentError(StrCat(
        "KEYWARDEN_ADMIN_TOKEN must be at least ", kMinAdminTokenChars,
        " characters (it has ", token.size(),
        "); unset it to have a random one generated"));
  }
  return token;
}

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
// KEYWARDEN_ADMIN_TOKEN (`from_env`) if set, else a fresh token printed once
// on stdout.
absl::StatusOr<iam::TokenHash> BootstrapAdminToken(
    store::Store& store, const std::optional<std::string>& from_env) {
  KW_ASSIGN_OR_RETURN(std::optional<std::string> stored,
                      store.GetMeta(kAdminTokenMeta));
  iam::TokenHash hash;
  if (stored) {
    if (!iam::TokenHashFromHex(*stored, &hash)) {
      return absl::DataLossError("stored admin token hash is malformed");
    }
    return hash;
  }
  std::string token = from_env ? *from_env : iam::GenerateAdminToken();
  hash = iam::HashToken(token);
  KW_ASSIGN_OR_RETURN(bool created,
                      store.PutMetaIfAbsent(kAdminTokenMeta,
                                            iam::TokenHashToHex(hash)));
  if (!created) return BootstrapAdminToken(store, from_env);  // another won
  if (!from_env) {
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

// The blocks where callers count as on a private network.
std::vector<Cidr> PrivateNetworks(const Config& config) {
  std::vector<Cidr> out;
  if (config.private_networks.empty()) {
    for (std::string_view text : DefaultPrivateNetworks()) {
      out.push_back(*Cidr::Parse(text));
    }
    return out;
  }
  for (absl::string_view block :
       absl::StrSplit(config.private_networks, ',', absl::SkipWhitespace())) {
    // Validate() checked every block.
    out.push_back(*Cidr::Parse(StdView(absl::StripAsciiWhitespace(block))));
  }
  return out;
}

// A node's name in job leases: the host name, so a restarted process takes
// its own lease back at once (several nodes on one host need node_id).
std::string NodeId(const Config& config) {
  if (!config.node_id.empty()) return config.node_id;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') {
    return "keywarden";
  }
  return host;
}

// The seal of `config`, opened: the file seal's path, or the PKCS#11
// token (PIN from KEYWARDEN_PKCS11_PIN or the pin file).
struct SealSetup {
  service::SealServiceOptions options;
  std::unique_ptr<seal::KeyWrapper> wrapper;  // owned here for pkcs11
};

absl::StatusOr<SecretBytes> Pkcs11Pin(const Config& config) {
  if (!config.pkcs11_pin_file.empty()) {
    // Read as the master key file is: a private regular file.
    FILE* f = std::fopen(config.pkcs11_pin_file.c_str(), "rbe");
    if (f == nullptr) {
      return absl::FailedPreconditionError(
          StrCat("cannot read the PKCS#11 PIN file ", config.pkcs11_pin_file));
    }
    struct stat st;
    if (::fstat(::fileno(f), &st) != 0 || !S_ISREG(st.st_mode) ||
        (st.st_mode & 077) != 0) {
      std::fclose(f);
      return absl::FailedPreconditionError(
          StrCat("the PKCS#11 PIN file ", config.pkcs11_pin_file,
                 " must be a regular file that only its owner may read "
                 "(chmod 600)"));
    }
    SecretBytes buf(256);
    size_t n = std::fread(buf.data(), 1, buf.size(), f);
    std::fclose(f);
    while (n > 0 && (buf.data()[n - 1] == '\n' || buf.data()[n - 1] == '\r')) {
      --n;
    }
    buf.Truncate(n);
    if (buf.empty()) {
      return absl::FailedPreconditionError("the PKCS#11 PIN file is empty");
    }
    return buf;
  }
  const char* env = std::getenv("KEYWARDEN_PKCS11_PIN");
  if (env == nullptr || *env == '\0') {
    return absl::FailedPreconditionError(
        "--seal pkcs11 needs the token's user PIN in KEYWARDEN_PKCS11_PIN or "
        "--pkcs11-pin-file");
  }
  return SecretBytes(reinterpret_cast<const uint8_t*>(env), std::strlen(env));
}

absl::StatusOr<SealSetup> SetUpSeal(const Config& config,
                                    store::SqlStore& store) {
  SealSetup setup;
  // Validate() checked the name.
  setup.options.type = *seal::ParseSealType(config.seal);
  KW_ASSIGN_OR_RETURN(std::optional<std::string> record,
                      store.GetMeta(service::SealService::kMetaName));
  const std::string key_file = config.data_dir + "/master.key";
  struct stat st;
  if (!record.has_value() && setup.options.type != seal::SealType::kFile &&
      ::stat(key_file.c_str(), &st) == 0) {
    // A data dir of the file seal from before seal records.
    return absl::FailedPreconditionError(StrCat(
        key_file, " holds this database's master key (the file seal); start "
        "with --seal file"));
  }
  switch (setup.options.type) {
    case seal::SealType::kFile:
      setup.options.file = seal::NewFileSeal(config.data_dir);
      spdlog::warn(
          R"({"msg":"file seal in use: the master key is stored beside the data; for development only"})");
      break;
    case seal::SealType::kShamir:
      break;
    case seal::SealType::kPkcs11: {
      seal::Pkcs11Options p11;
      p11.module = config.pkcs11_module;
      p11.token_label = config.pkcs11_token;
      p11.key_label = config.pkcs11_key;
      KW_ASSIGN_OR_RETURN(p11.pin, Pkcs11Pin(config));
      // Only a new database may have its wrapping key made in the token.
      p11.create_key_if_missing = !record.has_value();
      KW_ASSIGN_OR_RETURN(setup.wrapper, seal::OpenPkcs11Wrapper(p11));
      setup.options.wrapper = setup.wrapper.get();
      break;
    }
  }
  return setup;
}

void LogSealState(const service::SealStatus& s, std::string_view event) {
  spdlog::info(
      R"({{"msg":"seal state","event":"{}","seal":"{}","initialized":{},"sealed":{}}})",
      event, seal::SealTypeName(s.type), s.initialized, s.sealed);
}

int Fail(std::string_view what, const absl::Status& status) {
  std::fprintf(stderr, "keywarden: %.*s: %.*s\n", static_cast<int>(what.size()),
               what.data(), static_cast<int>(status.message().size()),
               status.message().data());
  spdlog::shutdown();
  return 1;
}

}  // namespace

namespace {

// The store the configuration names: PostgreSQL for a postgresql:// URL,
// else SQLite in the data directory. Neither the URL nor the password is
// logged (the URL may hold the password).
absl::StatusOr<std::unique_ptr<store::SqlStore>> OpenStore(
    const Config& config) {
  if (config.database_url.empty()) {
    KW_ASSIGN_OR_RETURN(
        std::unique_ptr<store::SqliteStore> sqlite,
        store::SqliteStore::Open(config.data_dir + "/keywarden.db"));
    return std::unique_ptr<store::SqlStore>(std::move(sqlite));
  }
  store::PostgresStore::Options options;
  options.url = config.database_url;
  if (!config.database_password_file.empty()) {
    KW_ASSIGN_OR_RETURN(options.password,
                        ReadPrivateFile(config.database_password_file));
  }
  KW_ASSIGN_OR_RETURN(std::unique_ptr<store::PostgresStore> postgres,
                      store::PostgresStore::Open(std::move(options)));
  spdlog::info(R"({"msg":"store: PostgreSQL"})");
  return std::unique_ptr<store::SqlStore>(std::move(postgres));
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

  // Everything the server creates (database, WAL, master key) is private
  // from the first byte, whatever mode a later open() asks for.
  ::umask(077);
  SetUpLogging(config);
  if (config.allow_core_dumps) {
    spdlog::warn(
        R"({"msg":"core dumps allowed (--allow-core-dumps): a dump holds the master key and cached keys; for debugging only"})");
  } else if (absl::Status s = DisableCoreDumps(); !s.ok()) {
    return Fail("core dumps", s);
  }
  absl::StatusOr<std::optional<std::string>> admin_token =
      AdminTokenFromEnvironment();
  if (!admin_token.ok()) return Fail("admin token", admin_token.status());
  if (absl::Status s = PreparePrivateDataDir(config.data_dir); !s.ok()) {
    return Fail("data dir", s);
  }
  absl::StatusOr<std::unique_ptr<store::SqlStore>> store = OpenStore(config);
  if (!store.ok()) return Fail("store", store.status());

  // The master key slot every manager holds; the seal fills and wipes it
  // while the server runs (ARCHITECTURE.md §3).
  seal::MasterKey master_key;
  absl::StatusOr<SealSetup> seal_setup = SetUpSeal(config, **store);
  if (!seal_setup.ok()) return Fail("seal", seal_setup.status());
  seal_setup->options.reseal = store->get();  // for operator rekey
  service::SealService seals(store->get(), &master_key,
                             std::move(seal_setup->options));
  if (absl::Status s = seals.Start(); !s.ok()) return Fail("seal", s);
  LogSealState(seals.Status(), "start");
  seals.set_on_rekeyed([&master_key] {
    spdlog::info(R"({{"msg":"rekey finished","master_key_id":"{}"}})",
                 master_key.id());
  });
  // Resumes a rekey a crash interrupted (docs/operations.md).
  seals.StartRekeyThread();

  absl::StatusOr<iam::TokenHash> admin =
      BootstrapAdminToken(**store, *admin_token);
  if (!admin.ok()) return Fail("admin token", admin.status());

  SystemClock system_clock;
  OffsetClock test_clock;
  const Clock* clock = config.test_clock ? static_cast<const Clock*>(&test_clock)
                                         : &system_clock;
  iam::AccessIndex access;
  service::TokenOptions token_options;
  token_options.token_lifetime = config.token_lifetime;
  // Identity: administration, token issuing and token checking, sharing
  // the access index, the bootstrap token and the signing keys.
  service::BootstrapToken bootstrap;
  service::SigningKeySet signing_keys(store->get(), &master_key, clock,
                                      token_options);
  service::IdentityManager identity(store->get(), store->get(), &access,
                                    &bootstrap, clock);
  service::TokenIssuer token_issuer(store->get(), &access, &signing_keys,
                                    clock, token_options);
  service::TokenAuthenticator authenticator(&bootstrap, &access,
                                            &signing_keys, clock,
                                            token_options);
  std::optional<std::string> admin_api_key;
  if (const char* k = std::getenv("KEYWARDEN_ADMIN_APIKEY"); k && *k) {
    admin_api_key = k;
  }
  if (absl::Status s = identity.Start(*admin, admin_api_key); !s.ok()) {
    return Fail("identity", s);
  }
  if (absl::Status s = signing_keys.Start(); !s.ok()) {
    return Fail("signing keys", s);
  }

  // Failed bearer checks: counted in memory, written as one audit record
  // per address and minute by this loop, throttled past the limit.
  service::AuthFailureOptions auth_failure_options;
  auth_failure_options.max_failures_per_minute = config.auth_failures_per_minute;
  service::AuthFailureLog auth_failures(store->get(), clock,
                                        auth_failure_options);
  auth_failures.set_on_error([](const absl::Status& s) {
    spdlog::warn(R"({{"msg":"auth failure audit write failed","status":"{}"}})",
                 s.ToString());
  });
  service::BackgroundLoop auth_failure_flusher([&auth_failures] {
    auth_failures.Flush();
    return absl::Seconds(10);
  });

  // The lifecycle: instance policies (read on the request path), access
  // control, import tokens, webhooks and event delivery, keys, jobs.
  service::InstancePolicyIndex policy_index(PrivateNetworks(config));
  service::AccessControl access_control(store->get(), &access, &policy_index);
  service::InstancePolicyManager instance_policies(store->get(), &policy_index,
                                                   &access_control, clock);
  if (absl::Status s = instance_policies.Load(); !s.ok()) {
    return Fail("instance policies", s);
  }
  service::ImportTokenManager import_tokens(store->get(), &master_key,
                                            &access_control, clock, {});
  service::WebhookRegistry webhooks(store->get(), &access, &master_key,
                                    clock);
  if (absl::Status s = webhooks.Load(); !s.ok()) return Fail("webhooks", s);
  const std::string crn_prefix =
      StrCat("crn:v1:keywarden:private:kms:", config.crn_region, ":a/",
             config.crn_account, ":");
  const std::string node_id = NodeId(config);
  api::keyprotect::WebhookUrlPolicy webhook_policy;
  webhook_policy.allow_http = config.webhooks_allow_http;
  webhook_policy.allow_private = config.webhooks_allow_private;
  if (webhook_policy.allow_http || webhook_policy.allow_private) {
    spdlog::warn(R"({{"msg":"webhook destinations relaxed","allow_http":{},"allow_private":{}}})",
                 webhook_policy.allow_http, webhook_policy.allow_private);
  }
  webhooks.set_url_check([webhook_policy](std::string_view url) {
    return api::keyprotect::CheckWebhookUrl(url, webhook_policy);
  });
  api::keyprotect::WebhookSink sink({crn_prefix, config.event_delivery_timeout,
                               config.event_ack_timeout, webhook_policy});
  service::EventDispatcherOptions dispatch_options;
  dispatch_options.retry_initial = config.event_retry_initial;
  dispatch_options.retry_max = config.event_retry_max;
  dispatch_options.ack_timeout = config.event_ack_timeout;
  dispatch_options.poll_interval = config.event_poll_interval;
  dispatch_options.node_id = node_id;
  dispatch_options.on_error = [](const absl::Status& s) {
    spdlog::warn(R"({{"msg":"event delivery failed","status":"{}"}})",
                 s.ToString());
  };
  service::EventDispatcher dispatcher(store->get(), &webhooks, &sink, clock,
                                      dispatch_options);
  webhooks.set_on_change([&dispatcher] { dispatcher.Wake(); });

  service::DataPlaneService data_plane(
      {store->get(), &master_key, &access_control, clock},
      config.cache_capacity);
  service::KeyManagerOptions km_options;
  km_options.timers = config.timers;
  service::KeyManagerDeps km_deps;
  km_deps.store = store->get();
  km_deps.master_key = &master_key;
  km_deps.access = &access_control;
  km_deps.instance_policies = &policy_index;
  km_deps.import_tokens = &import_tokens;
  km_deps.clock = clock;
  km_deps.data_plane = &data_plane;
  km_deps.on_events = [&dispatcher] { dispatcher.Wake(); };
  service::KeyManager keys(std::move(km_deps), km_options);
  service::RegistrationManager registrations(store->get(), &access_control,
                                             clock);
  // The KMIP listener's callers and opened material (kmip_cache.h).
  service::KmipCache kmip_cache({});
  // On seal, unsealed material goes from memory with the master key: the
  // key cache and the token signing key (loaded again on first use).
  seals.set_on_change(
      [&data_plane, &signing_keys, &kmip_cache, &seals](bool sealed) {
    if (sealed) {
      data_plane.DropCache();
      kmip_cache.DropAll();
      signing_keys.Drop();
    }
    LogSealState(seals.Status(), sealed ? "seal" : "unseal");
  });

  service::LifecycleJobOptions job_options;
  job_options.interval = config.sweep_interval;
  job_options.node_id = node_id;
  job_options.on_result = [](std::string_view job,
                             const absl::StatusOr<int>& result) {
    if (!result.ok()) {
      spdlog::warn(R"({{"msg":"lifecycle job failed","job":"{}","status":"{}"}})",
                   job, result.status().ToString());
    } else if (*result > 0) {
      spdlog::info(R"({{"msg":"lifecycle job","job":"{}","keys":{}}})", job,
                   *result);
    }
  };
  service::LifecycleJobs jobs(&keys, store->get(), clock, job_options);

  // KMIP adapters (keyprotect-api.md §13): managed over REST, served on the
  // KMIP listener below; objects sealed under the adapter's root key.
  service::KmipAdapters kmip_adapters({.keys = store->get(),
                                       .store = store->get(),
                                       .sealer = &data_plane,
                                       .access = &access_control,
                                       .clock = clock,
                                       .cache = &kmip_cache});
  api::kmip::ServiceBackend kmip_backend(kmip_adapters);
  api::kmip::KmipProtocol kmip_protocol(kmip_backend, kmip_backend, *clock);
  // Other nodes' changes (PostgreSQL; SQLite has no other writer): every
  // cache forgets or reloads what changed (docs/operations.md "Many
  // nodes"). Started after every cache loaded; changes committed since the
  // store opened arrive as one Change::All().
  auto reload = [](std::string_view what, const absl::Status& s) {
    if (!s.ok()) {
      spdlog::warn(R"({{"msg":"reload after another node's change failed","cache":"{}","status":"{}"}})",
                   what, s.ToString());
    }
  };
  store::ChangeFeedOptions feed;
  feed.poll_interval = config.change_poll_interval;
  feed.listener = [&](const store::Change& c) {
    using Kind = store::Change::Kind;
    switch (c.kind) {
      case Kind::kKey:
        data_plane.Invalidate(c.instance_id, c.key_id);
        kmip_cache.DropRootKey(c.instance_id, c.key_id);
        return;
      case Kind::kKmip:
        kmip_cache.DropAll();
        return;
      case Kind::kIdentity:
        return reload("identity", identity.Reload());
      case Kind::kSigningKeys:
        return reload("signing keys", signing_keys.Reload());
      case Kind::kInstancePolicies:
        return reload("instance policies", instance_policies.Load());
      case Kind::kWebhooks:
        reload("webhooks", webhooks.Load());
        dispatcher.Wake();
        return;
      case Kind::kAll:
        // Also while the feed is lost, at every poll: failures are the
        // feed's, logged once by on_state.
        data_plane.DropCache();
        kmip_cache.DropAll();
        (void)identity.Reload();
        (void)signing_keys.Reload();
        (void)instance_policies.Load();
        (void)webhooks.Load();
        return;
    }
  };
  feed.on_state = [](const absl::Status& s) {
    if (s.ok()) {
      spdlog::info(R"({"msg":"change feed back"})");
    } else {
      spdlog::warn(R"({{"msg":"change feed lost: caches dropped until it is back","status":"{}"}})",
                   s.ToString());
    }
  };
  if (absl::Status s = (*store)->StartChangeFeed(std::move(feed)); !s.ok()) {
    return Fail("change feed", s);
  }
  // Before the caches the listener touches are destroyed, on every return.
  struct StopListener {
    store::SqlStore* store;
    ~StopListener() { store->StopChangeListener(); }
  } stop_listener{store->get()};

  api::keyprotect::ApiOptions api_options;
  api_options.crn_prefix = crn_prefix;
  api_options.access_log = config.access_log;
  if (config.test_clock) {
    api_options.test_clock = &test_clock;
    // Jumps in time run what came due at once, instead of a minute later.
    api_options.after_clock_advance = [&jobs, &dispatcher, &auth_failures] {
      jobs.RunNow();
      dispatcher.Wake();
      auth_failures.Flush();  // minutes that ended with the jump
    };
    spdlog::warn(R"({"msg":"test clock enabled: clients can move time"})");
  }
  store::SqlStore* sql_store = store->get();
  // (and sealed answers 503 on /readyz before this is asked)
  api_options.ready = [sql_store] {
    return sql_store->GetMeta("schema").ok();
  };
  api::keyprotect::ApiServices services;
  services.data_plane = &data_plane;
  services.kmip = &kmip_adapters;
  services.keys = &keys;
  services.rings = &keys;
  services.identity = &identity;
  services.authenticator = &authenticator;
  services.tokens = &token_issuer;
  services.import_tokens = &import_tokens;
  services.instance_policies = &instance_policies;
  services.registrations = &registrations;
  services.webhooks = &webhooks;
  services.policy_index = &policy_index;
  services.auth_failures = &auth_failures;
  services.seal = &seals;
  api::keyprotect::KeyProtectApi api(services, std::move(api_options));
  (void)api.metrics().AddGauge("keywarden_key_cache_entries",
                               "Keys held unsealed in the cache",
                               [&data_plane] { return double(data_plane.CacheSize()); });
  (void)api.metrics().AddGauge("keywarden_sealed",
                               "1 while the master key is not in memory",
                               [&seals] { return seals.sealed() ? 1.0 : 0.0; });

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
  // RSA-4096 generation (POST /import_token) runs off the I/O threads.
  server_options.offload = [](const api::http::Request& req) {
    return api::keyprotect::KeyProtectApi::IsBlocking(req);
  };
  // The metrics listener first, so its address is in the log before the
  // "listening on" line that tells a supervisor the server is up.
  std::unique_ptr<api::http::HttpServer> metrics_http;
  if (!config.metrics_listen.empty()) {
    api::http::HttpServerOptions metrics_options;
    // Validate() checked the address.
    (void)ParseHostPort("metrics-listen", config.metrics_listen,
                        metrics_options.host, metrics_options.port);
    metrics_options.threads = 1;
    metrics_options.max_body_bytes = 0;
    metrics_options.read_timeout = server_options.read_timeout;
    metrics_options.idle_timeout = server_options.idle_timeout;
    metrics_options.max_connections = 64;
    absl::StatusOr<std::unique_ptr<api::http::HttpServer>> started =
        api::http::HttpServer::Start(
            metrics_options,
            [&api](const api::http::Request& req, api::http::Response& res) {
              api.ServeMetrics(req, res);
            });
    if (!started.ok()) return Fail("metrics listen", started.status());
    metrics_http = *std::move(started);
    spdlog::info(R"({{"msg":"metrics on http://{}/metrics"}})",
                 metrics_http->endpoint());
  }
  absl::StatusOr<std::unique_ptr<api::http::HttpServer>> http =
      api::http::HttpServer::Start(
          server_options,
          [&api](const api::http::Request& req, api::http::Response& res) {
            api.Handle(req, res);
          });
  if (!http.ok()) return Fail("listen", http.status());
  instance_policies.set_endpoint_port((*http)->port());
  // The KMIP listener beside the HTTP one; stopped with it.
  std::unique_ptr<api::kmip::KmipServer> kmip_server;
  if (!config.kmip_listen.empty()) {
    api::kmip::KmipServerOptions kmip_options;
    // Validated by the config.
    (void)ParseHostPort("kmip-listen", config.kmip_listen, kmip_options.host,
                        kmip_options.port);
    kmip_options.tls_cert_file = config.kmip_tls_cert;
    kmip_options.tls_key_file = config.kmip_tls_key;
    kmip_options.threads = config.kmip_threads;
    // Only certificates registered to an adapter finish the handshake.
    kmip_options.accept_certificate = [&kmip_backend](std::string_view,
                                                      std::string_view sha256) {
      return kmip_backend.IsRegistered(sha256);
    };
    kmip_options.offload = [](std::span<const uint8_t> message) {
      return api::kmip::MayBeSlow(message);
    };
    absl::StatusOr<std::unique_ptr<api::kmip::KmipServer>> started =
        api::kmip::KmipServer::Start(
            kmip_options, [&kmip_protocol](std::span<const uint8_t> message,
                                           const api::kmip::KmipPeer& peer) {
              api::kmip::KmipClient client{peer.certificate_der,
                                           peer.certificate_sha256};
              return kmip_protocol.Process(message, client);
            });
    if (!started.ok()) return Fail("kmip listen", started.status());
    kmip_server = *std::move(started);
    spdlog::info(R"({{"msg":"KMIP listening on {}:{}"}})", kmip_options.host,
                 kmip_server->port());
  }
  jobs.Start();
  dispatcher.Start();
  auth_failure_flusher.Start();
  std::string scheme = config.tls_cert.empty() ? "http" : "https";
  spdlog::info(R"({{"msg":"listening on {}://{}","threads":{}}})", scheme,
               (*http)->endpoint(), config.threads);

  int received = 0;
  sigwait(&signals, &received);
  spdlog::info(R"({{"msg":"shutting down","signal":{}}})", received);
  (*http)->Stop();
  if (kmip_server) kmip_server->Stop();
  if (metrics_http) metrics_http->Stop();
  dispatcher.Stop();
  jobs.Stop();
  auth_failure_flusher.Stop();
  auth_failures.Flush(/*all=*/true);
  // The feed's thread runs until the store goes: no callback of it may log
  // after the logger is shut down (stop_listener would be too late here).
  (*store)->StopChangeListener();
  spdlog::info(R"({"msg":"stopped"})");
  spdlog::shutdown();
  return 0;
}

}  // namespace keywarden::server
