// keywarden key-rings, key-ring …, registrations, import-token …: the
// instance-level commands of `ibmcloud kp` (docs/cli-keys.md) on the typed
// client (client/key_protect.h).
#include <memory>
#include <string>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "keywarden/cli/kp_support.h"
#include "keywarden/common/status_macros.h"
#include "keywarden/common/strings.h"

namespace keywarden::cli {
namespace {

namespace json = boost::json;

constexpr Column kRingColumns[] = {{"ID", "id"},
                                   {"CREATED", "creationDate"},
                                   {"CREATED_BY", "createdBy"}};

constexpr Column kRegistrationColumns[] = {
    {"KEY_ID", "keyId"},
    {"RESOURCE_CRN", "resourceCrn"},
    {"DESCRIPTION", "description"},
    {"PREVENT_DELETION", "preventKeyDeletion"},
    {"CREATED", "creationDate"}};

constexpr Column kTokenColumns[] = {{"ID", "id"},
                                    {"CREATED", "creationDate"},
                                    {"EXPIRES", "expirationDate"},
                                    {"MAX_RETRIEVALS", "maxAllowedRetrievals"},
                                    {"REMAINING", "remainingRetrievals"}};

struct RingOptions {
  std::string id;
  bool force = false;
};

struct RegistrationOptions {
  std::string key_id;
  std::string crn;
};

struct TokenOptions {
  int expiration = 0;
  int retrievals = 0;
};

json::object TokenJson(const client::ImportToken& t) {
  json::object o;
  o["id"] = t.id;
  o["creationDate"] = t.creation_date;
  o["expirationDate"] = t.expiration_date;
  o["maxAllowedRetrievals"] = t.max_retrievals;
  o["remainingRetrievals"] = t.remaining_retrievals;
  return o;
}

absl::Status ListRegistrations(KpSession& s, const RegistrationOptions& o) {
  client::ListRegistrationsOptions options;
  options.key_id = o.key_id;
  options.crn_query = o.crn;
  KW_ASSIGN_OR_RETURN(std::vector<client::Registration> registrations,
                      s.kp->ListRegistrations(options));
  json::array out;
  for (const client::Registration& r : registrations) {
    json::object j;
    j["keyId"] = r.key_id;
    j["resourceCrn"] = r.resource_crn;
    if (!r.description.empty()) j["description"] = r.description;
    j["preventKeyDeletion"] = r.prevent_key_deletion;
    if (!r.key_version_id.empty()) {
      j["keyVersion"] = json::object{{"id", r.key_version_id}};
    }
    j["creationDate"] = r.creation_date;
    out.emplace_back(std::move(j));
  }
  Emit(s, out, out, kRegistrationColumns);
  return absl::OkStatus();
}

}  // namespace

void AddKpResourceCommands(CLI::App& app, int& exit_code) {
  AddKpCommand(&app, "key-rings", "List the instance's key rings", exit_code,
               [](KpSession& s) -> absl::Status {
                 KW_ASSIGN_OR_RETURN(std::vector<client::KeyRing> rings,
                                     s.kp->ListKeyRings());
                 json::array out;
                 for (const client::KeyRing& r : rings) {
                   json::object o{{"id", r.id}};
                   if (!r.creation_date.empty()) {
                     o["creationDate"] = r.creation_date;
                   }
                   if (!r.created_by.empty()) o["createdBy"] = r.created_by;
                   out.emplace_back(std::move(o));
                 }
                 Emit(s, out, out, kRingColumns);
                 return absl::OkStatus();
               });

  CLI::App* ring = app.add_subcommand("key-ring", "Create or delete key rings");
  ring->require_subcommand(1);
  auto rc = std::make_shared<RingOptions>();
  AddKpCommand(ring, "create", "Create a key ring", exit_code,
               [rc](KpSession& s) -> absl::Status {
                 KW_RETURN_IF_ERROR(s.kp->CreateKeyRing(rc->id));
                 Confirm(s, StrCat("Created key ring ", Printable(rc->id), "."));
                 return absl::OkStatus();
               })
      ->add_option("ID", rc->id, "The ring's id (2-100 of A-Z a-z 0-9 _ -)")
      ->required();
  auto rd = std::make_shared<RingOptions>();
  CLI::App* ring_delete = AddKpCommand(
      ring, "delete", "Delete an empty key ring", exit_code,
      [rd](KpSession& s) -> absl::Status {
        KW_RETURN_IF_ERROR(s.kp->DeleteKeyRing(rd->id, rd->force));
        Confirm(s, StrCat("Deleted key ring ", Printable(rd->id), "."));
        return absl::OkStatus();
      });
  ring_delete->add_option("ID", rd->id, "The ring's id")->required();
  ring_delete->add_flag("-f,--force", rd->force,
                        "Also a ring holding only deleted keys (they move to "
                        "the default ring)");

  auto reg = std::make_shared<RegistrationOptions>();
  CLI::App* registrations = AddKpCommand(
      &app, "registrations",
      "List the resources registered with the instance's keys", exit_code,
      [reg](KpSession& s) { return ListRegistrations(s, *reg); });
  registrations->add_option("-k,--key-id", reg->key_id,
                            "Only the registrations of this key");
  registrations->add_option("-c,--crn-query", reg->crn,
                            "Only resources matching this CRN (\"*\" for a "
                            "whole segment, or at the end of the last)");

  CLI::App* token = app.add_subcommand(
      "import-token",
      "The instance's import token, for secure import (key create -t)");
  token->require_subcommand(1);
  auto tc = std::make_shared<TokenOptions>();
  CLI::App* token_create = AddKpCommand(
      token, "create", "Create the instance's import token (replaces any)",
      exit_code, [tc](KpSession& s) -> absl::Status {
        client::ImportTokenRequest r;
        r.expiration_seconds = tc->expiration;
        r.max_retrievals = tc->retrievals;
        KW_ASSIGN_OR_RETURN(client::ImportToken t,
                            s.kp->CreateImportToken(r));
        EmitOne(s, TokenJson(t), kTokenColumns);
        return absl::OkStatus();
      });
  token_create->add_option("-e,--expiration", tc->expiration,
                           "Seconds it is valid, 300 to 86400 (default 600)");
  token_create->add_option("-m,--max-retrievals", tc->retrievals,
                           "Retrievals allowed, 1 to 500 (default 1); each "
                           "secure import takes one");
  AddKpCommand(token, "show",
               "Retrieve the import token: its public key and nonce (JSON); "
               "counts a retrieval",
               exit_code, [](KpSession& s) -> absl::Status {
                 KW_ASSIGN_OR_RETURN(client::ImportToken t,
                                     s.kp->GetImportToken());
                 json::object o = TokenJson(t);
                 o["payload"] = client::Base64OfSecret(SecretBytes(
                     reinterpret_cast<const uint8_t*>(t.public_key_pem.data()),
                     t.public_key_pem.size()));
                 o["nonce"] = client::Base64OfSecret(
                     SecretBytes(t.nonce.data(), t.nonce.size()));
                 EmitOne(s, o, kTokenColumns);
                 return absl::OkStatus();
               });
}

}  // namespace keywarden::cli
