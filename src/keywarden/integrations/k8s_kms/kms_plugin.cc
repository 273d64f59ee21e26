#include "keywarden/integrations/k8s_kms/kms_plugin.h"

#include "absl/strings/cord.h"
#include "keywarden/client/errors.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"
#include "keywarden/crypto/base64.h"
#include "keywarden/crypto/random.h"

namespace keywarden::integrations::k8s_kms {
namespace {

// RFC 1123 labels: letters, digits and '-', not at either end, 1-63 long.
bool IsLabel(std::string_view l) {
  if (l.empty() || l.size() > 63 || l.front() == '-' || l.back() == '-') {
    return false;
  }
  for (char c : l) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-';
    if (!ok) return false;
  }
  return true;
}

bool IsFullyQualifiedDomainName(std::string_view name) {
  if (name.size() > 253) return false;
  int labels = 0;
  while (true) {
    const size_t dot = name.find('.');
    if (!IsLabel(name.substr(0, dot))) return false;
    ++labels;
    if (dot == std::string_view::npos) break;
    name.remove_prefix(dot + 1);
  }
  return labels >= 2;
}

// What the apiserver's healthz shows: the reason, without control
// characters and not too long.
std::string Reason(std::string_view what, const absl::Status& s) {
  std::string text =
      client::Printable(StrCat(what, ": ", StdView(s.message())));
  if (text.size() > 256) text.resize(256);
  return text;
}

}  // namespace

absl::Status ValidateAnnotations(const Annotations& annotations) {
  size_t total = 0;
  for (const auto& [k, v] : annotations) {
    if (!IsFullyQualifiedDomainName(k)) {
      return absl::InvalidArgumentError(AbslView(
          StrCat("annotation key \"", client::Printable(k.substr(0, 64)),
                 "\" is not a fully qualified domain name")));
    }
    total += k.size() + v.size();
  }
  if (total >= kMaxAnnotationsBytes) {
    return absl::InvalidArgumentError(AbslView(StrCat(
        "annotations take ", total, " bytes, the limit is ",
        kMaxAnnotationsBytes)));
  }
  return absl::OkStatus();
}

std::string KeyIdOf(std::string_view key, std::string_view version) {
  return StrCat(key, ":", version);
}

KmsPlugin::KmsPlugin(client::KeyProtectClient& kp, PluginOptions options,
                     const Clock& clock)
    : kp_(kp),
      options_(std::move(options)),
      clock_(clock),
      probe_plaintext_(crypto::RandomSecret(32)) {}

void KmsPlugin::NoteKeyId(std::string key_id) {
  absl::MutexLock lock(&mu_);
  key_id_ = std::move(key_id);
}

std::string KmsPlugin::CurrentKeyId() const {
  absl::MutexLock lock(&mu_);
  return key_id_;
}

bool KmsPlugin::registered() const {
  absl::MutexLock lock(&mu_);
  return registered_;
}

absl::Status KmsPlugin::Register() {
  client::RegistrationRequest r;
  r.description = "Kubernetes secrets (KMS v2 plugin)";
  KW_RETURN_IF_ERROR(
      kp_.CreateRegistration(options_.key_id, options_.resource_crn, r)
          .status());
  absl::MutexLock lock(&mu_);
  registered_ = true;
  return absl::OkStatus();
}

absl::Status KmsPlugin::Explain(const absl::Status& s) {
  // The server refuses a wrap or unwrap with a key in the wrong state with
  // one reason, KEY_ACTION_INVALID_STATE_ERR, and the state's number; the
  // operator reading the apiserver's log needs its name and what to do. One
  // GET of the key's metadata, on this error path only.
  if (client::ReasonOf(s) != "KEY_ACTION_INVALID_STATE_ERR") return s;
  auto key = kp_.GetKeyMetadata(options_.key_id);
  if (!key.ok()) return s;
  std::string_view what;
  switch (key->state) {
    case client::KeyState::kSuspended:
      what = "is disabled: enable it to resume";
      break;
    case client::KeyState::kDeactivated:
      what = "is deactivated (expired): it can no longer be used";
      break;
    case client::KeyState::kDestroyed:
      what = "is deleted: the data it protected cannot be recovered";
      break;
    case client::KeyState::kPreActivation:
      what = "is not active yet";
      break;
    case client::KeyState::kActive:
      return s;
  }
  absl::Status out(
      s.code(), AbslView(StrCat("root key ", client::Printable(options_.key_id),
                                " ", what, " (", StdView(s.message()), ")")));
  s.ForEachPayload([&out](absl::string_view url, const absl::Cord& payload) {
    out.SetPayload(url, payload);
  });
  return out;
}

absl::Status KmsPlugin::Probe() {
  // A wrap and an unwrap: the key is usable for both, and the answer names
  // its current version.
  const std::vector<std::string> aad = {std::string(kWrapAad), "probe"};
  auto wrapped = kp_.Wrap(options_.key_id, &probe_plaintext_, aad);
  if (!wrapped.ok()) {
    const absl::Status explained = Explain(wrapped.status());
    healthz_ = Reason("wrap failed", explained);
    return explained;
  }
  NoteKeyId(KeyIdOf(options_.key_id, wrapped->key_version_id));
  auto unwrapped = kp_.Unwrap(options_.key_id, wrapped->ciphertext, aad);
  if (!unwrapped.ok()) {
    const absl::Status explained = Explain(unwrapped.status());
    healthz_ = Reason("unwrap failed", explained);
    return explained;
  }
  if (!(unwrapped->plaintext == probe_plaintext_)) {
    healthz_ = "unwrap failed: the probe came back different";
    return absl::InternalError(healthz_);
  }
  healthz_ = "ok";
  return absl::OkStatus();
}

StatusAnswer KmsPlugin::Status() {
  StatusAnswer out;
  {
    absl::MutexLock lock(&probe_mu_);
    const absl::Time now = clock_.Now();
    if (now - probed_at_ >= options_.health_cache) {
      const absl::Status probed = Probe();
      probed_at_ = now;
      if (probed.ok() && !registered()) {
        // A failure here does not make the plugin unhealthy: the keys work;
        // the registration is retried with the next probe.
        (void)Register();
      }
    }
    out.healthz = healthz_;
  }
  out.key_id = CurrentKeyId();
  if (out.key_id.empty()) out.key_id = KeyIdOf(options_.key_id, "unknown");
  return out;
}

absl::StatusOr<EncryptAnswer> KmsPlugin::Encrypt(const SecretBytes& plaintext) {
  if (plaintext.empty()) {
    return absl::InvalidArgumentError("the plaintext is empty");
  }
  if (plaintext.size() > kMaxPlaintextBytes) {
    return absl::InvalidArgumentError(AbslView(StrCat(
        "the plaintext has ", plaintext.size(), " bytes, the limit is ",
        kMaxPlaintextBytes)));
  }
  auto wrapped = kp_.Wrap(options_.key_id, &plaintext, {std::string(kWrapAad)});
  if (!wrapped.ok()) return Explain(wrapped.status());
  auto bytes = crypto::Base64Decode(wrapped->ciphertext);
  if (!bytes.ok()) return absl::InternalError("the WDEK is not base64");
  EncryptAnswer out;
  out.ciphertext.assign(reinterpret_cast<const char*>(bytes->data()),
                        bytes->size());
  out.key_id = KeyIdOf(options_.key_id, wrapped->key_version_id);
  out.annotations.emplace(std::string(kFormatAnnotation),
                          std::string(kFormatV1));
  // The apiserver refuses answers past its limits; better to say why here.
  if (out.ciphertext.size() > kMaxCiphertextBytes) {
    return absl::InternalError("the WDEK is larger than 1 kB");
  }
  if (out.key_id.size() > kMaxKeyIdBytes) {
    return absl::InvalidArgumentError("the key_id would exceed 1 kB: use a shorter key id");
  }
  NoteKeyId(out.key_id);
  return out;
}

absl::StatusOr<SecretBytes> KmsPlugin::Decrypt(std::string_view ciphertext,
                                               std::string_view key_id,
                                               const Annotations& annotations) {
  if (ciphertext.empty()) {
    return absl::InvalidArgumentError("the ciphertext is empty");
  }
  if (ciphertext.size() > kMaxCiphertextBytes) {
    return absl::InvalidArgumentError(AbslView(StrCat(
        "the ciphertext has ", ciphertext.size(), " bytes, the limit is ",
        kMaxCiphertextBytes)));
  }
  if (key_id.size() > kMaxKeyIdBytes) {
    return absl::InvalidArgumentError("the key_id is longer than 1 kB");
  }
  KW_RETURN_IF_ERROR(ValidateAnnotations(annotations));
  auto format = annotations.find(std::string(kFormatAnnotation));
  if (format != annotations.end() && format->second != kFormatV1) {
    return absl::InvalidArgumentError(
        "the ciphertext is in a format this plugin does not know");
  }
  const std::string wdek = crypto::Base64Encode(std::span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(ciphertext.data()), ciphertext.size()));
  auto unwrapped = kp_.Unwrap(options_.key_id, wdek, {std::string(kWrapAad)});
  if (!unwrapped.ok()) {
    if (client::ReasonOf(unwrapped.status()) == "UNPROCESSABLE_CIPHERTEXT_ERR" ||
        client::ReasonOf(unwrapped.status()) == "INVALID_FIELD_ERR") {
      return absl::InvalidArgumentError(
          "the ciphertext is invalid or was not made with this root key");
    }
    return Explain(unwrapped.status());
  }
  return std::move(unwrapped->plaintext);
}

}  // namespace keywarden::integrations::k8s_kms
