#ifndef KEYWARDEN_CLI_COMMAND_SUPPORT_H_
#define KEYWARDEN_CLI_COMMAND_SUPPORT_H_

// What the command families share: the global options, resolving them into
// a Session, printing resources, and turning a Status into an exit code.
// Internal to cli/.

#include <functional>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include <CLI/CLI.hpp>
#include <boost/json/value.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keywarden/cli/api_client.h"
#include "keywarden/cli/output.h"

namespace keywarden::cli {

inline constexpr std::string_view kDefaultAddr = "http://127.0.0.1:8080";

// RFC 3339 in UTC with a "Z", like the server's times.
inline constexpr char kUtcSeconds[] = "%Y-%m-%d%ET%H:%M:%SZ";

// The options every command takes, as given on the command line ("" / false:
// not given; the environment and defaults are applied by ResolveSession).
struct GlobalOptions {
  std::string addr;
  std::string token;
  std::string output;
  bool insecure = false;
};

// A command's resolved connection and output settings.
struct Session {
  ApiClient client;
  OutputFormat format;
  bool token_from_cache;  // a 401 then means "log in again"
};

// UsageError marks a status as the user's mistake (exit 2, not 1).
absl::Status UsageError(std::string_view message);

// ResolveEndpoint: --addr, else $KEYWARDEN_ADDR, else kDefaultAddr.
absl::StatusOr<net::Endpoint> ResolveEndpoint(const GlobalOptions& g);

// ResolveSession applies flags over environment over defaults; the token is
// --token, else $KEYWARDEN_TOKEN, else the unexpired token that `keywarden
// login` saved for the same address.
absl::StatusOr<Session> ResolveSession(const GlobalOptions& g,
                                       bool needs_token);

// HttpOptionsOf: --insecure or KEYWARDEN_INSECURE=1/true/yes.
net::HttpOptions HttpOptionsOf(const GlobalOptions& g);

// AddCommand adds subcommand `name` to `parent` with the global options
// (without --token when `with_token` is false) and makes it run `body` when
// chosen, storing the exit code. `body` receives the options to resolve.
CLI::App* AddCommand(
    CLI::App* parent, const std::string& name, const std::string& description,
    int& exit_code,
    std::function<absl::Status(const GlobalOptions&)> body,
    bool with_token = true);

// AddSessionCommand is AddCommand for commands that call the admin API with
// a token: the Session is resolved before `body` runs.
CLI::App* AddSessionCommand(CLI::App* parent, const std::string& name,
                            const std::string& description, int& exit_code,
                            std::function<absl::Status(const Session&)> body);

// Query builds "?k=v&…" from the pairs whose value is not empty.
std::string Query(
    std::initializer_list<std::pair<std::string_view, std::string>> params);

// Out writes `text` to stdout.
void Out(std::string_view text);

// PrintResource prints one resource: a one-row table, or its JSON.
void PrintResource(const Session& s, const boost::json::value& resource,
                   std::span<const Column> columns);

// PrintList prints the array at `answer[key]` as a table or as a JSON array;
// an answer without that array is an error.
absl::Status PrintList(const Session& s, const boost::json::value& answer,
                       std::string_view key, std::span<const Column> columns);

// PrintDeleted confirms a deletion in table mode ("Deleted <what> <id>.");
// JSON mode prints nothing (the server answers 204 with no body).
void PrintDeleted(const Session& s, std::string_view what,
                  std::string_view id);

// The family registrations, one file each.
void AddLoginCommand(CLI::App& app, int& exit_code);
void AddPrincipalCommands(CLI::App& app, int& exit_code);
void AddApiKeyCommands(CLI::App& app, int& exit_code);
void AddInstanceCommands(CLI::App& app, int& exit_code);
void AddPolicyCommands(CLI::App& app, int& exit_code);
void AddAuthorizationCommands(CLI::App& app, int& exit_code);
void AddOperatorCommands(CLI::App& app, int& exit_code);
void AddEnvelopeCommands(CLI::App& app, int& exit_code);

}  // namespace keywarden::cli

#endif  // KEYWARDEN_CLI_COMMAND_SUPPORT_H_
