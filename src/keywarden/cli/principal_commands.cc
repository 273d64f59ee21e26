// keywarden user … and keywarden service-id …: the two kinds of principal
// (docs/admin-api.md, /admin/v1/users, /service_ids, /principals).
#include <memory>

#include <boost/json/object.hpp>

#include "keywarden/cli/command_support.h"
#include "keywarden/common/strings.h"

namespace keywarden::cli {
namespace {

namespace json = boost::json;

constexpr Column kUserColumns[] = {
    {"ID", "id"}, {"NAME", "name"}, {"ADMIN", "admin"},
    {"CREATED", "createdAt"}, {"CREATED_BY", "createdBy"}};
constexpr Column kServiceIdColumns[] = {
    {"ID", "id"}, {"NAME", "name"}, {"SERVICE_TYPE", "serviceType"},
    {"CREATED", "createdAt"}, {"CREATED_BY", "createdBy"}};

struct CreateOptions {
  std::string name;
  bool admin = false;
  std::string service_type;
};

struct DeleteOptions {
  std::string id;
};

// Adds list and delete, which differ between the kinds only in the filter.
void AddListAndDelete(CLI::App* family, int& exit_code, std::string_view kind,
                      std::string_view noun, std::span<const Column> columns) {
  AddSessionCommand(
      family, "list", StrCat("List ", noun, "s"), exit_code,
      [kind = std::string(kind), columns](const Session& s) -> absl::Status {
        auto answer = s.client.Call(
            "GET", StrCat("/admin/v1/principals", Query({{"kind", kind}})));
        if (!answer.ok()) return answer.status();
        return PrintList(s, *answer, "principals", columns);
      });
  auto del = std::make_shared<DeleteOptions>();
  AddSessionCommand(
      family, "delete",
      StrCat("Delete a ", noun, " with its API keys and policies"), exit_code,
      [del, noun = std::string(noun)](const Session& s) -> absl::Status {
        auto answer = s.client.Call(
            "DELETE", StrCat("/admin/v1/principals/", PercentEncode(del->id)));
        if (!answer.ok()) return answer.status();
        PrintDeleted(s, noun, del->id);
        return absl::OkStatus();
      })
      ->add_option("ID", del->id, StrCat("The ", noun, "'s id"))
      ->required();
}

}  // namespace

void AddPrincipalCommands(CLI::App& app, int& exit_code) {
  CLI::App* user = app.add_subcommand("user", "Manage users");
  user->require_subcommand(1);
  auto uc = std::make_shared<CreateOptions>();
  CLI::App* create = AddSessionCommand(
      user, "create", "Create a user", exit_code,
      [uc](const Session& s) -> absl::Status {
        json::value body = {{"name", uc->name}, {"admin", uc->admin}};
        auto answer = s.client.Call("POST", "/admin/v1/users", &body);
        if (!answer.ok()) return answer.status();
        PrintResource(s, *answer, kUserColumns);
        return absl::OkStatus();
      });
  create->add_option("--name", uc->name, "User name")->required();
  create->add_flag("--admin", uc->admin,
                   "Make the user an administrator of this server");
  AddListAndDelete(user, exit_code, "user", "user", kUserColumns);

  CLI::App* sid = app.add_subcommand(
      "service-id", "Manage service ids (principals of other services)");
  sid->require_subcommand(1);
  auto sc = std::make_shared<CreateOptions>();
  create = AddSessionCommand(
      sid, "create", "Create a service id", exit_code,
      [sc](const Session& s) -> absl::Status {
        json::object body;
        body["name"] = sc->name;
        if (!sc->service_type.empty()) body["serviceType"] = sc->service_type;
        json::value v(std::move(body));
        auto answer = s.client.Call("POST", "/admin/v1/service_ids", &v);
        if (!answer.ok()) return answer.status();
        PrintResource(s, *answer, kServiceIdColumns);
        return absl::OkStatus();
      });
  create->add_option("--name", sc->name, "Service id name")->required();
  create->add_option("--service-type", sc->service_type,
                     "Service type, e.g. object-storage");
  AddListAndDelete(sid, exit_code, "service_id", "service id",
                   kServiceIdColumns);
}

}  // namespace keywarden::cli
