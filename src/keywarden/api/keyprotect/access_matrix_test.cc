// Access matrix: every /api/v2 and /admin/v1 endpoint x grant kind (policy
// of a user, policy of a service id, authorization by service id, by service
// type) x scope (the instance, the target key's ring, the target key,
// another key) x role, single grants and pairs, driven through the real
// HTTP API in process on the memory store. Each case gets a fresh instance,
// key ring and key, so destructive operations start from the same state.
//
// The expected answer comes from an oracle written from keyprotect-api.md
// §15 and docs/api.md, docs/admin-api.md alone: it calls nothing in iam/
// (no RoleAllows, no Reach), so a mistake in the role table or in how grants
// combine shows up as a disagreement here.

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json.hpp>

#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "keywarden/api/keyprotect/keyprotect_api.h"
#include "keywarden/common/clock.h"
#include "keywarden/crypto/random.h"
#include "keywarden/iam/authenticator.h"
#include "keywarden/service/access_control.h"
#include "keywarden/service/identity_manager.h"
#include "keywarden/service/signing_keys.h"
#include "keywarden/service/token_authenticator.h"
#include "keywarden/service/token_issuer.h"
#include "keywarden/service/import_tokens.h"
#include "keywarden/service/instance_policies.h"
#include "keywarden/service/instance_policy_index.h"
#include "keywarden/service/key_manager.h"
#include "keywarden/service/registrations.h"
#include "keywarden/service/webhooks.h"
#include "keywarden/store/memory/memory_store.h"

namespace keywarden::api::keyprotect {
namespace {

namespace bhttp = boost::beast::http;
namespace json = boost::json;
using absl::StrAppend;
using absl::StrCat;

// ------------------------------------------------------------------ oracle
//
// Everything in this section is transcribed from the documents, not from
// iam/: keyprotect-api.md §15.1 (roles -> operations), §15.2 (what service
// authorizations never do), docs/api.md and docs/admin-api.md (scopes,
// grant management, reason codes).

enum class Role { kReader, kReaderPlus, kWriter, kManager, kKeyPurge, kKam };
constexpr Role kAllRoles[] = {Role::kReader,  Role::kReaderPlus,
                              Role::kWriter,  Role::kManager,
                              Role::kKeyPurge, Role::kKam};
const char* RoleText(Role r) {
  switch (r) {
    case Role::kReader: return "Reader";
    case Role::kReaderPlus: return "ReaderPlus";
    case Role::kWriter: return "Writer";
    case Role::kManager: return "Manager";
    case Role::kKeyPurge: return "KeyPurge";
    case Role::kKam: return "KmipAdapterManager";
  }
  return "?";
}

// What an endpoint needs, by §15.1 row.
enum class Need {
  kListKeys, kCreateKey, kGetPayload, kMetadata, kWrap, kRotate,
  kEnableDisable, kSetForDeletion, kDelete, kRestore, kPatch, kSync, kPurge,
  kCreateRing, kListRings, kDeleteRing, kPolicies, kImportToken,
  kRegistrations, kAliasCreate, kAliasDelete, kManageGrants, kKmip,
};

// §15.1, columns Reader, ReaderPlus, Writer, Manager, KeyPurge,
// KmipAdapterManager. Alias create is "Writer or Manager" (§10); alias
// delete is Manager (docs/api.md); managing grants is Manager
// (docs/admin-api.md); registrations take any reading role (docs/api.md).
const std::map<Need, std::string>& RoleColumns() {
  static const auto* t = new std::map<Need, std::string>{
      {Need::kListKeys, "R+WM.K"},      {Need::kCreateKey, "..WM.."},
      {Need::kGetPayload, ".+WM.."},    {Need::kMetadata, "R+WM.."},
      {Need::kWrap, "R+WM.."},          {Need::kRotate, "..WM.."},
      {Need::kEnableDisable, "...M.."}, {Need::kSetForDeletion, "..WM.."},
      {Need::kDelete, "...M.."},        {Need::kRestore, "...M.."},
      {Need::kPatch, "...M.."},         {Need::kSync, "..WM.."},
      {Need::kPurge, "....P."},         {Need::kCreateRing, "..WM.."},
      {Need::kListRings, "R+WM.K"},     {Need::kDeleteRing, "...M.."},
      {Need::kPolicies, "...M.."},      {Need::kImportToken, "..WM.."},
      {Need::kRegistrations, "R+WM.."}, {Need::kAliasCreate, "..WM.."},
      {Need::kAliasDelete, "...M.."},   {Need::kManageGrants, "...M.."},
      {Need::kKmip, "...M.K"},
  };
  return *t;
}

bool Allows(Role r, Need n) {
  return RoleColumns().at(n)[static_cast<int>(r)] != '.';
}

// §15.2 and the issue: a service authorization never deletes, restores,
// purges or moves keys, deletes rings (a deletion that moves keys), manages
// key or instance policies, or manages grants. Those come from policies only.
bool ThroughAuthorization(Need n) {
  return n != Need::kDelete && n != Need::kRestore && n != Need::kPurge &&
         n != Need::kPatch && n != Need::kDeleteRing &&
         n != Need::kPolicies && n != Need::kManageGrants;
}

// Reader < ReaderPlus < Writer < Manager; KmipAdapterManager < Manager;
// nothing implies KeyPurge.
bool Implies(Role held, Role wanted) {
  if (held == wanted) return true;
  auto rank = [](Role r) {
    switch (r) {
      case Role::kReader: return 1;
      case Role::kReaderPlus: return 2;
      case Role::kWriter: return 3;
      case Role::kManager: return 4;
      default: return 0;
    }
  };
  if (wanted == Role::kKeyPurge) return false;
  if (wanted == Role::kKam) return held == Role::kManager;
  return rank(held) >= rank(wanted) && rank(wanted) > 0;
}

enum class Kind { kUserPolicy, kServicePolicy, kAuthById, kAuthByType };
enum class Where { kInstance, kRing, kTarget, kOtherKey };
constexpr Where kAllWheres[] = {Where::kInstance, Where::kRing,
                                Where::kTarget, Where::kOtherKey};

const char* KindText(Kind k) {
  switch (k) {
    case Kind::kUserPolicy: return "user-policy";
    case Kind::kServicePolicy: return "service-policy";
    case Kind::kAuthById: return "auth-by-id";
    case Kind::kAuthByType: return "auth-by-type";
  }
  return "?";
}
const char* WhereText(Where w) {
  switch (w) {
    case Where::kInstance: return "instance";
    case Where::kRing: return "ring";
    case Where::kTarget: return "target-key";
    case Where::kOtherKey: return "other-key";
  }
  return "?";
}

struct Grant {
  Kind kind;
  Where where;
  Role role;
};
bool IsPolicy(const Grant& g) {
  return g.kind == Kind::kUserPolicy || g.kind == Kind::kServicePolicy;
}

struct Config {
  bool service = false;  // who calls: the service id, or the user
  std::vector<Grant> grants;
  std::string Text() const {
    std::string s = service ? "service:" : "user:";
    if (grants.empty()) StrAppend(&s, " none");
    for (const Grant& g : grants) {
      StrAppend(&s, " ", KindText(g.kind), "/", WhereText(g.where), "/",
                RoleText(g.role));
    }
    return s;
  }
};

// What an endpoint acts on, as far as scopes go.
enum class Target {
  kKey,            // the target key (in ring r1)
  kKeyToDefault,   // the target key, moved to ring `default`
  kKeyWithinRing,  // the target key, moved within its own ring
  kRing,           // ring r1 itself
  kNewKeyInRing,   // a key created in ring r1 (X-Kms-Key-Ring)
  kWholeInstance,  // instance-wide: only an instance grant covers it
  kAnywhere,       // instance-level reads: any grant in the instance
  kAdminOnly,      // deployment administration: administrators only
};

bool Covers(Where w, Target t) {
  switch (t) {
    case Target::kKey:
      return w == Where::kInstance || w == Where::kRing || w == Where::kTarget;
    case Target::kKeyToDefault:  // and ring `default`: the instance only
    case Target::kWholeInstance:
      return w == Where::kInstance;
    case Target::kKeyWithinRing:
    case Target::kRing:
    case Target::kNewKeyInRing:
      return w == Where::kInstance || w == Where::kRing;
    case Target::kAnywhere:
      return true;
    case Target::kAdminOnly:
      return false;
  }
  return false;
}

// Setup each endpoint needs before the call, done as the administrator.
enum Setup : unsigned {
  kNone = 0,
  kDestroyTarget = 1 << 0,
  kDisableTarget = 1 << 1,
  kDualAuthTarget = 1 << 2,
  kAliasOnTarget = 1 << 3,
  kWrapWithTarget = 1 << 4,
  kRegistration = 1 << 5,  // the calling service's registration of the key
  kImportToken = 1 << 6,
  kPolicyForOther = 1 << 7,        // a Reader policy on the key for `other`
  kAuthorizationForOther = 1 << 8,  // a Reader authorization on the key
};

// A /admin/v1 grant request: on what, which roles.
struct GrantRequest {
  Where where;
  std::vector<Role> roles;
};

struct Endpoint {
  std::string name;
  bhttp::verb method;
  std::string path;  // {I} {T} {C} {P} {A} {S} are substituted per case
  std::string body;
  Need need;
  Target target;
  int ok_status;
  unsigned setup = kNone;
  bool services_only = false;  // users get SERVICE_ONLY_ERR
  std::optional<Need> also_need;  // keys_with_policy_overrides: Manager too
  std::optional<GrantRequest> grant;  // POST policies / authorizations
  bool manages_anywhere = false;      // GET policies / authorizations
};

struct Expected {
  bool allowed;
  std::string reason;  // when refused
};

Expected Oracle(const Config& c, const Endpoint& e) {
  auto usable = [&](const Grant& g, Need n) {
    if (!IsPolicy(g) && (!c.service || !ThroughAuthorization(n))) return false;
    if (g.kind == Kind::kServicePolicy && !c.service) return false;
    if (g.kind == Kind::kUserPolicy && c.service) return false;
    return Allows(g.role, n);
  };
  auto one_grant = [&](Need n, Target t) {
    for (const Grant& g : c.grants) {
      if (usable(g, n) && Covers(g.where, t)) return true;
    }
    return false;
  };
  const Expected forbidden{false, "FORBIDDEN_ERR"};
  if (e.target == Target::kAdminOnly) return forbidden;
  if (e.services_only && !c.service) return {false, "SERVICE_ONLY_ERR"};

  if (e.grant.has_value() || e.need == Need::kManageGrants) {
    // docs/admin-api.md: a Manager manages grants inside the scopes where
    // its policies make it Manager, hands on only roles it holds there, and
    // never KeyPurge.
    auto covers_scope = [](Where held, Where scope) {
      if (held == Where::kInstance) return true;
      if (held == Where::kRing) {
        return scope == Where::kRing || scope == Where::kTarget;
      }
      return held == scope;
    };
    if (e.manages_anywhere) {
      for (const Grant& g : c.grants) {
        if (usable(g, Need::kManageGrants)) return {true, ""};
      }
      return forbidden;
    }
    const Where scope = e.grant.has_value() ? e.grant->where : Where::kTarget;
    bool manager = false;
    for (const Grant& g : c.grants) {
      if (usable(g, Need::kManageGrants) && covers_scope(g.where, scope)) {
        manager = true;
      }
    }
    if (!manager) return forbidden;
    if (e.grant.has_value()) {
      for (Role wanted : e.grant->roles) {
        bool held = false;
        for (const Grant& g : c.grants) {
          // Roles held through policies only: authorizations never count
          // towards what a caller may hand on.
          if (IsPolicy(g) && (g.kind == Kind::kServicePolicy) == c.service &&
              covers_scope(g.where, scope) && Implies(g.role, wanted)) {
            held = true;
          }
        }
        if (wanted == Role::kKeyPurge || !held) return forbidden;
      }
    }
    return {true, ""};
  }

  bool allowed = one_grant(e.need, e.target);
  if (allowed && e.also_need.has_value()) {
    allowed = one_grant(*e.also_need, e.target);
  }
  if (allowed) return {true, ""};
  // §15.2: a service does not delete (or purge) a key it was only
  // authorized to use: RESOURCE_OWNER_ERR where an authorization of any role
  // covers the key.
  if (c.service && (e.need == Need::kDelete || e.need == Need::kPurge)) {
    for (const Grant& g : c.grants) {
      if (!IsPolicy(g) && Covers(g.where, Target::kKey)) {
        return {false, "RESOURCE_OWNER_ERR"};
      }
    }
  }
  return forbidden;
}

// ------------------------------------------------------------- endpoints

constexpr char kKeyEnvelope[] =
    R"({"metadata":{"collectionType":"application/vnd.ibm.kms.key+json","collectionTotal":1},"resources":[{"type":"application/vnd.ibm.kms.key+json","name":"matrix-key","extractable":false)";
constexpr char kCrn[] =
    "crn:v1:bluemix:public:cloud-object-storage:global:a%2Fabc:inst-1:bucket:b1";
constexpr char kCrnPlain[] =
    "crn:v1:bluemix:public:cloud-object-storage:global:a/abc:inst-1:bucket:b1";

std::vector<Endpoint> Endpoints() {
  using V = bhttp::verb;
  const std::string key_body = StrCat(kKeyEnvelope, "}]}");
  const std::string key_policy_body =
      R"({"metadata":{"collectionType":"application/vnd.ibm.kms.policy+json","collectionTotal":1},"resources":[{"type":"application/vnd.ibm.kms.policy+json","rotation":{"interval_month":3}}]})";
  const std::string instance_policy_body =
      R"({"metadata":{"collectionType":"application/vnd.ibm.kms.policy+json","collectionTotal":1},"resources":[{"policy_type":"dualAuthDelete","policy_data":{"enabled":false}}]})";
  const std::string unwrap_body = R"({"ciphertext":"{C}"})";
  std::vector<Endpoint> e = {
      {"HEAD /keys", V::head, "/api/v2/keys", "", Need::kListKeys,
       Target::kAnywhere, 200},
      {"GET /keys", V::get, "/api/v2/keys", "", Need::kListKeys,
       Target::kAnywhere, 200},
      {"POST /keys (ring r1)", V::post, "/api/v2/keys", key_body,
       Need::kCreateKey, Target::kNewKeyInRing, 201},
      {"POST /keys_with_policy_overrides", V::post,
       "/api/v2/keys_with_policy_overrides",
       StrCat(kKeyEnvelope, R"(,"rotation":{"enabled":true,"interval_month":2}}]})"),
       Need::kCreateKey, Target::kNewKeyInRing, 201, kNone, false,
       Need::kPolicies},
      {"GET /keys/{id}", V::get, "/api/v2/keys/{T}", "", Need::kGetPayload,
       Target::kKey, 200},
      {"GET /keys/{id}/metadata", V::get, "/api/v2/keys/{T}/metadata", "",
       Need::kMetadata, Target::kKey, 200},
      {"GET /keys/{id}/versions", V::get, "/api/v2/keys/{T}/versions", "",
       Need::kMetadata, Target::kKey, 200},
      {"PATCH /keys/{id} to default", V::patch, "/api/v2/keys/{T}",
       R"({"keyRingID":"default"})", Need::kPatch, Target::kKeyToDefault, 200},
      {"PATCH /keys/{id} within its ring", V::patch, "/api/v2/keys/{T}",
       R"({"keyRingID":"r1"})", Need::kPatch, Target::kKeyWithinRing, 200},
      {"DELETE /keys/{id}", V::delete_, "/api/v2/keys/{T}", "", Need::kDelete,
       Target::kKey, 204},
      {"DELETE /keys/{id}/purge", V::delete_, "/api/v2/keys/{T}/purge", "",
       Need::kPurge, Target::kKey, 200, kDestroyTarget},
      {"POST /keys/{id}/restore", V::post, "/api/v2/keys/{T}/restore", "",
       Need::kRestore, Target::kKey, 201, kDestroyTarget},
      {"POST wrap", V::post, "/api/v2/keys/{T}/actions/wrap", "{}", Need::kWrap,
       Target::kKey, 200},
      {"POST unwrap", V::post, "/api/v2/keys/{T}/actions/unwrap", unwrap_body,
       Need::kWrap, Target::kKey, 200, kWrapWithTarget},
      {"POST rewrap", V::post, "/api/v2/keys/{T}/actions/rewrap", unwrap_body,
       Need::kWrap, Target::kKey, 200, kWrapWithTarget},
      {"POST rotate", V::post, "/api/v2/keys/{T}/actions/rotate", "",
       Need::kRotate, Target::kKey, 204},
      {"POST enable", V::post, "/api/v2/keys/{T}/actions/enable", "",
       Need::kEnableDisable, Target::kKey, 204, kDisableTarget},
      {"POST disable", V::post, "/api/v2/keys/{T}/actions/disable", "",
       Need::kEnableDisable, Target::kKey, 204},
      {"POST setKeyForDeletion", V::post,
       "/api/v2/keys/{T}/actions/setKeyForDeletion", "",
       Need::kSetForDeletion, Target::kKey, 204, kDualAuthTarget},
      {"POST unsetKeyForDeletion", V::post,
       "/api/v2/keys/{T}/actions/unsetKeyForDeletion", "",
       Need::kSetForDeletion, Target::kKey, 204, kDualAuthTarget},
      {"POST sync", V::post, "/api/v2/keys/{T}/actions/sync", "", Need::kSync,
       Target::kKey, 204},
      {"POST ?action=wrap", V::post, "/api/v2/keys/{T}?action=wrap", "{}",
       Need::kWrap, Target::kKey, 200},
      {"POST ?action=unwrap", V::post, "/api/v2/keys/{T}?action=unwrap",
       unwrap_body, Need::kWrap, Target::kKey, 200, kWrapWithTarget},
      {"POST ?action=rewrap", V::post, "/api/v2/keys/{T}?action=rewrap",
       unwrap_body, Need::kWrap, Target::kKey, 200, kWrapWithTarget},
      {"POST ?action=rotate", V::post, "/api/v2/keys/{T}?action=rotate", "",
       Need::kRotate, Target::kKey, 204},
      {"POST ?action=enable", V::post, "/api/v2/keys/{T}?action=enable", "",
       Need::kEnableDisable, Target::kKey, 204, kDisableTarget},
      {"POST ?action=disable", V::post, "/api/v2/keys/{T}?action=disable", "",
       Need::kEnableDisable, Target::kKey, 204},
      {"POST ?action=restore", V::post, "/api/v2/keys/{T}?action=restore", "",
       Need::kRestore, Target::kKey, 201, kDestroyTarget},
      {"POST ?action=setKeyForDeletion", V::post,
       "/api/v2/keys/{T}?action=setKeyForDeletion", "", Need::kSetForDeletion,
       Target::kKey, 204, kDualAuthTarget},
      {"POST ?action=unsetKeyForDeletion", V::post,
       "/api/v2/keys/{T}?action=unsetKeyForDeletion", "",
       Need::kSetForDeletion, Target::kKey, 204, kDualAuthTarget},
      {"GET /keys/{id}/policies", V::get, "/api/v2/keys/{T}/policies", "",
       Need::kPolicies, Target::kKey, 200},
      {"PUT /keys/{id}/policies", V::put, "/api/v2/keys/{T}/policies",
       key_policy_body, Need::kPolicies, Target::kKey, 200},
      {"GET /instance/policies", V::get, "/api/v2/instance/policies", "",
       Need::kPolicies, Target::kWholeInstance, 200},
      {"PUT /instance/policies", V::put,
       "/api/v2/instance/policies?policy=dualAuthDelete", instance_policy_body,
       Need::kPolicies, Target::kWholeInstance, 204},
      {"GET /instance/allowed_ip_port", V::get,
       "/api/v2/instance/allowed_ip_port", "", Need::kPolicies,
       Target::kWholeInstance, 200},
      // An expiration out of range is refused (400) only after the access
      // check, which keeps RSA key generation out of the matrix.
      {"POST /import_token", V::post, "/api/v2/import_token",
       R"({"expiration":1})", Need::kImportToken, Target::kAnywhere, 400},
      {"GET /import_token", V::get, "/api/v2/import_token", "",
       Need::kImportToken, Target::kAnywhere, 200, kImportToken},
      {"GET /keys/{id}/registrations", V::get,
       "/api/v2/keys/{T}/registrations", "", Need::kRegistrations,
       Target::kKey, 200},
      {"GET /keys/registrations", V::get, "/api/v2/keys/registrations", "",
       Need::kRegistrations, Target::kAnywhere, 200},
      {"POST registration", V::post,
       StrCat("/api/v2/keys/{T}/registrations/", kCrn), "",
       Need::kRegistrations, Target::kKey, 201, kNone, true},
      {"PUT registration", V::put,
       StrCat("/api/v2/keys/{T}/registrations/", kCrn), "",
       Need::kRegistrations, Target::kKey, 200, kRegistration, true},
      {"PATCH registration", V::patch,
       StrCat("/api/v2/keys/{T}/registrations/", kCrn), "",
       Need::kRegistrations, Target::kKey, 200, kRegistration, true},
      {"DELETE registration", V::delete_,
       StrCat("/api/v2/keys/{T}/registrations/", kCrn), "",
       Need::kRegistrations, Target::kKey, 204, kRegistration, true},
      {"POST registrations?action=deactivate", V::post,
       "/api/v2/keys/{T}/registrations?action=deactivate",
       StrCat(R"({"metadata":{"collectionType":"application/vnd.ibm.kms.resource_crn+json","collectionTotal":1},"resources":[{"resourceCrn":")",
              kCrnPlain, R"("}]})"),
       Need::kRegistrations, Target::kKey, 200, kRegistration, true},
      // The ack of an event the service never got: past the access check,
      // the answer is 404.
      {"POST /event_ack", V::post, "/api/v2/event_ack",
       R"({"metadata":{"collectionType":"application/vnd.ibm.kms.event_acknowledge+json","collectionTotal":1},"resources":[{"eventId":"6f1c1d0e-8b1a-4a2e-9c3f-0d5e6f7a8b9c","adopterKeyState":"DEK_ENABLED","keyStateData":{"rewrappedKeyVersion":"x"}}]})",
       Need::kRegistrations, Target::kAnywhere, 404, kNone, true},
      {"POST alias", V::post, "/api/v2/keys/{T}/aliases/new-alias", "",
       Need::kAliasCreate, Target::kKey, 201},
      {"DELETE alias", V::delete_, "/api/v2/keys/{T}/aliases/old-alias", "",
       Need::kAliasDelete, Target::kKey, 204, kAliasOnTarget},
      {"GET /key_rings", V::get, "/api/v2/key_rings", "", Need::kListRings,
       Target::kAnywhere, 200},
      {"POST /key_rings/{id}", V::post, "/api/v2/key_rings/r9", "",
       Need::kCreateRing, Target::kWholeInstance, 201},
      {"DELETE /key_rings/{id}?force=true", V::delete_,
       "/api/v2/key_rings/r1?force=true", "", Need::kDeleteRing, Target::kRing,
       204, kDestroyTarget},
      // KMIP adapters (§13): Manager or KmipAdapterManager on the instance.
      // The adapter a path names does not exist: an allowed caller gets 404.
      {"GET /kmip_adapters", V::get, "/api/v2/kmip_adapters", "", Need::kKmip,
       Target::kWholeInstance, 200},
      {"POST /kmip_adapters", V::post, "/api/v2/kmip_adapters",
       R"({"metadata":{"collectionType":"application/vnd.ibm.kms.kmip_adapter+json","collectionTotal":1},"resources":[{"profile":"native_1.0","profile_data":{"crk_id":"{T}"}}]})",
       Need::kKmip, Target::kWholeInstance, 201},
      {"GET /kmip_adapters/{id}", V::get, "/api/v2/kmip_adapters/nope", "",
       Need::kKmip, Target::kWholeInstance, 404},
      {"DELETE /kmip_adapters/{id}", V::delete_, "/api/v2/kmip_adapters/nope",
       "", Need::kKmip, Target::kWholeInstance, 404},
      {"GET /kmip_adapters/{id}/certificates", V::get,
       "/api/v2/kmip_adapters/nope/certificates", "", Need::kKmip,
       Target::kWholeInstance, 404},
      {"POST /kmip_adapters/{id}/certificates", V::post,
       "/api/v2/kmip_adapters/nope/certificates",
       R"({"metadata":{"collectionType":"application/vnd.ibm.kms.kmip_client_certificate+json","collectionTotal":1},"resources":[{"certificate":"x"}]})",
       Need::kKmip, Target::kWholeInstance, 404},
      {"GET /kmip_adapters/{id}/certificates/{id}", V::get,
       "/api/v2/kmip_adapters/nope/certificates/c", "", Need::kKmip,
       Target::kWholeInstance, 404},
      {"DELETE /kmip_adapters/{id}/certificates/{id}", V::delete_,
       "/api/v2/kmip_adapters/nope/certificates/c", "", Need::kKmip,
       Target::kWholeInstance, 404},
      {"GET /kmip_adapters/{id}/kmip_objects", V::get,
       "/api/v2/kmip_adapters/nope/kmip_objects", "", Need::kKmip,
       Target::kWholeInstance, 404},
      {"GET /kmip_adapters/{id}/kmip_objects/{id}", V::get,
       "/api/v2/kmip_adapters/nope/kmip_objects/o", "", Need::kKmip,
       Target::kWholeInstance, 404},
      {"DELETE /kmip_adapters/{id}/kmip_objects/{id}", V::delete_,
       "/api/v2/kmip_adapters/nope/kmip_objects/o", "", Need::kKmip,
       Target::kWholeInstance, 404},
      // /admin/v1: deployment administration is for administrators only.
      {"POST /admin/v1/users", V::post, "/admin/v1/users", R"({"name":"x"})",
       Need::kManageGrants, Target::kAdminOnly, 201},
      {"POST /admin/v1/service_ids", V::post, "/admin/v1/service_ids",
       R"({"name":"x","serviceType":"y"})", Need::kManageGrants,
       Target::kAdminOnly, 201},
      {"GET /admin/v1/principals", V::get, "/admin/v1/principals", "",
       Need::kManageGrants, Target::kAdminOnly, 200},
      {"DELETE /admin/v1/principals/{id}", V::delete_,
       "/admin/v1/principals/{P}", "", Need::kManageGrants, Target::kAdminOnly,
       204},
      {"POST /admin/v1/api_keys", V::post, "/admin/v1/api_keys",
       R"({"principalId":"{P}","name":"x"})", Need::kManageGrants,
       Target::kAdminOnly, 201},
      {"GET /admin/v1/api_keys", V::get, "/admin/v1/api_keys", "",
       Need::kManageGrants, Target::kAdminOnly, 200},
      {"DELETE /admin/v1/api_keys/{id}", V::delete_,
       "/admin/v1/api_keys/6f1c1d0e-8b1a-4a2e-9c3f-0d5e6f7a8b9c", "",
       Need::kManageGrants, Target::kAdminOnly, 204},
      {"POST /admin/v1/instances", V::post, "/admin/v1/instances",
       R"({"name":"x"})", Need::kManageGrants, Target::kAdminOnly, 201},
      {"GET /admin/v1/instances", V::get, "/admin/v1/instances", "",
       Need::kManageGrants, Target::kAdminOnly, 200},
      {"DELETE /admin/v1/instances/{id}", V::delete_, "/admin/v1/instances/{I}",
       "", Need::kManageGrants, Target::kAdminOnly, 204},
      {"DELETE /admin/v1/bootstrap_token", V::delete_,
       "/admin/v1/bootstrap_token", "", Need::kManageGrants,
       Target::kAdminOnly, 204},
      {"GET /admin/v1/audit", V::get, "/admin/v1/audit", "",
       Need::kManageGrants, Target::kAdminOnly, 200},
      {"PUT /admin/v1/service_ids/{id}/webhook", V::put,
       "/admin/v1/service_ids/{S}/webhook",
       R"({"url":"https://cos.example/events"})", Need::kManageGrants,
       Target::kAdminOnly, 200},
      {"GET /admin/v1/service_ids/{id}/webhook", V::get,
       "/admin/v1/service_ids/{S}/webhook", "", Need::kManageGrants,
       Target::kAdminOnly, 200},
      {"DELETE /admin/v1/service_ids/{id}/webhook", V::delete_,
       "/admin/v1/service_ids/{S}/webhook", "", Need::kManageGrants,
       Target::kAdminOnly, 204},
      // Grant management.
      {"GET /admin/v1/policies", V::get, "/admin/v1/policies?instanceId={I}",
       "", Need::kManageGrants, Target::kKey, 200},
      {"DELETE /admin/v1/policies/{id}", V::delete_, "/admin/v1/policies/{A}",
       "", Need::kManageGrants, Target::kKey, 204, kPolicyForOther},
      {"GET /admin/v1/authorizations", V::get,
       "/admin/v1/authorizations?instanceId={I}", "", Need::kManageGrants,
       Target::kKey, 200},
      {"DELETE /admin/v1/authorizations/{id}", V::delete_,
       "/admin/v1/authorizations/{A}", "", Need::kManageGrants, Target::kKey,
       204, kAuthorizationForOther},
  };
  e[e.size() - 4].manages_anywhere = true;
  e[e.size() - 2].manages_anywhere = true;
  // POST /admin/v1/policies and /authorizations, for a spread of scopes and
  // roles.
  const std::vector<GrantRequest> grants = {
      {Where::kTarget, {Role::kReader}},
      {Where::kTarget, {Role::kManager}},
      {Where::kTarget, {Role::kKeyPurge}},
      {Where::kRing, {Role::kWriter}},
      {Where::kInstance, {Role::kManager}},
      {Where::kInstance, {Role::kManager, Role::kKeyPurge}},
      {Where::kInstance, {Role::kReader}},
      {Where::kTarget, {Role::kKam}},
  };
  for (const GrantRequest& g : grants) {
    std::string roles;
    for (Role r : g.roles) {
      StrAppend(&roles, roles.empty() ? "" : ",", "\"", RoleText(r), "\"");
    }
    std::string scope = g.where == Where::kTarget ? R"("keyId":"{T}",)"
                        : g.where == Where::kRing ? R"("keyRingId":"r1",)"
                                                  : "";
    Endpoint p{StrCat("POST /admin/v1/policies ", WhereText(g.where), " [",
                      roles, "]"),
               V::post, "/admin/v1/policies",
               StrCat(R"({"principalId":"{P}","instanceId":"{I}",)", scope,
                      R"("roles":[)", roles, "]}"),
               Need::kManageGrants, Target::kKey, 201};
    p.grant = g;
    e.push_back(p);
    if (g.roles.size() == 1) {
      Endpoint a{StrCat("POST /admin/v1/authorizations ", WhereText(g.where),
                        " ", roles),
                 V::post, "/admin/v1/authorizations",
                 StrCat(R"({"sourceServiceType":"other-type","instanceId":"{I}",)",
                        scope, R"("role":)", roles, "}"),
                 Need::kManageGrants, Target::kKey, 201};
      a.grant = g;
      e.push_back(a);
    }
  }
  return e;
}

// ------------------------------------------------------------- the server

constexpr char kBootstrap[] = "matrix-bootstrap-token-0123456789abcdef";
constexpr char kOtherKeyId[] = "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6";
constexpr char kServiceType[] = "matrix-service";

struct Answer {
  int status = 0;
  std::string body;
  std::string reason;  // errors[0].reasons[0].code, if any
};

class AccessMatrixTest : public ::testing::Test {
 protected:
  AccessMatrixTest() {
    SecretBytes mk = crypto::RandomSecret(32);
    master_ = *seal::MasterKey::Create("mk-1", mk.span());
    service::TokenOptions io;
    io.token_lifetime = absl::Hours(24);
    signing_keys_ = std::make_unique<service::SigningKeySet>(
        &store_, master_.get(), &clock_, io);
    identity_ = std::make_unique<service::IdentityManager>(
        &store_, &store_, &access_, &bootstrap_, &clock_);
    tokens_ = std::make_unique<service::TokenIssuer>(
        &store_, &access_, signing_keys_.get(), &clock_, io);
    authenticator_ = std::make_unique<service::TokenAuthenticator>(
        &bootstrap_, &access_, signing_keys_.get(), &clock_, io);
    EXPECT_TRUE(identity_->Start(iam::HashToken(kBootstrap), std::nullopt).ok());
    EXPECT_TRUE(signing_keys_->Start().ok());
    access_control_ = std::make_unique<service::AccessControl>(
        &store_, &access_, &policy_index_);
    instance_policies_ = std::make_unique<service::InstancePolicyManager>(
        &store_, &policy_index_, access_control_.get(), &clock_);
    service::ImportTokenOptions ito;
    ito.rsa_bits = 1024;  // the size is not under test; keep cases fast
    import_tokens_ = std::make_unique<service::ImportTokenManager>(
        &store_, master_.get(), access_control_.get(), &clock_, ito);
    service::KeyManagerOptions kmo;
    // Every waiting rule at zero, so each endpoint succeeds on a fresh key
    // without moving the clock.
    kmo.timers.state_change_cooldown = absl::ZeroDuration();
    kmo.timers.rotation_interval = absl::ZeroDuration();
    kmo.timers.purge_delay = absl::ZeroDuration();
    kmo.timers.sync_interval = absl::ZeroDuration();
    service::KeyManagerDeps deps;
    deps.store = &store_;
    deps.master_key = master_.get();
    deps.access = access_control_.get();
    deps.instance_policies = &policy_index_;
    deps.import_tokens = import_tokens_.get();
    deps.clock = &clock_;
    plane_ = std::make_unique<service::DataPlaneService>(
        service::DataPlaneDeps{&store_, master_.get(), access_control_.get(),
                               &clock_},
        1000);
    deps.data_plane = plane_.get();
    keys_ = std::make_unique<service::KeyManager>(std::move(deps), kmo);
    registrations_ = std::make_unique<service::RegistrationManager>(
        &store_, access_control_.get(), &clock_);
    ApiServices services;
    services.data_plane = plane_.get();
    services.keys = keys_.get();
    services.rings = keys_.get();
    services.identity = identity_.get();
    services.authenticator = authenticator_.get();
    services.tokens = tokens_.get();
    services.import_tokens = import_tokens_.get();
    services.instance_policies = instance_policies_.get();
    services.registrations = registrations_.get();
    services.policy_index = &policy_index_;
    webhooks_ = std::make_unique<service::WebhookRegistry>(
        &store_, &access_, master_.get(), &clock_);
    services.webhooks = webhooks_.get();
    kmip_ = std::make_unique<service::KmipAdapters>(service::KmipAdapters::Deps{
        &store_, store_.kmip(), plane_.get(), access_control_.get(), &clock_});
    services.kmip = kmip_.get();
    ApiOptions options;
    options.access_log = false;
    api_ = std::make_unique<KeyProtectApi>(services, std::move(options));

    user_ = MustPrincipal("/admin/v1/users", R"({"name":"matrix-user"})");
    other_ = MustPrincipal("/admin/v1/users", R"({"name":"grantee"})");
    service_ = MustPrincipal(
        "/admin/v1/service_ids",
        StrCat(R"({"name":"matrix-svc","serviceType":")", kServiceType, "\"}"));
    user_token_ = TokenFor(user_);
    service_token_ = TokenFor(service_);
  }

  Answer Call(bhttp::verb method, const std::string& target,
              const std::string& token, const std::string& instance,
              const std::string& body = "",
              const std::string& key_ring = "") {
    BeastRequest req{method, target, 11};
    req.set(bhttp::field::host, "localhost");
    if (!token.empty()) req.set(bhttp::field::authorization, "Bearer " + token);
    if (!instance.empty()) req.set("Bluemix-Instance", instance);
    if (!key_ring.empty()) req.set("X-Kms-Key-Ring", key_ring);
    if (!body.empty()) {
      req.set(bhttp::field::content_type, "application/json");
      req.body() = body;
    }
    req.prepare_payload();
    BeastResponse res;
    api_->Handle(req, res);
    Answer a;
    a.status = static_cast<int>(res.result_int());
    a.body = res.body();
    if (a.status >= 400) {
      boost::system::error_code ec;
      json::value v = json::parse(a.body, ec);
      if (!ec && v.is_object()) {
        const json::value* errors = v.as_object().if_contains("resources");
        if (errors && errors->is_array() && !errors->as_array().empty() &&
            errors->as_array()[0].is_object()) {
          const json::value* reasons =
              errors->as_array()[0].as_object().if_contains("reasons");
          if (reasons && reasons->is_array() && !reasons->as_array().empty()) {
            a.reason = json::value_to<std::string>(
                reasons->as_array()[0].as_object().at("code"));
          }
        }
      }
    }
    return a;
  }

  Answer Admin(bhttp::verb m, const std::string& target,
               const std::string& instance = "", const std::string& body = "",
               const std::string& ring = "") {
    return Call(m, target, kBootstrap, instance, body, ring);
  }

  static json::value Json(const Answer& a) { return json::parse(a.body); }

  std::string MustPrincipal(const std::string& path, const std::string& body) {
    Answer a = Admin(bhttp::verb::post, path, "", body);
    EXPECT_EQ(a.status, 201) << a.body;
    return json::value_to<std::string>(Json(a).at("id"));
  }

  std::string TokenFor(const std::string& principal) {
    Answer k = Admin(bhttp::verb::post, "/admin/v1/api_keys", "",
                     StrCat(R"({"principalId":")", principal, R"(","name":"m"})"));
    EXPECT_EQ(k.status, 201) << k.body;
    std::string apikey = json::value_to<std::string>(Json(k).at("apikey"));
    BeastRequest req{bhttp::verb::post, "/identity/token", 11};
    req.set(bhttp::field::host, "localhost");
    req.set(bhttp::field::content_type, "application/x-www-form-urlencoded");
    req.body() = StrCat(
        "grant_type=urn:ibm:params:oauth:grant-type:apikey&apikey=", apikey);
    req.prepare_payload();
    BeastResponse res;
    api_->Handle(req, res);
    EXPECT_EQ(res.result_int(), 200u) << res.body();
    return json::value_to<std::string>(
        json::parse(res.body()).at("access_token"));
  }

  // One case's world: a fresh instance with ring r1 holding the target key.
  struct World {
    std::string instance;
    std::string key;
    std::string ciphertext;
    std::string grant_id;  // the policy or authorization to delete
  };

  std::string ScopeJson(Where w, const World& world) {
    switch (w) {
      case Where::kInstance: return "";
      case Where::kRing: return R"("keyRingId":"r1",)";
      case Where::kTarget: return StrCat(R"("keyId":")", world.key, "\",");
      case Where::kOtherKey: return StrCat(R"("keyId":")", kOtherKeyId, "\",");
    }
    return "";
  }

  ::testing::AssertionResult Build(const Config& c, const Endpoint& e,
                                   World& w) {
    using V = bhttp::verb;
    Answer a = Admin(V::post, "/admin/v1/instances", "", R"({"name":"case"})");
    if (a.status != 201) return ::testing::AssertionFailure() << a.body;
    w.instance = json::value_to<std::string>(Json(a).at("id"));
    const std::string& i = w.instance;
    if ((a = Admin(V::post, "/api/v2/key_rings/r1", i)).status != 201) {
      return ::testing::AssertionFailure() << "ring: " << a.body;
    }
    a = Admin(V::post, "/api/v2/keys", i, StrCat(kKeyEnvelope, "}]}"), "r1");
    if (a.status != 201) return ::testing::AssertionFailure() << a.body;
    w.key = json::value_to<std::string>(Json(a).at("resources").at(0).at("id"));
    const std::string key_path = StrCat("/api/v2/keys/", w.key);
    auto expect = [&](Answer got, int status, const char* what) {
      if (got.status == status) return ::testing::AssertionSuccess();
      return ::testing::AssertionFailure()
             << "setup " << what << ": " << got.status << " " << got.body;
    };
    ::testing::AssertionResult ok = ::testing::AssertionSuccess();
    if (e.setup & kWrapWithTarget) {
      a = Admin(V::post, key_path + "/actions/wrap", i, "{}");
      if (!(ok = expect(a, 200, "wrap"))) return ok;
      w.ciphertext = json::value_to<std::string>(Json(a).at("ciphertext"));
    }
    if (e.setup & kRegistration) {
      // As the calling service itself: registrations belong to it.
      service::RequestContext ctx;
      ctx.instance_id = i;
      ctx.principal = {service_, true, true, kServiceType};
      service::WriteRegistrationRequest req;
      req.resource_crn = kCrnPlain;
      auto r = registrations_->Write(ctx, w.key, req);
      if (!r.ok()) return ::testing::AssertionFailure() << r.status();
      // AccessControl remembers the last answer per principal id while the
      // index is unchanged; this made-up administrator context shares the
      // service's id, so move the index on before the real call.
      access_.PutInstance({i, "case", clock_.Now(), "test"});
    }
    if (e.setup & kDualAuthTarget) {
      a = Admin(V::put, key_path + "/policies?policy=dualAuthDelete", i,
                R"({"metadata":{"collectionType":"application/vnd.ibm.kms.policy+json","collectionTotal":1},"resources":[{"type":"application/vnd.ibm.kms.policy+json","dualAuthDelete":{"enabled":true}}]})");
      if (!(ok = expect(a, 200, "dual auth"))) return ok;
    }
    if (e.setup & kDisableTarget) {
      if (!(ok = expect(Admin(V::post, key_path + "/actions/disable", i), 204,
                        "disable"))) {
        return ok;
      }
    }
    if (e.setup & kAliasOnTarget) {
      if (!(ok = expect(Admin(V::post, key_path + "/aliases/old-alias", i),
                        201, "alias"))) {
        return ok;
      }
    }
    if (e.setup & kDestroyTarget) {
      if (!(ok = expect(Admin(V::delete_, key_path, i), 204, "delete"))) {
        return ok;
      }
    }
    if (e.setup & kImportToken) {
      // Stored directly: GET /import_token only reads the public half, and
      // generating an RSA key per case would dominate the run.
      store::ImportToken t;
      t.instance_id = i;
      t.id = "6f1c1d0e-8b1a-4a2e-9c3f-0d5e6f7a8b9d";
      t.creation_time = clock_.Now();
      t.expiration_time = clock_.Now() + absl::Hours(1);
      t.nonce.assign(12, 7);
      t.public_key_pem = "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n";
      t.master_key_id = "mk-1";
      t.sealed_private_key.assign(16, 1);
      t.created_by = "test";
      iam::AuditRecord audit;
      audit.time = clock_.Now();
      audit.actor = "test";
      audit.action = "kms.import-token.create";
      audit.target = "instance:" + i;
      absl::Status put = store_.PutImportToken(t, audit);
      if (!put.ok()) return ::testing::AssertionFailure() << put;
    }
    if (e.setup & kPolicyForOther) {
      a = Admin(V::post, "/admin/v1/policies", "",
                StrCat(R"({"principalId":")", other_, R"(","instanceId":")", i,
                       R"(",)", ScopeJson(Where::kTarget, w),
                       R"("roles":["Reader"]})"));
      if (!(ok = expect(a, 201, "policy"))) return ok;
      w.grant_id = json::value_to<std::string>(Json(a).at("id"));
    }
    if (e.setup & kAuthorizationForOther) {
      a = Admin(V::post, "/admin/v1/authorizations", "",
                StrCat(R"({"sourceServiceType":"other-type","instanceId":")", i,
                       R"(",)", ScopeJson(Where::kTarget, w),
                       R"("role":"Reader"})"));
      if (!(ok = expect(a, 201, "authorization"))) return ok;
      w.grant_id = json::value_to<std::string>(Json(a).at("id"));
    }
    // The grants under test, last, so no setup step leans on them.
    for (const Grant& g : c.grants) {
      std::string body;
      std::string path;
      if (IsPolicy(g)) {
        path = "/admin/v1/policies";
        body = StrCat(R"({"principalId":")",
                      g.kind == Kind::kServicePolicy ? service_ : user_,
                      R"(","instanceId":")", i, R"(",)", ScopeJson(g.where, w),
                      R"("roles":[")", RoleText(g.role), R"("]})");
      } else {
        path = "/admin/v1/authorizations";
        body = StrCat(g.kind == Kind::kAuthById
                          ? StrCat(R"({"sourceServiceId":")", service_, "\"")
                          : StrCat(R"({"sourceServiceType":")", kServiceType,
                                   "\""),
                      R"(,"instanceId":")", i, R"(",)", ScopeJson(g.where, w),
                      R"("role":")", RoleText(g.role), R"("})");
      }
      if (!(ok = expect(Admin(V::post, path, "", body), 201, "grant"))) {
        return ok;
      }
    }
    return ::testing::AssertionSuccess();
  }

  static std::string Fill(std::string s, const std::map<std::string, std::string>& v) {
    for (const auto& [from, to] : v) {
      for (size_t at; (at = s.find(from)) != std::string::npos;) {
        s.replace(at, from.size(), to);
      }
    }
    return s;
  }

  // Runs every endpoint under `configs`; returns the number of cases and
  // counts disagreements with the oracle in `failures`.
  int Run(const std::vector<Config>& configs, int& failures) {
    const std::vector<Endpoint> endpoints = Endpoints();
    int cases = 0;
    for (const Config& c : configs) {
      for (const Endpoint& e : endpoints) {
        ++cases;
        World w;
        ::testing::AssertionResult built = Build(c, e, w);
        if (!built) {
          ADD_FAILURE() << c.Text() << " | " << e.name << ": " << built.message();
          ++failures;
          access_.RemoveInstance(w.instance);
          continue;
        }
        const std::map<std::string, std::string> vars = {
            {"{I}", w.instance}, {"{T}", w.key},   {"{C}", w.ciphertext},
            {"{P}", other_},     {"{S}", service_}, {"{A}", w.grant_id}};
        const std::string ring =
            e.target == Target::kNewKeyInRing ? "r1" : "";
        Answer got = Call(e.method, Fill(e.path, vars),
                          c.service ? service_token_ : user_token_, w.instance,
                          Fill(e.body, vars), ring);
        Expected want = Oracle(c, e);
        // HEAD answers carry no body, so no reason to compare.
        bool agree =
            want.allowed
                ? got.status == e.ok_status
                : (got.status == 403 || got.status == 401) &&
                      (got.reason == want.reason ||
                       (e.method == bhttp::verb::head && got.reason.empty()));
        if (!agree) {
          ++failures;
          if (failures <= 200) {
            ADD_FAILURE() << c.Text() << " | " << e.name << ": expected "
                          << (want.allowed ? StrCat(e.ok_status)
                                           : StrCat("403 ", want.reason))
                          << ", got " << got.status << " " << got.reason << " "
                          << got.body.substr(0, 300);
          }
        }
        // Drop the case's grants from the index so later lookups stay small.
        access_.RemoveInstance(w.instance);
      }
    }
    return cases;
  }

  FakeClock clock_;
  store::InMemoryStore store_;
  iam::AccessIndex access_;
  std::unique_ptr<seal::MasterKey> master_;
  service::BootstrapToken bootstrap_;
  std::unique_ptr<service::SigningKeySet> signing_keys_;
  std::unique_ptr<service::IdentityManager> identity_;
  std::unique_ptr<service::TokenIssuer> tokens_;
  std::unique_ptr<service::TokenAuthenticator> authenticator_;
  service::InstancePolicyIndex policy_index_{{}};
  std::unique_ptr<service::AccessControl> access_control_;
  std::unique_ptr<service::InstancePolicyManager> instance_policies_;
  std::unique_ptr<service::ImportTokenManager> import_tokens_;
  std::unique_ptr<service::DataPlaneService> plane_;
  std::unique_ptr<service::KeyManager> keys_;
  std::unique_ptr<service::RegistrationManager> registrations_;
  std::unique_ptr<service::WebhookRegistry> webhooks_;
  std::unique_ptr<service::KmipAdapters> kmip_;
  std::unique_ptr<KeyProtectApi> api_;
  std::string user_, other_, service_;
  std::string user_token_, service_token_;
};

std::vector<Config> SingleGrants() {
  std::vector<Config> out = {{false, {}}, {true, {}}};
  for (Kind k : {Kind::kUserPolicy, Kind::kServicePolicy, Kind::kAuthById,
                 Kind::kAuthByType}) {
    for (Where w : kAllWheres) {
      for (Role r : kAllRoles) {
        out.push_back({k != Kind::kUserPolicy, {{k, w, r}}});
      }
    }
  }
  return out;
}

std::vector<Config> GrantPairs() {
  std::vector<Config> out;
  // The reproduced shape: a Manager authorization of a service plus a
  // policy of the same service, at every pair of scopes.
  for (Where aw : kAllWheres) {
    for (Role pr : {Role::kReader, Role::kManager, Role::kKeyPurge}) {
      for (Where pw : kAllWheres) {
        out.push_back({true,
                       {{Kind::kAuthById, aw, Role::kManager},
                        {Kind::kServicePolicy, pw, pr}}});
      }
    }
  }
  // A Reader authorization by type on the instance or the key, plus a
  // Manager policy somewhere.
  for (Where aw : {Where::kInstance, Where::kTarget}) {
    for (Where pw : kAllWheres) {
      out.push_back({true,
                     {{Kind::kAuthByType, aw, Role::kReader},
                      {Kind::kServicePolicy, pw, Role::kManager}}});
    }
  }
  // Two policies of a user: what a Manager of one scope may hand on when it
  // holds Writer elsewhere.
  for (Where a : kAllWheres) {
    for (Where b : kAllWheres) {
      out.push_back({false,
                     {{Kind::kUserPolicy, a, Role::kWriter},
                      {Kind::kUserPolicy, b, Role::kManager}}});
    }
  }
  return out;
}

TEST_F(AccessMatrixTest, SingleGrantsAgreeWithTheOracle) {
  int failures = 0;
  int cases = Run(SingleGrants(), failures);
  std::printf("access matrix, single grants: %d cases, %d disagree\n", cases,
              failures);
  EXPECT_EQ(failures, 0);
}

TEST_F(AccessMatrixTest, GrantPairsAgreeWithTheOracle) {
  int failures = 0;
  int cases = Run(GrantPairs(), failures);
  std::printf("access matrix, pairs of grants: %d cases, %d disagree\n", cases,
              failures);
  EXPECT_EQ(failures, 0);
}

}  // namespace
}  // namespace keywarden::api::keyprotect
