#include "keywarden/server/config.h"
#include "keywarden/common/strings.h"

#include <cstdlib>

#include <toml++/toml.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "keywarden/common/cidr.h"
#include "absl/strings/str_cat.h"
#include "keywarden/common/status_macros.h"

namespace keywarden::server {
namespace {

absl::Status Invalid(std::string_view name, std::string_view why) {
  return absl::InvalidArgumentError(StrCat(name, ": ", why));
}

absl::Status SetBool(std::string_view name, std::string_view text, bool& out) {
  if (text == "true" || text == "1") {
    out = true;
  } else if (text == "false" || text == "0") {
    out = false;
  } else {
    return Invalid(name, "expected true or false");
  }
  return absl::OkStatus();
}

template <typename T>
absl::Status SetInt(std::string_view name, std::string_view text, T& out) {
  int64_t v;
  if (!absl::SimpleAtoi(AbslView(text), &v) || v < 0) {
    return Invalid(name, "expected a non-negative integer");
  }
  out = static_cast<T>(v);
  return absl::OkStatus();
}

// A thread count beyond this is a typo, not a deployment.
constexpr int64_t kMaxKmipThreads = 1024;

absl::Status SetKmipThreads(std::string_view name, std::string_view text,
                            Config& c) {
  int64_t v;
  if (!absl::SimpleAtoi(AbslView(text), &v) || v < 0 || v > kMaxKmipThreads) {
    return Invalid(name, "expected an integer from 0 (one per core) to 1024");
  }
  c.kmip_threads = static_cast<int>(v);
  return absl::OkStatus();
}

// One table of settings shared by the TOML file and the environment, so the
// two cannot drift apart.
struct Setting {
  std::string_view toml_path;  // "server.listen"
  std::string_view env;        // "KEYWARDEN_LISTEN"
  absl::Status (*apply)(std::string_view name, std::string_view value,
                        Config& c);
};

absl::Status ApplyDuration(std::string_view name, std::string_view v,
                           absl::Duration& out) {
  KW_ASSIGN_OR_RETURN(out, ParseDurationSetting(name, v));
  return absl::OkStatus();
}

const Setting kSettings[] = {
    {"data_dir", "KEYWARDEN_DATA_DIR",
     [](auto, auto v, Config& c) {
       c.data_dir = std::string(v);
       return absl::OkStatus();
     }},
    {"store.url", "KEYWARDEN_DATABASE_URL",
     [](auto, auto v, Config& c) {
       c.database_url = std::string(v);
       return absl::OkStatus();
     }},
    {"store.password_file", "KEYWARDEN_DATABASE_PASSWORD_FILE",
     [](auto, auto v, Config& c) {
       c.database_password_file = std::string(v);
       return absl::OkStatus();
     }},
    {"server.listen", "KEYWARDEN_LISTEN",
     [](auto, auto v, Config& c) { return ParseListen(v, c); }},
    {"server.threads", "KEYWARDEN_THREADS",
     [](auto n, auto v, Config& c) { return SetInt(n, v, c.threads); }},
    {"server.tls_cert", "KEYWARDEN_TLS_CERT",
     [](auto, auto v, Config& c) {
       c.tls_cert = std::string(v);
       return absl::OkStatus();
     }},
    {"server.tls_key", "KEYWARDEN_TLS_KEY",
     [](auto, auto v, Config& c) {
       c.tls_key = std::string(v);
       return absl::OkStatus();
     }},
    {"server.access_log", "KEYWARDEN_ACCESS_LOG",
     [](auto n, auto v, Config& c) { return SetBool(n, v, c.access_log); }},
    {"server.max_body_bytes", "KEYWARDEN_MAX_BODY_BYTES",
     [](auto n, auto v, Config& c) { return SetInt(n, v, c.max_body_bytes); }},
    {"server.read_timeout", "KEYWARDEN_READ_TIMEOUT",
     [](auto n, auto v, Config& c) {
       return ApplyDuration(n, v, c.read_timeout);
     }},
    {"server.idle_timeout", "KEYWARDEN_IDLE_TIMEOUT",
     [](auto n, auto v, Config& c) {
       return ApplyDuration(n, v, c.idle_timeout);
     }},
    {"log.level", "KEYWARDEN_LOG_LEVEL",
     [](auto, auto v, Config& c) {
       c.log_level = std::string(v);
       return absl::OkStatus();
     }},
    {"cache.capacity", "KEYWARDEN_CACHE_CAPACITY",
     [](auto n, auto v, Config& c) { return SetInt(n, v, c.cache_capacity); }},
    {"crn.region", "KEYWARDEN_CRN_REGION",
     [](auto, auto v, Config& c) {
       c.crn_region = std::string(v);
       return absl::OkStatus();
     }},
    {"crn.account", "KEYWARDEN_CRN_ACCOUNT",
     [](auto, auto v, Config& c) {
       c.crn_account = std::string(v);
       return absl::OkStatus();
     }},
    {"timers.state_change_cooldown", "KEYWARDEN_TIMER_STATE_CHANGE_COOLDOWN",
     [](auto n, auto v, Config& c) {
       return ApplyDuration(n, v, c.timers.state_change_cooldown);
     }},
    {"timers.rotation_interval", "KEYWARDEN_TIMER_ROTATION_INTERVAL",
     [](auto n, auto v, Config& c) {
       return ApplyDuration(n, v, c.timers.rotation_interval);
     }},
    {"timers.restore_window", "KEYWARDEN_TIMER_RESTORE_WINDOW",
     [](auto n, auto v, Config& c) {
       return ApplyDuration(n, v, c.timers.restore_window);
     }},
    {"timers.purge_delay", "KEYWARDEN_TIMER_PURGE_DELAY",
     [](auto n, auto v, Config& c) {
       return ApplyDuration(n, v, c.timers.purge_delay);
     }},
    {"identity.token_lifetime", "KEYWARDEN_TOKEN_LIFETIME",
     [](auto n, auto v, Config& c) {
       return ApplyDuration(n, v, c.token_lifetime);
     }},
    {"timers.sweep_interval", "KEYWARDEN_TIMER_SWEEP_INTERVAL",
     [](auto n, auto v, Config& c) {
       return ApplyDuration(n, v, c.sweep_interval);
     }},
    // The name before the sweep also ran rotation and purge; still read.
    {"timers.expiry_sweep_interval", "KEYWARDEN_TIMER_EXPIRY_SWEEP_INTERVAL",
     [](auto n, auto v, Config& c) {
       return ApplyDuration(n, v, c.sweep_interval);
     }},
    {"timers.auto_purge_after", "KEYWARDEN_TIMER_AUTO_PURGE_AFTER",
     [](auto n, auto v, Config& c) {
       return ApplyDuration(n, v, c.timers.auto_purge_after);
     }},
    {"timers.dual_auth_window", "KEYWARDEN_TIMER_DUAL_AUTH_WINDOW",
     [](auto n, auto v, Config& c) {
       return ApplyDuration(n, v, c.timers.dual_auth_window);
     }},
    {"timers.sync_interval", "KEYWARDEN_TIMER_SYNC_INTERVAL",
     [](auto n, auto v, Config& c) {
       return ApplyDuration(n, v, c.timers.sync_interval);
     }},
    {"events.retry_initial", "KEYWARDEN_EVENTS_RETRY_INITIAL",
     [](auto n, auto v, Config& c) {
       return ApplyDuration(n, v, c.event_retry_initial);
     }},
    {"events.retry_max", "KEYWARDEN_EVENTS_RETRY_MAX",
     [](auto n, auto v, Config& c) {
       return ApplyDuration(n, v, c.event_retry_max);
     }},
    {"events.ack_timeout", "KEYWARDEN_EVENTS_ACK_TIMEOUT",
     [](auto n, auto v, Config& c) {
       return ApplyDuration(n, v, c.event_ack_timeout);
     }},
    {"events.poll_interval", "KEYWARDEN_EVENTS_POLL_INTERVAL",
     [](auto n, auto v, Config& c) {
       return ApplyDuration(n, v, c.event_poll_interval);
     }},
    {"events.delivery_timeout", "KEYWARDEN_EVENTS_DELIVERY_TIMEOUT",
     [](auto n, auto v, Config& c) {
       return ApplyDuration(n, v, c.event_delivery_timeout);
     }},
    {"network.private_networks", "KEYWARDEN_PRIVATE_NETWORKS",
     [](auto, auto v, Config& c) {
       c.private_networks = std::string(v);
       return absl::OkStatus();
     }},
    {"store.change_poll_interval", "KEYWARDEN_CHANGE_POLL_INTERVAL",
     [](auto n, auto v, Config& c) {
       return ApplyDuration(n, v, c.change_poll_interval);
     }},
    {"server.node_id", "KEYWARDEN_NODE_ID",
     [](auto, auto v, Config& c) {
       c.node_id = std::string(v);
       return absl::OkStatus();
     }},
    {"server.allow_core_dumps", "KEYWARDEN_ALLOW_CORE_DUMPS",
     [](auto n, auto v, Config& c) {
       return SetBool(n, v, c.allow_core_dumps);
     }},
    {"server.metrics_listen", "KEYWARDEN_METRICS_LISTEN",
     [](auto n, auto v, Config& c) {
       std::string host;
       uint16_t port;
       KW_RETURN_IF_ERROR(ParseHostPort(n, v, host, port));
       c.metrics_listen = std::string(v);
       return absl::OkStatus();
     }},
    {"kmip.listen", "KEYWARDEN_KMIP_LISTEN",
     [](auto n, auto v, Config& c) {
       std::string host;
       uint16_t port;
       KW_RETURN_IF_ERROR(ParseHostPort(n, v, host, port));
       c.kmip_listen = std::string(v);
       return absl::OkStatus();
     }},
    {"kmip.tls_cert", "KEYWARDEN_KMIP_TLS_CERT",
     [](auto, auto v, Config& c) {
       c.kmip_tls_cert = std::string(v);
       return absl::OkStatus();
     }},
    {"kmip.tls_key", "KEYWARDEN_KMIP_TLS_KEY",
     [](auto, auto v, Config& c) {
       c.kmip_tls_key = std::string(v);
       return absl::OkStatus();
     }},
    {"kmip.threads", "KEYWARDEN_KMIP_THREADS",
     [](auto n, auto v, Config& c) { return SetKmipThreads(n, v, c); }},
    {"server.auth_failures_per_minute", "KEYWARDEN_AUTH_FAILURES_PER_MINUTE",
     [](auto n, auto v, Config& c) {
       return SetInt(n, v, c.auth_failures_per_minute);
     }},
    {"seal.type", "KEYWARDEN_SEAL",
     [](auto n, auto v, Config& c) {
       if (v != "file" && v != "shamir" && v != "pkcs11") {
         return Invalid(n, "expected file, shamir or pkcs11");
       }
       c.seal = std::string(v);
       return absl::OkStatus();
     }},
    {"seal.pkcs11_module", "KEYWARDEN_PKCS11_MODULE",
     [](auto, auto v, Config& c) {
       c.pkcs11_module = std::string(v);
       return absl::OkStatus();
     }},
    {"seal.pkcs11_token", "KEYWARDEN_PKCS11_TOKEN",
     [](auto, auto v, Config& c) {
       c.pkcs11_token = std::string(v);
       return absl::OkStatus();
     }},
    {"seal.pkcs11_key", "KEYWARDEN_PKCS11_KEY",
     [](auto, auto v, Config& c) {
       c.pkcs11_key = std::string(v);
       return absl::OkStatus();
     }},
    {"seal.pkcs11_pin_file", "KEYWARDEN_PKCS11_PIN_FILE",
     [](auto, auto v, Config& c) {
       c.pkcs11_pin_file = std::string(v);
       return absl::OkStatus();
     }},
    {"webhooks.allow_http", "KEYWARDEN_WEBHOOKS_ALLOW_HTTP",
     [](auto n, auto v, Config& c) {
       return SetBool(n, v, c.webhooks_allow_http);
     }},
    {"webhooks.allow_private", "KEYWARDEN_WEBHOOKS_ALLOW_PRIVATE",
     [](auto n, auto v, Config& c) {
       return SetBool(n, v, c.webhooks_allow_private);
     }},
};

// The TOML value at a dotted path as the text the environment would carry.
std::optional<std::string> TomlText(const toml::node& node) {
  // Exact types only: toml++'s value<T>() converts between integers and
  // booleans, which would read `threads = 3` as true.
  if (node.is_string()) return *node.value_exact<std::string>();
  if (node.is_boolean()) return *node.value_exact<bool>() ? "true" : "false";
  if (node.is_integer()) return std::to_string(*node.value_exact<int64_t>());
  return std::nullopt;
}

void CollectPaths(const toml::table& table, const std::string& prefix,
                  std::vector<std::string>& out) {
  for (const auto& [k, v] : table) {
    std::string path =
        prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (const toml::table* sub = v.as_table()) {
      CollectPaths(*sub, path, out);
    } else {
      out.push_back(path);
    }
  }
}

}  // namespace

absl::StatusOr<absl::Duration> ParseDurationSetting(std::string_view name,
                                                    std::string_view text) {
  absl::Duration d;
  if (!absl::ParseDuration(AbslView(text), &d) || d < absl::ZeroDuration()) {
    return Invalid(name, "expected a duration such as 30s, 1h or 720h");
  }
  return d;
}

absl::Status ParseListen(std::string_view text, Config& config) {
  return ParseHostPort("listen", text, config.listen_host, config.listen_port);
}

absl::Status ParseHostPort(std::string_view name, std::string_view text,
                           std::string& out_host, uint16_t& out_port) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Invalid(name, "expected HOST:PORT");
  }
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port;
  if (!absl::SimpleAtoi(AbslView(text.substr(colon + 1)), &port) || port < 0 ||
      port > 65535) {
    return Invalid(name, "port must be 0 to 65535");
  }
  out_host = std::string(host);
  out_port = static_cast<uint16_t>(port);
  return absl::OkStatus();
}

absl::Status LoadConfigFile(const std::string& path, Config& config) {
  // toml++ reports parse errors by exception; this is its seam.
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return absl::InvalidArgumentError(
        StrCat("config file ", path, ": ", std::string_view(e.description())));
  }
  std::vector<std::string> paths;
  CollectPaths(table, "", paths);
  for (const std::string& p : paths) {
    const Setting* setting = nullptr;
    for (const Setting& s : kSettings) {
      if (s.toml_path == p) setting = &s;
    }
    if (setting == nullptr) {
      return absl::InvalidArgumentError(
          StrCat("config file ", path, ": unknown setting ", p));
    }
    std::optional<std::string> text =
        TomlText(*table.at_path(std::string_view(p)).node());
    if (!text) {
      return absl::InvalidArgumentError(StrCat(
          "config file ", path, ": ", p, " must be a string, integer or bool"));
    }
    KW_RETURN_IF_ERROR(setting->apply(p, *text, config));
  }
  return absl::OkStatus();
}

absl::Status ApplyEnvironment(Config& config) {
  for (const Setting& s : kSettings) {
    const char* value = std::getenv(std::string(s.env).c_str());
    if (value != nullptr) KW_RETURN_IF_ERROR(s.apply(s.env, value, config));
  }
  return absl::OkStatus();
}

absl::Status Validate(const Config& config) {
  if (config.tls_cert.empty() != config.tls_key.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs both --tls-cert and --tls-key");
  }
  if (!config.kmip_listen.empty() &&
      (config.kmip_tls_cert.empty() || config.kmip_tls_key.empty())) {
    return absl::InvalidArgumentError(
        "the KMIP listener needs --kmip-tls-cert and --kmip-tls-key");
  }
  if (config.data_dir.empty()) {
    return absl::InvalidArgumentError("data dir must not be empty");
  }
  if (!config.database_url.empty() &&
      !config.database_url.starts_with("postgresql://") &&
      !config.database_url.starts_with("postgres://")) {
    // The URL may hold a password: it is never echoed.
    return absl::InvalidArgumentError(
        "store.url: expected a postgresql:// URL (without one, the store is "
        "SQLite in the data dir)");
  }
  if (config.database_url.empty() && !config.database_password_file.empty()) {
    return absl::InvalidArgumentError(
        "store.password_file needs store.url (a postgresql:// URL)");
  }
  if (config.sweep_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("sweep interval must be positive");
  }
  if (config.change_poll_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "store.change_poll_interval must be positive");
  }
  for (absl::Duration d : {config.event_retry_initial, config.event_retry_max,
                           config.event_ack_timeout, config.event_poll_interval,
                           config.event_delivery_timeout}) {
    if (d <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError("event timers must be positive");
    }
  }
  if (config.auth_failures_per_minute < 1) {
    return absl::InvalidArgumentError(
        "server.auth_failures_per_minute must be at least 1");
  }
  if (config.seal != "file" && config.seal != "shamir" &&
      config.seal != "pkcs11") {
    return absl::InvalidArgumentError(
        "seal must be file, shamir or pkcs11");
  }
  if (config.seal == "pkcs11" &&
      (config.pkcs11_module.empty() || config.pkcs11_token.empty() ||
       config.pkcs11_key.empty())) {
    return absl::InvalidArgumentError(
        "--seal pkcs11 needs --pkcs11-module, --pkcs11-token and "
        "--pkcs11-key");
  }
  if (config.event_retry_initial > config.event_retry_max) {
    return absl::InvalidArgumentError(
        "events.retry_initial must not exceed events.retry_max");
  }
  for (absl::string_view block :
       absl::StrSplit(config.private_networks, ',', absl::SkipWhitespace())) {
    absl::StatusOr<Cidr> cidr =
        Cidr::Parse(StdView(absl::StripAsciiWhitespace(block)));
    if (!cidr.ok()) {
      return absl::InvalidArgumentError(
          StrCat("network.private_networks: ", cidr.status().message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace keywarden::server
