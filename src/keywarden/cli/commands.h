#ifndef KEYWARDEN_CLI_COMMANDS_H_
#define KEYWARDEN_CLI_COMMANDS_H_

#include <CLI/CLI.hpp>

namespace keywarden::cli {

// AddClientCommands adds the client subcommands (login, user, service-id,
// api-key, instance, policy, authorization, and the `ibmcloud kp`-style
// keys, key, key-rings, key-ring, registrations, import-token) to `app`. They talk to a server
// over its public HTTP API only. The chosen command runs while `app` parses
// and leaves its exit status in `exit_code`: 0 success, 1 an error reported
// on stderr (the server's reason code and message, or why the server could
// not be reached), 2 a usage error. `exit_code` must outlive `app`.
void AddClientCommands(CLI::App& app, int& exit_code);

}  // namespace keywarden::cli

#endif  // KEYWARDEN_CLI_COMMANDS_H_
