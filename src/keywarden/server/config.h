#ifndef KEYWARDEN_SERVER_CONFIG_H_
#define KEYWARDEN_SERVER_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "keywarden/keys/rules.h"

namespace keywarden::server {

// Everything `keywarden server` can be told. Sources, lowest precedence
// first: built-in defaults, the TOML file (--config), KEYWARDEN_*
// environment variables, command-line flags. docs/operations.md lists every
// setting. Immutable once loaded.
struct Config {
  std::string data_dir = "./data";
  // The store: empty for SQLite in data_dir (keywarden.db), or a
  // postgresql:// URL (docs/operations.md "PostgreSQL"). The password comes
  // from the URL, from libpq's PGPASSFILE, or from database_password_file.
  std::string database_url;
  std::string database_password_file;
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 8080;
  int threads = 0;  // 0: one per core
  std::string tls_cert;
  std::string tls_key;
  bool access_log = true;
  std::string log_level = "info";
  bool test_clock = false;
  size_t cache_capacity = 100000;
  size_t max_body_bytes = 1 << 20;
  absl::Duration read_timeout = absl::Seconds(30);
  absl::Duration idle_timeout = absl::Seconds(60);
  // How often the lifecycle jobs run: expiry, automatic rotation,
  // automatic purge.
  absl::Duration sweep_interval = absl::Seconds(60);
  std::string crn_region = "local";
  std::string crn_account = "local";
  keys::Timers timers;
  absl::Duration token_lifetime = absl::Hours(1);
  // Lifecycle event delivery (docs/api.md "Lifecycle events").
  absl::Duration event_retry_initial = absl::Seconds(1);
  absl::Duration event_retry_max = absl::Minutes(15);
  absl::Duration event_ack_timeout = absl::Hours(4);
  absl::Duration event_poll_interval = absl::Seconds(30);
  absl::Duration event_delivery_timeout = absl::Seconds(10);
  // Where callers count as on a private network (allowedNetwork
  // private-only): CIDR blocks, comma-separated; empty: the defaults.
  std::string private_networks;
  // This node's name in job leases; empty: the host name.
  std::string node_id;
  // PostgreSQL: how often a node polls the change counter when no change
  // notice came (docs/operations.md "Many nodes"): the fallback that bounds
  // how late another node's change is heard if notices fail.
  absl::Duration change_poll_interval = absl::Milliseconds(200);
  // Core dumps stay off (PR_SET_DUMPABLE 0, RLIMIT_CORE 0) unless an
  // operator opts in for debugging: a dump holds every key in the cache.
  bool allow_core_dumps = false;
  // Where GET /metrics is served ("host:port"); empty: nowhere. Metrics name
  // instance ids, so they are kept off the API listener.
  std::string metrics_listen;
  // The KMIP listener (docs/operations.md "KMIP"): "host:port" (5696 by
  // convention; port 0 picks a free one); empty: none. It needs its own TLS
  // certificate and key; clients authenticate with the certificates
  // registered to KMIP adapters (keyprotect-api.md §13).
  std::string kmip_listen;
  std::string kmip_tls_cert;
  std::string kmip_tls_key;
  // I/O threads of the KMIP listener (0: one per core). Each serves its
  // connections' requests one at a time; Create Key Pair goes to a separate
  // pool (api/kmip/server.h).
  int kmip_threads = 2;
  // Webhook destinations: https only, and no loopback, link-local, private
  // or cloud-metadata address, unless relaxed for a closed network.
  bool webhooks_allow_http = false;
  bool webhooks_allow_private = false;
  // Failed bearer checks allowed per source address and minute before the
  // address is answered 429 (docs/operations.md "Abuse resistance").
  int auth_failures_per_minute = 100;
  // Which seal holds the master key: file, shamir or pkcs11
  // (docs/operations.md "Seals"). The PKCS#11 PIN is read by RunServer
  // from KEYWARDEN_PKCS11_PIN or `pkcs11_pin_file`, never kept here.
  std::string seal = "file";
  std::string pkcs11_module;
  std::string pkcs11_token;
  std::string pkcs11_key;
  std::string pkcs11_pin_file;
};

// Parses "host:port" ("[::1]:port" for IPv6).
absl::Status ParseListen(std::string_view text, Config& config);
// The same for any "host:port" setting.
absl::Status ParseHostPort(std::string_view name, std::string_view text,
                           std::string& host, uint16_t& port);

// Reads a TOML file into `config` (unknown keys are errors, so a typo does
// not silently keep a default).
absl::Status LoadConfigFile(const std::string& path, Config& config);

// Applies KEYWARDEN_* environment variables.
absl::Status ApplyEnvironment(Config& config);

// Cross-field checks (TLS needs both files, positive timers).
absl::Status Validate(const Config& config);

// Parses durations such as "30s", "1h", "720h", "1.5m".
absl::StatusOr<absl::Duration> ParseDurationSetting(std::string_view name,
                                                    std::string_view text);

}  // namespace keywarden::server

#endif  // KEYWARDEN_SERVER_CONFIG_H_
