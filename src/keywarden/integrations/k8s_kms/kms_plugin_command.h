#ifndef KEYWARDEN_INTEGRATIONS_K8S_KMS_KMS_PLUGIN_COMMAND_H_
#define KEYWARDEN_INTEGRATIONS_K8S_KMS_KMS_PLUGIN_COMMAND_H_

#include <CLI/CLI.hpp>

namespace keywarden::integrations::k8s_kms {

// AddKmsPluginCommand adds `keywarden kms-plugin` to `app`: the KMS v2 gRPC
// service on a Unix socket (docs/integrations/kubernetes.md). It runs until
// SIGTERM or SIGINT and leaves its exit status in `exit_code` (0 after a
// clean stop, 1 when it could not start, 2 for a usage error).
void AddKmsPluginCommand(CLI::App& app, int& exit_code);

}  // namespace keywarden::integrations::k8s_kms

#endif  // KEYWARDEN_INTEGRATIONS_K8S_KMS_KMS_PLUGIN_COMMAND_H_
