#ifndef KEYWARDEN_API_KEYPROTECT_JSON_CODEC_H_
#define KEYWARDEN_API_KEYPROTECT_JSON_CODEC_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "keywarden/iam/identity.h"
#include "keywarden/service/identity_manager.h"
#include "keywarden/service/kmip_adapters.h"
#include "keywarden/service/registrations.h"
#include "keywarden/service/seal_service.h"
#include "keywarden/service/token_issuer.h"
#include "keywarden/service/types.h"
#include "keywarden/service/webhooks.h"

// The only place Keywarden's HTTP API reads or writes JSON. Decoders accept
// what the official clients send (keyprotect-api.md §1.4, §19, §22): any or
// no Content-Type, an empty body, `{}` or `null` where a body is optional,
// and object keys in any case. Errors carry Key Protect reasons.
namespace keywarden::api::keyprotect {

// How a key resource is rendered.
enum class KeyView {
  kFull,     // every field (GET, list, Prefer: return=representation)
  kMinimal,  // Prefer: return=minimal: only the id
};

struct KeyRenderOptions {
  KeyView view = KeyView::kFull;
  bool include_payload = false;
  std::string_view crn_prefix;  // "crn:v1:...:a/<account>:"
};

// `with_policy_overrides`: POST /keys_with_policy_overrides, whose resource
// may also carry `rotation` and `dualAuthDelete` (keyprotect-api.md §3.2).
absl::StatusOr<service::CreateKeyRequest> DecodeCreateKey(
    std::string_view body, bool with_policy_overrides = false);
// PATCH /keys/{id}: `{"keyRingID":…}` in any case, bare or in an envelope.
absl::StatusOr<service::PatchKeyRequest> DecodePatchKey(std::string_view body);
absl::StatusOr<service::WrapRequest> DecodeWrap(std::string_view body);
// Unwrap and rewrap bodies are required (NO_BODY_ERR when empty).
absl::StatusOr<service::UnwrapRequest> DecodeUnwrap(std::string_view body);
absl::StatusOr<service::RotateRequest> DecodeRotate(std::string_view body);
// Bodies the operation ignores must still be JSON when present (`null`, `{}`
// or any object); a body that is not JSON is BAD_BODY_ERR.
absl::Status DecodeIgnoredBody(std::string_view body);

// Test-clock control: {"seconds": N}.
absl::StatusOr<int64_t> DecodeClockAdvance(std::string_view body);

std::string EncodeKeys(const std::vector<const service::KeyResult*>& keys,
                       const KeyRenderOptions& options);
// A key list with its search metadata (keyprotect-api.md §3.3).
std::string EncodeKeyList(const service::ListKeysResult& list,
                          const KeyRenderOptions& options);
std::string EncodeWrap(const service::WrapResult& result);
std::string EncodeUnwrap(const service::UnwrapResult& result);
std::string EncodeRewrap(const service::RewrapResult& result);
std::string EncodeVersions(const service::ListVersionsResult& result);
std::string EncodeKeyRings(const service::ListKeyRingsResult& result);
// The answer to an alias create: one alias resource in its collection.
std::string EncodeAlias(const store::KeyAlias& alias);

// --- The lifecycle API (json_codec_lifecycle.cc) ---------------------------
// POST /import_token: `{expiration?, maxAllowedRetrievals?}`, body optional.
absl::StatusOr<service::CreateImportTokenRequest> DecodeCreateImportToken(
    std::string_view body);
// Import token answers are flat objects (§8.1); `payload` (base64 of the
// PEM public key) and `nonce` only when the result carries them (GET).
std::string EncodeImportToken(const service::ImportTokenResult& token);

// PUT /keys/{id}/policies (§7.1): one resource per policy, or both policies
// in one resource; each policy at most once.
absl::StatusOr<service::PutKeyPoliciesRequest> DecodeKeyPolicies(
    std::string_view body);
// `crn_prefix` + instance + ":policy:" + id makes each policy's CRN.
std::string EncodeKeyPolicies(const service::KeyPoliciesResult& policies,
                              std::string_view crn_prefix,
                              std::string_view instance_id);

// PUT /instance/policies (§7.2): strict; an unknown field anywhere is
// BAD_BODY_ERR `json: unknown field "<name>"`. With `selected` (the
// `?policy=` query), a body of other than one resource is
// NUM_COLLECTION_RESOURCE_ERR and one that names another policy_type
// BODY_QUERY_PARAM_MISMATCH_ERR, before the policy itself is read.
absl::StatusOr<std::vector<service::InstancePolicyInput>>
DecodeInstancePolicies(
    std::string_view body,
    std::optional<keys::InstancePolicyType> selected = std::nullopt);
std::string EncodeInstancePolicies(
    const std::vector<keys::InstancePolicy>& policies);
std::string EncodeAllowedIpPort(std::optional<int> port);

// Registrations (§11). The body of POST/PUT/PATCH is a registration_input
// collection of one resource; an empty body means no fields.
absl::StatusOr<service::RegistrationInput> DecodeRegistrationInput(
    std::string_view body);
// `?action=deactivate`: the resourceCrn of each resource.
absl::StatusOr<std::vector<std::string>> DecodeDeactivateRegistrations(
    std::string_view body);
std::string EncodeRegistrations(
    const std::vector<service::RegistrationResult>& registrations,
    std::optional<int64_t> total_count);

// POST /event_ack (§12).
absl::StatusOr<std::vector<service::EventAckRequest>> DecodeEventAcks(
    std::string_view body);
// The webhook body of one lifecycle event (docs/api.md "Lifecycle events").
std::string EncodeKeyEvent(const keys::KeyEvent& event,
                           std::string_view crn_prefix, int64_t attempt,
                           absl::Time acknowledge_by);

// Admin: PUT /admin/v1/service_ids/{id}/webhook `{url, secret?}`.
struct WebhookBody {
  std::string url;
  std::optional<std::string> secret;
};
absl::StatusOr<WebhookBody> DecodeWebhook(std::string_view body);
std::string EncodeWebhook(const service::WebhookInfo& webhook);

// The Key Protect error envelope (keyprotect-api.md §1.6).
std::string EncodeError(std::string_view error_msg, std::string_view code,
                        std::string_view message, int http_status,
                        const std::string* field);

// Admin API and token endpoint (docs/admin-api.md); json_codec_admin.cc.
struct CreatePrincipalBody {
  std::string name;
  std::string service_type;
  bool admin = false;
};
absl::StatusOr<CreatePrincipalBody> DecodeCreatePrincipal(std::string_view body);
struct CreateApiKeyBody {
  std::string principal_id;
  std::string name;
};
absl::StatusOr<CreateApiKeyBody> DecodeCreateApiKey(std::string_view body);
absl::StatusOr<std::string> DecodeCreateInstance(std::string_view body);
absl::StatusOr<service::PolicyRequest> DecodeCreatePolicy(std::string_view body);
absl::StatusOr<service::AuthorizationRequest> DecodeCreateAuthorization(
    std::string_view body);

std::string EncodeTokenGrant(const service::TokenGrant& grant);

// The seal endpoints (docs/admin-api.md, "Seal"). POST /admin/v1/seal/init:
// {"shares":N,"threshold":T}. POST /admin/v1/seal/unseal: {"share":"kw1-…"}
// or no body (file and pkcs11 seals); the share is returned in wiped memory.
struct SealInitRequest {
  int shares = 0;
  int threshold = 0;
};
absl::StatusOr<SealInitRequest> DecodeSealInit(std::string_view body);
absl::StatusOr<SecretBytes> DecodeUnseal(std::string_view body);
// POST /admin/v1/seal/rekey: {"batchSize":N,"pauseMs":M,"shares":N,
// "threshold":T}, all optional (the last two: shamir only).
absl::StatusOr<service::RekeyOptions> DecodeRekey(std::string_view body);
std::string EncodeSealStatus(const service::SealStatus& status);
// The rekey's answer: the status, or under shamir at start
// {"shares":[…],"threshold":T,"keyId":…,"seal":status}, the only time the
// new shares are shown.
std::string EncodeRekeyResult(const service::RekeyResult& result);
// {"shares":[…],"threshold":T,"keyId":…}: the only time shares are shown.
std::string EncodeSealInit(const service::SealInitResult& result);
std::string EncodePrincipal(const iam::PrincipalRecord& p);
std::string EncodePrincipals(const std::vector<iam::PrincipalRecord>& list);
std::string EncodeNewApiKey(const service::NewApiKey& key);
std::string EncodeApiKeys(const std::vector<iam::ApiKeyRecord>& list);
std::string EncodeInstance(const iam::InstanceRecord& i);
std::string EncodeInstances(const std::vector<iam::InstanceRecord>& list);
std::string EncodePolicy(const iam::AccessPolicyRecord& p);
std::string EncodePolicies(const std::vector<iam::AccessPolicyRecord>& list);
std::string EncodeAuthorization(const iam::ServiceAuthorizationRecord& a);
std::string EncodeAuthorizations(
    const std::vector<iam::ServiceAuthorizationRecord>& list);
std::string EncodeAudit(const std::vector<iam::AuditRecord>& list);

// RFC 3339 in UTC with a Z, as the Go client requires.
std::string FormatRfc3339(absl::Time t);
// Parses RFC 3339 with fractional seconds and any zone offset.
bool ParseRfc3339(std::string_view text, absl::Time* out);

// KMIP adapters, client certificates and KMIP objects (keyprotect-api.md
// §13; json_codec_kmip.cc).
absl::StatusOr<service::KmipAdapterInput> DecodeKmipAdapter(
    std::string_view body);
absl::StatusOr<service::KmipCertificateInput> DecodeKmipCertificate(
    std::string_view body);
std::string EncodeKmipAdapters(const std::vector<store::KmipAdapter>& adapters,
                               std::optional<int64_t> total);
// Lists leave the PEM out; create and get include it.
std::string EncodeKmipCertificates(
    const std::vector<store::KmipCertificate>& certificates, bool with_pem,
    std::optional<int64_t> total);
std::string EncodeKmipObjects(const std::vector<store::KmipObject>& objects,
                              std::optional<int64_t> total);

}  // namespace keywarden::api::keyprotect

#endif  // KEYWARDEN_API_KEYPROTECT_JSON_CODEC_H_
