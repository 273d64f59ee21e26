// keywarden policy …: /admin/v1/policies (docs/admin-api.md): roles of a
// principal on an instance, or on one key ring or key inside it.
#include <memory>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "keywarden/cli/command_support.h"
#include "keywarden/common/strings.h"

namespace keywarden::cli {
namespace {

namespace json = boost::json;

constexpr Column kPolicyColumns[] = {
    {"ID", "id"},           {"PRINCIPAL", "principalId"},
    {"INSTANCE", "instanceId"}, {"KEY_RING", "keyRingId"},
    {"KEY", "keyId"},       {"ROLES", "roles"},
    {"CREATED", "createdAt"}};

struct PolicyOptions {
  std::string principal;
  std::string instance;
  std::string key_ring;
  std::string key;
  std::vector<std::string> roles;
  std::string id;
};

json::value OrNull(const std::string& s) {
  return s.empty() ? json::value(nullptr) : json::value(s);
}

absl::Status Create(const Session& s, const PolicyOptions& o) {
  json::array roles;
  for (const std::string& r : o.roles) roles.emplace_back(r);
  json::object body;
  body["principalId"] = o.principal;
  body["instanceId"] = o.instance;
  body["keyRingId"] = OrNull(o.key_ring);
  body["keyId"] = OrNull(o.key);
  body["roles"] = std::move(roles);
  json::value v(std::move(body));
  auto answer = s.client.Call("POST", "/admin/v1/policies", &v);
  if (!answer.ok()) return answer.status();
  PrintResource(s, *answer, kPolicyColumns);
  return absl::OkStatus();
}

}  // namespace

void AddPolicyCommands(CLI::App& app, int& exit_code) {
  CLI::App* family = app.add_subcommand(
      "policy", "Manage access policies (roles of principals)");
  family->require_subcommand(1);

  auto c = std::make_shared<PolicyOptions>();
  CLI::App* create = AddSessionCommand(
      family, "create",
      "Grant roles to a principal on an instance, key ring or key", exit_code,
      [c](const Session& s) { return Create(s, *c); });
  create->add_option("--principal", c->principal, "Principal id")->required();
  create->add_option("--instance", c->instance, "Instance id")->required();
  CLI::Option* ring = create->add_option(
      "--key-ring", c->key_ring, "Only keys of this key ring");
  CLI::Option* key =
      create->add_option("--key", c->key, "Only this key (id)");
  ring->excludes(key);
  create
      ->add_option("--role", c->roles,
                   "Role: Reader, ReaderPlus, Writer, Manager, KeyPurge, "
                   "KmipAdapterManager (repeat for several)")
      ->required()
      ->take_all();

  auto l = std::make_shared<PolicyOptions>();
  CLI::App* list = AddSessionCommand(
      family, "list", "List policies", exit_code,
      [l](const Session& s) -> absl::Status {
        auto answer = s.client.Call(
            "GET", StrCat("/admin/v1/policies",
                          Query({{"instanceId", l->instance},
                                 {"principalId", l->principal}})));
        if (!answer.ok()) return answer.status();
        return PrintList(s, *answer, "policies", kPolicyColumns);
      });
  list->add_option("--instance", l->instance, "Only this instance's policies");
  list->add_option("--principal", l->principal,
                   "Only this principal's policies");

  auto d = std::make_shared<PolicyOptions>();
  AddSessionCommand(family, "delete", "Delete a policy", exit_code,
                    [d](const Session& s) -> absl::Status {
                      auto answer = s.client.Call(
                          "DELETE",
                          StrCat("/admin/v1/policies/", PercentEncode(d->id)));
                      if (!answer.ok()) return answer.status();
                      PrintDeleted(s, "policy", d->id);
                      return absl::OkStatus();
                    })
      ->add_option("ID", d->id, "The policy's id")
      ->required();
}

}  // namespace keywarden::cli
