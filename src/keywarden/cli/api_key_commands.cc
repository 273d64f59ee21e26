// keywarden api-key …: /admin/v1/api_keys (docs/admin-api.md). The secret
// exists in exactly one answer, the create; it is printed then and never
// again.
#include <memory>

#include <boost/json/object.hpp>

#include "keywarden/cli/command_support.h"
#include "keywarden/common/strings.h"

namespace keywarden::cli {
namespace {

namespace json = boost::json;

constexpr Column kApiKeyColumns[] = {
    {"ID", "id"}, {"PRINCIPAL", "principalId"}, {"NAME", "name"},
    {"PREFIX", "prefix"}, {"CREATED", "createdAt"},
    {"CREATED_BY", "createdBy"}};

struct ApiKeyOptions {
  std::string principal;
  std::string name;
  std::string id;
};

absl::Status Create(const Session& s, const ApiKeyOptions& o) {
  json::value body = {{"principalId", o.principal}, {"name", o.name}};
  auto answer = s.client.Call("POST", "/admin/v1/api_keys", &body);
  if (!answer.ok()) return answer.status();
  const json::object* obj = answer->if_object();
  const json::value* secret = obj ? obj->if_contains("apikey") : nullptr;
  if (secret == nullptr || !secret->is_string()) {
    return absl::InternalError(
        "unexpected answer from the server: the API key has no secret");
  }
  if (s.format == OutputFormat::kJson) {
    Out(FormatJson(*answer));
    std::fputs(
        "keywarden: \"apikey\" is the secret; it is shown only this once\n",
        stderr);
    return absl::OkStatus();
  }
  PrintResource(s, *answer, kApiKeyColumns);
  const json::string& text = secret->get_string();
  Out(StrCat("\nAPI key secret (shown only this once; store it now, it "
             "cannot be retrieved later):\n",
             Printable(std::string_view(text.data(), text.size())), "\n"));
  return absl::OkStatus();
}

}  // namespace

void AddApiKeyCommands(CLI::App& app, int& exit_code) {
  CLI::App* family = app.add_subcommand("api-key", "Manage API keys");
  family->require_subcommand(1);

  auto c = std::make_shared<ApiKeyOptions>();
  CLI::App* create = AddSessionCommand(
      family, "create", "Create an API key for a principal (prints its secret once)",
      exit_code, [c](const Session& s) { return Create(s, *c); });
  create->add_option("--principal", c->principal, "Principal id")->required();
  create->add_option("--name", c->name, "API key name")->required();

  auto l = std::make_shared<ApiKeyOptions>();
  AddSessionCommand(family, "list", "List API keys (never their secrets)",
                    exit_code,
                    [l](const Session& s) -> absl::Status {
                      auto answer = s.client.Call(
                          "GET", StrCat("/admin/v1/api_keys",
                                        Query({{"principalId", l->principal}})));
                      if (!answer.ok()) return answer.status();
                      return PrintList(s, *answer, "apiKeys", kApiKeyColumns);
                    })
      ->add_option("--principal", l->principal, "Only this principal's keys");

  auto d = std::make_shared<ApiKeyOptions>();
  AddSessionCommand(family, "delete",
                    "Delete an API key; tokens from it stop working",
                    exit_code,
                    [d](const Session& s) -> absl::Status {
                      auto answer = s.client.Call(
                          "DELETE",
                          StrCat("/admin/v1/api_keys/", PercentEncode(d->id)));
                      if (!answer.ok()) return answer.status();
                      PrintDeleted(s, "API key", d->id);
                      return absl::OkStatus();
                    })
      ->add_option("ID", d->id, "The API key's id")
      ->required();
}

}  // namespace keywarden::cli
