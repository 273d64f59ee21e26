// keywarden authorization …: /admin/v1/authorizations (docs/admin-api.md):
// service-to-service grants, from one service id or every service id of a
// type, to an instance, key ring or key.
#include <memory>

#include <boost/json/object.hpp>

#include "keywarden/cli/command_support.h"
#include "keywarden/common/strings.h"

namespace keywarden::cli {
namespace {

namespace json = boost::json;

constexpr Column kAuthorizationColumns[] = {
    {"ID", "id"},
    {"SOURCE_SERVICE_ID", "sourceServiceId"},
    {"SOURCE_SERVICE_TYPE", "sourceServiceType"},
    {"INSTANCE", "instanceId"},
    {"KEY_RING", "keyRingId"},
    {"KEY", "keyId"},
    {"ROLE", "role"},
    {"CREATED", "createdAt"}};

struct AuthorizationOptions {
  std::string source_service_id;
  std::string source_service_type;
  std::string instance;
  std::string key_ring;
  std::string key;
  std::string role;
  std::string id;
};

absl::Status Create(const Session& s, const AuthorizationOptions& o) {
  if (o.source_service_id.empty() == o.source_service_type.empty()) {
    return UsageError(
        "give exactly one of --source-service-id and --source-service-type");
  }
  json::object body;
  if (!o.source_service_id.empty()) {
    body["sourceServiceId"] = o.source_service_id;
  } else {
    body["sourceServiceType"] = o.source_service_type;
  }
  body["instanceId"] = o.instance;
  if (!o.key_ring.empty()) body["keyRingId"] = o.key_ring;
  if (!o.key.empty()) body["keyId"] = o.key;
  if (!o.role.empty()) body["role"] = o.role;
  json::value v(std::move(body));
  auto answer = s.client.Call("POST", "/admin/v1/authorizations", &v);
  if (!answer.ok()) return answer.status();
  PrintResource(s, *answer, kAuthorizationColumns);
  return absl::OkStatus();
}

}  // namespace

void AddAuthorizationCommands(CLI::App& app, int& exit_code) {
  CLI::App* family = app.add_subcommand(
      "authorization", "Manage service-to-service authorizations");
  family->require_subcommand(1);

  auto c = std::make_shared<AuthorizationOptions>();
  CLI::App* create = AddSessionCommand(
      family, "create",
      "Authorize a service id, or every service id of a type, on an instance, "
      "key ring or key",
      exit_code, [c](const Session& s) { return Create(s, *c); });
  CLI::Option* sid = create->add_option("--source-service-id",
                                        c->source_service_id,
                                        "The service id authorized");
  CLI::Option* stype = create->add_option(
      "--source-service-type", c->source_service_type,
      "Authorize every service id of this service type");
  sid->excludes(stype);
  create->add_option("--instance", c->instance, "Instance id")->required();
  CLI::Option* ring =
      create->add_option("--key-ring", c->key_ring, "Only keys of this key ring");
  CLI::Option* key = create->add_option("--key", c->key, "Only this key (id)");
  ring->excludes(key);
  create->add_option("--role", c->role, "Role granted (server default: Reader)");

  auto l = std::make_shared<AuthorizationOptions>();
  AddSessionCommand(family, "list", "List authorizations", exit_code,
                    [l](const Session& s) -> absl::Status {
                      auto answer = s.client.Call(
                          "GET", StrCat("/admin/v1/authorizations",
                                        Query({{"instanceId", l->instance}})));
                      if (!answer.ok()) return answer.status();
                      return PrintList(s, *answer, "authorizations",
                                       kAuthorizationColumns);
                    })
      ->add_option("--instance", l->instance,
                   "Only this instance's authorizations");

  auto d = std::make_shared<AuthorizationOptions>();
  AddSessionCommand(family, "delete", "Delete an authorization", exit_code,
                    [d](const Session& s) -> absl::Status {
                      auto answer = s.client.Call(
                          "DELETE", StrCat("/admin/v1/authorizations/",
                                           PercentEncode(d->id)));
                      if (!answer.ok()) return answer.status();
                      PrintDeleted(s, "authorization", d->id);
                      return absl::OkStatus();
                    })
      ->add_option("ID", d->id, "The authorization's id")
      ->required();
}

}  // namespace keywarden::cli
