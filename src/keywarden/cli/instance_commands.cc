// keywarden instance …: /admin/v1/instances (docs/admin-api.md). An
// instance id is the UUID that /api/v2 calls send as Bluemix-Instance.
#include <memory>

#include <boost/json/object.hpp>

#include "keywarden/cli/command_support.h"
#include "keywarden/common/strings.h"

namespace keywarden::cli {
namespace {

namespace json = boost::json;

constexpr Column kInstanceColumns[] = {{"ID", "id"},
                                       {"NAME", "name"},
                                       {"CREATED", "createdAt"},
                                       {"CREATED_BY", "createdBy"}};

struct InstanceOptions {
  std::string name;
  std::string id;
};

}  // namespace

void AddInstanceCommands(CLI::App& app, int& exit_code) {
  CLI::App* family = app.add_subcommand(
      "instance", "Manage instances (the tenants of /api/v2)");
  family->require_subcommand(1);

  auto c = std::make_shared<InstanceOptions>();
  AddSessionCommand(family, "create", "Create an instance", exit_code,
                    [c](const Session& s) -> absl::Status {
                      json::value body = {{"name", c->name}};
                      auto answer =
                          s.client.Call("POST", "/admin/v1/instances", &body);
                      if (!answer.ok()) return answer.status();
                      PrintResource(s, *answer, kInstanceColumns);
                      return absl::OkStatus();
                    })
      ->add_option("--name", c->name, "Instance name")
      ->required();

  AddSessionCommand(family, "list", "List instances", exit_code,
                    [](const Session& s) -> absl::Status {
                      auto answer = s.client.Call("GET", "/admin/v1/instances");
                      if (!answer.ok()) return answer.status();
                      return PrintList(s, *answer, "instances",
                                       kInstanceColumns);
                    });

  auto d = std::make_shared<InstanceOptions>();
  AddSessionCommand(family, "delete",
                    "Delete an instance (refused while it holds keys)",
                    exit_code,
                    [d](const Session& s) -> absl::Status {
                      auto answer = s.client.Call(
                          "DELETE",
                          StrCat("/admin/v1/instances/", PercentEncode(d->id)));
                      if (!answer.ok()) return answer.status();
                      PrintDeleted(s, "instance", d->id);
                      return absl::OkStatus();
                    })
      ->add_option("ID", d->id, "The instance's id")
      ->required();
}

}  // namespace keywarden::cli
