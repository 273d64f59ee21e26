#ifndef KEYWARDEN_INTEGRATIONS_CLEVIS_CLEVIS_PIN_COMMAND_H_
#define KEYWARDEN_INTEGRATIONS_CLEVIS_CLEVIS_PIN_COMMAND_H_

#include <CLI/CLI.hpp>

namespace keywarden::integrations::clevis {

// AddClevisPinCommand adds `keywarden clevis-pin wrap|unwrap` to `app`: the
// half of the Clevis pin that talks to Keywarden, called by the pin scripts
// clevis-encrypt-keywarden and clevis-decrypt-keywarden (integrations/clevis/,
// docs/integrations/postgresql.md). Key bytes travel on stdin and stdout
// only, never in arguments or files:
//   wrap --config JSON   stdin: the content-encryption JWK;
//                        stdout: the JWE header's "keywarden" member
//   unwrap               stdin: that member; stdout: the JWK
// The exit status is left in `exit_code`: 0 success, 1 the server refused or
// could not be reached, 2 bad input or configuration.
void AddClevisPinCommand(CLI::App& app, int& exit_code);

}  // namespace keywarden::integrations::clevis

#endif  // KEYWARDEN_INTEGRATIONS_CLEVIS_CLEVIS_PIN_COMMAND_H_
