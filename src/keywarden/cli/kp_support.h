#ifndef KEYWARDEN_CLI_KP_SUPPORT_H_
#define KEYWARDEN_CLI_KP_SUPPORT_H_

// What the `ibmcloud kp`-style commands (docs/cli-keys.md) share: the
// instance and credentials resolved into a typed client::KeyProtectClient,
// and printing typed results as a table or as JSON. Internal to cli/.

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keywarden/cli/command_support.h"
#include "keywarden/client/key_protect.h"
#include "keywarden/client/transport.h"

namespace keywarden::cli {

// A resolved kp command: the typed client for one instance, over a
// transport that authenticates with --token / $KEYWARDEN_TOKEN, else
// $KEYWARDEN_APIKEY (exchanged for tokens as it goes), else the token that
// `keywarden login` saved for the address.
struct KpSession {
  OutputFormat format = OutputFormat::kTable;
  std::optional<Session> session;              // a token
  std::unique_ptr<client::Transport> transport;  // an API key
  std::unique_ptr<client::KeyProtectClient> kp;
  bool token_from_cache = false;
};

// AddKpCommand adds subcommand `name` to `parent` with the global options
// and -i/--instance-ID ($KP_INSTANCE_ID, else $KEYWARDEN_INSTANCE); when
// chosen it resolves the KpSession and runs `body`.
CLI::App* AddKpCommand(CLI::App* parent, const std::string& name,
                       const std::string& description, int& exit_code,
                       std::function<absl::Status(KpSession&)> body);

// Emit prints `json` in JSON mode, else `rows` under `columns`.
void Emit(const KpSession& s, const boost::json::value& json,
          const boost::json::array& rows, std::span<const Column> columns);
// EmitOne: one resource, the same object for both (table-only fields are
// added to `row`, which defaults to `resource`).
void EmitOne(const KpSession& s, const boost::json::object& resource,
             std::span<const Column> columns,
             const boost::json::object* row = nullptr);
// Confirm prints "<text>\n" in table mode and nothing in JSON mode (the
// server answered 204, with nothing to print).
void Confirm(const KpSession& s, std::string_view text);

// Key Protect's JSON for a key (the server's field names), and the same
// with the table's derived fields (type, stateName).
boost::json::object KeyJson(const client::Key& k);
boost::json::object KeyRow(const client::Key& k);

// ReadMaterial decodes base64 key material given on the command line, or
// read from stdin when `value` is "-" (keeps it out of the process list).
absl::StatusOr<SecretBytes> ReadMaterial(const std::string& value,
                                         std::string_view flag);

// The registrations of the kp families, one file each.
void AddKpKeyCommands(CLI::App& app, int& exit_code);
void AddKpResourceCommands(CLI::App& app, int& exit_code);

}  // namespace keywarden::cli

#endif  // KEYWARDEN_CLI_KP_SUPPORT_H_
