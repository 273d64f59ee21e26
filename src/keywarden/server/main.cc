// keywarden: the server, its command-line client and the integrations.
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "keywarden/cli/commands.h"
#include "keywarden/integrations/clevis/clevis_pin_command.h"
#include "keywarden/integrations/k8s_kms/kms_plugin_command.h"
#include "keywarden/server/config.h"
#include "keywarden/server/run_server.h"

int main(int argc, char** argv) {
  using keywarden::server::Config;
  CLI::App app{"Keywarden: a Key Protect compatible key management service"};
  app.require_subcommand(1);

  Config config;
  std::string config_file, listen, metrics_listen;
  bool access_log = true;
  CLI::App* server = app.add_subcommand("server", "Run the key service");
  server->add_option("--config", config_file, "TOML configuration file");
  server->add_option("--data-dir", config.data_dir, "Data directory");
  server->add_option("--database", config.database_url,
                     "postgresql://USER@HOST:PORT/DB to store in PostgreSQL "
                     "(default: SQLite in the data directory)");
  server->add_option("--database-password-file",
                     config.database_password_file,
                     "File holding the PostgreSQL password (mode 0600)");
  server->add_option("--listen", listen, "HOST:PORT to listen on");
  server->add_option("--threads", config.threads, "I/O threads (0: cores)");
  server->add_option("--tls-cert", config.tls_cert, "PEM certificate chain");
  server->add_option("--tls-key", config.tls_key, "PEM private key");
  server->add_option("--access-log", access_log, "Log every request");
  server->add_flag("--test-clock", config.test_clock,
                   "Let administrators move the clock with POST "
                   "/_test/clock/advance (tests only)");
  server->add_option("--metrics-listen", metrics_listen,
                     "HOST:PORT to serve GET /metrics on (not the API port)");
  std::string kmip_listen;
  server->add_option("--kmip-listen", kmip_listen,
                     "HOST:PORT to serve KMIP on (5696 by convention)");
  server->add_option("--kmip-tls-cert", config.kmip_tls_cert,
                     "PEM certificate chain of the KMIP listener");
  server->add_option("--kmip-tls-key", config.kmip_tls_key,
                     "PEM private key of the KMIP listener");
  server->add_option("--kmip-threads", config.kmip_threads,
                     "I/O threads of the KMIP listener (0: cores; default 2)")
      ->check(CLI::Range(0, 1024));
  server->add_option("--seal", config.seal,
                     "Who holds the master key: file (default), shamir, "
                     "pkcs11")
      ->check(CLI::IsMember({"file", "shamir", "pkcs11"}));
  server->add_option("--pkcs11-module", config.pkcs11_module,
                     "PKCS#11 module (.so) for --seal pkcs11");
  server->add_option("--pkcs11-token", config.pkcs11_token,
                     "Label of the PKCS#11 token");
  server->add_option("--pkcs11-key", config.pkcs11_key,
                     "Label of the AES key in the token that wraps the "
                     "master key");
  server->add_option("--pkcs11-pin-file", config.pkcs11_pin_file,
                     "File holding the token's user PIN (else "
                     "KEYWARDEN_PKCS11_PIN)");
  server->add_flag("--allow-core-dumps", config.allow_core_dumps,
                   "Leave core dumps on, for debugging (they may hold keys)");

  int client_exit_code = 0;
  keywarden::cli::AddClientCommands(app, client_exit_code);
  keywarden::integrations::k8s_kms::AddKmsPluginCommand(app, client_exit_code);
  keywarden::integrations::clevis::AddClevisPinCommand(app, client_exit_code);

  // A client command runs inside parse(). Usage errors exit 2.
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (!server->parsed()) return client_exit_code;

  // Precedence: defaults < file < environment < flags. Flags were parsed
  // into `config` already, so the file and environment are applied to a
  // fresh Config and the flags replayed on top.
  Config merged;
  auto fail = [](const absl::Status& s) {
    std::fprintf(stderr, "keywarden: %s\n", std::string(s.message()).c_str());
    return 2;
  };
  if (!config_file.empty()) {
    if (auto s = keywarden::server::LoadConfigFile(config_file, merged); !s.ok())
      return fail(s);
  }
  if (auto s = keywarden::server::ApplyEnvironment(merged); !s.ok()) {
    return fail(s);
  }
  if (server->count("--data-dir")) merged.data_dir = config.data_dir;
  if (server->count("--database")) merged.database_url = config.database_url;
  if (server->count("--database-password-file")) {
    merged.database_password_file = config.database_password_file;
  }
  if (server->count("--threads")) merged.threads = config.threads;
  if (server->count("--tls-cert")) merged.tls_cert = config.tls_cert;
  if (server->count("--tls-key")) merged.tls_key = config.tls_key;
  if (server->count("--access-log")) merged.access_log = access_log;
  if (config.test_clock) merged.test_clock = true;
  if (server->count("--seal")) merged.seal = config.seal;
  if (server->count("--pkcs11-module")) {
    merged.pkcs11_module = config.pkcs11_module;
  }
  if (server->count("--pkcs11-token")) merged.pkcs11_token = config.pkcs11_token;
  if (server->count("--pkcs11-key")) merged.pkcs11_key = config.pkcs11_key;
  if (server->count("--pkcs11-pin-file")) {
    merged.pkcs11_pin_file = config.pkcs11_pin_file;
  }
  if (config.allow_core_dumps) merged.allow_core_dumps = true;
  if (!metrics_listen.empty()) {
    std::string host;
    uint16_t port;
    if (auto s = keywarden::server::ParseHostPort("metrics-listen",
                                                  metrics_listen, host, port);
        !s.ok()) {
      return fail(s);
    }
    merged.metrics_listen = metrics_listen;
  }
  if (!kmip_listen.empty()) {
    std::string host;
    uint16_t port;
    if (auto s = keywarden::server::ParseHostPort("kmip-listen", kmip_listen,
                                                  host, port);
        !s.ok()) {
      return fail(s);
    }
    merged.kmip_listen = kmip_listen;
  }
  if (server->count("--kmip-tls-cert")) {
    merged.kmip_tls_cert = config.kmip_tls_cert;
  }
  if (server->count("--kmip-tls-key")) merged.kmip_tls_key = config.kmip_tls_key;
  if (server->count("--kmip-threads")) merged.kmip_threads = config.kmip_threads;
  if (!listen.empty()) {
    if (auto s = keywarden::server::ParseListen(listen, merged); !s.ok()) {
      return fail(s);
    }
  }
  if (auto s = keywarden::server::Validate(merged); !s.ok()) return fail(s);
  return keywarden::server::RunServer(merged);
}
