#include "keywarden/cli/commands.h"

#include "keywarden/cli/command_support.h"
#include "keywarden/cli/kp_support.h"

namespace keywarden::cli {

void AddClientCommands(CLI::App& app, int& exit_code) {
  AddLoginCommand(app, exit_code);
  AddPrincipalCommands(app, exit_code);
  AddApiKeyCommands(app, exit_code);
  AddInstanceCommands(app, exit_code);
  AddPolicyCommands(app, exit_code);
  AddAuthorizationCommands(app, exit_code);
  AddOperatorCommands(app, exit_code);
  AddKpKeyCommands(app, exit_code);
  AddKpResourceCommands(app, exit_code);
  AddEnvelopeCommands(app, exit_code);
}

}  // namespace keywarden::cli
