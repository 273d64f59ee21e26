// The Key Protect API's operation table: one row per operation, the only
// place a route is declared. Adding an endpoint is adding a row here and its
// handler in the resource's *_handlers.cc.
//
// Row order matters in one way only: the metrics list operations in the
// order their names first appear. The router decides precedence itself
// (literal segments before captures), not by row order.
#include "keywarden/api/keyprotect/keyprotect_api_internal.h"

namespace keywarden::api::keyprotect {
namespace {

using namespace handlers;  // NOLINT: the table names every handler.

constexpr Method kGet = Method::kGet;
constexpr Method kHead = Method::kHead;
constexpr Method kPost = Method::kPost;
constexpr Method kPut = Method::kPut;
constexpr Method kPatch = Method::kPatch;
constexpr Method kDelete = Method::kDelete;

// The common flag sets.
constexpr uint32_t kTenant = kAuth | kInstance;   // an instance's routes
constexpr uint32_t kKey = kAuth | kInstance | kNamesKey;  // ... on a key
constexpr uint32_t kLegacyAction = kKey | kSelectedByAction;

constexpr std::string_view kKeyAction = "Action could not be performed on key";
constexpr std::string_view kWrapFailure = "Wrap with key could not be performed";
constexpr std::string_view kUnwrapFailure =
    "Unwrap with key could not be performed";
constexpr std::string_view kRewrapFailure =
    "Rewrap with key could not be performed";
constexpr std::string_view kRestoreFailure = "Key could not be restored";

constexpr Operation kOperations[] = {
    // Operational; no token.
    {kGet, "/healthz", "healthz", "Health check failed", Healthz,
     kWhileSealed},
    {kGet, "/readyz", "readyz", "Readiness check failed", Readyz,
     kWhileSealed},
    {kPost, "/_test/clock/advance", "test_clock_advance",
     "Clock could not be advanced", AdvanceTestClock, kAuth | kTestClockOnly},

    // Keys (keyprotect-api.md §3).
    {kGet, "/api/v2/keys", "list_keys", "Keys could not be listed", ListKeys,
     kTenant},
    {kHead, "/api/v2/keys", "count_keys", "Keys could not be counted",
     CountKeys, kTenant},
    {kPost, "/api/v2/keys", "create_key", "Key could not be created",
     CreateKey, kTenant},
    {kGet, "/api/v2/keys/{id}", "get_key", "Key could not be retrieved",
     GetKey, kKey},
    {kGet, "/api/v2/keys/{id}/metadata", "get_key_metadata",
     "Key metadata could not be retrieved", GetKeyMetadata, kKey},
    {kDelete, "/api/v2/keys/{id}", "delete_key", "Key could not be deleted",
     DeleteKey, kKey},
    {kPost, "/api/v2/keys/{id}/restore", "restore_key", kRestoreFailure,
     RestoreKey, kKey},
    {kGet, "/api/v2/keys/{id}/versions", "list_key_versions",
     "Key versions could not be listed", ListKeyVersions, kKey},

    // Key actions (§4.1), one row per action name; the 2020 documentation's
    // short names are taken too (§20.16).
    {kPost, "/api/v2/keys/{id}/actions/wrap", "wrap_key", kWrapFailure,
     WrapKey, kKey},
    {kPost, "/api/v2/keys/{id}/actions/unwrap", "unwrap_key", kUnwrapFailure,
     UnwrapKey, kKey},
    {kPost, "/api/v2/keys/{id}/actions/rewrap", "rewrap_key", kRewrapFailure,
     RewrapKey, kKey},
    {kPost, "/api/v2/keys/{id}/actions/rotate", "rotate_key", kKeyAction,
     RotateKey, kKey},
    {kPost, "/api/v2/keys/{id}/actions/enable", "enable_key", kKeyAction,
     EnableKey, kKey},
    {kPost, "/api/v2/keys/{id}/actions/disable", "disable_key", kKeyAction,
     DisableKey, kKey},
    {kPatch, "/api/v2/keys/{id}", "patch_key", "Key could not be updated",
     PatchKey, kKey},

    // Aliases and key rings (§5, §6).
    {kPost, "/api/v2/keys/{id}/aliases/{alias}", "create_key_alias",
     "Key alias could not be created", CreateKeyAlias, kKey},
    {kDelete, "/api/v2/keys/{id}/aliases/{alias}", "delete_key_alias",
     "Key alias could not be deleted", DeleteKeyAlias, kKey},
    {kPost, "/api/v2/key_rings/{id}", "create_key_ring",
     "Key ring could not be created", CreateKeyRing, kTenant},
    {kGet, "/api/v2/key_rings", "list_key_rings",
     "Key rings could not be listed", ListKeyRings, kTenant},
    {kDelete, "/api/v2/key_rings/{id}", "delete_key_ring",
     "Key ring could not be deleted", DeleteKeyRing, kTenant},

    // KMIP adapters, their client certificates and objects (§13).
    {kPost, "/api/v2/kmip_adapters", "create_kmip_adapter",
     "KMIP adapter could not be created", CreateKmipAdapter, kTenant},
    {kGet, "/api/v2/kmip_adapters", "list_kmip_adapters",
     "KMIP adapters could not be listed", ListKmipAdapters, kTenant},
    {kGet, "/api/v2/kmip_adapters/{id}", "get_kmip_adapter",
     "KMIP adapter could not be retrieved", GetKmipAdapter, kTenant},
    {kDelete, "/api/v2/kmip_adapters/{id}", "delete_kmip_adapter",
     "KMIP adapter could not be deleted", DeleteKmipAdapter, kTenant},
    {kPost, "/api/v2/kmip_adapters/{id}/certificates",
     "create_kmip_certificate", "KMIP client certificate could not be added",
     CreateKmipCertificate, kTenant},
    {kGet, "/api/v2/kmip_adapters/{id}/certificates",
     "list_kmip_certificates", "KMIP client certificates could not be listed",
     ListKmipCertificates, kTenant},
    {kGet, "/api/v2/kmip_adapters/{id}/certificates/{certificate_id}",
     "get_kmip_certificate", "KMIP client certificate could not be retrieved",
     GetKmipCertificate, kTenant},
    {kDelete, "/api/v2/kmip_adapters/{id}/certificates/{certificate_id}",
     "delete_kmip_certificate", "KMIP client certificate could not be deleted",
     DeleteKmipCertificate, kTenant},
    {kGet, "/api/v2/kmip_adapters/{id}/kmip_objects",
     "list_kmip_objects", "KMIP objects could not be listed", ListKmipObjects,
     kTenant},
    {kGet, "/api/v2/kmip_adapters/{id}/kmip_objects/{object_id}",
     "get_kmip_object", "KMIP object could not be retrieved", GetKmipObject,
     kTenant},
    {kDelete, "/api/v2/kmip_adapters/{id}/kmip_objects/{object_id}",
     "delete_kmip_object", "KMIP object could not be deleted",
     DeleteKmipObject, kTenant},

    {kPost, "/api/v2/keys_with_policy_overrides",
     "create_key_with_policy_overrides", "Key could not be created",
     CreateKeyWithPolicyOverrides, kTenant},
    {kDelete, "/api/v2/keys/{id}/purge", "purge_key",
     "Key could not be purged", PurgeKey, kKey},
    {kPost, "/api/v2/keys/{id}/actions/setKeyForDeletion",
     "set_key_for_deletion", kKeyAction, SetKeyForDeletion, kKey},
    {kPost, "/api/v2/keys/{id}/actions/setKeyDeletion", "set_key_for_deletion",
     kKeyAction, SetKeyForDeletion, kKey},
    {kPost, "/api/v2/keys/{id}/actions/unsetKeyForDeletion",
     "unset_key_for_deletion", kKeyAction, UnsetKeyForDeletion, kKey},
    {kPost, "/api/v2/keys/{id}/actions/unsetKeyDeletion",
     "unset_key_for_deletion", kKeyAction, UnsetKeyForDeletion, kKey},
    {kPost, "/api/v2/keys/{id}/actions/sync", "sync_associated_resources",
     kKeyAction, SyncKey, kKey},
    // Any other action name: 404, before authentication (as it always was).
    {kPost, "/api/v2/keys/{id}/actions/{action}", kUnknownOperation,
     kUnknownFailure, NoSuchKeyAction, kNamesKey | kWhileSealed},

    // The deprecated `POST /keys/{id}?action=` form: restore, but not the
    // newer sync. The first rows of each operation name the list in the
    // 400 for a missing action; the later ones are aliases.
    {kPost, "/api/v2/keys/{id}", "wrap_key", kWrapFailure, WrapKey,
     kLegacyAction, "wrap"},
    {kPost, "/api/v2/keys/{id}", "unwrap_key", kUnwrapFailure, UnwrapKey,
     kLegacyAction, "unwrap"},
    {kPost, "/api/v2/keys/{id}", "rewrap_key", kRewrapFailure, RewrapKey,
     kLegacyAction, "rewrap"},
    {kPost, "/api/v2/keys/{id}", "rotate_key", kKeyAction, RotateKey,
     kLegacyAction, "rotate"},
    {kPost, "/api/v2/keys/{id}", "enable_key", kKeyAction, EnableKey,
     kLegacyAction, "enable"},
    {kPost, "/api/v2/keys/{id}", "disable_key", kKeyAction, DisableKey,
     kLegacyAction, "disable"},
    {kPost, "/api/v2/keys/{id}", "restore_key", kRestoreFailure, RestoreKey,
     kLegacyAction, "restore"},
    {kPost, "/api/v2/keys/{id}", "set_key_for_deletion", kKeyAction,
     SetKeyForDeletion, kLegacyAction, "setKeyForDeletion"},
    {kPost, "/api/v2/keys/{id}", "set_key_for_deletion", kKeyAction,
     SetKeyForDeletion, kLegacyAction, "setKeyDeletion"},
    {kPost, "/api/v2/keys/{id}", "unset_key_for_deletion", kKeyAction,
     UnsetKeyForDeletion, kLegacyAction, "unsetKeyForDeletion"},
    {kPost, "/api/v2/keys/{id}", "unset_key_for_deletion", kKeyAction,
     UnsetKeyForDeletion, kLegacyAction, "unsetKeyDeletion"},

    // Policies (§7).
    {kGet, "/api/v2/keys/{id}/policies", "get_key_policies",
     "Key policies could not be retrieved", GetKeyPolicies, kKey},
    {kPut, "/api/v2/keys/{id}/policies", "put_key_policies",
     "Key policy could not be set", PutKeyPolicies, kKey},
    {kGet, "/api/v2/instance/policies", "get_instance_policies",
     "Instance policies could not be retrieved", GetInstancePolicies,
     kTenant},
    {kPut, "/api/v2/instance/policies", "put_instance_policies",
     "Instance policy could not be created", PutInstancePolicies, kTenant},
    {kGet, "/api/v2/instance/allowed_ip_port", "get_allowed_ip_port",
     "Allowed IP port could not be retrieved", GetAllowedIpPort, kTenant},

    // Secure import (§8): RSA-4096 generation is slow.
    {kPost, "/api/v2/import_token", "post_import_token",
     "Import Token could not be created", CreateImportToken,
     kTenant | kBlocking},
    {kGet, "/api/v2/import_token", "get_import_token",
     "Import Token could not be retrieved", GetImportToken, kTenant},

    // Registrations and events (§11, §12).
    {kGet, "/api/v2/keys/{id}/registrations", "list_registrations",
     "Registrations could not be listed", ListKeyRegistrations, kKey},
    {kGet, "/api/v2/keys/registrations", "list_registrations",
     "Registrations could not be listed", ListAllRegistrations, kTenant},
    {kPost, "/api/v2/keys/{id}/registrations/{crn}", "create_registration",
     "Registration could not be created", WriteRegistration, kKey},
    {kPut, "/api/v2/keys/{id}/registrations/{crn}", "replace_registration",
     "Registration could not be replaced", WriteRegistration, kKey},
    {kPatch, "/api/v2/keys/{id}/registrations/{crn}", "update_registration",
     "Registration could not be updated", WriteRegistration, kKey},
    {kDelete, "/api/v2/keys/{id}/registrations/{crn}", "delete_registration",
     "Registration could not be deleted", DeleteRegistration, kKey},
    // Its `?action=deactivate` is checked by the handler, after
    // authentication and under this operation's name, as it always was.
    {kPost, "/api/v2/keys/{id}/registrations", "deactivate_registrations",
     "Registrations could not be deactivated", DeactivateRegistrations, kKey},
    {kPost, "/api/v2/event_ack", "event_ack",
     "Event could not be acknowledged", AcknowledgeEvents, kTenant},

    // Identity: the token endpoint authenticates by its own body.
    {kPost, "/identity/token", "issue_token", "Token could not be issued",
     IssueToken},

    // Administration (docs/admin-api.md): authenticated, no instance.
    {kPost, "/admin/v1/users", "admin_principals",
     "Principal request could not be completed", CreateUser, kAuth},
    {kPost, "/admin/v1/service_ids", "admin_principals",
     "Principal request could not be completed", CreateServiceId, kAuth},
    {kGet, "/admin/v1/principals", "admin_principals",
     "Principal request could not be completed", ListPrincipals, kAuth},
    {kDelete, "/admin/v1/principals/{id}", "admin_principals",
     "Principal request could not be completed", DeletePrincipal, kAuth},
    {kPost, "/admin/v1/api_keys", "admin_api_keys",
     "API key request could not be completed", CreateApiKey, kAuth},
    {kGet, "/admin/v1/api_keys", "admin_api_keys",
     "API key request could not be completed", ListApiKeys, kAuth},
    {kDelete, "/admin/v1/api_keys/{id}", "admin_api_keys",
     "API key request could not be completed", DeleteApiKey, kAuth},
    {kPost, "/admin/v1/instances", "admin_instances",
     "Instance request could not be completed", CreateInstance, kAuth},
    {kGet, "/admin/v1/instances", "admin_instances",
     "Instance request could not be completed", ListInstances, kAuth},
    {kDelete, "/admin/v1/instances/{id}", "admin_instances",
     "Instance request could not be completed", DeleteInstance, kAuth},
    {kPost, "/admin/v1/policies", "admin_policies",
     "Policy request could not be completed", CreatePolicy, kAuth},
    {kGet, "/admin/v1/policies", "admin_policies",
     "Policy request could not be completed", ListPolicies, kAuth},
    {kDelete, "/admin/v1/policies/{id}", "admin_policies",
     "Policy request could not be completed", DeletePolicy, kAuth},
    {kPost, "/admin/v1/authorizations", "admin_authorizations",
     "Authorization request could not be completed", CreateAuthorization,
     kAuth},
    {kGet, "/admin/v1/authorizations", "admin_authorizations",
     "Authorization request could not be completed", ListAuthorizations,
     kAuth},
    {kDelete, "/admin/v1/authorizations/{id}", "admin_authorizations",
     "Authorization request could not be completed", DeleteAuthorization,
     kAuth},
    {kGet, "/admin/v1/audit", "admin_audit",
     "Audit records could not be listed", ListAudit, kAuth},
    {kDelete, "/admin/v1/bootstrap_token", "admin_audit",
     "Audit records could not be listed", RevokeBootstrapToken, kAuth},
    // A webhook registration resolves the URL's host name (webhook_sink.h).
    {kPut, "/admin/v1/service_ids/{id}/webhook", "admin_webhooks",
     "Webhook request could not be completed", PutWebhook, kAuth | kBlocking},
    {kGet, "/admin/v1/service_ids/{id}/webhook", "admin_webhooks",
     "Webhook request could not be completed", GetWebhook, kAuth},
    {kDelete, "/admin/v1/service_ids/{id}/webhook", "admin_webhooks",
     "Webhook request could not be completed", DeleteWebhook, kAuth},

    // The seal (docs/admin-api.md "Seal"), served while sealed. A token is
    // optional: an unseal with a share needs none (seal_handlers.cc).
    {kGet, "/admin/v1/seal", "admin_seal",
     "Seal request could not be completed", GetSealStatus, kWhileSealed},
    {kPost, "/admin/v1/seal/{action}", "admin_seal",
     "Seal request could not be completed", SealAction, kWhileSealed},
};

}  // namespace

std::span<const Operation> Operations() { return kOperations; }

}  // namespace keywarden::api::keyprotect
