#ifndef KEYWARDEN_INTEGRATIONS_K8S_KMS_KMS_PLUGIN_H_
#define KEYWARDEN_INTEGRATIONS_K8S_KMS_KMS_PLUGIN_H_

#include <map>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "keywarden/client/key_protect.h"
#include "keywarden/common/clock.h"
#include "keywarden/common/secret_bytes.h"

// The Kubernetes KMS v2 plugin's logic, apart from gRPC (grpc_service.cc) and
// the command (run_kms_plugin.cc): kube-apiserver's data keys (DEK seeds) are
// wrapped by one Keywarden root key through the typed client.
//
// The contract, as kube-apiserver enforces it (docs/integrations/kubernetes.md):
// - Status: version "v2"; healthz "ok" only while a wrap/unwrap probe of the
//   root key succeeds (the probe is cached for `health_cache`), else the
//   reason; key_id names the root key's current version, so a rotation
//   changes it and the apiserver moves to a new DEK.
// - Encrypt: ciphertext = the WDEK's bytes (at most 1 kB), key_id as in
//   Status, one annotation naming the ciphertext format.
// - Decrypt: any ciphertext that Encrypt made under this root key, whatever
//   its version (key_id) then; anything else is InvalidArgument.
// - A root key that is disabled, deactivated or deleted fails all three
//   with FailedPrecondition and a message naming the state and what follows
//   from it (kube-apiserver shows it to the operator).
namespace keywarden::integrations::k8s_kms {

// kube-apiserver's limits (k8s.io/apiserver, KMS v2 envelope transformer).
inline constexpr size_t kMaxKeyIdBytes = 1024;
inline constexpr size_t kMaxCiphertextBytes = 1024;
inline constexpr size_t kMaxAnnotationsBytes = 32 * 1024;
// The apiserver sends 32-byte DEK seeds; the bound keeps the WDEK under
// kMaxCiphertextBytes.
inline constexpr size_t kMaxPlaintextBytes = 512;

// The one annotation Encrypt adds, so that a later format can be told apart.
inline constexpr std::string_view kFormatAnnotation = "format.kms.keywarden.dev";
inline constexpr std::string_view kFormatV1 = "wdek-1";
// Bound into every WDEK the plugin makes (the unwrap `aad`): a WDEK made for
// another purpose with the same root key does not decrypt here.
inline constexpr std::string_view kWrapAad = "keywarden:k8s-kms-v2";

using Annotations = std::map<std::string, std::string>;

struct PluginOptions {
  std::string key_id;        // the root key (id or alias)
  std::string resource_crn;  // registered as a resource of the key
  absl::Duration health_cache = absl::Seconds(5);
};

struct StatusAnswer {
  std::string healthz;  // "ok" or the reason
  std::string key_id;   // "" until a wrap has succeeded once
};

struct EncryptAnswer {
  std::string ciphertext;
  std::string key_id;
  Annotations annotations;
};

// ValidateAnnotations: every key a DNS-1123 fully qualified domain name (at
// least two labels), keys and values together under kMaxAnnotationsBytes.
absl::Status ValidateAnnotations(const Annotations& annotations);

// KeyIdOf is the key_id for a key version: "<key id>:<version id>".
std::string KeyIdOf(std::string_view key, std::string_view version);

// Thread-safe: gRPC calls it from many threads. Status probes run one at a
// time; Encrypt and Decrypt run concurrently, each one HTTP call.
class KmsPlugin {
 public:
  KmsPlugin(client::KeyProtectClient& kp, PluginOptions options,
            const Clock& clock);

  StatusAnswer Status();
  absl::StatusOr<EncryptAnswer> Encrypt(const SecretBytes& plaintext);
  absl::StatusOr<SecretBytes> Decrypt(std::string_view ciphertext,
                                      std::string_view key_id,
                                      const Annotations& annotations);

  // Registers the cluster (resource_crn) with the root key; a repeat is
  // harmless. Status calls it after a good probe until it has succeeded.
  absl::Status Register();
  bool registered() const;

 private:
  absl::Status Probe() ABSL_EXCLUSIVE_LOCKS_REQUIRED(probe_mu_);
  // The server's error, made clear for the operator where the root key's
  // state is the cause (see kms_plugin.cc).
  absl::Status Explain(const absl::Status& s);
  void NoteKeyId(std::string key_id);
  std::string CurrentKeyId() const;

  client::KeyProtectClient& kp_;
  const PluginOptions options_;
  const Clock& clock_;
  SecretBytes probe_plaintext_;

  absl::Mutex probe_mu_;
  absl::Time probed_at_ ABSL_GUARDED_BY(probe_mu_) = absl::InfinitePast();
  std::string healthz_ ABSL_GUARDED_BY(probe_mu_);

  mutable absl::Mutex mu_;
  std::string key_id_ ABSL_GUARDED_BY(mu_);
  bool registered_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace keywarden::integrations::k8s_kms

#endif  // KEYWARDEN_INTEGRATIONS_K8S_KMS_KMS_PLUGIN_H_
